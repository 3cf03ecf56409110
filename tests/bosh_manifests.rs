//! The ops files, cloud config and runtime config of bosh-release/manifests,
//! interpolated by the real bosh CLI onto manifests shaped like the public
//! ones they are for (written here: nothing is downloaded): upstream
//! haproxy-boshrelease's manifests/haproxy.yml, and cf-deployment with its
//! operations/use-haproxy.yml. The job's commands are then checked by
//! `inject check` with the networks those manifests give the instance.

// Shared by several test crates; each uses a part of it.
mod common;
use common::{bosh, INJECT};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bosh-release/manifests")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bosh-release/test/fixtures")
}

/// Upstream haproxy-boshrelease manifests/haproxy.yml's shape: one group
/// `haproxy` on one network `default` (no `default:` list), a bpm addon,
/// releases with url and sha1, variables for the backends.
const UPSTREAM_HAPROXY: &str = r#"---
name: haproxy
addons:
- name: bpm
  jobs:
  - name: bpm
    release: bpm
instance_groups:
- name: haproxy
  azs: [z1]
  instances: 1
  vm_type: default
  stemcell: default
  networks: [{name: default}]
  jobs:
  - name: haproxy
    release: haproxy
    properties:
      ha_proxy:
        backend_port: ((haproxy-backend-port))
        backend_servers: ((haproxy-backend-servers))
update:
  canaries: 1
  max_in_flight: 1
  canary_watch_time: 1000-30000
  update_watch_time: 1000-30000
  serial: false
stemcells:
- alias: default
  os: ubuntu-jammy
  version: latest
releases:
- name: bpm
  version: 1.0.0
  url: https://example.invalid/bpm-release-1.0.0.tgz
  sha1: 42b95d4a0d6d15dd0b0ead62418ffb56208e2307
- name: haproxy
  version: 9.4.0
  url: https://example.invalid/haproxy-9.4.0.tgz
  sha1: e873611c1c24a0044130319c3b2799b7068ff734
"#;

/// cf-deployment's shape, as far as its haproxy ops file touches it.
const CF_DEPLOYMENT: &str = r#"---
name: cf
instance_groups:
- name: router
  azs: [z1]
  instances: 1
  vm_type: minimal
  vm_extensions: [cf-router-network-properties]
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: gorouter, release: routing}]
- name: tcp-router
  azs: [z1]
  instances: 1
  vm_type: minimal
  vm_extensions: [cf-tcp-router-network-properties]
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: tcp_router, release: routing}]
- name: scheduler
  azs: [z1]
  instances: 1
  vm_type: minimal
  vm_extensions: [diego-ssh-proxy-network-properties]
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: ssh_proxy, release: diego}]
- name: smoke-tests
  lifecycle: errand
  azs: [z1]
  instances: 1
  vm_type: minimal
  stemcell: default
  networks: [{name: default}]
  jobs: [{name: smoke_tests, release: cf-smoke-tests}]
releases:
- {name: routing, version: "0.1"}
- {name: diego, version: "2.1"}
- {name: cf-smoke-tests, version: "42.0"}
stemcells:
- {alias: default, os: ubuntu-jammy, version: latest}
update: {canaries: 1, max_in_flight: 1, canary_watch_time: 1000-30000, update_watch_time: 1000-30000}
variables: []
"#;

/// cf-deployment's operations/use-haproxy.yml's shape: the group inserted
/// before smoke-tests, on `default` with a static IP.
const USE_HAPROXY: &str = r#"- type: replace
  path: /releases/-
  value: {name: haproxy, version: 11.12.0, url: https://example.invalid/haproxy.tgz, sha1: 472d18b22708275662821d8608de5b0d2ae03d00}
- type: remove
  path: /instance_groups/name=router/vm_extensions
- type: remove
  path: /instance_groups/name=tcp-router/vm_extensions
- type: remove
  path: /instance_groups/name=scheduler/vm_extensions
- type: replace
  path: /instance_groups/name=smoke-tests:before
  value:
    azs: [z1]
    instances: 1
    jobs:
    - name: haproxy
      release: haproxy
      properties:
        ha_proxy: {backend_port: 443, backend_ssl: verify, tcp_link_port: 2222}
    name: haproxy
    networks:
    - name: default
      static_ips: [((haproxy_private_ip))]
    stemcell: default
    vm_type: minimal
"#;

struct Bosh {
    cli: PathBuf,
    dir: tempfile::TempDir,
}

impl Bosh {
    fn new(test: &str) -> Option<Bosh> {
        let cli = bosh::bosh_cli(test)?;
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("upstream-haproxy.yml", UPSTREAM_HAPROXY),
            ("cf-deployment.yml", CF_DEPLOYMENT),
            ("use-haproxy.yml", USE_HAPROXY),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Some(Bosh { cli, dir })
    }

    /// `bosh int BASE -o OPS… [--path PATH]` as JSON (through `bosh int`'s
    /// YAML, which serde_json cannot read: converted by `ruby`, which the
    /// tests have anyway).
    fn int(&self, base: &str, ops: &[&str], extra: &[&str]) -> String {
        let mut cmd = Command::new(&self.cli);
        cmd.arg("int").arg(self.path(base));
        for o in ops {
            cmd.arg("-o").arg(self.path(o));
        }
        let out = cmd.args(extra).output().expect("run bosh int");
        assert!(
            out.status.success(),
            "bosh int {base} {ops:?} {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        let mine = self.dir.path().join(name);
        if mine.exists() {
            mine
        } else if name == "haproxy.yml" {
            // The release's test fixture (never a deploy step's manifest).
            fixtures().join(name)
        } else {
            manifests().join(name)
        }
    }

    fn json(&self, base: &str, ops: &[&str], extra: &[&str]) -> Value {
        let yaml = self.int(base, ops, extra);
        let file = self.dir.path().join("int.yml");
        std::fs::write(&file, yaml).unwrap();
        let out = Command::new("ruby")
            .args([
                "-ryaml",
                "-rjson",
                "-e",
                "puts JSON.generate(YAML.load_file(ARGV[0]))",
            ])
            .arg(&file)
            .output()
            .expect("ruby runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `inject check` of the job's properties with `networks` as the
    /// director renders them for the instance.
    fn check(&self, commands: &Value, networks: Value) -> (bool, String) {
        let config = self.dir.path().join("commands.json");
        std::fs::write(
            &config,
            json!({"commands": commands, "networks": networks}).to_string(),
        )
        .unwrap();
        let out = Command::new(INJECT)
            .args(["check", "-c"])
            .arg(&config)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

fn group<'a>(manifest: &'a Value, name: &str) -> &'a Value {
    manifest["instance_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no instance group {name}"))
}

/// The networks the director gives a dual-stack haproxy instance: the
/// operator's `default` and cloud-config-ipv6.yml's `default-ipv6`.
fn dual_stack_networks() -> Value {
    json!({
        "default": {"ip": "10.0.250.10", "gateway": "10.0.250.1", "netmask": "255.255.255.0", "prefix": "32"},
        "default-ipv6": {"ip": "2001:db8:69f5::10", "gateway": "2001:db8:69f5::1",
                         "netmask": "ffff:ffff:ffff:ffff::", "prefix": "128"},
    })
}

/// What the ops files must make of a group that was on `default` alone.
fn assert_dual_stack_with_inject(m: &Value, bosh: &Bosh) {
    let haproxy = group(m, "haproxy");
    // `default` keeps what the base manifest gave it (a static IP in
    // cf-deployment) and becomes the default gateway's network.
    let mut want = json!([
        {"name": "default", "default": ["dns", "gateway"]},
        {"name": "default-ipv6"},
    ]);
    if let Some(ips) = haproxy["networks"][0].get("static_ips") {
        want[0]["static_ips"] = ips.clone();
    }
    assert_eq!(haproxy["networks"], want);
    let jobs: Vec<&Value> = haproxy["jobs"].as_array().unwrap().iter().collect();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(
        jobs[0]["name"], "haproxy",
        "the group's own job stays first"
    );
    assert_eq!(jobs[1]["name"], "inject-commands");
    assert_eq!(jobs[1]["release"], "inject");
    assert!(m["releases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "inject" && r["version"] == "latest"));
    let commands = &jobs[1]["properties"]["commands"];
    assert_eq!(
        commands[0]["run"],
        r#"ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE""#
    );
    assert_eq!(
        commands[0]["unless"],
        "ip -6 route get 2000::1 >/dev/null 2>&1"
    );
    // The instance's networks as the director renders them: the command's
    // variables all exist, whatever the networks are called.
    let (ok, out) = bosh.check(commands, dual_stack_networks());
    assert!(ok, "{out}");
    // Without the IPv6 network (the ops file left out), inject says so at
    // check and pre-start instead of running with an empty gateway.
    let (ok, out) = bosh.check(
        commands,
        json!({"default": {"ip": "10.0.250.10", "gateway": "10.0.250.1", "netmask": "255.255.255.0"}}),
    );
    assert!(!ok);
    assert!(
        out.contains("uses $INJECT_IPV6_GATEWAY, which the networks do not provide: no network of the config is IPv6 (networks: default (IPv4))"),
        "{out}"
    );
}

#[test]
fn ops_files_apply_to_upstream_haproxy_manifest() {
    let Some(bosh) = Bosh::new("ops_files_apply_to_upstream_haproxy_manifest") else {
        return;
    };
    let ops = ["add-ipv6-network.yml", "colocate-inject-commands.yml"];
    let m = bosh.json("upstream-haproxy.yml", &ops, &[]);
    assert_dual_stack_with_inject(&m, &bosh);
    // Ours is the same shape.
    let ours = bosh.json("haproxy.yml", &ops, &[]);
    assert_dual_stack_with_inject(&ours, &bosh);
    // The colocation alone onto a group that already has its two networks.
    let m = bosh.json("upstream-haproxy.yml", &["add-ipv6-network.yml"], &[]);
    std::fs::write(
        bosh.dir.path().join("dual.yml"),
        serde_json::to_string(&m).unwrap(),
    )
    .unwrap();
    let again = bosh.json("dual.yml", &["colocate-inject-commands.yml"], &[]);
    assert_dual_stack_with_inject(&again, &bosh);
    // The ops files again onto what the director gives back after that
    // deploy (`bosh -d haproxy manifest`, which has the job already): the
    // same manifest, with the job once.
    std::fs::write(
        bosh.dir.path().join("deployed.yml"),
        serde_json::to_string(&again).unwrap(),
    )
    .unwrap();
    let redeployed = bosh.json("deployed.yml", &ops, &[]);
    assert_eq!(redeployed, again);
}

#[test]
fn ops_files_apply_to_cf_deployment_with_its_haproxy_ops_file() {
    let Some(bosh) = Bosh::new("ops_files_apply_to_cf_deployment_with_its_haproxy_ops_file") else {
        return;
    };
    let m = bosh.json(
        "cf-deployment.yml",
        &[
            "use-haproxy.yml",
            "add-ipv6-network.yml",
            "colocate-inject-commands.yml",
        ],
        &[],
    );
    assert_dual_stack_with_inject(&m, &bosh);
    let names: Vec<&str> = m["instance_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "router",
            "tcp-router",
            "scheduler",
            "haproxy",
            "smoke-tests"
        ]
    );
    // Nothing but the haproxy group changed.
    assert_eq!(
        group(&m, "router")["networks"],
        json!([{"name": "default"}])
    );
    assert!(group(&m, "router")["jobs"].as_array().unwrap().len() == 1);
}

#[test]
fn the_cloud_config_adds_only_the_ipv6_network_the_ops_files_name() {
    let Some(bosh) = Bosh::new("the_cloud_config_adds_only_the_ipv6_network_the_ops_files_name")
    else {
        return;
    };
    // A named cloud config, merged with the operator's: it holds the one
    // network and nothing that would shadow theirs (azs, vm_types,
    // compilation, the IPv4 network).
    let cloud = bosh.json("cloud-config-ipv6.yml", &[], &[]);
    let keys: Vec<&String> = cloud.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["networks"]);
    let nets = cloud["networks"].as_array().unwrap();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0]["name"], "default-ipv6");
    assert_eq!(nets[0]["subnets"][0]["range"], "2001:db8:69f5::/64");
    assert_eq!(nets[0]["subnets"][0]["gateway"], "2001:db8:69f5::1");
    // The networks the ops file puts the group on: the operator's own
    // `default`, and this one.
    let m = bosh.json("upstream-haproxy.yml", &["add-ipv6-network.yml"], &[]);
    let names: Vec<&Value> = group(&m, "haproxy")["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["name"])
        .collect();
    assert_eq!(names, ["default", "default-ipv6"]);
}

#[test]
fn the_runtime_config_puts_the_job_on_the_deployments_ipv6_vms() {
    let Some(bosh) = Bosh::new("the_runtime_config_puts_the_job_on_the_deployments_ipv6_vms")
    else {
        return;
    };
    let rc = bosh.json(
        "runtime-config-inject.yml",
        &[],
        &["-v", "inject_version=0.1.0", "--var-errs"],
    );
    assert_eq!(
        rc["releases"],
        json!([{"name": "inject", "version": "0.1.0"}])
    );
    let addon = &rc["addons"][0];
    assert_eq!(
        addon["include"],
        json!({"deployments": ["haproxy"], "networks": ["default-ipv6"]})
    );
    // A group that has the job already (from the ops file) gets no second
    // one: the director would refuse the deploy.
    assert_eq!(
        addon["exclude"],
        json!({"jobs": [{"name": "inject-commands", "release": "inject"}]})
    );
    assert_eq!(
        addon["jobs"][0]["properties"]["commands"][0]["unless"],
        "ip -6 route get 2000::1 >/dev/null 2>&1"
    );
    assert_eq!(addon["jobs"][0]["name"], "inject-commands");
    let (ok, out) = bosh.check(
        &addon["jobs"][0]["properties"]["commands"],
        dual_stack_networks(),
    );
    assert!(ok, "{out}");
}

/// The job's config template, rendered by bosh-cli's renderer (the Go
/// harness) with the networks a newer director gives (with `prefix`, as a
/// string) and a `bosh create-env` placeholder: the rendered config passes
/// `prefix` through and `inject check` accepts it.
#[test]
fn the_template_passes_the_directors_prefix_through() {
    let Some(bosh) = bosh::Bosh::get("the_template_passes_the_directors_prefix_through") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut networks = dual_stack_networks();
    networks["placeholder"] = json!({"ip": "", "gateway": "", "netmask": ""});
    let commands = json!([{
        "name": "ipv6-default-route",
        "run": "ip -6 route replace default via \"$INJECT_IPV6_GATEWAY\" dev \"$INJECT_IPV6_INTERFACE\"",
    }]);
    let out_dir = dir.path().join("job");
    bosh.render_ok(&json!({"commands": commands}), Some(&networks), &out_dir);
    let config = out_dir.join("config/commands.yml");
    let rendered: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(rendered["networks"]["default-ipv6"]["prefix"], "128");
    assert_eq!(rendered["networks"]["default"]["prefix"], "32");
    let check = Command::new(INJECT)
        .args(["check", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The `bosh …` commands an operator is told to type: the lines inside
/// code blocks of docs/deploy.md (first: the deploy steps) and of the
/// README's tour, and the `#   bosh …` comment lines of the manifests
/// (continuation lines joined).
fn deploy_steps() -> Vec<(String, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let code_lines = |doc: &str| {
        let text = std::fs::read_to_string(root.join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
        let mut lines = Vec::new();
        let mut in_code = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
            } else if in_code {
                lines.push(line.to_string());
            }
        }
        (doc.to_string(), lines)
    };
    let mut sources = vec![code_lines("docs/deploy.md"), code_lines("README.md")];
    for entry in std::fs::read_dir(manifests()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text
            .lines()
            .filter_map(|l| l.strip_prefix("#   "))
            .map(str::to_string)
            .collect();
        sources.push((path.display().to_string(), lines));
    }
    sources
        .into_iter()
        .map(|(name, lines)| {
            let mut commands: Vec<String> = Vec::new();
            let mut joining = false;
            for line in lines {
                let line = line.trim();
                if joining {
                    commands
                        .last_mut()
                        .unwrap()
                        .push_str(line.trim_end_matches('\\'));
                } else if line.starts_with("bosh ") {
                    commands.push(line.trim_end_matches('\\').to_string());
                }
                joining = line.ends_with('\\') && !commands.is_empty();
            }
            (name, commands)
        })
        .collect()
}

/// No step replaces what the operator has: configs are named, and a deploy
/// is of the manifest the director gave back (`bosh -d D manifest > F`),
/// or of a deployment of inject's own.
#[test]
fn deploy_steps_only_add_to_what_the_operator_has() {
    let sources = deploy_steps();
    let readme = &sources[0].1;
    assert!(
        readme
            .iter()
            .any(|c| c.contains("update-config --type cloud --name inject-ipv6"))
            && readme
                .iter()
                .any(|c| c.contains("update-config --type runtime --name inject"))
            && readme
                .iter()
                .any(|c| c.starts_with("bosh -d haproxy manifest > "))
            && readme
                .iter()
                .any(|c| c.starts_with("bosh -d cf manifest > ")),
        "docs/deploy.md lacks a step: {readme:#?}"
    );
    for (name, commands) in &sources {
        let mut downloaded: Vec<(String, String)> = Vec::new();
        for command in commands {
            let words: Vec<&str> = command.split_whitespace().collect();
            assert!(
                !words.contains(&"update-cloud-config")
                    && !words.contains(&"update-runtime-config"),
                "{name}: `{command}` replaces the director's default config"
            );
            if words.contains(&"update-config") {
                assert!(
                    words.contains(&"--name"),
                    "{name}: `{command}` has no --name"
                );
            }
            if let ["bosh", "-d", deployment, "manifest", ">", file] = words[..] {
                downloaded.push((deployment.to_string(), file.to_string()));
            }
            if let ["bosh", "-d", deployment, "deploy", file, ..] = words[..] {
                let own = file.ends_with("inject-standalone.yml") && deployment == "inject";
                assert!(
                    own || downloaded.contains(&(deployment.to_string(), file.to_string())),
                    "{name}: `{command}` deploys {file}, not the manifest `bosh -d {deployment} manifest` gave"
                );
            }
        }
    }
}
