//! BOSH's own code for the release's tests: the bosh CLI (built by
//! scripts/lib/tools.sh) makes the release tarball, and the Go harness in
//! `tests/bosh/` reads it with bosh-cli's release reader, renders the job
//! with bosh-cli's ERB renderer, compiles and installs it with bosh-agent's
//! compiler and appliers, and sends bosh-agent's actions (run_errand,
//! run_script, drain, get_task, cancel_task) through the agent's JSON
//! handler with its 1 MiB reply limit. Everything that touches /var/vcap
//! runs in a private mount namespace over a temporary directory, inside the
//! seed VM's network namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::netns::SeedVm;
use super::vcap_mount::MountPoint;
pub use super::{all_output, text};

pub fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bosh-release")
}

/// Whether a missing bosh CLI, Go or Ruby fails the test: under CI (see
/// [`super::under_ci`]) unless INJECT_BOSH_CLI=optional, the documented
/// opt-out for CI images without them.
fn required_under_ci() -> bool {
    super::under_ci() && std::env::var("INJECT_BOSH_CLI").as_deref() != Ok("optional")
}

/// [`super::skip`] with the opt-out: skips `test` for `why`, printed, or
/// fails it when BOSH's tools are required.
fn skip(test: &str, why: &str) {
    if required_under_ci() {
        panic!("{test}: must run under CI, and cannot: {why}");
    }
    eprintln!("skipping {test}: {why}");
}

/// The bosh CLI: on PATH or where scripts/lib/tools.sh caches it. Under CI it
/// is required unless INJECT_BOSH_CLI=optional.
pub fn bosh_cli(test: &str) -> Option<PathBuf> {
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
    skip(
        test,
        &format!("the bosh CLI is {looked} (scripts/test builds it with scripts/lib/tools.sh)"),
    );
    None
}

/// A scratch directory for this test process under cargo's target dir
/// (what must outlive one test: the harness binary, the release tarball).
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bosh-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Go harness, built once per test process from `tests/bosh` with the
/// module versions its go.mod pins (Go's build cache makes it quick after
/// the first time). Under CI a missing Go or a failed build fails the test;
/// elsewhere the test skips, saying why.
pub fn harness(test: &str) -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        // Built beside, then renamed over the last one: another test process
        // may be running that one (the rename leaves it alone).
        let out = scratch().join("bosh-harness");
        let building = scratch().join(format!("bosh-harness.{}", std::process::id()));
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bosh");
        let build = Command::new("go")
            .current_dir(&source)
            .args(["build", "-trimpath", "-o"])
            .arg(&building)
            .arg(".")
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .output();
        match build {
            Err(err) => Err(format!(
                "`go` does not run ({err}); scripts/test needs Go for the BOSH harness"
            )),
            Ok(o) if !o.status.success() => {
                Err(format!("go build in tests/bosh failed: {}", all_output(&o)))
            }
            Ok(_) => std::fs::rename(&building, &out)
                .map(|()| out)
                .map_err(|e| format!("renaming the harness into place: {e}")),
        }
    });
    match built {
        Ok(path) => Some(path.clone()),
        Err(why) => {
            skip(test, why);
            None
        }
    }
}

/// A copy of the release tree without anything a bosh run in it left behind.
pub fn release_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("bosh-release");
    let status = Command::new("cp")
        .args(["-r"])
        .arg(release_dir())
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    for generated in ["blobs", ".blobs", "dev_releases", ".dev_builds"] {
        let _ = std::fs::remove_dir_all(copy.join(generated));
    }
    copy
}

/// `bosh add-blob BLOB` and `bosh create-release --tarball` in a copy of
/// `release` (the tree is left alone); returns the tarball.
pub fn create_release(bosh: &Path, release: &Path, blob: &Path, tarball: &Path) {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("release");
    let status = Command::new("cp")
        .arg("-r")
        .arg(release)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    for generated in ["blobs", ".blobs", "dev_releases", ".dev_builds"] {
        let _ = std::fs::remove_dir_all(copy.join(generated));
    }
    let add = Command::new(bosh)
        .current_dir(&copy)
        .arg("add-blob")
        .arg(blob)
        .arg("inject/inject-linux-amd64")
        .output()
        .unwrap();
    assert!(add.status.success(), "bosh add-blob: {}", all_output(&add));
    let create = Command::new(bosh)
        .current_dir(&copy)
        .args(["create-release", "--force", "--tarball"])
        .arg(tarball)
        .output()
        .unwrap();
    assert!(
        create.status.success(),
        "bosh create-release: {}",
        all_output(&create)
    );
}

/// BOSH's tools for a test: the CLI, the harness and the release tarball
/// (made once per test process from this tree, with this build's binary).
pub struct Bosh {
    pub cli: PathBuf,
    pub harness: PathBuf,
    pub tarball: PathBuf,
}

impl Bosh {
    pub fn get(test: &str) -> Option<Bosh> {
        // bosh-cli's ERB renderer runs `ruby` with its own script.
        if Command::new("ruby").arg("-v").output().is_err() {
            skip(test, "`ruby` is not installed (scripts/test installs it)");
            return None;
        }
        let cli = bosh_cli(test)?;
        let harness = harness(test)?;
        static TARBALL: OnceLock<PathBuf> = OnceLock::new();
        let tarball = TARBALL
            .get_or_init(|| {
                // One per test crate, made beside and renamed into place.
                let tarball = scratch().join(format!("inject-{}.tgz", env!("CARGO_CRATE_NAME")));
                let making = scratch().join(format!("inject.{}.tgz", std::process::id()));
                // The test build without its debug info (93 MB → 12 MB): the
                // agent compresses, hashes and unpacks it for every install.
                let stripped = scratch().join(format!("inject-{}", std::process::id()));
                let blob = match Command::new("strip")
                    .arg("-o")
                    .arg(&stripped)
                    .arg(super::INJECT)
                    .status()
                {
                    Ok(status) if status.success() => stripped.clone(),
                    _ => PathBuf::from(super::INJECT),
                };
                create_release(&cli, &release_dir(), &blob, &making);
                let _ = std::fs::remove_file(&stripped);
                std::fs::rename(&making, &tarball).unwrap();
                tarball
            })
            .clone();
        Some(Bosh {
            cli,
            harness,
            tarball,
        })
    }

    /// Renders the job with bosh-cli's renderer into `out`: with the
    /// instance's `networks` as a director gives them, or without (None)
    /// exactly as `bosh create-env` does.
    pub fn render(&self, properties: &Value, networks: Option<&Value>, out: &Path) -> Output {
        render_with(&self.harness, &self.tarball, properties, networks, out)
    }

    pub fn render_ok(&self, properties: &Value, networks: Option<&Value>, out: &Path) {
        let rendered = self.render(properties, networks, out);
        assert!(
            rendered.status.success(),
            "rendering failed: {}",
            all_output(&rendered)
        );
    }
}

pub fn render_with(
    harness: &Path,
    tarball: &Path,
    properties: &Value,
    networks: Option<&Value>,
    out: &Path,
) -> Output {
    let inputs = tempfile::tempdir().unwrap();
    let properties_file = inputs.path().join("properties.json");
    std::fs::write(&properties_file, properties.to_string()).unwrap();
    let mut cmd = Command::new(harness);
    cmd.arg("render")
        .arg("-release")
        .arg(tarball)
        .args(["-job", "inject-commands", "-properties"])
        .arg(&properties_file)
        .arg("-out")
        .arg(out);
    if let Some(networks) = networks {
        let networks_file = inputs.path().join("networks.json");
        std::fs::write(&networks_file, networks.to_string()).unwrap();
        cmd.arg("-networks").arg(&networks_file);
    }
    cmd.output().expect("the harness runs")
}

/// The instance's networks as the director gives them to templates: the
/// seed's VM (IPv4 with the default gateway, IPv6 on a second NIC).
pub fn seed_networks() -> Value {
    json!({
        "default": {"ip": "10.0.250.10", "gateway": SeedVm::V4_GATEWAY, "netmask": "255.255.255.0",
                    "default": ["dns", "gateway"]},
        "ipv6": {"ip": SeedVm::V6_ADDRESS, "gateway": SeedVm::V6_GATEWAY,
                 "netmask": "ffff:ffff:ffff:ffff::"},
    })
}

/// What the agent replied, and its size in bytes.
pub struct Reply {
    pub json: Value,
    pub bytes: usize,
    pub stderr: String,
}

impl Reply {
    /// run_errand's result: (exit code, stdout, stderr).
    pub fn errand(&self) -> (i64, String, String) {
        let value = &self.json["value"];
        let (Some(code), Some(stdout), Some(stderr)) = (
            value["exit_code"].as_i64(),
            value["stdout"].as_str(),
            value["stderr"].as_str(),
        ) else {
            panic!("not an errand result: {}", self.json);
        };
        (code, stdout.to_string(), stderr.to_string())
    }

    /// The agent's exception message, if the reply is one.
    pub fn exception(&self) -> Option<&str> {
        self.json["exception"]["message"].as_str()
    }
}

/// An instance's /var/vcap, made by the agent's own code: the release's
/// package compiled and installed, the rendered job applied. Everything runs
/// with it bind-mounted over /var/vcap (and a temporary /usr/local/bin, and
/// an /etc/group that has the stemcell's `vcap` group for the agent's
/// chown) in a private mount namespace.
pub struct Vcap {
    dir: tempfile::TempDir,
    _mount_point: MountPoint,
}

impl Vcap {
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("vcap")
    }

    pub fn local_bin(&self) -> PathBuf {
        self.dir.path().join("usr-local-bin")
    }

    fn group_file(&self) -> PathBuf {
        self.dir.path().join("group")
    }

    /// Renders the job with `properties` (and `networks`, None for
    /// create-env's) and installs it as the agent does.
    pub fn install(bosh: &Bosh, properties: &Value, networks: Option<&Value>) -> Vcap {
        let vcap = Vcap {
            dir: tempfile::tempdir().unwrap(),
            _mount_point: MountPoint::take(),
        };
        std::fs::create_dir_all(vcap.root()).unwrap();
        std::fs::create_dir_all(vcap.local_bin()).unwrap();
        let mut group = std::fs::read_to_string("/etc/group").unwrap_or_default();
        if !group.lines().any(|l| l.starts_with("vcap:")) {
            let taken: Vec<u32> = group
                .lines()
                .filter_map(|l| l.split(':').nth(2)?.parse().ok())
                .collect();
            let gid = (60000..65000).find(|g| !taken.contains(g)).unwrap();
            if !group.is_empty() && !group.ends_with('\n') {
                group.push('\n');
            }
            group.push_str(&format!("vcap:x:{gid}:\n"));
        }
        std::fs::write(vcap.group_file(), group).unwrap();
        vcap.apply(bosh, properties, networks);
        vcap
    }

    /// Renders the job again with `properties` and applies it over this
    /// instance's /var/vcap, as the next deploy's agent does (the job's
    /// link moves to the new rendering; logs and data stay).
    pub fn apply(&self, bosh: &Bosh, properties: &Value, networks: Option<&Value>) {
        let rendered = self.dir.path().join("rendered");
        let _ = std::fs::remove_dir_all(&rendered);
        bosh.render_ok(properties, networks, &rendered);
        let argv = [
            bosh.harness.to_str().unwrap(),
            "install",
            "-release",
            bosh.tarball.to_str().unwrap(),
            "-job",
            "inject-commands",
            "-rendered",
            rendered.to_str().unwrap(),
        ];
        let out = self.in_namespace(None, &argv);
        assert!(out.status.success(), "install: {}", all_output(&out));
    }

    /// Runs `argv` with /var/vcap, /usr/local/bin and /etc/group mounted
    /// from this directory, inside `vm`'s network namespace when given, with
    /// the environment the agent runs under (root, a bare PATH).
    pub fn in_namespace(&self, vm: Option<&SeedVm>, argv: &[&str]) -> Output {
        self.command(vm, argv).output().expect("unshare runs")
    }

    pub fn command(&self, vm: Option<&SeedVm>, argv: &[&str]) -> Command {
        let script = "set -e; mount --bind \"$1\" /var/vcap; mount --bind \"$2\" /usr/local/bin; \
                      mount --bind \"$3\" /etc/group; shift 3; exec \"$@\"";
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
        .arg(self.local_bin())
        .arg(self.group_file());
        if let Some(vm) = vm {
            cmd.args(["ip", "netns", "exec", &vm.vm]);
        }
        cmd.args(["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
        cmd.args(argv);
        cmd
    }

    /// Sends `action` (run_errand, run_script, drain) to the agent's action
    /// dispatcher; returns the reply to the last get_task.
    pub fn agent(&self, bosh: &Bosh, vm: &SeedVm, args: &[&str]) -> Reply {
        let mut argv = vec![bosh.harness.to_str().unwrap(), "agent"];
        argv.extend_from_slice(args);
        let out = self.in_namespace(Some(vm), &argv);
        reply_of(&out)
    }

    /// The agent's run_script action for a hook (`pre-start`, `post-stop`…),
    /// with `env` as `NAME=value` pairs the director would send; the reply
    /// must be success (`{"value": {}}`), else the test fails naming `what`.
    pub fn hook_ok(&self, bosh: &Bosh, vm: &SeedVm, script: &str, env: &[&str], what: &str) {
        let mut args = vec!["-action", "run_script", "-script", script];
        for pair in env {
            args.extend(["-env", pair]);
        }
        let reply = self.agent(bosh, vm, &args);
        assert_eq!(
            reply.json,
            json!({"value": {}}),
            "{what}: {script}: {}",
            reply.stderr
        );
    }

    /// The agent's drain action; the reply must be `{"value": 0}` (the
    /// script printed nothing on stdout but the 0), else the test fails
    /// naming `what`.
    pub fn drain_ok(&self, bosh: &Bosh, vm: &SeedVm, what: &str) {
        let reply = self.agent(bosh, vm, &["-action", "drain"]);
        assert_eq!(
            reply.json,
            json!({"value": 0}),
            "{what}: drain: {}",
            reply.stderr
        );
    }

    /// Where `path` (relative to /var/vcap) is seen from outside the
    /// namespace: the agent's links (jobs/NAME → /var/vcap/data/jobs/…)
    /// are absolute, so they are followed into this directory.
    pub fn host_path(&self, path: &str) -> PathBuf {
        let mut at = self.root();
        for part in Path::new(path).components() {
            at.push(part);
            if let Ok(target) = std::fs::read_link(&at) {
                at = match target.strip_prefix("/var/vcap") {
                    Ok(inside) => self.root().join(inside),
                    Err(_) => at.parent().unwrap().join(target),
                };
            }
        }
        at
    }

    /// A file's text (empty when it does not exist).
    pub fn file(&self, path: &str) -> String {
        std::fs::read_to_string(self.host_path(path)).unwrap_or_default()
    }
}

pub fn reply_of(out: &Output) -> Reply {
    assert!(
        out.status.success(),
        "the harness failed: {}",
        all_output(out)
    );
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the agent's reply is not JSON ({e}): {}", all_output(out)));
    Reply {
        json,
        bytes: out.stdout.len(),
        stderr: text(&out.stderr),
    }
}
