//! Following the network: the change stream applied to a kept snapshot
//! ([`on_change`]), and re-reads, for what cannot be applied, coalesced by
//! one rule ([`Reads`]) that `inject status --watch` and the dashboard share.

use std::io::{self, Write};

use futures_util::{FutureExt, StreamExt};

use crate::findings::{findings_with, Expected};
use crate::model::Snapshot;
use crate::patch::Applied;
use crate::read::{read_snapshot, NetError};
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
    let snapshot = read_snapshot().await.map_err(WatchEnd::Net)?;
    let mut findings = findings_with(&snapshot, gateways);
    write!(out, "{}", text::render(&snapshot, &findings, color)).map_err(WatchEnd::Write)?;
    writeln!(out, "\nwatching for changes (Ctrl-C to stop)").map_err(WatchEnd::Write)?;
    out.flush().map_err(WatchEnd::Write)?;

    let mut snapshot = Some(snapshot);
    let mut reads = Reads::default();
    let mut changes = changes.fuse();
    let mut reading = std::pin::pin!(futures_util::future::Fuse::terminated());
    loop {
        let mut now = None;
        tokio::select! {
            change = changes.next() => {
                let Some(change) = change else { break };
                writeln!(out, "{change}").map_err(WatchEnd::Write)?;
                match on_change(&mut snapshot, &mut reads, &change) {
                    Next::Read => reading.set(read_snapshot().fuse()),
                    Next::Applied(_) => {
                        // An address gone may be IPv6 disabled on its NIC,
                        // which the kernel announces by no link change:
                        // read the host's facts again for the findings.
                        if let (Change::Address { .. }, Some(s)) = (&change, snapshot.as_mut()) {
                            super::sysctl::read_host(s);
                        }
                        now = snapshot.as_ref().map(|s| findings_with(s, gateways));
                    }
                    Next::Nothing => {}
                }
            }
            result = &mut reading => {
                match result {
                    Ok(s) => {
                        now = Some(findings_with(&s, gateways));
                        snapshot = Some(s);
                    }
                    Err(e) => {
                        // Another error may follow; the next change reads.
                        let _ = writeln!(errors, "inject status: re-reading: {e}");
                        snapshot = None;
                    }
                }
                if reads.done() {
                    reading.set(read_snapshot().fuse());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::findings;
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
}
