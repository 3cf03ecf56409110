//! Where the pieces meet: the job's scripts around the binary, as the agent
//! runs them, as root. bin/drain must print exactly `0` and exit 0 whatever
//! the log dir looks like (a stop must never be blocked by it), and never
//! write through a link planted at `drain.log`. bin/ensure_ctl, which monit
//! runs as root, never writes through a link planted at `ensure.pid` or its
//! logs, and still starts inject ensure with the PID in the pidfile.

mod common;
use common::{wait_for, INJECT};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

const DRAIN: &str = "bosh-release/jobs/inject-commands/templates/bin/drain.erb";
const ENSURE_CTL: &str = "bosh-release/jobs/inject-commands/templates/bin/ensure_ctl.erb";

/// A /var/vcap of its own: bin/drain (its paths moved under the temp dir;
/// the template has no ERB in it), the package's binary and a config.
struct Vcap {
    root: tempfile::TempDir,
}

impl Vcap {
    fn new(config: &str) -> Vcap {
        let root = tempfile::tempdir().unwrap();
        let vcap = root.path().join("vcap");
        for dir in [
            "packages/inject/bin",
            "jobs/inject-commands/config",
            "jobs/inject-commands/bin",
            "sys/log",
        ] {
            std::fs::create_dir_all(vcap.join(dir)).unwrap();
        }
        std::os::unix::fs::symlink(INJECT, vcap.join("packages/inject/bin/inject")).unwrap();
        std::fs::write(
            vcap.join("jobs/inject-commands/config/commands.yml"),
            config,
        )
        .unwrap();
        for (template, name) in [(DRAIN, "drain"), (ENSURE_CTL, "ensure_ctl")] {
            let template =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(template))
                    .unwrap();
            assert!(!template.contains("<%"), "{name} is plain bash");
            let script = template.replace("/var/vcap", vcap.to_str().unwrap());
            let bin = vcap.join("jobs/inject-commands/bin").join(name);
            std::fs::write(&bin, script).unwrap();
            Command::new("chmod")
                .arg("0755")
                .arg(&bin)
                .status()
                .unwrap();
        }
        Vcap { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join("vcap").join(rel)
    }

    fn log_dir(&self) -> PathBuf {
        self.path("sys/log/inject-commands")
    }

    /// The agent's call: no arguments, a bare PATH, stdout read as the integer.
    fn drain(&self) -> Output {
        Command::new(self.path("jobs/inject-commands/bin/drain"))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap()
    }

    fn run_dir(&self) -> PathBuf {
        self.path("sys/run/inject-commands")
    }

    /// `ensure_ctl <action>` as monit runs it: root, a bare PATH.
    fn ctl(&self, action: &str) -> Command {
        let mut ctl = Command::new(self.path("jobs/inject-commands/bin/ensure_ctl"));
        ctl.arg(action)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null());
        ctl
    }
}

const DRAINS: &str =
    "commands:\n  - name: deregister\n    run: echo drain ran\n    phases: [drain]\n";

fn exit_and_output(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_drained(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", exit_and_output(out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0\n",
        "{}",
        exit_and_output(out)
    );
}

#[test]
fn drain_logs_its_run_and_prints_only_zero() {
    let vcap = Vcap::new(DRAINS);
    assert_drained(&vcap.drain());
    assert_drained(&vcap.drain());
    let log = std::fs::read_to_string(vcap.log_dir().join("drain.log")).unwrap();
    assert_eq!(log.matches("drain ran").count(), 2, "appended:\n{log}");
    assert!(log.contains("inject-summary: "), "{log}");
}

#[test]
fn drain_prints_zero_when_the_log_dir_is_unusable() {
    // A file, a dangling link or a directory where the log dir or drain.log
    // should be: bash's `mkdir -p` and `>>` failed there under `set -e`, the
    // script exited 1 with no integer and the agent failed the stop.
    type Make = fn(&Path);
    let cases: [(&str, Make); 3] = [
        ("the log dir is a file", |dir| {
            std::fs::write(dir, "x").unwrap()
        }),
        ("the log dir is a dangling link", |dir| {
            std::os::unix::fs::symlink("/nonexistent/inject-commands", dir).unwrap()
        }),
        ("drain.log is a directory", |dir| {
            std::fs::create_dir_all(dir.join("drain.log")).unwrap()
        }),
    ];
    for (what, make) in cases {
        let vcap = Vcap::new(DRAINS);
        make(&vcap.log_dir());
        let out = vcap.drain();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {}",
            exit_and_output(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "0\n",
            "{what}: {}",
            exit_and_output(&out)
        );
    }
}

#[test]
fn drain_never_writes_through_a_link_or_fifo_at_drain_log() {
    let victims = tempfile::tempdir().unwrap();
    let victim = victims.path().join("victim");
    std::fs::write(&victim, "root's file\n").unwrap();
    let absent = victims.path().join("absent");

    let vcap = Vcap::new(DRAINS);
    std::fs::create_dir_all(vcap.log_dir()).unwrap();
    std::os::unix::fs::symlink(&victim, vcap.log_dir().join("drain.log")).unwrap();
    assert_drained(&vcap.drain());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's file\n");

    let vcap = Vcap::new(DRAINS);
    std::fs::create_dir_all(vcap.log_dir()).unwrap();
    std::os::unix::fs::symlink(&absent, vcap.log_dir().join("drain.log")).unwrap();
    assert_drained(&vcap.drain());
    assert!(!absent.exists(), "a file was created through the link");

    // A FIFO nobody reads: opening it for writing would block the drain.
    let vcap = Vcap::new(DRAINS);
    std::fs::create_dir_all(vcap.log_dir()).unwrap();
    let fifo = vcap.log_dir().join("drain.log");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    assert_drained(&vcap.drain());
}

#[test]
fn a_failing_drain_command_still_fails_the_drain() {
    let vcap = Vcap::new(
        "commands:\n  - name: deregister\n    run: echo cannot deregister; exit 3\n    phases: [drain]\n",
    );
    let out = vcap.drain();
    assert_ne!(out.status.code(), Some(0), "{}", exit_and_output(&out));
    assert!(
        out.stdout.is_empty(),
        "no integer: {}",
        exit_and_output(&out)
    );
    let log = std::fs::read_to_string(vcap.log_dir().join("drain.log")).unwrap();
    assert!(log.contains("cannot deregister"), "{log}");
}

/// The summary line of an instance whose command name (or finding code)
/// holds terminal escapes: another VM's output reaches the operator's
/// terminal through `inject fleet`, so no raw control character may.
#[test]
fn fleet_escapes_control_characters_in_group_headings() {
    let summary = serde_json::json!({
        "v": 1, "instance": {"name": "haproxy", "index": 0, "az": "z1"}, "phase": "errand",
        "counts": {"total": 1, "ok": 0, "skipped": 0, "failed": 1, "timed_out": 0, "not_run": 0, "interrupted": false},
        "commands": [{"name": "bad\u{1b}[2Jname", "result": "failed", "exit_code": 1, "attempts": 1, "duration": 0.1}],
        "commands_cut": 0,
        "network": {"ipv4": "present", "ipv6": "present",
                    "findings": [{"code": "c\u{1b}]0;pwned\u{7}", "severity": "error", "family": "ipv6"}]},
        "failing_findings": []
    });
    let input = serde_json::json!({"Tables": [{"Content": "errand(s)", "Rows": [{
        "instance": "haproxy/0f1e", "exit_code": "1",
        "stdout": format!("[1/1] x\ninject-summary: {summary}\n"), "stderr": ""
    }]}], "Blocks": null, "Lines": []});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run-errand.json");
    // Indented, as the bosh CLI prints it.
    std::fs::write(&file, serde_json::to_string_pretty(&input).unwrap()).unwrap();
    let out = fleet(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", exit_and_output(&out));
    assert!(stdout.contains("bad\\u{1b}[2Jname"), "{stdout}");
    assert!(
        !stdout.contains(|c: char| c.is_control() && c != '\n'),
        "a raw control character reached the terminal:\n{stdout:?}"
    );
}

fn fleet(file: &Path) -> Output {
    Command::new(INJECT)
        .arg("fleet")
        .arg(file)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The bosh CLI's run-errand JSON on one line with its keys sorted, as
/// `bosh … --json | jq -cS .` gives it, is still that, not a task result.
#[test]
fn fleet_reads_the_cli_json_compacted_with_keys_sorted() {
    let input = serde_json::json!({"Tables": [{"Content": "errand(s)", "Rows": [{
        "instance": "haproxy/0f1e", "exit_code": "0", "stdout": "hello\n", "stderr": ""
    }]}], "Blocks": null, "Lines": []});
    let compact = input.to_string();
    assert!(compact.starts_with("{\"Blocks\""), "{compact}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run-errand.json");
    std::fs::write(&file, compact + "\n").unwrap();
    let out = fleet(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", exit_and_output(&out));
    assert!(
        stdout.contains("haproxy/0f1e") && stdout.contains("no inject-summary line"),
        "{stdout}"
    );
}

/// An errand run with `dry_run: true` prints its plan and no summary: the
/// fleet row says it was a dry run, not "older release, crashed errand or
/// output cut".
#[test]
fn fleet_names_a_dry_run_instead_of_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commands.yml");
    std::fs::write(
        &config,
        "dry_run: true\ncommands:\n  - {name: hello, run: echo hello}\n",
    )
    .unwrap();
    let mut rows = Vec::new();
    for (n, json) in [(0, false), (1, true)] {
        let mut run = Command::new(INJECT);
        run.args(["run", "-c"]).arg(&config);
        if json {
            run.arg("--json");
        }
        let out = run.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", exit_and_output(&out));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.contains("inject-summary"), "{stdout}");
        rows.push(serde_json::json!({
            "instance": format!("haproxy/{n}"), "exit_code": "0", "stdout": stdout, "stderr": ""
        }));
    }
    let input = serde_json::json!({"Tables": [{"Content": "errand(s)", "Rows": rows}]});
    let file = dir.path().join("run-errand.json");
    std::fs::write(&file, serde_json::to_string_pretty(&input).unwrap()).unwrap();
    let out = fleet(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", exit_and_output(&out));
    assert_eq!(
        stdout.matches("a dry run (dry_run: true)").count(),
        2,
        "{stdout}"
    );
    assert!(!stdout.contains("crashed errand"), "{stdout}");
}

/// An ensure command that repairs once, at start: its marker file proves
/// that ensure ran its command, whatever became of its logs.
fn ensures(marker: &Path) -> String {
    let marker = marker.display();
    format!(
        "commands:\n  - name: mark\n    run: touch {marker}; echo marked\n    \
         unless: test -e {marker}\n    phases: [ensure]\n"
    )
}

/// The started `ensure_ctl start`: killed if a test fails before stopping
/// it, so no ensure outlives its test.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let mut status = None;
    wait_for("ensure_ctl's exit", Duration::from_secs(30), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

/// Starts ensure as monit does, checks the pidfile is a regular file naming
/// the started process (exec keeps ensure_ctl's PID) and that it ran its
/// command (`ran` holds), then stops it with `ensure_ctl stop`.
fn start_and_stop(vcap: &Vcap, mut ran: impl FnMut() -> bool) {
    let mut started = Started(
        vcap.ctl("start")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut started.0;
    wait_for(
        "the command run by ensure",
        Duration::from_secs(30),
        &mut ran,
    );
    let pidfile = vcap.run_dir().join("ensure.pid");
    let meta = std::fs::symlink_metadata(&pidfile).unwrap();
    assert!(meta.file_type().is_file(), "{meta:?}");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        format!("{}\n", child.id())
    );
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("ensure"),
        "{cmdline:?}"
    );
    let stop = vcap.ctl("stop").output().unwrap();
    assert_eq!(stop.status.code(), Some(0), "{}", exit_and_output(&stop));
    let status = wait_exit(child);
    assert_eq!(status.code(), Some(0), "ensure after SIGTERM: {status:?}");
    assert!(!pidfile.exists(), "stop removes the pidfile");
}

#[test]
fn ensure_ctl_starts_ensure_and_appends_its_logs() {
    let marks = tempfile::tempdir().unwrap();
    let marker = marks.path().join("marked");
    let vcap = Vcap::new(&ensures(&marker));
    std::fs::create_dir_all(vcap.log_dir()).unwrap();
    std::fs::write(vcap.log_dir().join("ensure.stdout.log"), "before\n").unwrap();
    start_and_stop(&vcap, || marker.exists());
    let log = std::fs::read_to_string(vcap.log_dir().join("ensure.stdout.log")).unwrap();
    assert!(
        log.starts_with("before\n"),
        "appended, not truncated:\n{log}"
    );
    assert!(log.contains("mark: repaired at start"), "{log}");
}

#[test]
fn ensure_ctl_never_writes_through_links_at_its_pidfile_or_logs() {
    let victims = tempfile::tempdir().unwrap();
    let marker = victims.path().join("marked");
    let vcap = Vcap::new(&ensures(&marker));
    std::fs::create_dir_all(vcap.log_dir()).unwrap();
    std::fs::create_dir_all(vcap.run_dir()).unwrap();
    let planted = [
        vcap.run_dir().join("ensure.pid"),
        vcap.log_dir().join("ensure.stdout.log"),
        vcap.log_dir().join("ensure.stderr.log"),
    ];
    let mut targets = Vec::new();
    for (n, link) in planted.iter().enumerate() {
        let victim = victims.path().join(format!("victim{n}"));
        std::fs::write(&victim, "root's file\n").unwrap();
        std::os::unix::fs::symlink(&victim, link).unwrap();
        targets.push(victim);
    }
    start_and_stop(&vcap, || marker.exists());
    for victim in &targets {
        assert_eq!(
            std::fs::read_to_string(victim).unwrap(),
            "root's file\n",
            "{}",
            victim.display()
        );
    }
    // The logs' links stay (the output was dropped); the pidfile's is gone.
    for link in &planted[1..] {
        assert!(std::fs::symlink_metadata(link).unwrap().is_symlink());
    }
}

#[test]
fn ensure_ctl_starts_ensure_when_its_logs_are_fifos_or_directories() {
    // A FIFO nobody reads would block bash's >> open forever; a directory
    // failed it under set -e, and monit never got ensure running.
    let victims = tempfile::tempdir().unwrap();
    let marker = victims.path().join("marked");
    let vcap = Vcap::new(&ensures(&marker));
    std::fs::create_dir_all(vcap.log_dir().join("ensure.stderr.log")).unwrap();
    let fifo = vcap.log_dir().join("ensure.stdout.log");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    start_and_stop(&vcap, || marker.exists());
}

#[test]
fn ensure_ctl_refuses_to_start_over_a_directory_at_its_pidfile() {
    let victims = tempfile::tempdir().unwrap();
    let marker = victims.path().join("marked");
    let vcap = Vcap::new(&ensures(&marker));
    let pidfile = vcap.run_dir().join("ensure.pid");
    std::fs::create_dir_all(pidfile.join("inside")).unwrap();
    let mut started = Started(
        vcap.ctl("start")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut started.0;
    let status = wait_exit(child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{} exists", pidfile.display()))
            && stderr.contains("not starting"),
        "{stderr}"
    );
    assert!(!marker.exists(), "ensure must not have started");
    assert!(pidfile.join("inside").is_dir(), "left as it was");
}
