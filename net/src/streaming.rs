//! What the streaming reports (`text`, `json`) share with `report`, which
//! drives them: the routes one at a time ([`RouteSource`]: the kernel's
//! dump, or a snapshot's in tests), what the findings keep of them
//! ([`RouteSummary`]), and why a report stopped ([`ReportError`]).

use std::convert::Infallible;
use std::io;

use crate::findings::{findings_of_summary, reads_route, Expected, Finding, GatewayUses};
use crate::model::{Route, Snapshot};
use crate::read::{NetError, RouteDump};

/// Routes, one at a time: the kernel's dump, or a snapshot's (tests).
pub trait RouteSource {
    type Error;
    fn next_route(&mut self) -> Result<Option<Route>, Self::Error>;

    /// After the last route: the dumps the kernel marked interrupted
    /// (`IPv4 routes`, …), which may miss routes or hold some twice.
    fn interrupted(&self) -> Vec<String> {
        Vec::new()
    }

    /// Start over from the first route; false when this source cannot.
    fn restart(&mut self) -> bool {
        false
    }
}

impl RouteSource for RouteDump<'_> {
    type Error = NetError;
    fn next_route(&mut self) -> Result<Option<Route>, NetError> {
        self.next()
    }

    fn interrupted(&self) -> Vec<String> {
        self.interrupted.iter().map(|s| s.to_string()).collect()
    }

    fn restart(&mut self) -> bool {
        self.restart();
        true
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
pub struct RouteSummary {
    /// Links, addresses and `accept_ra` whole; of the routes, only those
    /// the findings read one by one ([`reads_route`]).
    pub snapshot: Snapshot,
    uses: GatewayUses,
}

impl RouteSummary {
    /// `snapshot`'s routes are taken as already counted (normally none).
    pub fn new(snapshot: Snapshot) -> RouteSummary {
        let mut uses = GatewayUses::default();
        snapshot.routes.iter().for_each(|r| uses.add(r));
        RouteSummary { snapshot, uses }
    }

    pub fn add(&mut self, route: &Route) {
        self.uses.add(route);
        if reads_route(route) {
            self.snapshot.routes.push(route.clone());
        }
    }

    /// After the last route of `routes`: note the dumps it says were
    /// interrupted, for the findings.
    pub fn end<R: RouteSource>(&mut self, routes: &R) {
        self.snapshot.interrupted.extend(routes.interrupted());
    }

    /// The findings of every route added: those of the whole snapshot.
    pub fn findings(&self, gateways: &Expected) -> Vec<Finding> {
        findings_of_summary(&self.snapshot, &self.uses, gateways)
    }
}

/// Why a report stopped: reading the state, or writing the report, failed.
/// `E` is the reading's error ([`NetError`](crate::read::NetError) from the
/// kernel); both causes stay reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum ReportError<E> {
    /// Reading the state failed (possibly after part of it went out).
    #[error(transparent)]
    Read(E),
    /// Writing the report failed (a closed pipe is one way).
    #[error("writing the report: {0}")]
    Write(#[source] io::Error),
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::ReportError;
    use crate::read::NetError;

    #[test]
    fn a_failed_read_says_what_failed_and_keeps_the_kernels_answer_as_its_source() {
        let enobufs = std::io::Error::from_raw_os_error(105);
        let err: ReportError<NetError> = ReportError::Read(NetError::dump("IPv6 routes", enobufs));
        assert_eq!(
            err.to_string(),
            "reading IPv6 routes over netlink failed: No buffer space available (os error 105)"
        );
        let source = err.source().expect("the kernel's answer");
        assert_eq!(
            source.to_string(),
            "No buffer space available (os error 105)"
        );
        let write = ReportError::<NetError>::Write(std::io::ErrorKind::BrokenPipe.into());
        assert_eq!(write.to_string(), "writing the report: broken pipe");
        assert_eq!(write.source().unwrap().to_string(), "broken pipe");
    }
}
