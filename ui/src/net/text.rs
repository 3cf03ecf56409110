//! Text views, as pure functions: iproute2's route lines, `ip -br`-style
//! interface lines, and the whole `inject status` report.

use std::fmt::Write as _;

use crossterm::style::Stylize;

use super::findings::{family_status, Finding, Severity};
use super::model::{Family, Link, Protocol, Route, RouteKind, Scope, Snapshot, MAIN_TABLE};

/// `default` for a default route, else the prefix as CIDR text (what the
/// JSON's `destination` holds).
pub fn destination_text(route: &Route) -> String {
    if route.is_default() {
        "default".to_string()
    } else {
        format!("{}/{}", route.destination.ip(), route.destination.prefix())
    }
}

/// The destination as iproute2 prints it: host routes without their `/32`
/// or `/128`.
fn destination_ip_style(route: &Route) -> String {
    let host_len = match route.family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    if route.is_default() {
        "default".to_string()
    } else if route.destination.prefix() == host_len {
        route.destination.ip().to_string()
    } else {
        destination_text(route)
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
/// `2001:db8::/64 dev eth1 proto kernel metric 256`. Multipath next hops
/// follow on the same line (`nexthop via … dev … weight 1`).
pub fn route_line(route: &Route, snapshot: &Snapshot) -> String {
    let mut s = String::with_capacity(64);
    if route.kind != RouteKind::UNICAST {
        let _ = write!(s, "{} ", route.kind);
    }
    s.push_str(&destination_ip_style(route));
    if let Some(gw) = route.gateway {
        let _ = write!(s, " via {gw}");
    }
    if let Some(oif) = route.oif {
        let _ = write!(s, " dev {}", snapshot.link_name(oif));
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
            let _ = write!(s, " dev {}", snapshot.link_name(oif));
        }
        let _ = write!(s, " weight {}", hop.weight);
        if hop.onlink {
            s.push_str(" onlink");
        }
    }
    s
}

/// An interface as `ip -br addr` prints it: name, state, addresses.
pub fn interface_line(link: &Link, snapshot: &Snapshot) -> String {
    let addrs: Vec<String> = snapshot
        .addresses_of(link.index)
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect();
    format!(
        "{:<16} {:<14} {}",
        link.name,
        link.state.as_str(),
        addrs.join(" ")
    )
    .trim_end()
    .to_string()
}

fn paint(text: &str, severity: Severity, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    match severity {
        Severity::Error => text.red().bold().to_string(),
        Severity::Warning => text.yellow().bold().to_string(),
        Severity::Info => text.cyan().to_string(),
    }
}

fn heading(text: &str, color: bool) -> String {
    if color {
        text.bold().to_string()
    } else {
        text.to_string()
    }
}

/// One finding as two lines: `error: <message>` and an indented hint.
pub fn finding_lines(finding: &Finding, color: bool) -> String {
    let mut s = format!(
        "{}: {}",
        paint(finding.severity.as_str(), finding.severity, color),
        finding.message
    );
    if let Some(hint) = &finding.hint {
        let _ = write!(s, "\n  hint: {hint}");
    }
    s
}

/// The whole `inject status` text report: findings first, then each
/// family's default route, interfaces (`ip -br` style), and routes per
/// family. `color` adds ANSI colours (the caller decides: TTY, `NO_COLOR`).
pub fn render(snapshot: &Snapshot, findings: &[Finding], color: bool) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        out.push_str("No problems found.\n");
    }
    for f in findings {
        out.push_str(&finding_lines(f, color));
        out.push('\n');
    }
    out.push('\n');
    for family in Family::BOTH {
        let _ = writeln!(out, "{}", family_status(snapshot, family));
    }
    let _ = writeln!(out, "\n{}", heading("Interfaces", color));
    for link in &snapshot.links {
        let _ = writeln!(out, "{}", interface_line(link, snapshot));
    }
    for family in Family::BOTH {
        let _ = writeln!(out, "\n{}", heading(&format!("{family} routes"), color));
        let mut any = false;
        for route in snapshot.routes_of(family) {
            any = true;
            let _ = writeln!(out, "{}", route_line(route, snapshot));
        }
        if !any {
            out.push_str("(none)\n");
        }
    }
    out
}
