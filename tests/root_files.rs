//! Issue 18, files as root: what inject writes in its log dir, run as root
//! as BOSH runs it, against whoever could write there. Each attack plants
//! its link (or dir, or lock holder) in a temp dir and aims it at a victim
//! file in the same temp dir, never at a system file; each test asserts
//! what the operator sees: the victim unchanged, the exit code, the words.

mod common;
use common::{wait_for, Run, INJECT};

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

const PRECIOUS: &str = "precious\n";

/// A temp dir with a config, a victim file and a log dir path (`logs`,
/// not made yet).
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(config: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let config = config.replace("$DIR", dir.path().to_str().unwrap());
        std::fs::write(dir.path().join("commands.yml"), config).unwrap();
        std::fs::write(dir.path().join("victim.txt"), PRECIOUS).unwrap();
        Case { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn logs(&self) -> PathBuf {
        self.path("logs")
    }

    fn victim(&self) -> String {
        std::fs::read_to_string(self.path("victim.txt")).unwrap()
    }

    fn inject(&self, sub: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(INJECT);
        cmd.arg(sub)
            .arg("-c")
            .arg(self.path("commands.yml"))
            .arg("--log-dir")
            .arg(self.logs())
            .args(args)
            .env_remove("INJECT_LOG_DIR")
            .env_remove("INJECT_CONFIG")
            .env("NO_COLOR", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.inject("run", args).output().unwrap())
    }

    /// Starts `inject <sub>` in the background, its output in `<name>.out`.
    fn spawn(&self, sub: &str, args: &[&str], name: &str) -> Child {
        let out = std::fs::File::create(self.path(&format!("{name}.out"))).unwrap();
        self.inject(sub, args)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap()
    }

    fn wait_for_file(&self, name: &str) {
        wait_for(&format!("{name} exists"), Duration::from_secs(20), || {
            self.path(name).exists()
        });
    }
}

const HELLO: &str = "commands:\n  - {name: hello, run: 'echo hello ran'}\n";

fn make_logs(case: &Case) -> PathBuf {
    let logs = case.logs();
    std::fs::create_dir(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o750)).unwrap();
    logs
}

#[test]
fn a_link_planted_at_the_lock_file_is_not_followed_and_the_run_is_refused() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    symlink(case.path("victim.txt"), logs.join("inject.lock")).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("inject.lock: is a symbolic link: not followed")
            && run.stderr.contains("refusing to run without it"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("hello ran"), "{run:?}");
    assert_eq!(case.victim(), PRECIOUS);
}

#[test]
fn a_link_planted_at_the_events_file_is_not_followed() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    symlink(case.path("victim.txt"), logs.join("inject-run.jsonl")).unwrap();
    let run = case.run(&[]);
    // The lock is held: the run goes on, without a log, and says so.
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("inject-run.jsonl: is a symbolic link: not followed; going on without it"),
        "{run:?}"
    );
    assert_eq!(case.victim(), PRECIOUS);
}

#[test]
fn a_hard_link_planted_at_the_events_file_is_not_written() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    std::fs::hard_link(case.path("victim.txt"), logs.join("inject-run.jsonl")).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("has more than one link"), "{run:?}");
    assert_eq!(case.victim(), PRECIOUS);
}

#[test]
fn a_fifo_planted_at_the_events_file_does_not_hang_the_run() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    nix::unistd::mkfifo(
        &logs.join("inject-run.jsonl"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    // No reader: opening it fails at once (ENXIO) instead of waiting.
    assert!(
        run.stderr
            .contains("inject-run.jsonl: No such device or address")
            && run.stderr.contains("going on without it"),
        "{run:?}"
    );
    // At the lock file, a FIFO opens (read-write) but is no lock file.
    std::fs::remove_file(logs.join("inject-run.jsonl")).unwrap();
    std::fs::remove_file(logs.join("inject.lock")).unwrap();
    nix::unistd::mkfifo(
        &logs.join("inject.lock"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("inject.lock is not a regular file"),
        "{run:?}"
    );
}

#[test]
fn a_link_planted_as_runs_is_refused_and_nothing_lands_in_its_target() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    std::fs::create_dir(case.path("victim-dir")).unwrap();
    std::fs::set_permissions(
        case.path("victim-dir"),
        std::fs::Permissions::from_mode(0o770),
    )
    .unwrap();
    symlink(case.path("victim-dir"), logs.join("runs")).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("runs is a symbolic link")
            && run.stderr.contains("refusing to run without the lock"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("hello ran"), "{run:?}");
    assert_eq!(
        std::fs::read_dir(case.path("victim-dir")).unwrap().count(),
        0,
        "nothing written in the link's target"
    );
    assert_eq!(
        mode_of(&case.path("victim-dir")),
        0o770,
        "no chmod through the link"
    );
}

#[test]
fn a_log_dir_that_is_a_link_is_refused() {
    let case = Case::new(HELLO);
    std::fs::create_dir(case.path("real")).unwrap();
    // The agent's shape behind the link: never tightened through it.
    std::fs::set_permissions(case.path("real"), std::fs::Permissions::from_mode(0o770)).unwrap();
    symlink(case.path("real"), case.logs()).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("logs is a symbolic link")
            && run
                .stderr
                .contains("remove the link and make the directory"),
        "{run:?}"
    );
    // A trailing slash (or `/.`) would resolve the link: not followed either.
    for spelled in ["logs/", "logs/.", "logs//"] {
        let out = Command::new(INJECT)
            .args(["run", "-c"])
            .arg(case.path("commands.yml"))
            .arg("--log-dir")
            .arg(format!("{}/{spelled}", case.dir.path().display()))
            .output()
            .unwrap();
        let run = Run::from(out);
        assert_eq!(run.code, 1, "{spelled}: {run:?}");
        assert!(run.stderr.contains("logs is a symbolic link"), "{run:?}");
    }
    assert_eq!(std::fs::read_dir(case.path("real")).unwrap().count(), 0);
    assert_eq!(
        mode_of(&case.path("real")),
        0o770,
        "no chmod through the link"
    );
}

#[test]
fn a_log_dir_writable_by_others_or_owned_by_another_user_is_refused_with_the_fix() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    // Writable by others (even root's own), or by a group that is neither
    // root's nor vcap (here nogroup): nothing like the agent's shape.
    for (mode, gid) in [
        (0o777, 0),
        (0o757, 0),
        (0o772, 0),
        (0o770, 65534),
        (0o775, 65534),
    ] {
        std::os::unix::fs::chown(&logs, None, Some(gid)).unwrap();
        std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(mode)).unwrap();
        let run = case.run(&[]);
        assert_eq!(run.code, 1, "{mode:o} gid {gid}: {run:?}");
        let expected = format!(
            "is writable by group or others (mode {mode:04o}): they could plant links in it; \
             fix: chown root:vcap {0} && chmod 0750 {0}",
            logs.display()
        );
        assert!(run.stderr.contains(&expected), "{run:?}");
        assert!(!run.stdout.contains("hello ran"), "{run:?}");
        assert!(!run.stderr.contains("tightened"), "{run:?}");
        let now = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o7777;
        assert_eq!(now, mode, "a refused dir's mode is left as it was");
    }
    std::os::unix::fs::chown(&logs, None, Some(0)).unwrap();
    // `chown -R vcap` (here: nobody) of the log dir.
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::chown(&logs, Some(65534), None).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("belongs to uid 65534, not to uid 0 that runs inject")
            && run.stderr.contains("chmod 0750"),
        "{run:?}"
    );
    // The fix the message gives, as root without a vcap group here.
    std::os::unix::fs::chown(&logs, Some(0), None).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// `inject run` in a private mount namespace whose /etc/group has the
/// stemcell's `vcap` group (gid 60123), as on a BOSH VM.
fn run_with_vcap_group(case: &Case, args: &[&str]) -> Run {
    let group = case.path("group");
    let mut text = std::fs::read_to_string("/etc/group").unwrap_or_default();
    if !text.lines().any(|l| l.starts_with("vcap:")) {
        text.push_str("vcap:x:60123:\n");
    }
    std::fs::write(&group, text).unwrap();
    let script = "mount --bind \"$1\" /etc/group && shift && exec \"$@\"";
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ])
    .arg(&group)
    .arg(INJECT)
    .arg("run")
    .arg("-c")
    .arg(case.path("commands.yml"))
    .arg("--log-dir")
    .arg(case.logs())
    .args(args)
    .env_remove("INJECT_LOG_DIR")
    .env_remove("INJECT_CONFIG")
    .env("NO_COLOR", "1");
    Run::from(cmd.output().unwrap())
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn the_bosh_agents_log_dir_shape_is_tightened_to_0750_and_the_run_goes_on() {
    // What bosh-agent's Job.CreateDirectories makes: root:vcap 0770.
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    std::os::unix::fs::chown(&logs, Some(0), Some(60123)).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o770)).unwrap();
    let run = run_with_vcap_group(&case, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("hello ran"), "{run:?}");
    let said = format!(
        "tightened {} from 0770 (as the BOSH agent creates it) to 0750",
        logs.display()
    );
    assert_eq!(run.stderr.matches(&said).count(), 1, "once: {run:?}");
    assert_eq!(mode_of(&logs), 0o750);
    assert_eq!(std::fs::metadata(&logs).unwrap().gid(), 60123, "group kept");
    let events = std::fs::read_to_string(logs.join("inject-run.jsonl")).unwrap();
    assert!(
        events.contains("\"event\":\"notice\"") && events.contains(&said),
        "{events}"
    );
    // Done once: the next run says nothing.
    let run = run_with_vcap_group(&case, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("tightened"), "{run:?}");
    // `runs` the same (here root's group, as a `chmod -R g+w` would leave it).
    let runs = logs.join("runs");
    std::fs::set_permissions(&runs, std::fs::Permissions::from_mode(0o770)).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let said = format!(
        "tightened {} from 0770 (as the BOSH agent creates it) to 0750",
        runs.display()
    );
    assert!(run.stderr.contains(&said), "{run:?}");
    assert_eq!(mode_of(&runs), 0o750);
}

#[test]
fn a_refusal_after_tightening_the_agents_log_dir_says_both() {
    // The vcap group planted a link at the lock while the dir was 0770.
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    std::os::unix::fs::chown(&logs, Some(0), Some(60123)).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o770)).unwrap();
    symlink(case.path("victim.txt"), logs.join("inject.lock")).unwrap();
    let run = run_with_vcap_group(&case, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let said = format!(
        "tightened {} from 0770 (as the BOSH agent creates it) to 0750",
        logs.display()
    );
    assert!(
        run.stderr.contains(&said) && run.stderr.contains("inject.lock: is a symbolic link"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("hello ran"), "{run:?}");
    assert_eq!(case.victim(), PRECIOUS);
    assert_eq!(mode_of(&logs), 0o750);
}

/// `inject run` of the case's config as nobody (uid and gid 65534, no
/// supplementary groups), logging into `logs`.
fn run_as_nobody(case: &Case, logs: &Path) -> Run {
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            INJECT,
            "run",
        ])
        .arg("-c")
        .arg(case.path("commands.yml"))
        .arg("--log-dir")
        .arg(logs)
        .env_remove("INJECT_LOG_DIR")
        .output()
        .unwrap();
    Run::from(out)
}

#[test]
fn a_user_runs_with_a_log_dir_of_their_own() {
    // The dashboard as a user, tests: the owner is whoever runs inject.
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    std::os::unix::fs::chown(&logs, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::chown(case.dir.path(), Some(65534), Some(65534)).unwrap();
    let run = run_as_nobody(&case, &logs);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("hello ran"), "{run:?}");
    let events = std::fs::metadata(logs.join("inject-run.jsonl")).unwrap();
    assert_eq!(events.uid(), 65534);
    // A user's own dir open to their group is refused, never tightened:
    // only root meets the BOSH agent's shape.
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o770)).unwrap();
    let run = run_as_nobody(&case, &logs);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("(mode 0770)"), "{run:?}");
    assert_eq!(mode_of(&logs), 0o770);
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o750)).unwrap();
    // Another user's dir (root's) is refused, naming the user's own fix.
    let root_logs = case.path("root-logs");
    std::fs::create_dir(&root_logs).unwrap();
    std::fs::set_permissions(&root_logs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = run_as_nobody(&case, &root_logs);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("belongs to uid 0, not to uid 65534")
            && run.stderr.contains("fix: chown nobody"),
        "{run:?}"
    );
}

#[test]
fn the_log_dir_being_a_file_refuses_the_run() {
    let case = Case::new(HELLO);
    std::fs::write(case.logs(), "not a dir").unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is not a directory"), "{run:?}");
    assert!(!run.stdout.contains("hello ran"), "{run:?}");
}

const KEEP: &str = "commands:
  - {name: flag, run: 'touch $DIR/flag', unless: 'test -e $DIR/flag', phases: [ensure]}
";

#[test]
fn ensure_refuses_a_link_at_its_lock_and_never_writes_through_its_state_links() {
    let case = Case::new(KEEP);
    let logs = make_logs(&case);
    symlink(case.path("victim.txt"), logs.join("ensure.lock")).unwrap();
    let out = case
        .inject("ensure", &["--interval", "1s"])
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("is a symbolic link: not followed"),
        "{run:?}"
    );
    assert_eq!(case.victim(), PRECIOUS);
    std::fs::remove_file(logs.join("ensure.lock")).unwrap();

    // The state file and the temporary names it had (`.<pid>.tmp`) as
    // links: the state replaces the link, the victim stays.
    symlink(case.path("victim.txt"), logs.join("ensure-state.json")).unwrap();
    let mut child = case.spawn("ensure", &["--interval", "100ms"], "ensure");
    let tmp = logs.join(format!(".ensure-state.json.{}.tmp", child.id()));
    let _ = symlink(case.path("victim.txt"), &tmp);
    wait_for("the state is written", Duration::from_secs(20), || {
        std::fs::symlink_metadata(logs.join("ensure-state.json"))
            .is_ok_and(|m| m.file_type().is_file())
    });
    wait_for("a second state write", Duration::from_secs(20), || {
        std::fs::read_to_string(case.path("ensure.out"))
            .is_ok_and(|o| o.contains("repaired at start"))
    });
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(case.victim(), PRECIOUS);
    let state = std::fs::metadata(logs.join("ensure-state.json")).unwrap();
    assert_eq!(state.mode() & 0o777, 0o640, "it holds guard text");
}

#[test]
fn commands_under_env_i_get_the_agents_path_never_one_with_a_dot() {
    let case = Case::new(
        "commands:\n  - {name: path, run: 'echo \"PATH=$PATH\"'}\n  - {name: own, run: 'echo \"own=$PATH\"', env: {PATH: /opt/x}}\n",
    );
    let out = Command::new("env")
        .args(["-i", INJECT, "run", "-c"])
        .arg(case.path("commands.yml"))
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("own=/opt/x\n"),
        "env: PATH wins: {run:?}"
    );
    // A PATH with relative entries loses them.
    let out = Command::new(INJECT)
        .args(["run", "-c"])
        .arg(case.path("commands.yml"))
        .args(["--only", "path"])
        .env("PATH", ".:/usr/bin::bin:/bin")
        .env_remove("INJECT_LOG_DIR")
        .output()
        .unwrap();
    let run = Run::from(out);
    assert!(run.stdout.contains("PATH=/usr/bin:/bin\n"), "{run:?}");
}

/// A config whose `slow` command marks that it started, then sleeps.
fn slow_case(extra: &str) -> Case {
    Case::new(&format!(
        "commands:
  - {{name: slow, run: 'touch $DIR/started; sleep 3; touch $DIR/slow-done', timeout: 60s}}
{extra}"
    ))
}

#[test]
fn a_pid_in_the_lock_file_that_is_no_live_inject_is_stale_never_the_holder() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    std::fs::write(logs.join("inject.lock"), "1\n").unwrap();
    std::fs::set_permissions(
        logs.join("inject.lock"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    // flock(1) holds it while a sleep runs: a holder that is no inject.
    let mut holder = Command::new("flock")
        .arg(logs.join("inject.lock"))
        .args(["sleep", "5"])
        .spawn()
        .unwrap();
    wait_for("flock holds it", Duration::from_secs(20), || {
        std::fs::read_to_string("/proc/locks").is_ok_and(|l| {
            let ino = std::fs::metadata(logs.join("inject.lock")).unwrap().ino();
            l.contains(&format!(":{ino} "))
        })
    });
    let run = case.run(&[]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("(pid unknown: pid 1 in the lock file is stale, no live inject)"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("(pid 1)"), "{run:?}");
}

#[test]
fn a_second_run_is_refused_while_the_first_holds_the_lock_naming_it() {
    let case = slow_case("  - {name: quick, run: 'echo quick ran'}\n");
    make_logs(&case);
    let mut first = case.spawn("run", &["--only", "slow"], "first");
    case.wait_for_file("started");
    let run = case.run(&["--only", "quick"]);
    assert_eq!(run.code, 1, "{run:?}");
    let expected = format!(
        "another inject run (pid {}) is running and holds",
        first.id()
    );
    assert!(run.stderr.contains(&expected), "{run:?}");
    assert!(!run.stdout.contains("quick ran"), "{run:?}");
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_log_dir_removed_under_a_running_run_does_not_let_a_second_one_start() {
    let case = slow_case("  - {name: quick, run: 'echo quick ran'}\n");
    make_logs(&case);
    let mut first = case.spawn("run", &["--only", "slow"], "first");
    case.wait_for_file("started");
    // The log dir vanishes mid-run (rm -rf, a cleanup script): a new dir
    // and a new lock file would be free to lock.
    std::fs::remove_dir_all(case.logs()).unwrap();
    let run = case.run(&["--only", "quick"]);
    assert_eq!(run.code, 1, "{run:?}");
    let expected = format!("was removed while pid {} held it", first.id());
    assert!(run.stderr.contains(&expected), "{run:?}");
    assert!(!run.stdout.contains("quick ran"), "{run:?}");
    assert!(first.wait().unwrap().success());
    // Once the first run is over, the recreated dir is free again.
    let run = case.run(&["--only", "quick"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("quick ran"), "{run:?}");
}

#[test]
fn kill_9_of_inject_keeps_the_lock_while_its_command_still_runs() {
    let case = slow_case("  - {name: quick, run: 'echo quick ran'}\n");
    make_logs(&case);
    let mut first = case.spawn("run", &["--only", "slow"], "first");
    case.wait_for_file("started");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let run = case.run(&["--only", "quick"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "pid {} in the lock file is stale, no live inject",
            first.id()
        )) && run
            .stderr
            .contains("a command of an inject that was killed may still run"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("quick ran"), "{run:?}");
    // Once the command is done, the lock is free again.
    case.wait_for_file("slow-done");
    wait_for("the lock is free", Duration::from_secs(20), || {
        case.run(&["--only", "quick"]).code == 0
    });
}

#[test]
fn a_daemon_a_command_left_behind_does_not_keep_later_runs_out() {
    // It inherited the locked file; inject unlocked it when it ended.
    let case = Case::new(
        "commands:\n  - {name: daemon, run: 'sleep 30 >/dev/null 2>&1 & echo $! > $DIR/daemon.pid'}\n",
    );
    make_logs(&case);
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let again = case.run(&[]);
    let daemon: i32 = std::fs::read_to_string(case.path("daemon.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn a_stop_side_hook_waits_for_a_live_run_then_runs_with_a_warning() {
    let case = slow_case(
        "  - {name: stopper, run: 'echo stop ran', phases: [pre-stop], timeout: 1s}\ntimeout: 1s\n",
    );
    let logs = make_logs(&case);
    let mut first = case.spawn("run", &["--only", "slow"], "first");
    case.wait_for_file("started");
    let run = case.run(&["--phase", "pre-stop"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("stop ran"), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "another inject run (pid {}) is running and holds",
            first.id()
        )) && run
            .stderr
            .contains("waited 1s: a pre-stop hook must not fail the stop"),
        "{run:?}"
    );
    assert!(first.wait().unwrap().success());
    let events = std::fs::read_to_string(logs.join("inject-run.jsonl")).unwrap();
    assert!(
        events.contains("\"event\":\"notice\"") && events.contains("must not fail the stop"),
        "the warning is in the run log too:\n{events}"
    );
}

#[test]
fn a_stop_side_hook_runs_with_a_warning_when_the_log_dir_is_unsafe() {
    let case = Case::new(
        "commands:\n  - {name: stopper, run: 'echo stop ran', phases: [post-stop, pre-start]}\n",
    );
    let logs = make_logs(&case);
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = case.run(&["--phase", "post-stop"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("stop ran"), "{run:?}");
    assert!(
        run.stderr
            .contains("a post-stop hook must not fail the stop, so its commands run anyway"),
        "{run:?}"
    );
    // pre-start on the same dir is refused.
    let run = case.run(&["--phase", "pre-start"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("stop ran"), "{run:?}");
}

#[test]
fn a_commands_output_file_keeps_head_and_tail_with_bounded_memory() {
    // 40 MB of 1001-byte lines; the file keeps 4 MiB + 1 MiB.
    let case = Case::new(
        r#"output_limit: 1KiB
commands:
  - name: loud
    run: |
      line=$(head -c 1000 /dev/zero | tr '\0' x)
      yes "$line" | head -c 40000000 || true
      echo THE-END
"#,
    );
    let logs = make_logs(&case);
    let out = Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kb=%M", INJECT, "run", "-c"])
        .arg(case.path("commands.yml"))
        .arg("--log-dir")
        .arg(&logs)
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 0, "{run:?}");
    let rss: u64 = run
        .stderr
        .split("maxrss_kb=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(rss < 30 * 1024, "max RSS {rss} kB: {run:?}");
    let runs: Vec<_> = std::fs::read_dir(logs.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let file = runs[0].join("01-loud.log");
    let text = std::fs::read(&file).unwrap();
    let head = 4 * 1024 * 1024;
    let tail = 1024 * 1024;
    assert!(text.len() <= head + tail + 300, "{} bytes", text.len());
    let text = String::from_utf8_lossy(&text);
    let dropped = 40_000_000 + "THE-END\n".len() - head - tail;
    assert!(
        text.contains(&format!(
            "--- inject: {dropped} bytes of output dropped here; this file keeps the first 4194304 and the last 1048576 bytes"
        )),
        "{}",
        &text[head..head + 300]
    );
    assert!(text.starts_with("xxxx"));
    assert!(text.ends_with("THE-END\n"), "the tail is kept");
}

#[test]
fn a_full_events_file_is_rotated_to_one_old_generation() {
    let case = Case::new(HELLO);
    let logs = make_logs(&case);
    let old = "{\"old\":true}\n".repeat(11 * 1024 * 1024 / 13);
    std::fs::write(logs.join("inject-run.jsonl"), &old).unwrap();
    // The old generation's name, planted as a link: replaced, not followed.
    symlink(case.path("victim.txt"), logs.join("inject-run.jsonl.1")).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let rotated = std::fs::read_to_string(logs.join("inject-run.jsonl.1")).unwrap();
    assert!(rotated.starts_with(&old), "the old lines moved whole");
    let fresh = std::fs::read_to_string(logs.join("inject-run.jsonl")).unwrap();
    assert!(
        fresh.len() < 4096 && fresh.contains("\"event\":\"run_finished\""),
        "{fresh}"
    );
    // A second rotation replaces the old generation: two files at most.
    std::fs::write(logs.join("inject-run.jsonl"), &old).unwrap();
    case.run(&[]);
    let names: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("inject-run"))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(case.victim(), PRECIOUS);
}
