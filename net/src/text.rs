//! Text views, as pure functions: iproute2's route lines, `ip -br`-style
//! interface lines, and the whole `inject status` report.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal};

use crate::findings::{family_status, Finding, Severity};
use crate::model::{Family, Link, Protocol, Route, RouteKind, Scope, Snapshot, MAIN_TABLE};
use crate::report::{ReportError, RouteSource, Summary};

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
fn write_route_line(s: &mut String, route: &Route, snapshot: &Snapshot) {
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

/// ANSI SGR sequences, written by hand: these views are text, and `net`
/// knows nothing of terminal libraries.
const RED_BOLD: &str = "\x1b[1;31m";
const YELLOW_BOLD: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Colours when stdout is a terminal and `NO_COLOR` is unset or empty: the
/// one rule for every text command (`inject status`, `inject run`).
pub fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn sgr(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn paint(text: &str, severity: Severity, color: bool) -> String {
    let code = match severity {
        Severity::Error => RED_BOLD,
        Severity::Warning => YELLOW_BOLD,
        Severity::Info => CYAN,
    };
    sgr(text, code, color)
}

fn heading(text: &str, color: bool) -> String {
    sgr(text, BOLD, color)
}

/// What the report and `--watch` say when nothing is wrong.
pub const NO_PROBLEMS: &str = "findings: no problems found";

/// The findings, one or two lines each, or [`NO_PROBLEMS`]: how the report
/// starts, and what `--watch` prints whenever the findings change.
pub fn findings_text(findings: &[Finding], color: bool) -> String {
    if findings.is_empty() {
        return format!("{NO_PROBLEMS}\n");
    }
    let mut out = String::new();
    for f in findings {
        out.push_str(&finding_lines(f, color));
        out.push('\n');
    }
    out
}

/// One finding as two lines: `error: <message>` and an indented hint.
pub fn finding_lines(finding: &Finding, color: bool) -> String {
    let mut s = format!(
        "{}: {}",
        paint(finding.severity.as_str(), finding.severity, color),
        escape_controls(&finding.message)
    );
    if let Some(hint) = &finding.hint {
        let _ = write!(s, "\n  hint: {}", escape_controls(hint));
    }
    s
}

/// The whole `inject status` text report: findings first, then each
/// family's default route, interfaces (`ip -br` style), and routes per
/// family. `color` adds ANSI colours (the caller decides: TTY, `NO_COLOR`).
pub fn render(snapshot: &Snapshot, findings: &[Finding], color: bool) -> String {
    let mut out = head(snapshot, findings, color);
    for family in Family::BOTH {
        let _ = writeln!(out, "\n{}", heading(&format!("{family} routes"), color));
        let mut any = false;
        for route in snapshot.routes_of(family) {
            any = true;
            write_route_line(&mut out, route, snapshot);
            out.push('\n');
        }
        if !any {
            out.push_str("(none)\n");
        }
    }
    out
}

/// The report up to the route sections: findings, each family's default
/// route, interfaces.
fn head(snapshot: &Snapshot, findings: &[Finding], color: bool) -> String {
    let mut out = findings_text(findings, color);
    out.push('\n');
    for family in Family::BOTH {
        let status = family_status(snapshot, family);
        let _ = writeln!(out, "{}", escape_controls(&status.text));
    }
    for gateway in super::neighbour::gateways(snapshot) {
        let _ = writeln!(out, "{}", gateway.line());
    }
    let _ = writeln!(out, "\n{}", heading("Interfaces", color));
    for link in &snapshot.links {
        let _ = writeln!(out, "{}", interface_line(link, snapshot));
    }
    out
}

/// [`render`]'s part before the route sections, written to `w`; `snapshot`
/// may be a [`Summary`]'s.
pub fn write_head<W: io::Write>(
    mut w: W,
    snapshot: &Snapshot,
    findings: &[Finding],
    color: bool,
) -> io::Result<()> {
    w.write_all(head(snapshot, findings, color).as_bytes())
}

/// [`render`]'s route sections, written to `w` as the routes of `routes`
/// come, each counted in `summary`. The routes come family by family, IPv4
/// first, as the kernel's dumps give them.
pub fn write_route_sections<W: io::Write, R: RouteSource>(
    mut w: W,
    summary: &mut Summary,
    routes: &mut R,
    color: bool,
) -> Result<(), ReportError<R::Error>> {
    let write = |w: &mut W, s: &str| w.write_all(s.as_bytes()).map_err(ReportError::Write);
    let section = |family: Family| format!("\n{}\n", heading(&format!("{family} routes"), color));
    // The families whose section is not started yet, in order.
    let mut ahead = Family::BOTH.into_iter();
    let mut current: Option<Family> = None;
    let mut line = String::with_capacity(128);
    while let Some(route) = routes.next_route().map_err(ReportError::Read)? {
        if current != Some(route.family) {
            // Start this family's section; skipped ones say they're empty.
            for family in ahead.by_ref() {
                if family == route.family {
                    write(&mut w, &section(family))?;
                    break;
                }
                write(&mut w, &section(family))?;
                write(&mut w, "(none)\n")?;
            }
            current = Some(route.family);
        }
        line.clear();
        write_route_line(&mut line, &route, &summary.snapshot);
        line.push('\n');
        write(&mut w, &line)?;
        summary.add(&route);
    }
    for family in ahead {
        write(&mut w, &section(family))?;
        write(&mut w, "(none)\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{default_route, seed_vm};
    use crate::{Family, Protocol};

    use super::route_line;

    #[test]
    fn the_source_prefix_and_tos_follow_the_destination_as_in_iproute2() {
        let snapshot = seed_vm();
        let mut v6 = default_route("2001:db8:69f5::1", 3, Protocol::BOOT, Some(1024));
        v6.source = Some("2001:db8:69f5::/64".parse().unwrap());
        // What `ip -6 route` prints for it (without iproute2's `pref medium`).
        assert_eq!(
            route_line(&v6, &snapshot),
            "default from 2001:db8:69f5::/64 via 2001:db8:69f5::1 dev eth1 metric 1024"
        );
        v6.source = Some("2001:db8:69f5::10/128".parse().unwrap());
        assert!(
            route_line(&v6, &snapshot).starts_with("default from 2001:db8:69f5::10 via"),
            "a host source without /128"
        );
        let mut v4 = default_route("10.0.250.1", 2, Protocol::BOOT, Some(5));
        v4.destination = "10.9.0.0/16".parse().unwrap();
        v4.tos = 0x10;
        assert_eq!(
            route_line(&v4, &snapshot),
            "10.9.0.0/16 tos 0x10 via 10.0.250.1 dev eth0 metric 5"
        );
    }

    #[test]
    fn host_routes_drop_their_prefix_length_and_gone_devices_show_their_number() {
        let snapshot = seed_vm();
        let mut v4 = default_route("10.0.250.1", 2, Protocol::STATIC, None);
        v4.destination = "192.0.2.7/32".parse().unwrap();
        assert_eq!(
            route_line(&v4, &snapshot),
            "192.0.2.7 via 10.0.250.1 dev eth0 proto static"
        );
        let mut v6 = default_route("2001:db8:69f5::1", 42, Protocol::STATIC, Some(1024));
        v6.family = Family::Ipv6;
        v6.destination = "2001:db8:1::5/128".parse().unwrap();
        assert_eq!(
            route_line(&v6, &snapshot),
            "2001:db8:1::5 via 2001:db8:69f5::1 dev if42 proto static metric 1024"
        );
    }
}
