//! `inject status`'s report, written while the route dump arrives: each
//! route goes out as it is read, and only what the findings need stays
//! behind (a [`RouteSummary`]), so time and memory stay flat in the table's size.
//!
//! JSON ends with the findings, so its routes stream straight to the
//! writer. The text report starts with them, so its route sections go to a
//! [`Spill`] (memory, then an unlinked temporary file) and follow the
//! findings once the dump is done.

use std::io::{self, Seek, Write};

use crate::findings::{Expected, Finding};
use crate::model::Snapshot;
use crate::read::{self, NetError, Reader};
use crate::streaming::RouteSummary;
use crate::{json, neighbour, sysctl, text};

/// The streaming parts, where callers have always found them.
pub use crate::streaming::{ReportError, RouteSource, Routes};

/// How to write the report.
#[derive(Clone, Copy, Debug)]
pub enum Format {
    /// JSON, indented when `pretty`.
    Json { pretty: bool },
    /// The text report, with ANSI colours when `color`.
    Text { color: bool },
}

/// Read the kernel's state and write the report to `w` as it arrives;
/// returns the findings (for `--strict`).
pub fn write_status<W: Write>(
    w: W,
    gateways: &Expected,
    format: Format,
) -> Result<Vec<Finding>, ReportError<NetError>> {
    write_status_with(w, gateways, format, false)
}

/// [`write_status`]; with `probe`, each default's gateway is checked first
/// (ARP/NDP, see `neighbour::probe`), which needs root.
pub fn write_status_with<W: Write>(
    w: W,
    gateways: &Expected,
    format: Format,
    probe: bool,
) -> Result<Vec<Finding>, ReportError<NetError>> {
    let mut reader = Reader::open().map_err(ReportError::Read)?;
    let base = base_snapshot(&mut reader, probe).map_err(ReportError::Read)?;
    write_report(w, base, &mut reader.routes(), gateways, format)
}

/// Everything of the kernel's state but the routes, read from `reader`:
/// links, addresses, neighbours, `accept_ra` and the host's networkd files,
/// with the whole dumps the kernel marked interrupted. The base both
/// `inject status` ([`write_status`]) and the run's summary line
/// ([`crate::verdict`]) add the route dump to. With `probe`, each default's
/// gateway is checked first (ARP/NDP, see `neighbour::probe`; needs root).
pub fn base_snapshot(reader: &mut Reader, probe: bool) -> Result<Snapshot, NetError> {
    let links = reader.links()?;
    let addresses = reader.addresses()?;
    // The gateways' neighbour states, for `default_gateway_unreachable`.
    let mut neighbours = reader.neighbours()?;
    if probe {
        // The probe needs the defaults, which come with the routes: a
        // first pass keeps only those (the report's pass reads them again).
        let mut defaults = Snapshot {
            links: links.clone(),
            neighbours,
            ..Snapshot::default()
        };
        let mut dump = reader.routes();
        while let Some(route) = dump.next()? {
            if route.is_default() {
                defaults.routes.push(route);
            }
        }
        neighbour::probe(&mut defaults)?;
        neighbours = defaults.neighbours;
    }
    let accept_ra = read::accept_ra(&links);
    let mut base = Snapshot {
        links,
        addresses,
        routes: Vec::new(),
        accept_ra,
        neighbours,
        interrupted: reader.interrupted.iter().map(|s| s.to_string()).collect(),
        ..Snapshot::default()
    };
    sysctl::read_host(&mut base);
    Ok(base)
}

/// The report of `base` (links, addresses, `accept_ra`) and the routes of
/// `routes`, formatted as they come into a [`Spill`] (memory, then an
/// unlinked file: flat memory at any table size) and written to `w` only
/// once the whole dump is read: a dump that fails half-way writes nothing,
/// and one the kernel marks interrupted is read again (up to
/// [`read::TRIES`] times, then reported as possibly inconsistent).
/// A reader that closes the pipe early (`| head`) ends the output, not the
/// read: the findings of every route still decide `--strict`'s exit code.
pub fn write_report<W: Write, R: RouteSource>(
    w: W,
    base: Snapshot,
    routes: &mut R,
    gateways: &Expected,
    format: Format,
) -> Result<Vec<Finding>, ReportError<R::Error>> {
    let mut w = UntilClosed {
        inner: w,
        closed: false,
    };
    let mut attempt = 1;
    let (findings, head, body) = loop {
        let mut summary = RouteSummary::new(base.clone());
        let mut body = Spill::default();
        let (findings, head) = match format {
            Format::Json { pretty } => (
                json::write_streaming(&mut body, &mut summary, routes, gateways, pretty)?,
                Vec::new(),
            ),
            Format::Text { color } => {
                text::write_route_sections(&mut body, &mut summary, routes, color)?;
                summary.end(routes);
                let findings = summary.findings(gateways);
                let mut head = Vec::new();
                text::write_head(&mut head, &summary.snapshot, &findings, color)
                    .map_err(ReportError::Write)?;
                (findings, head)
            }
        };
        if !routes.interrupted().is_empty() && attempt < read::TRIES && routes.restart() {
            attempt += 1;
            continue;
        }
        break (findings, head, body);
    };
    w.write_all(&head)
        .and_then(|()| body.copy_to(&mut w))
        .and_then(|()| w.flush())
        .map_err(ReportError::Write)?;
    Ok(findings)
}

/// Writes to `inner` until the reader closes the pipe, then drops the rest.
struct UntilClosed<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> Write for UntilClosed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.closed {
            match self.inner.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => self.closed = true,
                other => return other,
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// Bytes kept for later: in memory up to [`Spill::MEMORY`], then in an
/// unlinked temporary file, so 300 000 routes' text costs no more memory
/// than 30 000's. Stays in memory when no temporary file can be made.
#[derive(Default)]
pub struct Spill {
    memory: Vec<u8>,
    file: Option<io::BufWriter<std::fs::File>>,
}

impl Spill {
    const MEMORY: usize = 1 << 20;

    /// Everything written, to `w`.
    pub fn copy_to<W: Write>(self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.memory)?;
        if let Some(file) = self.file {
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            io::copy(&mut file, w)?;
        }
        Ok(())
    }
}

impl Write for Spill {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.memory.len() + buf.len() > Self::MEMORY {
            if let Ok(f) = tempfile::tempfile() {
                self.file = Some(io::BufWriter::with_capacity(64 * 1024, f));
            }
        }
        match &mut self.file {
            Some(f) => f.write(buf),
            None => self.memory.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{write_report, Format, Routes, Spill};
    use crate::findings::{findings_with, Expected};
    use crate::fixtures::{self, default_route};
    use crate::model::{NextHop, Protocol, RouteKind, Snapshot};
    use crate::{json, text};
    use std::io::Write;

    /// Every fixture, plus tables with what the summary must not lose:
    /// gateways off-link for many routes, onlink ones, duplicate and
    /// unusable defaults, defaults elsewhere, names with control characters.
    fn snapshots() -> Vec<(&'static str, Snapshot)> {
        let mut odd = fixtures::seed_vm();
        odd.links[1].name = "a\u{1b}[31mb".to_string();
        for (i, gw) in ["192.0.2.1", "192.0.2.1", "198.51.100.7", "192.0.2.1"]
            .iter()
            .enumerate()
        {
            let mut r = default_route(gw, 2, Protocol::STATIC, None);
            r.destination = format!("172.16.{i}.0/24").parse().unwrap();
            r.onlink = i == 2;
            odd.routes.insert(1, r);
        }
        let mut ecmp = default_route("10.0.250.1", 2, Protocol::STATIC, Some(7));
        ecmp.destination = "172.17.0.0/16".parse().unwrap();
        ecmp.gateway = None;
        ecmp.oif = None;
        ecmp.nexthops = ["10.0.250.1", "203.0.113.9"]
            .iter()
            .map(|gw| NextHop {
                gateway: Some(gw.parse().unwrap()),
                oif: Some(2),
                weight: 3,
                onlink: false,
            })
            .collect();
        odd.routes.insert(1, ecmp);
        let mut twin = default_route("10.0.250.2", 2, Protocol::DHCP, None);
        twin.kind = RouteKind::UNICAST;
        odd.routes.insert(0, twin);
        let mut blackhole = default_route("10.0.250.3", 2, Protocol::BOOT, Some(9));
        blackhole.kind = RouteKind::BLACKHOLE;
        blackhole.gateway = None;
        blackhole.oif = None;
        odd.routes.insert(0, blackhole);

        let mut down = fixtures::down_interface();
        let mut other = default_route("10.0.250.1", 2, Protocol::BOOT, Some(5));
        other.table = 100;
        down.routes.insert(0, other);

        vec![
            ("seed_vm", fixtures::seed_vm()),
            ("seed_vm_fixed", fixtures::seed_vm_fixed()),
            ("dual_stack_ok", fixtures::dual_stack_ok()),
            ("ipv6_only", fixtures::ipv6_only()),
            ("ecmp_default", fixtures::ecmp_default()),
            ("default_in_other_table", fixtures::default_in_other_table()),
            ("link_local_only_ipv6", fixtures::link_local_only_ipv6()),
            ("down_interface", down),
            ("no_addresses", fixtures::no_addresses()),
            ("many_routes", fixtures::many_routes(7, 3000)),
            ("odd", odd),
        ]
    }

    fn streamed(snapshot: &Snapshot, gateways: &Expected, format: Format) -> String {
        let base = Snapshot {
            routes: Vec::new(),
            ..snapshot.clone()
        };
        let mut out = Vec::new();
        let found = write_report(
            &mut out,
            base,
            &mut Routes(snapshot.routes.iter()),
            gateways,
            format,
        )
        .unwrap();
        assert_eq!(found, findings_with(snapshot, gateways));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_streamed_report_is_the_snapshots_report_byte_for_byte() {
        let gateways = Expected::with_gateways(&["2001:db8:69f5::1".parse().unwrap()]);
        for (name, s) in snapshots() {
            let found = findings_with(&s, &gateways);
            for pretty in [false, true] {
                let mut want = Vec::new();
                json::write(&mut want, &s, &found, pretty).unwrap();
                let got = streamed(&s, &gateways, Format::Json { pretty });
                assert_eq!(
                    got,
                    String::from_utf8(want).unwrap(),
                    "{name}, pretty {pretty}"
                );
            }
            for color in [false, true] {
                let got = streamed(&s, &gateways, Format::Text { color });
                assert_eq!(
                    got,
                    text::render(&s, &found, color),
                    "{name}, color {color}"
                );
            }
        }
    }

    #[test]
    fn control_characters_in_names_reach_the_text_escaped_and_the_json_as_json_escapes() {
        let s = snapshots()
            .into_iter()
            .find(|(n, _)| *n == "odd")
            .unwrap()
            .1;
        let text = streamed(&s, &Expected::default(), Format::Text { color: false });
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("a\\u{1b}[31mb ") && l.contains(" UP ")),
            "{text}"
        );
        assert!(text.contains("dev a\\u{1b}[31mb"), "{text}");
        let json = streamed(&s, &Expected::default(), Format::Json { pretty: false });
        assert!(json.contains(r#""name":"a\u001b[31mb""#), "{json}");
    }

    /// Routes of a snapshot whose first `interrupted` passes the "kernel"
    /// marks interrupted (and which fails at route `fail_at`, if any).
    struct Churning {
        routes: Vec<crate::Route>,
        at: usize,
        passes: usize,
        interrupted: usize,
        fail_at: Option<usize>,
    }

    impl super::RouteSource for Churning {
        type Error = String;
        fn next_route(&mut self) -> Result<Option<crate::Route>, String> {
            if Some(self.at) == self.fail_at {
                return Err("reading IPv6 routes over netlink failed: No buffer space".into());
            }
            self.at += 1;
            Ok(self.routes.get(self.at - 1).cloned())
        }
        fn interrupted(&self) -> Vec<String> {
            if self.passes < self.interrupted {
                vec!["IPv4 routes".into()]
            } else {
                Vec::new()
            }
        }
        fn restart(&mut self) -> bool {
            self.at = 0;
            self.passes += 1;
            true
        }
    }

    fn churned(
        interrupted: usize,
        fail_at: Option<usize>,
        format: Format,
    ) -> (String, Result<Vec<crate::Finding>, String>) {
        let s = fixtures::seed_vm();
        let mut source = Churning {
            routes: s.routes.clone(),
            at: 0,
            passes: 0,
            interrupted,
            fail_at,
        };
        let base = Snapshot {
            routes: Vec::new(),
            ..s
        };
        let mut out = Vec::new();
        let found = write_report(&mut out, base, &mut source, &Expected::default(), format)
            .map_err(|e| e.to_string());
        (String::from_utf8(out).unwrap(), found)
    }

    #[test]
    fn an_interrupted_dump_is_read_again_and_the_report_is_that_of_a_whole_pass() {
        for format in [
            Format::Text { color: false },
            Format::Json { pretty: false },
        ] {
            let (once, _) = churned(0, None, format);
            let (twice, found) = churned(2, None, format);
            assert_eq!(twice, once, "{format:?}");
            assert!(!found
                .unwrap()
                .iter()
                .any(|f| f.code == crate::Code::DumpInterrupted));
        }
    }

    #[test]
    fn a_dump_interrupted_on_every_try_is_reported_as_possibly_inconsistent() {
        let (text, found) = churned(3, None, Format::Text { color: false });
        let f = found
            .unwrap()
            .into_iter()
            .find(|f| f.code == crate::Code::DumpInterrupted)
            .expect("finding");
        assert!(f
            .message
            .starts_with("IPv4 routes: Dump was interrupted and may be inconsistent"));
        assert!(
            text.contains("warning: IPv4 routes: Dump was interrupted"),
            "{text}"
        );
        assert!(
            text.contains("\ndefault via 10.0.250.1 dev eth0\n"),
            "the routes still follow"
        );
        let (json, _) = churned(3, None, Format::Json { pretty: true });
        assert!(json.contains(r#""code": "dump_interrupted""#), "{json}");
    }

    #[test]
    fn a_dump_that_fails_half_way_writes_no_report() {
        for format in [
            Format::Text { color: false },
            Format::Json { pretty: false },
            Format::Json { pretty: true },
        ] {
            let (out, found) = churned(0, Some(2), format);
            assert_eq!(out, "", "{format:?}");
            assert!(found.unwrap_err().contains("IPv6 routes"));
        }
    }

    #[test]
    fn a_spill_gives_back_what_it_took_past_its_memory() {
        let mut spill = Spill::default();
        let line = b"2001:db8:1:ffff::/64 via 2001:db8::2 dev dum0 proto static metric 1024\n";
        let n = 2 * Spill::MEMORY / line.len();
        for _ in 0..n {
            spill.write_all(line).unwrap();
        }
        assert!(spill.file.is_some(), "past 1 MiB it went to a file");
        let mut out = Vec::new();
        spill.copy_to(&mut out).unwrap();
        assert_eq!(out.len(), n * line.len());
        assert!(out.chunks(line.len()).all(|c| c == line));
    }
}
