//! The run log's lock, as a second `inject run` (or the dashboard) meets it.

use std::fs::OpenOptions;

use inject_errands::config::Phase;
use inject_errands::runlog::{RunLog, LOCK_FILE};
use nix::fcntl::{Flock, FlockArg};

#[test]
fn a_lock_whose_holder_wrote_no_pid_yet_is_reported_without_one() {
    // The holder has locked but not yet written its PID (or never will):
    // the second opener reads a few times, never sleeps, and says unknown.
    let dir = tempfile::tempdir().unwrap();
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(dir.path().join(LOCK_FILE))
        .unwrap();
    let _held = Flock::lock(file, FlockArg::LockExclusiveNonblock).unwrap();
    let err = match RunLog::open(dir.path(), Phase::Errand) {
        Err(err) => err,
        Ok(_) => panic!("the lock is held"),
    };
    assert_eq!(err.pid, None);
    assert!(
        err.to_string()
            .starts_with("another inject run (pid unknown) is running and holds"),
        "{err}"
    );
}
