//! `inject fleet` on what BOSH gives back across a deployment, made by
//! BOSH's own code: three namespace VMs run the errand through bosh-agent's
//! action dispatcher (the job rendered by bosh-cli's renderer with each
//! instance's spec), and their replies become `bosh run-errand --json`,
//! `bosh task N --result` and `bosh ssh -r --json` through bosh-cli's
//! director client, RunErrandCmd, ssh results writer and JSON UI
//! (tests/bosh/fleet.go). Also: the summary line survives the output
//! budget's floods, and the docs' tables are what `inject fleet` prints
//! for the captured input (tests/fixtures/fleet/).

mod common;
use common::{bosh, netns, INJECT};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bosh::{all_output, seed_networks, text, Bosh, Vcap};
use netns::{can_run, SeedVm};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fleet")
}

/// The seed's fix, as the release's ops file has it.
fn route_command() -> Value {
    json!({
        "name": "ipv6-default-route",
        "run": "ip -6 route replace default via \"$INJECT_IPV6_GATEWAY\" dev \"$INJECT_IPV6_INTERFACE\"",
        "unless": "ip -6 route show default via \"$INJECT_IPV6_GATEWAY\" dev \"$INJECT_IPV6_INTERFACE\" | grep -q .",
    })
}

/// One instance: its spec, its properties, and what the agent replied.
struct Instance {
    group: &'static str,
    id: &'static str,
    index: u64,
    az: &'static str,
    properties: Value,
}

/// Installs the job as the agent does, rendered with `instance`'s spec as
/// a director gives it, and runs the errand in `vm`: (exit code, stdout,
/// stderr) of the agent's reply.
fn run_errand(bosh: &Bosh, vm: &SeedVm, instance: &Instance) -> (i64, String, String) {
    let vcap = Vcap::install(bosh, &instance.properties, Some(&seed_networks()));
    // Vcap::install renders with create-env's spec; the director's (this
    // instance's name, id, index, az) replaces the config it rendered.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path
    };
    let spec = json!({"name": instance.group, "id": instance.id, "index": instance.index,
                      "az": instance.az, "deployment": "cf"});
    let rendered = dir.path().join("rendered");
    let out = Command::new(&bosh.harness)
        .arg("render")
        .arg("-release")
        .arg(&bosh.tarball)
        .args(["-job", "inject-commands", "-properties"])
        .arg(write("properties.json", &instance.properties))
        .arg("-networks")
        .arg(write("networks.json", &seed_networks()))
        .arg("-spec")
        .arg(write("spec.json", &spec))
        .arg("-out")
        .arg(&rendered)
        .output()
        .unwrap();
    assert!(out.status.success(), "render: {}", all_output(&out));
    let config = std::fs::read(rendered.join("config/commands.yml")).unwrap();
    std::fs::write(
        vcap.host_path("jobs/inject-commands/config/commands.yml"),
        config,
    )
    .unwrap();
    let reply = vcap.agent(bosh, vm, &["-action", "run_errand"]);
    assert!(reply.exception().is_none(), "{}", reply.json);
    reply.errand()
}

fn fleet(args: &[&str], input: &Path) -> Output {
    Command::new(INJECT)
        .arg("fleet")
        .args(args)
        .arg(input)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

/// Makes BOSH's three outputs from `results` with bosh-cli's code.
fn bosh_outputs(bosh: &Bosh, results: &Value, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let results_file = dir.join("results.json");
    std::fs::write(&results_file, results.to_string()).unwrap();
    let (cli, task, ssh) = (
        dir.join("run-errand.json"),
        dir.join("task-result.txt"),
        dir.join("ssh.json"),
    );
    let out = Command::new(&bosh.harness)
        .arg("fleet")
        .arg("-results")
        .arg(&results_file)
        .arg("-cli-out")
        .arg(&cli)
        .arg("-task-out")
        .arg(&task)
        .arg("-ssh-out")
        .arg(&ssh)
        .output()
        .unwrap();
    assert!(out.status.success(), "harness fleet: {}", all_output(&out));
    (cli, task, ssh)
}

#[test]
fn fleet_reads_bosh_cli_run_errand_json_of_real_errand_runs() {
    let test = "fleet_reads_bosh_cli_run_errand_json_of_real_errand_runs";
    if !can_run(test) {
        return;
    }
    let Some(bosh) = Bosh::get(test) else {
        return;
    };
    let fail_on = json!(["missing_default_route"]);
    let instances = [
        // Fixed: the seed's command adds the IPv6 default.
        Instance {
            group: "haproxy",
            id: "0b5e4c1a-7f3d-4a8e-9c2b-1d6f8e3a5b70",
            index: 0,
            az: "z1",
            properties: json!({"fail_on_findings": fail_on, "commands": [route_command()]}),
        },
        // A command that exits 0 but adds a route to a prefix, not the
        // default (the wrong gateway line): fail_on_findings fails it.
        Instance {
            group: "haproxy",
            id: "5c2d9e7b-3a1f-4b6c-8d0e-2f9a7c4b1e63",
            index: 1,
            az: "z2",
            properties: json!({"fail_on_findings": fail_on, "commands": [{
                "name": "ipv6-default-route",
                "run": "ip -6 route replace 2001:db8:ffff::/48 via \"$INJECT_IPV6_GATEWAY\" dev \"$INJECT_IPV6_INTERFACE\"",
            }]}),
        },
        // A command that fails; the route fix after it does not run.
        Instance {
            group: "haproxy",
            id: "9a7f3b2e-6c4d-4e1a-b5f8-0c3d2e9b7a14",
            index: 2,
            az: "z1",
            properties: json!({"commands": [
                {"name": "sysctl-tuning", "run": "echo 'cannot write net.core.somaxconn' >&2; exit 4"},
                route_command(),
            ]}),
        },
    ];
    let mut results = Vec::new();
    let mut statuses = Vec::new();
    for instance in &instances {
        let vm = SeedVm::new();
        let (code, stdout, stderr) = run_errand(&bosh, &vm, instance);
        results.push(
            json!({"group": instance.group, "id": instance.id, "exit_code": code,
                            "stdout": stdout, "stderr": stderr}),
        );
        // What `bosh ssh -r -c 'sudo … inject status --json'` gets back.
        let status = vm
            .command(INJECT)
            .args(["status", "--json"])
            .output()
            .unwrap();
        statuses.push(
            json!({"group": instance.group, "id": instance.index.to_string(),
                             "exit_code": status.status.code(), "stdout": text(&status.stdout),
                             "stderr": text(&status.stderr)}),
        );
    }
    let codes: Vec<i64> = results
        .iter()
        .map(|r| r["exit_code"].as_i64().unwrap())
        .collect();
    // fail_on_findings shows in BOSH's own exit code: 3.
    assert_eq!(codes, [0, 3, 1], "{results:#?}");
    // Another errand's output on a fourth instance.
    results.push(
        json!({"group": "router", "id": "e1d2c3b4-a5f6-4789-8a0b-c1d2e3f4a5b6",
                        "exit_code": 0, "stdout": "smoke tests passed\n",
                        "stderr": "warning: cert expires in 10 days\n"}),
    );
    let results = Value::Array(results);
    let dir = tempfile::tempdir().unwrap();
    let (cli, task, ssh) = bosh_outputs(&bosh, &results, dir.path());

    let out = fleet(&[], &cli);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let table = text(&out.stdout);
    let expected = "\
INSTANCE                                      IDX/AZ  EXIT  COMMANDS                            IPV4     IPV6     ERRORS
── 1 failed command sysctl-tuning and lacks an IPv6 default
haproxy/9a7f3b2e-6c4d-4e1a-b5f8-0c3d2e9b7a14  2/z1    1     1 failed, 1 not run: sysctl-tuning  present  missing  missing_default_route (ipv6)
── 1 has no inject summary
router/e1d2c3b4-a5f6-4789-8a0b-c1d2e3f4a5b6   —       0     —                                   —        —        no inject-summary line (older release, crashed errand or output cut); stderr: warning: cert expires in 10 days
── 1 lacks an IPv6 default
haproxy/5c2d9e7b-3a1f-4b6c-8d0e-2f9a7c4b1e63  1/z2    3     1 ok                                present  missing  missing_default_route (ipv6)
── 1 ok
haproxy/0b5e4c1a-7f3d-4a8e-9c2b-1d6f8e3a5b70  0/z1    0     1 ok                                present  present  —
1 of 4 instances ok; 1 failed command sysctl-tuning and lacks an IPv6 default: haproxy/2 (z1); 1 has no inject summary: router/e1d2c3b4-a5f6-4789-8a0b-c1d2e3f4a5b6; 1 lacks an IPv6 default: haproxy/1 (z2)
";
    assert_eq!(table, expected, "the table:\n{table}");
    // The director's task result reads the same.
    let from_task = fleet(&[], &task);
    assert_eq!(text(&from_task.stdout), expected);

    // --strict: instances are not ok, exit 1; --only failed drops the ok row.
    let strict = fleet(&["--strict", "--only", "failed"], &cli);
    assert_eq!(strict.status.code(), Some(1));
    let failed = text(&strict.stdout);
    assert!(!failed.contains("0b5e4c1a"), "{failed}");
    let totals = format!("{}\n", expected.lines().last().unwrap());
    assert!(failed.ends_with(&totals), "{failed}");

    // --json: the documented shape.
    let json_out = fleet(&["--json"], &cli);
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report["v"], 1);
    assert_eq!(
        (report["total"].as_u64(), report["ok"].as_u64()),
        (Some(4), Some(1))
    );
    let first = &report["instances"][0];
    assert_eq!(
        first["instance"],
        "haproxy/9a7f3b2e-6c4d-4e1a-b5f8-0c3d2e9b7a14"
    );
    assert_eq!(first["failed_commands"], json!(["sysctl-tuning"]));
    assert_eq!(first["ipv6"], "missing");
    assert_eq!(first["source"], "run-errand");
    assert_eq!(
        report["patterns"][2]["instances"],
        json!(["haproxy/1 (z2)"])
    );

    // bosh ssh -r --json of the errands' stdouts: they are not `inject
    // status --json`, and each row says so rather than vanishing.
    let from_ssh = fleet(&[], &ssh);
    assert_eq!(from_ssh.status.code(), Some(0));
    assert!(text(&from_ssh.stdout).contains("0 of 4 instances ok"));
    // bosh ssh -r --json of `inject status --json` on the three VMs.
    let ssh_dir = tempfile::tempdir().unwrap();
    let (_, _, ssh) = bosh_outputs(&bosh, &Value::Array(statuses), ssh_dir.path());
    let status_table = text(&fleet(&[], &ssh).stdout);
    let expected_ssh = "\
INSTANCE   IDX/AZ  EXIT  COMMANDS  IPV4     IPV6     ERRORS
── 2 lack an IPv6 default
haproxy/1  —       0     —         present  missing  missing_default_route (ipv6)
haproxy/2  —       0     —         present  missing  missing_default_route (ipv6)
── 1 ok
haproxy/0  —       0     —         present  present  —
1 of 3 instances ok; 2 lack an IPv6 default: haproxy/1, haproxy/2
";
    assert_eq!(status_table, expected_ssh, "{status_table}");

    // Kept for docs/fleet.md and the README (tests/fixtures/fleet, checked below).
    if let Some(to) = std::env::var_os("INJECT_FLEET_CAPTURE") {
        std::fs::copy(&cli, Path::new(&to).join("run-errand.json")).unwrap();
        std::fs::copy(&task, Path::new(&to).join("task-result.txt")).unwrap();
    }
}

/// The output budget's floods (as tests/bosh_release.rs runs them): the
/// agent's reply stays under 1 MiB and still ends with the summary line,
/// which `inject fleet` reads back.
#[test]
fn the_summary_line_survives_the_output_floods() {
    let test = "the_summary_line_survives_the_output_floods";
    if !can_run(test) {
        return;
    }
    let Some(bosh) = Bosh::get(test) else {
        return;
    };
    let vm = SeedVm::new();
    let lt = "head -c 65536 /dev/zero | tr '\\0' '<'";
    let cases = [
        (
            "plain text",
            json!({"output_limit": "1MiB", "commands": [
                {"name": "blank-lines", "run": "seq 900000 | tr -dc '\\n'"}]}),
            0,
        ),
        (
            "<-heavy text",
            json!({"commands": [
                {"name": "lt-1", "run": lt}, {"name": "lt-2", "run": lt}, {"name": "lt-3", "run": lt}]}),
            0,
        ),
        (
            "invalid UTF-8",
            json!({"output_limit": "1MiB", "commands": [
                {"name": "bytes", "run": "head -c 400000 /dev/zero | tr '\\0' '\\377'"}]}),
            0,
        ),
        (
            "many retries",
            json!({"shell": ["/bin/sh", "-c"], "commands": [
                {"name": "never", "run": "false", "retries": 30000, "retry_delay": "0s"}]}),
            1,
        ),
    ];
    for (case, properties, expected_code) in cases {
        let vcap = Vcap::install(&bosh, &properties, Some(&seed_networks()));
        let reply = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
        assert!(reply.exception().is_none(), "{case}: {}", reply.json);
        assert!(reply.bytes < 1024 * 1024, "{case}: {} bytes", reply.bytes);
        let (code, stdout, stderr) = reply.errand();
        eprintln!("{case}: agent reply {} bytes", reply.bytes);
        assert_eq!(code, expected_code, "{case}: {stderr}");
        let last = stdout.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("inject-summary: {\"v\":1,"),
            "{case}: stdout does not end with the summary: …{}",
            &stdout[stdout.len().saturating_sub(500)..]
        );
        // As the director's task result, read back by `inject fleet`.
        let dir = tempfile::tempdir().unwrap();
        let task = dir.path().join("task-result.txt");
        let line = json!({"instance": {"group": "haproxy", "id": "flood"}, "errand_name": "inject-commands",
                          "exit_code": code, "stdout": stdout, "stderr": stderr, "logs": {}});
        std::fs::write(&task, format!("{line}\n")).unwrap();
        let out = fleet(&["--json"], &task);
        assert_eq!(out.status.code(), Some(0), "{case}: {}", all_output(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let instance = &report["instances"][0];
        assert_eq!(instance["summary"], true, "{case}: {instance}");
        let commands = properties["commands"].as_array().unwrap().len();
        assert_eq!(instance["commands"]["total"], commands, "{case}");
        assert_eq!(instance["exit_code"], expected_code, "{case}");
        // The seed's VM, untouched by these commands: read after the run.
        assert_eq!(instance["ipv6"], "missing", "{case}: {instance}");
    }
}

/// docs/fleet.md, the README's tour and screenshots/fleet.txt show what
/// `inject fleet` prints for the captured input (tests/fixtures/fleet: the
/// first test's bosh-cli output, kept with INJECT_FLEET_CAPTURE=DIR).
#[test]
fn the_docs_show_what_fleet_prints_for_the_captured_input() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fleet_doc = std::fs::read_to_string(root.join("docs/fleet.md")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    // Each page and the commands it must show; the README's tour shows one.
    let shown_in: [(&str, &str, &[&str]); 2] = [
        (
            "docs/fleet.md",
            &fleet_doc,
            &["run-errand.json", "task-result.txt"],
        ),
        ("README.md", &readme, &["run-errand.json"]),
    ];
    for (doc, section, inputs) in shown_in {
        for (command, input) in [
            (
                "$ inject fleet tests/fixtures/fleet/run-errand.json",
                "run-errand.json",
            ),
            (
                "$ inject fleet --only failed tests/fixtures/fleet/task-result.txt",
                "task-result.txt",
            ),
        ] {
            if !inputs.contains(&input) {
                continue;
            }
            let at = section
                .find(command)
                .unwrap_or_else(|| panic!("{doc} runs `{command}`"));
            let block = &section[at + command.len() + 1..];
            let shown = &block[..block.find("```").unwrap()];
            let mut args: Vec<&str> = command.split_whitespace().skip(3).collect();
            args.pop();
            let out = fleet(&args, &fixtures().join(input));
            assert_eq!(
                text(&out.stdout),
                shown,
                "{doc}: `{command}`: {}",
                all_output(&out)
            );
            if input == "run-errand.json" {
                let capture = std::fs::read_to_string(root.join("screenshots/fleet.txt")).unwrap();
                assert_eq!(
                    capture,
                    format!("{command}\n{shown}"),
                    "screenshots/fleet.txt"
                );
            }
        }
    }
}
