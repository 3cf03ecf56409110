//! What is wrong with a snapshot, as a pure function of it: a family with a
//! global address and no default route above all, then broken defaults and
//! addresses that cannot be used.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::Serialize;

use super::model::{Address, Family, Route, RouteKind, Scope, Snapshot};
use super::text::path_text;

/// What a finding is about; serialised in snake_case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    MissingDefaultRoute,
    DefaultRouteViaDownInterface,
    GatewayNotOnLink,
    DuplicateDefaultRoutes,
    AddressDadfailed,
    AddressTentative,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::MissingDefaultRoute => "missing_default_route",
            Code::DefaultRouteViaDownInterface => "default_route_via_down_interface",
            Code::GatewayNotOnLink => "gateway_not_on_link",
            Code::DuplicateDefaultRoutes => "duplicate_default_routes",
            Code::AddressDadfailed => "address_dadfailed",
            Code::AddressTentative => "address_tentative",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors sort first. `--strict` fails on any error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub family: Option<Family>,
    pub interface: Option<String>,
    /// One line, starting with the family when there is one
    /// (`IPv6: no default route — …`).
    pub message: String,
    /// What to do next, with the command when we know it.
    pub hint: Option<String>,
}

/// The gateways named in the config's `networks:` (rendered from the BOSH
/// manifest), for [`findings_with`]; ones that do not parse are left out.
pub fn config_gateways(config: &inject_errands::config::Config) -> Vec<IpAddr> {
    config
        .networks
        .values()
        .filter_map(|n| n.gateway.as_deref()?.parse().ok())
        .collect()
}

/// [`findings_with`] without known gateways.
pub fn findings(snapshot: &Snapshot) -> Vec<Finding> {
    findings_with(snapshot, &[])
}

/// Everything wrong with `snapshot`, errors first. `gateways` are gateways
/// known from elsewhere (the config's `networks:`, rendered from the BOSH
/// manifest): one that lies in an interface's prefix completes the hint's
/// command for that interface.
pub fn findings_with(snapshot: &Snapshot, gateways: &[IpAddr]) -> Vec<Finding> {
    let mut uses = GatewayUses::default();
    snapshot.routes.iter().for_each(|r| uses.add(r));
    findings_of_summary(snapshot, &uses, gateways)
}

/// [`findings_with`] from a summary of a snapshot, as `inject status`
/// gathers one while it writes the routes out: `snapshot` holds only the
/// routes [`reads_route`] names (the rest are in `uses`), and every route's
/// gateways went through `uses`.
pub fn findings_of_summary(
    snapshot: &Snapshot,
    uses: &GatewayUses,
    gateways: &[IpAddr],
) -> Vec<Finding> {
    let mut out = Vec::new();
    for family in Family::BOTH {
        missing_default(snapshot, family, gateways, &mut out);
        duplicate_defaults(snapshot, family, &mut out);
    }
    defaults_via_down_links(snapshot, &mut out);
    gateways_not_on_link(snapshot, uses, &mut out);
    address_states(snapshot, &mut out);
    out.sort_by_key(|f| f.severity);
    out
}

/// Main-table unicast default routes of a family.
fn main_defaults(snapshot: &Snapshot, family: Family) -> impl Iterator<Item = &Route> {
    snapshot
        .routes_of(family)
        .filter(|r| r.in_main_table() && r.is_unicast_default())
}

/// Global addresses of a family on up, non-loopback links: the ones that
/// need a default route to reach anything off-link.
fn global_addresses(snapshot: &Snapshot, family: Family) -> Vec<&Address> {
    snapshot
        .addresses
        .iter()
        .filter(|a| a.family == family && a.is_global())
        .filter(|a| {
            snapshot
                .link(a.link)
                .is_some_and(|l| l.is_up() && !l.is_loopback())
        })
        .collect()
}

/// Global addresses of `family` that no main-table default route serves.
/// A source-specific default (`default from P via X`) carries only packets
/// whose source is in P; for a socket with no source the kernel picks the
/// source address first and then looks the route up with it
/// (`ip6_dst_lookup_tail`), so an address in P does reach off-link, as a
/// dual-homed VM's `default from <eth1's prefix> via <eth1's gateway>`
/// intends, and an address outside P does not. A TOS-selective default
/// (`tos 0x10`) carries no ordinary (TOS 0) traffic, so it serves none.
fn unserved_globals(snapshot: &Snapshot, family: Family) -> Vec<&Address> {
    let defaults: Vec<&Route> = main_defaults(snapshot, family).collect();
    global_addresses(snapshot, family)
        .into_iter()
        .filter(|a| !defaults.iter().any(|r| r.serves_source(a.address)))
        .collect()
}

/// ` from P` and ` tos 0x10` as a route line has them: what limits the
/// traffic a default route serves; empty for a route that serves all.
fn selectors(route: &Route) -> String {
    let mut s = String::new();
    if let Some(p) = &route.source {
        s.push_str(&format!(" from {p}"));
    }
    if route.tos != 0 {
        s.push_str(&format!(" tos 0x{:02x}", route.tos));
    }
    s
}

fn missing_default(
    snapshot: &Snapshot,
    family: Family,
    gateways: &[IpAddr],
    out: &mut Vec<Finding>,
) {
    let globals = unserved_globals(snapshot, family);
    if globals.is_empty() {
        return;
    }
    // Prefer the interface whose gateway we know: that is the one the hint
    // can give a complete command for.
    let with_gateway = globals.iter().find_map(|a| {
        let net = a.network()?;
        let gw = gateways
            .iter()
            .find(|g| Family::of(g) == family && net.contains(**g))?;
        Some((*a, *gw))
    });
    let (addr, gateway) = match with_gateway {
        Some((a, gw)) => (a, Some(gw)),
        None => (globals[0], None),
    };
    let iface = snapshot.link_name(addr.link);
    let mut names: Vec<String> = Vec::new();
    for a in &globals {
        let n = snapshot.link_name(a.link);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let holder = if names.len() == 1 {
        format!(
            "{iface} has global address {}/{}",
            addr.address, addr.prefix_len
        )
    } else {
        format!("{} have global addresses", names.join(", "))
    };
    // Defaults that exist but serve other sources (or a TOS) only.
    let mut limited: Vec<String> = Vec::new();
    for r in main_defaults(snapshot, family) {
        let text = format!("default{}", selectors(r));
        if !limited.contains(&text) {
            limited.push(text);
        }
    }
    let lack = if limited.is_empty() {
        format!("the main table has no {family} default route")
    } else {
        format!(
            "the main table's {family} default routes serve other traffic only ({})",
            limited.join(", ")
        )
    };
    let message = format!(
        "{family}: no default route — {holder}, but {lack}, so only on-link destinations are reachable"
    );

    let mut hint = Vec::new();
    let elsewhere: Vec<String> = snapshot
        .routes_of(family)
        .filter(|r| !r.in_main_table() && r.is_unicast_default())
        .map(|r| r.table.to_string())
        .collect();
    if !elsewhere.is_empty() {
        hint.push(format!(
            "A default route exists in table {}, which ordinary lookups don't use unless an `ip rule` selects it.",
            elsewhere.join(", ")
        ));
    }
    if family == Family::Ipv6 {
        match snapshot.accept_ra.get(&iface) {
            Some(0) => hint.push(format!(
                "Router advertisements are off on {iface} (accept_ra=0, as BOSH stemcells ship), so no router can supply one; BOSH gives the gateway to one NIC only."
            )),
            Some(n) => hint.push(format!(
                "{iface} accepts router advertisements (accept_ra={n}) but none brought a default route: check the router, or add one."
            )),
            None => {}
        }
    }
    let add = match family {
        Family::Ipv4 => "ip route add default",
        Family::Ipv6 => "ip -6 route add default",
    };
    match gateway {
        Some(gw) => hint.push(format!("Add it: {add} via {gw} dev {iface}")),
        None => hint.push(format!(
            "Add it with the gateway of {iface}'s network: {add} via <gateway> dev {iface}"
        )),
    }
    out.push(Finding {
        code: Code::MissingDefaultRoute,
        severity: Severity::Error,
        family: Some(family),
        interface: Some(iface),
        message,
        hint: Some(hint.join(" ")),
    });
}

fn duplicate_defaults(snapshot: &Snapshot, family: Family, out: &mut Vec<Finding>) {
    // Same metric and same selectors (source prefix, TOS): the kernel
    // picks one. `default via X` and `default from P via X` serve
    // different traffic, so they are no duplicates.
    type Key = (Option<u32>, Option<IpNetwork>, u8);
    let mut by_metric: Vec<(Key, Vec<&Route>)> = Vec::new();
    for r in main_defaults(snapshot, family) {
        let key = (r.metric, r.source, r.tos);
        match by_metric.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rs)) => rs.push(r),
            None => by_metric.push((key, vec![r])),
        }
    }
    for ((metric, _, _), routes) in by_metric.into_iter().filter(|(_, rs)| rs.len() > 1) {
        let paths: Vec<String> = routes.iter().map(|r| path_text(r, snapshot)).collect();
        let metric_text = metric.map_or("no metric".to_string(), |m| format!("metric {m}"));
        out.push(Finding {
            code: Code::DuplicateDefaultRoutes,
            severity: Severity::Warning,
            family: Some(family),
            interface: None,
            message: format!(
                "{family}: {} default routes with the same {metric_text} ({}); the kernel uses only one of them",
                routes.len(),
                paths.join("; ")
            ),
            hint: Some(format!(
                "Keep one, or give them different metrics so the order is explicit: ip {} route change default … metric <n>",
                family.ip_flag()
            )),
        });
    }
}

fn defaults_via_down_links(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    let up = |oif: Option<u32>| {
        oif.and_then(|i| snapshot.link(i))
            .is_some_and(|l| l.is_up())
    };
    for family in Family::BOTH {
        // With another default path through an up link, traffic still
        // leaves: a warning. With none, the family is cut off: an error.
        let usable = main_defaults(snapshot, family)
            .flat_map(|r| r.paths())
            .any(|(_, oif, _)| up(oif));
        let severity = if usable {
            Severity::Warning
        } else {
            Severity::Error
        };
        for route in main_defaults(snapshot, family) {
            for (gw, oif, _) in route.paths() {
                let Some(link) = oif.and_then(|i| snapshot.link(i)) else {
                    continue;
                };
                if link.is_up() {
                    continue;
                }
                let via = gw.map(|g| format!(" via {g}")).unwrap_or_default();
                let admin_down = !link.has_flag("UP");
                let hint = if admin_down {
                    format!("Bring it up: ip link set {} up", link.name)
                } else {
                    format!(
                        "{} is up but has no carrier ({}): check the virtual NIC's attachment in the IaaS",
                        link.name, link.state
                    )
                };
                out.push(Finding {
                    code: Code::DefaultRouteViaDownInterface,
                    severity,
                    family: Some(family),
                    interface: Some(link.name.clone()),
                    message: format!(
                        "{family}: the default route{via} goes out {}, which is {}",
                        link.name,
                        if admin_down {
                            "down".to_string()
                        } else {
                            link.state.to_string()
                        }
                    ),
                    hint: Some(hint),
                });
            }
        }
    }
}

fn is_ipv6_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// Prefixes the kernel treats as on-link for a device: its addresses'
/// prefixes and its gateway-less unicast main-table routes.
fn connected_prefixes(snapshot: &Snapshot) -> Vec<(u32, IpNetwork)> {
    let mut prefixes: Vec<(u32, IpNetwork)> = snapshot
        .addresses
        .iter()
        .filter(|a| a.scope != Scope::HOST)
        .filter_map(|a| Some((a.link, a.network()?)))
        .collect();
    prefixes.extend(
        snapshot
            .routes
            .iter()
            .filter(|r| is_connected(r))
            .filter_map(|r| Some((r.oif?, r.destination))),
    );
    prefixes
}

/// A gateway-less unicast route of the main table: its prefix is on-link.
fn is_connected(r: &Route) -> bool {
    r.in_main_table()
        && r.kind == RouteKind::UNICAST
        && !r.is_default()
        && r.gateway.is_none()
        && r.nexthops.is_empty()
}

/// The routes the findings read one by one (the rest only count through
/// [`GatewayUses`]): default routes of every table and connected prefixes.
pub fn reads_route(r: &Route) -> bool {
    r.is_default() || (is_connected(r) && r.oif.is_some())
}

/// Each (gateway, device) of the main table's routes, in order of first
/// use, with the first route using it and how many paths do: all the
/// gateway findings need of a 100 000-route table.
#[derive(Debug, Default)]
pub struct GatewayUses {
    index: HashMap<(IpAddr, Option<u32>), usize>,
    uses: Vec<GatewayUse>,
    /// Runs of routes share a gateway: the last one used needs no lookup.
    last: Option<((IpAddr, Option<u32>), usize)>,
}

#[derive(Debug)]
struct GatewayUse {
    gateway: IpAddr,
    oif: Option<u32>,
    /// The first route's `onlink` for this path.
    onlink: bool,
    first: Route,
    uses: usize,
}

impl GatewayUses {
    /// Count the route's gateways (main table only).
    pub fn add(&mut self, route: &Route) {
        if !route.in_main_table() {
            return;
        }
        for (gw, oif, onlink) in route.paths() {
            let Some(gw) = gw else { continue };
            let key = (gw, oif);
            let i = match self.last {
                Some((last, i)) if last == key => i,
                _ => {
                    let uses = &mut self.uses;
                    *self.index.entry(key).or_insert_with(|| {
                        uses.push(GatewayUse {
                            gateway: gw,
                            oif,
                            onlink,
                            first: route.clone(),
                            uses: 0,
                        });
                        uses.len() - 1
                    })
                }
            };
            self.uses[i].uses += 1;
            self.last = Some((key, i));
        }
    }
}

fn gateways_not_on_link(snapshot: &Snapshot, uses: &GatewayUses, out: &mut Vec<Finding>) {
    let prefixes = connected_prefixes(snapshot);
    // Judge each (gateway, device) once, and report it once with the
    // number of routes using it.
    for u in &uses.uses {
        let (gw, oif) = (u.gateway, u.oif);
        let on_link = (is_ipv6_link_local(&gw) && oif.is_some())
            || prefixes
                .iter()
                .any(|(link, net)| oif.is_none_or(|o| o == *link) && net.contains(gw));
        if on_link {
            continue;
        }
        let (onlink, route, uses) = (u.onlink, &u.first, u.uses);
        let family = Family::of(&gw);
        let dev = oif.map(|i| snapshot.link_name(i));
        let dest = super::text::destination_text(route);
        let others = if uses > 1 {
            format!(" (and {} more routes)", uses - 1)
        } else {
            String::new()
        };
        let on = dev.as_ref().map(|d| format!(" on {d}")).unwrap_or_default();
        let (severity, hint) = if onlink {
            (
                Severity::Warning,
                format!("The route is marked onlink, so the kernel sends to {gw} directly{on}; that works only if {gw} really is on that link."),
            )
        } else {
            (
                Severity::Error,
                format!("Add an address in {gw}'s prefix{on}, or use a gateway inside a connected prefix."),
            )
        };
        out.push(Finding {
            code: Code::GatewayNotOnLink,
            severity,
            family: Some(family),
            interface: dev,
            message: format!(
                "{family}: gateway {gw} of route {dest}{others} is in no connected prefix{on}"
            ),
            hint: Some(hint),
        });
    }
}

fn address_states(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for a in &snapshot.addresses {
        let iface = snapshot.link_name(a.link);
        let cidr = format!("{}/{}", a.address, a.prefix_len);
        let family = a.family;
        if a.has_flag("dadfailed") {
            out.push(Finding {
                code: Code::AddressDadfailed,
                severity: Severity::Error,
                family: Some(family),
                interface: Some(iface.clone()),
                message: format!(
                    "{family}: address {cidr} on {iface} failed duplicate address detection: another host on the link uses it, and the kernel won't"
                ),
                hint: Some(format!(
                    "Find the other holder (check the IaaS for a second VM with this IP), then re-add it: ip addr del {cidr} dev {iface} && ip addr add {cidr} dev {iface}"
                )),
            });
        } else if a.has_flag("tentative") {
            out.push(Finding {
                code: Code::AddressTentative,
                severity: Severity::Warning,
                family: Some(family),
                interface: Some(iface.clone()),
                message: format!(
                    "{family}: address {cidr} on {iface} is still tentative (duplicate address detection hasn't finished), so it can't be used yet"
                ),
                hint: Some(format!(
                    "It settles within seconds on a link with carrier; if it stays, check that {iface} has a carrier (`ip link show {iface}`)."
                )),
            });
        }
    }
}

/// Whether a family can reach beyond its links, as one banner line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilyState {
    /// A default route in the main table through an up interface.
    Ok,
    /// Default routes, but every one goes out a down interface: the family
    /// is cut off (the `default_route_via_down_interface` finding says how).
    Down,
    /// Global addresses but no default route.
    Missing,
    /// No global address on an up interface: nothing to route.
    Unconfigured,
}

/// `IPv4: default via 10.0.250.1 dev eth0` and the like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyStatus {
    pub family: Family,
    pub state: FamilyState,
    pub text: String,
}

impl fmt::Display for FamilyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The summary of one family for the dashboard's banner.
pub fn family_status(snapshot: &Snapshot, family: Family) -> FamilyStatus {
    // The route the kernel prefers: the lowest metric among those that can
    // carry traffic (a path through an up link); a default through a down
    // link only counts as "down", never as fine.
    let up = |r: &&Route| {
        r.paths().any(|(_, oif, _)| {
            oif.and_then(|i| snapshot.link(i))
                .is_some_and(|l| l.is_up())
        })
    };
    // An address that no default serves makes the family `Missing` even
    // beside a source-specific default for another prefix (as the
    // missing_default_route finding says).
    if let Some(a) = unserved_globals(snapshot, family).first() {
        return FamilyStatus {
            family,
            state: FamilyState::Missing,
            text: format!(
                "{family}: no default route ({} has {}/{})",
                snapshot.link_name(a.link),
                a.address,
                a.prefix_len
            ),
        };
    }
    // A default for every source before a source-specific one.
    let rank = |r: &&Route| (r.source.is_some() || r.tos != 0, r.metric.unwrap_or(0));
    if let Some(route) = main_defaults(snapshot, family).filter(up).min_by_key(rank) {
        return FamilyStatus {
            family,
            state: FamilyState::Ok,
            text: format!(
                "{family}: default{} {}",
                selectors(route),
                path_text(route, snapshot)
            ),
        };
    }
    if let Some(route) = main_defaults(snapshot, family).min_by_key(rank) {
        return FamilyStatus {
            family,
            state: FamilyState::Down,
            text: format!(
                "{family}: no usable default route (default{} {} is down)",
                selectors(route),
                path_text(route, snapshot)
            ),
        };
    }
    // No default at all, and no address it would have had to serve.
    FamilyStatus {
        family,
        state: FamilyState::Unconfigured,
        text: format!("{family}: no global address"),
    }
}
