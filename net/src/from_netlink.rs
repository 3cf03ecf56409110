//! Netlink messages to the plain model. Shared by the dump (`read`) and
//! the change stream (`watch`), so both see the same data.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use rtnetlink::packet_core::NlasIterator;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage, State};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop,
};
use rtnetlink::packet_route::AddressFamily;

use crate::model::{
    Address, Family, Link, NextHop, OperState, Protocol, Route, RouteKind, Scope, MAIN_TABLE,
};

/// iproute2's flag names, in the order `ip link` prints them.
const LINK_FLAGS: &[(u32, &str)] = &[
    (1 << 3, "LOOPBACK"),
    (1 << 1, "BROADCAST"),
    (1 << 4, "POINTOPOINT"),
    (1 << 12, "MULTICAST"),
    (1 << 7, "NOARP"),
    (1 << 9, "ALLMULTI"),
    (1 << 8, "PROMISC"),
    (1 << 5, "NOTRAILERS"),
    (1 << 2, "DEBUG"),
    (1 << 15, "DYNAMIC"),
    (1 << 14, "AUTOMEDIA"),
    (1 << 13, "PORTSEL"),
    (1 << 10, "MASTER"),
    (1 << 11, "SLAVE"),
    (1 << 0, "UP"),
    (1 << 16, "LOWER_UP"),
    (1 << 17, "DORMANT"),
    (1 << 18, "ECHO"),
];
const IFF_UP: u32 = 1;
const IFF_RUNNING: u32 = 1 << 6;

/// iproute2's address flag names (`IFA_F_*`).
const ADDRESS_FLAGS: &[(u32, &str)] = &[
    (0x01, "secondary"),
    (0x02, "nodad"),
    (0x04, "optimistic"),
    (0x08, "dadfailed"),
    (0x10, "home"),
    (0x20, "deprecated"),
    (0x40, "tentative"),
    (0x80, "permanent"),
    (0x100, "mngtmpaddr"),
    (0x200, "noprefixroute"),
    (0x400, "autojoin"),
    (0x800, "stable-privacy"),
];

const RTNH_F_ONLINK: u32 = 4;

pub(crate) fn link(msg: &LinkMessage) -> Link {
    let bits = msg.header.flags.bits();
    let mut flags = Vec::new();
    // iproute2 shows a missing carrier this way rather than as !RUNNING.
    if bits & IFF_UP != 0 && bits & IFF_RUNNING == 0 {
        flags.push("NO-CARRIER".to_string());
    }
    flags.extend(
        LINK_FLAGS
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, name)| name.to_string()),
    );
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        state: OperState::Unknown,
        flags,
        mtu: None,
        mac: None,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => link.name = name.clone(),
            LinkAttribute::Mtu(mtu) => link.mtu = Some(*mtu),
            LinkAttribute::Address(mac) if !mac.is_empty() => {
                link.mac = Some(
                    mac.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                )
            }
            LinkAttribute::OperState(state) => link.state = oper_state(state),
            _ => {}
        }
    }
    if link.name.is_empty() {
        link.name = format!("if{}", link.index);
    }
    link
}

fn oper_state(state: &State) -> OperState {
    match state {
        State::Up => OperState::Up,
        State::Down => OperState::Down,
        State::LowerLayerDown => OperState::LowerLayerDown,
        State::Dormant => OperState::Dormant,
        State::Testing => OperState::Testing,
        State::NotPresent => OperState::NotPresent,
        _ => OperState::Unknown,
    }
}

fn family(af: AddressFamily) -> Option<Family> {
    match af {
        AddressFamily::Inet => Some(Family::Ipv4),
        AddressFamily::Inet6 => Some(Family::Ipv6),
        _ => None,
    }
}

/// An address message; `None` for families other than IPv4/IPv6.
pub(crate) fn address(msg: &AddressMessage) -> Option<Address> {
    let family = family(msg.header.family)?;
    let mut local = None;
    let mut peer = None;
    let mut bits = u32::from(msg.header.flags.bits());
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => peer = Some(*ip),
            // The 32-bit attribute supersedes the header's 8 bits.
            AddressAttribute::Flags(f) => bits = f.bits(),
            _ => {}
        }
    }
    // IPv4 has Local (own) and Address (peer on point-to-point links); IPv6
    // has Address only. Local first, as iproute2 does.
    let address = local.or(peer)?;
    let flags = ADDRESS_FLAGS
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(bit, name)| {
            // The same bit is "temporary" for IPv6 privacy addresses.
            if *bit == 0x01 && family == Family::Ipv6 {
                "temporary".to_string()
            } else {
                name.to_string()
            }
        })
        .collect();
    Some(Address {
        link: msg.header.index,
        family,
        address,
        prefix_len: msg.header.prefix_len,
        scope: Scope(u8::from(msg.header.scope)),
        flags,
    })
}

fn route_ip(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The table a route is in: the 32-bit attribute when present (tables above
/// 255 only fit there), else the header's byte.
pub(crate) fn route_table(msg: &RouteMessage) -> u32 {
    msg.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(msg.header.table))
}

/// Whether the snapshot keeps this route: the main table, plus default
/// routes of other tables except `local` (so the findings can tell of a
/// default that ordinary lookups never reach).
pub(crate) fn keep_route(msg: &RouteMessage) -> bool {
    let table = route_table(msg);
    table == MAIN_TABLE
        || (msg.header.destination_prefix_length == 0
            && table != u32::from(RouteHeader::RT_TABLE_UNSPEC)
            && table != 255)
}

fn next_hop(hop: &RouteNextHop) -> NextHop {
    let gateway = hop.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => route_ip(g),
        _ => None,
    });
    NextHop {
        gateway,
        oif: (hop.interface_index != 0).then_some(hop.interface_index),
        weight: u16::from(hop.hops) + 1,
        onlink: u32::from(hop.flags.bits()) & RTNH_F_ONLINK != 0,
    }
}

/// A route message; `None` for families other than IPv4/IPv6.
pub(crate) fn route(msg: &RouteMessage) -> Option<Route> {
    let family = family(msg.header.address_family)?;
    let mut route = Route {
        family,
        destination: IpNetwork::new(family.unspecified(), 0).ok()?,
        source: None,
        // IPv4 only: the kernel's IPv6 FIB has no TOS selector (always 0).
        tos: msg.header.tos,
        gateway: None,
        oif: None,
        metric: None,
        protocol: Protocol(u8::from(msg.header.protocol)),
        scope: Scope(u8::from(msg.header.scope)),
        kind: RouteKind(u8::from(msg.header.kind)),
        table: route_table(msg),
        prefsrc: None,
        onlink: msg.header.flags.bits() & RTNH_F_ONLINK != 0,
        nexthops: Vec::new(),
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(d) => {
                let ip = route_ip(d)?;
                route.destination =
                    IpNetwork::new(ip, msg.header.destination_prefix_length).ok()?;
            }
            // A source prefix of length 0 serves every source: no `from`
            // (iproute2 prints none either).
            RouteAttribute::Source(p) if msg.header.source_prefix_length > 0 => {
                let ip = route_ip(p)?;
                route.source = Some(IpNetwork::new(ip, msg.header.source_prefix_length).ok()?);
            }
            RouteAttribute::Gateway(g) => route.gateway = route_ip(g),
            RouteAttribute::Oif(i) => route.oif = Some(*i),
            RouteAttribute::Priority(m) => route.metric = Some(*m),
            RouteAttribute::PrefSource(p) => route.prefsrc = route_ip(p),
            RouteAttribute::MultiPath(hops) => route.nexthops = hops.iter().map(next_hop).collect(),
            _ => {}
        }
    }
    Some(route)
}

/// `RTA_*` attribute types of a route message that the model holds.
const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `struct rtmsg`, before the attributes.
const RTMSG_LEN: usize = 12;
/// `struct rtnexthop`: length, flags, hops, ifindex.
const RTNEXTHOP_LEN: usize = 8;

/// An address of the route's family from an attribute's value.
fn ip_of(family: Family, value: &[u8]) -> Option<IpAddr> {
    match family {
        Family::Ipv4 => <[u8; 4]>::try_from(value).ok().map(IpAddr::from),
        Family::Ipv6 => <[u8; 16]>::try_from(value).ok().map(IpAddr::from),
    }
}

fn u32_of(value: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(value).ok().map(u32::from_ne_bytes)
}

/// A route straight from an `RTM_NEWROUTE` payload, reading only the
/// attributes the model holds: what [`route`] makes of the same message
/// parsed whole, without building the message's attribute vector (this
/// runs once per route of a 100 000-route dump). `None` for families other
/// than IPv4/IPv6 and for malformed messages.
pub(crate) fn route_from_bytes(payload: &[u8]) -> Option<Route> {
    let header = payload.get(..RTMSG_LEN)?;
    let family = match header[0] {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        _ => return None,
    };
    let (dst_len, src_len) = (header[1], header[2]);
    let flags = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
    let mut route = Route {
        family,
        destination: IpNetwork::new(family.unspecified(), 0).ok()?,
        source: None,
        tos: header[3],
        gateway: None,
        oif: None,
        metric: None,
        protocol: Protocol(header[5]),
        scope: Scope(header[6]),
        kind: RouteKind(header[7]),
        table: u32::from(header[4]),
        prefsrc: None,
        onlink: flags & RTNH_F_ONLINK != 0,
        nexthops: Vec::new(),
    };
    for nla in NlasIterator::new(&payload[RTMSG_LEN..]) {
        let nla = nla.ok()?;
        let value = nla.value();
        match nla.kind() {
            RTA_DST => route.destination = IpNetwork::new(ip_of(family, value)?, dst_len).ok()?,
            RTA_SRC if src_len > 0 => {
                route.source = Some(IpNetwork::new(ip_of(family, value)?, src_len).ok()?)
            }
            RTA_GATEWAY => route.gateway = Some(ip_of(family, value)?),
            RTA_OIF => route.oif = Some(u32_of(value)?),
            RTA_PRIORITY => route.metric = Some(u32_of(value)?),
            RTA_PREFSRC => route.prefsrc = Some(ip_of(family, value)?),
            RTA_TABLE => route.table = u32_of(value)?,
            RTA_MULTIPATH => route.nexthops = next_hops_from_bytes(family, value)?,
            _ => {}
        }
    }
    Some(route)
}

/// The `rtnexthop`s of an `RTA_MULTIPATH` value, each followed by its own
/// attributes (of which the gateway is the one kept).
fn next_hops_from_bytes(family: Family, mut value: &[u8]) -> Option<Vec<NextHop>> {
    let mut hops = Vec::new();
    while !value.is_empty() {
        let head = value.get(..RTNEXTHOP_LEN)?;
        let len = usize::from(u16::from_ne_bytes([head[0], head[1]]));
        if len < RTNEXTHOP_LEN || len > value.len() {
            return None;
        }
        let mut gateway = None;
        for nla in NlasIterator::new(&value[RTNEXTHOP_LEN..len]) {
            let nla = nla.ok()?;
            if nla.kind() == RTA_GATEWAY && gateway.is_none() {
                gateway = Some(ip_of(family, nla.value())?);
            }
        }
        let oif = u32::from_ne_bytes([head[4], head[5], head[6], head[7]]);
        hops.push(NextHop {
            gateway,
            oif: (oif != 0).then_some(oif),
            weight: u16::from(head[3]) + 1,
            onlink: u32::from(head[2]) & RTNH_F_ONLINK != 0,
        });
        value = &value[len..];
    }
    Some(hops)
}

/// Whether the snapshot keeps a route (what [`keep_route`] says of its
/// message), from the route itself.
pub(crate) fn keep(route: &Route) -> bool {
    route.table == MAIN_TABLE
        || (route.is_default()
            && route.table != u32::from(RouteHeader::RT_TABLE_UNSPEC)
            && route.table != 255)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use rtnetlink::packet_route::address::AddressFlags;
    use rtnetlink::packet_route::route::{RouteProtocol, RouteType};

    use super::*;

    #[test]
    fn ipv4_addresses_use_local_not_the_peer() {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = 32;
        msg.header.index = 4;
        msg.attributes = vec![
            AddressAttribute::Address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
            AddressAttribute::Local(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            AddressAttribute::Flags(AddressFlags::Permanent | AddressFlags::Tentative),
        ];
        let a = address(&msg).unwrap();
        assert_eq!(a.address.to_string(), "10.0.0.1");
        assert_eq!(a.link, 4);
        assert_eq!(a.flags, vec!["tentative", "permanent"]);
    }

    fn default_v6(table_byte: u8, table_attr: Option<u32>) -> RouteMessage {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet6;
        msg.header.table = table_byte;
        msg.header.protocol = RouteProtocol::Ra;
        msg.header.kind = RouteType::Unicast;
        msg.attributes.push(RouteAttribute::Priority(1024));
        if let Some(t) = table_attr {
            msg.attributes.push(RouteAttribute::Table(t));
        }
        msg
    }

    #[test]
    fn the_table_attribute_wins_over_the_header() {
        // Tables above 255 only fit the attribute; the header then says 252.
        let msg = default_v6(252, Some(1000));
        assert_eq!(route_table(&msg), 1000);
        assert!(keep_route(&msg), "other tables' defaults are kept");
        assert_eq!(route_table(&default_v6(254, None)), MAIN_TABLE);
        let mut local = default_v6(255, Some(255));
        local
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet6(
                Ipv6Addr::LOCALHOST,
            )));
        local.header.destination_prefix_length = 128;
        assert!(!keep_route(&local), "the local table is not kept");
    }

    #[test]
    fn multipath_gateways_and_devices_come_from_the_next_hops() {
        let mut msg = default_v6(254, Some(254));
        let hop = |gw: &str, oif: u32| {
            let mut hop = RouteNextHop::default();
            hop.interface_index = oif;
            hop.attributes = vec![RouteAttribute::Gateway(RouteAddress::Inet6(
                gw.parse().unwrap(),
            ))];
            hop
        };
        msg.attributes.push(RouteAttribute::MultiPath(vec![
            hop("fe80::1", 2),
            hop("fe80::2", 3),
        ]));
        let r = route(&msg).unwrap();
        assert!(r.is_unicast_default());
        assert_eq!(r.gateway, None);
        assert_eq!(r.protocol, Protocol::RA);
        assert_eq!(r.metric, Some(1024));
        assert_eq!(
            r.paths().collect::<Vec<_>>(),
            vec![
                (Some("fe80::1".parse().unwrap()), Some(2), false),
                (Some("fe80::2".parse().unwrap()), Some(3), false)
            ]
        );
        assert_eq!(r.nexthops[0].weight, 1);
    }

    #[test]
    fn the_source_prefix_and_tos_come_from_the_attribute_and_the_header() {
        // `default from 2001:db8:69f5::/64 via 2001:db8:69f5::1`
        let mut msg = default_v6(254, Some(254));
        msg.header.source_prefix_length = 64;
        msg.attributes
            .push(RouteAttribute::Source(RouteAddress::Inet6(
                "2001:db8:69f5::".parse().unwrap(),
            )));
        let r = route(&msg).unwrap();
        assert_eq!(r.source, Some("2001:db8:69f5::/64".parse().unwrap()));
        assert_eq!(r.tos, 0);
        assert!(r.is_unicast_default(), "still a default route");
        msg.attributes
            .retain(|a| !matches!(a, RouteAttribute::Source(_)));
        assert_eq!(
            route(&msg).unwrap().source,
            None,
            "no attribute: any source"
        );

        // `10.9.0.0/16 tos 0x10 via 10.0.0.1`
        let mut v4 = RouteMessage::default();
        v4.header.address_family = AddressFamily::Inet;
        v4.header.table = 254;
        v4.header.kind = RouteType::Unicast;
        v4.header.destination_prefix_length = 16;
        v4.header.tos = 0x10;
        v4.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                Ipv4Addr::new(10, 9, 0, 0),
            )));
        let r = route(&v4).unwrap();
        assert_eq!(r.tos, 0x10);
        assert_eq!(r.source, None);
        assert_eq!(r.destination.to_string(), "10.9.0.0/16");
    }

    /// What the kernel sends, as bytes: the message emitted whole.
    fn bytes(msg: &RouteMessage) -> Vec<u8> {
        use rtnetlink::packet_core::Emitable;
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        buf
    }

    #[test]
    fn routes_read_from_the_bytes_are_the_routes_of_the_parsed_messages() {
        let mut multipath = default_v6(254, Some(254));
        let hop = |gw: &str, oif: u32, hops: u8| {
            let mut hop = RouteNextHop::default();
            hop.interface_index = oif;
            hop.hops = hops;
            hop.flags = rtnetlink::packet_route::route::RouteNextHopFlags::Onlink;
            hop.attributes = vec![RouteAttribute::Gateway(RouteAddress::Inet6(
                gw.parse().unwrap(),
            ))];
            hop
        };
        multipath.attributes.push(RouteAttribute::MultiPath(vec![
            hop("fe80::1", 2, 0),
            hop("fe80::2", 3, 4),
        ]));
        let mut source = default_v6(254, Some(254));
        source.header.source_prefix_length = 64;
        source
            .attributes
            .push(RouteAttribute::Source(RouteAddress::Inet6(
                "2001:db8:69f5::".parse().unwrap(),
            )));
        let mut v4 = RouteMessage::default();
        v4.header.address_family = AddressFamily::Inet;
        v4.header.table = 252;
        v4.header.kind = RouteType::Unicast;
        v4.header.protocol = RouteProtocol::Static;
        v4.header.destination_prefix_length = 16;
        v4.header.tos = 0x10;
        v4.header.flags =
            rtnetlink::packet_route::route::RouteFlags::from_bits_retain(RTNH_F_ONLINK);
        v4.attributes = vec![
            RouteAttribute::Table(1000),
            RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(10, 9, 0, 0))),
            RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(10, 0, 0, 1))),
            RouteAttribute::Oif(7),
            RouteAttribute::Priority(20),
            RouteAttribute::PrefSource(RouteAddress::Inet(Ipv4Addr::new(10, 0, 0, 9))),
            RouteAttribute::Mark(5),
        ];
        let mut blackhole = v4.clone();
        blackhole.header.kind = RouteType::BlackHole;
        blackhole.header.flags = Default::default();
        blackhole.attributes.truncate(2);
        for msg in [default_v6(254, None), multipath, source, v4, blackhole] {
            let from_bytes = route_from_bytes(&bytes(&msg));
            assert_eq!(from_bytes, route(&msg), "{msg:?}");
            assert_eq!(keep(&from_bytes.unwrap()), keep_route(&msg), "{msg:?}");
        }
        let mut other = default_v6(254, None);
        other.header.address_family = AddressFamily::Mpls;
        assert_eq!(route_from_bytes(&bytes(&other)), None);
        assert_eq!(
            route_from_bytes(&bytes(&default_v6(254, None))[..8]),
            None,
            "cut short"
        );
    }
}
