//! `inject status --json`, written straight from the snapshot to the writer:
//! borrowed views, no intermediate `Value` tree or copies (100 000 routes
//! must stream out in little memory).
//!
//! Schema: `{"interfaces":[{"name","index","state","mtu","mac","flags",
//! "addresses":[{"family","address","prefix_len","scope","flags"}]}],
//! "routes":[{"family","destination","source","tos","gateway","interface","metric",
//! "protocol","scope","table","nexthops":[{"gateway","interface","weight"}]}],
//! "findings":[{"code","severity","family","interface","message","hint"}]}`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::findings::Finding;
use super::model::{Address, Family, Link, NextHop, OperState, Protocol, Route, Scope, Snapshot};

/// Write the report as JSON (pretty-printed when `pretty`), then a newline.
pub fn write<W: io::Write>(
    mut w: W,
    snapshot: &Snapshot,
    findings: &[Finding],
    pretty: bool,
) -> io::Result<()> {
    let report = Report::new(snapshot, findings);
    if pretty {
        serde_json::to_writer_pretty(&mut w, &report)?;
    } else {
        serde_json::to_writer(&mut w, &report)?;
    }
    w.write_all(b"\n")?;
    w.flush()
}

/// The report as a JSON string (tests, small outputs).
pub fn to_string(snapshot: &Snapshot, findings: &[Finding]) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(&mut buf, snapshot, findings, false);
    String::from_utf8(buf).unwrap_or_default()
}

struct Report<'a> {
    snapshot: &'a Snapshot,
    findings: &'a [Finding],
    names: HashMap<u32, &'a str>,
}

impl<'a> Report<'a> {
    fn new(snapshot: &'a Snapshot, findings: &'a [Finding]) -> Self {
        let names = snapshot
            .links
            .iter()
            .map(|l| (l.index, l.name.as_str()))
            .collect();
        Report {
            snapshot,
            findings,
            names,
        }
    }

    /// The interface's name; `if<N>` for one that is gone, as iproute2 says.
    fn name(&self, index: Option<u32>) -> Option<Cow<'a, str>> {
        let index = index?;
        Some(match self.names.get(&index) {
            Some(n) => Cow::Borrowed(*n),
            None => Cow::Owned(format!("if{index}")),
        })
    }
}

impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("interfaces", &Interfaces(self))?;
        map.serialize_entry("routes", &Routes(self))?;
        map.serialize_entry("findings", self.findings)?;
        map.end()
    }
}

struct Interfaces<'r, 'a>(&'r Report<'a>);

impl Serialize for Interfaces<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let snapshot = self.0.snapshot;
        s.collect_seq(
            snapshot
                .links
                .iter()
                .map(|link| InterfaceOut { link, snapshot }),
        )
    }
}

struct InterfaceOut<'a> {
    link: &'a Link,
    snapshot: &'a Snapshot,
}

impl Serialize for InterfaceOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            name: &'a str,
            index: u32,
            state: OperState,
            mtu: Option<u32>,
            mac: Option<&'a str>,
            flags: &'a [String],
            addresses: Addresses<'a>,
        }
        let l = self.link;
        Out {
            name: &l.name,
            index: l.index,
            state: l.state,
            mtu: l.mtu,
            mac: l.mac.as_deref(),
            flags: &l.flags,
            addresses: Addresses {
                snapshot: self.snapshot,
                index: l.index,
            },
        }
        .serialize(s)
    }
}

struct Addresses<'a> {
    snapshot: &'a Snapshot,
    index: u32,
}

impl Serialize for Addresses<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.snapshot.addresses_of(self.index).map(AddressOut))
    }
}

struct AddressOut<'a>(&'a Address);

impl Serialize for AddressOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            family: Family,
            address: IpAddr,
            prefix_len: u8,
            scope: Scope,
            flags: &'a [String],
        }
        let a = self.0;
        Out {
            family: a.family,
            address: a.address,
            prefix_len: a.prefix_len,
            scope: a.scope,
            flags: &a.flags,
        }
        .serialize(s)
    }
}

struct Routes<'r, 'a>(&'r Report<'a>);

impl Serialize for Routes<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        s.collect_seq(
            report
                .snapshot
                .routes
                .iter()
                .map(|route| RouteOut { route, report }),
        )
    }
}

struct RouteOut<'r, 'a> {
    route: &'a Route,
    report: &'r Report<'a>,
}

/// `default`, or the prefix as CIDR text, without building a String.
struct Destination<'a>(&'a Route);

impl Serialize for Destination<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_default() {
            s.serialize_str("default")
        } else {
            s.collect_str(&format_args!(
                "{}/{}",
                self.0.destination.ip(),
                self.0.destination.prefix()
            ))
        }
    }
}

impl Serialize for RouteOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a, 'r> {
            family: Family,
            destination: Destination<'a>,
            /// The `from` prefix as CIDR text, or null for any source.
            #[serde(serialize_with = "super::model::serialize_option_display")]
            source: Option<&'a ipnetwork::IpNetwork>,
            tos: u8,
            gateway: Option<IpAddr>,
            interface: Option<Cow<'a, str>>,
            metric: Option<u32>,
            protocol: Protocol,
            scope: Scope,
            table: u32,
            nexthops: NextHops<'a, 'r>,
        }
        let r = self.route;
        Out {
            family: r.family,
            destination: Destination(r),
            source: r.source.as_ref(),
            tos: r.tos,
            gateway: r.gateway,
            interface: self.report.name(r.oif),
            metric: r.metric,
            protocol: r.protocol,
            scope: r.scope,
            table: r.table,
            nexthops: NextHops {
                hops: &r.nexthops,
                report: self.report,
            },
        }
        .serialize(s)
    }
}

struct NextHops<'a, 'r> {
    hops: &'a [NextHop],
    report: &'r Report<'a>,
}

impl Serialize for NextHops<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            gateway: Option<IpAddr>,
            interface: Option<Cow<'a, str>>,
            weight: u16,
        }
        s.collect_seq(self.hops.iter().map(|h| Out {
            gateway: h.gateway,
            interface: self.report.name(h.oif),
            weight: h.weight,
        }))
    }
}
