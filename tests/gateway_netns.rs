//! Whether a default's gateway answers at the link layer, for real in
//! network namespaces: `inject status` reads the kernel's neighbour entry,
//! `--probe` makes the kernel resolve the gateway first.

mod common;
use common::{netns, INJECT};

use std::process::Output;

use netns::{can_run, SeedVm};
use serde_json::Value;

fn status(seed: &SeedVm, args: &[&str]) -> Output {
    seed.command(INJECT)
        .arg("status")
        .args(args)
        .env_remove("INJECT_CONFIG")
        .env("NO_COLOR", "1")
        .output()
        .expect("run inject status")
}

fn json(seed: &SeedVm, args: &[&str]) -> Value {
    let out = status(seed, &[&["--json"], args].concat());
    assert!(
        out.status.success(),
        "status --json failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

/// The state `status --json` gives the gateway (`null`: no entry).
fn state_of(v: &Value, gateway: &str) -> Value {
    v["gateways"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gateway"] == gateway)
        .unwrap_or_else(|| panic!("no gateway {gateway} in {}", v["gateways"]))["state"]
        .clone()
}

fn unreachable(v: &Value) -> Vec<&Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "default_gateway_unreachable")
        .collect()
}

#[test]
fn a_gateway_that_exists_answers_the_probe_in_both_families() {
    if !can_run("a_gateway_that_exists_answers_the_probe_in_both_families") {
        return;
    }
    let seed = SeedVm::new();
    seed.ip("-6 route add default via 2001:db8:69f5::1 dev eth1");
    let v = json(&seed, &["--probe"]);
    assert_eq!(state_of(&v, "10.0.250.1"), "REACHABLE", "{}", v["gateways"]);
    assert_eq!(state_of(&v, "2001:db8:69f5::1"), "REACHABLE");
    assert!(unreachable(&v).is_empty());
    let text = String::from_utf8(status(&seed, &[]).stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "IPv4: gateway 10.0.250.1 on eth0: REACHABLE (answers ARP)"),
        "{text}"
    );
}

#[test]
fn a_gateway_nobody_answers_for_is_an_error_once_probed() {
    if !can_run("a_gateway_nobody_answers_for_is_an_error_once_probed") {
        return;
    }
    let seed = SeedVm::new();
    seed.ip("route replace default via 10.0.250.99 dev eth0");
    // Nothing was sent to it yet: no entry, no verdict.
    let v = json(&seed, &[]);
    assert_eq!(state_of(&v, "10.0.250.99"), Value::Null);
    assert!(unreachable(&v).is_empty());

    let v = json(&seed, &["--probe"]);
    assert_eq!(state_of(&v, "10.0.250.99"), "FAILED");
    let found = unreachable(&v);
    assert_eq!(found.len(), 1, "{}", v["findings"]);
    assert_eq!(found[0]["severity"], "error");
    assert_eq!(found[0]["interface"], "eth0");
    assert!(found[0]["hint"]
        .as_str()
        .unwrap()
        .contains("ip neigh show 10.0.250.99 dev eth0"));

    // The kernel keeps the verdict: a plain run reports it, and --strict
    // fails on it.
    let out = status(&seed, &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with(
            "error: IPv4: the default route's gateway 10.0.250.99 does not answer on eth0"
        )),
        "{text}"
    );
    assert!(text.contains("IPv4: gateway 10.0.250.99 on eth0: FAILED (does not answer ARP)"));
}

#[test]
fn a_gateway_that_stops_answering_is_found_failed_by_the_next_probe() {
    if !can_run("a_gateway_that_stops_answering_is_found_failed_by_the_next_probe") {
        return;
    }
    let seed = SeedVm::new();
    assert_eq!(
        state_of(&json(&seed, &["--probe"]), "10.0.250.1"),
        "REACHABLE"
    );
    seed.peer_ip("addr del 10.0.250.1/24 dev p0");
    let v = json(&seed, &["--probe"]);
    assert_eq!(state_of(&v, "10.0.250.1"), "FAILED", "{}", v["gateways"]);
    assert_eq!(unreachable(&v).len(), 1);
    // And back: the router answers again.
    seed.peer_ip("addr add 10.0.250.1/24 dev p0");
    let v = json(&seed, &["--probe"]);
    assert_eq!(state_of(&v, "10.0.250.1"), "REACHABLE");
    assert!(unreachable(&v).is_empty());
}
