//! `inject status --json`, written straight to the writer: borrowed views,
//! no intermediate `Value` tree or copies. [`write`] writes a snapshot;
//! [`write_streaming`] writes each route as the dump yields it, then the
//! findings of all (100 000 routes stream out in little memory).
//!
//! Schema: `{"interfaces":[{"name","index","state","mtu","mac","flags",
//! "addresses":[{"family","address","prefix_len","scope","flags"}]}],
//! "routes":[{"family","destination","source","tos","gateway","interface","metric",
//! "protocol","scope","table","nexthops":[{"gateway","interface","weight"}]}],
//! "gateways":[{"family","gateway","interface","state"}],
//! "findings":[{"code","severity","family","interface","message","hint"}]}`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::IpAddr;

use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use crate::findings::{Expected, Finding};
use crate::model::{Address, Family, Link, NextHop, OperState, Protocol, Route, Scope, Snapshot};
use crate::neighbour;
use crate::streaming::{ReportError, RouteSource, RouteSummary};

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
    names: Names,
}

impl<'a> Report<'a> {
    fn new(snapshot: &'a Snapshot, findings: &'a [Finding]) -> Self {
        Report {
            snapshot,
            findings,
            names: Names::of(snapshot),
        }
    }
}

/// Interface names by index (a copy: the streaming writer changes the
/// snapshot while it writes routes).
struct Names(HashMap<u32, String>);

impl Names {
    fn of(snapshot: &Snapshot) -> Names {
        Names(
            snapshot
                .links
                .iter()
                .map(|l| (l.index, l.name.clone()))
                .collect(),
        )
    }

    /// The interface's name; `if<N>` for one that is gone, as iproute2 says.
    fn name(&self, index: Option<u32>) -> Option<Cow<'_, str>> {
        let index = index?;
        Some(match self.0.get(&index) {
            Some(n) => Cow::Borrowed(n.as_str()),
            None => Cow::Owned(format!("if{index}")),
        })
    }
}

impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("interfaces", &Interfaces(self.snapshot))?;
        map.serialize_entry("routes", &Routes(self))?;
        map.serialize_entry("gateways", &gateways_of(self.snapshot))?;
        map.serialize_entry("findings", self.findings)?;
        map.end()
    }
}

/// Write the report of `summary`'s links and addresses and of each route
/// of `routes` as it comes (counting it in `summary`), then the findings of
/// all, and a newline; returns the findings. What [`write`] writes of the
/// same snapshot.
pub fn write_streaming<W: io::Write, R: RouteSource>(
    w: W,
    summary: &mut RouteSummary,
    routes: &mut R,
    gateways: &Expected,
    pretty: bool,
) -> Result<Vec<Finding>, ReportError<R::Error>> {
    // serde_json writes token by token: a buffer it can reach without
    // indirection halves its time at 100 000 routes.
    let mut w = io::BufWriter::with_capacity(64 * 1024, w);
    if !pretty {
        return write_compact(w, summary, routes, gateways);
    }
    let report = Streaming {
        state: RefCell::new((summary, routes)),
        gateways,
        failed: RefCell::new(None),
        findings: RefCell::new(Vec::new()),
    };
    let written = if pretty {
        serde_json::to_writer_pretty(&mut w, &report)
    } else {
        serde_json::to_writer(&mut w, &report)
    };
    if let Some(e) = report.failed.take() {
        return Err(ReportError::Read(e));
    }
    written
        .map_err(io::Error::from)
        .and_then(|()| w.write_all(b"\n"))
        .and_then(|()| w.flush())
        .map_err(ReportError::Write)?;
    Ok(report.findings.take())
}

/// [`write_streaming`] without indentation (what scripts and pipes get):
/// each route written in one piece by hand ([`route_compact`]), which
/// takes a third of serde_json's time token by token; the rest as serde
/// writes it.
fn write_compact<W: io::Write, R: RouteSource>(
    mut w: W,
    summary: &mut RouteSummary,
    routes: &mut R,
    gateways: &Expected,
) -> Result<Vec<Finding>, ReportError<R::Error>> {
    let write = ReportError::Write;
    w.write_all(br#"{"interfaces":"#).map_err(write)?;
    serde_json::to_writer(&mut w, &Interfaces(&summary.snapshot)).map_err(|e| write(e.into()))?;
    w.write_all(br#","routes":["#).map_err(write)?;
    let names = JsonNames::of(&summary.snapshot);
    let mut line = String::with_capacity(256);
    let mut first = true;
    while let Some(route) = routes.next_route().map_err(ReportError::Read)? {
        line.clear();
        if !first {
            line.push(',');
        }
        first = false;
        route_compact(&mut line, &route, &names);
        w.write_all(line.as_bytes()).map_err(write)?;
        summary.add(&route);
    }
    summary.end(routes);
    w.write_all(br#"],"gateways":"#).map_err(write)?;
    serde_json::to_writer(&mut w, &gateways_of(&summary.snapshot)).map_err(|e| write(e.into()))?;
    w.write_all(br#","findings":"#).map_err(write)?;
    let findings = summary.findings(gateways);
    serde_json::to_writer(&mut w, &findings).map_err(|e| write(e.into()))?;
    w.write_all(b"}\n")
        .and_then(|()| w.flush())
        .map_err(write)?;
    Ok(findings)
}

/// Interface names by index as JSON strings, quoted and escaped once.
struct JsonNames(HashMap<u32, String>);

impl JsonNames {
    fn of(snapshot: &Snapshot) -> JsonNames {
        JsonNames(
            snapshot
                .links
                .iter()
                .map(|l| (l.index, serde_json::to_string(&l.name).unwrap_or_default()))
                .collect(),
        )
    }

    /// `null`, the name, or `"if<N>"` for a gone interface.
    fn write(&self, s: &mut String, index: Option<u32>) {
        match index {
            None => s.push_str("null"),
            Some(i) => match self.0.get(&i) {
                Some(name) => s.push_str(name),
                None => {
                    let _ = write!(s, "\"if{i}\"");
                }
            },
        }
    }
}

/// `null` or the value's text in quotes: for addresses, prefixes and
/// names of protocols and scopes, which hold nothing JSON escapes.
fn quoted_or_null<T: std::fmt::Display>(s: &mut String, value: Option<T>) {
    match value {
        Some(v) => {
            let _ = write!(s, "\"{v}\"");
        }
        None => s.push_str("null"),
    }
}

/// One route as [`RouteOut`] serialises it without indentation.
fn route_compact(s: &mut String, r: &Route, names: &JsonNames) {
    let family = match r.family {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    };
    let _ = write!(s, r#"{{"family":"{family}","destination":"#);
    if r.is_default() {
        s.push_str(r#""default""#);
    } else {
        let _ = write!(s, "\"{}/{}\"", r.destination.ip(), r.destination.prefix());
    }
    s.push_str(r#","source":"#);
    quoted_or_null(s, r.source.as_ref());
    let _ = write!(s, r#","tos":{},"gateway":"#, r.tos);
    quoted_or_null(s, r.gateway);
    s.push_str(r#","interface":"#);
    names.write(s, r.oif);
    s.push_str(r#","metric":"#);
    match r.metric {
        Some(m) => {
            let _ = write!(s, "{m}");
        }
        None => s.push_str("null"),
    }
    let _ = write!(
        s,
        r#","protocol":"{}","scope":"{}","table":{},"nexthops":["#,
        r.protocol, r.scope, r.table
    );
    for (i, h) in r.nexthops.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(r#"{"gateway":"#);
        quoted_or_null(s, h.gateway);
        s.push_str(r#","interface":"#);
        names.write(s, h.oif);
        let _ = write!(s, r#","weight":{}}}"#, h.weight);
    }
    s.push_str("]}");
}

/// The report while the routes arrive. `serialize` takes `&self`, hence
/// the cells.
struct Streaming<'s, R: RouteSource> {
    state: RefCell<(&'s mut RouteSummary, &'s mut R)>,
    gateways: &'s Expected,
    /// The route source's error, which stopped the routes.
    failed: RefCell<Option<R::Error>>,
    findings: RefCell<Vec<Finding>>,
}

impl<R: RouteSource> Serialize for Streaming<'_, R> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        let names = {
            let state = self.state.borrow();
            map.serialize_entry("interfaces", &Interfaces(&state.0.snapshot))?;
            Names::of(&state.0.snapshot)
        };
        map.serialize_entry(
            "routes",
            &StreamedRoutes {
                report: self,
                names: &names,
            },
        )?;
        {
            let mut state = self.state.borrow_mut();
            let (summary, routes) = &mut *state;
            summary.end(&**routes);
            map.serialize_entry("gateways", &gateways_of(&summary.snapshot))?;
        }
        let findings = self.state.borrow().0.findings(self.gateways);
        map.serialize_entry("findings", &findings)?;
        *self.findings.borrow_mut() = findings;
        map.end()
    }
}

struct StreamedRoutes<'r, 's, R: RouteSource> {
    report: &'r Streaming<'s, R>,
    names: &'r Names,
}

impl<R: RouteSource> Serialize for StreamedRoutes<'_, '_, R> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        let mut state = self.report.state.borrow_mut();
        let (summary, routes) = &mut *state;
        loop {
            match routes.next_route() {
                Ok(Some(route)) => {
                    seq.serialize_element(&RouteOut {
                        route: &route,
                        names: self.names,
                    })?;
                    summary.add(&route);
                }
                Ok(None) => break,
                Err(e) => {
                    *self.report.failed.borrow_mut() = Some(e);
                    return Err(S::Error::custom("the route dump failed"));
                }
            }
        }
        seq.end()
    }
}

/// Each default's gateway and its neighbour state (`null`: no entry).
fn gateways_of(snapshot: &Snapshot) -> Vec<neighbour::Gateway> {
    neighbour::gateways(snapshot)
}

struct Interfaces<'a>(&'a Snapshot);

impl Serialize for Interfaces<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let snapshot = self.0;
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
        s.collect_seq(report.snapshot.routes.iter().map(|route| RouteOut {
            route,
            names: &report.names,
        }))
    }
}

struct RouteOut<'a> {
    route: &'a Route,
    names: &'a Names,
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

impl Serialize for RouteOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
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
            nexthops: NextHops<'a>,
        }
        let r = self.route;
        Out {
            family: r.family,
            destination: Destination(r),
            source: r.source.as_ref(),
            tos: r.tos,
            gateway: r.gateway,
            interface: self.names.name(r.oif),
            metric: r.metric,
            protocol: r.protocol,
            scope: r.scope,
            table: r.table,
            nexthops: NextHops {
                hops: &r.nexthops,
                names: self.names,
            },
        }
        .serialize(s)
    }
}

struct NextHops<'a> {
    hops: &'a [NextHop],
    names: &'a Names,
}

impl Serialize for NextHops<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            gateway: Option<IpAddr>,
            interface: Option<Cow<'a, str>>,
            weight: u16,
        }
        s.collect_seq(self.hops.iter().map(|h| Out {
            gateway: h.gateway,
            interface: self.names.name(h.oif),
            weight: h.weight,
        }))
    }
}
