//! Following the network: the change stream applied to a kept snapshot
//! ([`on_change`]), and re-reads, for what cannot be applied, coalesced by
//! one rule ([`Reads`]) that `inject status --watch` and the dashboard share.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::IpAddr;

use futures_util::{FutureExt, StreamExt};

use crate::findings::{findings_of_summary, reads_route, Code, Expected, Finding, GatewayUses};
use crate::model::{Route, Snapshot};
use crate::patch::Applied;
use crate::read::{self, NetError, Reader};
use crate::report::{write_status, Format};
use crate::streaming::{ReportError, RouteSummary};
use crate::text;
use crate::watch::{watch, Change};

/// When to re-read after changes: the first change reads at once (so a
/// single route shows without delay); changes during that read cause
/// exactly one more read, after it. A burst (a link going down takes its
/// routes along; a 100 000-route table swapped) costs at most two reads,
/// and the last read always starts after the last change it must see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    reading: bool,
    stale: bool,
}

impl Reads {
    /// Something changed (or someone asked): true when a read must start now.
    pub fn changed(&mut self) -> bool {
        if self.reading {
            self.stale = true;
            false
        } else {
            self.reading = true;
            true
        }
    }

    /// The read in flight finished: true when another must start now.
    pub fn done(&mut self) -> bool {
        self.reading = std::mem::take(&mut self.stale);
        self.reading
    }

    /// A read is in flight.
    pub fn reading(&self) -> bool {
        self.reading
    }
}

/// What a follower does next after a change ([`on_change`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing: the snapshot already said it, or a read is already owed.
    Nothing,
    /// Start a read now.
    Read,
    /// The change was applied to the snapshot in place.
    Applied(Applied),
}

/// The rule `inject status --watch` and the dashboard share for a change:
/// applied to the kept `snapshot` in place when it can be exactly
/// ([`Snapshot::apply`]); otherwise a read, coalesced by `reads`. While a
/// read is in flight the change may or may not be in it, so it only makes
/// sure another read follows; with no snapshot (none read yet, or the last
/// read failed) every change reads.
pub fn on_change(snapshot: &mut Option<Snapshot>, reads: &mut Reads, change: &Change) -> Next {
    on_change_with(snapshot, reads, change, |s, c| s.apply(c))
}

/// [`on_change`] with `apply` in place of [`Snapshot::apply`] (the
/// dashboard's, which also keeps its packed routes current).
pub fn on_change_with<S>(
    snapshot: &mut Option<S>,
    reads: &mut Reads,
    change: &Change,
    apply: impl FnOnce(&mut S, &Change) -> Applied,
) -> Next {
    let applied = match snapshot.as_mut() {
        Some(s) if !reads.reading() => apply(s, change),
        _ => Applied::NeedsRead,
    };
    match applied {
        Applied::NeedsRead if reads.changed() => Next::Read,
        Applied::NeedsRead | Applied::Unchanged => Next::Nothing,
        applied => Next::Applied(applied),
    }
}

/// Why [`print_watch`] stopped.
#[derive(Debug)]
pub enum WatchEnd {
    /// Netlink could not be opened or read at the start.
    Net(NetError),
    /// The subscription ended: the socket failed.
    Ended,
    /// Writing the output failed (not a closed pipe: that is a normal end).
    Write(io::Error),
}

impl std::fmt::Display for WatchEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatchEnd::Net(e) => write!(f, "{e}"),
            WatchEnd::Ended => f.write_str("the netlink subscription ended"),
            WatchEnd::Write(e) => write!(f, "writing the report: {e}"),
        }
    }
}

/// `inject status --watch`: the report, then a line per change and the
/// findings again whenever a re-read changes them. Runs until the output
/// is closed (`| head`: `Ok`) or netlink fails. Re-read errors go to
/// `errors` and following goes on.
pub async fn print_watch(
    mut out: impl Write,
    mut errors: impl Write,
    gateways: &Expected,
    color: bool,
) -> Result<(), WatchEnd> {
    match watch_to(&mut out, &mut errors, gateways, color).await {
        Err(WatchEnd::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Resolves when the reader of `out` goes away: the read end of a pipe
/// closed (`inject status --watch | head -1`: `head` has its line and
/// exits) or the terminal hung up. Without it `--watch` learns of the
/// closed pipe only at its next write, which may be hours away on a quiet
/// host. A file or anything else that cannot hang up never resolves it.
///
/// `poll` with no events asked for reports just POLLERR/POLLHUP; it runs
/// on a thread of its own (on a copy of the descriptor) so that neither
/// the runtime nor its shutdown waits for it.
pub async fn reader_gone(out: std::os::fd::BorrowedFd<'_>) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let Ok(fd) = out.try_clone_to_owned() else {
        return std::future::pending().await;
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("reader-gone".into())
        .spawn(move || loop {
            let mut fds = [PollFd::new(
                std::os::fd::AsFd::as_fd(&fd),
                PollFlags::empty(),
            )];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {
                    let gone = PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL;
                    if fds[0].revents().is_some_and(|r| r.intersects(gone)) {
                        let _ = tx.send(());
                        return;
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return, // cannot tell: never say it went
            }
        });
    if spawned.is_err() || rx.await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn watch_to(
    out: &mut impl Write,
    errors: &mut impl Write,
    gateways: &Expected,
    color: bool,
) -> Result<(), WatchEnd> {
    // Subscribe before the first read, so nothing between the two is lost.
    let changes = watch().await.map_err(WatchEnd::Net)?;
    // The report as `inject status` writes it (routes streamed out, flat
    // memory); then a summary is read for following, as if a change had
    // come: changes meanwhile are printed and cause one more read after.
    let mut findings =
        write_status(&mut *out, gateways, Format::Text { color }).map_err(|e| match e {
            ReportError::Read(e) => WatchEnd::Net(e),
            ReportError::Write(e) => WatchEnd::Write(e),
        })?;
    writeln!(out, "\nwatching for changes (Ctrl-C to stop)").map_err(WatchEnd::Write)?;
    out.flush().map_err(WatchEnd::Write)?;

    let mut followed: Option<Followed> = None;
    let mut reads = Reads::default();
    reads.changed();
    let mut changes = changes.fuse();
    let mut reading = std::pin::pin!(read_summary_on_thread().fuse());
    loop {
        let mut now = None;
        tokio::select! {
            change = changes.next() => {
                let Some(change) = change else { break };
                writeln!(out, "{change}").map_err(WatchEnd::Write)?;
                match on_watch_change(&mut followed, &mut reads, &findings, &change) {
                    Next::Read => reading.set(read_summary_on_thread().fuse()),
                    Next::Applied(_) => {
                        let f = followed.as_mut().expect("applied to it");
                        // An address gone may be IPv6 disabled on its NIC,
                        // which the kernel announces by no link change:
                        // read the host's facts again for the findings.
                        if let Change::Address { .. } = change {
                            super::sysctl::read_host(&mut f.summary.snapshot);
                        }
                        now = Some(f.summary.findings(gateways));
                    }
                    Next::Nothing => {}
                }
            }
            result = &mut reading => {
                match result {
                    Ok(summary) => {
                        now = Some(summary.findings(gateways));
                        followed = Some(Followed::new(summary, gateways));
                    }
                    Err(e) => {
                        // Another error may follow; the next change reads.
                        let _ = writeln!(errors, "inject status: re-reading: {e}");
                        followed = None;
                    }
                }
                if reads.done() {
                    reading.set(read_summary_on_thread().fuse());
                }
            }
        }
        // Unchanged findings say nothing.
        if let Some(now) = now.filter(|now| *now != findings) {
            findings = now;
            write!(out, "{}", text::findings_text(&findings, color)).map_err(WatchEnd::Write)?;
        }
        out.flush().map_err(WatchEnd::Write)?;
    }
    Err(WatchEnd::Ended)
}

/// What `inject status --watch` keeps between changes: the findings'
/// summary of the last read (links, addresses, the routes the findings
/// read one by one, the gateways every route uses, counted), never the
/// routes themselves, so its memory stays flat at any table size and
/// through a flood of route changes.
///
/// The gateway counts are exact for what the findings report (gateways in
/// no connected prefix) and may go stale only for gateways they never
/// report: a route change is applied without a read only when every one
/// of its gateways is on a link and no gateway is reported off-link.
pub struct Followed {
    summary: RouteSummary,
    expected: Expected,
    /// Whether each (gateway, device) is on a link, as the findings judge
    /// it; cleared when the addresses or the kept routes change.
    on_link: HashMap<(IpAddr, Option<u32>), bool>,
}

impl Followed {
    pub fn new(summary: RouteSummary, expected: &Expected) -> Followed {
        Followed {
            summary,
            expected: expected.clone(),
            on_link: HashMap::new(),
        }
    }

    /// Whether every gateway of `route` is on a link (one lookup per path
    /// for a route of a flood: they share gateways).
    fn on_link(&mut self, route: &Route) -> bool {
        route.paths().all(|(gateway, oif, onlink)| {
            let Some(gateway) = gateway else { return true };
            let (summary, expected) = (&self.summary, &self.expected);
            *self.on_link.entry((gateway, oif)).or_insert_with(|| {
                path_on_link(&summary.snapshot, route, (gateway, oif, onlink), expected)
            })
        })
    }

    /// Apply `change` without a read when that is exact for the findings
    /// (see the type's notes); `NeedsRead` otherwise, leaving it untouched.
    pub fn apply(&mut self, change: &Change, findings: &[Finding]) -> Applied {
        match change {
            Change::Route { route, .. } => {
                // A reported gateway's count must stay exact; a connected
                // prefix changes what is on a link.
                let reported = findings.iter().any(|f| f.code == Code::GatewayNotOnLink);
                if reported || !self.on_link(route) || (reads_route(route) && !route.is_default()) {
                    return Applied::NeedsRead;
                }
                if reads_route(route) {
                    return self.summary.snapshot.apply(change);
                }
                // Another route the findings only count: unless it replaces
                // (or is) one they read, nothing they say changes.
                let same_key = |r: &Route| {
                    r.family == route.family
                        && r.table == route.table
                        && r.destination == route.destination
                        && r.source == route.source
                        && r.tos == route.tos
                        && r.metric == route.metric
                };
                if self.summary.snapshot.routes.iter().any(same_key) {
                    Applied::NeedsRead
                } else {
                    Applied::Unchanged
                }
            }
            _ => {
                let applied = self.summary.snapshot.apply(change);
                if applied == Applied::Addresses {
                    self.on_link.clear();
                }
                applied
            }
        }
    }
}

/// Whether every gateway of `route` is on a link, as the findings judge it
/// with the links, addresses and connected routes of `kept`.
pub fn gateways_on_link(kept: &Snapshot, route: &Route, expected: &Expected) -> bool {
    route.paths().all(|(gateway, oif, onlink)| match gateway {
        Some(gateway) => path_on_link(kept, route, (gateway, oif, onlink), expected),
        None => true,
    })
}

/// [`gateways_on_link`] for the routes of a batch against one `kept`:
/// each path judged once (a flood's routes share a few gateways, and a
/// judgement is the findings on a one-route table).
#[derive(Debug, Default)]
pub struct OnLinkMemo(HashMap<(bool, IpAddr, Option<u32>, bool), bool>);

impl OnLinkMemo {
    /// Whether every gateway of `route` is on a link (see
    /// [`gateways_on_link`]); `kept` and `expected` must be the same on
    /// every call.
    pub fn all(&mut self, kept: &Snapshot, route: &Route, expected: &Expected) -> bool {
        route.paths().all(|(gateway, oif, onlink)| {
            let Some(gateway) = gateway else { return true };
            let key = (route.in_main_table(), gateway, oif, onlink);
            *self
                .0
                .entry(key)
                .or_insert_with(|| path_on_link(kept, route, (gateway, oif, onlink), expected))
        })
    }
}

/// The findings' own judgement, on one path of `route`: no
/// `gateway_not_on_link` for a table of that path alone.
fn path_on_link(
    kept: &Snapshot,
    route: &Route,
    (gateway, oif, onlink): (IpAddr, Option<u32>, bool),
    expected: &Expected,
) -> bool {
    let mut path = route.clone();
    (path.gateway, path.oif, path.onlink) = (Some(gateway), oif, onlink);
    path.nexthops.clear();
    let mut uses = GatewayUses::default();
    uses.add(&path);
    !findings_of_summary(kept, &uses, expected)
        .iter()
        .any(|f| f.code == Code::GatewayNotOnLink)
}

/// [`on_change`] for `--watch`'s [`Followed`] state.
pub fn on_watch_change(
    followed: &mut Option<Followed>,
    reads: &mut Reads,
    findings: &[Finding],
    change: &Change,
) -> Next {
    on_change_with(followed, reads, change, |f, c| f.apply(c, findings))
}

/// The findings' summary of the kernel's state, read on a thread started
/// now (in the caller's network namespace), routes streamed through it:
/// ~5 MB at any table size. A dump the kernel marks interrupted is read
/// again, up to [`read::TRIES`] times.
pub fn read_summary_on_thread(
) -> impl std::future::Future<Output = Result<RouteSummary, NetError>> + Send + 'static {
    read::on_thread(read_summary_blocking)
}

fn read_summary_blocking() -> Result<RouteSummary, NetError> {
    let mut reader = Reader::open()?;
    let links = reader.links()?;
    let addresses = reader.addresses()?;
    let neighbours = reader.neighbours()?;
    let mut base = Snapshot {
        accept_ra: read::accept_ra(&links),
        links,
        addresses,
        neighbours,
        interrupted: reader.interrupted.iter().map(|s| s.to_string()).collect(),
        ..Snapshot::default()
    };
    super::sysctl::read_host(&mut base);
    let mut attempt = 1;
    loop {
        let mut summary = RouteSummary::new(base.clone());
        let mut dump = reader.routes();
        while let Some(route) = dump.next()? {
            summary.add(&route);
        }
        if dump.interrupted.is_empty() || attempt == read::TRIES {
            summary.end(&dump);
            return Ok(summary);
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{findings, findings_with};
    use crate::fixtures::{default_route, seed_vm, seed_vm_fixed};
    use crate::{Action, Protocol};

    #[test]
    fn the_first_change_reads_at_once_and_a_burst_adds_one_read() {
        let mut r = Reads::default();
        assert!(r.changed(), "first change reads now");
        assert!(!r.changed());
        assert!(!r.changed());
        assert!(r.reading());
        assert!(r.done(), "changes during the read: one more");
        assert!(!r.done(), "nothing since: done");
        assert!(!r.reading());
        assert!(r.changed());
    }

    fn route_change(action: Action) -> Change {
        Change::Route {
            action,
            route: default_route("2001:db8:69f5::1", 3, Protocol::STATIC, Some(1024)),
            line: String::new(),
        }
    }

    #[test]
    fn a_route_change_applies_in_place_and_what_cannot_reads() {
        let mut snapshot = Some(seed_vm());
        let mut reads = Reads::default();
        let added = route_change(Action::Added);
        assert!(matches!(
            on_change(&mut snapshot, &mut reads, &added),
            Next::Applied(Applied::RouteAdded(_))
        ));
        assert_eq!(
            findings(snapshot.as_ref().unwrap()),
            findings(&seed_vm_fixed())
        );
        assert_eq!(on_change(&mut snapshot, &mut reads, &added), Next::Nothing);
        assert_eq!(
            on_change(&mut snapshot, &mut reads, &Change::Overrun),
            Next::Read
        );
        let kept = snapshot.clone();
        // During the read: nothing applied, one more read owed.
        let deleted = route_change(Action::Deleted);
        assert_eq!(
            on_change(&mut snapshot, &mut reads, &deleted),
            Next::Nothing
        );
        assert_eq!(snapshot, kept);
        assert!(reads.done(), "the change during the read reads again");
    }

    #[test]
    fn with_no_snapshot_every_change_reads() {
        let mut reads = Reads::default();
        let added = route_change(Action::Added);
        assert_eq!(on_change(&mut None, &mut reads, &added), Next::Read);
        assert_eq!(on_change(&mut None, &mut reads, &added), Next::Nothing);
    }

    /// `--watch`'s state after a read of `snapshot`.
    fn followed(snapshot: Snapshot) -> (Followed, Vec<Finding>) {
        let routes = snapshot.routes.clone();
        let mut summary = RouteSummary::new(Snapshot {
            routes: Vec::new(),
            ..snapshot
        });
        routes.iter().for_each(|r| summary.add(r));
        let expected = Expected::default();
        let findings = summary.findings(&expected);
        (Followed::new(summary, &expected), findings)
    }

    fn via(destination: &str, gateway: &str, oif: u32) -> Route {
        let mut r = default_route(gateway, oif, Protocol(186), None);
        r.destination = destination.parse().unwrap();
        r
    }

    fn change(action: Action, route: Route) -> Change {
        Change::Route {
            action,
            route,
            line: String::new(),
        }
    }

    #[test]
    fn watch_applies_routes_via_gateways_on_a_link_without_a_read() {
        let (mut f, findings) = followed(seed_vm());
        // A route of a flood: counted only, its gateway in eth1's prefix.
        let bgp = via("2001:db8:1::/48", "2001:db8:69f5::2", 3);
        for action in [Action::Added, Action::Deleted] {
            assert_eq!(
                f.apply(&change(action, bgp.clone()), &findings),
                Applied::Unchanged
            );
        }
        // The missing IPv6 default added: applied, and the finding clears.
        let default = default_route("2001:db8:69f5::1", 3, Protocol::STATIC, Some(1024));
        assert!(matches!(
            f.apply(&change(Action::Added, default), &findings),
            Applied::RouteAdded(_)
        ));
        assert_eq!(
            f.summary.findings(&Expected::default()),
            findings_with(&seed_vm_fixed(), &Expected::default())
        );
    }

    #[test]
    fn watch_reads_for_what_could_change_a_reported_gateway_or_prefix() {
        let (mut f, findings) = followed(seed_vm_fixed());
        // A gateway in no connected prefix: the findings report it.
        let off = via("192.0.2.0/24", "198.51.100.7", 2);
        assert_eq!(
            f.apply(&change(Action::Added, off.clone()), &findings),
            Applied::NeedsRead
        );
        // A connected prefix changes what is on a link.
        let mut connected = via("10.9.0.0/16", "10.0.250.1", 2);
        connected.gateway = None;
        assert_eq!(
            f.apply(&change(Action::Added, connected), &findings),
            Applied::NeedsRead
        );
        // While an off-link gateway is reported, its count must stay
        // exact: every route change reads.
        let mut with_off = seed_vm_fixed();
        with_off.routes.push(off);
        let (mut f, findings) = followed(with_off);
        assert!(findings.iter().any(|x| x.code == Code::GatewayNotOnLink));
        let bgp = via("10.1.0.0/24", "10.0.250.2", 2);
        assert_eq!(
            f.apply(&change(Action::Added, bgp), &findings),
            Applied::NeedsRead
        );
    }
}
