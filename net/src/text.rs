//! The `inject status` text report, as pure functions: findings, each
//! family's default, interfaces and routes. The route and interface lines
//! themselves are `lines`' (re-exported here).

use std::fmt::Write as _;
use std::io::{self, IsTerminal};

use crate::findings::{family_status, Finding, Severity};
use crate::lines::write_route_line;
use crate::model::{Family, Snapshot};
use crate::neighbour;
use crate::streaming::{ReportError, RouteSource, RouteSummary};

/// The line formatters, where callers have always found them.
pub use crate::lines::{destination_text, escape_controls, interface_line, path_text, route_line};

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
    for gateway in neighbour::gateways(snapshot) {
        let _ = writeln!(out, "{}", gateway.line());
    }
    let _ = writeln!(out, "\n{}", heading("Interfaces", color));
    for link in &snapshot.links {
        let _ = writeln!(out, "{}", interface_line(link, snapshot));
    }
    out
}

/// [`render`]'s part before the route sections, written to `w`; `snapshot`
/// may be a [`RouteSummary`]'s.
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
    summary: &mut RouteSummary,
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
