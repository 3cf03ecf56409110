//! `inject fleet` on input that is not what BOSH gives, or is at its edges:
//! a clear error naming what was expected (exit 2), never a panic; rows
//! without a summary are kept; another VM's output cannot reach the
//! terminal as control characters.

mod common;
use common::INJECT;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn fleet(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(INJECT)
        .arg("fleet")
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A reader that exits early closes the pipe: not this test's concern.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A summary line as `inject run` prints it.
fn summary(index: u64, ipv6: &str, failed: &[&str]) -> String {
    let commands: Vec<Value> = failed
        .iter()
        .map(|n| json!({"name": n, "result": "failed", "exit_code": 1, "attempts": 1, "duration": 0.1}))
        .collect();
    let findings = if ipv6 == "missing" {
        json!([{"code": "missing_default_route", "severity": "error", "family": "ipv6"}])
    } else {
        json!([])
    };
    let line = json!({"v": 1, "instance": {"name": "haproxy", "index": index, "az": "z1"},
        "phase": "errand", "counts": {"total": failed.len().max(1), "ok": usize::from(failed.is_empty()),
        "skipped": 0, "failed": failed.len(), "timed_out": 0, "not_run": 0, "interrupted": false},
        "commands": commands, "commands_cut": 0,
        "network": {"ipv4": "present", "ipv6": ipv6, "findings": findings}, "failing_findings": []});
    format!("[1/1] x\n  => ok\ninject-summary: {line}\n")
}

fn cli_json(rows: &[(String, &str, String, &str)]) -> Vec<u8> {
    let rows: Vec<Value> = rows
        .iter()
        .map(|(instance, code, stdout, stderr)| {
            json!({"instance": instance, "exit_code": code, "stdout": stdout, "stderr": stderr})
        })
        .collect();
    serde_json::to_vec_pretty(
        &json!({"Tables": [{"Content": "errand(s)", "Header": {}, "Rows": rows, "Notes": []}],
                                      "Blocks": null, "Lines": []}),
    )
    .unwrap()
}

#[test]
fn input_that_is_not_boshs_names_what_was_expected() {
    for (input, says) in [
        (&b""[..], "stdin: the input is empty"),
        (b"hello\n", "stdin: not JSON the bosh CLI writes"),
        (b"{\"Tables\": 3}", "stdin: not JSON the bosh CLI writes"),
        (b"{\n  \"Tables\": []\n}\n", "no table of instances"),
        (b"{\"instance\":{\"group\":\"g\",\"id\":\"1\"},\"exit_code\":0,\"stdout\":\"\"}\n{\"x\":1}\n", "stdin:2:"),
        (b"\xff\xfe{", "not UTF-8 text at byte 0"),
    ] {
        let out = fleet(&[], input);
        assert_eq!(out.status.code(), Some(2), "{input:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(says), "{input:?}: {err}");
        assert!(err.contains("expected one of") || says.contains("UTF-8"), "{err}");
        assert!(stdout(&out).is_empty());
    }
    let out = Command::new(INJECT)
        .args(["fleet", "/nonexistent/run-errand.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/run-errand.json: No such file"));
}

#[test]
fn fifty_instances_with_one_failure_read_as_one_pattern() {
    let mut rows = Vec::new();
    for i in 0..50u64 {
        let ipv6 = if i % 10 == 3 { "missing" } else { "present" };
        rows.push((format!("haproxy/id-{i:02}"), "0", summary(i, ipv6, &[]), ""));
    }
    let out = fleet(&[], &cli_json(&rows));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(
        text.lines().last().unwrap(),
        "45 of 50 instances ok; 5 lack an IPv6 default: haproxy/3 (z1), haproxy/13 (z1), haproxy/23 (z1), haproxy/33 (z1), haproxy/43 (z1)"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "── 5 lack an IPv6 default");
    assert!(lines[2].starts_with("haproxy/id-03 "), "{text}");
    assert_eq!(lines[7], "── 45 ok");
    // --only failed: the five rows and the same totals.
    let only = stdout(&fleet(&["--only", "failed"], &cli_json(&rows)));
    assert_eq!(only.lines().count(), 1 + 1 + 5 + 1, "{only}");
    assert_eq!(
        fleet(&["--strict"], &cli_json(&rows)).status.code(),
        Some(1)
    );
}

#[test]
fn rows_without_a_summary_are_kept_with_their_stderr() {
    let big = "x".repeat(2_000_000);
    let rows = [
        (
            "a/1".to_string(),
            "1",
            "[1/1] x\n  => ok\n".to_string(),
            "panic: runtime error\ngoroutine 1 [running]\n",
        ),
        ("a/2".to_string(), "", String::new(), ""),
        (
            "a/3".to_string(),
            "0",
            "inject-summary: {\"v\":2}\n".to_string(),
            "",
        ),
        (
            "a/4".to_string(),
            "0",
            "inject-summary: {\"v\":1,\"cut".to_string(),
            "",
        ),
        ("a/5".to_string(), "0", big, ""),
        ("a/6".to_string(), "0", summary(6, "present", &[]), ""),
    ];
    let out = fleet(&["--json"], &cli_json(&rows));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["total"].as_u64(), report["ok"].as_u64()),
        (Some(6), Some(1))
    );
    let note = |instance: &str| {
        report["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["instance"] == instance)
            .unwrap()["note"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(note("a/1").contains("stderr: panic: runtime error | goroutine 1 [running]"));
    assert!(note("a/2").contains("no stdout"));
    assert!(note("a/3").contains("version 2; this inject reads version 1"));
    assert!(note("a/4").contains("not readable"));
    assert!(note("a/5").contains("no inject-summary line"));
    // An exit code that is not a number is shown as unknown, not a crash.
    let a2 = &report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == "a/2")
        .unwrap()["exit_code"];
    assert!(a2.is_null());
}

#[test]
fn another_vms_control_characters_do_not_reach_the_terminal() {
    let rows = [(
        "a/\u{1b}[2J1".to_string(),
        "1",
        "oops".to_string(),
        "\u{1b}]0;owned\u{7}\u{1b}[31mred\r\n",
    )];
    let text = stdout(&fleet(&[], &cli_json(&rows)));
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(!text.contains('\r'), "{text:?}");
    assert!(text.contains("a/\\u{1b}[2J1"), "{text}");
}

#[test]
fn no_colour_when_stdout_is_not_a_terminal() {
    let rows = [("a/1".to_string(), "0", summary(1, "present", &[]), "")];
    let text = stdout(&fleet(&[], &cli_json(&rows)));
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert_eq!(text.lines().last().unwrap(), "1 of 1 instance ok");
}

#[test]
fn a_reader_that_leaves_early_is_no_error() {
    let rows: Vec<_> = (0..2000u64)
        .map(|i| (format!("a/{i}"), "0", summary(i, "missing", &[]), ""))
        .collect();
    let input = cli_json(&rows);
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} fleet | head -n 1; echo \"${{PIPESTATUS[0]:-}}\"",
            INJECT
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&input)?;
            c.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("INSTANCE"), "{text}");
    // inject's own exit status in the pipe.
    assert_eq!(lines[1], "0", "{text}");
}

/// `inject fleet` run by a shell, under /usr/bin/time: (exit code,
/// stderr's first line, peak RSS in KiB).
fn fleet_sh(pipeline: &str) -> (Option<i32>, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let time = dir.path().join("time");
    let out = Command::new("bash")
        .arg("-c")
        .arg(pipeline.replace(
            "INJECT",
            &format!("/usr/bin/time -o {} -f %M {}", time.display(), INJECT),
        ))
        .output()
        .unwrap();
    let rss = std::fs::read_to_string(&time).unwrap();
    let rss = rss.lines().last().unwrap().trim().parse().unwrap();
    let err = stderr(&out).lines().next().unwrap_or_default().to_string();
    (out.status.code(), err, rss)
}

#[test]
fn endless_input_is_refused_at_once_naming_the_cap() {
    for (pipeline, says) in [
        ("INJECT fleet /dev/zero", "/dev/zero: not JSON the bosh CLI writes"),
        ("yes | INJECT fleet", "stdin: not JSON the bosh CLI writes"),
        ("(echo '{'; cat /dev/zero) | INJECT fleet -", "stdin: not JSON the bosh CLI writes (byte 2 is not JSON)"),
        ("yes '' | INJECT fleet", "stdin: blank space longer than 8 MiB"),
        (
            r#"(printf '{"Tables":[{"Rows":[{"stdout":"'; yes) | INJECT fleet"#,
            "stdin: a JSON string or value longer than 8 MiB, more than BOSH gives for one instance",
        ),
        (
            r#"(printf '{"instance":{"group":"g","id":"1"},"exit_code":0}\n{"instance":"'; yes | tr -d '\n') | INJECT fleet"#,
            "stdin:2: a line longer than 8 MiB, more than BOSH gives for one instance",
        ),
    ] {
        let (code, err, rss) = fleet_sh(pipeline);
        assert_eq!(code, Some(2), "{pipeline}: {err}");
        assert!(err.starts_with(&format!("inject: {says}")), "{pipeline}: {err}");
        // Nothing near the input's size is held: at most one line.
        assert!(rss < 64 * 1024, "{pipeline}: {rss} KiB");
    }
}

#[test]
fn an_instance_given_twice_is_one_row_the_later_shown() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fleet");
    let out = Command::new(INJECT)
        .args(["fleet", "--json"])
        .arg(format!("{fixtures}/run-errand.json"))
        .arg(format!("{fixtures}/task-result.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["total"].as_u64(), report["ok"].as_u64()),
        (Some(4), Some(1))
    );
    let err = stderr(&out);
    assert!(
        err.contains("inject: haproxy/9a7f3b2e-6c4d-4e1a-b5f8-0c3d2e9b7a14: given twice (")
            && err.contains("run-errand.json, ")
            && err.contains("task-result.txt:3); the later is shown"),
        "{err}"
    );
    // The later wins: twice in one input, the second line's exit code.
    let one = |code: i64| {
        format!("{{\"instance\":{{\"group\":\"g\",\"id\":\"1\"}},\"exit_code\":{code},\"stdout\":\"\"}}\n")
    };
    let out = fleet(&["--json"], format!("{}{}", one(0), one(7)).as_bytes());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["total"], 1);
    assert_eq!(report["instances"][0]["exit_code"], 7);
    assert!(stderr(&out).contains("g/1: given twice (stdin:1, stdin:2); the later is shown"));
}

#[test]
fn a_dash_reads_stdin() {
    let rows = [("a/1".to_string(), "0", summary(1, "present", &[]), "")];
    let out = fleet(&["-"], &cli_json(&rows));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().last().unwrap(), "1 of 1 instance ok");
}
