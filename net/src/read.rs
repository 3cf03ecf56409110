//! The snapshot, read over netlink: one socket, dumps in turn (links,
//! addresses, then routes per family), each message converted as it is
//! read, so no message is kept longer than needed; routes can be taken one
//! at a time ([`RouteDump`]) by a caller that writes them out as they come.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use futures_util::{future, TryStreamExt};
use rtnetlink::packet_core::ParseableParametrized;
use rtnetlink::packet_route::address::AddressMessage;
use rtnetlink::packet_route::link::LinkMessage;
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage,
    NeighbourState as NudState,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::RouteMessageBuilder;

use crate::dump::Netlink;
use crate::from_netlink;
use crate::model::{Address, Family, Link, Neighbour, NeighbourState, Route, Snapshot};
use crate::names;
use crate::sysctl;

/// Why the kernel's network state could not be read. Each text says what
/// failed and why; the cause stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// No netlink socket (a sandbox without NETLINK_ROUTE, seccomp, …).
    #[error("cannot open a netlink (NETLINK_ROUTE) socket: {0}; this host or sandbox does not let inject read its interfaces and routes")]
    Open(#[source] std::io::Error),
    /// The kernel refused to check a gateway (no CAP_NET_ADMIN, a gone link).
    #[error("asking the kernel to check gateway {gateway} (ARP/NDP) failed: {source}; probing needs root (CAP_NET_ADMIN)")]
    Probe {
        gateway: std::net::IpAddr,
        source: std::io::Error,
    },
    /// The socket opened but a dump failed.
    #[error("reading {what} over netlink failed: {source}")]
    Dump {
        what: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl NetError {
    pub(crate) fn dump(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> NetError {
        NetError::Dump {
            what,
            source: source.into(),
        }
    }
}

/// Read links, addresses and routes (main table, plus other tables' default
/// routes) of both families, and each interface's `accept_ra`. Needs no
/// privileges. Reads on the calling thread (whose network namespace is the
/// one read), blocking it for the dumps: some 100 ms at 100 000 routes.
pub async fn read_snapshot() -> Result<Snapshot, NetError> {
    read_snapshot_blocking()
}

/// `read` (blocking netlink reads) on a thread of its own, started now by
/// the calling thread, so it reads the caller's network namespace (a new
/// thread inherits the namespace of the thread that makes it, unlike a
/// pool's threads); the caller's event loop keeps running meanwhile.
pub fn on_thread<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, NetError> + Send + 'static,
) -> impl std::future::Future<Output = Result<T, NetError>> + Send + 'static {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("netlink-read".into())
        .spawn(move || {
            let _ = tx.send(read());
        });
    async move {
        spawned.map_err(NetError::Open)?;
        rx.await.unwrap_or_else(|_| {
            Err(NetError::dump(
                "the network state",
                "the reading thread ended without an answer",
            ))
        })
    }
}

/// [`read_snapshot`] for code that is not async.
pub fn read_snapshot_blocking() -> Result<Snapshot, NetError> {
    let (mut snapshot, routes) =
        read_with(Vec::new, |routes, route| routes.push(route), |_, _| {})?;
    snapshot.routes = routes;
    Ok(snapshot)
}

/// How many routes between two calls of [`read_with`]'s `report`.
pub const STEP: usize = 1 << 16;

/// The snapshot without its routes, which went to `add` one at a time
/// into what `new` made (made again for each read of an interrupted
/// dump); `report` hears of the links and addresses and the count of
/// routes so far, before the first route and every [`STEP`] routes.
pub(crate) fn read_with<T>(
    new: impl Fn() -> T,
    mut add: impl FnMut(&mut T, Route),
    mut report: impl FnMut(&Snapshot, usize),
) -> Result<(Snapshot, T), NetError> {
    let mut reader = Reader::open()?;
    let mut snapshot = Snapshot {
        links: reader.links()?,
        addresses: reader.addresses()?,
        ..Snapshot::default()
    };
    snapshot.accept_ra = accept_ra(&snapshot.links);
    report(&snapshot, 0);
    // A route dump the kernel marks interrupted is read again, up to
    // [`TRIES`] times; the last one is kept and named in `interrupted`.
    let mut routes = new();
    let mut interrupted = Vec::new();
    for attempt in 1..=TRIES {
        routes = new();
        let mut count: usize = 0;
        let mut dump = reader.routes();
        while let Some(route) = dump.next()? {
            add(&mut routes, route);
            count += 1;
            if count.is_multiple_of(STEP) {
                report(&snapshot, count);
            }
        }
        interrupted = dump.interrupted;
        if interrupted.is_empty() || attempt == TRIES {
            break;
        }
    }
    interrupted.append(&mut reader.interrupted);
    snapshot.neighbours = reader.neighbours()?;
    snapshot.interrupted = interrupted.into_iter().map(String::from).collect();
    sysctl::read_host(&mut snapshot);
    Ok((snapshot, routes))
}

/// `accept_ra` of each link, where readable.
pub fn accept_ra(links: &[Link]) -> std::collections::BTreeMap<String, i64> {
    sysctl::read_accept_ra(
        Path::new(sysctl::IPV6_CONF),
        links.iter().map(|l| l.name.as_str()),
    )
}

/// The kernel's state, dump by dump: links and addresses whole (a few
/// messages), routes one at a time as they arrive ([`RouteDump`]), so
/// `inject status` can write each out and keep only what the findings need.
pub struct Reader {
    netlink: Netlink,
    /// The whole dumps (links, addresses, neighbours) the kernel marked
    /// interrupted on every one of [`TRIES`] reads.
    pub interrupted: Vec<&'static str>,
}

/// How many times a dump the kernel marks interrupted is read before it is
/// kept and reported as possibly inconsistent (as iproute2 reports it).
pub const TRIES: usize = 3;

impl Reader {
    /// A netlink socket in the calling thread's network namespace.
    pub fn open() -> Result<Reader, NetError> {
        Ok(Reader {
            netlink: Netlink::open().map_err(NetError::Open)?,
            interrupted: Vec::new(),
        })
    }

    /// Every message of a dump of `request`, each handed to `keep`; read
    /// again while the kernel marks it interrupted, up to [`TRIES`] times.
    fn whole<T>(
        &mut self,
        what: &'static str,
        request: impl Fn() -> RouteNetlinkMessage,
        mut keep: impl FnMut(RouteNetlinkMessage, &mut Vec<T>),
    ) -> Result<Vec<T>, NetError> {
        let fail = |e| NetError::dump(what, e);
        let mut out = Vec::new();
        for attempt in 1..=TRIES {
            out.clear();
            self.netlink.request(request()).map_err(fail)?;
            while let Some((kind, payload)) = self.netlink.next().map_err(fail)? {
                keep(parse(what, kind, payload)?, &mut out);
            }
            if !self.netlink.interrupted() {
                break;
            }
            if attempt == TRIES {
                self.interrupted.push(what);
            }
        }
        Ok(out)
    }

    /// Every link, in the kernel's (index) order.
    pub fn links(&mut self) -> Result<Vec<Link>, NetError> {
        self.whole(
            "interfaces",
            || RouteNetlinkMessage::GetLink(LinkMessage::default()),
            |m, out| {
                if let RouteNetlinkMessage::NewLink(m) = m {
                    out.push(from_netlink::link(&m));
                }
            },
        )
    }

    /// Every IPv4 and IPv6 address.
    pub fn addresses(&mut self) -> Result<Vec<Address>, NetError> {
        self.whole(
            "addresses",
            || RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            |m, out| {
                if let RouteNetlinkMessage::NewAddress(m) = m {
                    out.extend(from_netlink::address(&m));
                }
            },
        )
    }

    /// Every neighbour (ARP/NDP) entry for an IPv4 or IPv6 address.
    pub fn neighbours(&mut self) -> Result<Vec<Neighbour>, NetError> {
        self.whole(
            "neighbours",
            || RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
            |m, out| {
                if let RouteNetlinkMessage::NewNeighbour(m) = m {
                    out.extend(neighbour(&m));
                }
            },
        )
    }

    /// Make the kernel check `gateway` on link `link` now: a unicast probe
    /// to the address it has (`nud probe`), or resolution from scratch
    /// (`NTF_USE`) when it has none or refuses the first. See `neighbour`.
    pub fn probe_neighbour(
        &mut self,
        link: u32,
        gateway: std::net::IpAddr,
        has_lladdr: bool,
    ) -> Result<(), NetError> {
        use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
        let message = |state: NudState, flags: NeighbourFlags| {
            let mut m = NeighbourMessage::default();
            m.header.family = match gateway {
                std::net::IpAddr::V4(_) => AddressFamily::Inet,
                std::net::IpAddr::V6(_) => AddressFamily::Inet6,
            };
            m.header.ifindex = link;
            m.header.state = state;
            m.header.flags = flags;
            m.attributes
                .push(NeighbourAttribute::Destination(match gateway {
                    std::net::IpAddr::V4(a) => NeighbourAddress::Inet(a),
                    std::net::IpAddr::V6(a) => NeighbourAddress::Inet6(a),
                }));
            RouteNetlinkMessage::NewNeighbour(m)
        };
        let flags = NLM_F_CREATE | NLM_F_REPLACE;
        if has_lladdr
            && self
                .netlink
                .command(message(NudState::Probe, NeighbourFlags::empty()), flags)
                .is_ok()
        {
            return Ok(());
        }
        self.netlink
            .command(message(NudState::None, NeighbourFlags::Use), flags)
            .map_err(|e| NetError::Probe { gateway, source: e })
    }

    /// The routes the snapshot keeps (main table, other tables' defaults),
    /// IPv4 first, then IPv6, in the kernel's order.
    pub fn routes(&mut self) -> RouteDump<'_> {
        RouteDump {
            netlink: &mut self.netlink,
            family: None,
            interrupted: Vec::new(),
        }
    }
}

/// An entry for an IPv4 or IPv6 address; `None` for bridge FDB entries
/// and the like.
fn neighbour(m: &NeighbourMessage) -> Option<Neighbour> {
    let mut address = None;
    let mut has_lladdr = false;
    for a in &m.attributes {
        match a {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                address = Some(std::net::IpAddr::V4(*v4))
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                address = Some(std::net::IpAddr::V6(*v6))
            }
            NeighbourAttribute::LinkLayerAddress(l) => has_lladdr = !l.is_empty(),
            _ => {}
        }
    }
    Some(Neighbour {
        link: m.header.ifindex,
        address: address?,
        state: NeighbourState::from_nud(u16::from(m.header.state)),
        has_lladdr,
    })
}

/// A whole message (links, addresses: a few per interface).
/// Names that are not UTF-8 are escaped first ([`names`]).
fn parse(what: &'static str, kind: u16, payload: &[u8]) -> Result<RouteNetlinkMessage, NetError> {
    let escaped = names::utf8_names(kind, payload);
    RouteNetlinkMessage::parse_with_param(escaped.as_deref().unwrap_or(payload), kind)
        .map_err(|e| NetError::dump(what, e.to_string()))
}

/// Routes one at a time ([`RouteDump::next`]), straight from the kernel's
/// batches: one dump per family, so IPv4 routes come before IPv6 ones.
pub struct RouteDump<'a> {
    netlink: &'a mut Netlink,
    /// The family being dumped; `None` before the first.
    family: Option<Family>,
    /// The families' dumps the kernel marked interrupted (`IPv4 routes`).
    pub interrupted: Vec<&'static str>,
}

impl RouteDump<'_> {
    /// Start the dumps over, from the first IPv4 route (after the last).
    pub fn restart(&mut self) {
        self.family = None;
        self.interrupted.clear();
    }

    /// The next kept route; `None` after the last IPv6 route.
    #[allow(clippy::should_implement_trait)] // fallible, so no Iterator
    pub fn next(&mut self) -> Result<Option<Route>, NetError> {
        loop {
            let what = match self.family {
                None | Some(Family::Ipv4) => "IPv4 routes",
                Some(Family::Ipv6) => "IPv6 routes",
            };
            let fail = |e| NetError::dump(what, e);
            if let Some(family) = self.family {
                match self.netlink.next().map_err(fail)? {
                    Some((RTM_NEWROUTE, payload)) => {
                        if let Some(route) = from_netlink::route_from_bytes(payload) {
                            if from_netlink::keep(&route) {
                                return Ok(Some(route));
                            }
                        }
                        continue;
                    }
                    Some(_) => continue,
                    None => {
                        if self.netlink.interrupted() {
                            self.interrupted.push(what);
                        }
                        if family == Family::Ipv6 {
                            return Ok(None);
                        }
                    }
                }
            }
            // No destination: a dump of every table, kept per `keep`.
            let (next, request) = match self.family {
                None => (Family::Ipv4, RouteMessageBuilder::<Ipv4Addr>::new().build()),
                Some(_) => (Family::Ipv6, RouteMessageBuilder::<Ipv6Addr>::new().build()),
            };
            self.family = Some(next);
            self.netlink
                .request(RouteNetlinkMessage::GetRoute(request))
                .map_err(|e| NetError::dump(what, e))?;
        }
    }
}

/// `RTM_NEWROUTE`: a route of a dump.
const RTM_NEWROUTE: u16 = 24;

/// Aborts a netlink connection's task when dropped, on every way out.
pub(crate) struct TaskGuard(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The snapshot as the first version read it: rtnetlink's connection and
/// its fully parsed messages. Kept as the reference the tests compare the
/// direct reader ([`read_snapshot`]) with; slower and hungrier.
#[doc(hidden)]
pub async fn read_snapshot_rtnetlink() -> Result<Snapshot, NetError> {
    let mut snapshot = read_netlink_rtnetlink().await?;
    // Neighbours came later than this reader: the direct reader's.
    snapshot.neighbours = Reader::open()?.neighbours()?;
    snapshot.accept_ra = accept_ra(&snapshot.links);
    sysctl::read_host(&mut snapshot);
    Ok(snapshot)
}

async fn read_netlink_rtnetlink() -> Result<Snapshot, NetError> {
    // Not the strict-check connection: with it the route builder's header
    // defaults (table main, proto static, …) become kernel filters.
    let (connection, handle, _) = rtnetlink::new_connection().map_err(NetError::Open)?;
    let _task = TaskGuard(tokio::spawn(connection));

    // One dump at a time: `execute()` sends its request at once, and the
    // kernel answers a second concurrent dump on one socket with EBUSY.
    let links = handle
        .link()
        .get()
        .execute()
        .map_ok(|m| from_netlink::link(&m))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|source| NetError::dump("interfaces", source));
    let addresses = handle
        .address()
        .get()
        .execute()
        .try_filter_map(|m| future::ready(Ok(from_netlink::address(&m))))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|source| NetError::dump("addresses", source));
    // One dump per family, not one of every family: the connection reads
    // a whole dump ahead of us, so this halves the parsed messages held at
    // once. No destination: a dump of every table, kept per `keep_route`.
    let mut routes = Vec::new();
    for (what, request) in [
        (
            "IPv4 routes",
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
        ),
        (
            "IPv6 routes",
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ),
    ] {
        let mut dump = handle.route().get(request).execute();
        while let Some(msg) = dump
            .try_next()
            .await
            .map_err(|source| NetError::dump(what, source))?
        {
            if from_netlink::keep_route(&msg) {
                routes.extend(from_netlink::route(&msg));
            }
        }
    }
    let (links, addresses) = (links?, addresses?);
    Ok(Snapshot {
        links,
        addresses,
        routes,
        ..Snapshot::default()
    })
}
