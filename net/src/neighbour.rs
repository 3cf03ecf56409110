//! Whether each family's default gateway answers at the link layer: the
//! kernel's neighbour (ARP/NDP) entry for it, read with the snapshot, and
//! on request an active probe.
//!
//! The probe asks the kernel itself to resolve the gateway, so nothing but
//! ARP requests or neighbour solicitations leave the host, and only onto
//! the gateway's link: an entry that has a link-layer address is set to
//! `NUD_PROBE` (`ip neigh replace GW dev DEV nud probe`: the kernel sends
//! unicast probes to that address at once); one without (none yet, or
//! FAILED) is "used" (`NTF_USE`, `ip neigh replace GW dev DEV use`: the
//! kernel starts resolution as for an outgoing packet, broadcasting ARP or
//! multicasting NDP). A UDP socket connected to the gateway would not do:
//! `connect` only looks the route up, and a datagram would be traffic to
//! the router, not a question to the link.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::lines::escape_controls;
use crate::model::{Family, NeighbourState, Route, Snapshot};
use crate::read::{NetError, Reader};

/// A default route's gateway and what the kernel knows of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gateway {
    pub family: Family,
    pub gateway: IpAddr,
    /// The interface index the default sends through.
    #[serde(skip)]
    pub link: u32,
    /// The interface's name (`if<N>` when gone).
    pub interface: String,
    /// The neighbour entry's state; `None`: no entry (nothing was sent to
    /// the gateway lately, or the entry was dropped).
    pub state: Option<NeighbourState>,
}

impl Gateway {
    /// `REACHABLE`, or `no neighbour entry`.
    pub fn state_text(&self) -> &'static str {
        match self.state {
            Some(s) => s.as_str(),
            None => "no neighbour entry",
        }
    }

    /// `IPv4: gateway 10.0.250.1 on eth0: REACHABLE (answers ARP)`.
    pub fn line(&self) -> String {
        let proto = match self.family {
            Family::Ipv4 => "ARP",
            Family::Ipv6 => "neighbour discovery",
        };
        let meaning = match self.state {
            Some(NeighbourState::Reachable) => format!("answers {proto}"),
            Some(NeighbourState::Stale) => format!("answered {proto}, not checked lately"),
            Some(NeighbourState::Delay | NeighbourState::Probe) => "being checked".to_string(),
            Some(NeighbourState::Incomplete) => "being resolved, no answer yet".to_string(),
            Some(NeighbourState::Failed) => format!("does not answer {proto}"),
            Some(NeighbourState::Noarp) => "a link without ARP/NDP".to_string(),
            Some(NeighbourState::Permanent) => "set by hand, never checked".to_string(),
            Some(NeighbourState::None) | None => "not resolved lately; --probe checks".to_string(),
        };
        format!(
            "{}: gateway {} on {}: {} ({meaning})",
            self.family,
            self.gateway,
            escape_controls(&self.interface),
            self.state_text()
        )
    }
}

/// The gateways of the main table's unicast default routes, each
/// (gateway, interface) once, IPv4 first, with their neighbour state.
pub fn gateways(snapshot: &Snapshot) -> Vec<Gateway> {
    let mut out: Vec<Gateway> = Vec::new();
    for family in Family::BOTH {
        let defaults = snapshot
            .routes_of(family)
            .filter(|r| r.in_main_table() && r.is_unicast_default());
        for (gateway, link) in defaults.flat_map(paths) {
            if out.iter().any(|g| g.gateway == gateway && g.link == link) {
                continue;
            }
            let state = snapshot
                .neighbours
                .iter()
                .find(|n| n.address == gateway && n.link == link)
                .map(|n| n.state);
            out.push(Gateway {
                family,
                gateway,
                link,
                interface: snapshot.link_name(link),
                state,
            });
        }
    }
    out
}

/// A route's (gateway, interface) paths that have both.
fn paths(route: &Route) -> impl Iterator<Item = (IpAddr, u32)> + '_ {
    route.paths().filter_map(|(gw, oif, _)| Some((gw?, oif?)))
}

/// How long a probe waits for the kernel's verdict: resolution sends
/// `mcast_solicit` (3) solicitations a `retrans_time` (1 s) apart before
/// FAILED; a unicast probe `ucast_solicit` (3) likewise; the rest is room
/// for a loaded host. An answer ends the wait at once.
pub const PROBE_WAIT: Duration = Duration::from_secs(5);

/// Make the kernel check each default's gateway now (see the module's
/// text for how), wait until every answer is in or [`PROBE_WAIT`] passed,
/// and put the neighbour entries read then into `snapshot`. Needs
/// CAP_NET_ADMIN; a refused probe is reported as an error naming the
/// gateway.
pub fn probe(snapshot: &mut Snapshot) -> Result<(), NetError> {
    let targets = gateways(snapshot);
    if targets.is_empty() {
        return Ok(());
    }
    let mut reader = Reader::open()?;
    for g in &targets {
        let has_lladdr = snapshot
            .neighbours
            .iter()
            .any(|n| n.address == g.gateway && n.link == g.link && n.has_lladdr);
        reader.probe_neighbour(g.link, g.gateway, has_lladdr)?;
    }
    let start = Instant::now();
    loop {
        snapshot.neighbours = reader.neighbours()?;
        let pending = gateways(snapshot)
            .iter()
            .any(|g| g.state.is_none_or(NeighbourState::is_pending));
        if !pending || start.elapsed() >= PROBE_WAIT {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::{gateways, Gateway};
    use crate::findings::{findings, Code, Severity};
    use crate::fixtures;
    use crate::model::{Family, Neighbour, NeighbourState};
    use crate::text;

    fn with_gateway(state: NeighbourState) -> crate::Snapshot {
        let mut s = fixtures::seed_vm_fixed();
        s.neighbours.push(Neighbour {
            link: 2,
            address: "10.0.250.1".parse().unwrap(),
            state,
            has_lladdr: state != NeighbourState::Failed,
        });
        s
    }

    #[test]
    fn a_failed_gateway_is_an_error_with_what_to_check() {
        let s = with_gateway(NeighbourState::Failed);
        let found = findings(&s);
        let f = found
            .iter()
            .find(|f| f.code == Code::DefaultGatewayUnreachable)
            .expect("finding");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.family, Some(Family::Ipv4));
        assert_eq!(f.interface.as_deref(), Some("eth0"));
        assert!(
            f.message.contains("10.0.250.1 does not answer on eth0"),
            "{}",
            f.message
        );
        let hint = f.hint.as_deref().unwrap();
        assert!(hint.contains("gateway address") && hint.contains("router is up"));
        assert!(hint.contains("VLAN") && hint.contains("inject status --probe"));
    }

    #[test]
    fn a_gateway_that_answers_or_is_unknown_is_no_finding_but_is_shown() {
        for state in [
            Some(NeighbourState::Reachable),
            Some(NeighbourState::Stale),
            None,
        ] {
            let s = match state {
                Some(st) => with_gateway(st),
                None => fixtures::seed_vm_fixed(),
            };
            assert!(!findings(&s)
                .iter()
                .any(|f| f.code == Code::DefaultGatewayUnreachable));
            let g: Vec<Gateway> = gateways(&s)
                .into_iter()
                .filter(|g| g.family == Family::Ipv4)
                .collect();
            assert_eq!(g.len(), 1);
            assert_eq!(g[0].state, state);
            let report = text::render(&s, &findings(&s), false);
            let want = match state {
                Some(NeighbourState::Reachable) => {
                    "IPv4: gateway 10.0.250.1 on eth0: REACHABLE (answers ARP)"
                }
                Some(_) => "IPv4: gateway 10.0.250.1 on eth0: STALE (answered ARP, not checked lately)",
                None => "IPv4: gateway 10.0.250.1 on eth0: no neighbour entry (not resolved lately; --probe checks)",
            };
            assert!(report.lines().any(|l| l == want), "{report}");
        }
    }

    #[test]
    fn an_entry_on_another_link_is_not_the_gateways() {
        let mut s = with_gateway(NeighbourState::Failed);
        s.neighbours[0].link = 3;
        assert_eq!(gateways(&s)[0].state, None);
    }
}
