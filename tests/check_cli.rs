//! `inject check` on the real binary: one line per command and exit 0, or
//! the error naming file:line:column and field, and exit 2.

mod common;
use common::{pipe, INJECT};

use std::process::Command;

fn check(config: &str, via_env: bool) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commands.yml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new(INJECT);
    cmd.arg("check");
    if via_env {
        cmd.env("INJECT_CONFIG", &path);
    } else {
        cmd.arg("-c").arg(&path).env_remove("INJECT_CONFIG");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).replace(path.to_str().unwrap(), "PATH");
    let stderr = String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), "PATH");
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn a_good_config_prints_one_line_per_command() {
    let (code, stdout, stderr) = check(
        "timeout: 2m
commands:
  - {name: ipv6-default-route, run: 'ip -6 route add default via ::1', unless: 'true', timeout: 30s}
  - {name: keep, run: 'true', only_if: 'true', phases: [ensure, post-deploy]}
  - {name: plain, run: 'true'}
",
        false,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "ipv6-default-route  phases: errand              guard: unless          timeout: 30s
keep                phases: ensure,post-deploy  guard: only_if         timeout: 2m
plain               phases: errand              guard: no guard        timeout: 2m
PATH: ok, 3 commands
"
    );
}

#[test]
fn the_config_path_can_come_from_inject_config() {
    let (code, stdout, _) = check("commands:\n  - {name: a, run: 'true'}\n", true);
    assert_eq!(code, 0);
    assert!(stdout.ends_with("PATH: ok, 1 command\n"), "{stdout}");
}

#[test]
fn a_bad_config_exits_2_naming_the_place() {
    let (code, stdout, stderr) = check(
        "commands:\n  - name: a\n    run: x\n    timeout: forever\n",
        false,
    );
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr,
        "inject: PATH:4:14: commands[0].timeout: invalid duration `forever`: expected a number and a unit, \
         like `30s`, `10m` or `1h 30m`\n"
    );
}

#[test]
fn a_missing_config_exits_2_naming_the_path() {
    let out = Command::new(INJECT)
        .args(["check", "-c", "/nonexistent/x.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("inject: /nonexistent/x.yml: cannot read the config: No such file"),
        "{stderr}"
    );
}

#[test]
fn a_timeout_too_long_for_the_clock_is_a_config_error() {
    // It used to pass check, then panic `inject run` (exit 101).
    let (code, stdout, stderr) = check(
        "commands:\n  - {name: a, run: 'true', timeout: 500000000000y}\n",
        false,
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "inject: PATH:2:37: commands[0].timeout: `500000000000y` is too long; at most 365 days\n"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_check_quietly() {
    // `inject check | head -1`: far more lines than a pipe holds, so the
    // writes meet the closed pipe.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commands.yml");
    let mut config = String::from("commands:\n");
    for i in 0..3000 {
        config.push_str(&format!("  - {{name: command-{i}, run: 'true'}}\n"));
    }
    std::fs::write(&path, config).unwrap();
    let child = pipe::spawn_with_stdout_closed_early(
        Command::new(INJECT).arg("check").arg("-c").arg(&path),
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
