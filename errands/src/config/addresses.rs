//! What a network's addresses may be. BOSH renders them from the
//! director's view of the instance; a value no NIC can carry (a multicast
//! or loopback address, an IP that is its own gateway) would make every
//! `ip route … via "$INJECT_IPV6_GATEWAY"` fail at run time, so it is a
//! config error now, with the network's name. A gateway outside the
//! netmask's block is only a warning (see [`super::warnings`]): some clouds
//! hand out a /32 with an on-link gateway beyond it, on purpose.

use std::net::IpAddr;

use super::Network;

/// Refuses an `ip` or `gateway` no interface can use, and an IP equal to
/// its gateway.
pub(super) fn usable(name: &str, network: &Network) -> Result<(), String> {
    for (field, value) in [("ip", &network.ip), ("gateway", &network.gateway)] {
        let Some(addr) = value.as_deref().and_then(|t| t.parse::<IpAddr>().ok()) else {
            continue;
        };
        if let Some(why) = unusable(addr) {
            return Err(format!("network `{name}`: {field} {addr} {why}"));
        }
    }
    if let (Some(ip), Some(gateway)) = (&network.ip, &network.gateway) {
        if ip == gateway {
            return Err(format!(
                "network `{name}`: ip and gateway are both {ip}; an instance is not its own gateway"
            ));
        }
    }
    Ok(())
}

/// Why `addr` cannot be an interface's address or a next hop, if it cannot.
fn unusable(addr: IpAddr) -> Option<String> {
    if addr.is_unspecified() {
        return Some("is the unspecified address (no address at all)".into());
    }
    if addr.is_loopback() {
        return Some("is a loopback address, which never leaves the host".into());
    }
    if addr.is_multicast() {
        return Some("is a multicast address; an interface address is unicast".into());
    }
    match addr {
        IpAddr::V4(a) if a.is_broadcast() => {
            Some("is the broadcast address; an interface address is unicast".into())
        }
        IpAddr::V6(a) => a.to_ipv4_mapped().map(|v4| {
            format!(
                "is an IPv4-mapped IPv6 address; write the IPv4 address {v4} in an IPv4 network"
            )
        }),
        IpAddr::V4(_) => None,
    }
}

/// The netmask's prefix length (its leading one bits).
pub(super) fn prefix_len(netmask: IpAddr) -> u32 {
    match netmask {
        IpAddr::V4(m) => u32::from(m).leading_ones(),
        IpAddr::V6(m) => u128::from(m).leading_ones(),
    }
}

/// Whether `a` and `b` share the first `len` bits (same family assumed).
pub(super) fn same_block(a: IpAddr, b: IpAddr, len: u32) -> bool {
    let (a, b, bits) = match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let len = len.min(bits);
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_block_compares_the_prefix_only() {
        let a: IpAddr = "10.0.0.5".parse().unwrap();
        assert!(same_block(a, "10.0.0.1".parse().unwrap(), 24));
        assert!(!same_block(a, "10.0.1.1".parse().unwrap(), 24));
        assert!(same_block(a, "10.0.1.1".parse().unwrap(), 16));
        let b: IpAddr = "2001:db8::10".parse().unwrap();
        assert!(same_block(b, "2001:db8::1".parse().unwrap(), 64));
        assert!(!same_block(b, "2001:db9::1".parse().unwrap(), 64));
        assert!(same_block(b, "2001:db8::10".parse().unwrap(), 128));
    }
}
