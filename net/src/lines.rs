//! One route or one interface as a line of text, as iproute2 prints it
//! (`default via 10.0.250.1 dev eth0 proto static metric 100`, `ip -br`),
//! with control characters in names escaped. A leaf: the findings, the
//! text report, the change stream and the dashboard all word routes and
//! interfaces with these, and it needs nothing but the model.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::model::{Family, Link, Protocol, Route, RouteKind, Scope, Snapshot, MAIN_TABLE};

/// `text` with its control characters escaped (`\u{1b}` for ESC, `\n`, …):
/// interface names may hold any byte but `/`, `:` and whitespace, and an
/// ESC in one would otherwise reach the terminal as an escape sequence.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            s.extend(c.escape_debug());
        } else {
            s.push(c);
        }
    }
    Cow::Owned(s)
}

/// `default` for a default route, else the prefix as CIDR text (what the
/// JSON's `destination` holds).
pub fn destination_text(route: &Route) -> String {
    if route.is_default() {
        "default".to_string()
    } else {
        format!("{}/{}", route.destination.ip(), route.destination.prefix())
    }
}

/// The destination as iproute2 prints it (host routes without their `/32`
/// or `/128`), written in place: route_line runs once per route, so it
/// allocates only its own string.
fn write_destination(s: &mut String, route: &Route) {
    if route.is_default() {
        s.push_str("default");
    } else {
        write_prefix(s, route.family, &route.destination);
    }
}

/// A prefix as iproute2 prints one: a host prefix as the bare address.
fn write_prefix(s: &mut String, family: Family, prefix: &ipnetwork::IpNetwork) {
    let host_len = match family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    if prefix.prefix() == host_len {
        let _ = write!(s, "{}", prefix.ip());
    } else {
        let _ = write!(s, "{}/{}", prefix.ip(), prefix.prefix());
    }
}

/// `dev NAME` for a route line, without a copy of the name.
fn write_dev(s: &mut String, snapshot: &Snapshot, oif: u32) {
    match snapshot.link(oif) {
        Some(l) => {
            s.push_str(" dev ");
            s.push_str(&escape_controls(&l.name));
        }
        None => {
            let _ = write!(s, " dev if{oif}");
        }
    }
}

/// Where a route sends traffic: `via 10.0.250.1 dev eth0`, `dev eth1`, or
/// each next hop of a multipath route joined by `, `.
pub fn path_text(route: &Route, snapshot: &Snapshot) -> String {
    let one = |gw: Option<std::net::IpAddr>, oif: Option<u32>| {
        let mut s = String::new();
        if let Some(gw) = gw {
            let _ = write!(s, "via {gw}");
        }
        if let Some(oif) = oif {
            if !s.is_empty() {
                s.push(' ');
            }
            let _ = write!(s, "dev {}", snapshot.link_name(oif));
        }
        s
    };
    if route.nexthops.is_empty() {
        one(route.gateway, route.oif)
    } else {
        route
            .nexthops
            .iter()
            .map(|h| one(h.gateway, h.oif))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A route in iproute2's order and spelling:
/// `default via 10.0.250.1 dev eth0 proto static metric 100`,
/// `2001:db8::/64 dev eth1 proto kernel metric 256`,
/// `default from 2001:db8:69f5::/64 via 2001:db8:69f5::1 dev eth1 …`,
/// `10.9.0.0/16 tos 0x10 via 10.0.0.1 dev eth0`. Multipath next hops
/// follow on the same line (`nexthop via … dev … weight 1`).
pub fn route_line(route: &Route, snapshot: &Snapshot) -> String {
    let mut s = String::with_capacity(64);
    write_route_line(&mut s, route, snapshot);
    s
}

/// [`route_line`] appended to `s` (reused: once per route of a dump).
pub(crate) fn write_route_line(s: &mut String, route: &Route, snapshot: &Snapshot) {
    if route.kind != RouteKind::UNICAST {
        let _ = write!(s, "{} ", route.kind);
    }
    write_destination(s, route);
    // iproute2 puts the source prefix and TOS right after the destination.
    if let Some(source) = &route.source {
        s.push_str(" from ");
        write_prefix(s, route.family, source);
    }
    // In hex, as iproute2 prints a TOS that /etc/iproute2/rt_dsfield does
    // not name (it names only DSCP classes such as CS1 = 0x20).
    if route.tos != 0 {
        let _ = write!(s, " tos 0x{:02x}", route.tos);
    }
    if let Some(gw) = route.gateway {
        let _ = write!(s, " via {gw}");
    }
    if let Some(oif) = route.oif {
        write_dev(s, snapshot, oif);
    }
    if route.table != MAIN_TABLE {
        let _ = write!(s, " table {}", route.table);
    }
    // iproute2 hides `proto boot` (what `ip route add` sets) and universe scope.
    if route.protocol != Protocol::BOOT {
        let _ = write!(s, " proto {}", route.protocol);
    }
    if route.scope != Scope::GLOBAL {
        let _ = write!(s, " scope {}", route.scope);
    }
    if let Some(src) = route.prefsrc {
        let _ = write!(s, " src {src}");
    }
    if let Some(metric) = route.metric {
        let _ = write!(s, " metric {metric}");
    }
    if route.onlink {
        s.push_str(" onlink");
    }
    for hop in &route.nexthops {
        s.push_str(" nexthop");
        if let Some(gw) = hop.gateway {
            let _ = write!(s, " via {gw}");
        }
        if let Some(oif) = hop.oif {
            write_dev(s, snapshot, oif);
        }
        let _ = write!(s, " weight {}", hop.weight);
        if hop.onlink {
            s.push_str(" onlink");
        }
    }
}

/// An interface as `ip -br addr` prints it: name, state, addresses.
pub fn interface_line(link: &Link, snapshot: &Snapshot) -> String {
    let addrs: Vec<String> = snapshot
        .addresses_of(link.index)
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect();
    format!(
        "{:<16} {:<14} {}",
        escape_controls(&link.name),
        link.state.as_str(),
        addrs.join(" ")
    )
    .trim_end()
    .to_string()
}
