//! `inject run`'s summary line and `fail_on_findings` in a namespace VM
//! shaped like the seed's: the network half is read after the commands ran.

mod common;
use common::{netns, INJECT};

use netns::{can_run, SeedVm};
use serde_json::Value;

fn run(vm: &SeedVm, config: &str, json: bool) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commands.yml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = vm.command(INJECT);
    cmd.args(["run", "-c"]).arg(&path);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn summary_of(stdout: &str) -> Value {
    let last = stdout.lines().last().unwrap();
    let json = last
        .strip_prefix("inject-summary: ")
        .unwrap_or_else(|| panic!("the last line is not the summary: {stdout}"));
    serde_json::from_str(json).unwrap()
}

const CONFIG: &str = r#"
fail_on_findings: [missing_default_route]
instance: {name: haproxy, id: 5c2d, index: 1, az: z2, deployment: cf}
networks:
  default: {ip: 10.0.250.10, gateway: 10.0.250.1, netmask: 255.255.255.0}
  ipv6: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
commands:
  - name: ipv6-default-route
    run: RUN
"#;

#[test]
fn a_command_that_exits_0_but_leaves_the_default_missing_fails_with_3() {
    if !can_run("a_command_that_exits_0_but_leaves_the_default_missing_fails_with_3") {
        return;
    }
    let vm = SeedVm::new();
    let wrong = CONFIG.replace(
        "RUN",
        "ip -6 route replace 2001:db8:ffff::/48 via \"$INJECT_IPV6_GATEWAY\"",
    );
    let (code, stdout, stderr) = run(&vm, &wrong, false);
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains("fail_on_findings: missing_default_route remains after the run; exit 3"),
        "{stderr}"
    );
    let summary = summary_of(&stdout);
    assert_eq!(summary["instance"]["az"], "z2");
    assert_eq!(summary["commands"][0]["result"], "ok");
    assert_eq!(summary["network"]["ipv4"], "present");
    assert_eq!(summary["network"]["ipv6"], "missing");
    assert_eq!(
        summary["failing_findings"],
        serde_json::json!(["missing_default_route"])
    );

    // A lifecycle hook never fails on findings (post-stop must not).
    let hook = wrong.replace("    run: ", "    phases: [post-stop]\n    run: ");
    let (code, stdout, stderr) = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("commands.yml");
        std::fs::write(&path, &hook).unwrap();
        let out = vm
            .command(INJECT)
            .args(["run", "--phase", "post-stop", "-c"])
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(
        summary_of(&stdout)["failing_findings"],
        serde_json::json!([])
    );

    // The fix: the same check passes, exit 0; with --json the summary is
    // the last event line.
    let fixed = CONFIG.replace(
        "RUN",
        "ip -6 route replace default via \"$INJECT_IPV6_GATEWAY\" dev \"$INJECT_IPV6_INTERFACE\"",
    );
    let (code, stdout, stderr) = run(&vm, &fixed, true);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "inject_summary");
    assert_eq!(last["network"]["ipv6"], "present");
    assert_eq!(last["failing_findings"], serde_json::json!([]));
}
