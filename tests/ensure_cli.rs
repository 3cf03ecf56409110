//! `inject ensure` and `inject check` on configs the loop cannot or need not
//! keep: no network involved, nothing runs.

mod common;
use common::{text, INJECT};

use std::path::Path;
use std::process::{Command, Output};

fn inject(args: &[&str], config: &Path) -> Output {
    Command::new(INJECT)
        .args(args)
        .arg("-c")
        .arg(config)
        .env_remove("INJECT_CONFIG")
        .env_remove("INJECT_LOG_DIR")
        .output()
        .expect("run inject")
}

const UNGUARDED: &str = "commands:
- name: ipv6-default-route
  run: ip -6 route add default via 2001:db8:69f5::1 dev eth1
  phases: [errand, ensure]
";

#[test]
fn an_unguarded_ensure_command_is_rejected_naming_the_command_and_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commands.yml");
    std::fs::write(&config, UNGUARDED).unwrap();
    for args in [
        &["check"][..],
        &["ensure", "--log-dir", "/nonexistent/never-made"][..],
    ] {
        let out = inject(args, &config);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "inject {args:?}: {err}");
        let place = format!("{}:2:3: commands[0]:", config.display());
        assert!(
            err.contains(&place),
            "inject {args:?} names file, line, column and path: {err}"
        );
        assert!(
            err.contains(
                "`ipv6-default-route` is in phase `ensure` but has no `unless` or `only_if` guard"
            ),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "nothing runs: {}", text(&out.stdout));
    }
    assert!(
        !Path::new("/nonexistent/never-made").exists(),
        "no log dir was made for a broken config"
    );
}

#[test]
fn ensure_without_ensure_commands_says_so_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commands.yml");
    std::fs::write(
        &config,
        "commands:\n- name: once\n  run: 'true'\n  phases: [errand, pre-start]\n",
    )
    .unwrap();
    let log = dir.path().join("log");
    let out = inject(&["ensure", "--log-dir", log.to_str().unwrap()], &config);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!(
            "no command in {} has `ensure` in its phases: nothing to keep",
            config.display()
        )),
        "{said}"
    );
    assert!(!log.exists(), "no lock or state is left behind for nothing");
}

#[test]
fn ensure_rejects_a_zero_or_malformed_interval() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commands.yml");
    std::fs::write(
        &config,
        "commands:\n- name: x\n  run: 'true'\n  unless: 'true'\n  phases: [ensure]\n",
    )
    .unwrap();
    for (value, why) in [("0s", "must be more than 0"), ("soon", "soon")] {
        let out = inject(&["ensure", "--interval", value], &config);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--interval {value}: {err}");
        assert!(
            err.contains("--interval") && err.contains(why),
            "--interval {value}: {err}"
        );
    }
}

/// A hangup stops ensure as SIGTERM does (exit 0, the stop written down),
/// terminating the running command's process group.
#[test]
fn sighup_stops_ensure_like_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commands.yml");
    let started = dir.path().join("started");
    std::fs::write(
        &config,
        format!(
            "commands:\n- name: slow\n  run: echo $$ > {}; sleep 60\n  unless: 'false'\n  phases: [ensure]\n",
            started.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(INJECT)
        .args(["ensure", "-c"])
        .arg(&config)
        .arg("--log-dir")
        .arg(dir.path().join("log"))
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let leader: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&started)
            .ok()
            .filter(|t| t.ends_with('\n'))
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the command did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let said = std::fs::read_to_string(&out).unwrap();
    assert_eq!(status.code(), Some(0), "{said}");
    assert!(said.contains("stopping on SIGHUP"), "{said}");
    assert!(said.trim_end().ends_with(" stopped"), "{said}");
    // The command's shell is gone (a zombie at most, until init reaps it).
    let stat = std::fs::read_to_string(format!("/proc/{leader}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.contains(") Z "), "{stat}");
}
