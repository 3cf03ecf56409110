//! Findings, text and JSON views on the fixture snapshots: what an operator
//! would read for each situation.

use crate::findings::{
    family_status, findings, findings_with, Code, Expected, FamilyState, Severity,
};
use crate::fixtures;
use crate::model::{Family, Snapshot};
use crate::text::{interface_line, render, route_line};
use crate::{json, Finding};

fn codes(found: &[Finding]) -> Vec<(Code, Option<Family>)> {
    found.iter().map(|f| (f.code, f.family)).collect()
}

fn only(found: &[Finding], code: Code) -> &Finding {
    let matching: Vec<&Finding> = found.iter().filter(|f| f.code == code).collect();
    assert_eq!(matching.len(), 1, "expected one {code}: {found:#?}");
    matching[0]
}

#[test]
fn seed_vm_misses_exactly_the_ipv6_default() {
    let found = findings(&fixtures::seed_vm());
    assert_eq!(
        codes(&found),
        vec![(Code::MissingDefaultRoute, Some(Family::Ipv6))]
    );
    let f = &found[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.interface.as_deref(), Some("eth1"));
    assert!(
        f.message
            .starts_with("IPv6: no default route — eth1 has global address 2001:db8:69f5::10/64"),
        "{}",
        f.message
    );
    let hint = f.hint.as_deref().unwrap();
    assert!(
        hint.contains("accept_ra=0, as BOSH stemcells ship"),
        "{hint}"
    );
    // Without a known gateway the command has a placeholder.
    assert!(
        hint.contains("ip -6 route add default via <gateway> dev eth1"),
        "{hint}"
    );
}

#[test]
fn a_known_gateway_completes_the_hints_command() {
    let gateways = [
        "10.0.250.1".parse().unwrap(),
        "2001:db8:69f5::1".parse().unwrap(),
    ];
    let found = findings_with(&fixtures::seed_vm(), &Expected::with_gateways(&gateways));
    let hint = only(&found, Code::MissingDefaultRoute)
        .hint
        .clone()
        .unwrap();
    assert!(
        hint.ends_with("Add it: ip -6 route add default via 2001:db8:69f5::1 dev eth1"),
        "{hint}"
    );
}

#[test]
fn a_gateway_outside_every_prefix_is_not_offered() {
    let gateways = ["2001:db8:ffff::1".parse().unwrap()];
    let found = findings_with(&fixtures::seed_vm(), &Expected::with_gateways(&gateways));
    let hint = only(&found, Code::MissingDefaultRoute)
        .hint
        .clone()
        .unwrap();
    assert!(hint.contains("via <gateway> dev eth1"), "{hint}");
}

#[test]
fn seed_vm_fixed_has_no_findings() {
    assert_eq!(findings(&fixtures::seed_vm_fixed()), vec![]);
}

#[test]
fn dual_stack_ipv6_only_and_ecmp_are_fine() {
    for (name, snapshot) in [
        ("dual_stack_ok", fixtures::dual_stack_ok()),
        ("ipv6_only", fixtures::ipv6_only()),
        ("ecmp_default", fixtures::ecmp_default()),
    ] {
        assert_eq!(findings(&snapshot), vec![], "{name}");
    }
}

#[test]
fn ipv6_only_reports_ipv4_as_unconfigured_not_missing() {
    let s = fixtures::ipv6_only();
    assert_eq!(
        family_status(&s, Family::Ipv4).state,
        FamilyState::Unconfigured
    );
    assert_eq!(
        family_status(&s, Family::Ipv6).to_string(),
        "IPv6: default via fe80::1 dev eth0 (proto ra: from router advertisements)"
    );
}

#[test]
fn a_default_in_another_table_does_not_count_but_is_mentioned() {
    let found = findings(&fixtures::default_in_other_table());
    let f = only(&found, Code::MissingDefaultRoute);
    assert_eq!(f.family, Some(Family::Ipv6));
    assert!(
        f.hint
            .as_deref()
            .unwrap()
            .starts_with("A default route exists in table 100"),
        "{:?}",
        f.hint
    );
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn link_local_only_ipv6_needs_no_default() {
    let s = fixtures::link_local_only_ipv6();
    assert_eq!(findings(&s), vec![]);
    assert_eq!(
        family_status(&s, Family::Ipv6).to_string(),
        "IPv6: no global address"
    );
}

#[test]
fn a_default_through_a_down_interface_is_an_error() {
    let found = findings(&fixtures::down_interface());
    let f = only(&found, Code::DefaultRouteViaDownInterface);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.interface.as_deref(), Some("eth1"));
    assert_eq!(
        f.message,
        "IPv4: the default route via 10.0.251.1 goes out eth1, which is LOWERLAYERDOWN"
    );
    // eth0 is up with a global address and there is a default: nothing missing.
    assert!(found.iter().all(|f| f.code != Code::MissingDefaultRoute));
    // …but the family's one-line status must not call it fine.
    let status = family_status(&fixtures::down_interface(), Family::Ipv4);
    assert_eq!(status.state, FamilyState::Down);
    assert_eq!(
        status.text,
        "IPv4: no usable default route (default via 10.0.251.1 dev eth1 is down)"
    );
}

#[test]
fn a_down_default_beside_a_working_one_is_a_warning() {
    let mut s = fixtures::down_interface();
    s.routes.push(fixtures::default_route(
        "10.0.250.1",
        2,
        super::Protocol::BOOT,
        Some(200),
    ));
    let found = findings(&s);
    let f = only(&found, Code::DefaultRouteViaDownInterface);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.interface.as_deref(), Some("eth1"));
    // The status names the default that works, though the down one's metric
    // (none, i.e. 0) is lower.
    assert_eq!(
        family_status(&s, Family::Ipv4).to_string(),
        "IPv4: default via 10.0.250.1 dev eth0"
    );
}

#[test]
fn no_addresses_no_findings() {
    let s = fixtures::no_addresses();
    assert_eq!(findings(&s), vec![]);
    for family in Family::BOTH {
        assert_eq!(family_status(&s, family).state, FamilyState::Unconfigured);
    }
}

#[test]
fn duplicate_defaults_with_the_same_metric_are_a_warning() {
    let mut s = fixtures::seed_vm_fixed();
    let mut second = fixtures::default_route("10.0.250.2", 2, super::Protocol::BOOT, None);
    second.metric = None;
    s.routes.push(second);
    let found = findings(&s);
    let f = only(&found, Code::DuplicateDefaultRoutes);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.message,
        "IPv4: 2 default routes with the same no metric (via 10.0.250.1 dev eth0; via 10.0.250.2 dev eth0); the kernel uses only one of them"
    );
}

/// The seed's VM with `default from <prefix> via 2001:db8:69f5::1 dev eth1`.
fn seed_vm_with_source_default(prefix: &str) -> Snapshot {
    let mut s = fixtures::seed_vm();
    let mut r = fixtures::default_route("2001:db8:69f5::1", 3, super::Protocol::BOOT, Some(1024));
    r.source = Some(prefix.parse().unwrap());
    s.routes.push(r);
    s
}

#[test]
fn a_source_default_for_the_nics_own_prefix_counts_as_its_default() {
    let s = seed_vm_with_source_default("2001:db8:69f5::/64");
    assert_eq!(
        findings(&s),
        vec![],
        "eth1's address is inside the source prefix"
    );
    let status = family_status(&s, Family::Ipv6);
    assert_eq!(status.state, FamilyState::Ok);
    assert_eq!(
        status.text,
        "IPv6: default from 2001:db8:69f5::/64 via 2001:db8:69f5::1 dev eth1"
    );
    // Beside a default for every source with the same metric: two routes
    // for different traffic, not duplicates; the status names the general one.
    let mut both = s.clone();
    both.routes.push(fixtures::default_route(
        "2001:db8:69f5::1",
        3,
        super::Protocol::BOOT,
        Some(1024),
    ));
    assert_eq!(findings(&both), vec![]);
    assert_eq!(
        family_status(&both, Family::Ipv6).text,
        "IPv6: default via 2001:db8:69f5::1 dev eth1"
    );
    let mut same = both.clone();
    same.routes.push(both.routes.last().unwrap().clone());
    only(&findings(&same), Code::DuplicateDefaultRoutes);
}

#[test]
fn a_source_default_for_another_prefix_leaves_the_default_missing() {
    let s = seed_vm_with_source_default("2001:db8:1::/64");
    let found = findings(&s);
    let f = only(&found, Code::MissingDefaultRoute);
    assert_eq!(f.family, Some(Family::Ipv6));
    assert_eq!(
        f.message,
        "IPv6: no default route — eth1 has global address 2001:db8:69f5::10/64, but the main table's IPv6 default routes serve other traffic only (default from 2001:db8:1::/64), so only on-link destinations are reachable"
    );
    assert_eq!(family_status(&s, Family::Ipv6).state, FamilyState::Missing);
    // An IPv4 default that only serves one TOS serves no ordinary traffic.
    let mut t = fixtures::seed_vm_fixed();
    for r in t
        .routes
        .iter_mut()
        .filter(|r| r.family == Family::Ipv4 && r.is_default())
    {
        r.tos = 0x10;
    }
    let f = only(&findings(&t), Code::MissingDefaultRoute).clone();
    assert_eq!(f.family, Some(Family::Ipv4));
    assert!(f.message.contains("(default tos 0x10)"), "{}", f.message);
}

#[test]
fn a_gateway_in_no_connected_prefix_is_flagged() {
    let mut s = fixtures::seed_vm_fixed();
    s.routes.push(fixtures::default_route(
        "2001:db8:aaaa::1",
        3,
        super::Protocol::STATIC,
        Some(2048),
    ));
    let found = findings(&s);
    let f = only(&found, Code::GatewayNotOnLink);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.message,
        "IPv6: gateway 2001:db8:aaaa::1 of route default is in no connected prefix on eth1"
    );
    // Link-local gateways with a device are on-link by definition.
    assert!(findings(&fixtures::dual_stack_ok()).is_empty());
}

#[test]
fn dadfailed_and_tentative_addresses() {
    let mut s = fixtures::seed_vm_fixed();
    s.addresses[4].flags = vec!["tentative".into(), "dadfailed".into()];
    s.addresses[5].flags = vec!["tentative".into()];
    let found = findings(&s);
    let dad = only(&found, Code::AddressDadfailed);
    assert_eq!(dad.severity, Severity::Error);
    assert!(dad.message.contains(&format!(
        "address {}/{} on eth1 failed duplicate address detection",
        s.addresses[4].address, s.addresses[4].prefix_len
    )));
    assert_eq!(
        only(&found, Code::AddressTentative).severity,
        Severity::Warning
    );
    // Errors first.
    assert_eq!(found[0].code, Code::AddressDadfailed);
}

fn line_of(s: &Snapshot, pred: impl Fn(&super::Route) -> bool) -> String {
    route_line(s.routes.iter().find(|r| pred(r)).unwrap(), s)
}

#[test]
fn route_lines_read_like_iproute2() {
    let s = fixtures::seed_vm_fixed();
    assert_eq!(
        line_of(&s, |r| r.family == Family::Ipv4 && r.is_default()),
        "default via 10.0.250.1 dev eth0"
    );
    assert_eq!(
        line_of(&s, |r| r.family == Family::Ipv4 && !r.is_default()),
        "10.0.250.0/24 dev eth0 proto kernel scope link src 10.0.250.10"
    );
    assert_eq!(
        line_of(&s, |r| r.family == Family::Ipv6 && r.is_default()),
        "default via 2001:db8:69f5::1 dev eth1 proto static metric 1024"
    );
    assert_eq!(
        line_of(&s, |r| r.destination.to_string() == "2001:db8:69f5::/64"),
        "2001:db8:69f5::/64 dev eth1 proto kernel metric 256"
    );
    let e = fixtures::ecmp_default();
    assert_eq!(
        line_of(&e, |r| r.is_default()),
        "default proto ra metric 1024 nexthop via fe80::1 dev eth0 weight 1 nexthop via fe80::2 dev eth0 weight 1"
    );
    let t = fixtures::default_in_other_table();
    assert_eq!(
        line_of(&t, |r| r.table == 100),
        "default via 2001:db8:69f5::1 dev eth1 table 100 metric 1024"
    );
}

#[test]
fn interface_lines_read_like_ip_br() {
    let s = fixtures::seed_vm();
    let lines: Vec<String> = s.links.iter().map(|l| interface_line(l, &s)).collect();
    assert_eq!(
        lines,
        vec![
            "lo               UNKNOWN        127.0.0.1/8 ::1/128",
            "eth0             UP             10.0.250.10/24 fe80::2/64",
            "eth1             UP             2001:db8:69f5::10/64 fe80::3/64",
        ]
    );
}

#[test]
fn text_report_puts_findings_first_then_interfaces_then_routes() {
    let s = fixtures::seed_vm();
    let text = render(&s, &findings(&s), false);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("error: IPv6: no default route — "),
        "{text}"
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(at("IPv4: default via 10.0.250.1 dev eth0\n") < at("\nInterfaces\n"));
    assert!(at("\nInterfaces\n") < at("\nIPv4 routes\n"));
    assert!(at("\nIPv4 routes\n") < at("\ndefault via 10.0.250.1 dev eth0\n"));
    assert!(at("\ndefault via 10.0.250.1 dev eth0\n") < at("\nIPv6 routes\n"));
    assert!(!text.contains('\x1b'), "no colour unless asked");
    assert!(render(&s, &findings(&s), true).contains("\x1b["));
}

#[test]
fn json_follows_the_documented_schema() {
    let s = fixtures::seed_vm();
    let found = findings(&s);
    let v: serde_json::Value = serde_json::from_str(&json::to_string(&s, &found)).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["findings", "gateways", "interfaces", "routes"]);
    assert_eq!(
        v["gateways"],
        serde_json::json!([{"family": "ipv4", "gateway": "10.0.250.1",
            "interface": "eth0", "state": null}])
    );
    let eth1 = &v["interfaces"][2];
    assert_eq!(
        keys(eth1),
        ["addresses", "flags", "index", "mac", "mtu", "name", "state"]
    );
    assert_eq!(eth1["name"], "eth1");
    assert_eq!(
        eth1["addresses"][0],
        serde_json::json!({"family": "ipv6", "address": "2001:db8:69f5::10",
            "prefix_len": 64, "scope": "global", "flags": ["permanent"]})
    );
    let default4 = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["destination"] == "default")
        .unwrap();
    assert_eq!(
        *default4,
        serde_json::json!({"family": "ipv4", "destination": "default", "source": null,
            "tos": 0, "gateway": "10.0.250.1",
            "interface": "eth0", "metric": null, "protocol": "boot", "scope": "global",
            "table": 254, "nexthops": []})
    );
    assert_eq!(
        keys(&v["findings"][0]),
        ["code", "family", "hint", "interface", "message", "severity"]
    );
    assert_eq!(v["findings"][0]["code"], "missing_default_route");
    assert_eq!(v["findings"][0]["family"], "ipv6");
    assert_eq!(v["findings"][0]["severity"], "error");
    let connected = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["family"] == "ipv4" && r["destination"] != "default")
        .unwrap();
    assert_eq!(connected["destination"], "10.0.250.0/24");
}

#[test]
fn json_multipath_routes_list_their_next_hops() {
    let s = fixtures::ecmp_default();
    let v: serde_json::Value = serde_json::from_str(&json::to_string(&s, &[])).unwrap();
    let ecmp = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["destination"] == "default")
        .unwrap();
    assert_eq!(ecmp["gateway"], serde_json::Value::Null);
    assert_eq!(
        ecmp["nexthops"],
        serde_json::json!([
            {"gateway": "fe80::1", "interface": "eth0", "weight": 1},
            {"gateway": "fe80::2", "interface": "eth0", "weight": 1}
        ])
    );
}

#[test]
fn many_routes_generates_what_it_says() {
    let s = fixtures::many_routes(4, 1000);
    let statics = s
        .routes
        .iter()
        .filter(|r| r.protocol == super::Protocol::STATIC)
        .count();
    // 1000 generated routes plus the IPv6 default (the IPv4 one is proto boot).
    assert_eq!(statics, 1001);
    assert_eq!(findings(&s), vec![]);
    let mut dests: Vec<String> = s.routes.iter().map(|r| r.destination.to_string()).collect();
    dests.sort();
    dests.dedup();
    assert_eq!(dests.len(), s.routes.len(), "destinations are distinct");
}

#[test]
fn report_and_watch_say_no_problems_the_same_way() {
    use super::text::{findings_text, NO_PROBLEMS};
    let s = fixtures::seed_vm_fixed();
    let text = render(&s, &findings(&s), false);
    assert_eq!(text.lines().next(), Some("findings: no problems found"));
    assert_eq!(findings_text(&[], true), format!("{NO_PROBLEMS}\n"));
    // Colour is plain SGR: bold red for an error, reset after.
    let s = fixtures::seed_vm();
    let coloured = findings_text(&findings(&s), true);
    assert!(
        coloured.starts_with("\x1b[1;31merror\x1b[0m: IPv6: no default route"),
        "{coloured:?}"
    );
}

/// The seed's config: IPv4 `default` and IPv6 `public`, and the route command.
fn seed_expected() -> Expected {
    let config = inject_errands::config::parse(
        r#"
commands:
  - name: ipv6-default-route
    run: ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE"
    unless: ip -6 route show default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE" | grep -q .
networks:
  default: {ip: 10.0.250.10, gateway: 10.0.250.1, netmask: 255.255.255.0}
  public: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
"#,
        "t.yml",
    )
    .unwrap();
    Expected::from_config(&config)
}

#[test]
fn the_missing_default_names_the_configured_command_that_adds_it() {
    let found = findings_with(&fixtures::seed_vm(), &seed_expected());
    let hint = only(&found, Code::MissingDefaultRoute)
        .hint
        .clone()
        .unwrap();
    assert!(
        hint.ends_with("The config's command ipv6-default-route does this; run: inject run --only ipv6-default-route"),
        "{hint}"
    );
}

#[test]
fn an_address_the_config_expects_and_no_interface_holds_is_an_error_with_its_cause() {
    let mut s = fixtures::seed_vm();
    s.addresses
        .retain(|a| a.address.to_string() != "2001:db8:69f5::10");
    s.disable_ipv6.insert("eth1".into(), 1);
    s.disable_ipv6.insert("eth0".into(), 0);
    let found = findings_with(&s, &seed_expected());
    let f = only(&found, Code::ExpectedAddressMissing);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.interface.as_deref(), Some("eth1"));
    assert_eq!(
        f.message,
        "IPv6: network `public` gives this VM 2001:db8:69f5::10/64 on eth1, but no interface holds it: IPv6 is disabled on eth1 (disable_ipv6=1), which removes its IPv6 addresses"
    );
    assert!(
        f.hint.as_deref().unwrap().ends_with(
            "Enable it and put the address back: sysctl -w net.ipv6.conf.eth1.disable_ipv6=0 && ip -6 addr add 2001:db8:69f5::10/64 dev eth1"
        ),
        "{f:?}"
    );
    // Without a config, nothing is expected.
    assert!(findings(&s)
        .iter()
        .all(|f| f.code != Code::ExpectedAddressMissing));
}

#[test]
fn networkd_files_say_which_nic_and_what_applies() {
    let mut s = fixtures::seed_vm();
    s.networkd.insert(
        "eth1".into(),
        crate::NetworkdFile {
            path: "/etc/systemd/network/10_eth1.network".into(),
            addresses: vec!["2001:db8:69f5::10/64".into()],
            gateways: vec![],
            ipv6_accept_ra: Some(true),
        },
    );
    let found = findings_with(&s, &seed_expected());
    let hint = only(&found, Code::MissingDefaultRoute)
        .hint
        .clone()
        .unwrap();
    assert!(
        hint.starts_with("systemd-networkd configures eth1 (/etc/systemd/network/10_eth1.network). It has IPv6AcceptRA=true, so networkd itself (not the kernel: accept_ra=0 is expected)"),
        "{hint}"
    );
    assert!(
        hint.contains("BOSH writes one only for the network with `default: [gateway]`"),
        "{hint}"
    );
    assert!(!hint.contains("Router advertisements are off"), "{hint}");
    assert!(
        hint.contains("`networkctl reconfigure` removes routes networkd did not make (ManageForeignRoutes=yes, its default)")
            && hint.contains("a command tagged `ensure` keeps it"),
        "{hint}"
    );

    // The address lost: the file names its NIC (here no other clue would).
    s.addresses
        .retain(|a| a.address.to_string() != "2001:db8:69f5::10");
    let found = findings_with(&s, &seed_expected());
    let f = only(&found, Code::ExpectedAddressMissing);
    assert_eq!(f.interface.as_deref(), Some("eth1"));
    assert!(f.message.ends_with("eth1 has lost it (a NIC restart or `ip addr flush` removes addresses; systemd-networkd, which configures it, puts the address back only when the link next goes down and up or on `networkctl reconfigure`, and never a route it did not make)"), "{}", f.message);
    let hint = f.hint.as_deref().unwrap();
    assert!(
        hint.contains("`networkctl reconfigure eth1` applies that file again, and also removes every route on eth1 networkd did not make (ManageForeignRoutes=yes, its default)"),
        "{f:?}"
    );
    assert!(
        hint.contains("a command tagged `ensure` is what puts such a route back"),
        "{hint}"
    );
}

fn reject_default(kind: crate::RouteKind, metric: u32) -> crate::Route {
    let mut r = fixtures::default_route("2001:db8:69f5::1", 1, crate::Protocol::BOOT, Some(metric));
    r.gateway = None;
    r.kind = kind;
    r
}

#[test]
fn an_unreachable_default_with_a_lower_metric_hides_the_good_one() {
    let mut s = fixtures::seed_vm_fixed();
    s.routes
        .push(reject_default(crate::RouteKind::UNREACHABLE, 100));
    let found = findings_with(&s, &Expected::default());
    let f = only(&found, Code::DefaultRouteUnusable);
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.message.starts_with(
            "IPv6: the default route the kernel uses is `unreachable default dev lo metric 100`"
        ),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("it hides default via 2001:db8:69f5::1 dev eth1"),
        "{}",
        f.message
    );
    assert_eq!(
        f.hint.as_deref(),
        Some("Delete it if nothing needs it: ip -6 route del unreachable default metric 100")
    );
    assert_eq!(family_status(&s, Family::Ipv6).state, FamilyState::Down);
    // Behind the good one (a higher metric) it is never used: no finding.
    let mut s = fixtures::seed_vm_fixed();
    s.routes
        .push(reject_default(crate::RouteKind::BLACKHOLE, 2048));
    assert!(findings(&s)
        .iter()
        .all(|f| f.code != Code::DefaultRouteUnusable));
    assert_eq!(family_status(&s, Family::Ipv6).state, FamilyState::Ok);
}

#[test]
fn a_default_from_router_advertisements_via_another_gateway_is_a_warning() {
    let mut s = fixtures::seed_vm();
    s.routes.push(fixtures::default_route(
        "fe80::1",
        3,
        crate::Protocol::RA,
        Some(1024),
    ));
    let found = findings_with(&s, &seed_expected());
    let f = only(&found, Code::DefaultRouteFromRa);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.message,
        "IPv6: the default via fe80::1 dev eth1 comes from router advertisements (proto ra), not via network `public`'s gateway 2001:db8:69f5::1"
    );
    assert!(
        f.hint
            .as_deref()
            .unwrap()
            .contains("The config's command ipv6-default-route replaces the default"),
        "{f:?}"
    );
    assert_eq!(
        family_status(&s, Family::Ipv6).text,
        "IPv6: default via fe80::1 dev eth1 (proto ra: from router advertisements)"
    );
}
