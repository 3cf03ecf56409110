//! Which configured command `inject status` (and so the dashboard's `f`)
//! offers for which finding, on real kernels' tables in a namespace that
//! reproduces the seed's VM: a command is offered only for a finding it
//! fixes, never because it shares a gateway or an interface with it.

mod common;
use common::{netns, INJECT};

use netns::{can_run, SeedVm};
use serde_json::Value;

/// The seed's config: a default-route command per family, and a look.
const CONFIG: &str = r#"
commands:
  - name: ipv4-default-route
    run: ip route replace default via "$INJECT_IPV4_GATEWAY" dev "$INJECT_IPV4_INTERFACE"
  - name: ipv6-default-route
    run: ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE"
    unless: ip -6 route show default via "$INJECT_IPV6_GATEWAY" | grep -q .
  - name: show-routes
    run: ip route show; ip -6 route show dev "$INJECT_IPV6_INTERFACE"
networks:
  default: {ip: "10.0.250.10", gateway: "10.0.250.1", netmask: "255.255.255.0"}
  public: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
"#;

/// `inject status --json -c <config>` in the VM: (code, hint) per finding.
fn findings(vm: &SeedVm, config: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commands.yml");
    std::fs::write(&path, config).unwrap();
    let out = vm
        .command(INJECT)
        .args(["status", "--json", "-c"])
        .arg(&path)
        .env_remove("INJECT_CONFIG")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["hint"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The findings that offer a configured command, as (code, hint).
fn offers(found: &[(String, String)]) -> Vec<&(String, String)> {
    found
        .iter()
        .filter(|(_, hint)| hint.contains("The config's command"))
        .collect()
}

#[test]
fn a_missing_ipv6_default_is_offered_the_command_that_adds_one_and_only_that() {
    if !can_run("a_missing_ipv6_default_is_offered_the_command_that_adds_one_and_only_that") {
        return;
    }
    let vm = SeedVm::new();
    let found = findings(&vm, CONFIG);
    let offered = offers(&found);
    assert_eq!(offered.len(), 1, "{found:?}");
    assert_eq!(offered[0].0, "missing_default_route");
    assert!(
        offered[0]
            .1
            .contains("inject run --only ipv6-default-route"),
        "{found:?}"
    );
    assert!(!offered[0].1.contains("show-routes"), "{found:?}");
}

#[test]
fn a_lost_ipv6_address_is_offered_no_route_command() {
    if !can_run("a_lost_ipv6_address_is_offered_no_route_command") {
        return;
    }
    let vm = SeedVm::new();
    vm.ip("-6 addr del 2001:db8:69f5::10/64 dev eth1");
    let found = findings(&vm, CONFIG);
    assert!(
        found.iter().any(|(c, _)| c == "expected_address_missing"),
        "{found:?}"
    );
    // The route command would fail (`Cannot find device ""`): no offer.
    assert!(offers(&found).is_empty(), "{found:?}");
}

#[test]
fn a_route_whose_gateway_is_off_link_is_offered_no_default_route_command() {
    if !can_run("a_route_whose_gateway_is_off_link_is_offered_no_default_route_command") {
        return;
    }
    let vm = SeedVm::new();
    vm.ip("-6 route add default via 2001:db8:69f5::1 dev eth1");
    vm.ip("route add 192.0.2.0/24 via 10.0.9.9 dev eth0 onlink");
    let found = findings(&vm, CONFIG);
    assert!(
        found.iter().any(|(c, _)| c == "gateway_not_on_link"),
        "{found:?}"
    );
    assert!(offers(&found).is_empty(), "{found:?}");
    // Unless the config says the command fixes it.
    let declared = CONFIG.replace(
        "  - name: show-routes\n",
        "  - name: drop-stray\n    run: ip route del 192.0.2.0/24\n    fixes: [gateway_not_on_link]\n  - name: show-routes\n",
    );
    let found = findings(&vm, &declared);
    let offered = offers(&found);
    assert_eq!(offered.len(), 1, "{found:?}");
    assert_eq!(offered[0].0, "gateway_not_on_link");
    assert!(offered[0].1.contains("--only drop-stray"), "{found:?}");
}

#[test]
fn a_nic_without_carrier_is_offered_no_route_command() {
    if !can_run("a_nic_without_carrier_is_offered_no_route_command") {
        return;
    }
    let vm = SeedVm::new();
    // The cable is out: the peer's end goes down, eth1 has no carrier.
    vm.peer_ip("link set p1 down");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !vm.ip("link show dev eth1").contains("NO-CARRIER") {
        assert!(
            std::time::Instant::now() < deadline,
            "eth1 kept its carrier"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let found = findings(&vm, CONFIG);
    assert!(offers(&found).is_empty(), "{found:?}");
}

#[test]
fn an_unreachable_default_shadowing_a_good_one_is_offered_no_route_command() {
    if !can_run("an_unreachable_default_shadowing_a_good_one_is_offered_no_route_command") {
        return;
    }
    let vm = SeedVm::new();
    vm.ip("-6 route add default via 2001:db8:69f5::1 dev eth1");
    vm.ip("-6 route add unreachable default metric 1");
    let found = findings(&vm, CONFIG);
    assert!(
        found.iter().any(|(c, _)| c == "default_route_unusable"),
        "{found:?}"
    );
    // Replacing the default route leaves the unreachable one in front.
    assert!(offers(&found).is_empty(), "{found:?}");
}
