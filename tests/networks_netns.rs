//! Networks as BOSH and real stemcells give them, run for real in network
//! namespaces: any network name, IPv4 and IPv6 on one NIC, a link-local
//! gateway, an address the VM lost, a refusing default, a default from
//! router advertisements. Each test runs the real binary inside the VM's
//! namespace and checks what the kernel then does (`ip route get`).

mod common;
use common::{all_output, netns, INJECT};

use std::path::{Path, PathBuf};
use std::process::Output;

use netns::{can_run, SeedVm};
use serde_json::Value;

/// The example config (errands/examples, as the README shows it): networks `default` and `public`, the
/// route command through `$INJECT_IPV6_GATEWAY` and `$INJECT_IPV6_INTERFACE`.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("errands/examples/ipv6-default-route.yml")
}

fn inject(vm: &SeedVm, args: &[&str]) -> Output {
    vm.command(INJECT)
        .args(args)
        .env_remove("INJECT_CONFIG")
        .env_remove("INJECT_LOG_DIR")
        .env_remove("NO_COLOR")
        .output()
        .expect("run inject")
}

fn run_ok(vm: &SeedVm, config: &Path) -> String {
    let out = inject(vm, &["run", "-c", config.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "inject run failed:\n{}",
        all_output(&out)
    );
    all_output(&out)
}

/// `ip -6 route get` of an off-link address inside the VM: what the kernel
/// does with traffic, not what the table says.
fn route_get_v6(vm: &SeedVm) -> Result<String, String> {
    let out = std::process::Command::new("ip")
        .args(["-n", &vm.vm, "-6", "route", "get", "2001:db8:ffff::1"])
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn status_json(vm: &SeedVm, config: Option<&Path>) -> Value {
    let mut args = vec!["status", "--json"];
    if let Some(c) = config {
        args.extend(["-c", c.to_str().unwrap()]);
    }
    let out = inject(vm, &args);
    assert!(out.status.success(), "{}", all_output(&out));
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

fn findings_of<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

/// A config file in a temp dir.
fn config_file(dir: &tempfile::TempDir, yaml: &str) -> PathBuf {
    let path = dir.path().join("commands.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn networks_named_default_and_public_get_the_ipv6_route_from_the_example() {
    if !can_run("networks_named_default_and_public_get_the_ipv6_route_from_the_example") {
        return;
    }
    let vm = SeedVm::new();
    assert!(route_get_v6(&vm).is_err(), "no IPv6 default yet");

    // The dry run shows the values the command will get, looked up now.
    let plan = inject(
        &vm,
        &["run", "--dry-run", "-c", example().to_str().unwrap()],
    );
    let plan = all_output(&plan);
    assert!(
        plan.contains(
            "    network:  INJECT_IPV6_GATEWAY=2001:db8:69f5::1 INJECT_IPV6_INTERFACE=eth1\n"
        ),
        "{plan}"
    );

    let first = run_ok(&vm, &example());
    assert!(first.contains("=> ok"), "{first}");
    assert_eq!(
        vm.ip("-6 route show default").trim(),
        "default via 2001:db8:69f5::1 dev eth1 metric 1024 pref medium"
    );
    let got = route_get_v6(&vm).expect("the kernel routes IPv6 off-link now");
    assert!(got.contains("via 2001:db8:69f5::1 dev eth1"), "{got}");
    // Its guard holds now: the second run changes nothing.
    let again = run_ok(&vm, &example());
    assert!(again.contains("skipped: unless guard exited 0"), "{again}");
}

#[test]
fn ipv4_and_ipv6_on_one_nic_get_the_route_on_that_nic() {
    if !can_run("ipv4_and_ipv6_on_one_nic_get_the_route_on_that_nic") {
        return;
    }
    let vm = SeedVm::one_nic();
    run_ok(&vm, &example());
    assert_eq!(
        vm.ip("-6 route show default").trim(),
        "default via 2001:db8:69f5::1 dev eth0 metric 1024 pref medium"
    );
    assert!(route_get_v6(&vm).unwrap().contains("dev eth0"));
}

#[test]
fn a_link_local_gateway_gets_its_route_with_the_right_device() {
    if !can_run("a_link_local_gateway_gets_its_route_with_the_right_device") {
        return;
    }
    let vm = SeedVm::new();
    vm.peer_ip("-6 addr add fe80::1/64 dev p1 nodad");
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(example()).unwrap();
    let config = config_file(
        &dir,
        &example.replace(r#"gateway: "2001:db8:69f5::1""#, r#"gateway: "fe80::1""#),
    );
    run_ok(&vm, &config);
    assert_eq!(
        vm.ip("-6 route show default").trim(),
        "default via fe80::1 dev eth1 metric 1024 pref medium"
    );
    let got = route_get_v6(&vm).expect("routed via the link-local gateway");
    assert!(got.contains("via fe80::1 dev eth1"), "{got}");
}

/// The VM lost the address BOSH gave its IPv6 network: `inject status`
/// says so (with the NIC and the cause), `--strict` fails, and the plan
/// says why `_INTERFACE` is unset.
#[test]
fn an_ipv6_address_removed_is_expected_address_missing() {
    if !can_run("an_ipv6_address_removed_is_expected_address_missing") {
        return;
    }
    let vm = SeedVm::new();
    vm.wait_for_dad();
    let config = example();
    let before = status_json(&vm, Some(&config));
    assert!(findings_of(&before, "expected_address_missing").is_empty());

    vm.ip("-6 addr del 2001:db8:69f5::10/64 dev eth1");
    let v = status_json(&vm, Some(&config));
    let missing = findings_of(&v, "expected_address_missing");
    assert_eq!(missing.len(), 1, "{}", v["findings"]);
    assert_eq!(missing[0]["severity"], "error");
    assert_eq!(missing[0]["family"], "ipv6");
    // eth1 is the NIC with no global address left: the one that lost it.
    assert_eq!(missing[0]["interface"], "eth1");
    assert_eq!(
        missing[0]["message"],
        "IPv6: network `public` gives this VM 2001:db8:69f5::10/64 on eth1, but no interface holds it: \
         eth1 has lost it (a NIC restart or `ip addr flush` removes addresses; nothing puts them back \
         until the next boot or deploy)"
    );
    assert!(
        missing[0]["hint"]
            .as_str()
            .unwrap()
            .ends_with("Put it back: ip -6 addr add 2001:db8:69f5::10/64 dev eth1"),
        "{}",
        missing[0]
    );
    let strict = inject(&vm, &["status", "--strict", "-c", config.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(1), "{}", all_output(&strict));
    let report = String::from_utf8_lossy(&strict.stdout).to_string();
    println!("inject status, address removed:\n{report}");
    assert!(
        report.starts_with("error: IPv6: network `public` gives this VM"),
        "{report}"
    );

    // Run anyway: the command is told why its device is empty, and fails.
    let run = inject(&vm, &["run", "-c", config.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", all_output(&run));
    assert!(
        all_output(&run).contains("! inject: $INJECT_IPV6_INTERFACE is unset: 2001:db8:69f5::10 (network `public`) is on no interface of this host now\n"),
        "{}",
        all_output(&run)
    );

    let plan = all_output(&inject(
        &vm,
        &["run", "--dry-run", "-c", config.to_str().unwrap()],
    ));
    assert!(
        plan.contains("    unset:    INJECT_IPV6_INTERFACE: 2001:db8:69f5::10 (network `public`) is on no interface of this host now\n"),
        "{plan}"
    );
}

#[test]
fn ipv6_disabled_on_the_nic_is_expected_address_missing_with_the_cause() {
    if !can_run("ipv6_disabled_on_the_nic_is_expected_address_missing_with_the_cause") {
        return;
    }
    let vm = SeedVm::new();
    vm.wait_for_dad();
    vm.sysctl("net.ipv6.conf.eth1.disable_ipv6=1");
    let config = example();
    let out = inject(&vm, &["status", "--strict", "-c", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    println!("inject status, disable_ipv6=1:\n{report}");
    assert!(
        report.starts_with(
            "error: IPv6: network `public` gives this VM 2001:db8:69f5::10/64 on eth1, but no interface holds it: IPv6 is disabled on eth1 (disable_ipv6=1), which removes its IPv6 addresses\n  hint: "
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "Enable it and put the address back: sysctl -w net.ipv6.conf.eth1.disable_ipv6=0 && ip -6 addr add 2001:db8:69f5::10/64 dev eth1\n"
        ),
        "{report}"
    );
}

#[test]
fn an_unreachable_default_with_a_lower_metric_is_default_route_unusable() {
    if !can_run("an_unreachable_default_with_a_lower_metric_is_default_route_unusable") {
        return;
    }
    let vm = SeedVm::new();
    vm.wait_for_dad();
    vm.ip("-6 route add default via 2001:db8:69f5::1 dev eth1 metric 1024");
    assert!(route_get_v6(&vm).is_ok());
    let v = status_json(&vm, None);
    assert_eq!(v["findings"], serde_json::json!([]), "a good default alone");

    vm.ip("-6 route add unreachable default metric 100");
    // What the kernel does: the lowest metric wins, and it refuses.
    let refused = route_get_v6(&vm).expect_err("the unreachable default wins");
    assert!(
        refused.contains("No route to host") || refused.contains("unreachable"),
        "{refused}"
    );
    let v = status_json(&vm, None);
    let unusable = findings_of(&v, "default_route_unusable");
    assert_eq!(unusable.len(), 1, "{}", v["findings"]);
    assert_eq!(unusable[0]["severity"], "error");
    let message = unusable[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "IPv6: the default route the kernel uses is `unreachable default dev lo metric 100`"
        ),
        "{message}"
    );
    assert!(
        message.contains("it hides default via 2001:db8:69f5::1 dev eth1 metric 1024"),
        "{message}"
    );
    assert_eq!(inject(&vm, &["status", "--strict"]).status.code(), Some(1));

    // Behind the good one it is never picked: the kernel routes, no finding.
    vm.ip("-6 route del unreachable default metric 100");
    vm.ip("-6 route add unreachable default metric 2048");
    assert!(route_get_v6(&vm).is_ok());
    let v = status_json(&vm, None);
    assert!(
        findings_of(&v, "default_route_unusable").is_empty(),
        "{}",
        v["findings"]
    );
}

#[test]
fn a_default_from_router_advertisements_is_shown_as_such() {
    if !can_run("a_default_from_router_advertisements_is_shown_as_such") {
        return;
    }
    let vm = SeedVm::new();
    vm.wait_for_dad();
    vm.peer_ip("-6 addr add fe80::1/64 dev p1 nodad");
    // As the kernel (or networkd) installs a router's default.
    vm.ip("-6 route add default via fe80::1 dev eth1 proto ra metric 1024");
    let out = inject(&vm, &["status", "-c", example().to_str().unwrap()]);
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        report.contains(
            "\nIPv6: default via fe80::1 dev eth1 (proto ra: from router advertisements)\n"
        ),
        "{report}"
    );
    // The config says another gateway: a warning, not a silent replacement.
    assert!(
        report.starts_with("warning: IPv6: the default via fe80::1 dev eth1 comes from router advertisements (proto ra), not via network `public`'s gateway 2001:db8:69f5::1"),
        "{report}"
    );
    assert_eq!(
        inject(
            &vm,
            &["status", "--strict", "-c", example().to_str().unwrap()]
        )
        .status
        .code(),
        Some(0)
    );
}

#[test]
fn a_variable_no_network_provides_stops_the_run_before_anything_runs() {
    if !can_run("a_variable_no_network_provides_stops_the_run_before_anything_runs") {
        return;
    }
    let vm = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    // The ops file of old: a network named `ipv6`, which no manifest has.
    let config = config_file(
        &dir,
        r#"commands:
  - name: first
    run: ip -6 route replace default via 2001:db8:69f5::1 dev eth1
  - name: old-route
    run: ip -6 route replace default via "$INJECT_NET_IPV6_GATEWAY"
networks:
  default: {ip: "10.0.250.10", gateway: "10.0.250.1", netmask: "255.255.255.0"}
  public: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
"#,
    );
    for args in [vec!["check"], vec!["run"]] {
        let mut argv = args.clone();
        argv.extend(["-c", config.to_str().unwrap()]);
        let out = inject(&vm, &argv);
        assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(":5:44: commands[1].run: command `old-route` uses $INJECT_NET_IPV6_GATEWAY, which the networks do not provide: no network of that name (networks: default (IPv4), public (IPv6)); for the IPv6 network's value, whatever it is called, use $INJECT_IPV6_GATEWAY"),
            "{err}"
        );
    }
    assert_eq!(vm.ip("-6 route show default"), "", "nothing ran");
}

/// `_INTERFACE` is looked up when each command starts: a command after the
/// one that puts the address back sees its NIC.
#[test]
fn interface_is_looked_up_when_each_command_starts() {
    if !can_run("interface_is_looked_up_when_each_command_starts") {
        return;
    }
    let vm = SeedVm::new();
    vm.ip("-6 addr del 2001:db8:69f5::10/64 dev eth1");
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let config = config_file(
        &dir,
        &format!(
            r#"commands:
  - name: before
    run: echo "before=${{INJECT_IPV6_INTERFACE:-unset}}" >> {seen}
  - name: readd
    run: ip -6 addr add "$INJECT_IPV6_IP/$INJECT_IPV6_PREFIX" dev eth1 nodad
  - name: after
    run: echo "after=$INJECT_IPV6_INTERFACE $INJECT_NET_PUBLIC_FAMILY $INJECT_IPV6_NETWORK" >> {seen}
networks:
  public: {{ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}}
"#,
            seen = seen.display()
        ),
    );
    run_ok(&vm, &config);
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        "before=unset\nafter=eth1 ipv6 public\n"
    );
}
