//! How often network changes may start a pass over every guard. Each pass
//! re-runs every guard, so a VM whose routes churn (a routing daemon, a
//! flapping link) must not get one per burst; yet the first change after a
//! quiet spell (someone deleted the default route) and the few changes of a
//! NIC restart (down, up, address back) are checked at once. Pure: the
//! loop passes the times in.

use std::time::Duration;

use tokio::time::Instant;

/// What one change pass costs; credit comes back at one per this.
pub const CHANGE_PASS_EVERY: Duration = Duration::from_secs(1);
/// Passes that may follow one another at once before the rate applies:
/// enough for a NIC restart (link down, link up, address back).
pub const CHANGE_PASS_BURST: u32 = 3;
/// A change with none for this long before it is checked at once, whatever
/// the credit.
pub const QUIET: Duration = CHANGE_PASS_EVERY;

/// A token bucket of change passes, held as time: full at
/// [`CHANGE_PASS_BURST`] passes, refilled at one per [`CHANGE_PASS_EVERY`].
/// A pass after a quiet spell is free: it goes at once and spends nothing,
/// since quiet spells cannot come more than about once per [`QUIET`].
#[derive(Debug, Clone)]
pub struct PassRate {
    credit: Duration,
    /// When `credit` was last brought up to date.
    at: Option<Instant>,
    /// When the last change was seen.
    last_change: Option<Instant>,
    /// Whether the burst being gathered began after a quiet spell.
    quiet: bool,
}

impl Default for PassRate {
    fn default() -> PassRate {
        PassRate {
            credit: CHANGE_PASS_EVERY * CHANGE_PASS_BURST,
            at: None,
            last_change: None,
            quiet: false,
        }
    }
}

impl PassRate {
    /// A burst of changes began at `first`: the earliest its pass may
    /// start; `None`: after the usual debounce.
    pub fn burst(&mut self, first: Instant) -> Option<Instant> {
        self.quiet = self
            .last_change
            .is_none_or(|last| first.saturating_duration_since(last) >= QUIET);
        self.seen(first);
        let credit = self.credit_at(first);
        if self.quiet || credit >= CHANGE_PASS_EVERY {
            None
        } else {
            Some(first + (CHANGE_PASS_EVERY - credit))
        }
    }

    /// Another change of the burst was seen at `at`.
    pub fn seen(&mut self, at: Instant) {
        self.last_change = Some(self.last_change.map_or(at, |last| last.max(at)));
    }

    /// The burst's pass started at `at`: one pass of credit spent, unless
    /// the burst came after a quiet spell.
    pub fn started(&mut self, at: Instant) {
        self.credit = self.credit_at(at);
        if !self.quiet {
            self.credit = self.credit.saturating_sub(CHANGE_PASS_EVERY);
        }
        self.at = Some(at);
    }

    fn credit_at(&self, now: Instant) -> Duration {
        let full = CHANGE_PASS_EVERY * CHANGE_PASS_BURST;
        match self.at {
            Some(at) => (self.credit + now.saturating_duration_since(at)).min(full),
            None => self.credit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs changes at the given times (ms after `t0`) through the rate as
    /// the loop does, one pass per change, each starting at its earliest
    /// (debounce left out); returns the passes' start times in ms.
    fn passes(changes: &[u64]) -> Vec<u64> {
        let t0 = Instant::now();
        let mut rate = PassRate::default();
        let mut started = Vec::new();
        let mut busy_until = t0;
        for &c in changes {
            let at = t0 + ms(c);
            if at < busy_until {
                // Gathered into the pass already waiting.
                rate.seen(at);
                continue;
            }
            let start = rate.burst(at).unwrap_or(at);
            rate.started(start);
            busy_until = start;
            started.push(start.duration_since(t0).as_millis() as u64);
        }
        started
    }

    #[test]
    fn the_first_change_after_a_quiet_second_goes_at_once() {
        // A deletion, the repair's own notification 10 ms later, again
        // every 1.3 s: never held.
        let mut changes = Vec::new();
        for k in 0..8 {
            changes.push(k * 1300);
            changes.push(k * 1300 + 10);
        }
        assert_eq!(passes(&changes), changes);
    }

    #[test]
    fn a_nic_restart_fits_in_the_burst() {
        // The first is free (quiet before it); three more at once.
        assert_eq!(passes(&[0, 60, 150, 170, 190]), vec![0, 60, 150, 170, 1060]);
    }

    #[test]
    fn churn_gets_one_pass_a_second() {
        let churn: Vec<u64> = (0..500).map(|n| n * 20).collect();
        let got = passes(&churn);
        assert_eq!(&got[..6], &[0, 20, 40, 60, 1020, 2020], "{got:?}");
        assert_eq!(got.len(), 14, "4 at once, then one a second: {got:?}");
    }

    #[test]
    fn credit_comes_back_with_time_up_to_the_burst() {
        let t0 = Instant::now();
        let mut rate = PassRate::default();
        assert_eq!(rate.burst(t0), None, "the first change is quiet: free");
        rate.started(t0);
        for n in 1..4 {
            assert_eq!(rate.burst(t0 + ms(n)), None);
            rate.started(t0 + ms(n));
        }
        // 2 ms of credit left after the third paid pass; a pass costs 1 s.
        let mut probe = rate.clone();
        assert_eq!(probe.burst(t0 + ms(500)), Some(t0 + ms(1001)));
        let mut probe = rate.clone();
        assert_eq!(probe.burst(t0 + ms(1001)), None);
        // After a minute: quiet (free) and the credit full again, to 3.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(rate.burst(later), None);
        rate.started(later);
        for n in 1..4 {
            assert_eq!(rate.burst(later + ms(n)), None, "pass {n} of the burst");
            rate.started(later + ms(n));
        }
        assert_eq!(rate.burst(later + ms(4)), Some(later + ms(1001)));
    }
}
