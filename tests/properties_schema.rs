//! `inject schema` and the job's `properties_schema.json`: the file is the
//! command's output (generated from the config types), it is a valid JSON
//! Schema, the release's example manifests and the job spec's defaults and
//! examples satisfy it, and what the binary refuses (a string for dry_run, an
//! unknown key in a command, a wrong type) it refuses too — checked with a
//! real validator (the `jsonschema` crate), as a director does before it
//! renders.

mod common;
use common::INJECT;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn release_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bosh-release")
}

fn schema_file() -> PathBuf {
    release_dir().join("jobs/inject-commands/properties_schema.json")
}

fn inject_schema() -> String {
    let out = Command::new(INJECT).arg("schema").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&inject_schema()).unwrap();
    jsonschema::validator_for(&schema).expect("inject schema prints a valid JSON Schema")
}

fn yaml(path: &Path) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What `inject check` says of a config made of these properties (and the
/// networks of the seed's VM).
fn binary_accepts(properties: &Value) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = properties.clone();
    if config.get("commands").is_none() {
        config["commands"] = json!([]);
    }
    // As the job renders it for the seed's dual-homed VM.
    config["networks"] = json!({
        "default": {"ip": "10.0.250.10", "gateway": "10.0.250.1", "netmask": "255.255.255.0"},
        "ipv6": {"ip": "2001:db8:69f5::10", "gateway": "2001:db8:69f5::1", "netmask": "ffff:ffff:ffff:ffff::"},
    });
    let path = dir.path().join("commands.yml");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = Command::new(INJECT)
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_schema_file_is_what_inject_schema_prints() {
    let committed = std::fs::read_to_string(schema_file()).unwrap();
    assert!(
        committed == inject_schema(),
        "{} is out of date: run `cargo run -- schema > {}`",
        schema_file().display(),
        schema_file().display()
    );
}

#[test]
fn the_examples_and_the_specs_values_satisfy_the_schema() {
    let validator = validator();
    let check = |what: &str, properties: &Value| {
        let errors: Vec<String> = validator
            .iter_errors(properties)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:?}\n{properties:#}");
        assert_eq!(binary_accepts(properties), Ok(()), "{what}");
    };
    let manifests = release_dir().join("manifests");
    let colocate = yaml(&manifests.join("colocate-inject-commands.yml"));
    let job = colocate
        .as_array()
        .unwrap()
        .iter()
        .find(|op| {
            op["path"]
                .as_str()
                .unwrap()
                .contains("/jobs/name=inject-commands")
        })
        .expect("the ops file adds the job");
    let mut properties = job["value"]["properties"].clone();
    check("colocate-inject-commands.yml", &properties);
    let dry_run = yaml(&manifests.join("dry-run.yml"));
    assert!(dry_run[0]["path"].as_str().unwrap().ends_with("/dry_run?"));
    properties["dry_run"] = dry_run[0]["value"].clone();
    check("with dry-run.yml", &properties);
    let standalone = yaml(&manifests.join("inject-standalone.yml"));
    check(
        "inject-standalone.yml",
        &standalone["instance_groups"][0]["jobs"][0]["properties"],
    );

    // The job spec: every property's default and example, and all defaults
    // together (what a manifest that sets nothing gets).
    let spec = yaml(&release_dir().join("jobs/inject-commands/spec"));
    let mut defaults = json!({});
    for (name, definition) in spec["properties"].as_object().unwrap() {
        defaults[name] = definition["default"].clone();
        for key in ["default", "example"] {
            check(
                &format!("spec: {name}'s {key}"),
                &json!({ name.as_str(): definition[key].clone() }),
            );
        }
    }
    check("spec: every default", &defaults);
    // `instance` is in the schema as a config key the job renders from
    // `spec` (name, id, index, az, deployment), not a property to set.
    let mut properties: Vec<String> = spec["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    properties.push("instance".into());
    properties.sort();
    let mut schema_properties = validator_properties();
    schema_properties.sort();
    assert_eq!(
        properties, schema_properties,
        "the spec and the schema name different properties"
    );
}

fn validator_properties() -> Vec<String> {
    let schema: Value = serde_json::from_str(&inject_schema()).unwrap();
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn what_the_binary_refuses_the_schema_refuses() {
    let validator = validator();
    let command = json!({"name": "route", "run": "ip -6 route replace default via ::1"});
    let mut typo = command.clone();
    typo["rnu"] = json!("x");
    let mut bad_phase = command.clone();
    bad_phase["phases"] = json!(["boot"]);
    let mut bad_env = command.clone();
    bad_env["env"] = json!({"A=B": "x"});
    for (properties, place) in [
        // A quoted manifest value or a CredHub variable: a string.
        (json!({"dry_run": "false"}), "/dry_run"),
        // An unknown key inside a command.
        (json!({"commands": [typo]}), "/commands/0"),
        // Wrong types.
        (json!({"stop_on_error": "yes please"}), "/stop_on_error"),
        (
            json!({"commands": "ip -6 route add default via ::1"}),
            "/commands",
        ),
        (json!({"timeout": 30}), "/timeout"),
        (json!({"output_limit": "lots"}), "/output_limit"),
        (json!({"shell": []}), "/shell"),
        (json!({"commands": [bad_phase]}), "/commands/0/phases/0"),
        (json!({"commands": [bad_env]}), "/commands/0/env"),
        // A finding code the inspector does not have.
        (
            json!({"fail_on_findings": ["missing_default"]}),
            "/fail_on_findings/0",
        ),
        (
            json!({"fail_on_findings": "missing_default_route"}),
            "/fail_on_findings",
        ),
        // The identity the job renders: typed, no unknown keys.
        (json!({"instance": {"index": "three"}}), "/instance"),
        (json!({"instance": {"ip": "10.0.0.1"}}), "/instance"),
        // An unknown property (a director would not even pass it on).
        (json!({"dryrun": true}), ""),
    ] {
        let errors: Vec<String> = validator
            .iter_errors(&properties)
            .map(|e| e.instance_path().to_string())
            .collect();
        assert!(
            errors.iter().any(|p| p == place),
            "{properties}: the schema's errors {errors:?} do not point at `{place}`"
        );
        assert!(
            binary_accepts(&properties).is_err(),
            "{properties}: the schema refuses what inject accepts"
        );
    }
}
