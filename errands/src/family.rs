//! IPv4 or IPv6: one type for the config's networks (`_FAMILY`, the
//! `INJECT_IPV4_*` / `INJECT_IPV6_*` aliases) and the inspector's model.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

/// An address family; serialised (and in `_FAMILY`) `"ipv4"` / `"ipv6"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// `ipv4` / `ipv6`: the value of `_FAMILY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    /// `IPv4` / `IPv6`, as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        }
    }

    /// `INJECT_IPV4` / `INJECT_IPV6`: the family alias's prefix.
    pub fn alias(self) -> &'static str {
        match self {
            Family::Ipv4 => "INJECT_IPV4",
            Family::Ipv6 => "INJECT_IPV6",
        }
    }

    /// The number of bits in an address.
    pub fn bits(self) -> u8 {
        match self {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }

    /// The `ip` flag that selects this family (`-4` / `-6`).
    pub fn ip_flag(self) -> &'static str {
        match self {
            Family::Ipv4 => "-4",
            Family::Ipv6 => "-6",
        }
    }

    /// The unspecified address of the family (`0.0.0.0` / `::`).
    pub fn unspecified(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::from([0u8; 4]),
            Family::Ipv6 => IpAddr::from([0u8; 16]),
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
