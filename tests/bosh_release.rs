//! The BOSH release in `bosh-release/`, through BOSH's own code: the bosh
//! CLI creates the release and interpolates the example manifests; the Go
//! harness in `tests/bosh/` (see tests/common/bosh.rs) renders the job with
//! bosh-cli's ERB renderer, compiles and installs it with bosh-agent's
//! compiler and appliers into a private /var/vcap, and runs the errand and
//! every hook through bosh-agent's action dispatcher (run_errand,
//! run_script, drain, get_task, cancel_task) with its 1 MiB reply limit,
//! inside a namespace reproducing the seed's VM. What still imitates BOSH:
//! only the director around them (which properties and networks it hands
//! to the renderer, which action it sends when).

// Shared by several test crates; each uses a part of it.
mod common;
use common::{bosh, netns, INJECT};

use std::path::Path;
use std::process::Command;

use bosh::{
    all_output, bosh_cli, create_release, release_copy, release_dir, render_with, seed_networks,
    text, Bosh, Vcap,
};
use netns::{can_run, SeedVm};
use serde_json::{json, Value};

const JOB_PATH: &str = "/instance_groups/name=haproxy/jobs/name=inject-commands/properties";
/// The test fixture the ops files are interpolated onto (relative to
/// bosh-release/manifests): the shape of upstream haproxy's manifest.
const HAPROXY: &str = "../test/fixtures/haproxy.yml";
/// Every script the job has, and the phase each runs (bin/run: the errand).
const HOOKS: [(&str, &str); 7] = [
    ("run", "errand"),
    ("pre-start", "pre-start"),
    ("post-start", "post-start"),
    ("post-deploy", "post-deploy"),
    ("pre-stop", "pre-stop"),
    ("drain", "drain"),
    ("post-stop", "post-stop"),
];

/// The job's properties in a manifest, as `bosh int` gives them.
fn manifest_properties(cli: &Path, files: &[&str], path: &str) -> Value {
    let mut cmd = Command::new(cli);
    cmd.current_dir(release_dir().join("manifests"))
        .arg("int")
        .arg(files[0]);
    for ops in &files[1..] {
        cmd.args(["-o", ops]);
    }
    let out = cmd.args(["--path", path]).output().unwrap();
    assert!(out.status.success(), "bosh int: {}", all_output(&out));
    serde_norway::from_slice(&out.stdout).expect("bosh int prints YAML")
}

/// The properties the ops file gives the job (what an operator deploys).
fn ops_file_properties(bosh: &Bosh) -> Value {
    manifest_properties(
        &bosh.cli,
        &[HAPROXY, "colocate-inject-commands.yml"],
        JOB_PATH,
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn bosh_templates_render_scripts_and_a_config_inject_accepts() {
    let test = "bosh_templates_render_scripts_and_a_config_inject_accepts";
    let Some(bosh) = Bosh::get(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("job");
    let properties = ops_file_properties(&bosh);
    bosh.render_ok(&properties, Some(&seed_networks()), &out_dir);

    for (script, phase) in HOOKS {
        let path = out_dir.join("bin").join(script);
        let body = std::fs::read_to_string(&path).unwrap();
        assert!(
            body.starts_with("#!/bin/bash\n"),
            "{script} has no shebang:\n{body}"
        );
        let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(check.status.success(), "{script}: {}", all_output(&check));
        // No logic but inject's: the statement that matters runs the phase
        // with the job's config and log dir (drain adds the protocol's 0).
        let code: Vec<&str> = body
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        let call = format!("/var/vcap/packages/inject/bin/inject run --phase {phase} \\");
        let args = "  -c /var/vcap/jobs/inject-commands/config/commands.yml --log-dir /var/vcap/sys/log/inject-commands";
        let expected: Vec<String> = match script {
            "pre-start" => vec![
                "set -eu".into(),
                "mkdir -p /usr/local/bin".into(),
                "ln -sfn /var/vcap/jobs/inject-commands/bin/inject-tui /usr/local/bin/inject-tui"
                    .into(),
                format!("exec {call}"),
                args.into(),
            ],
            "drain" => vec![
                "set -eu".into(),
                "mkdir -p /var/vcap/sys/log/inject-commands 2>/dev/null || true".into(),
                call,
                format!("{args} \\"),
                "  2>&1 | { dd of=/var/vcap/sys/log/inject-commands/drain.log oflag=append,nofollow,nonblock conv=notrunc bs=64k status=none 2>/dev/null || true; cat >/dev/null; }".into(),
                "rc=${PIPESTATUS[0]}".into(),
                r#"if [ "$rc" -ne 0 ]; then exit "$rc"; fi"#.into(),
                "echo 0".into(),
            ],
            _ => vec![format!("exec {call}"), args.into()],
        };
        assert_eq!(code, expected, "bin/{script}:\n{body}");
    }
    let monit = std::fs::read_to_string(out_dir.join("monit")).unwrap();
    assert!(
        monit.contains("check process inject-ensure"),
        "the ops file's route command is tagged ensure, so monit keeps it:\n{monit}"
    );
    let tui = std::fs::read_to_string(out_dir.join("bin/inject-tui")).unwrap();
    assert!(
        tui.contains("inject tui")
            && tui.contains("/var/vcap/jobs/inject-commands/config/commands.yml"),
        "inject-tui opens the dashboard with the job's config:\n{tui}"
    );

    // The operator's commands pass through untouched, beside the networks.
    let config_path = out_dir.join("config/commands.yml");
    let config = read_json(&config_path);
    assert_eq!(config["commands"], properties["commands"]);
    assert_eq!(config["dry_run"], false);
    assert_eq!(config["networks"]["ipv6"]["gateway"], SeedVm::V6_GATEWAY);
    assert_eq!(config["networks"]["ipv6"]["ip"], SeedVm::V6_ADDRESS);
    assert_eq!(config["networks"]["default"]["netmask"], "255.255.255.0");

    let check = Command::new(INJECT)
        .args(["check", "-c"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "inject check rejected the rendered config: {}",
        all_output(&check)
    );
    assert!(
        text(&check.stdout).contains("ipv6-default-route"),
        "{}",
        all_output(&check)
    );
}

#[test]
fn bosh_properties_are_data_and_the_scripts_never_change() {
    let test = "bosh_properties_are_data_and_the_scripts_never_change";
    let Some(bosh) = Bosh::get(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let defaults = dir.path().join("defaults");
    bosh.render_ok(&json!({}), Some(&seed_networks()), &defaults);
    let config = read_json(&defaults.join("config/commands.yml"));
    assert_eq!(
        config["shell"],
        json!([
            "/bin/bash",
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c"
        ])
    );
    assert_eq!(config["timeout"], "10m");
    assert_eq!(config["stop_on_error"], true);
    assert_eq!(config["output_limit"], "64KiB");
    assert_eq!(config["dry_run"], false);
    assert_eq!(config["commands"], json!([]));
    let check = Command::new(INJECT)
        .args(["check", "-c"])
        .arg(defaults.join("config/commands.yml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "defaults must be valid for inject: {}",
        all_output(&check)
    );

    // Whatever the properties say, dry_run as a boolean or as the string a
    // quoted manifest value or a CredHub variable gives: they reach the
    // config as given, and every script is the same.
    for properties in [
        json!({"timeout": "2m", "dry_run": true}),
        json!({"dry_run": "false"}),
        json!({"dry_run": "true", "stop_on_error": "yes please"}),
    ] {
        let out = dir.path().join("other");
        let _ = std::fs::remove_dir_all(&out);
        bosh.render_ok(&properties, Some(&seed_networks()), &out);
        let config = read_json(&out.join("config/commands.yml"));
        for (key, value) in properties.as_object().unwrap() {
            assert_eq!(&config[key], value, "{properties}: {key}");
        }
        for (script, _) in HOOKS {
            assert_eq!(
                std::fs::read_to_string(out.join("bin").join(script)).unwrap(),
                std::fs::read_to_string(defaults.join("bin").join(script)).unwrap(),
                "{properties}: bin/{script} depends on the properties"
            );
        }
    }
}

#[test]
fn bosh_templates_name_only_declared_properties() {
    let test = "bosh_templates_name_only_declared_properties";
    let Some(bosh) = Bosh::get(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let copy = release_copy(dir.path());
    let lint = |release: &Path| {
        Command::new("ruby")
            .arg(release_dir().join("test/lint.rb"))
            .arg(release)
            .output()
            .expect("ruby runs")
    };

    // Every p() declared and every property documented (create-release
    // checks neither; the director would fail only at deploy).
    let out = lint(&copy);
    assert!(out.status.success(), "release lint: {}", all_output(&out));

    // The same checks catch a template naming an undeclared property, and
    // bosh-cli's renderer fails on it as a director would.
    let template = copy.join("jobs/inject-commands/templates/config/commands.yml.erb");
    let body = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, body.replace("p('dry_run')", "p('dry_runn')")).unwrap();
    let out = lint(&copy);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("templates/config/commands.yml.erb uses undeclared property 'dry_runn'"),
        "{}",
        all_output(&out)
    );
    // The package's blob is not rendered: any file will do.
    let blob = dir.path().join("blob");
    std::fs::write(&blob, "not a binary").unwrap();
    let tarball = dir.path().join("broken.tgz");
    create_release(&bosh.cli, &copy, &blob, &tarball);
    let render = render_with(
        &bosh.harness,
        &tarball,
        &json!({"dry_runn": true}),
        Some(&seed_networks()),
        &dir.path().join("out"),
    );
    assert!(!render.status.success());
    assert!(
        text(&render.stderr).contains("Can't find property 'dry_runn'"),
        "{}",
        all_output(&render)
    );
}

#[test]
fn bosh_cli_creates_the_release_from_the_tree() {
    let Some(bosh) = bosh_cli("bosh_cli_creates_the_release_from_the_tree") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = release_copy(dir.path());
    let add = Command::new(&bosh)
        .current_dir(&copy)
        .args(["add-blob", INJECT, "inject/inject-linux-amd64"])
        .output()
        .unwrap();
    assert!(add.status.success(), "bosh add-blob: {}", all_output(&add));
    let tarball = dir.path().join("inject.tgz");
    let create = Command::new(&bosh)
        .current_dir(&copy)
        .args(["create-release", "--force", "--tarball"])
        .arg(&tarball)
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "bosh create-release: {}",
        all_output(&create)
    );
    let entries = tar_list(&tarball);
    for entry in [
        "release.MF",
        "jobs/inject-commands.tgz",
        "packages/inject.tgz",
    ] {
        assert!(
            entries.contains(&entry.to_string()),
            "{entry} missing: {entries:?}"
        );
    }

    // What the agent unpacks: the package holds its packaging script and the
    // blob (the very binary given to add-blob), nothing from src/; the job
    // holds its spec, monit file and every template.
    let unpacked = dir.path().join("unpacked");
    untar(&tarball, &unpacked);
    let package = unpacked.join("package");
    untar(&unpacked.join("packages/inject.tgz"), &package);
    let mut package_files = tar_list(&unpacked.join("packages/inject.tgz"));
    package_files.retain(|e| !e.ends_with('/'));
    package_files.sort();
    assert_eq!(
        package_files,
        ["inject/inject-linux-amd64", "packaging"],
        "package inject"
    );
    assert!(
        std::fs::read(package.join("inject/inject-linux-amd64")).unwrap()
            == std::fs::read(INJECT).unwrap(),
        "the package's blob is not the binary given to bosh add-blob"
    );
    let job_files = tar_list(&unpacked.join("jobs/inject-commands.tgz"));
    for entry in [
        "job.MF",
        "monit",
        "templates/bin/run.erb",
        "templates/bin/pre-start.erb",
        "templates/bin/post-start.erb",
        "templates/bin/post-deploy.erb",
        "templates/bin/pre-stop.erb",
        "templates/bin/drain.erb",
        "templates/bin/post-stop.erb",
        "templates/bin/inject-tui.erb",
        "templates/config/commands.yml.erb",
    ] {
        assert!(
            job_files.contains(&entry.to_string()),
            "job inject-commands lacks {entry}: {job_files:?}"
        );
    }
    // bosh CLI 7.8.6 (the one scripts/lib/tools.sh pins) packs only spec,
    // monit and templates: properties_schema.json reaches a director only
    // from releases made with bosh CLI >= 7.9.1 (docs/deploy.md).
    assert!(
        !job_files.contains(&"properties_schema.json".to_string()),
        "this bosh CLI packs properties_schema.json: update docs/deploy.md"
    );
    let manifest = std::fs::read_to_string(unpacked.join("release.MF")).unwrap();
    assert!(
        manifest.starts_with("name: inject\n") && manifest.contains("version: 0+dev.1\n"),
        "{manifest}"
    );
}

/// A tarball's entries, without any leading "./".
fn tar_list(tarball: &Path) -> Vec<String> {
    let list = Command::new("tar")
        .arg("tzf")
        .arg(tarball)
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "tar tzf {}: {}",
        tarball.display(),
        all_output(&list)
    );
    text(&list.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn untar(tarball: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let out = Command::new("tar")
        .arg("xzf")
        .arg(tarball)
        .arg("-C")
        .arg(into)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar xzf {}: {}",
        tarball.display(),
        all_output(&out)
    );
}

#[test]
fn bosh_cli_interpolates_the_manifests_with_the_errand_colocated() {
    let Some(bosh) = bosh_cli("bosh_cli_interpolates_the_manifests_with_the_errand_colocated")
    else {
        return;
    };
    let manifests = release_dir().join("manifests");
    let int = Command::new(&bosh)
        .current_dir(&manifests)
        .args(["int", HAPROXY, "-o", "colocate-inject-commands.yml"])
        .args(["--path", "/instance_groups/name=haproxy/jobs"])
        .output()
        .unwrap();
    assert!(int.status.success(), "bosh int: {}", all_output(&int));
    let jobs = text(&int.stdout);
    assert!(
        jobs.contains("name: haproxy") && jobs.contains("name: inject-commands"),
        "{jobs}"
    );
    assert!(jobs.contains("$INJECT_IPV6_GATEWAY"), "{jobs}");
    let route = "/instance_groups/name=haproxy/jobs/name=inject-commands/properties/commands/name=ipv6-default-route";
    let field = |name: &str| {
        let out = Command::new(&bosh)
            .current_dir(&manifests)
            .args(["int", HAPROXY, "-o", "colocate-inject-commands.yml"])
            .args(["--path", &format!("{route}/{name}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bosh int {name}: {}",
            all_output(&out)
        );
        text(&out.stdout).trim().to_string()
    };
    // Tagged ensure too: after a reboot or a NIC restart no hook runs, and
    // monit's inject-ensure puts the route back.
    assert_eq!(field("phases"), "- errand\n- pre-start\n- ensure");
    // Replaced (idempotent) unless the kernel has a usable IPv6 default,
    // whoever made it (BOSH's gateway, or a router's advertisements).
    assert_eq!(
        field("run"),
        r#"ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE""#
    );
    assert_eq!(field("unless"), "ip -6 route get 2000::1 >/dev/null 2>&1");
    let releases = Command::new(&bosh)
        .current_dir(&manifests)
        .args(["int", HAPROXY, "-o", "colocate-inject-commands.yml"])
        .args(["--path", "/releases/name=inject/version"])
        .output()
        .unwrap();
    assert_eq!(
        text(&releases.stdout).trim(),
        "latest",
        "{}",
        all_output(&releases)
    );
    let dry_run = Command::new(&bosh)
        .current_dir(&manifests)
        .args([
            "int",
            HAPROXY,
            "-o",
            "colocate-inject-commands.yml",
            "-o",
            "dry-run.yml",
        ])
        .args([
            "--path",
            "/instance_groups/name=haproxy/jobs/name=inject-commands/properties/dry_run",
        ])
        .output()
        .unwrap();
    assert_eq!(
        text(&dry_run.stdout).trim(),
        "true",
        "{}",
        all_output(&dry_run)
    );
    let standalone = Command::new(&bosh)
        .current_dir(&manifests)
        .args([
            "int",
            "inject-standalone.yml",
            "--path",
            "/instance_groups/name=inject/jobs/0/name",
        ])
        .output()
        .unwrap();
    assert_eq!(
        text(&standalone.stdout).trim(),
        "inject-commands",
        "{}",
        all_output(&standalone)
    );
}

/// Every non-empty file under `dir`.
fn log_files(dir: &Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if entry.metadata().map(|m| m.len() > 0).unwrap_or(false) {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, &mut found);
    found
}

fn ipv6_default_routes(vm: &SeedVm) -> String {
    vm.ip("-6 route show default")
}

/// Whether the namespace tests and BOSH's code can run here.
fn setup(test: &str) -> Option<(Bosh, SeedVm)> {
    if !can_run(test) {
        return None;
    }
    let bosh = Bosh::get(test)?;
    Some((bosh, SeedVm::new()))
}

/// The ops file's properties, with its route command for the errand only and
/// one pre-start command that leaves a mark, so each script's phase shows.
fn errand_properties(bosh: &Bosh) -> Value {
    let mut properties = ops_file_properties(bosh);
    let commands = properties["commands"].as_array_mut().unwrap();
    assert_eq!(commands[0]["name"], "ipv6-default-route");
    commands[0]["phases"] = json!(["errand"]);
    commands.push(json!({
        "name": "pre-start-mark",
        "run": "mkdir -p /var/vcap/data && echo \"gateway $INJECT_NET_IPV6_GATEWAY\" > /var/vcap/data/pre-start-mark",
        "phases": ["pre-start"],
    }));
    properties
}

#[test]
fn bosh_errand_adds_the_ipv6_default_route_from_the_network_gateway() {
    let Some((bosh, vm)) =
        setup("bosh_errand_adds_the_ipv6_default_route_from_the_network_gateway")
    else {
        return;
    };
    let vcap = Vcap::install(&bosh, &errand_properties(&bosh), Some(&seed_networks()));
    // As on a stemcell, /var/vcap/sys is a link to data/sys and the agent
    // made the job's log dir at apply, 0770 root:vcap.
    let log_dir = vcap.host_path("sys/log/inject-commands");
    assert_eq!(
        std::fs::read_link(vcap.root().join("sys")).unwrap(),
        Path::new("/var/vcap/data/sys")
    );
    assert_eq!(mode_of(&log_dir), 0o770, "not the agent's log dir");

    let pre_start = vcap.agent(
        &bosh,
        &vm,
        &["-action", "run_script", "-script", "pre-start"],
    );
    // The job's log dir is the agent's own (0770 root:vcap, made at apply):
    // pre-start must use it, not refuse it.
    assert_eq!(
        pre_start.json,
        json!({"value": {}}),
        "{}\npre-start.stderr.log: {}",
        pre_start.stderr,
        vcap.file("sys/log/inject-commands/pre-start.stderr.log")
    );
    let tightened = "tightened /var/vcap/sys/log/inject-commands from 0770 \
                     (as the BOSH agent creates it) to 0750";
    assert_eq!(mode_of(&log_dir), 0o750);
    let said = vcap.file("sys/log/inject-commands/pre-start.stderr.log");
    assert_eq!(said.matches(tightened).count(), 1, "{said}");
    let events = vcap.file("sys/log/inject-commands/inject-run.jsonl");
    assert_eq!(events.matches(tightened).count(), 1, "{events}");
    let mark = vcap.file("data/pre-start-mark");
    assert_eq!(mark.trim(), format!("gateway {}", SeedVm::V6_GATEWAY));
    let link = std::fs::read_link(vcap.local_bin().join("inject-tui")).unwrap();
    assert_eq!(
        link,
        Path::new("/var/vcap/jobs/inject-commands/bin/inject-tui")
    );
    assert_eq!(
        ipv6_default_routes(&vm),
        "",
        "pre-start ran an errand-only command"
    );

    let run = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
    let (code, stdout, stderr) = run.errand();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stderr.contains("tightened"), "said twice: {stderr}");
    let routes = ipv6_default_routes(&vm);
    assert!(
        routes.starts_with(&format!("default via {} dev eth1", SeedVm::V6_GATEWAY)),
        "no IPv6 default route after the errand: {routes:?}\n{stdout}{stderr}"
    );
    let logs = log_files(&vcap.host_path("sys/log/inject-commands"));
    assert!(
        logs.iter().any(|log| std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("ipv6-default-route")),
        "no log of the run under /var/vcap/sys/log/inject-commands: {logs:?}"
    );

    let again = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
    let (code, stdout, stderr) = again.errand();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("1 command: 0 ok, 1 skipped"),
        "second run did not skip: {stdout}{stderr}"
    );
    assert_eq!(ipv6_default_routes(&vm), routes);

    // A default a router advertised (networkd installs it `proto ra`, via
    // the router's link-local address) is a usable default: the errand
    // leaves it alone instead of fighting the router.
    vm.ip("-6 route del default");
    vm.ip("-6 route add default via fe80::1 dev eth1 proto ra");
    let ra = ipv6_default_routes(&vm);
    let leave = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
    let (code, stdout, stderr) = leave.errand();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("1 command: 0 ok, 1 skipped"),
        "the errand replaced a router's default: {stdout}{stderr}"
    );
    assert_eq!(ipv6_default_routes(&vm), ra);

    // A default the kernel cannot use (`unreachable`) is no default: the
    // kernel's lookup fails, and the errand replaces it.
    vm.ip("-6 route del default");
    vm.ip("-6 route add unreachable default");
    let fix = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
    let (code, stdout, stderr) = fix.errand();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("1 command: 1 ok, 0 skipped"),
        "an unusable default satisfied the guard: {stdout}{stderr}"
    );
    assert_eq!(ipv6_default_routes(&vm), routes);
}

#[test]
fn bosh_dry_run_previews_every_hook_and_changes_nothing() {
    let Some((bosh, vm)) = setup("bosh_dry_run_previews_every_hook_and_changes_nothing") else {
        return;
    };
    // The ops file's route command (errand, pre-start, ensure) with
    // manifests/dry-run.yml over it, plus a command in every hook that would
    // leave a mark.
    let mut properties = manifest_properties(
        &bosh.cli,
        &[HAPROXY, "colocate-inject-commands.yml", "dry-run.yml"],
        JOB_PATH,
    );
    assert_eq!(properties["dry_run"], true);
    let route = properties["commands"][0].clone();
    let hooks: Vec<&str> = HOOKS.iter().map(|(_, phase)| *phase).collect();
    properties["commands"].as_array_mut().unwrap().push(json!({
        "name": "mark",
        "run": "mkdir -p /var/vcap/data && touch /var/vcap/data/mark",
        "phases": hooks,
    }));
    let vcap = Vcap::install(&bosh, &properties, Some(&seed_networks()));
    assert_eq!(
        vcap.file("jobs/inject-commands/monit").trim(),
        "",
        "dry_run must declare no inject-ensure process"
    );

    let gateway = format!("INJECT_IPV6_GATEWAY={}", SeedVm::V6_GATEWAY);
    for (script, phase) in HOOKS {
        let expected: &[&str] = match phase {
            "errand" | "pre-start" => &["ipv6-default-route", "mark"],
            _ => &["mark"],
        };
        // Where the agent puts what each script prints: the errand's in its
        // reply, a hook's in <job>/<script>.stdout.log, drain's in drain.log.
        let output = match script {
            "run" => {
                let reply = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
                let (code, stdout, stderr) = reply.errand();
                assert_eq!(code, 0, "{stdout}{stderr}");
                stdout
            }
            "drain" => {
                vcap.drain_ok(&bosh, &vm, "dry run");
                vcap.file("sys/log/inject-commands/drain.log")
            }
            _ => {
                vcap.hook_ok(&bosh, &vm, script, &[], "dry run");
                vcap.file(&format!("sys/log/inject-commands/{script}.stdout.log"))
            }
        };
        let headline = format!("dry run: {} of 2 commands in phase {phase}", expected.len());
        assert!(output.contains(&headline), "bin/{script}: {output}");
        for name in expected {
            assert!(
                output.contains(&format!("] {name}\n")),
                "bin/{script} does not preview {name}: {output}"
            );
        }
        if expected.contains(&"ipv6-default-route") {
            // What the operator checks before turning dry_run off: the exact
            // command, its guard, and the gateway it resolves to on this VM.
            assert!(output.contains(&gateway), "bin/{script}: {output}");
            for text in [&route["run"], &route["unless"]] {
                let text = text.as_str().unwrap();
                assert!(
                    output.contains(text),
                    "bin/{script} does not show `{text}`: {output}"
                );
            }
        }
        assert_eq!(
            ipv6_default_routes(&vm),
            "",
            "a dry-run bin/{script} changed the routes"
        );
        assert!(
            !vcap.host_path("data/mark").exists(),
            "a dry-run bin/{script} ran a command"
        );
    }
}

/// Whether `output` has `…/config/commands.yml:LINE:COLUMN: FIELD…`.
fn names_place_and_field(output: &str, field: &str) -> bool {
    output.lines().any(|line| {
        let Some((_, rest)) =
            line.split_once("/var/vcap/jobs/inject-commands/config/commands.yml:")
        else {
            return false;
        };
        let mut parts = rest.splitn(3, ':');
        let numeric = |p: Option<&str>| {
            p.is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        };
        numeric(parts.next())
            && numeric(parts.next())
            && parts
                .next()
                .is_some_and(|m| m.trim_start().starts_with(field))
    })
}

#[test]
fn bosh_errand_and_pre_start_reject_bad_properties_with_exit_2() {
    let Some((bosh, vm)) = setup("bosh_errand_and_pre_start_reject_bad_properties_with_exit_2")
    else {
        return;
    };
    let route = json!({"name": "route", "run": "ip -6 route add default via 2001:db8:69f5::1",
                       "unless": "false", "phases": ["errand", "pre-start", "ensure"]});
    // (properties, the field the error names, whether it concerns pre-start:
    // pre-start checks only its own commands and what they run under).
    let cases = [
        // As a quoted manifest value or a CredHub variable gives it: ERB
        // took the string for true; the binary says where it is.
        (
            json!({"dry_run": "false", "commands": [route]}),
            "dry_run",
            true,
        ),
        // A typo'd key inside a command of pre-start's, and of the errand's
        // only (no `phases`: the errand).
        (
            json!({"commands": [{"name": "route", "rnu": "ip -6 route add default via ::1",
                                 "phases": ["pre-start"]}]}),
            "commands[0]: unknown field `rnu`",
            true,
        ),
        (
            json!({"commands": [{"name": "route", "rnu": "ip -6 route add default via ::1"}]}),
            "commands[0]: unknown field `rnu`",
            false,
        ),
        // A wrong type, with no command at all.
        (
            json!({"stop_on_error": "yes please"}),
            "stop_on_error",
            false,
        ),
        // No list of commands: nobody can tell what pre-start has.
        (
            json!({"commands": "ip -6 route add default via ::1"}),
            "commands",
            true,
        ),
    ];
    for (properties, field, concerns_pre_start) in cases {
        let vcap = Vcap::install(&bosh, &properties, Some(&seed_networks()));
        let pre_start = vcap.agent(
            &bosh,
            &vm,
            &["-action", "run_script", "-script", "pre-start"],
        );
        let log = vcap.file("sys/log/inject-commands/pre-start.stderr.log");
        if concerns_pre_start {
            // pre-start fails the deploy before monit starts anything.
            assert!(
                pre_start
                    .exception()
                    .is_some_and(|m| m.contains("1 of 1 pre-start scripts failed")),
                "{properties}: {}",
                pre_start.json
            );
            assert!(
                names_place_and_field(&log, field),
                "{properties}: pre-start's error does not name file:line:column and `{field}`: {log}"
            );
        } else {
            // No command of pre-start's: it has nothing to do, and says
            // why the errand will fail.
            assert_eq!(pre_start.json, json!({"value": {}}), "{properties}");
            assert!(
                names_place_and_field(&log, field) && log.contains("inject: warning: "),
                "{properties}: {log}"
            );
        }
        // The errand checks the whole file.
        let run = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
        let (code, stdout, stderr) = run.errand();
        assert_eq!(code, 2, "{properties}: {stdout}{stderr}");
        assert!(
            names_place_and_field(&stderr, field),
            "{properties}: the error does not name file:line:column and `{field}`: {stderr}"
        );
        assert_eq!(ipv6_default_routes(&vm), "", "{properties}");
    }
}

/// The ops file's route command with `var` in place of its gateway
/// variable, and a command in each stop hook that leaves a mark: a job an
/// operator broke, with the networks the director renders for it.
fn broken_job(bosh: &Bosh, case: &str) -> (Value, Value) {
    let mut properties = ops_file_properties(bosh);
    let commands = properties["commands"].as_array_mut().unwrap();
    commands.push(json!({
        "name": "stop-mark",
        "run": "mkdir -p /var/vcap/data && echo ran >> /var/vcap/data/stop-marks",
        "phases": ["pre-stop", "drain", "post-stop"],
    }));
    let mut networks = seed_networks();
    match case {
        "missing network" => {
            commands[0]["run"] = json!(
                r#"ip -6 route replace default via "$INJECT_NET_PUBLIC_V6_GATEWAY" dev "$INJECT_IPV6_INTERFACE""#
            );
        }
        "typo" => {
            commands[0]["run"] = json!(
                r#"ip -6 route replace default via "$INJECT_IPV6_GATEWAAY" dev "$INJECT_IPV6_INTERFACE""#
            );
        }
        "two IPv6 networks" => {
            networks["ipv6-b"] = json!({"ip": "2001:db8:1::10", "gateway": "2001:db8:1::1",
                                        "netmask": "ffff:ffff:ffff:ffff::"});
        }
        "dry_run \"false\"" => properties["dry_run"] = json!("false"),
        other => panic!("no case {other}"),
    }
    (properties, networks)
}

/// The director's order, with the agent's own actions: a job rendered
/// with a broken config (`case`, see [`broken_job`]) stops cleanly
/// (pre-stop, drain, monit stop, post-stop all succeed, each logging the
/// error), and the fixed job's pre-start then adds the IPv6 default route:
/// the fix-forward deploy works. One test per case, so each says which
/// broke and all run.
fn a_broken_config_never_blocks_a_stop_and_the_fixed_deploy_adds_the_route(test: &str, case: &str) {
    let Some((bosh, vm)) = setup(test) else {
        return;
    };
    let (properties, networks) = broken_job(&bosh, case);
    let vcap = Vcap::install(&bosh, &properties, Some(&networks));
    // The gate: pre-start and the errand refuse it (the deploy stops
    // there) and nothing changes.
    let pre_start = vcap.agent(
        &bosh,
        &vm,
        &["-action", "run_script", "-script", "pre-start"],
    );
    assert!(
        pre_start.exception().is_some(),
        "{case}: {}",
        pre_start.json
    );
    assert_eq!(ipv6_default_routes(&vm), "", "{case}");

    // The next deploy, recreate or stop: pre-stop, drain, monit stop,
    // post-stop, as the director sends them.
    vcap.hook_ok(&bosh, &vm, "pre-stop", &[], case);
    vcap.drain_ok(&bosh, &vm, case);
    // monit stop: the job's stop program, as monit runs it.
    let stop = vcap.in_namespace(
        Some(&vm),
        &["/var/vcap/jobs/inject-commands/bin/ensure_ctl", "stop"],
    );
    assert!(
        stop.status.success(),
        "{case}: monit stop: {}",
        all_output(&stop)
    );
    vcap.hook_ok(&bosh, &vm, "post-stop", &[], case);

    // Each hook said why, naming the place, where an operator looks.
    for (hook, log) in [
        ("pre-stop", "pre-stop.stderr.log"),
        ("drain", "drain.log"),
        ("post-stop", "post-stop.stderr.log"),
    ] {
        let text = vcap.file(&format!("sys/log/inject-commands/{log}"));
        let field = if case.starts_with("dry_run") {
            "dry_run"
        } else {
            "commands[0].run"
        };
        assert!(
            text.contains("inject: warning: ") && names_place_and_field(&text, field),
            "{case}: {hook} did not log the error with its place: {text}"
        );
    }
    // The stop hooks' own command is fine: it ran, unless the error is
    // in what every command runs under (dry_run), which stops them all.
    let marks = vcap.file("data/stop-marks");
    if case.starts_with("dry_run") {
        assert!(
            marks.is_empty(),
            "{case}: a stop command ran under a broken dry_run"
        );
        let events = vcap.file("sys/log/inject-commands/inject-run.jsonl");
        assert_eq!(
            events
                .lines()
                .filter(|l| l.contains("\"event\":\"config_error\""))
                .count(),
            3,
            "{case}: {events}"
        );
    } else {
        assert_eq!(
            marks.lines().count(),
            3,
            "{case}: the stop hooks' own command did not run in each"
        );
        assert!(
            vcap.file("sys/log/inject-commands/drain.log")
                .contains("1 command: 1 ok"),
            "{case}"
        );
    }

    // The fix-forward deploy: the fixed job applied on this instance,
    // and its pre-start adds the route.
    let fixed = ops_file_properties(&bosh);
    vcap.apply(&bosh, &fixed, Some(&seed_networks()));
    let pre_start = vcap.agent(
        &bosh,
        &vm,
        &["-action", "run_script", "-script", "pre-start"],
    );
    assert_eq!(
        pre_start.json,
        json!({"value": {}}),
        "{case}: fixed pre-start: {}",
        pre_start.stderr
    );
    let routes = ipv6_default_routes(&vm);
    assert!(
        routes.starts_with(&format!("default via {} dev eth1", SeedVm::V6_GATEWAY)),
        "{case}: the fixed pre-start did not add the IPv6 default: {routes:?}"
    );
}

#[test]
fn bosh_a_config_naming_a_missing_network_never_blocks_a_stop_and_the_fix_deploys() {
    a_broken_config_never_blocks_a_stop_and_the_fixed_deploy_adds_the_route(
        "bosh_a_config_naming_a_missing_network_never_blocks_a_stop_and_the_fix_deploys",
        "missing network",
    );
}

#[test]
fn bosh_a_config_with_a_typo_never_blocks_a_stop_and_the_fix_deploys() {
    a_broken_config_never_blocks_a_stop_and_the_fixed_deploy_adds_the_route(
        "bosh_a_config_with_a_typo_never_blocks_a_stop_and_the_fix_deploys",
        "typo",
    );
}

#[test]
fn bosh_two_ipv6_networks_never_block_a_stop_and_the_fix_deploys() {
    a_broken_config_never_blocks_a_stop_and_the_fixed_deploy_adds_the_route(
        "bosh_two_ipv6_networks_never_block_a_stop_and_the_fix_deploys",
        "two IPv6 networks",
    );
}

#[test]
fn bosh_dry_run_as_the_string_false_never_blocks_a_stop_and_the_fix_deploys() {
    a_broken_config_never_blocks_a_stop_and_the_fixed_deploy_adds_the_route(
        "bosh_dry_run_as_the_string_false_never_blocks_a_stop_and_the_fix_deploys",
        "dry_run \"false\"",
    );
}

#[test]
fn bosh_every_lifecycle_hook_runs_its_commands() {
    let Some((bosh, vm)) = setup("bosh_every_lifecycle_hook_runs_its_commands") else {
        return;
    };
    let mark = |phase: &str, text: &str| {
        json!({
            "name": format!("{phase}-mark"),
            "run": format!("mkdir -p /var/vcap/data/marks && echo \"{text}\" > /var/vcap/data/marks/{phase} && echo {phase} ran"),
            "phases": [phase],
        })
    };
    let properties = json!({"commands": [
        mark("post-start", "post-start"),
        mark("post-deploy", "post-deploy"),
        mark("pre-stop", "$BOSH_VM_NEXT_STATE $BOSH_INSTANCE_NEXT_STATE $BOSH_DEPLOYMENT_NEXT_STATE"),
        mark("drain", "$BOSH_JOB_STATE | $BOSH_JOB_NEXT_STATE"),
        mark("post-stop", "post-stop"),
    ]});
    let vcap = Vcap::install(&bosh, &properties, Some(&seed_networks()));

    for script in ["post-start", "post-deploy"] {
        vcap.hook_ok(&bosh, &vm, script, &[], "the hooks' marks");
        assert_eq!(vcap.file(&format!("data/marks/{script}")).trim(), script);
        let stdout = vcap.file(&format!("sys/log/inject-commands/{script}.stdout.log"));
        assert!(
            stdout.contains(&format!("{script} ran")) && stdout.contains("1 command: 1 ok"),
            "{stdout}"
        );
    }
    // The director tells pre-stop what comes next; the commands see it.
    vcap.hook_ok(
        &bosh,
        &vm,
        "pre-stop",
        &[
            "BOSH_VM_NEXT_STATE=delete",
            "BOSH_INSTANCE_NEXT_STATE=keep",
            "BOSH_DEPLOYMENT_NEXT_STATE=keep",
        ],
        "the hooks' marks",
    );
    assert_eq!(vcap.file("data/marks/pre-stop").trim(), "delete keep keep");

    // Drain: the agent reads the script's stdout as an integer, so a reply
    // of 0 means inject printed nothing there; its output is in drain.log.
    vcap.drain_ok(&bosh, &vm, "the hooks' marks");
    assert!(
        !vcap.file("data/marks/drain").trim().is_empty(),
        "drain's command did not run"
    );
    let log = vcap.file("sys/log/inject-commands/drain.log");
    assert!(
        log.contains("drain ran") && log.contains("1 command: 1 ok"),
        "{log}"
    );

    vcap.hook_ok(&bosh, &vm, "post-stop", &[], "the hooks' marks");
    assert_eq!(vcap.file("data/marks/post-stop").trim(), "post-stop");
}

#[test]
fn bosh_a_failing_drain_command_fails_the_drain() {
    let Some((bosh, vm)) = setup("bosh_a_failing_drain_command_fails_the_drain") else {
        return;
    };
    let properties = json!({"commands": [
        {"name": "deregister", "run": "echo cannot deregister >&2; exit 3", "phases": ["drain"]},
    ]});
    let vcap = Vcap::install(&bosh, &properties, Some(&seed_networks()));
    let reply = vcap.agent(&bosh, &vm, &["-action", "drain"]);
    // The director gets this exception and stops the deploy at this instance.
    assert!(
        reply
            .exception()
            .is_some_and(|m| m.contains("1 of 1 drain scripts failed")),
        "{}",
        reply.json
    );
    let log = vcap.file("sys/log/inject-commands/drain.log");
    assert!(
        log.contains("cannot deregister") && log.contains("deregister"),
        "{log}"
    );
}

#[test]
fn bosh_create_env_placeholder_networks_are_no_networks() {
    let Some((bosh, vm)) = setup("bosh_create_env_placeholder_networks_are_no_networks") else {
        return;
    };
    // No networks given: the job is rendered exactly as `bosh create-env`
    // renders it, with networks {default: {ip: "", gateway: "", netmask: ""}}.
    let properties = json!({"commands": [{"name": "hello", "run": "echo hello"}]});
    let vcap = Vcap::install(&bosh, &properties, None);
    let config = read_json(&vcap.host_path("jobs/inject-commands/config/commands.yml"));
    assert_eq!(
        config["networks"],
        json!({"default": {"ip": "", "gateway": "", "netmask": ""}})
    );
    let reply = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
    let (code, stdout, stderr) = reply.errand();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("hello"), "{stdout}");
}

#[test]
fn bosh_cancel_ends_the_errand_with_143_and_leaves_no_process() {
    let Some((bosh, vm)) = setup("bosh_cancel_ends_the_errand_with_143_and_leaves_no_process")
    else {
        return;
    };
    // A unique argument, so the check for leftovers finds only this test's.
    let marker = format!("{}.{}", 300, std::process::id());
    let properties = json!({"commands": [{
        "name": "hang",
        "run": format!("mkdir -p /var/vcap/data && touch /var/vcap/data/started && sleep {marker}"),
    }]});
    let vcap = Vcap::install(&bosh, &properties, Some(&seed_networks()));
    let reply = vcap.agent(
        &bosh,
        &vm,
        &[
            "-action",
            "run_errand",
            "-cancel-when",
            "/var/vcap/data/started",
        ],
    );
    // 143 = inject's own exit on SIGTERM: it ended within the agent's 10 s
    // grace (after which the agent kills: no exit code of ours).
    let (code, stdout, stderr) = reply.errand();
    assert_eq!(code, 143, "{stdout}{stderr}\n{}", reply.stderr);
    let left = Command::new("pgrep")
        .args(["-f", &format!("sleep {marker}")])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the command's process outlived the errand: {}",
        text(&left.stdout)
    );
}

/// Output floods: the agent's reply (the errand's stdout and stderr as JSON)
/// stays under its 1 MiB limit and the errand's own result is intact.
#[test]
fn bosh_output_floods_keep_the_agents_reply_under_1_mib() {
    let Some((bosh, vm)) = setup("bosh_output_floods_keep_the_agents_reply_under_1_mib") else {
        return;
    };
    let lt = "head -c 65536 /dev/zero | tr '\\0' '<'";
    let cases = [
        (
            "plain text",
            json!({"output_limit": "1MiB", "commands": [
                {"name": "blank-lines", "run": "seq 900000 | tr -dc '\\n'"}]}),
            0,
            "1 command: 1 ok",
        ),
        (
            "<-heavy text",
            json!({"commands": [
                {"name": "lt-1", "run": lt}, {"name": "lt-2", "run": lt}, {"name": "lt-3", "run": lt}]}),
            0,
            "3 commands: 3 ok",
        ),
        (
            "invalid UTF-8",
            json!({"output_limit": "1MiB", "commands": [
                {"name": "bytes", "run": "head -c 400000 /dev/zero | tr '\\0' '\\377'"}]}),
            0,
            "1 command: 1 ok",
        ),
        (
            "many retries",
            json!({"shell": ["/bin/sh", "-c"], "commands": [
                {"name": "never", "run": "false", "retries": 30000, "retry_delay": "0s"}]}),
            1,
            "1 command: 0 ok, 0 skipped, 1 failed",
        ),
    ];
    for (case, properties, expected_code, summary) in cases {
        let vcap = Vcap::install(&bosh, &properties, Some(&seed_networks()));
        let reply = vcap.agent(&bosh, &vm, &["-action", "run_errand"]);
        assert!(
            reply.exception().is_none(),
            "{case}: the agent replied {} ({} bytes)",
            reply.json,
            reply.bytes
        );
        let (code, stdout, stderr) = reply.errand();
        eprintln!(
            "{case}: errand stdout {} bytes, stderr {} bytes, agent reply {} bytes",
            stdout.len(),
            stderr.len(),
            reply.bytes
        );
        assert!(reply.bytes < 1024 * 1024, "{case}: {} bytes", reply.bytes);
        assert_eq!(code, expected_code, "{case}: {stderr}");
        assert!(
            stdout.contains(summary),
            "{case}: the run's result line is lost: ...{}",
            &stdout[stdout.len().saturating_sub(2000)..]
        );
    }
}

/// A file's permission bits.
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}
