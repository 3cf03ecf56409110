//! A link planted at the name of a run's own output dir. A test binary of
//! its own: the name is `<time>-<pid>` only for a process's first run.

use inject_errands::config::Phase;
use inject_errands::runlog::RunLog;

/// Issue 18: `runs/<time>-<pid>` planted as a link (the name is
/// predictable) made the output files appear in the link's target. The
/// run's dir is made with mkdir, never reused: the log goes quiet instead.
#[test]
fn a_link_planted_at_the_runs_own_dir_is_never_written_through() {
    use inject_errands::run_event::RunEvent;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::time::{Duration, SystemTime};

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    std::fs::set_permissions(&runs, std::fs::Permissions::from_mode(0o750)).unwrap();
    let victim = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let pid = std::process::id();
    // This binary's only run: named `<time>-<pid>`, the time a few
    // seconds from now at most, even on a loaded machine.
    for secs in 0..30 {
        let time = humantime::format_rfc3339_seconds(now + Duration::from_secs(secs));
        symlink(victim.path(), runs.join(format!("{time}-{pid}"))).unwrap();
    }
    let mut log = RunLog::open(dir.path(), Phase::Errand).unwrap();
    let planted = std::fs::symlink_metadata(log.run_dir())
        .unwrap()
        .file_type()
        .is_symlink();
    assert!(planted, "the test planted {}", log.run_dir().display());
    log.record(&RunEvent::Started {
        index: 1,
        total: 1,
        name: "hello".into(),
        attempt: 1,
    });
    let notice = log.take_notice().expect("the log says it cannot write");
    assert!(notice.contains("File exists"), "{notice}");
    assert_eq!(log.output_path(1), None);
    assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 0);
}
