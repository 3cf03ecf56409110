//! The BOSH side of `inject ensure`: the job's monit file (rendered with
//! bosh-cli's ERB renderer through the Go harness, tests/common/bosh.rs)
//! declares the `inject-ensure` process only when a command is tagged
//! ensure, and its `bin/ensure_ctl` starts and stops the loop as monit would
//! (monit itself is not Go code we can run: its start and stop programs are
//! run as monit runs them, as root with monit's bare PATH), in a private
//! /var/vcap installed by bosh-agent's appliers, inside a namespace
//! reproducing the seed's VM.

mod common;
use common::{bosh, netns, wait_for};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use bosh::{all_output, seed_networks, text, Bosh};
use netns::{can_run, SeedVm};
use serde_json::{json, Value};

const MONIT_PATH: &str = "PATH=/bin:/usr/bin:/sbin:/usr/sbin";

/// Renders the job (its templates and, as the director does, its `monit`
/// file) with `properties` into `out_dir` with bosh-cli's renderer.
fn render(bosh: &Bosh, properties: &Value, out_dir: &Path) {
    bosh.render_ok(properties, Some(&seed_networks()), out_dir);
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
    let test = "monit_declares_inject_ensure_only_when_a_command_is_tagged_ensure";
    let Some(bosh) = Bosh::get(test) else { return };
    let dir = tempfile::tempdir().unwrap();

    let with = dir.path().join("with");
    let errand = json!({"name": "once", "run": "true", "phases": ["errand"]});
    render(
        &bosh,
        &json!({"commands": [errand, ensure_command()]}),
        &with,
    );
    let monit = std::fs::read_to_string(with.join("monit")).unwrap();
    assert_eq!(
        monit,
        "check process inject-ensure\n\
         \x20 with pidfile /var/vcap/sys/run/inject-commands/ensure.pid\n\
         \x20 start program \"/var/vcap/jobs/inject-commands/bin/ensure_ctl start\"\n\
         \x20 stop program \"/var/vcap/jobs/inject-commands/bin/ensure_ctl stop\"\n\
         \x20 group vcap\n"
    );
    // dry_run as a string is no boolean: monit declares the process, and
    // pre-start, which runs first, fails on it with exit 2 (the binary
    // types it; tests/bosh_release.rs runs that through the agent).
    let string = dir.path().join("string");
    render(
        &bosh,
        &json!({"dry_run": "true", "commands": [ensure_command()]}),
        &string,
    );
    assert_eq!(
        std::fs::read_to_string(string.join("monit")).unwrap(),
        monit
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
            "dry_run: true",
            json!({"dry_run": true, "commands": [ensure_command()]}),
        ),
        (
            "commands that are not a list (the binary reports that, not ERB)",
            json!({"commands": "ip -6 route add default via ::1"}),
        ),
    ] {
        let out = dir.path().join(case.replace(' ', "-"));
        render(&bosh, &properties, &out);
        let monit = std::fs::read_to_string(out.join("monit")).unwrap();
        assert_eq!(
            monit.trim(),
            "",
            "{case}: monit must declare no process:\n{monit}"
        );
    }
}

/// A private /var/vcap made by bosh-agent's appliers, with the job
/// rendered for `properties`; monit's programs run with it mounted over
/// /var/vcap, inside the VM's network namespace.
struct Vcap(bosh::Vcap);

impl Vcap {
    fn new(bosh: &Bosh, properties: &Value) -> Vcap {
        Vcap(bosh::Vcap::install(
            bosh,
            properties,
            Some(&seed_networks()),
        ))
    }

    /// `ensure_ctl <action>` as monit runs it: root, monit's bare PATH.
    fn ctl(&self, vm: &SeedVm, action: &str) -> Command {
        let mut cmd = self.0.command(
            Some(vm),
            &[
                "env",
                "-i",
                MONIT_PATH,
                "/var/vcap/jobs/inject-commands/bin/ensure_ctl",
                action,
            ],
        );
        cmd.stdin(Stdio::null());
        cmd
    }

    fn file(&self, path: &str) -> String {
        self.0.file(path)
    }
}

#[test]
fn ensure_ctl_starts_and_stops_inject_ensure_as_monit_does() {
    let test = "ensure_ctl_starts_and_stops_inject_ensure_as_monit_does";
    if !can_run(test) {
        return;
    }
    let Some(bosh) = Bosh::get(test) else { return };
    let seed = SeedVm::new();
    let vcap = Vcap::new(&bosh, &json!({"commands": [ensure_command()]}));
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
    wait_for(
        "the repair at start in ensure.stdout.log",
        Duration::from_secs(10),
        || {
            vcap.file(stdout_log)
                .contains("ipv6-default-route: repaired at start")
        },
    );
    // The log dir was the agent's (root:vcap 0770, made at apply): ensure,
    // the first of inject to meet it here, tightened it and said so once.
    let said = vcap.file(stdout_log);
    let tightened = "tightened /var/vcap/sys/log/inject-commands from 0770 \
                     (as the BOSH agent creates it) to 0750";
    assert_eq!(said.matches(tightened).count(), 1, "{said}");
    let mode = std::fs::metadata(vcap.0.host_path("sys/log/inject-commands"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o750);
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
    wait_for("the repair at start", Duration::from_secs(10), || {
        vcap.file("sys/log/inject-commands/ensure.stdout.log")
            .contains("ipv6-default-route: repaired at start")
    });
    (pid, reaper)
}

#[test]
fn ensure_ctl_start_leaves_a_running_ensure_alone() {
    let test = "ensure_ctl_start_leaves_a_running_ensure_alone";
    if !can_run(test) {
        return;
    }
    let Some(bosh) = Bosh::get(test) else { return };
    let seed = SeedVm::new();
    let vcap = Vcap::new(&bosh, &json!({"commands": [ensure_command()]}));
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
    if !can_run(test) {
        return;
    }
    let Some(bosh) = Bosh::get(test) else { return };
    let seed = SeedVm::new();
    let vcap = Vcap::new(&bosh, &json!({"commands": [ensure_command()]}));
    // A stale pidfile (ensure died with the VM) whose PID is now another
    // program's: here a `sleep` of ours.
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    let run_dir = vcap.0.host_path("sys/run/inject-commands");
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
