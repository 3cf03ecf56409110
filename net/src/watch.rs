//! Live changes: a netlink multicast subscription to link, address and
//! route events of both families, as `ip monitor` does. No polling: the
//! kernel pushes each change.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;

use futures_util::{stream, Stream, StreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use rtnetlink::packet_route::link::LinkMessage;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::proto::{new_connection_with_codec, Connection, ConnectionHandle};
use rtnetlink::sys::protocols::NETLINK_ROUTE;
use rtnetlink::sys::{AsyncSocket, SocketAddr, TokioSocket};
use rtnetlink::MulticastGroup;

use crate::from_netlink;
use crate::model::{Address, Link, Route, Snapshot};
use crate::names::Utf8NamesCodec;
use crate::read::{NetError, TaskGuard};
use crate::text::{escape_controls, route_line};

/// What happened to the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Added,
    /// A link that already existed changed (state, flags, name, …).
    Changed,
    Deleted,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Added => "added",
            Action::Changed => "changed",
            Action::Deleted => "deleted",
        })
    }
}

/// One change, with interface names resolved when it arrived. Its Display
/// reads like `ip monitor`: `route added: default via 2001:db8:69f5::1 dev
/// eth1 proto static metric 1024`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Link {
        action: Action,
        link: Link,
    },
    Address {
        action: Action,
        address: Address,
        interface: String,
    },
    Route {
        action: Action,
        route: Route,
        /// The route in iproute2's words (`route_line`).
        line: String,
    },
    /// The kernel dropped changes: after a burst (a 100 000-route table
    /// swapped) the socket's buffer overflowed (ENOBUFS). What was lost is
    /// unknown, so whoever follows must re-read the whole state; the
    /// interface names this stream uses have been re-read already.
    Overrun,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Link { action, link } => {
                write!(
                    f,
                    "link {action}: {} {} <{}>",
                    escape_controls(&link.name),
                    link.state,
                    link.flags.join(",")
                )?;
                if let Some(mtu) = link.mtu {
                    write!(f, " mtu {mtu}")?;
                }
                Ok(())
            }
            Change::Address {
                action,
                address,
                interface,
            } => write!(
                f,
                "address {action}: {}/{} dev {} scope {}",
                address.address,
                address.prefix_len,
                escape_controls(interface),
                address.scope
            ),
            Change::Route { action, line, .. } => write!(f, "route {action}: {line}"),
            Change::Overrun => f.write_str("changes were lost; re-reading"),
        }
    }
}

/// The groups `ip monitor link address route` joins.
const GROUPS: [MulticastGroup; 5] = [
    MulticastGroup::Link,
    MulticastGroup::Ipv4Ifaddr,
    MulticastGroup::Ipv6Ifaddr,
    MulticastGroup::Ipv4Route,
    MulticastGroup::Ipv6Route,
];

/// Interface names by index, kept current from link events so route and
/// address lines name their device even after a rename.
struct Names {
    names: HashMap<u32, String>,
    /// For re-reading the names after an overrun.
    handle: ConnectionHandle<RouteNetlinkMessage>,
    _task: TaskGuard,
}

/// Every interface's index and name, dumped over the subscription's own
/// connection (as rtnetlink's `link().get()` does; its codec escapes names
/// that are not UTF-8). Async, so the connection keeps draining the
/// changes into the stream meanwhile.
async fn dump_names(
    handle: &ConnectionHandle<RouteNetlinkMessage>,
) -> Result<HashMap<u32, String>, NetError> {
    let fail = |e: String| NetError::dump("interfaces", e);
    let mut request = NetlinkMessage::from(RouteNetlinkMessage::GetLink(LinkMessage::default()));
    request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut responses = handle
        .request(request, SocketAddr::new(0, 0))
        .map_err(|e| fail(e.to_string()))?;
    let mut names = HashMap::new();
    while let Some(message) = responses.next().await {
        match message.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
                let link = from_netlink::link(&m);
                names.insert(link.index, link.name);
            }
            NetlinkPayload::Error(e) => return Err(fail(e.to_string())),
            _ => {}
        }
    }
    Ok(names)
}

impl Names {
    async fn next(&mut self, msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<Change> {
        match msg.payload {
            NetlinkPayload::Overrun(_) => {
                // Renames and new links may be among the lost: without a
                // fresh map later lines would name the wrong devices. If the
                // dump fails too, the old names are the best there is, and
                // the caller's re-read shows the truth either way.
                if let Ok(names) = dump_names(&self.handle).await {
                    self.names = names;
                }
                Some(Change::Overrun)
            }
            NetlinkPayload::InnerMessage(msg) => self.change(msg),
            _ => None,
        }
    }

    fn change(&mut self, msg: RouteNetlinkMessage) -> Option<Change> {
        match msg {
            RouteNetlinkMessage::NewLink(m) => {
                let link = from_netlink::link(&m);
                let old = self.names.insert(link.index, link.name.clone());
                let action = if old.is_some() {
                    Action::Changed
                } else {
                    Action::Added
                };
                Some(Change::Link { action, link })
            }
            RouteNetlinkMessage::DelLink(m) => {
                let link = from_netlink::link(&m);
                self.names.remove(&link.index);
                Some(Change::Link {
                    action: Action::Deleted,
                    link,
                })
            }
            RouteNetlinkMessage::NewAddress(m) => {
                self.address(Action::Added, &from_netlink::address(&m)?)
            }
            RouteNetlinkMessage::DelAddress(m) => {
                self.address(Action::Deleted, &from_netlink::address(&m)?)
            }
            RouteNetlinkMessage::NewRoute(m) if from_netlink::keep_route(&m) => {
                self.route(Action::Added, from_netlink::route(&m)?)
            }
            RouteNetlinkMessage::DelRoute(m) if from_netlink::keep_route(&m) => {
                self.route(Action::Deleted, from_netlink::route(&m)?)
            }
            _ => None,
        }
    }

    fn name(&self, index: u32) -> String {
        self.names
            .get(&index)
            .cloned()
            .unwrap_or_else(|| format!("if{index}"))
    }

    fn address(&self, action: Action, address: &Address) -> Option<Change> {
        Some(Change::Address {
            action,
            interface: self.name(address.link),
            address: address.clone(),
        })
    }

    fn route(&self, action: Action, route: Route) -> Option<Change> {
        // route_line wants a snapshot for names: lend it one with just them.
        let names = Snapshot {
            links: route
                .paths()
                .filter_map(|(_, oif, _)| oif)
                .map(|index| Link {
                    index,
                    name: self.name(index),
                    state: super::model::OperState::Unknown,
                    flags: Vec::new(),
                    mtu: None,
                    mac: None,
                })
                .collect(),
            ..Snapshot::default()
        };
        let line = route_line(&route, &names);
        Some(Change::Route {
            action,
            route,
            line,
        })
    }
}

/// rtnetlink's `new_multicast_connection`, with the codec that escapes
/// names that are not UTF-8 ([`Utf8NamesCodec`]) instead of dropping
/// their messages. Every group in [`GROUPS`] is below 32, so binding
/// with their bits joins them all.
#[allow(clippy::type_complexity)]
fn multicast_connection() -> std::io::Result<(
    Connection<RouteNetlinkMessage, TokioSocket, Utf8NamesCodec>,
    ConnectionHandle<RouteNetlinkMessage>,
    impl Stream<Item = (NetlinkMessage<RouteNetlinkMessage>, SocketAddr)> + Send + Unpin,
)> {
    let (mut connection, handle, messages) =
        new_connection_with_codec::<RouteNetlinkMessage, TokioSocket, Utf8NamesCodec>(
            NETLINK_ROUTE,
        )?;
    let groups = GROUPS
        .iter()
        .fold(0u32, |bits, group| bits | 1 << (*group as u32 - 1));
    let socket = connection.socket_mut().socket_mut();
    socket.bind(&SocketAddr::new(0, groups))?;
    raise_receive_buffer(socket);
    Ok((connection, handle, messages))
}

/// What the kernel may queue for us before it drops changes: 16 MB (it
/// doubles it for its bookkeeping). A flood (a BGP session's 400 000
/// route events) fills the default 208 KB in milliseconds whenever the
/// reader is busy for a moment (drawing, a full read), and each loss is an
/// [`Change::Overrun`]: a full read, seconds at 1 200 000 routes. As
/// `ip monitor` and other netlink listeners do; the memory is taken only
/// while events wait.
const RECEIVE_BUFFER: usize = 16 << 20;

/// Past `net.core.rmem_max` as root (`SO_RCVBUFFORCE`), else up to it.
/// Best effort: a smaller buffer only means more overruns.
fn raise_receive_buffer(socket: &rtnetlink::sys::Socket) {
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(socket, sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
        let _ = socket.set_rx_buf_sz(RECEIVE_BUFFER);
    }
}

/// Subscribe to link, address and route changes of both families. The
/// stream ends only if the netlink socket fails; when the kernel drops
/// changes it yields [`Change::Overrun`]. Must be called inside a
/// tokio runtime; dropping the stream closes the socket.
pub async fn watch() -> Result<impl Stream<Item = Change> + Send + Unpin, NetError> {
    let (connection, handle, messages) = multicast_connection().map_err(NetError::Open)?;
    let task = TaskGuard(tokio::spawn(connection));
    // Names are dumped after joining the groups, so no rename in between is lost.
    let names = dump_names(&handle).await?;
    let state = Names {
        names,
        handle,
        _task: task,
    };
    let changes = stream::unfold((messages, state), |(mut messages, mut state)| async move {
        loop {
            let (msg, _) = messages.next().await?;
            if let Some(change) = state.next(msg).await {
                return Some((change, (messages, state)));
            }
        }
    });
    Ok(Box::pin(changes) as Pin<Box<dyn Stream<Item = Change> + Send>>)
}

#[cfg(test)]
mod tests {
    use super::{Action, Change};
    use crate::fixtures::{address, ethernet};
    use crate::Scope;

    #[test]
    fn watch_lines_escape_control_characters_in_names() {
        let name = "a\u{1b}[2Jb";
        let link = Change::Link {
            action: Action::Added,
            link: ethernet(2, name),
        };
        let addr = Change::Address {
            action: Action::Added,
            address: address(2, "10.0.0.1/24", Scope::GLOBAL),
            interface: name.to_string(),
        };
        for line in [link.to_string(), addr.to_string()] {
            assert!(!line.contains('\u{1b}'), "{line:?}");
            assert!(line.contains("a\\u{1b}[2Jb"), "{line}");
        }
    }
}
