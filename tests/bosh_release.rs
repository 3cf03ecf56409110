//! The BOSH release in `bosh-release/`: its templates rendered with BOSH's
//! semantics (Debian's ruby and `bosh-release/test/render.rb`), the tree and
//! the example manifests checked by the real bosh CLI, and the errand run end
//! to end as the agent runs it: package installed by its own `packaging`
//! script into a private /var/vcap, job rendered into it, scripts run with
//! only the agent's PATH inside a namespace reproducing the seed's VM.

// Shared by several test crates; each uses a part of it.
#[allow(dead_code)]
#[path = "common/netns.rs"]
mod netns;
#[path = "common/vcap_mount.rs"]
mod vcap_mount;
use vcap_mount::MountPoint;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netns::{can_run, SeedVm};
use serde_json::{json, Value};

const AGENT_PATH: &str = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
const OPS_FILE: &str = "manifests/colocate-inject-commands.yml";

fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bosh-release")
}

fn job_dir() -> PathBuf {
    release_dir().join("jobs/inject-commands")
}

fn inject() -> &'static str {
    env!("CARGO_BIN_EXE_inject")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn all_output(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Whether `program` runs here; under CI a missing tool fails the test.
fn have_tool(test: &str, program: &str, version_arg: &str) -> bool {
    if Command::new(program).arg(version_arg).output().is_ok() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: `{program}` is required under CI (scripts/lib/tools.sh installs it)");
    }
    eprintln!("skipping {test}: `{program}` is not installed (scripts/test installs it)");
    false
}

/// The bosh CLI: on PATH or where scripts/lib/tools.sh caches it. Under CI it
/// is required unless INJECT_BOSH_CLI=optional.
fn bosh_cli(test: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|c| c.join("inject/bin/bosh"));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("bosh"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let cache_dir = cache
        .as_ref()
        .and_then(|c| c.parent())
        .map(Path::to_path_buf);
    if let Some(bosh) = cache.into_iter().chain(on_path).find(|p| p.is_file()) {
        return Some(bosh);
    }
    let looked = match cache_dir {
        Some(dir) => format!("not on PATH nor in {}", dir.display()),
        None => "not on PATH".to_string(),
    };
    let required = std::env::var("CI").as_deref() == Ok("true")
        && std::env::var("INJECT_BOSH_CLI").as_deref() != Ok("optional");
    if required {
        panic!("{test}: the bosh CLI is required under CI and is {looked} (scripts/test builds it with scripts/lib/tools.sh)");
    }
    eprintln!("skipping {test}: the bosh CLI is {looked} (scripts/test builds it with scripts/lib/tools.sh)");
    None
}

fn ruby(args: &[&str]) -> Output {
    Command::new("ruby")
        .arg(release_dir().join("test/render.rb"))
        .args(args)
        .output()
        .expect("ruby runs")
}

/// The instance's networks as the director gives them to templates: the
/// seed's VM (IPv4 with the default gateway, IPv6 on a second NIC).
fn seed_networks() -> Value {
    json!({
        "default": {"ip": "10.0.250.10", "gateway": SeedVm::V4_GATEWAY, "netmask": "255.255.255.0",
                    "default": ["dns", "gateway"]},
        "ipv6": {"ip": SeedVm::V6_ADDRESS, "gateway": SeedVm::V6_GATEWAY,
                 "netmask": "ffff:ffff:ffff:ffff::"},
    })
}

/// The properties the ops file gives the job (what an operator deploys).
fn ops_file_properties() -> Value {
    let ops = release_dir().join(OPS_FILE);
    let out = ruby(&["job-properties", ops.to_str().unwrap(), "inject-commands"]);
    assert!(out.status.success(), "{}", all_output(&out));
    serde_json::from_slice(&out.stdout).expect("job properties are JSON")
}

/// Renders the job with `properties` into `out_dir` (BOSH's layout:
/// bin/run, config/commands.yml, …).
fn render(properties: &Value, out_dir: &Path) -> Output {
    std::fs::create_dir_all(out_dir.parent().unwrap()).unwrap();
    let input = out_dir.with_extension("input.json");
    let doc = json!({"properties": properties, "networks": seed_networks()});
    std::fs::write(&input, doc.to_string()).unwrap();
    ruby(&[
        "render",
        job_dir().to_str().unwrap(),
        input.to_str().unwrap(),
        out_dir.to_str().unwrap(),
    ])
}

fn render_ok(properties: &Value, out_dir: &Path) {
    let out = render(properties, out_dir);
    assert!(out.status.success(), "render failed: {}", all_output(&out));
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A copy of the release tree without anything a bosh run in it left behind.
fn release_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("bosh-release");
    let status = Command::new("cp")
        .args([
            "-r",
            release_dir().to_str().unwrap(),
            copy.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    for generated in ["blobs", ".blobs", "dev_releases", ".dev_builds"] {
        let _ = std::fs::remove_dir_all(copy.join(generated));
    }
    copy
}

#[test]
fn bosh_templates_render_scripts_and_a_config_inject_accepts() {
    if !have_tool(
        "bosh_templates_render_scripts_and_a_config_inject_accepts",
        "ruby",
        "-v",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("job");
    let properties = ops_file_properties();
    render_ok(&properties, &out_dir);

    for script in [
        "bin/run",
        "bin/pre-start",
        "bin/post-deploy",
        "bin/inject-tui",
    ] {
        let path = out_dir.join(script);
        let body = std::fs::read_to_string(&path).unwrap();
        assert!(
            body.starts_with("#!/bin/bash\n"),
            "{script} has no shebang:\n{body}"
        );
        assert!(
            body.contains("\nset -eu\n"),
            "{script} lacks `set -eu`:\n{body}"
        );
        assert!(
            body.contains("INJECT_LOG_DIR=/var/vcap/sys/log/inject-commands"),
            "{script} does not log under /var/vcap/sys/log/inject-commands:\n{body}"
        );
        let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(check.status.success(), "{script}: {}", all_output(&check));
    }
    let monit = std::fs::read_to_string(out_dir.join("monit")).unwrap();
    assert!(
        monit.contains("check process inject-ensure"),
        "the ops file's route command is tagged ensure, so monit keeps it:\n{monit}"
    );
    let run = std::fs::read_to_string(out_dir.join("bin/run")).unwrap();
    assert!(
        run.contains("inject run") && run.contains("--phase errand"),
        "{run}"
    );
    assert!(
        !run.contains("--dry-run"),
        "dry_run defaults to false:\n{run}"
    );
    let pre_start = std::fs::read_to_string(out_dir.join("bin/pre-start")).unwrap();
    assert!(pre_start.contains("--phase pre-start"), "{pre_start}");
    assert!(
        pre_start.contains("/usr/local/bin/inject-tui"),
        "pre-start links inject-tui:\n{pre_start}"
    );
    let post_deploy = std::fs::read_to_string(out_dir.join("bin/post-deploy")).unwrap();
    assert!(post_deploy.contains("--phase post-deploy"), "{post_deploy}");
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
    assert_eq!(config["networks"]["ipv6"]["gateway"], SeedVm::V6_GATEWAY);
    assert_eq!(config["networks"]["ipv6"]["ip"], SeedVm::V6_ADDRESS);
    assert_eq!(config["networks"]["default"]["netmask"], "255.255.255.0");

    let check = Command::new(inject())
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
fn bosh_left_out_properties_take_spec_defaults() {
    if !have_tool("bosh_left_out_properties_take_spec_defaults", "ruby", "-v") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("job");
    render_ok(&json!({}), &out_dir);
    let config = read_json(&out_dir.join("config/commands.yml"));
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
    assert_eq!(config["commands"], json!([]));
    let run = std::fs::read_to_string(out_dir.join("bin/run")).unwrap();
    assert!(!run.contains("--dry-run"), "{run}");

    // A value given wins over the default; dry_run makes the errand preview.
    let out_dir = dir.path().join("job2");
    render_ok(&json!({"timeout": "2m", "dry_run": true}), &out_dir);
    assert_eq!(
        read_json(&out_dir.join("config/commands.yml"))["timeout"],
        "2m"
    );
    let run = std::fs::read_to_string(out_dir.join("bin/run")).unwrap();
    assert!(run.contains("--phase errand --dry-run"), "{run}");
    for (script, phase) in [("pre-start", "pre-start"), ("post-deploy", "post-deploy")] {
        let body = std::fs::read_to_string(out_dir.join("bin").join(script)).unwrap();
        assert!(
            body.contains(&format!("--phase {phase} --dry-run")),
            "dry_run must reach bin/{script} too:\n{body}"
        );
    }

    let check = Command::new(inject())
        .args(["check", "-c"])
        .arg(dir.path().join("job/config/commands.yml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "defaults must be valid for inject: {}",
        all_output(&check)
    );
}

#[test]
fn bosh_templates_name_only_declared_properties() {
    if !have_tool("bosh_templates_name_only_declared_properties", "ruby", "-v") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = release_copy(dir.path());

    // Every p() declared and every property documented (create-release
    // checks neither; the director would fail only at deploy).
    let lint = ruby(&["lint", copy.to_str().unwrap()]);
    assert!(lint.status.success(), "release lint: {}", all_output(&lint));

    // The same checks catch a template naming an undeclared property, and
    // rendering it fails as the director's would.
    let template = copy.join("jobs/inject-commands/templates/bin/run.erb");
    let body = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, body.replace("p('dry_run')", "p('dry_runn')")).unwrap();
    let lint = ruby(&["lint", copy.to_str().unwrap()]);
    assert!(!lint.status.success());
    assert!(
        text(&lint.stderr).contains("templates/bin/run.erb uses undeclared property 'dry_runn'"),
        "{}",
        all_output(&lint)
    );
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        json!({"properties": {"dry_runn": true}}).to_string(),
    )
    .unwrap();
    let render = ruby(&[
        "render",
        copy.join("jobs/inject-commands").to_str().unwrap(),
        input.to_str().unwrap(),
        dir.path().join("out").to_str().unwrap(),
    ]);
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
        .args(["add-blob", inject(), "inject/inject-linux-amd64"])
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
            == std::fs::read(inject()).unwrap(),
        "the package's blob is not the binary given to bosh add-blob"
    );
    let job_files = tar_list(&unpacked.join("jobs/inject-commands.tgz"));
    for entry in [
        "job.MF",
        "monit",
        "templates/bin/run.erb",
        "templates/bin/pre-start.erb",
        "templates/bin/post-deploy.erb",
        "templates/bin/inject-tui.erb",
        "templates/config/commands.yml.erb",
    ] {
        assert!(
            job_files.contains(&entry.to_string()),
            "job inject-commands lacks {entry}: {job_files:?}"
        );
    }
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
        .args(["int", "haproxy.yml", "-o", "colocate-inject-commands.yml"])
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
            .args(["int", "haproxy.yml", "-o", "colocate-inject-commands.yml"])
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
    // Replaced (idempotent) unless a default via this very gateway exists.
    assert_eq!(
        field("run"),
        r#"ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE""#
    );
    assert_eq!(
        field("unless"),
        r#"ip -6 route show default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE" | grep -q ."#
    );
    let releases = Command::new(&bosh)
        .current_dir(&manifests)
        .args(["int", "haproxy.yml", "-o", "colocate-inject-commands.yml"])
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
            "haproxy.yml",
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

/// A temporary /var/vcap with the package installed by its own `packaging`
/// script and the job rendered into it; scripts run with it bind-mounted over
/// /var/vcap (and a temporary /usr/local/bin) in a private mount namespace.
struct Vcap {
    dir: tempfile::TempDir,
    _mount_point: MountPoint,
}

impl Vcap {
    fn root(&self) -> PathBuf {
        self.dir.path().join("vcap")
    }

    fn local_bin(&self) -> PathBuf {
        self.dir.path().join("usr-local-bin")
    }

    fn new(properties: &Value) -> Vcap {
        let vcap = Vcap {
            dir: tempfile::tempdir().unwrap(),
            _mount_point: MountPoint::take(),
        };
        std::fs::create_dir_all(vcap.root().join("packages")).unwrap();
        std::fs::create_dir_all(vcap.local_bin()).unwrap();
        // As the agent compiles a package: the blob at its path in a compile
        // dir, `bash packaging` there with BOSH_INSTALL_TARGET set.
        let compile = vcap.dir.path().join("compile");
        std::fs::create_dir_all(compile.join("inject")).unwrap();
        std::fs::copy(inject(), compile.join("inject/inject-linux-amd64")).unwrap();
        let packaging = release_dir().join("packages/inject/packaging");
        let out = vcap.in_namespace(
            None,
            &[
                "sh",
                "-c",
                "cd \"$1\" && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                 BOSH_COMPILE_TARGET=\"$1\" BOSH_INSTALL_TARGET=/var/vcap/packages/inject bash -x \"$2\"",
                "sh",
                compile.to_str().unwrap(),
                packaging.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "packaging: {}", all_output(&out));
        let installed = vcap.root().join("packages/inject/bin/inject");
        assert!(
            installed.is_file(),
            "packaging did not install {}",
            installed.display()
        );
        render_ok(properties, &vcap.root().join("jobs/inject-commands"));
        vcap
    }

    /// Runs `argv` with /var/vcap and /usr/local/bin mounted from this
    /// directory, inside `vm`'s network namespace when given.
    fn in_namespace(&self, vm: Option<&SeedVm>, argv: &[&str]) -> Output {
        let script = "set -e; mount --bind \"$1\" /var/vcap; mount --bind \"$2\" /usr/local/bin; \
                      shift 2; exec \"$@\"";
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
        .arg(self.root())
        .arg(self.local_bin());
        if let Some(vm) = vm {
            cmd.args(["ip", "netns", "exec", &vm.vm]);
        }
        cmd.args(argv).output().expect("unshare runs")
    }

    /// A job script as the agent runs it: root, only the agent's PATH.
    fn run_script(&self, vm: &SeedVm, script: &str) -> Output {
        let path = format!("/var/vcap/jobs/inject-commands/bin/{script}");
        let out = self.in_namespace(Some(vm), &["env", "-i", AGENT_PATH, &path]);
        // More than 1 MB of output fails an errand.
        assert!(
            out.stdout.len() + out.stderr.len() < 1_000_000,
            "{script} printed {} bytes",
            out.stdout.len() + out.stderr.len()
        );
        out
    }

    fn log_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
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
        walk(&self.root().join("sys/log/inject-commands"), &mut found);
        found
    }
}

fn ipv6_default_routes(vm: &SeedVm) -> String {
    vm.ip("-6 route show default")
}

/// The ops file's properties, with its route command for the errand only and
/// one pre-start command that leaves a mark, so each script's phase shows.
fn errand_properties() -> Value {
    let mut properties = ops_file_properties();
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
    if !can_run("bosh_errand_adds_the_ipv6_default_route_from_the_network_gateway") {
        return;
    }
    let vm = SeedVm::new();
    let vcap = Vcap::new(&errand_properties());

    let pre_start = vcap.run_script(&vm, "pre-start");
    assert!(
        pre_start.status.success(),
        "pre-start: {}",
        all_output(&pre_start)
    );
    let mark = std::fs::read_to_string(vcap.root().join("data/pre-start-mark")).unwrap();
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

    let run = vcap.run_script(&vm, "run");
    assert!(run.status.success(), "bin/run: {}", all_output(&run));
    let routes = ipv6_default_routes(&vm);
    assert!(
        routes.starts_with(&format!("default via {} dev eth1", SeedVm::V6_GATEWAY)),
        "no IPv6 default route after the errand: {routes:?}\n{}",
        all_output(&run)
    );
    let logs = vcap.log_files();
    assert!(
        logs.iter().any(|log| std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("ipv6-default-route")),
        "no log of the run under /var/vcap/sys/log/inject-commands: {logs:?}"
    );

    let again = vcap.run_script(&vm, "run");
    assert!(
        again.status.success(),
        "second bin/run: {}",
        all_output(&again)
    );
    assert!(
        all_output(&again).contains("skipped"),
        "second run did not skip: {}",
        all_output(&again)
    );
    assert_eq!(ipv6_default_routes(&vm), routes);

    // A default via another gateway (stale, or from someone else) does not
    // satisfy the guard: the errand replaces it with the network's gateway.
    vm.ip("-6 route replace default via 2001:db8:69f5::2 dev eth1");
    let fix = vcap.run_script(&vm, "run");
    assert!(fix.status.success(), "bin/run: {}", all_output(&fix));
    assert!(
        all_output(&fix).contains("1 command: 1 ok, 0 skipped"),
        "a wrong default satisfied the guard: {}",
        all_output(&fix)
    );
    assert_eq!(
        ipv6_default_routes(&vm),
        routes,
        "the wrong default was not replaced by the one via the network's gateway"
    );
}

#[test]
fn bosh_dry_run_previews_every_hook_and_changes_nothing() {
    if !can_run("bosh_dry_run_previews_every_hook_and_changes_nothing") {
        return;
    }
    let vm = SeedVm::new();
    // The ops file's route command (errand, pre-start, ensure) with
    // manifests/dry-run.yml over it, plus a pre-start command leaving a mark.
    let mut properties = ops_file_properties();
    properties["dry_run"] = json!(true);
    let route = properties["commands"][0].clone();
    properties["commands"].as_array_mut().unwrap().push(json!({
        "name": "pre-start-mark",
        "run": "mkdir -p /var/vcap/data && touch /var/vcap/data/pre-start-mark",
        "phases": ["pre-start"],
    }));
    let vcap = Vcap::new(&properties);

    let monit = std::fs::read_to_string(vcap.root().join("jobs/inject-commands/monit")).unwrap();
    assert_eq!(
        monit.trim(),
        "",
        "dry_run must declare no inject-ensure process:\n{monit}"
    );

    let gateway = format!("INJECT_NET_IPV6_GATEWAY={}", SeedVm::V6_GATEWAY);
    for (script, phase, expected) in [
        (
            "pre-start",
            "pre-start",
            vec!["ipv6-default-route", "pre-start-mark"],
        ),
        ("run", "errand", vec!["ipv6-default-route"]),
        ("post-deploy", "post-deploy", vec![]),
    ] {
        let out = vcap.run_script(&vm, script);
        let output = all_output(&out);
        assert!(out.status.success(), "dry-run bin/{script}: {output}");
        let headline = format!("dry run: {} of 2 commands in phase {phase}", expected.len());
        assert!(output.contains(&headline), "bin/{script}: {output}");
        // What the operator checks before turning dry_run off: the exact
        // command, its guard, and the gateway it resolves to on this VM.
        assert!(output.contains(&gateway), "bin/{script}: {output}");
        for name in &expected {
            assert!(
                output.contains(&format!("] {name}\n")),
                "bin/{script} does not preview {name}: {output}"
            );
        }
        if expected.contains(&"ipv6-default-route") {
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
    }
    assert!(
        !vcap.root().join("data/pre-start-mark").exists(),
        "a dry-run bin/pre-start ran a command"
    );
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
            && parts.next().is_some_and(|m| m.contains(field))
    })
}

#[test]
fn bosh_errand_rejects_bad_properties_with_exit_2() {
    if !can_run("bosh_errand_rejects_bad_properties_with_exit_2") {
        return;
    }
    let vm = SeedVm::new();
    let cases = [
        // A typo'd key inside a command.
        (
            json!({"commands": [{"name": "route", "rnu": "ip -6 route add default via ::1"}]}),
            "rnu",
        ),
        // A wrong type.
        (json!({"stop_on_error": "yes please"}), "stop_on_error"),
        (
            json!({"commands": "ip -6 route add default via ::1"}),
            "commands",
        ),
    ];
    for (properties, field) in cases {
        let vcap = Vcap::new(&properties);
        let run = vcap.run_script(&vm, "run");
        let output = all_output(&run);
        assert_eq!(run.status.code(), Some(2), "{properties}: {output}");
        assert!(
            names_place_and_field(&output, field),
            "{properties}: the error does not name file:line:column and `{field}`: {output}"
        );
        assert_eq!(ipv6_default_routes(&vm), "");
    }
}
