//! What the ensure loop concludes after each check of a command, whether an
//! operator needs to read about it, and when the command is looked at next.
//! Pure functions of what happened, so the policy is tested without
//! processes or clocks.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::run_event::{format_duration, Outcome};

/// Why a command was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The first check after the loop started (a boot, a monit restart).
    Start,
    /// The periodic re-check, for what netlink cannot see.
    Periodic,
    /// A burst of network changes: the first one (or the first that names
    /// who made it), how many more came, and who made it when netlink
    /// tells (see [`Cause::by`]).
    Change {
        first: String,
        more: usize,
        by: Option<String>,
    },
}

impl Cause {
    /// A burst of changes none of which names who made it.
    pub fn change(first: impl Into<String>, more: usize) -> Cause {
        Cause::Change {
            first: first.into(),
            more,
            by: None,
        }
    }

    /// Who made a change of the burst, when netlink tells: a route's
    /// protocol other than the kernel's or `ip route`'s own (`proto ra`: a
    /// router advertisement; `proto static`: systemd-networkd's own). A
    /// deletion names nobody.
    pub fn by(&self) -> Option<&str> {
        match self {
            Cause::Change { by, .. } => by.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Start => f.write_str("at start"),
            Cause::Periodic => f.write_str("on the periodic re-check"),
            Cause::Change { first, more: 0, .. } => write!(f, "after {first}"),
            Cause::Change { first, more: 1, .. } => {
                write!(f, "after {first} (+1 more change)")
            }
            Cause::Change { first, more, .. } => {
                write!(f, "after {first} (+{more} more changes)")
            }
        }
    }
}

/// What a check came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The guard held: nothing to do.
    Holds,
    /// The guard holds again after failures, without the command having
    /// succeeded (somebody else fixed it, or the cause went away).
    Recovered,
    /// The guard did not hold; the command ran and succeeded.
    Repaired,
    /// The command (or its guard) failed or timed out.
    Failed,
    /// Stopped by a shutdown while it ran.
    Interrupted,
    /// Not run: another actor (a router advertisement) undid the last
    /// repair within [`FIGHT_WINDOW`]; ensure leaves it to that actor for
    /// a while instead of repairing in a loop.
    Yielded,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Recovered => "recovered",
            Verdict::Repaired => "repaired",
            Verdict::Failed => "failed",
            Verdict::Interrupted => "interrupted",
            Verdict::Yielded => "yielded",
        }
    }

    /// Whether the command itself ran (as far as the loop can tell).
    pub fn acted(self) -> bool {
        matches!(self, Verdict::Repaired | Verdict::Failed)
    }
}

/// What the loop remembers of a command between checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Track {
    /// The last verdict; `None` before the first check.
    pub last: Option<Verdict>,
    /// Failures in a row; drives the back-off of the periodic re-check.
    pub failures: u32,
    /// Successful runs in a row after each of which the guard, asked again
    /// at once, still did not hold: a command that does not make its own
    /// guard hold. Only that re-check counts: the guard found false again
    /// later (somebody deleting the route again and again) is no evidence
    /// against the guard. Backs off like failures.
    pub repairs: u32,
    /// The last failure's result words (`FAILED exit 2`), to tell a new
    /// failure from the same one again.
    pub last_failure: Option<String>,
    /// Repeats of the same failure after network changes that were not
    /// written to stdout since the last line that was.
    pub unlogged: u32,
    /// Repairs in a row that another actor undid within [`FIGHT_WINDOW`]
    /// (see [`yielded`]); drives how long ensure leaves it to that actor.
    pub fights: u32,
}

impl Track {
    /// Checks in a row that left the guard false: failures, or successful
    /// runs that did not make the guard hold.
    pub fn streak(&self) -> u32 {
        self.failures.max(self.repairs)
    }
}

/// What the guard said when asked again right after the command ran ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterRun {
    /// The guard holds: the command did its job.
    Holds,
    /// The guard still does not hold: the command does not do what its
    /// guard tests (or something undid it within milliseconds).
    StillFalse,
    /// It could not be asked (a guard that timed out, a stop).
    Unknown,
}

/// The loop's settings that shape decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The periodic re-check of a command whose guard holds.
    pub interval: Duration,
    /// The longest wait between periodic re-checks of a failing command.
    pub max_backoff: Duration,
}

impl Default for Policy {
    /// A minute between re-checks; a failing command's back-off stops
    /// doubling at half an hour.
    fn default() -> Policy {
        Policy {
            interval: Duration::from_secs(60),
            max_backoff: Duration::from_secs(30 * 60),
        }
    }
}

/// The conclusion of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// Whether stdout gets a line (the run log records every action anyway).
    pub say: bool,
    /// Until the next periodic re-check (a network change comes sooner).
    pub next: Duration,
    /// How long after this check a network change has to wait before it
    /// re-checks the command (zero: at once); see [`change_wait`].
    pub change_wait: Duration,
    /// What the operator reads, without the time stamp.
    pub line: String,
}

/// The wait before the next periodic re-check after `streak` checks in a
/// row that failed (or did not make the guard hold): the interval, doubled for each such check
/// after the first, capped at `max_backoff` (never below the interval).
pub fn backoff(policy: Policy, streak: u32) -> Duration {
    let cap = policy.max_backoff.max(policy.interval);
    let doublings = streak.saturating_sub(1).min(31);
    policy
        .interval
        .checked_mul(1u32 << doublings)
        .map_or(cap, |d| d.min(cap))
}

/// A command in a streak (see [`Track::streak`]) is re-checked on a network
/// change no sooner than this after its last check, doubled for each check
/// of the streak after the first.
pub const CHANGE_WAIT_FIRST: Duration = Duration::from_millis(100);

/// The longest a failing command makes a network change wait: the change
/// may be the one that lets it succeed (the address back after a NIC
/// restart), so history never delays it by more than this.
pub const CHANGE_WAIT_FAILING_MAX: Duration = Duration::from_secs(1);

/// How long after a check a network change may re-check the command: at
/// once outside a streak; else [`CHANGE_WAIT_FIRST`] doubled per check of
/// the streak after the first, never longer than the periodic back-off,
/// and for a failing command never longer than [`CHANGE_WAIT_FAILING_MAX`].
///
/// Why: a command that changes the network (a route it adds, an address it
/// touches before failing) sends a netlink change of its own. Were every
/// change a re-check at once, a command that cannot make its guard hold
/// would re-trigger itself many times a second, forever. Such a command is
/// known for sure (its guard, asked right after it ran ok, still says no),
/// so its wait keeps doubling: a handful of runs (0.1, 0.2, 0.4, 0.8 s …
/// apart), not a loop. A failing command is different: the next change may
/// be the one it waits for (a NIC restart fails the repair while the
/// address is missing; the address coming back must bring the route back
/// within a second, however long the outage was), so its wait stops at a
/// second and it runs at most once a second on changes.
pub fn change_wait(policy: Policy, track: &Track) -> Duration {
    let streak = track.streak();
    if streak == 0 {
        return Duration::ZERO;
    }
    let mut cap = backoff(policy, streak);
    if track.repairs == 0 {
        cap = cap.min(CHANGE_WAIT_FAILING_MAX);
    }
    let doublings = (streak - 1).min(31);
    CHANGE_WAIT_FIRST
        .checked_mul(1u32 << doublings)
        .map_or(cap, |d| d.min(cap))
}

/// Decides what the check of command `name` that ended with `outcome`
/// (after `took`) means, updating `track`. `after` is what the guard said
/// when asked again right after a successful run (ignored otherwise).
pub fn decide(
    track: &mut Track,
    policy: Policy,
    name: &str,
    outcome: &Outcome,
    after: AfterRun,
    took: Duration,
    cause: &Cause,
) -> Decision {
    let before = track.last;
    let (verdict, line) = match outcome {
        Outcome::Skipped { reason } => {
            let was_failing = before == Some(Verdict::Failed);
            let failures = track.failures;
            track.failures = 0;
            track.repairs = 0;
            track.last_failure = None;
            track.unlogged = 0;
            if was_failing {
                let line = format!(
                    "{name}: holds again ({reason}) {cause}, after {failures} failure{}",
                    plural(failures)
                );
                (Verdict::Recovered, line)
            } else {
                (
                    Verdict::Holds,
                    format!("{name}: holds ({reason}) {cause}, nothing to do"),
                )
            }
        }
        Outcome::Ok => {
            track.failures = 0;
            track.last_failure = None;
            track.unlogged = 0;
            let mut line = format!(
                "{name}: repaired {cause}: the guard did not hold, the command ran ok in {}",
                format_duration(took)
            );
            if after == AfterRun::StillFalse {
                track.repairs += 1;
                line.push_str(&format!(
                    "; but its guard, asked again at once, still does not hold ({} run{} in a row): check that the guard tests what the command does; next re-check in {}, or on a network change, at the soonest in {}",
                    track.repairs,
                    plural(track.repairs),
                    format_duration(backoff(policy, track.repairs)),
                    format_duration(change_wait(policy, track))
                ));
            } else {
                track.repairs = 0;
            }
            (Verdict::Repaired, line)
        }
        Outcome::Interrupted | Outcome::NotRun => (
            Verdict::Interrupted,
            format!("{name}: interrupted by the shutdown, its process group terminated"),
        ),
        Outcome::Failed { .. } | Outcome::TimedOut { .. } => {
            track.failures += 1;
            track.repairs = 0;
            let words = outcome.to_string();
            let same = track.last_failure.as_deref() == Some(words.as_str());
            track.last_failure = Some(words.clone());
            let next = backoff(policy, track.failures);
            let wait = change_wait(policy, track);
            // A network change re-checks a failing command soon; when it
            // fails the same way again, only the run log hears of it, or a
            // flapping link would flood stdout.
            if same && matches!(cause, Cause::Change { .. }) {
                track.unlogged += 1;
                track.last = Some(Verdict::Failed);
                return Decision {
                    verdict: Verdict::Failed,
                    say: false,
                    next,
                    change_wait: wait,
                    line: format!("{name}: {words} {cause}"),
                };
            }
            let mut line = format!(
                "{name}: {words} {cause}, in {}; failure {} in a row",
                format_duration(took),
                track.failures
            );
            if track.unlogged > 0 {
                line.push_str(&format!(
                    " ({} alike after network changes not shown)",
                    track.unlogged
                ));
                track.unlogged = 0;
            }
            line.push_str(&format!(
                "; next re-check in {}, or on a network change, at the soonest in {}",
                format_duration(next),
                format_duration(wait)
            ));
            (Verdict::Failed, line)
        }
    };
    track.last = Some(verdict);
    let say = match verdict {
        // Quiet when nothing changed; the first check says where things stand.
        Verdict::Holds => before.is_none() || before == Some(Verdict::Interrupted),
        _ => true,
    };
    let next = match verdict {
        Verdict::Holds | Verdict::Recovered | Verdict::Interrupted | Verdict::Yielded => {
            policy.interval
        }
        Verdict::Repaired => backoff(policy, track.repairs),
        Verdict::Failed => backoff(policy, track.failures),
    };
    Decision {
        verdict,
        say,
        next,
        change_wait: change_wait(policy, track),
        line,
    }
}

/// A repair that another actor undoes sooner than this after it was made
/// is a fight, not drift: a router advertisement each second re-adding its
/// `proto ra` default (an ECMP route with ensure's). Drift (a deletion,
/// by a person or by systemd-networkd's `networkctl reconfigure`; a NIC
/// restart) is repaired however often it comes.
pub const FIGHT_WINDOW: Duration = Duration::from_secs(10);

/// The check of command `name` found its guard false again `since` after
/// ensure's own repair, on a burst of changes `by` another actor (see
/// [`Cause::by`]): the command is not run. Ensure yields for the periodic
/// back-off (the interval, doubling with each fight in a row, capped at
/// `max_backoff`); the periodic re-check then repairs once more, and a
/// plain change (no actor named) is still checked at once meanwhile.
pub fn yielded(
    track: &mut Track,
    policy: Policy,
    name: &str,
    by: &str,
    since: Duration,
    cause: &Cause,
) -> Decision {
    track.fights += 1;
    track.last = Some(Verdict::Yielded);
    let next = backoff(policy, track.fights);
    let line = format!(
        "{name}: not repaired {cause}: {by} changed it again {} after ensure's repair \
         ({} time{} in a row); leaving it to that for {} instead of repairing in a loop \
         (its changes are not acted on meanwhile; other changes are), then repairing once more",
        format_duration(since),
        track.fights,
        plural(track.fights),
        format_duration(next),
    );
    Decision {
        verdict: Verdict::Yielded,
        say: true,
        next,
        change_wait: Duration::ZERO,
        line,
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        interval: Duration::from_secs(60),
        max_backoff: Duration::from_secs(1800),
    };
    const MS: Duration = Duration::from_millis(12);

    /// One decision about command `v6`, which took [`MS`].
    fn check(track: &mut Track, outcome: &Outcome, after: AfterRun, cause: &Cause) -> Decision {
        decide(track, POLICY, "v6", outcome, after, MS, cause)
    }

    fn held() -> Outcome {
        Outcome::Skipped {
            reason: "unless guard exited 0 (ip -6 route show default | grep -q default)".into(),
        }
    }

    fn failed(code: i32) -> Outcome {
        Outcome::Failed {
            exit_code: Some(code),
            signal: None,
        }
    }

    fn change() -> Cause {
        Cause::change("route deleted: default via 2001:db8:69f5::1 dev eth1", 2)
    }

    #[test]
    fn the_default_policy_is_a_minute_capped_at_half_an_hour() {
        assert_eq!(Policy::default(), POLICY);
    }

    #[test]
    fn backoff_doubles_from_the_interval_and_is_capped() {
        let waits: Vec<u64> = (0..9).map(|s| backoff(POLICY, s).as_secs()).collect();
        assert_eq!(waits, vec![60, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
        assert_eq!(backoff(POLICY, u32::MAX), Duration::from_secs(1800));
        let tiny = Policy {
            interval: Duration::from_secs(10),
            max_backoff: Duration::from_secs(1),
        };
        assert_eq!(
            backoff(tiny, 5),
            Duration::from_secs(10),
            "the cap never undercuts the interval"
        );
    }

    #[test]
    fn a_guard_that_holds_is_said_once_then_kept_quiet() {
        let mut track = Track::default();
        let first = check(&mut track, &held(), AfterRun::Holds, &Cause::Start);
        assert_eq!(first.verdict, Verdict::Holds);
        assert!(first.say);
        assert_eq!(
            first.line,
            "v6: holds (unless guard exited 0 (ip -6 route show default | grep -q default)) at start, nothing to do"
        );
        for cause in [Cause::Periodic, change()] {
            let again = check(&mut track, &held(), AfterRun::Holds, &cause);
            assert!(
                !again.say,
                "{cause}: a guard that keeps holding is not news"
            );
            assert_eq!(again.next, POLICY.interval);
        }
    }

    #[test]
    fn a_repair_is_always_said_with_its_cause() {
        let mut track = Track::default();
        check(&mut track, &held(), AfterRun::Holds, &Cause::Start);
        let d = check(&mut track, &Outcome::Ok, AfterRun::Holds, &change());
        assert_eq!(d.verdict, Verdict::Repaired);
        assert!(d.say);
        assert_eq!(
            d.line,
            "v6: repaired after route deleted: default via 2001:db8:69f5::1 dev eth1 (+2 more changes): \
             the guard did not hold, the command ran ok in 12ms"
        );
        assert_eq!(d.next, POLICY.interval);
        // The repair's own netlink change brings a check that finds it held: quiet.
        assert!(!check(&mut track, &held(), AfterRun::Holds, &change()).say);
    }

    #[test]
    fn a_repair_that_never_makes_the_guard_hold_backs_off_and_says_why() {
        let mut track = Track::default();
        let still = AfterRun::StillFalse;
        let first = check(&mut track, &Outcome::Ok, still, &Cause::Start);
        assert_eq!(
            first.line,
            "v6: repaired at start: the guard did not hold, the command ran ok in 12ms; \
             but its guard, asked again at once, still does not hold (1 run in a row): \
             check that the guard tests what the command does; \
             next re-check in 1m, or on a network change, at the soonest in 100ms"
        );
        let second = check(&mut track, &Outcome::Ok, still, &Cause::Periodic);
        assert!(second.line.contains("(2 runs in a row)"), "{}", second.line);
        assert_eq!(second.next, Duration::from_secs(120));
        assert_eq!(second.change_wait, Duration::from_millis(200));
        let fifteenth = (0..13)
            .map(|_| check(&mut track, &Outcome::Ok, still, &change()))
            .last()
            .unwrap();
        assert!(
            fifteenth.change_wait > Duration::from_secs(60),
            "a known-wrong guard waits long: {:?}",
            fifteenth.change_wait
        );
    }

    /// Issue 12: route churn (somebody deleting the route every 50 ms) made
    /// every repair look like a guard that never holds, and the repair after
    /// the churn came 23 s late. Each repair made its guard hold when it was
    /// asked again at once: no streak, no wait.
    #[test]
    fn repairs_after_churn_by_somebody_else_never_delay_the_next_one() {
        let mut track = Track::default();
        for _ in 0..400 {
            let d = check(&mut track, &Outcome::Ok, AfterRun::Holds, &change());
            assert_eq!(d.change_wait, Duration::ZERO);
            assert_eq!(d.next, POLICY.interval);
            assert!(!d.line.contains("still"), "{}", d.line);
        }
        // Even with the odd deletion landing between the run and the
        // re-ask, the next clean repair ends the streak.
        check(&mut track, &Outcome::Ok, AfterRun::StillFalse, &change());
        let d = check(&mut track, &Outcome::Ok, AfterRun::Holds, &change());
        assert_eq!(d.change_wait, Duration::ZERO);
        assert_eq!(track.streak(), 0);
    }

    #[test]
    fn a_long_failure_never_delays_a_change_by_more_than_a_second() {
        let mut track = Track::default();
        let mut last = Duration::ZERO;
        for _ in 0..40 {
            last = check(&mut track, &failed(2), AfterRun::Holds, &change()).change_wait;
        }
        assert_eq!(last, CHANGE_WAIT_FAILING_MAX);
        assert_eq!(track.failures, 40);
    }

    #[test]
    fn a_repair_after_failures_is_not_taken_for_a_guard_that_never_holds() {
        let mut track = Track::default();
        check(&mut track, &failed(2), AfterRun::Holds, &change());
        check(&mut track, &failed(2), AfterRun::Holds, &change());
        let d = check(&mut track, &Outcome::Ok, AfterRun::Holds, &change());
        assert!(!d.line.contains("still did not hold"), "{}", d.line);
        assert_eq!(d.next, POLICY.interval, "a repair ends the back-off");
    }

    #[test]
    fn failures_back_off_and_repeats_after_changes_stay_off_stdout() {
        let mut track = Track::default();
        let first = check(&mut track, &failed(2), AfterRun::Holds, &Cause::Start);
        assert!(first.say);
        assert_eq!(
            first.line,
            "v6: FAILED exit 2 at start, in 12ms; failure 1 in a row; next re-check in 1m, or on a network change, at the soonest in 100ms"
        );
        let again = check(&mut track, &failed(2), AfterRun::Holds, &change());
        assert!(
            !again.say,
            "the same failure after a network change is not repeated on stdout"
        );
        assert_eq!(again.verdict, Verdict::Failed);
        let other = check(&mut track, &failed(3), AfterRun::Holds, &change());
        assert!(other.say, "a different failure is news");
        let periodic = check(&mut track, &failed(3), AfterRun::Holds, &Cause::Periodic);
        assert!(periodic.say);
        assert_eq!(periodic.next, Duration::from_secs(480));
        assert!(
            periodic.line.contains("failure 4 in a row"),
            "{}",
            periodic.line
        );
        check(&mut track, &failed(3), AfterRun::Holds, &change());
        let later = check(&mut track, &failed(3), AfterRun::Holds, &Cause::Periodic);
        assert!(
            later
                .line
                .contains("(1 alike after network changes not shown)"),
            "{}",
            later.line
        );
    }

    #[test]
    fn a_guard_holding_again_after_failures_is_said_and_resets_the_backoff() {
        let mut track = Track::default();
        for _ in 0..3 {
            check(&mut track, &failed(2), AfterRun::Holds, &Cause::Periodic);
        }
        let d = check(&mut track, &held(), AfterRun::Holds, &change());
        assert_eq!(d.verdict, Verdict::Recovered);
        assert!(d.say);
        assert!(
            d.line.starts_with("v6: holds again (unless guard exited 0"),
            "{}",
            d.line
        );
        assert!(d.line.ends_with("after 3 failures"), "{}", d.line);
        assert_eq!(d.next, POLICY.interval);
        assert_eq!(track.failures, 0);
    }

    #[test]
    fn change_wait_is_zero_outside_a_streak_then_doubles_under_the_backoff() {
        let wrong = |repairs| Track {
            repairs,
            ..Track::default()
        };
        let failing = |failures| Track {
            failures,
            ..Track::default()
        };
        let waits: Vec<u128> = (0..6)
            .map(|s| change_wait(POLICY, &wrong(s)).as_millis())
            .collect();
        assert_eq!(waits, vec![0, 100, 200, 400, 800, 1600]);
        assert_eq!(change_wait(POLICY, &wrong(u32::MAX)), POLICY.max_backoff);
        let waits: Vec<u128> = (0..6)
            .map(|s| change_wait(POLICY, &failing(s)).as_millis())
            .collect();
        assert_eq!(waits, vec![0, 100, 200, 400, 800, 1000]);
        let quick = Policy {
            interval: Duration::from_millis(30),
            max_backoff: Duration::from_secs(60),
        };
        assert_eq!(
            change_wait(quick, &wrong(2)),
            Duration::from_millis(60),
            "never later than the periodic re-check would come anyway"
        );
    }

    #[test]
    fn a_change_rechecks_at_once_unless_failing_or_in_a_repair_streak() {
        let mut track = Track::default();
        let start = check(&mut track, &Outcome::Ok, AfterRun::Holds, &Cause::Start);
        assert_eq!(start.change_wait, Duration::ZERO, "one repair is the job");
        let held_again = check(&mut track, &held(), AfterRun::Holds, &change());
        assert_eq!(held_again.change_wait, Duration::ZERO);
        let repair = check(&mut track, &Outcome::Ok, AfterRun::Holds, &change());
        assert_eq!(
            repair.change_wait,
            Duration::ZERO,
            "a repair after the guard held is no streak"
        );
        // The guard still false when asked right after the repair: a streak.
        let still = AfterRun::StillFalse;
        let again = check(&mut track, &Outcome::Ok, still, &change());
        assert_eq!(again.change_wait, Duration::from_millis(100));
        assert!(
            again
                .line
                .ends_with("next re-check in 1m, or on a network change, at the soonest in 100ms"),
            "{}",
            again.line
        );
        let third = check(&mut track, &Outcome::Ok, still, &change());
        assert_eq!(third.change_wait, Duration::from_millis(200));
        let fails = check(&mut track, &failed(2), AfterRun::Holds, &change());
        assert_eq!(fails.change_wait, Duration::from_millis(100));
        let same = check(&mut track, &failed(2), AfterRun::Holds, &change());
        assert!(!same.say);
        assert_eq!(
            same.change_wait,
            Duration::from_millis(200),
            "a quiet failure waits too"
        );
        let holds = check(&mut track, &held(), AfterRun::Holds, &change());
        assert_eq!(holds.change_wait, Duration::ZERO, "holding ends the streak");
    }

    /// The reviewer's case as the policy sees it: every run of a command
    /// whose guard never holds makes a network change of its own, which
    /// reaches the loop one debounce (50 ms) later. Before change waits it
    /// ran about 16 times a second for ever.
    #[test]
    fn a_command_that_triggers_its_own_recheck_runs_a_handful_of_times() {
        // A successful run whose guard, asked again at once, still says no;
        // and a failing run. Each makes a change that reaches the loop one
        // debounce (50 ms) later.
        for (outcome, most) in [(Outcome::Ok, 8), (failed(2), 13)] {
            let mut track = Track::default();
            let mut at = Duration::ZERO;
            let mut cause = Cause::Start;
            let mut runs = 0;
            while at < Duration::from_secs(10) {
                runs += 1;
                let after = AfterRun::StillFalse;
                let d = check(&mut track, &outcome, after, &cause);
                let own_change = at + MS + Duration::from_millis(50);
                at = own_change.max(at + MS + d.change_wait).min(at + d.next);
                cause = change();
            }
            // Ok: 0, .06, .17, .38, .79, 1.6, 3.2, 6.4 s. Failing: the same
            // until the wait reaches a second, then once a second (the next
            // change may be the one that lets it succeed).
            assert!(runs <= most, "{outcome}: {runs} runs in 10 s");
            assert!(runs >= 6, "{outcome}: {runs} runs in 10 s");
        }
    }

    #[test]
    fn yielding_to_another_actor_says_who_and_doubles_with_each_fight() {
        let mut track = Track::default();
        let ra = Cause::Change {
            first: "route added: default proto ra metric 1024".into(),
            more: 0,
            by: Some("a router advertisement (proto ra)".into()),
        };
        let by = ra.by().unwrap();
        let first = yielded(
            &mut track,
            POLICY,
            "v6",
            by,
            Duration::from_millis(900),
            &ra,
        );
        assert_eq!(first.verdict, Verdict::Yielded);
        assert!(first.say && !first.verdict.acted());
        assert_eq!(
            first.line,
            "v6: not repaired after route added: default proto ra metric 1024: a router \
             advertisement (proto ra) changed it again 900ms after ensure's repair (1 time in a \
             row); leaving it to that for 1m instead of repairing in a loop (its changes are not \
             acted on meanwhile; other changes are), then repairing once more"
        );
        assert_eq!(first.next, Duration::from_secs(60));
        let second = yielded(&mut track, POLICY, "v6", by, Duration::from_secs(1), &ra);
        assert_eq!(second.next, Duration::from_secs(120));
        assert!(second
            .line
            .contains("(2 times in a row); leaving it to that for 2m"));
        assert_eq!(Cause::change("route deleted", 0).by(), None);
    }

    #[test]
    fn causes_read_as_an_operator_would_say_them() {
        assert_eq!(Cause::Start.to_string(), "at start");
        assert_eq!(Cause::Periodic.to_string(), "on the periodic re-check");
        assert_eq!(
            Cause::change("link changed: eth1", 1).to_string(),
            "after link changed: eth1 (+1 more change)"
        );
        assert_eq!(Cause::change("x", 0).to_string(), "after x");
    }
}
