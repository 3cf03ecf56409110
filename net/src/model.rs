//! The snapshot's plain data: links, addresses and routes as the kernel
//! reports them, with no netlink types leaking out (the dashboard and the
//! findings work on these, and fixtures build them by hand).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Serialize, Serializer};

/// The kernel's main routing table (`RT_TABLE_MAIN`).
pub const MAIN_TABLE: u32 = 254;

pub use inject_errands::family::Family;

/// RFC 2863 operational state, named as `ip -br link` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OperState {
    #[serde(rename = "UP")]
    Up,
    #[serde(rename = "DOWN")]
    Down,
    #[serde(rename = "LOWERLAYERDOWN")]
    LowerLayerDown,
    #[serde(rename = "DORMANT")]
    Dormant,
    #[serde(rename = "TESTING")]
    Testing,
    #[serde(rename = "NOTPRESENT")]
    NotPresent,
    /// Loopback and many virtual devices never report a state.
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

impl OperState {
    pub fn as_str(self) -> &'static str {
        match self {
            OperState::Up => "UP",
            OperState::Down => "DOWN",
            OperState::LowerLayerDown => "LOWERLAYERDOWN",
            OperState::Dormant => "DORMANT",
            OperState::Testing => "TESTING",
            OperState::NotPresent => "NOTPRESENT",
            OperState::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for OperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub state: OperState,
    /// Interface flags in iproute2's spelling: `UP`, `BROADCAST`, `LOOPBACK`,
    /// `MULTICAST`, `LOWER_UP`, …
    pub flags: Vec<String>,
    pub mtu: Option<u32>,
    /// `aa:bb:cc:dd:ee:ff`; none for devices without a hardware address.
    pub mac: Option<String>,
}

impl Link {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn is_loopback(&self) -> bool {
        self.has_flag("LOOPBACK")
    }

    /// Administratively up and not reported down by its driver: the state
    /// in which the kernel will send through it. `UNKNOWN` counts as up
    /// (loopback, tunnels and dummies never report a state).
    pub fn is_up(&self) -> bool {
        self.has_flag("UP")
            && matches!(
                self.state,
                OperState::Up | OperState::Unknown | OperState::Dormant
            )
    }
}

/// An address scope (`RT_SCOPE_*`), shared by addresses and routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(pub u8);

impl Scope {
    pub const GLOBAL: Scope = Scope(0);
    pub const SITE: Scope = Scope(200);
    pub const LINK: Scope = Scope(253);
    pub const HOST: Scope = Scope(254);
    pub const NOWHERE: Scope = Scope(255);
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scope::GLOBAL => f.write_str("global"),
            Scope::SITE => f.write_str("site"),
            Scope::LINK => f.write_str("link"),
            Scope::HOST => f.write_str("host"),
            Scope::NOWHERE => f.write_str("nowhere"),
            Scope(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An address on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Address {
    /// Index of the link the address is on.
    pub link: u32,
    pub family: Family,
    pub address: IpAddr,
    pub prefix_len: u8,
    pub scope: Scope,
    /// Address flags as iproute2 spells them: `tentative`, `dadfailed`,
    /// `deprecated`, `permanent`, `nodad`, `secondary`, …
    pub flags: Vec<String>,
}

impl Address {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The connected prefix (`10.0.250.0/24` for `10.0.250.10/24`).
    pub fn network(&self) -> Option<IpNetwork> {
        IpNetwork::new(self.address, self.prefix_len).ok()
    }

    /// A global-scope unicast address (not link-local, not host).
    pub fn is_global(&self) -> bool {
        self.scope == Scope::GLOBAL
    }
}

/// A route's protocol (`RTPROT_*`): who installed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Protocol(pub u8);

impl Protocol {
    pub const UNSPEC: Protocol = Protocol(0);
    pub const REDIRECT: Protocol = Protocol(1);
    pub const KERNEL: Protocol = Protocol(2);
    /// What `ip route add` uses unless told otherwise; iproute2 hides it.
    pub const BOOT: Protocol = Protocol(3);
    pub const STATIC: Protocol = Protocol(4);
    pub const RA: Protocol = Protocol(9);
    pub const DHCP: Protocol = Protocol(16);
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The names of iproute2's /etc/iproute2/rt_protos.
        let name = match self.0 {
            0 => "unspec",
            1 => "redirect",
            2 => "kernel",
            3 => "boot",
            4 => "static",
            8 => "gated",
            9 => "ra",
            10 => "mrt",
            11 => "zebra",
            12 => "bird",
            13 => "dnrouted",
            14 => "xorp",
            15 => "ntk",
            16 => "dhcp",
            17 => "mrouted",
            18 => "keepalived",
            42 => "babel",
            186 => "bgp",
            187 => "isis",
            188 => "ospf",
            189 => "rip",
            192 => "eigrp",
            n => return write!(f, "{n}"),
        };
        f.write_str(name)
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A route's type (`RTN_*`). Only unicast routes carry traffic to a
/// gateway; `unreachable`/`blackhole`/`prohibit` defaults don't count as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteKind(pub u8);

impl RouteKind {
    pub const UNICAST: RouteKind = RouteKind(1);
    pub const LOCAL: RouteKind = RouteKind(2);
    pub const BROADCAST: RouteKind = RouteKind(3);
    pub const ANYCAST: RouteKind = RouteKind(4);
    pub const MULTICAST: RouteKind = RouteKind(5);
    pub const BLACKHOLE: RouteKind = RouteKind(6);
    pub const UNREACHABLE: RouteKind = RouteKind(7);
    pub const PROHIBIT: RouteKind = RouteKind(8);
    pub const THROW: RouteKind = RouteKind(9);
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "none",
            1 => "unicast",
            2 => "local",
            3 => "broadcast",
            4 => "anycast",
            5 => "multicast",
            6 => "blackhole",
            7 => "unreachable",
            8 => "prohibit",
            9 => "throw",
            10 => "nat",
            11 => "xresolve",
            n => return write!(f, "{n}"),
        };
        f.write_str(name)
    }
}

impl Serialize for RouteKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One path of a multipath (ECMP) route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NextHop {
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// iproute2's weight: the kernel's `rtnh_hops` + 1.
    pub weight: u16,
    /// `onlink`: the gateway is taken as on the link even outside any prefix.
    pub onlink: bool,
}

/// A route of the main table (or a default route of another table: kept so
/// the findings can say "there is one, but not where the lookup goes").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    pub family: Family,
    /// The destination prefix; prefix length 0 is the default route.
    #[serde(serialize_with = "serialize_display")]
    pub destination: IpNetwork,
    /// The source prefix (`from`, IPv6 source-specific routing): the route
    /// serves only packets whose source is inside it. `None` serves any
    /// source. Part of the route's identity: `default via X` and `default
    /// from P via X` are two routes.
    #[serde(serialize_with = "serialize_option_display")]
    pub source: Option<IpNetwork>,
    /// IPv4 TOS the route matches (`tos 0x10`); 0 matches any. Part of
    /// the route's identity like `source`. Always 0 for IPv6.
    pub tos: u8,
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// The route's priority (`metric`); IPv4 routes may have none.
    pub metric: Option<u32>,
    pub protocol: Protocol,
    pub scope: Scope,
    pub kind: RouteKind,
    pub table: u32,
    /// Preferred source address (`src`).
    pub prefsrc: Option<IpAddr>,
    pub onlink: bool,
    /// Paths of a multipath route; empty for a single-path route, whose
    /// gateway and oif are on the route itself.
    pub nexthops: Vec<NextHop>,
}

impl Route {
    pub fn is_default(&self) -> bool {
        self.destination.prefix() == 0
    }

    /// A unicast default route: the kind that takes traffic off the host.
    pub fn is_unicast_default(&self) -> bool {
        self.is_default() && self.kind == RouteKind::UNICAST
    }

    pub fn in_main_table(&self) -> bool {
        self.table == MAIN_TABLE
    }

    /// Whether the route serves traffic from `address` with TOS 0, as
    /// ordinary traffic has: no source prefix or one holding the address,
    /// and no TOS selector.
    pub fn serves_source(&self, address: IpAddr) -> bool {
        self.tos == 0 && self.source.is_none_or(|p| p.contains(address))
    }

    /// Every (gateway, oif, onlink) path of the route: the route's own for a
    /// single-path route, else its next hops. (An iterator: the findings walk
    /// this for every route of a 100 000-route table.)
    pub fn paths(&self) -> impl Iterator<Item = (Option<IpAddr>, Option<u32>, bool)> + '_ {
        let own = self
            .nexthops
            .is_empty()
            .then_some((self.gateway, self.oif, self.onlink));
        own.into_iter()
            .chain(self.nexthops.iter().map(|h| (h.gateway, h.oif, h.onlink)))
    }
}

fn serialize_display<T: fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// `null`, or the value's text (a prefix as CIDR text).
pub(crate) fn serialize_option_display<T: fmt::Display, S: Serializer>(
    value: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// Everything `inject status` reads at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub links: Vec<Link>,
    pub addresses: Vec<Address>,
    pub routes: Vec<Route>,
    /// `net.ipv6.conf.<if>.accept_ra` per interface name, where readable.
    pub accept_ra: BTreeMap<String, i64>,
    /// `net.ipv6.conf.<if>.disable_ipv6` per interface name, where readable.
    pub disable_ipv6: BTreeMap<String, i64>,
    /// The kernel's neighbour (ARP/NDP) entries for IP addresses: whether
    /// a default's gateway answers at the link layer (see `neighbour`).
    pub neighbours: Vec<Neighbour>,
    /// The dumps the kernel marked interrupted (`NLM_F_DUMP_INTR`: the
    /// table changed while it was read) on every try: `IPv4 routes`, …
    pub interrupted: Vec<String>,
    /// systemd-networkd's `.network` file for each interface one names
    /// (`[Match] Name=`): what BOSH's Jammy/Noble stemcells configure NICs
    /// with (`/etc/systemd/network/10_<if>.network`).
    pub networkd: BTreeMap<String, NetworkdFile>,
    /// Every route, packed, when the snapshot was read for the dashboard
    /// ([`crate::packed::read_packed_blocking`]): `routes` then holds only the
    /// routes the findings read one by one ([`crate::findings::reads_route`]:
    /// defaults, connected prefixes), and the findings need this store's
    /// gateway counts over the whole store besides.
    /// `None` for a whole snapshot (`routes` holds every route).
    #[serde(skip)]
    pub packed: Option<Box<crate::store::RouteStore>>,
    /// `Some(n)`: the route dump is still being read, `n` routes so far
    /// ([`crate::packed::read_in_steps`]); links and addresses are whole but
    /// `routes` is empty, so nothing about routes may be concluded from it.
    /// The dashboard draws its first frame from such a snapshot.
    #[serde(skip)]
    pub reading_routes: Option<usize>,
}

/// A neighbour entry's state (`NUD_*`), named as `ip neigh` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NeighbourState {
    /// Resolution under way: solicitations sent, no answer yet.
    Incomplete,
    /// Answered recently.
    Reachable,
    /// Answered once, not confirmed lately (the kernel re-checks on use).
    Stale,
    /// Waiting a moment for upper-layer confirmation before probing.
    Delay,
    /// Unicast probes sent, no answer yet.
    Probe,
    /// Every solicitation went unanswered.
    Failed,
    /// A device without ARP/NDP (point-to-point, tunnels).
    Noarp,
    /// Set by hand, never checked.
    Permanent,
    /// No state (an entry being created).
    None,
}

impl NeighbourState {
    pub fn from_nud(nud: u16) -> NeighbourState {
        match nud {
            0x01 => NeighbourState::Incomplete,
            0x02 => NeighbourState::Reachable,
            0x04 => NeighbourState::Stale,
            0x08 => NeighbourState::Delay,
            0x10 => NeighbourState::Probe,
            0x20 => NeighbourState::Failed,
            0x40 => NeighbourState::Noarp,
            0x80 => NeighbourState::Permanent,
            _ => NeighbourState::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NeighbourState::Incomplete => "INCOMPLETE",
            NeighbourState::Reachable => "REACHABLE",
            NeighbourState::Stale => "STALE",
            NeighbourState::Delay => "DELAY",
            NeighbourState::Probe => "PROBE",
            NeighbourState::Failed => "FAILED",
            NeighbourState::Noarp => "NOARP",
            NeighbourState::Permanent => "PERMANENT",
            NeighbourState::None => "NONE",
        }
    }

    /// Resolution or a probe is still running: the answer is not in yet.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            NeighbourState::Incomplete
                | NeighbourState::Delay
                | NeighbourState::Probe
                | NeighbourState::None
        )
    }
}

impl fmt::Display for NeighbourState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A neighbour (ARP/NDP) entry for an IP address on a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Neighbour {
    pub link: u32,
    pub address: IpAddr,
    pub state: NeighbourState,
    /// The entry holds a link-layer address (a unicast probe can be sent).
    pub has_lladdr: bool,
}

/// What a systemd-networkd `.network` file says about its interface, as far
/// as the findings need it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetworkdFile {
    pub path: String,
    /// `Address=` values (`2001:db8::10/64`), as written.
    pub addresses: Vec<String>,
    /// `[Network] Gateway=` values: the default routes networkd adds.
    pub gateways: Vec<String>,
    /// `IPv6AcceptRA=`: networkd handles router advertisements itself (the
    /// kernel's `accept_ra` stays 0); `None` when the file does not say.
    pub ipv6_accept_ra: Option<bool>,
}

impl Snapshot {
    pub fn link(&self, index: u32) -> Option<&Link> {
        // Called once per route line: the kernel dumps links in index
        // order, so a binary search finds them; a miss (an unsorted
        // fixture, or a gone link) falls back to the plain scan.
        match self.links.binary_search_by_key(&index, |l| l.index) {
            Ok(i) => Some(&self.links[i]),
            Err(_) => self.links.iter().find(|l| l.index == index),
        }
    }

    pub fn link_by_name(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The interface's name, or `if<N>` when it is gone (as iproute2 does).
    pub fn link_name(&self, index: u32) -> String {
        match self.link(index) {
            Some(l) => l.name.clone(),
            None => format!("if{index}"),
        }
    }

    pub fn addresses_of(&self, index: u32) -> impl Iterator<Item = &Address> {
        self.addresses.iter().filter(move |a| a.link == index)
    }

    pub fn routes_of(&self, family: Family) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(move |r| r.family == family)
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::ethernet;

    use super::Snapshot;

    #[test]
    fn links_are_found_by_index_in_any_order_and_gone_ones_named_by_number() {
        for order in [[2, 5, 9], [9, 2, 5]] {
            let snapshot = Snapshot {
                links: order
                    .iter()
                    .map(|&i| ethernet(i, &format!("eth{i}")))
                    .collect(),
                ..Snapshot::default()
            };
            for i in order {
                assert_eq!(snapshot.link_name(i), format!("eth{i}"), "order {order:?}");
            }
            assert!(snapshot.link(7).is_none());
            assert_eq!(snapshot.link_name(7), "if7");
        }
    }
}
