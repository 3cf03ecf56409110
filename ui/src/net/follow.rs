//! Following the network: the change stream, and re-reads of the snapshot
//! coalesced by one rule ([`Reads`]) that `inject status --watch` and the
//! dashboard share.

use std::future::Future;
use std::io::{self, Write};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::Poll;

use futures_util::{Stream, StreamExt};

use super::findings::findings_with;
use super::model::Snapshot;
use super::read::{read_snapshot, NetError};
use super::text;
use super::watch::{watch, Change};

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

/// What following yields, in order: each change as it arrives, and the
/// result of each re-read.
#[derive(Debug)]
pub enum Followed<S> {
    Change(Change),
    Read(S),
}

/// Follow `changes`, re-reading with `read` as [`Reads`] says. Ends when
/// `changes` ends (a read then in flight is dropped).
pub fn follow<C, R, F>(changes: C, mut read: R) -> impl Stream<Item = Followed<F::Output>>
where
    C: Stream<Item = Change> + Unpin,
    R: FnMut() -> F,
    F: Future,
{
    let mut changes = changes.fuse();
    let mut reads = Reads::default();
    let mut in_flight: Option<Pin<Box<F>>> = None;
    futures_util::stream::poll_fn(move |cx| {
        if let Some(f) = in_flight.as_mut() {
            if let Poll::Ready(result) = f.as_mut().poll(cx) {
                // A read started here is polled on the caller's next poll.
                in_flight = reads.done().then(|| Box::pin(read()));
                return Poll::Ready(Some(Followed::Read(result)));
            }
        }
        match changes.poll_next_unpin(cx) {
            Poll::Ready(Some(change)) => {
                if reads.changed() {
                    in_flight = Some(Box::pin(read()));
                }
                Poll::Ready(Some(Followed::Change(change)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
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
    gateways: &[IpAddr],
    color: bool,
) -> Result<(), WatchEnd> {
    match watch_to(&mut out, &mut errors, gateways, color).await {
        Err(WatchEnd::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

async fn watch_to(
    out: &mut impl Write,
    errors: &mut impl Write,
    gateways: &[IpAddr],
    color: bool,
) -> Result<(), WatchEnd> {
    // Subscribe before the first read, so nothing between the two is lost.
    let changes = watch().await.map_err(WatchEnd::Net)?;
    let snapshot = read_snapshot().await.map_err(WatchEnd::Net)?;
    let mut findings = findings_with(&snapshot, gateways);
    write!(out, "{}", text::render(&snapshot, &findings, color)).map_err(WatchEnd::Write)?;
    drop(snapshot);
    writeln!(out, "\nwatching for changes (Ctrl-C to stop)").map_err(WatchEnd::Write)?;
    out.flush().map_err(WatchEnd::Write)?;

    let read = || async {
        read_snapshot()
            .await
            .map(|s: Snapshot| findings_with(&s, gateways))
    };
    let mut followed = std::pin::pin!(follow(changes, read));
    while let Some(item) = followed.next().await {
        match item {
            Followed::Change(change) => writeln!(out, "{change}"),
            Followed::Read(Ok(now)) if now != findings => {
                findings = now;
                write!(out, "{}", text::findings_text(&findings, color))
            }
            // Unchanged findings say nothing; another error may follow.
            Followed::Read(Ok(_)) => Ok(()),
            Followed::Read(Err(e)) => {
                let _ = writeln!(errors, "inject status: re-reading: {e}");
                Ok(())
            }
        }
        .and_then(|()| out.flush())
        .map_err(WatchEnd::Write)?;
    }
    Err(WatchEnd::Ended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

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

    fn route_change(n: u8) -> Change {
        let line = format!("10.9.{n}.0/24 dev eth0");
        Change::Route {
            action: super::super::watch::Action::Added,
            route: super::super::fixtures::default_route(
                "10.0.250.1",
                2,
                super::super::Protocol::BOOT,
                None,
            ),
            line,
        }
    }

    #[tokio::test]
    async fn follow_yields_every_change_and_coalesces_reads() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let changes = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let started = Arc::new(AtomicUsize::new(0));
        let (gate_tx, gate_rx) = tokio::sync::watch::channel(0usize);
        let reads = started.clone();
        // Read n finishes when the gate reaches n, returning n.
        let read = move || {
            let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
            let mut gate = gate_rx.clone();
            async move {
                let _ = gate.wait_for(|g| *g >= n).await;
                n
            }
        };
        let mut f = std::pin::pin!(follow(changes, read));
        for n in 0..3 {
            tx.send(route_change(n)).unwrap();
        }
        for _ in 0..3 {
            assert!(matches!(f.next().await, Some(Followed::Change(_))));
        }
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "one read for the burst so far"
        );
        gate_tx.send(1).unwrap();
        assert!(matches!(f.next().await, Some(Followed::Read(1))));
        // Changes came during read 1: exactly one more read, after it.
        gate_tx.send(2).unwrap();
        assert!(matches!(f.next().await, Some(Followed::Read(2))));
        assert_eq!(started.load(Ordering::SeqCst), 2);
        drop(tx);
        assert!(f.next().await.is_none(), "ends with the changes");
    }
}
