//! What a run reports, as it happens: the one vocabulary shared by the text
//! printer, the JSON printer, the run log and the dashboard.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::phase::Phase;

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Skipped {
        reason: String,
    },
    /// Exited non-zero (`exit_code`), was killed by a signal (`signal`), or
    /// could not be started at all (neither).
    Failed {
        exit_code: Option<i32>,
        signal: Option<i32>,
    },
    TimedOut {
        #[serde(serialize_with = "seconds")]
        after: Duration,
        /// When a guard, not the command, ran out of time: which guard, as
        /// shown (`unless guard (test -e /x)`), so the operator looks there.
        #[serde(skip_serializing_if = "Option::is_none")]
        guard: Option<String>,
    },
    /// Not run because an earlier command failed or the run was interrupted.
    NotRun,
    /// Terminated because the run was cancelled (SIGTERM/SIGINT, or the caller).
    Interrupted,
}

impl Outcome {
    /// Ok or skipped: nothing for the operator to fix.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Skipped { .. })
    }

    /// Failed or timed out: makes the run exit 1.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::TimedOut { .. })
    }
}

impl fmt::Display for Outcome {
    /// The result words an operator reads: `ok`, `skipped: why`,
    /// `FAILED exit 3`, `TIMED OUT after 30s`, `not run`, `interrupted`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Skipped { reason } => write!(f, "skipped: {reason}"),
            Outcome::Failed {
                exit_code: Some(code),
                ..
            } => write!(f, "FAILED exit {code}"),
            Outcome::Failed {
                signal: Some(sig), ..
            } => write!(f, "FAILED killed by {}", signal_name(*sig)),
            Outcome::Failed { .. } => f.write_str("FAILED to start"),
            Outcome::TimedOut { after, guard } => {
                write!(f, "TIMED OUT after {}", format_duration(*after))?;
                match guard {
                    Some(guard) => write!(f, " in the {guard}"),
                    None => Ok(()),
                }
            }
            Outcome::NotRun => f.write_str("not run"),
            Outcome::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// Counts of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub ok: usize,
    pub skipped: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub not_run: usize,
    pub interrupted: bool,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
}

impl Summary {
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Failed { .. } => self.failed += 1,
            Outcome::TimedOut { .. } => self.timed_out += 1,
            Outcome::NotRun => self.not_run += 1,
            Outcome::Interrupted => self.interrupted = true,
        }
    }
}

impl fmt::Display for Summary {
    /// `5 commands: 3 ok, 1 skipped, 1 failed` (+ timed out, not run when any).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.total == 1 {
            "command"
        } else {
            "commands"
        };
        write!(
            f,
            "{} {noun}: {} ok, {} skipped, {} failed",
            self.total, self.ok, self.skipped, self.failed
        )?;
        if self.timed_out > 0 {
            write!(f, ", {} timed out", self.timed_out)?;
        }
        if self.not_run > 0 {
            write!(f, ", {} not run", self.not_run)?;
        }
        if self.interrupted {
            f.write_str(", interrupted")?;
        }
        Ok(())
    }
}

/// One thing that happened in a run. `index` is 1-based within the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// A run of `total` commands of `phase` begins.
    RunStarted { phase: Phase, total: usize },
    /// An attempt at a command begins (attempt 1, then each retry).
    Started {
        index: usize,
        total: usize,
        name: String,
        attempt: u32,
    },
    /// One line of the command's output (without its newline; lines longer
    /// than the runner's line limit arrive in pieces).
    Output {
        index: usize,
        stream: Stream,
        line: String,
    },
    /// Part of a command's output was not shown (past its `output_limit`,
    /// or the run's print budget): `cut_bytes` of output, and
    /// `retries_not_shown` retry lines; the run log, if any, has all of the
    /// output in `full_log`.
    OutputCut {
        index: usize,
        cut_bytes: u64,
        #[serde(skip_serializing_if = "is_zero")]
        retries_not_shown: u32,
        full_log: Option<PathBuf>,
    },
    /// An attempt failed and the command will be tried again after `delay`.
    Retrying {
        index: usize,
        name: String,
        attempt: u32,
        outcome: Outcome,
        #[serde(serialize_with = "seconds")]
        delay: Duration,
    },
    /// A command is done: for good, with its outcome.
    Finished {
        index: usize,
        name: String,
        outcome: Outcome,
        #[serde(serialize_with = "seconds")]
        duration: Duration,
        attempts: u32,
    },
    /// Something the operator should know that is not a command's result,
    /// e.g. that the run log cannot be written.
    Notice { message: String },
    /// The run is over.
    RunFinished { summary: Summary },
}

impl RunEvent {
    /// The event as one JSON line (without the newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|err| format!("{{\"event\":\"error\",\"message\":\"{err}\"}}"))
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    // Milliseconds are plenty; fewer digits keep the lines readable.
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// A duration for people: `12ms`, `1.2s`, `30s`, `10m`, `1h 5m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        if d.subsec_millis() == 0 {
            format!("{}s", ms / 1000)
        } else {
            format!("{:.1}s", d.as_secs_f64())
        }
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

/// `SIGKILL` for 9, and so on; the number when unknown.
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}
