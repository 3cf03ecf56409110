//! The ensure loop: keeps every command tagged `ensure` true. Each is
//! checked (its guard, then the command where needed, through the runner)
//! at start, after every burst of network changes, and on a periodic
//! re-check that backs off while a command keeps failing. A command that
//! keeps leaving its guard false waits a little after each check before a
//! change may re-check it ([`decide::change_wait`]), and change passes are
//! rate-limited ([`rate`]): neither a command's own netlink changes nor
//! route churn can make the loop spin.
//!
//! Knows nothing of netlink or signals: the caller feeds [`Trigger`]s into a
//! channel and cancels a token to stop. What happens goes to a line sink
//! (stdout, for monit's log), to the run log (`inject-run.jsonl`, phase
//! `ensure`) and to the state file (see [`state`]).

mod decide;
pub mod rate;
pub mod state;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;

pub use decide::{backoff, change_wait, AfterRun, Cause, Policy, Verdict, FIGHT_WINDOW};
pub use state::{read_state, CommandState, EnsureState};

use crate::config::{CommandSpec, Config, Phase};
use crate::run_event::{format_duration, Outcome, RunEvent};
use crate::runlog::RunLog;
use crate::runner::{self, Slot};

/// A burst of changes (a link going down drops its addresses and routes,
/// one message each) is checked once: when no change came for this long…
pub const DEBOUNCE_QUIET: Duration = Duration::from_millis(50);
/// …or this long after the burst's first change, whichever comes first.
pub const DEBOUNCE_MAX: Duration = Duration::from_millis(200);
/// After a stop, how long a running command has to end on SIGTERM before
/// it is dropped, which SIGKILLs its process group: the loop stops within
/// a second.
pub const STOP_GRACE: Duration = Duration::from_millis(700);
/// Lines of a failed command's output repeated on stdout.
const OUTPUT_TAIL: usize = 8;

/// Something changed that may have undone a command's work; the text says
/// what (`route deleted: default via … dev eth1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub reason: String,
    /// Who made the change, when netlink tells (`a router advertisement
    /// (proto ra)`); see [`Cause::by`].
    pub by: Option<String>,
}

/// One kept command as the loop tracks it.
struct Kept<'a> {
    spec: &'a CommandSpec,
    track: decide::Track,
    /// The periodic re-check.
    due: Instant,
    /// The earliest a network change may re-check it (see
    /// [`decide::change_wait`]).
    changes_from: Instant,
    /// A change that came before `changes_from`: checked then.
    pending: Option<Cause>,
    /// When ensure's last repair of it was made (see [`FIGHT_WINDOW`]).
    repaired_at: Option<Instant>,
    /// Until then ensure yields to another actor that undid its repair:
    /// changes that actor (or any named one) makes are not acted on.
    yield_until: Option<Instant>,
    state: CommandState,
}

impl Kept<'_> {
    /// When the command is checked next if nothing else happens.
    fn next_check(&self) -> Instant {
        match self.pending {
            Some(_) => self.due.min(self.changes_from),
            None => self.due,
        }
    }
}

/// The loop over the `ensure` commands of one config.
pub struct Ensure<'a, O> {
    config: &'a Config,
    kept: Vec<Kept<'a>>,
    policy: Policy,
    journal: Journal,
    state: EnsureState,
    /// How soon the next change pass may start.
    rate: rate::PassRate,
    out: O,
}

impl<'a, O: FnMut(&str)> Ensure<'a, O> {
    /// A loop over `commands` (the config's `ensure` commands, in order),
    /// logging to `log_dir` when given, and saying each decision to `out`
    /// (one line, time-stamped, no newline).
    pub fn new(
        config: &'a Config,
        commands: &[&'a CommandSpec],
        policy: Policy,
        log_dir: Option<&Path>,
        out: O,
    ) -> Self {
        let now = Instant::now();
        let started = SystemTime::now();
        let kept = commands
            .iter()
            .map(|spec| Kept {
                spec,
                track: decide::Track::default(),
                due: now,
                changes_from: now,
                pending: None,
                repaired_at: None,
                yield_until: None,
                state: CommandState {
                    name: spec.name.clone(),
                    verdict: None,
                    last_check: None,
                    last_action: None,
                    last_outcome: None,
                    failures: 0,
                    next_check: None,
                },
            })
            .collect::<Vec<_>>();
        let state = EnsureState {
            pid: std::process::id(),
            started,
            updated: started,
            stopped: None,
            interval_secs: policy.interval.as_secs_f64(),
            commands: kept.iter().map(|k| k.state.clone()).collect(),
        };
        Ensure {
            config,
            kept,
            policy,
            journal: Journal::open(log_dir),
            state,
            rate: rate::PassRate::default(),
            out,
        }
    }

    /// Runs until `cancel` is cancelled: a first check of every command,
    /// then a check of every command after each burst of `triggers`, and of
    /// each command when its periodic re-check is due. A closed trigger
    /// channel leaves the periodic re-check.
    pub async fn run(&mut self, mut triggers: mpsc::Receiver<Trigger>, cancel: &CancellationToken) {
        let names: Vec<&str> = self.kept.iter().map(|k| k.spec.name.as_str()).collect();
        let log = match &self.journal.dir {
            Some(dir) => format!("run log and state in {}", dir.display()),
            None => "no log dir (give --log-dir): no run log, no state file".to_string(),
        };
        self.say(
            "start",
            &format!(
                "keeping {} command{} true: {}; re-check every {}, at once on network changes; pid {}; {log}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                format_duration(self.policy.interval),
                std::process::id()
            ),
        );
        self.write_state();
        let all: Vec<(usize, Cause)> = (0..self.kept.len()).map(|i| (i, Cause::Start)).collect();
        self.pass(&all, cancel).await;
        let mut listening = true;
        while !cancel.is_cancelled() {
            let due = self
                .kept
                .iter()
                .map(Kept::next_check)
                .min()
                .unwrap_or_else(|| Instant::now() + self.policy.interval);
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                trigger = triggers.recv(), if listening => match trigger {
                    Some(first) => {
                        let seen = Instant::now();
                        let not_before = self.rate.burst(seen);
                        let cause = burst(first, &mut triggers, not_before, &mut self.rate, cancel).await;
                        let now = Instant::now();
                        self.rate.started(now);
                        let mut which = Vec::new();
                        for (i, kept) in self.kept.iter_mut().enumerate() {
                            // Yielding to another actor: its own changes
                            // (the next router advertisement) are its business.
                            if cause.by().is_some() && kept.yield_until.is_some_and(|t| t > now) {
                                continue;
                            }
                            if kept.changes_from <= now {
                                which.push((i, cause.clone()));
                            } else {
                                kept.pending.get_or_insert_with(|| cause.clone());
                            }
                        }
                        self.pass(&which, cancel).await;
                    }
                    None => {
                        listening = false;
                        let line = format!(
                            "no more network change notifications: relying on the re-check every {}",
                            format_duration(self.policy.interval)
                        );
                        self.say("notice", &line);
                    }
                },
                _ = sleep_until(due) => {
                    let now = Instant::now();
                    let due: Vec<(usize, Cause)> = self
                        .kept
                        .iter_mut()
                        .enumerate()
                        .filter(|(_, k)| k.next_check() <= now)
                        .map(|(i, k)| (i, k.pending.take().unwrap_or(Cause::Periodic)))
                        .collect();
                    self.pass(&due, cancel).await;
                }
            }
        }
        self.state.stopped = Some(SystemTime::now());
        self.write_state();
        self.say("stop", "stopped");
    }

    /// Checks the commands at `which`, in config order. After a stop, a
    /// command still running gets [`STOP_GRACE`] to end on SIGTERM before
    /// it is dropped (which SIGKILLs its process group).
    async fn pass(&mut self, which: &[(usize, Cause)], cancel: &CancellationToken) {
        let stop_late = async {
            cancel.cancelled().await;
            sleep(STOP_GRACE).await;
        };
        let finished = tokio::select! {
            _ = self.checks(which, cancel) => true,
            _ = stop_late => false,
        };
        if !finished {
            let line = format!(
                "the running command's process group was not gone {} after SIGTERM: killed it",
                format_duration(STOP_GRACE)
            );
            self.say("stop", &line);
        }
    }

    async fn checks(&mut self, which: &[(usize, Cause)], cancel: &CancellationToken) {
        for (i, cause) in which {
            if cancel.is_cancelled() {
                return;
            }
            self.check(*i, cause, cancel).await;
        }
    }

    /// One check of command `i`: guard, the command where needed, decision.
    async fn check(&mut self, i: usize, cause: &Cause, cancel: &CancellationToken) {
        let spec = self.kept[i].spec;
        // Another actor undoing ensure's repair within seconds is a fight
        // ensure would lose in a loop: ask the guard first, and yield.
        if let (Some(by), Some(at)) = (cause.by(), self.kept[i].repaired_at) {
            let since = at.elapsed();
            if since < FIGHT_WINDOW
                && runner::guard_holds(self.config, spec, cancel).await == Some(false)
            {
                self.yield_to(i, by, since, cause);
                return;
            }
        }
        let slot = Slot {
            index: i + 1,
            total: self.kept.len(),
        };
        let mut tail: VecDeque<String> = VecDeque::new();
        let mut sink = |event: RunEvent| {
            if let RunEvent::Output { line, .. } = event {
                if tail.len() == OUTPUT_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        };
        let report = runner::run_command(self.config, spec, slot, None, cancel, &mut sink).await;
        // Whether the command made its guard hold is learnt here, at once,
        // and only here: the guard found false again on a later change may
        // be somebody else's doing (route churn), not the guard's fault.
        let after = if report.outcome == Outcome::Ok {
            match runner::guard_holds(self.config, spec, cancel).await {
                Some(true) => decide::AfterRun::Holds,
                Some(false) => decide::AfterRun::StillFalse,
                None => decide::AfterRun::Unknown,
            }
        } else {
            decide::AfterRun::Unknown
        };
        let now = SystemTime::now();
        let kept = &mut self.kept[i];
        let decision = decide::decide(
            &mut kept.track,
            self.policy,
            &spec.name,
            &report.outcome,
            after,
            report.duration,
            cause,
        );
        let checked = Instant::now();
        match decision.verdict {
            Verdict::Repaired => {
                kept.repaired_at = Some(checked);
                kept.yield_until = None;
            }
            // A repair that outlived the fight window ends a fight streak.
            Verdict::Holds | Verdict::Recovered
                if kept.repaired_at.is_none_or(|t| checked - t >= FIGHT_WINDOW) =>
            {
                kept.track.fights = 0;
            }
            _ => {}
        }
        kept.due = checked + decision.next;
        kept.changes_from = checked + decision.change_wait;
        // This check saw every change before it; later ones are in the channel.
        kept.pending = None;
        kept.state.verdict = Some(decision.verdict);
        kept.state.last_check = Some(now);
        if decision.verdict.acted() {
            kept.state.last_action = Some(now);
        }
        kept.state.last_outcome = Some(report.outcome.to_string());
        kept.state.failures = kept.track.failures;
        kept.state.next_check = Some(now + decision.next);
        let output: Vec<String> = if spec.sensitive {
            Vec::new()
        } else {
            tail.into_iter().collect()
        };
        if decision.say || decision.verdict.acted() {
            self.journal.record(
                &spec.name,
                decision.verdict,
                cause,
                &report.outcome,
                report.duration,
                &decision.line,
                &output,
            );
        }
        if decision.say {
            self.line(&decision.line);
            if decision.verdict == Verdict::Failed {
                for line in &output {
                    self.line(&format!("    | {line}"));
                }
                if spec.sensitive {
                    self.line("    | (output not shown: the command is sensitive)");
                }
            }
        }
        self.write_state();
    }

    /// Command `i` is not run: `by` undid its repair `since` after it was
    /// made. Periodic re-check after the back-off; until then that actor's
    /// changes are left alone, plain changes are still checked at once.
    fn yield_to(&mut self, i: usize, by: &str, since: Duration, cause: &Cause) {
        let now = SystemTime::now();
        let kept = &mut self.kept[i];
        let spec = kept.spec;
        let decision = decide::yielded(&mut kept.track, self.policy, &spec.name, by, since, cause);
        let checked = Instant::now();
        kept.due = checked + decision.next;
        kept.yield_until = Some(checked + decision.next);
        kept.changes_from = checked;
        kept.pending = None;
        kept.state.verdict = Some(decision.verdict);
        kept.state.last_check = Some(now);
        kept.state.last_outcome = Some(Outcome::NotRun.to_string());
        kept.state.next_check = Some(now + decision.next);
        self.journal.record(
            &spec.name,
            decision.verdict,
            cause,
            &Outcome::NotRun,
            Duration::ZERO,
            &decision.line,
            &[],
        );
        self.line(&decision.line);
        self.write_state();
    }

    /// A line about the loop itself (not one command), to stdout and the run log.
    fn say(&mut self, kind: &str, text: &str) {
        self.line(text);
        self.journal.note(kind, text);
    }

    fn line(&mut self, text: &str) {
        (self.out)(&stamped(text));
        if let Some(notice) = self.journal.take_notice() {
            (self.out)(&stamped(&notice));
        }
    }

    fn write_state(&mut self) {
        self.state.updated = SystemTime::now();
        self.state.commands = self.kept.iter().map(|k| k.state.clone()).collect();
        self.journal.state(&self.state);
        if let Some(notice) = self.journal.take_notice() {
            (self.out)(&stamped(&notice));
        }
    }
}

/// `text` after the time (UTC, to the second): how every line the loop
/// says begins, since monit's log file adds no time of its own.
pub fn stamped(text: &str) -> String {
    format!(
        "{} {text}",
        humantime::format_rfc3339_seconds(SystemTime::now())
    )
}

/// Gathers the rest of a burst of changes that began with `first`: until
/// none came for [`DEBOUNCE_QUIET`], at most [`DEBOUNCE_MAX`] after `first`;
/// but when the pass rate holds it back, everything until `not_before`.
async fn burst(
    first: Trigger,
    triggers: &mut mpsc::Receiver<Trigger>,
    not_before: Option<Instant>,
    rate: &mut rate::PassRate,
    cancel: &CancellationToken,
) -> Cause {
    let end = Instant::now() + DEBOUNCE_MAX;
    let mut more = 0;
    // The change that names who made it leads the cause: the line then
    // shows the router's route, not ensure's own repair just before it.
    let mut lead = first;
    loop {
        let quiet = (Instant::now() + DEBOUNCE_QUIET).min(end);
        let quiet = not_before.map_or(quiet, |t| quiet.max(t));
        tokio::select! {
            // The deadline before the channel: endless churn cannot starve it.
            biased;
            _ = cancel.cancelled() => break,
            _ = sleep_until(quiet) => break,
            next = triggers.recv() => match next {
                Some(next) => {
                    rate.seen(Instant::now());
                    more += 1;
                    if lead.by.is_none() && next.by.is_some() {
                        lead = next;
                    }
                }
                None => break,
            },
        }
    }
    Cause::Change {
        first: lead.reason,
        more,
        by: lead.by,
    }
}

/// The run log and state file of the loop, in the log dir. Like the errand's
/// run log, they must never stop the loop: a failure becomes one notice on
/// stdout. The run log then goes quiet; the state is tried again at every
/// write (a full disk gets space back), so it never freezes while the loop
/// goes on, and its coming back is said too.
struct Journal {
    dir: Option<PathBuf>,
    /// The errands' run log (phase `ensure`), without their lock: the loop
    /// holds `ensure.lock` and must not block an errand run.
    log: Option<RunLog>,
    /// The last state write failed (said once, until one succeeds).
    state_failing: bool,
    notice: Option<String>,
}

impl Journal {
    fn open(dir: Option<&Path>) -> Journal {
        Journal {
            dir: dir.map(Path::to_path_buf),
            log: dir.map(|dir| RunLog::open_unlocked(dir, Phase::Ensure)),
            state_failing: false,
            notice: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        command: &str,
        verdict: Verdict,
        cause: &Cause,
        outcome: &Outcome,
        took: Duration,
        message: &str,
        output: &[String],
    ) {
        let mut fields = serde_json::Map::new();
        fields.insert("event".into(), "ensure".into());
        fields.insert("verdict".into(), verdict.as_str().into());
        fields.insert("cause".into(), cause.to_string().into());
        if let Ok(serde_json::Value::Object(outcome)) = serde_json::to_value(outcome) {
            fields.extend(outcome);
        }
        fields.insert(
            "duration".into(),
            ((took.as_secs_f64() * 1000.0).round() / 1000.0).into(),
        );
        fields.insert("message".into(), message.into());
        if !output.is_empty() {
            fields.insert("output".into(), output.to_vec().into());
        }
        if let Some(log) = self.log.as_mut() {
            log.record_fields(Some(command), fields);
        }
    }

    fn note(&mut self, kind: &str, message: &str) {
        let mut fields = serde_json::Map::new();
        fields.insert("event".into(), "ensure_notice".into());
        fields.insert("kind".into(), kind.into());
        fields.insert("message".into(), message.into());
        if let Some(log) = self.log.as_mut() {
            log.record_fields(None, fields);
        }
    }

    fn state(&mut self, state: &EnsureState) {
        let Some(dir) = &self.dir else {
            return;
        };
        match state::write_state(dir, state) {
            Err(err) if !self.state_failing => {
                self.state_failing = true;
                self.notice = Some(format!(
                    "cannot write the state in {}: {err}; going on, trying again at every check",
                    dir.display()
                ));
            }
            Ok(()) if self.state_failing => {
                self.state_failing = false;
                self.notice = Some(format!("the state in {} is written again", dir.display()));
            }
            _ => {}
        }
    }

    fn take_notice(&mut self) -> Option<String> {
        self.log
            .as_mut()
            .and_then(RunLog::take_notice)
            .or_else(|| self.notice.take())
    }
}

#[cfg(test)]
mod tests;
