//! The run log's lock, as a second `inject run` (or the dashboard) meets it.

use std::fs::OpenOptions;

use inject_errands::config::Phase;
use inject_errands::runlog::{LockError, RunLog, LOCK_FILE};
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
        Err(LockError::Held(err)) => err,
        Err(other) => panic!("expected a held lock, got {other}"),
        Ok(_) => panic!("the lock is held"),
    };
    assert_eq!(err.pid, None);
    assert!(
        err.to_string()
            .starts_with("another inject run (pid unknown) is running and holds"),
        "{err}"
    );
}

/// Issue 12: run dirs named in the future (a clock that was once ahead)
/// sorted after this run's own, so pruning by name deleted the current run
/// and its log. Age is the file system's, and the current run is kept.
#[test]
fn pruning_never_removes_the_current_run_and_goes_by_age() {
    use inject_errands::run_event::{RunEvent, Stream};
    use inject_errands::runlog::KEEP_RUNS;
    use std::time::{Duration, SystemTime};

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    // 25 runs from a clock 70 years ahead, made an hour ago and earlier
    // (the first is the oldest).
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for n in 0..25u64 {
        let run = runs.join(format!("2096-01-01T00:00:{n:02}Z-1"));
        std::fs::create_dir_all(&run).unwrap();
        let age = an_hour_ago - Duration::from_secs(60 * (25 - n));
        std::fs::File::open(&run)
            .unwrap()
            .set_modified(age)
            .unwrap();
    }
    let mut log = RunLog::open(dir.path(), Phase::Errand).unwrap();
    log.record(&RunEvent::Started {
        index: 1,
        total: 1,
        name: "hello".into(),
        attempt: 1,
    });
    log.output(1, Stream::Stdout, b"hello", true);
    log.record(&RunEvent::Finished {
        index: 1,
        name: "hello".into(),
        outcome: inject_errands::run_event::Outcome::Ok,
        duration: Duration::from_millis(1),
        attempts: 1,
    });
    assert_eq!(log.take_notice(), None, "the log is written");
    let own = log.output_path(1).unwrap();
    assert_eq!(std::fs::read_to_string(&own).unwrap(), "hello\n");

    let mut left: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), KEEP_RUNS, "{left:?}");
    assert!(left.contains(
        &log.run_dir()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    ));
    // The six oldest went: 00 … 05; 06 is the oldest kept.
    let gone = |n: u64| !left.contains(&format!("2096-01-01T00:00:{n:02}Z-1"));
    assert!((0..6).all(gone), "{left:?}");
    assert!(!gone(6), "{left:?}");
}

/// Issue 13: three dashboard runs within a second shared one run id and
/// one output file, were logged as `errand`, and evicted the errand's
/// runs. Each run has its own id; the source is logged; each source keeps
/// its own runs.
#[test]
fn dashboard_runs_have_their_own_ids_source_and_retention() {
    use inject_errands::run_event::RunEvent;
    use inject_errands::runlog::{EVENTS_FILE, KEEP_RUNS};

    let dir = tempfile::tempdir().unwrap();
    let errand = RunLog::open(dir.path(), Phase::Errand).unwrap();
    let errand_dir = errand.run_dir();
    drop(errand);
    let mut ids = Vec::new();
    for _ in 0..KEEP_RUNS + 5 {
        let mut log = RunLog::open_as(dir.path(), Phase::Errand, "dashboard").unwrap();
        log.record(&RunEvent::RunStarted {
            phase: Phase::Errand,
            total: 1,
        });
        ids.push(log.run_dir());
    }
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "one id per run: {ids:?}");
    assert!(errand_dir.is_dir(), "the errand's run is kept");
    let dashboard_dirs = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path() != errand_dir)
        .count();
    assert_eq!(dashboard_dirs, KEEP_RUNS, "the dashboard keeps its own 20");
    let events = std::fs::read_to_string(dir.path().join(EVENTS_FILE)).unwrap();
    assert!(
        events
            .lines()
            .all(|l| l.contains("\"source\":\"dashboard\"")),
        "{events}"
    );
}

/// Issue 18: 25 output dirs changed "in 2099" (a clock once ahead, or
/// planted) sorted as the newest, so every run removed the previous real
/// run's output. They now count as the oldest.
#[test]
fn output_dirs_from_the_future_never_evict_real_runs() {
    use inject_errands::runlog::KEEP_RUNS;
    use std::time::{Duration, SystemTime};

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let future = SystemTime::UNIX_EPOCH + Duration::from_secs(4_070_908_800); // 2099
    for n in 0..25u64 {
        let run = runs.join(format!("2099-01-01T00:00:{n:02}Z-1"));
        std::fs::create_dir_all(&run).unwrap();
        std::fs::File::open(&run)
            .unwrap()
            .set_modified(future)
            .unwrap();
    }
    let first = RunLog::open(dir.path(), Phase::Errand).unwrap();
    let first_dir = first.run_dir();
    drop(first);
    let second = RunLog::open(dir.path(), Phase::Errand).unwrap();
    assert!(first_dir.is_dir(), "the previous real run is kept");
    assert!(second.run_dir().is_dir());
    let left = std::fs::read_dir(&runs).unwrap().count();
    assert_eq!(left, KEEP_RUNS, "the future ones went first");
}

/// Issue 18: hook runs (every deploy's pre-start, every stop's pre-stop,
/// drain and post-stop) evicted the errand's output dirs. Each phase keeps
/// its own.
#[test]
fn hook_runs_never_evict_the_errands_output_dirs() {
    use inject_errands::runlog::KEEP_RUNS;

    let dir = tempfile::tempdir().unwrap();
    let errand = RunLog::open(dir.path(), Phase::Errand).unwrap().run_dir();
    for phase in [
        Phase::PreStop,
        Phase::Drain,
        Phase::PostStop,
        Phase::PreStart,
    ] {
        for _ in 0..KEEP_RUNS + 2 {
            drop(RunLog::open(dir.path(), phase).unwrap());
        }
    }
    assert!(errand.is_dir(), "the errand's run is kept");
    let count = std::fs::read_dir(dir.path().join("runs")).unwrap().count();
    assert_eq!(count, 1 + 4 * KEEP_RUNS, "each phase keeps its own 20");
}

/// Pruning removes a link planted among the output dirs as a link: what
/// it points to is left alone.
#[test]
fn pruning_unlinks_a_planted_link_without_following_it() {
    use inject_errands::runlog::KEEP_RUNS;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, SystemTime};

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(victim.path().join("precious"), "precious").unwrap();
    // The oldest entry (a link's own time is what counts) ...
    symlink(victim.path(), runs.join("0000-planted")).unwrap();
    // ... then enough real-looking runs to make it go.
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for n in 0..KEEP_RUNS as u64 {
        let run = runs.join(format!("2026-01-01T00:00:{n:02}Z-1"));
        std::fs::create_dir(&run).unwrap();
        std::fs::File::open(&run)
            .unwrap()
            .set_modified(an_hour_ago + Duration::from_secs(n))
            .unwrap();
    }
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        &runs.join("0000-planted"),
        &nix::sys::time::TimeSpec::new(0, 0),
        &nix::sys::time::TimeSpec::new(0, 0),
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
    drop(RunLog::open(dir.path(), Phase::Errand).unwrap());
    assert!(
        std::fs::symlink_metadata(runs.join("0000-planted")).is_err(),
        "the link is gone"
    );
    assert_eq!(
        std::fs::read_to_string(victim.path().join("precious")).unwrap(),
        "precious"
    );
}
