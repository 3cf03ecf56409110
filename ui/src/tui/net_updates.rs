//! The dashboard following the network: a full read shown and kept, a
//! netlink change applied in place (or turned into a read), reads
//! coalesced, and whether a fix's finding cleared once the network is read
//! again. Part of `update` (see `update.rs`): only it calls these.

use inject_net::{Change, Snapshot};

use super::app::{clock_time, App, Effect, Level, LIVE_STOPPED};
use super::rows::{on_changes, reading_view, split, view_of, FRESH_MAX};

impl App {
    /// Show this snapshot (a full read) and keep it for the changes to come.
    pub fn set_snapshot(&mut self, snapshot: Snapshot) {
        let (kept, store) = split(snapshot);
        self.net = view_of(&kept, store, &self.expected);
        self.snapshot = Some(kept);
    }

    /// Netlink changes, in arrival order: applied to the snapshot and
    /// the rows in place when that is exact, else a read ([`on_changes`]).
    pub(crate) fn on_net_changes(&mut self, changes: &[Change]) -> Vec<Effect> {
        let (snapshot, net, reads) = (&mut self.snapshot, &mut self.net, &mut self.reads);
        let followed = on_changes(snapshot, net, reads, &self.expected, changes);
        if followed.applied {
            // Routes that just appeared are marked for a moment: the last
            // few, however many came.
            if let Some(now) = self.wall {
                self.fresh
                    .extend(followed.added.into_iter().map(|line| (line, now)));
                let over = self.fresh.len().saturating_sub(FRESH_MAX);
                self.fresh.drain(..over);
            }
            self.updated = self.wall;
        }
        if followed.read {
            vec![Effect::ReadSnapshot]
        } else {
            Vec::new()
        }
    }

    /// After a fix ran and the network was read again: say whether the
    /// finding it was for cleared.
    pub(crate) fn say_if_fixed(&mut self) {
        let Some((ran, key)) = self.fix.done.take() else {
            return;
        };
        let still = self.net.findings.iter().any(|f| f.key.same(&key));
        if still {
            self.say(Level::Error, format!("{ran}; still there: {}", key.message));
        } else {
            self.say(Level::Info, format!("{ran}; cleared: {}", key.message));
        }
    }

    /// Ask for a snapshot, coalescing bursts ([`Reads`]): the first change
    /// reads at once; changes during that read cause exactly one more.
    pub(crate) fn request_read(&mut self) -> Vec<Effect> {
        if self.reads.changed() {
            vec![Effect::ReadSnapshot]
        } else {
            Vec::new()
        }
    }

    /// The netlink subscription ended: only `r` updates the view now.
    pub(crate) fn on_net_ended(&mut self) -> Vec<Effect> {
        self.subscribed = false;
        self.say(Level::Warn, LIVE_STOPPED);
        Vec::new()
    }

    /// A snapshot read came back: shown, or why it failed; then the read
    /// owed, if changes came during this one.
    pub(crate) fn on_snapshot(&mut self, result: Result<Snapshot, String>) -> Vec<Effect> {
        // The first read, under way: interfaces now, routes when all are
        // read (the read is still in flight for `reads`).
        if let Ok(snapshot) = &result {
            if snapshot.reading_routes.is_some() {
                self.net = reading_view(snapshot);
                return Vec::new();
            }
        }
        match result {
            Ok(snapshot) => {
                self.set_snapshot(snapshot);
                self.say_if_fixed();
                self.net_error = None;
                self.updated = self.wall;
                if self.message_text() == Some("refreshing") {
                    // `r` is answered: when the view was read.
                    let at = self.wall.map(clock_time).unwrap_or_default();
                    self.say(Level::Info, format!("re-read at {at}"));
                    // Still true after the refresh: keep saying it.
                    if !self.subscribed {
                        self.say(Level::Warn, LIVE_STOPPED);
                    }
                }
            }
            Err(e) => {
                // What changed since the last good read is unknown.
                self.snapshot = None;
                self.net_error = Some(e);
                // The first read failed half-way: no longer reading.
                if self.net.reading.take().is_some() {
                    self.net.banner.clear();
                }
            }
        }
        if self.reads.done() {
            vec![Effect::ReadSnapshot]
        } else {
            Vec::new()
        }
    }
}
