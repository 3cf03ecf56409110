//! The snapshot, read over netlink: one connection, three dumps in turn
//! (links, addresses, routes of every family), converted as they arrive so
//! no message is kept longer than needed.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use futures_util::{future, TryStreamExt};
use rtnetlink::RouteMessageBuilder;

use super::convert;
use super::model::Snapshot;
use super::sysctl;

/// Why the kernel's network state could not be read.
#[derive(Debug)]
pub enum NetError {
    /// No netlink socket (a sandbox without NETLINK_ROUTE, seccomp, …).
    Open(std::io::Error),
    /// The socket opened but a dump failed.
    Dump {
        what: &'static str,
        source: rtnetlink::Error,
    },
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Open(e) => write!(
                f,
                "cannot open a netlink (NETLINK_ROUTE) socket: {e}; this host or sandbox does not let inject read its interfaces and routes"
            ),
            NetError::Dump { what, source } => {
                write!(f, "reading {what} over netlink failed: {source}")
            }
        }
    }
}

impl std::error::Error for NetError {}

/// Read links, addresses and routes (main table, plus other tables' default
/// routes) of both families, and each interface's `accept_ra`. Needs no
/// privileges. Must be called inside a tokio runtime.
pub async fn read_snapshot() -> Result<Snapshot, NetError> {
    let mut snapshot = read_netlink().await?;
    snapshot.accept_ra = sysctl::read_accept_ra(
        Path::new(sysctl::IPV6_CONF),
        snapshot.links.iter().map(|l| l.name.as_str()),
    );
    sysctl::read_host(&mut snapshot);
    Ok(snapshot)
}

/// Aborts a netlink connection's task when dropped, on every way out.
pub(crate) struct TaskGuard(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The netlink part of [`read_snapshot`].
pub async fn read_netlink() -> Result<Snapshot, NetError> {
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
        .map_ok(|m| convert::link(&m))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|source| NetError::Dump {
            what: "interfaces",
            source,
        });
    let addresses = handle
        .address()
        .get()
        .execute()
        .try_filter_map(|m| future::ready(Ok(convert::address(&m))))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|source| NetError::Dump {
            what: "addresses",
            source,
        });
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
            .map_err(|source| NetError::Dump { what, source })?
        {
            if convert::keep_route(&msg) {
                routes.extend(convert::route(&msg));
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
