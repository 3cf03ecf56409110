//! Hand-built snapshots for tests and benchmarks (public, not `cfg(test)`:
//! the dashboard's snapshot tests use them too). Each mirrors what the
//! kernel reports for the situation it is named after.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::model::{
    Address, Family, Link, NextHop, OperState, Protocol, Route, RouteKind, Scope, Snapshot,
    MAIN_TABLE,
};

/// `lo`, up, with 127.0.0.1/8 and ::1/128 (and their host-scope routes are in
/// the local table, so none here).
pub fn loopback() -> (Link, Vec<Address>) {
    let link = Link {
        index: 1,
        name: "lo".into(),
        state: OperState::Unknown,
        flags: flags(&["LOOPBACK", "UP", "LOWER_UP"]),
        mtu: Some(65536),
        mac: Some("00:00:00:00:00:00".into()),
    };
    let addrs = vec![
        address(1, "127.0.0.1/8", Scope::HOST),
        address(1, "::1/128", Scope::HOST),
    ];
    (link, addrs)
}

/// An Ethernet interface, up with carrier.
pub fn ethernet(index: u32, name: &str) -> Link {
    Link {
        index,
        name: name.into(),
        state: OperState::Up,
        flags: flags(&["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]),
        mtu: Some(1500),
        mac: Some(format!("02:00:00:00:00:{index:02x}")),
    }
}

/// An Ethernet interface administratively down.
pub fn ethernet_down(index: u32, name: &str) -> Link {
    Link {
        state: OperState::Down,
        flags: flags(&["BROADCAST", "MULTICAST"]),
        ..ethernet(index, name)
    }
}

/// An address (`"10.0.250.10/24"`) on link `index`, `permanent` like one
/// added by hand or by the BOSH agent.
pub fn address(index: u32, cidr: &str, scope: Scope) -> Address {
    let net: IpNetwork = cidr.parse().expect("fixture CIDR");
    Address {
        link: index,
        family: Family::of(&net.ip()),
        address: net.ip(),
        prefix_len: net.prefix(),
        scope,
        flags: flags(&["permanent"]),
    }
}

/// The kernel's connected route for an address (`10.0.250.0/24 dev eth0
/// proto kernel scope link src 10.0.250.10`; IPv6: `metric 256`, no src).
pub fn connected(addr: &Address) -> Route {
    let net = addr.network().expect("fixture prefix");
    let dest = IpNetwork::new(net.network(), net.prefix()).expect("fixture prefix");
    let v4 = addr.family == Family::Ipv4;
    Route {
        family: addr.family,
        destination: dest,
        source: None,
        tos: 0,
        gateway: None,
        oif: Some(addr.link),
        metric: if v4 { None } else { Some(256) },
        protocol: Protocol::KERNEL,
        scope: if v4 { Scope::LINK } else { Scope::GLOBAL },
        kind: RouteKind::UNICAST,
        table: MAIN_TABLE,
        prefsrc: if v4 { Some(addr.address) } else { None },
        onlink: false,
        nexthops: Vec::new(),
    }
}

/// `fe80::<index>/64` on link `index`. Its `fe80::/64` route is the
/// connected route [`build`] adds for every address, as the kernel adds one
/// (and only one: it refuses a duplicate).
pub fn link_local(index: u32) -> Address {
    address(index, &format!("fe80::{index}/64"), Scope::LINK)
}

/// `default via <gw> dev <oif>` in the main table.
pub fn default_route(gw: &str, oif: u32, protocol: Protocol, metric: Option<u32>) -> Route {
    let gateway: IpAddr = gw.parse().expect("fixture gateway");
    let family = Family::of(&gateway);
    Route {
        family,
        destination: IpNetwork::new(family.unspecified(), 0).expect("default prefix"),
        source: None,
        tos: 0,
        gateway: Some(gateway),
        oif: Some(oif),
        metric,
        protocol,
        scope: Scope::GLOBAL,
        kind: RouteKind::UNICAST,
        table: MAIN_TABLE,
        prefsrc: None,
        onlink: false,
        nexthops: Vec::new(),
    }
}

fn flags(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Assemble a snapshot: loopback plus the given links, addresses (with their
/// connected routes) and extra routes.
pub fn build(links: Vec<Link>, addrs: Vec<Address>, extra_routes: Vec<Route>) -> Snapshot {
    let (lo, lo_addrs) = loopback();
    let mut snapshot = Snapshot {
        links: std::iter::once(lo).chain(links).collect(),
        ..Snapshot::default()
    };
    for addr in &addrs {
        if addr.scope != Scope::HOST {
            snapshot.routes.push(connected(addr));
        }
    }
    snapshot.addresses = lo_addrs.into_iter().chain(addrs).collect();
    snapshot.routes.extend(extra_routes);
    // iproute2 lists IPv4 routes before IPv6; the kernel dumps in that order.
    snapshot.routes.sort_by_key(|r| r.family);
    for link in &snapshot.links {
        snapshot.accept_ra.insert(link.name.clone(), 0);
    }
    snapshot
}

/// The seed's VM: eth0 10.0.250.10/24 with `default via 10.0.250.1`; eth1
/// 2001:db8:69f5::10/64 global, no IPv6 default route, `accept_ra` 0 (as
/// on a BOSH stemcell).
pub fn seed_vm() -> Snapshot {
    let (ll0, ll1) = (link_local(2), link_local(3));
    let mut s = build(
        vec![ethernet(2, "eth0"), ethernet(3, "eth1")],
        vec![
            address(2, "10.0.250.10/24", Scope::GLOBAL),
            ll0,
            address(3, "2001:db8:69f5::10/64", Scope::GLOBAL),
            ll1,
        ],
        vec![default_route("10.0.250.1", 2, Protocol::BOOT, None)],
    );
    // The stemcell's sysctl: router advertisements off everywhere.
    s.accept_ra = BTreeMap::from([
        ("lo".to_string(), 0),
        ("eth0".to_string(), 0),
        ("eth1".to_string(), 0),
    ]);
    s
}

/// The seed's VM after the operator's command: plus `default via
/// 2001:db8:69f5::1 dev eth1 proto static metric 1024`.
pub fn seed_vm_fixed() -> Snapshot {
    let mut s = seed_vm();
    s.routes.push(default_route(
        "2001:db8:69f5::1",
        3,
        Protocol::STATIC,
        Some(1024),
    ));
    s
}

/// One NIC with both families and both defaults (the IPv6 one learnt by RA).
pub fn dual_stack_ok() -> Snapshot {
    let ll = link_local(2);
    let mut s = build(
        vec![ethernet(2, "eth0")],
        vec![
            address(2, "192.0.2.10/24", Scope::GLOBAL),
            address(2, "2001:db8:1::10/64", Scope::GLOBAL),
            ll,
        ],
        vec![
            default_route("192.0.2.1", 2, Protocol::DHCP, Some(100)),
            default_route("fe80::1", 2, Protocol::RA, Some(1024)),
        ],
    );
    s.accept_ra.insert("eth0".into(), 1);
    s
}

/// IPv6 only: a global address and an RA default, no IPv4 at all.
pub fn ipv6_only() -> Snapshot {
    let ll = link_local(2);
    let mut s = build(
        vec![ethernet(2, "eth0")],
        vec![address(2, "2001:db8:2::10/64", Scope::GLOBAL), ll],
        vec![default_route("fe80::1", 2, Protocol::RA, Some(1024))],
    );
    s.accept_ra.insert("eth0".into(), 2);
    s
}

/// An IPv6 ECMP default learnt from two routers: no gateway/oif on the route
/// itself, both inside its next hops.
pub fn ecmp_default() -> Snapshot {
    let mut s = ipv6_only();
    s.routes.retain(|r| !r.is_default());
    let mut ecmp = default_route("fe80::1", 2, Protocol::RA, Some(1024));
    ecmp.gateway = None;
    ecmp.oif = None;
    ecmp.nexthops = ["fe80::1", "fe80::2"]
        .iter()
        .map(|gw| NextHop {
            gateway: Some(gw.parse().expect("fixture gateway")),
            oif: Some(2),
            weight: 1,
            onlink: false,
        })
        .collect();
    s.routes.push(ecmp);
    s
}

/// The seed's VM with its IPv6 default put in table 100 (policy routing)
/// instead of main: the lookup of an ordinary packet never sees it.
pub fn default_in_other_table() -> Snapshot {
    let mut s = seed_vm();
    let mut r = default_route("2001:db8:69f5::1", 3, Protocol::BOOT, Some(1024));
    r.table = 100;
    s.routes.push(r);
    s
}

/// IPv6 enabled on the NIC but only link-local: nothing global, so no IPv6
/// default is needed.
pub fn link_local_only_ipv6() -> Snapshot {
    let ll = link_local(2);
    build(
        vec![ethernet(2, "eth0")],
        vec![address(2, "10.0.250.10/24", Scope::GLOBAL), ll],
        vec![default_route("10.0.250.1", 2, Protocol::BOOT, None)],
    )
}

/// Both families' defaults go through eth1, which has lost its carrier (the
/// kernel keeps the routes, marked `linkdown`).
pub fn down_interface() -> Snapshot {
    let mut eth1 = ethernet(3, "eth1");
    eth1.state = OperState::LowerLayerDown;
    eth1.flags = flags(&["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]);
    build(
        vec![ethernet(2, "eth0"), eth1],
        vec![
            address(2, "10.0.250.10/24", Scope::GLOBAL),
            address(3, "10.0.251.10/24", Scope::GLOBAL),
        ],
        vec![default_route("10.0.251.1", 3, Protocol::BOOT, None)],
    )
}

/// Interfaces but no addresses anywhere (not even loopback's).
pub fn no_addresses() -> Snapshot {
    let mut s = build(vec![ethernet(2, "eth0")], vec![], vec![]);
    s.addresses.clear();
    s
}

/// `n_links` Ethernet interfaces, each with one IPv4 and one IPv6 prefix, and
/// `n_routes` static routes split evenly between the families (plus both
/// defaults): a big table for benchmarks.
pub fn many_routes(n_links: u32, n_routes: u32) -> Snapshot {
    let n_links = n_links.max(1);
    let links: Vec<Link> = (0..n_links)
        .map(|i| ethernet(i + 2, &format!("eth{i}")))
        .collect();
    let mut addrs = Vec::new();
    for i in 0..n_links {
        let (a, b) = ((i >> 8) & 0xff, i & 0xff);
        addrs.push(address(i + 2, &format!("10.{a}.{b}.10/24"), Scope::GLOBAL));
        addrs.push(address(
            i + 2,
            &format!("2001:db8:{i:x}::10/64"),
            Scope::GLOBAL,
        ));
    }
    let mut routes = vec![
        default_route("10.0.0.1", 2, Protocol::BOOT, None),
        default_route("2001:db8:0::1", 2, Protocol::STATIC, Some(1024)),
    ];
    for n in 0..n_routes {
        let link = n % n_links;
        let (a, b) = ((link >> 8) & 0xff, link & 0xff);
        let (family, dest, gw) = if n % 2 == 0 {
            let k = n / 2;
            (
                Family::Ipv4,
                format!("172.{}.{}.{}/32", 16 + (k >> 16), (k >> 8) & 0xff, k & 0xff),
                format!("10.{a}.{b}.1"),
            )
        } else {
            let k = n / 2;
            (
                Family::Ipv6,
                format!("2001:db8:ffff:{k:x}::/64"),
                format!("2001:db8:{link:x}::1"),
            )
        };
        let mut r = default_route(&gw, link + 2, Protocol::STATIC, Some(1024));
        r.family = family;
        r.destination = dest.parse().expect("generated prefix");
        if family == Family::Ipv4 {
            r.metric = None;
        }
        routes.push(r);
    }
    build(links, addrs, routes)
}
