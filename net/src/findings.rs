//! What is wrong with a snapshot, as a pure function of it: a family with a
//! global address and no default route above all, then broken defaults and
//! addresses that cannot be used.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::Serialize;

use crate::lines::{destination_text, path_text, route_line};
use crate::model::NeighbourState;
use crate::model::{Address, Family, Route, RouteKind, Scope, Snapshot};
use crate::neighbour::gateways;

mod fixes;
pub use fixes::{default_route_family, Fix};

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
    ExpectedAddressMissing,
    DefaultRouteUnusable,
    DefaultRouteFromRa,
    DefaultGatewayUnreachable,
    DumpInterrupted,
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
            Code::ExpectedAddressMissing => "expected_address_missing",
            Code::DefaultRouteUnusable => "default_route_unusable",
            Code::DefaultRouteFromRa => "default_route_from_ra",
            Code::DefaultGatewayUnreachable => "default_gateway_unreachable",
            Code::DumpInterrupted => "dump_interrupted",
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
    /// The configured commands that fix this, and where `hint` names them
    /// (`The config's command X does this; run: …`), for views that offer
    /// the command themselves (the dashboard's `f`); see
    /// [`Finding::advice`] and [`Expected::fixers_of`].
    #[serde(skip)]
    pub fix: Option<Fix>,
}

impl Finding {
    /// The hint without its naming of the configured command that fixes
    /// the finding.
    pub fn advice(&self) -> Option<String> {
        let hint = self.hint.as_deref()?;
        Some(
            match self
                .fix
                .as_ref()
                .map(|f| f.range.clone())
                .filter(|r| hint.get(r.clone()).is_some())
            {
                Some(r) => format!("{}{}", &hint[..r.start], &hint[r.end..]),
                None => hint.to_string(),
            },
        )
    }
}

/// What the config says the host should have: its networks (rendered by
/// the BOSH job from the manifest) and the commands that set things right.
/// Empty without a config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub networks: Vec<ExpectedNetwork>,
    pub commands: Vec<FixCommand>,
}

/// One network of the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedNetwork {
    pub name: String,
    pub family: Option<Family>,
    pub ip: Option<IpAddr>,
    pub prefix_len: Option<u8>,
    pub gateway: Option<IpAddr>,
    /// The director reserved a prefix, not one address: no interface
    /// need hold `ip`.
    pub delegated: bool,
    /// The only network of its family: `INJECT_IPV4_*`/`INJECT_IPV6_*` are its.
    pub aliased: bool,
}

/// A configured command, as far as naming it as a fix needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixCommand {
    pub name: String,
    /// Its first phase, when it is not in `errand` (then `--phase` is needed).
    pub phase: Option<String>,
    /// The network variables its run and guards use.
    pub uses: Vec<String>,
    /// The family of the default route its `run` adds, if it adds one.
    pub adds_default: Option<Family>,
    /// The finding codes its `fixes:` names.
    pub fixes: Vec<String>,
}

impl FixCommand {
    /// `inject run --only NAME` (with `--phase` when needed).
    pub fn invocation(&self) -> String {
        match &self.phase {
            Some(p) => format!("inject run --phase {p} --only {}", self.name),
            None => format!("inject run --only {}", self.name),
        }
    }
}

impl Expected {
    pub fn from_config(config: &inject_errands::config::Config) -> Expected {
        use inject_errands::config::Phase;
        use inject_errands::netenv;
        let families = netenv::by_family(config);
        let networks = config
            .networks
            .iter()
            .map(|(name, n)| {
                let family = n.family();
                let aliased = n
                    .family()
                    .and_then(|f| families.get(&f))
                    .is_some_and(|names| names.len() == 1);
                ExpectedNetwork {
                    name: name.clone(),
                    family,
                    ip: n.address(),
                    prefix_len: n.prefix_len(),
                    gateway: n.gateway_address(),
                    delegated: n.is_delegated_prefix(),
                    aliased,
                }
            })
            .collect::<Vec<ExpectedNetwork>>();
        let commands = config
            .commands
            .iter()
            .map(|c| FixCommand {
                adds_default: default_route_family(&c.run, &networks),
                fixes: c.fixes.clone(),
                name: c.name.clone(),
                phase: (!c.in_phase(Phase::Errand))
                    .then(|| c.phases.first().map(|p| p.to_string()))
                    .flatten(),
                uses: netenv::used_by(c).into_iter().map(|r| r.name).collect(),
            })
            .collect();
        Expected { networks, commands }
    }

    /// Networks known by their gateways alone (no address, no commands).
    pub fn with_gateways(gateways: &[IpAddr]) -> Expected {
        let networks = gateways
            .iter()
            .enumerate()
            .map(|(i, gw)| ExpectedNetwork {
                name: format!("net{i}"),
                family: Some(Family::of(gw)),
                ip: None,
                prefix_len: None,
                gateway: Some(*gw),
                delegated: false,
                aliased: false,
            })
            .collect();
        Expected {
            networks,
            commands: Vec::new(),
        }
    }

    /// The gateways of the config's networks.
    pub fn gateways(&self) -> Vec<IpAddr> {
        self.networks.iter().filter_map(|n| n.gateway).collect()
    }

    /// The configured command that uses `field` of `network`, by its own
    /// name or its family's alias: the one that fixes what concerns it.
    pub fn fixer(&self, network: &ExpectedNetwork, field: &str) -> Option<&FixCommand> {
        let own = format!(
            "INJECT_NET_{}_{field}",
            inject_errands::config::env_name(&network.name)
        );
        let alias = network.family.filter(|_| network.aliased).map(|f| {
            format!(
                "INJECT_{}_{field}",
                match f {
                    Family::Ipv4 => "IPV4",
                    Family::Ipv6 => "IPV6",
                }
            )
        });
        self.commands.iter().find(|c| {
            c.uses
                .iter()
                .any(|u| *u == own || Some(u) == alias.as_ref())
        })
    }
}

/// The expected networks of the config from [`Expected::from_config`];
/// kept for callers that only had a config.
pub fn config_gateways(config: &inject_errands::config::Config) -> Expected {
    Expected::from_config(config)
}

/// [`findings_with`] without a config.
pub fn findings(snapshot: &Snapshot) -> Vec<Finding> {
    findings_with(snapshot, &Expected::default())
}

/// Everything wrong with `snapshot`, errors first. `expected` is what the
/// config says (networks rendered from the BOSH manifest, commands): a
/// network's address that no interface holds is a finding, a gateway that
/// lies in an interface's prefix completes the hint's command for that
/// interface, and a configured command that fixes a finding is named.
pub fn findings_with(snapshot: &Snapshot, expected: &Expected) -> Vec<Finding> {
    let mut uses = GatewayUses::default();
    snapshot.routes.iter().for_each(|r| uses.add(r));
    findings_of_summary(snapshot, &uses, expected)
}

/// [`findings_with`] from a summary of a snapshot, as `inject status`
/// gathers one while it writes the routes out: `snapshot` holds only the
/// routes [`reads_route`] names (the rest are in `uses`), and every route's
/// gateways went through `uses`.
pub fn findings_of_summary(
    snapshot: &Snapshot,
    uses: &GatewayUses,
    expected: &Expected,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let gateways = expected.gateways();
    expected_addresses(snapshot, expected, &mut out);
    for family in Family::BOTH {
        missing_default(snapshot, family, &gateways, &mut out);
        duplicate_defaults(snapshot, family, &mut out);
        unusable_default(snapshot, family, &mut out);
    }
    defaults_from_ra(snapshot, expected, &mut out);
    defaults_via_down_links(snapshot, &mut out);
    gateways_not_on_link(snapshot, uses, &mut out);
    address_states(snapshot, &mut out);
    unreachable_gateways(snapshot, &mut out);
    interrupted_dumps(snapshot, &mut out);
    fixes::name_fixes(&mut out, expected, snapshot);
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
    match (family, snapshot.networkd.get(&iface)) {
        // Jammy/Noble stemcells: networkd configures the NIC and handles
        // router advertisements itself; the kernel's accept_ra stays 0.
        (_, Some(file)) => {
            let ra = match (family, file.ipv6_accept_ra) {
                (Family::Ipv6, Some(true)) => " It has IPv6AcceptRA=true, so networkd itself (not the kernel: accept_ra=0 is expected) takes a default route from router advertisements; none came: the router sends none, or they do not reach the VM.".to_string(),
                (Family::Ipv6, _) => " It does not set IPv6AcceptRA=true, so no router advertisement brings a default route.".to_string(),
                _ => String::new(),
            };
            let gw = if file.gateways.is_empty() {
                " The file has no Gateway=: BOSH writes one only for the network with `default: [gateway]`."
            } else {
                ""
            };
            hint.push(format!(
                "systemd-networkd configures {iface} ({}).{ra}{gw} A default added by hand does not last there: `networkctl reconfigure` removes routes networkd did not make (ManageForeignRoutes=yes, its default), and no file of yours does (the agent deletes what it did not write); a command tagged `ensure` keeps it.",
                file.path
            ));
        }
        (Family::Ipv6, None) => match snapshot.accept_ra.get(&iface) {
            Some(0) => hint.push(format!(
                "Router advertisements are off on {iface} (accept_ra=0, as BOSH stemcells ship), so no router can supply one; BOSH gives the gateway to one NIC only."
            )),
            Some(n) => hint.push(format!(
                "{iface} accepts router advertisements (accept_ra={n}) but none brought a default route: check the router, or add one."
            )),
            None => {}
        },
        (Family::Ipv4, None) => {}
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
    let hint = hint.join(" ");
    out.push(Finding {
        code: Code::MissingDefaultRoute,
        severity: Severity::Error,
        family: Some(family),
        interface: Some(iface),
        message,
        hint: Some(hint),
        fix: None,
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
            fix: None,
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
                    fix: None,
                });
            }
        }
    }
}

/// A network of the config says IP X, and no interface holds X.
fn expected_addresses(snapshot: &Snapshot, expected: &Expected, out: &mut Vec<Finding>) {
    for net in &expected.networks {
        let (Some(ip), Some(family)) = (net.ip, net.family) else {
            continue;
        };
        if net.delegated || snapshot.addresses.iter().any(|a| a.address == ip) {
            continue;
        }
        let cidr = match net.prefix_len {
            Some(len) => format!("{ip}/{len}"),
            None => ip.to_string(),
        };
        let usable = |l: &&crate::Link| !l.is_loopback();
        // The NIC it belongs on: the networkd file that names the address,
        // else a NIC with an address in its prefix, else the one NIC where
        // IPv6 is disabled, else the one that is down.
        let by_file = snapshot.networkd.iter().find_map(|(name, f)| {
            f.addresses
                .iter()
                .any(|a| a.split('/').next().and_then(|a| a.parse::<IpAddr>().ok()) == Some(ip))
                .then_some(name.clone())
        });
        let by_prefix = || {
            let len = net.prefix_len?;
            let prefix = IpNetwork::new(ip, len).ok()?;
            snapshot
                .addresses
                .iter()
                .find(|a| a.family == family && a.is_global() && prefix.contains(a.address))
                .map(|a| snapshot.link_name(a.link))
        };
        let only = |keep: &dyn Fn(&crate::Link) -> bool| {
            let mut found = snapshot.links.iter().filter(usable).filter(|l| keep(l));
            match (found.next(), found.next()) {
                (Some(l), None) => Some(l.name.clone()),
                _ => None,
            }
        };
        let disabled = |l: &crate::Link| snapshot.disable_ipv6.get(&l.name) == Some(&1);
        // On a BOSH VM every NIC holds its network's address: one with no
        // global address at all is the one that lost it.
        let bare = |l: &crate::Link| {
            !snapshot
                .addresses_of(l.index)
                .any(|a| a.is_global() && !a.has_flag("dadfailed"))
        };
        let nic = by_file
            .or_else(by_prefix)
            .or_else(|| (family == Family::Ipv6).then(|| only(&disabled)).flatten())
            .or_else(|| only(&|l: &crate::Link| !l.is_up()))
            .or_else(|| only(&bare))
            .or_else(|| only(&|_: &crate::Link| true));
        let link = nic.as_deref().and_then(|n| snapshot.link_by_name(n));
        let (cause, fix) = match (nic.as_deref(), link) {
            (Some(n), None) => (
                format!("there is no interface {n}"),
                "Check the VM's NICs in the IaaS (the agent names them by MAC address).".to_string(),
            ),
            (Some(n), Some(l)) if family == Family::Ipv6 && disabled(l) => (
                format!("IPv6 is disabled on {n} (disable_ipv6=1), which removes its IPv6 addresses"),
                format!(
                    "Enable it and put the address back: sysctl -w net.ipv6.conf.{n}.disable_ipv6=0 && ip -6 addr add {cidr} dev {n}"
                ),
            ),
            (Some(n), Some(l)) if !l.is_up() => (
                format!("{n} is {}", if l.has_flag("UP") { l.state.to_string() } else { "down".to_string() }),
                format!("Bring it up: ip link set {n} up (then check the address: ip addr show dev {n})"),
            ),
            // Under networkd the address comes back with the link; a route
            // added by hand does not.
            (Some(n), Some(_)) if snapshot.networkd.contains_key(n) => (
                format!("{n} has lost it (a NIC restart or `ip addr flush` removes addresses; systemd-networkd, which configures it, puts the address back only when the link next goes down and up or on `networkctl reconfigure`, and never a route it did not make)"),
                format!("Put it back: ip {} addr add {cidr} dev {n}", family.ip_flag()),
            ),
            (Some(n), Some(_)) => (
                format!("{n} has lost it (a NIC restart or `ip addr flush` removes addresses; nothing puts them back until the next boot or deploy)"),
                format!("Put it back: ip {} addr add {cidr} dev {n}", family.ip_flag()),
            ),
            (None, _) => (
                "none looks like its NIC".to_string(),
                format!("Put it back on the NIC it belongs to: ip {} addr add {cidr} dev <nic>", family.ip_flag()),
            ),
        };
        let on = nic
            .as_deref()
            .map(|n| format!(" on {n}"))
            .unwrap_or_default();
        let networkd = nic
            .as_deref()
            .and_then(|n| snapshot.networkd.get(n))
            .map(|f| {
                format!(
                    " systemd-networkd configures it ({}): `networkctl reconfigure {1}` applies that file again, and also removes every route on {1} networkd did not make (ManageForeignRoutes=yes, its default), the IPv6 default inject added included; a command tagged `ensure` is what puts such a route back (inject ensure).",
                    f.path,
                    nic.as_deref().unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let waits = if net.aliased {
            format!(
                " Until then commands get no $INJECT_NET_{0}_INTERFACE (nor $INJECT_{1}_INTERFACE).",
                inject_errands::config::env_name(&net.name),
                if family == Family::Ipv6 { "IPV6" } else { "IPV4" }
            )
        } else {
            format!(
                " Until then commands get no $INJECT_NET_{}_INTERFACE.",
                inject_errands::config::env_name(&net.name)
            )
        };
        out.push(Finding {
            code: Code::ExpectedAddressMissing,
            severity: Severity::Error,
            family: Some(family),
            interface: nic.clone(),
            message: format!(
                "{family}: network `{}` gives this VM {cidr}{on}, but no interface holds it: {cause}",
                net.name
            ),
            hint: Some(format!("{}{networkd} {fix}", waits.trim_start())),
            fix: None,
        });
    }
}

/// The default routes an ordinary lookup of `family` considers (main
/// table, any source, TOS 0), of every kind.
fn plain_defaults(snapshot: &Snapshot, family: Family) -> impl Iterator<Item = &Route> {
    snapshot
        .routes_of(family)
        .filter(|r| r.in_main_table() && r.is_default() && r.source.is_none() && r.tos == 0)
}

/// The route kinds that refuse traffic.
fn is_reject(kind: RouteKind) -> bool {
    matches!(
        kind,
        RouteKind::UNREACHABLE | RouteKind::BLACKHOLE | RouteKind::PROHIBIT
    )
}

/// The default the kernel picks for `family` when it refuses traffic: the
/// lowest metric wins (as `ip route get` shows), and a reject route with a
/// metric no higher than every unicast default's is the one used. Also the
/// unicast defaults it hides.
fn rejecting_default(snapshot: &Snapshot, family: Family) -> Option<(&Route, Vec<&Route>)> {
    let metric = |r: &Route| r.metric.unwrap_or(0);
    let reject = plain_defaults(snapshot, family)
        .filter(|r| is_reject(r.kind))
        .min_by_key(|r| metric(r))?;
    let unicast: Vec<&Route> = plain_defaults(snapshot, family)
        .filter(|r| r.kind == RouteKind::UNICAST)
        .collect();
    if unicast.iter().any(|u| metric(u) < metric(reject)) {
        return None;
    }
    Some((reject, unicast))
}

fn unusable_default(snapshot: &Snapshot, family: Family, out: &mut Vec<Finding>) {
    let Some((reject, hidden)) = rejecting_default(snapshot, family) else {
        return;
    };
    let line = route_line(reject, snapshot);
    let hides = if hidden.is_empty() {
        String::new()
    } else {
        let lines: Vec<String> = hidden.iter().map(|r| route_line(r, snapshot)).collect();
        format!("; it hides {} by its lower metric", lines.join(", "))
    };
    let metric = reject
        .metric
        .map(|m| format!(" metric {m}"))
        .unwrap_or_default();
    out.push(Finding {
        code: Code::DefaultRouteUnusable,
        severity: Severity::Error,
        family: Some(family),
        interface: None,
        message: format!(
            "{family}: the default route the kernel uses is `{line}`, which refuses traffic, so nothing off-link is reachable (`ip {} route get` fails){hides}",
            family.ip_flag()
        ),
        hint: Some(format!(
            "Delete it if nothing needs it: ip {} route del {} default{metric}",
            family.ip_flag(),
            reject.kind
        )),
        fix: None,
    });
}

/// IPv6 defaults from router advertisements (`proto ra`) that do not go
/// via the gateway the config gives the network on that interface.
fn defaults_from_ra(snapshot: &Snapshot, expected: &Expected, out: &mut Vec<Finding>) {
    for route in plain_defaults(snapshot, Family::Ipv6)
        .filter(|r| r.protocol == super::model::Protocol::RA && r.kind == RouteKind::UNICAST)
    {
        for (gw, oif, _) in route.paths() {
            let (Some(gw), Some(oif)) = (gw, oif) else {
                continue;
            };
            let Some(net) = expected.networks.iter().find(|n| {
                n.family == Some(Family::Ipv6)
                    && n.gateway.is_some()
                    && n.ip.is_some_and(|ip| {
                        snapshot
                            .addresses
                            .iter()
                            .any(|a| a.address == ip && a.link == oif)
                    })
            }) else {
                continue;
            };
            let configured_gw = net.gateway.unwrap_or(gw);
            let also_configured = plain_defaults(snapshot, Family::Ipv6).any(|r| {
                r.protocol != super::model::Protocol::RA
                    && r.paths().any(|(g, _, _)| g == Some(configured_gw))
            });
            if configured_gw == gw || also_configured {
                continue;
            }
            let dev = snapshot.link_name(oif);
            let fix = expected.fixer(net, "GATEWAY");
            let replaced = match fix {
                Some(c) => format!(
                    " The config's command {} replaces the default with the network's gateway whenever its guard says no (the example's guard, `ip -6 route get 2000::1`, counts the router's default and leaves it alone); the next advertisement adds the router's default back beside it, and `inject ensure` then yields to the router rather than repairing in a loop: pick one of the two.",
                    c.name
                ),
                None => String::new(),
            };
            out.push(Finding {
                code: Code::DefaultRouteFromRa,
                severity: Severity::Warning,
                family: Some(Family::Ipv6),
                interface: Some(dev.clone()),
                message: format!(
                    "IPv6: the default via {gw} dev {dev} comes from router advertisements (proto ra), not via network `{}`'s gateway {configured_gw}",
                    net.name
                ),
                hint: Some(format!(
                    "Traffic works if the router is right; if the config's gateway is the one to use, the router's advertisements disagree with the manifest.{replaced}"
                )),
                fix: None,
            });
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
        let dest = destination_text(route);
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
            fix: None,
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
                fix: None,
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
                fix: None,
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

/// `default_gateway_unreachable`: a default whose gateway the kernel
/// failed to resolve (every ARP request / neighbour solicitation went
/// unanswered), so everything it carries is dropped at the first hop.
fn unreachable_gateways(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for g in gateways(snapshot) {
        if g.state != Some(NeighbourState::Failed) {
            continue;
        }
        let (proto, show) = match g.family {
            Family::Ipv4 => ("ARP", "ip neigh show"),
            Family::Ipv6 => ("neighbour discovery", "ip -6 neigh show"),
        };
        out.push(Finding {
            code: Code::DefaultGatewayUnreachable,
            severity: Severity::Error,
            family: Some(g.family),
            interface: Some(g.interface.clone()),
            message: format!(
                "{}: the default route's gateway {} does not answer on {} (neighbour state FAILED: no {proto} reply), so off-link traffic is dropped at the first hop",
                g.family, g.gateway, g.interface
            ),
            hint: Some(format!(
                "Check the gateway address (the network's gateway in the BOSH manifest), that the router is up, and the VLAN of {}'s port; {show} {} dev {}; check again with: inject status --probe",
                g.interface, g.gateway, g.interface
            )),
            fix: None,
        });
    }
}

/// `dump_interrupted`: what the kernel changed while it was read, on every
/// try, so the report may miss entries or show some twice.
fn interrupted_dumps(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    for what in &snapshot.interrupted {
        out.push(Finding {
            code: Code::DumpInterrupted,
            severity: Severity::Warning,
            family: None,
            interface: None,
            message: format!(
                "{what}: Dump was interrupted and may be inconsistent (the kernel changed the table while it was read, {} times in a row)",
                super::read::TRIES
            ),
            hint: Some(
                "Something is changing it right now (a routing daemon, a flapping link): run inject status again, or watch the changes with inject status --watch".to_string(),
            ),
            fix: None,
        });
    }
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
    // A refusing default the kernel picks over the unicast ones.
    if let Some((reject, _)) = rejecting_default(snapshot, family) {
        return FamilyStatus {
            family,
            state: FamilyState::Down,
            text: format!(
                "{family}: no usable default route (the kernel uses `{}`)",
                route_line(reject, snapshot)
            ),
        };
    }
    // A default for every source before a source-specific one.
    let rank = |r: &&Route| (r.source.is_some() || r.tos != 0, r.metric.unwrap_or(0));
    if let Some(route) = main_defaults(snapshot, family).filter(up).min_by_key(rank) {
        let ra = if route.protocol == super::model::Protocol::RA {
            " (proto ra: from router advertisements)"
        } else {
            ""
        };
        return FamilyStatus {
            family,
            state: FamilyState::Ok,
            text: format!(
                "{family}: default{} {}{ra}",
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
