//! `inject status`'s report, written while the route dump arrives: each
//! route goes out as it is read, and only what the findings need stays
//! behind (a [`Summary`]), so time and memory stay flat in the table's size.
//!
//! JSON ends with the findings, so its routes stream straight to the
//! writer. The text report starts with them, so its route sections go to a
//! [`Spill`] (memory, then an unlinked temporary file) and follow the
//! findings once the dump is done.

use std::convert::Infallible;
use std::fmt;
use std::io::{self, Seek, Write};
use std::net::IpAddr;

use super::findings::{findings_of_summary, reads_route, Finding, GatewayUses};
use super::model::{Route, Snapshot};
use super::read::{self, NetError, Reader, RouteDump};
use super::{json, text};

/// Routes, one at a time: the kernel's dump, or a snapshot's (tests).
pub trait RouteSource {
    type Error;
    fn next_route(&mut self) -> Result<Option<Route>, Self::Error>;
}

impl RouteSource for RouteDump<'_> {
    type Error = NetError;
    fn next_route(&mut self) -> Result<Option<Route>, NetError> {
        self.next()
    }
}

/// A snapshot's routes as a [`RouteSource`].
pub struct Routes<'a>(pub std::slice::Iter<'a, Route>);

impl RouteSource for Routes<'_> {
    type Error = Infallible;
    fn next_route(&mut self) -> Result<Option<Route>, Infallible> {
        Ok(self.0.next().cloned())
    }
}

/// What the findings need of a snapshot, gathered one route at a time.
pub struct Summary {
    /// Links, addresses and `accept_ra` whole; of the routes, only those
    /// the findings read one by one ([`reads_route`]).
    pub snapshot: Snapshot,
    uses: GatewayUses,
}

impl Summary {
    /// `snapshot`'s routes are taken as already counted (normally none).
    pub fn new(snapshot: Snapshot) -> Summary {
        let mut uses = GatewayUses::default();
        snapshot.routes.iter().for_each(|r| uses.add(r));
        Summary { snapshot, uses }
    }

    pub fn add(&mut self, route: &Route) {
        self.uses.add(route);
        if reads_route(route) {
            self.snapshot.routes.push(route.clone());
        }
    }

    /// The findings of every route added: those of the whole snapshot.
    pub fn findings(&self, gateways: &[IpAddr]) -> Vec<Finding> {
        findings_of_summary(&self.snapshot, &self.uses, gateways)
    }
}

/// Why a report stopped.
#[derive(Debug)]
pub enum ReportError<E> {
    /// Reading the state failed (possibly after part of it went out).
    Read(E),
    /// Writing the report failed (a closed pipe is one way).
    Write(io::Error),
}

impl<E: fmt::Display> fmt::Display for ReportError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Read(e) => e.fmt(f),
            ReportError::Write(e) => write!(f, "writing the report: {e}"),
        }
    }
}

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
    gateways: &[IpAddr],
    format: Format,
) -> Result<Vec<Finding>, ReportError<NetError>> {
    let mut reader = Reader::open().map_err(ReportError::Read)?;
    let links = reader.links().map_err(ReportError::Read)?;
    let addresses = reader.addresses().map_err(ReportError::Read)?;
    let accept_ra = read::accept_ra(&links);
    let base = Snapshot {
        links,
        addresses,
        routes: Vec::new(),
        accept_ra,
    };
    write_report(w, base, &mut reader.routes(), gateways, format)
}

/// The report of `base` (links, addresses, `accept_ra`) and the routes of
/// `routes`, written as they come.
/// A reader that closes the pipe early (`| head`) ends the output, not the
/// read: the findings of every route still decide `--strict`'s exit code.
pub fn write_report<W: Write, R: RouteSource>(
    w: W,
    base: Snapshot,
    routes: &mut R,
    gateways: &[IpAddr],
    format: Format,
) -> Result<Vec<Finding>, ReportError<R::Error>> {
    let mut w = UntilClosed { inner: w, closed: false };
    let mut summary = Summary::new(base);
    let findings = match format {
        Format::Json { pretty } => {
            json::write_streaming(&mut w, &mut summary, routes, gateways, pretty)?
        }
        Format::Text { color } => {
            let mut spill = Spill::default();
            text::write_route_sections(&mut spill, &mut summary, routes, color)?;
            let findings = summary.findings(gateways);
            text::write_head(&mut w, &summary.snapshot, &findings, color)
                .and_then(|()| spill.copy_to(&mut w))
                .map_err(ReportError::Write)?;
            findings
        }
    };
    w.flush().map_err(ReportError::Write)?;
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
