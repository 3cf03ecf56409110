//! The BOSH side of `inject ensure`: the job's monit file (rendered with the
//! release's Ruby harness, `bosh-release/test/render.rb`) declares the
//! `inject-ensure` process only when a command is tagged ensure, and its
//! `bin/ensure_ctl` starts and stops the loop as monit would: as root with a
//! bare PATH, in a private /var/vcap, inside a namespace reproducing the
//! seed's VM.

#[path = "common/netns.rs"]
mod netns;
#[path = "common/vcap_mount.rs"]
mod vcap_mount;
use vcap_mount::MountPoint;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use netns::{can_run, SeedVm};
use serde_json::{json, Value};

const MONIT_PATH: &str = "PATH=/bin:/usr/bin:/sbin:/usr/sbin";

fn job_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bosh-release/jobs/inject-commands")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn all_output(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn have_ruby(test: &str) -> bool {
    if Command::new("ruby").arg("-v").output().is_ok() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: `ruby` is required under CI (scripts/lib/tools.sh installs it)");
    }
    eprintln!("skipping {test}: `ruby` is not installed (scripts/test installs it)");
    false
}

/// Renders the job (its templates and, as the director does, its `monit`
/// file) with `properties` into `out_dir` with the release's harness.
fn render(properties: &Value, out_dir: &Path) {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("input.json");
    let networks = json!({
        "default": {"ip": "10.0.250.10", "gateway": SeedVm::V4_GATEWAY, "netmask": "255.255.255.0",
                    "default": ["dns", "gateway"]},
        "ipv6": {"ip": SeedVm::V6_ADDRESS, "gateway": SeedVm::V6_GATEWAY, "netmask": "ffff:ffff:ffff:ffff::"},
    });
    std::fs::write(
        &input,
        json!({"properties": properties, "networks": networks}).to_string(),
    )
    .unwrap();
    let out = Command::new("ruby")
        .arg(job_dir().join("../../test/render.rb"))
        .arg("render")
        .arg(job_dir())
        .arg(&input)
        .arg(out_dir)
        .output()
        .expect("ruby runs");
    assert!(out.status.success(), "render failed: {}", all_output(&out));
}

fn ensure_command() -> Value {
    json!({
        "name": "ipv6-default-route",
        "run": "ip -6 route replace default via \"$INJECT_NET_IPV6_GATEWAY\" dev eth1",
        "unless": "ip -6 route show default | grep -q \"via $INJECT_NET_IPV6_GATEWAY \"",
        "phases": ["pre-start", "ensure"],
        "timeout": "30s",
    })
}

#[test]
fn monit_declares_inject_ensure_only_when_a_command_is_tagged_ensure() {
    if !have_ruby("monit_declares_inject_ensure_only_when_a_command_is_tagged_ensure") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();

    let with = dir.path().join("with");
    let errand = json!({"name": "once", "run": "true", "phases": ["errand"]});
    render(&json!({"commands": [errand, ensure_command()]}), &with);
    let monit = std::fs::read_to_string(with.join("monit")).unwrap();
    assert_eq!(
        monit,
        "check process inject-ensure\n\
         \x20 with pidfile /var/vcap/sys/run/inject-commands/ensure.pid\n\
         \x20 start program \"/var/vcap/jobs/inject-commands/bin/ensure_ctl start\"\n\
         \x20 stop program \"/var/vcap/jobs/inject-commands/bin/ensure_ctl stop\"\n\
         \x20 group vcap\n"
    );
    let ctl = with.join("bin/ensure_ctl");
    let body = std::fs::read_to_string(&ctl).unwrap();
    assert!(
        body.starts_with("#!/bin/bash\n") && body.contains("\nset -eu\n"),
        "{body}"
    );
    assert!(
        body.contains("/var/vcap/packages/inject/bin/inject ensure"),
        "{body}"
    );
    assert!(
        body.contains("ensure.stdout.log")
            && body.contains("INJECT_LOG_DIR=/var/vcap/sys/log/inject-commands"),
        "{body}"
    );
    let syntax = Command::new("bash").arg("-n").arg(&ctl).output().unwrap();
    assert!(syntax.status.success(), "{}", all_output(&syntax));

    for (case, properties) in [
        ("no commands (the default)", json!({})),
        (
            "no command tagged ensure",
            json!({"commands": [errand, {"name": "p", "run": "true", "phases": ["pre-start", "post-deploy"]}]}),
        ),
        (
            "a command without phases (errand)",
            json!({"commands": [{"name": "x", "run": "true"}]}),
        ),
        (
            "commands that are not a list (the binary reports that, not ERB)",
            json!({"commands": "ip -6 route add default via ::1"}),
        ),
    ] {
        let out = dir.path().join(case.replace(' ', "-"));
        render(&properties, &out);
        let monit = std::fs::read_to_string(out.join("monit")).unwrap();
        assert_eq!(
            monit.trim(),
            "",
            "{case}: monit must declare no process:\n{monit}"
        );
    }
}

/// A private /var/vcap: the binary where the package puts it, the job
/// rendered where the director puts it; commands run with it bind-mounted
/// over /var/vcap, inside the VM's network namespace.
struct Vcap {
    dir: tempfile::TempDir,
    _mount_point: MountPoint,
}

impl Vcap {
    fn new(properties: &Value) -> Vcap {
        let vcap = Vcap {
            dir: tempfile::tempdir().unwrap(),
            _mount_point: MountPoint::take(),
        };
        let bin = vcap.root().join("packages/inject/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_inject"), bin.join("inject")).unwrap();
        render(properties, &vcap.root().join("jobs/inject-commands"));
        vcap
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("vcap")
    }

    /// `ensure_ctl <action>` as monit runs it: root, monit's bare PATH.
    fn ctl(&self, vm: &SeedVm, action: &str) -> Command {
        let mut cmd = vm.command("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("set -e; mount --bind \"$1\" /var/vcap; shift; exec \"$@\"")
            .arg("sh")
            .arg(self.root())
            .args(["env", "-i", MONIT_PATH])
            .arg("/var/vcap/jobs/inject-commands/bin/ensure_ctl")
            .arg(action)
            .stdin(Stdio::null());
        cmd
    }

    fn file(&self, path: &str) -> String {
        std::fs::read_to_string(self.root().join(path)).unwrap_or_default()
    }
}

fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ensure_ctl_starts_and_stops_inject_ensure_as_monit_does() {
    let test = "ensure_ctl_starts_and_stops_inject_ensure_as_monit_does";
    if !can_run(test) || !have_ruby(test) {
        return;
    }
    let seed = SeedVm::new();
    let vcap = Vcap::new(&json!({"commands": [ensure_command()]}));
    // The start program execs the loop: the child is `inject ensure` itself.
    // A thread reaps it, as init does for monit's daemonized start programs.
    let mut start = vcap.ctl(&seed, "start");
    let child = start
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ensure_ctl start");
    let started_pid = child.id();
    let reaper = std::thread::spawn(move || -> ExitStatus {
        let mut child = child;
        child.wait().unwrap()
    });
    let stdout_log = "sys/log/inject-commands/ensure.stdout.log";
    wait(
        "the repair at start in ensure.stdout.log",
        Duration::from_secs(10),
        || {
            vcap.file(stdout_log)
                .contains("ipv6-default-route: repaired at start")
        },
    );
    let routes = seed.ip("-6 route show default");
    assert!(
        routes.contains(&format!("default via {} dev eth1", SeedVm::V6_GATEWAY)),
        "{routes}"
    );
    let pid = vcap.file("sys/run/inject-commands/ensure.pid");
    assert_eq!(
        pid.trim(),
        started_pid.to_string(),
        "the pidfile names the ensure process"
    );
    let state: Value =
        serde_json::from_str(&vcap.file("sys/log/inject-commands/ensure-state.json")).unwrap();
    assert_eq!(state["pid"], started_pid);

    let stop = vcap.ctl(&seed, "stop").output().expect("ensure_ctl stop");
    assert!(
        stop.status.success(),
        "ensure_ctl stop: {}",
        all_output(&stop)
    );
    let status = reaper.join().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "inject ensure exits 0 on monit's stop"
    );
    assert!(
        vcap.file("sys/run/inject-commands/ensure.pid").is_empty(),
        "the pidfile is removed"
    );
    let log = vcap.file(stdout_log);
    assert!(
        log.contains("stopping on SIGTERM") && log.trim_end().ends_with(" stopped"),
        "{log}"
    );
    assert_eq!(
        vcap.file("sys/log/inject-commands/ensure.stderr.log"),
        "",
        "nothing on stderr"
    );
}

/// `ensure_ctl start` run as monit does, reaped by a thread as init would;
/// returns its PID once the repair at start is in the log.
fn start_ensure(vcap: &Vcap, seed: &SeedVm) -> (u32, std::thread::JoinHandle<ExitStatus>) {
    let child = vcap
        .ctl(seed, "start")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ensure_ctl start");
    let pid = child.id();
    let reaper = std::thread::spawn(move || -> ExitStatus {
        let mut child = child;
        child.wait().unwrap()
    });
    wait("the repair at start", Duration::from_secs(10), || {
        vcap.file("sys/log/inject-commands/ensure.stdout.log")
            .contains("ipv6-default-route: repaired at start")
    });
    (pid, reaper)
}

#[test]
fn ensure_ctl_start_leaves_a_running_ensure_alone() {
    let test = "ensure_ctl_start_leaves_a_running_ensure_alone";
    if !can_run(test) || !have_ruby(test) {
        return;
    }
    let seed = SeedVm::new();
    let vcap = Vcap::new(&json!({"commands": [ensure_command()]}));
    let (pid, reaper) = start_ensure(&vcap, &seed);

    let again = vcap.ctl(&seed, "start").output().expect("ensure_ctl start");
    assert!(again.status.success(), "{}", all_output(&again));
    assert_eq!(
        text(&again.stdout).trim(),
        format!("inject ensure already runs (pid {pid})")
    );
    assert_eq!(
        vcap.file("sys/run/inject-commands/ensure.pid").trim(),
        pid.to_string(),
        "the pidfile still names the first"
    );
    assert!(!reaper.is_finished(), "the first still runs");
    assert_eq!(
        vcap.file("sys/log/inject-commands/ensure.stderr.log"),
        "",
        "no second inject ensure was started (it would have failed on the lock)"
    );

    let stop = vcap.ctl(&seed, "stop").output().expect("ensure_ctl stop");
    assert!(stop.status.success(), "{}", all_output(&stop));
    assert_eq!(reaper.join().unwrap().code(), Some(0));
}

#[test]
fn ensure_ctl_stop_spares_a_process_that_reused_the_pidfiles_pid() {
    let test = "ensure_ctl_stop_spares_a_process_that_reused_the_pidfiles_pid";
    if !can_run(test) || !have_ruby(test) {
        return;
    }
    let seed = SeedVm::new();
    let vcap = Vcap::new(&json!({"commands": [ensure_command()]}));
    // A stale pidfile (ensure died with the VM) whose PID is now another
    // program's: here a `sleep` of ours.
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    let run_dir = vcap.root().join("sys/run/inject-commands");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("ensure.pid"), format!("{}\n", other.id())).unwrap();

    let stop = vcap.ctl(&seed, "stop").output().expect("ensure_ctl stop");
    assert!(stop.status.success(), "{}", all_output(&stop));
    std::thread::sleep(Duration::from_millis(200));
    let status = other.try_wait().unwrap();
    let _ = other.kill();
    let _ = other.wait();
    assert_eq!(status, None, "the other process got a signal");
    assert!(
        !run_dir.join("ensure.pid").exists(),
        "the stale pidfile is removed"
    );

    // And `start` with such a pidfile starts ensure.
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(run_dir.join("ensure.pid"), format!("{}\n", other.id())).unwrap();
    let (pid, reaper) = start_ensure(&vcap, &seed);
    assert_eq!(
        vcap.file("sys/run/inject-commands/ensure.pid").trim(),
        pid.to_string()
    );
    let stop = vcap.ctl(&seed, "stop").output().expect("ensure_ctl stop");
    assert!(stop.status.success(), "{}", all_output(&stop));
    assert_eq!(reaper.join().unwrap().code(), Some(0));
    assert_eq!(other.try_wait().unwrap(), None, "still spared");
    let _ = other.kill();
    let _ = other.wait();
}
