//! Runs commands: guards, retries, timeout, process group, environment,
//! output with bounded memory, run log; and a whole plan in order.
//!
//! Process lifetime, the choices made:
//! - Each guard and command runs in its own process group. On timeout or
//!   cancel the group gets SIGTERM, then SIGKILL [`KILL_GRACE`] later if any
//!   member is left; a dropped future SIGKILLs the group while its leader
//!   still runs (or while a termination is under way).
//! - When the leader exits on its own, its exit status is the result. A
//!   background child it left may hold the output pipe open: we keep reading
//!   for at most [`DRAIN`] and then stop, leaving that child alone (a command
//!   may start a daemon on purpose; it should redirect its output).
//! - Output is read through a fixed buffer and cut into lines of at most
//!   [`LINE_LIMIT`] bytes, so neither lots of output nor one endless line
//!   grows memory.
//! - While a run holds `inject run`'s lock, each guard and command inherits
//!   the locked file: if inject is killed (`kill -9`), the lock stays held
//!   until the command's last process ends, so no second run overlaps it
//!   (see [`crate::runlog::DirLock`]).
//! - A command gets a PATH of absolute dirs only: inject's own with any
//!   relative entry (`.`, empty) left out, or [`DEFAULT_PATH`] when that
//!   leaves nothing (`env -i`); unless its `env:` sets PATH itself.
//! - A command's user is looked up, and its cwd checked, once: by
//!   [`prepare`] for a whole plan before anything runs, so a typo in the
//!   tenth command's user does not leave the first nine applied.

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Gid, Pid, Uid};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::config::{CommandSpec, Config, Phase};
use crate::run_event::{signal_name, Outcome, RunEvent, Stream, Summary};
use crate::runlog::RunLog;

/// The longest line passed on whole; longer ones arrive in pieces.
pub const LINE_LIMIT: usize = 64 * 1024;
/// Between SIGTERM and SIGKILL to a command's process group.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long output is still read after the command's leader process exited.
pub const DRAIN: Duration = Duration::from_secs(1);
/// The PATH commands get when inject has none of absolute dirs (`env -i`):
/// what the BOSH agent gives errands. Never one with `.` in it: a root
/// command would run whatever an `ls` in the cwd finds.
pub const DEFAULT_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
/// Of a [`PrintBudget`], what output and retry lines leave for the lines
/// that are always shown: headers, results, cut notes and the summary.
pub const RESULTS_RESERVE: u64 = 64 * 1024;

pub use crate::config::REDACTED;

/// A command's place in its run (1-based `index` of `total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub index: usize,
    pub total: usize,
}

/// How one command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReport {
    pub outcome: Outcome,
    pub duration: Duration,
    pub attempts: u32,
}

/// What the caller prints for an event, in bytes as they count (for BOSH:
/// [`crate::agent::json_len`] of the printed text).
pub type Cost = dyn Fn(&RunEvent) -> u64 + Sync;

/// How much one run may print, stdout and stderr together, counted by the
/// caller's [`Cost`] of each event. Output and retry lines stop being shown
/// [`RESULTS_RESERVE`] before `limit` (and from then on, for the rest of the
/// run: what is shown stays a prefix); the other events are shown while
/// they fit in `limit`, the run's summary always.
pub struct PrintBudget<'c> {
    limit: u64,
    used: u64,
    full: bool,
    cost: &'c Cost,
}

impl<'c> PrintBudget<'c> {
    pub fn new(limit: u64, cost: &'c Cost) -> PrintBudget<'c> {
        PrintBudget {
            limit,
            used: 0,
            full: false,
            cost,
        }
    }

    /// No limit: everything is shown.
    pub fn unlimited() -> PrintBudget<'static> {
        PrintBudget::new(u64::MAX, &|_| 0)
    }

    /// What the shown events cost so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Whether an event that is always shown while it fits does.
    fn admit(&mut self, event: &RunEvent) -> bool {
        let cost = (self.cost)(event);
        let fits = self.used.saturating_add(cost) <= self.limit;
        if fits || matches!(event, RunEvent::RunFinished { .. }) {
            self.used = self.used.saturating_add(cost);
            return true;
        }
        false
    }

    /// Whether an output or retry line is shown.
    fn admit_optional(&mut self, event: &RunEvent) -> bool {
        if self.full {
            return false;
        }
        let cost = (self.cost)(event);
        let room = self.limit.saturating_sub(RESULTS_RESERVE);
        if self.used.saturating_add(cost) <= room {
            self.used += cost;
            true
        } else {
            self.full = true;
            false
        }
    }
}

/// Sends events to the run log, if any, and those the budget admits to the
/// caller's sink.
struct Emitter<'a, 'c, S> {
    sink: &'a mut S,
    log: Option<&'a mut RunLog>,
    budget: &'a mut PrintBudget<'c>,
}

impl<S: FnMut(RunEvent) + Send> Emitter<'_, '_, S> {
    fn emit(&mut self, event: RunEvent) {
        if let Some(log) = self.log.as_deref_mut() {
            log.record(&event);
        }
        if self.budget.admit(&event) {
            (self.sink)(event);
        }
        self.notice();
    }

    /// Logs `event`; shows it if the budget has room for optional lines.
    fn emit_optional(&mut self, event: RunEvent) -> bool {
        if let Some(log) = self.log.as_deref_mut() {
            log.record(&event);
        }
        let shown = self.budget.admit_optional(&event);
        if shown {
            (self.sink)(event);
        }
        self.notice();
        shown
    }

    fn notice(&mut self) {
        if let Some(message) = self.log.as_deref_mut().and_then(RunLog::take_notice) {
            let event = RunEvent::Notice { message };
            if self.budget.admit(&event) {
                (self.sink)(event);
            }
        }
    }

    fn full_log(&self, index: usize) -> Option<PathBuf> {
        self.log.as_deref().and_then(|log| log.output_path(index))
    }
}

/// Runs one command to its end: guards, attempts, retries. Streams events to
/// `sink` (and to `log`); stops early, terminating the command's process
/// group, when `cancel` is cancelled (outcome `Interrupted`).
///
/// The user and cwd are checked here, when the command starts; a problem
/// fails it to start. [`prepare`] checks a whole plan before it starts.
pub async fn run_command<S: FnMut(RunEvent) + Send>(
    config: &Config,
    command: &CommandSpec,
    slot: Slot,
    log: Option<&mut RunLog>,
    cancel: &CancellationToken,
    sink: &mut S,
) -> CommandReport {
    let setup = Setup::new(config, command);
    let setup = setup.as_ref().map_err(|e| e.message.as_str());
    // One command alone: only its own output_limit applies.
    let mut budget = PrintBudget::unlimited();
    let mut out = Emitter {
        sink,
        log,
        budget: &mut budget,
    };
    run_one(config, command, setup, slot, &mut out, cancel).await
}

/// Runs only the guards of `command` (which must have one), as
/// [`run_command`] would before the command: whether they hold now. The
/// ensure loop asks this right after a successful run, to learn whether the
/// command made its guard hold. `None` when they could not be asked (the
/// setup failed, a guard failed to start or timed out, a stop).
pub async fn guard_holds(
    config: &Config,
    command: &CommandSpec,
    cancel: &CancellationToken,
) -> Option<bool> {
    let setup = Setup::new(config, command).ok()?;
    let mut sink = |_: RunEvent| {};
    let mut budget = PrintBudget::unlimited();
    let mut out = Emitter {
        sink: &mut sink,
        log: None,
        budget: &mut budget,
    };
    let timeout = config.timeout_of(command);
    match check_guards(command, &setup, timeout, cancel, &mut out, 0).await {
        Some(Outcome::Skipped { .. }) => Some(true),
        None => Some(false),
        Some(_) => None,
    }
}

/// A selected command whose user is looked up and cwd checked: ready to run.
pub struct Prepared<'a> {
    pub command: &'a CommandSpec,
    setup: Setup,
}

/// A command whose user or cwd this machine lacks, so it cannot start (and
/// [`prepare`] refuses the whole plan): `commands[2].user: …`, led by the
/// config path; by the command's name where its index is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}.{field}: {message}", .index.map_or_else(|| .command.clone(), |i| format!("commands[{i}]")))]
pub struct SetupError {
    /// The command's name.
    pub command: String,
    /// Its index in the config, once [`prepare`] has placed it.
    pub index: Option<usize>,
    /// `user` or `cwd`.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// Looks up every command's user and checks its cwd, before any of them
/// runs: a plan that cannot finish must not start ("nothing half-applied").
pub fn prepare<'a>(
    config: &Config,
    commands: &[&'a CommandSpec],
) -> Result<Vec<Prepared<'a>>, SetupError> {
    // No interface lookup here: `run_plan` reads the networks' variables
    // again as each command starts.
    let mut unlooked = config.clone();
    unlooked.interfaces = Default::default();
    commands
        .iter()
        .map(|&command| match Setup::new(&unlooked, command) {
            Ok(setup) => Ok(Prepared { command, setup }),
            Err(err) => Err(SetupError {
                index: config
                    .commands
                    .iter()
                    .position(|c| std::ptr::eq(c, command) || c.name == command.name),
                ..err
            }),
        })
        .collect()
}

/// One command, its setup done (or failed: it then fails to start). Shown
/// output takes from the emitter's budget, shared by the commands of a run.
async fn run_one<S: FnMut(RunEvent) + Send>(
    config: &Config,
    command: &CommandSpec,
    setup: Result<&Setup, &str>,
    slot: Slot,
    out: &mut Emitter<'_, '_, S>,
    cancel: &CancellationToken,
) -> CommandReport {
    let started = Instant::now();
    let index = slot.index;
    let name = command.name.clone();
    out.emit(RunEvent::Started {
        index,
        total: slot.total,
        name: name.clone(),
        attempt: 1,
    });
    let timeout = config.timeout_of(command);
    // A network variable it uses that is unset now (`_INTERFACE` of an
    // address no NIC holds): said before it runs, as the shell would
    // silently expand it to nothing.
    if let (Ok(setup), false) = (setup, command.sensitive) {
        for (var, why) in &setup.unset {
            let line = format!("inject: ${var} is unset: {why}");
            if let Some(log) = out.log.as_deref_mut() {
                log.output(index, Stream::Stderr, line.as_bytes(), true);
            }
            out.emit(RunEvent::Output {
                index,
                stream: Stream::Stderr,
                line,
            });
        }
    }

    // A setup that failed, or a guard that says no, is the outcome; else
    // the command runs with its setup.
    let ready = match setup {
        Ok(setup) => match check_guards(command, setup, timeout, cancel, out, index).await {
            Some(outcome) => Err(outcome),
            None => Ok(setup),
        },
        Err(why) => Err(outcome_of(
            Ran::NotStarted(why.to_string()),
            timeout,
            None,
            out,
            index,
        )),
    };
    let mut attempts = 0;
    let mut shown: u64 = 0;
    let mut cut: u64 = 0;
    let mut retries_not_shown: u32 = 0;
    let outcome = match ready {
        Err(outcome) => outcome,
        Ok(setup) => loop {
            attempts += 1;
            if attempts > 1 {
                out.emit_optional(RunEvent::Started {
                    index,
                    total: slot.total,
                    name: name.clone(),
                    attempt: attempts,
                });
            }
            let limit = config.output_limit;
            let inherit = out.log.as_deref().and_then(RunLog::lock_fd);
            let mut on_piece = |stream: Stream, piece: &[u8], complete: bool| {
                if let Some(log) = out.log.as_deref_mut() {
                    log.output(index, stream, piece, complete);
                }
                let size = piece.len() as u64 + u64::from(complete);
                // Once something is cut, everything after is too: the shown
                // output stays a prefix of the real one.
                if cut == 0 && shown + size <= limit {
                    let event = RunEvent::Output {
                        index,
                        stream,
                        line: String::from_utf8_lossy(piece).into_owned(),
                    };
                    if out.budget.admit_optional(&event) {
                        shown += size;
                        (out.sink)(event);
                        return;
                    }
                }
                cut += size;
            };
            let result = run_process(
                setup,
                &command.run,
                timeout,
                true,
                inherit,
                cancel,
                &mut on_piece,
            )
            .await;
            out.notice();
            let outcome = outcome_of(result, timeout, None, out, index);
            if outcome.is_failure() && attempts <= command.retries {
                let shown = out.emit_optional(RunEvent::Retrying {
                    index,
                    name: name.clone(),
                    attempt: attempts,
                    outcome,
                    delay: command.retry_delay,
                });
                retries_not_shown += u32::from(!shown);
                tokio::select! {
                    _ = sleep(command.retry_delay) => continue,
                    _ = cancel.cancelled() => break Outcome::Interrupted,
                }
            }
            break outcome;
        },
    };
    if cut > 0 || retries_not_shown > 0 {
        let full_log = out.full_log(index);
        out.emit(RunEvent::OutputCut {
            index,
            cut_bytes: cut,
            retries_not_shown,
            full_log,
        });
    }
    let duration = started.elapsed();
    out.emit(RunEvent::Finished {
        index,
        name,
        outcome: outcome.clone(),
        duration,
        attempts: attempts.max(1),
    });
    CommandReport {
        outcome,
        duration,
        attempts: attempts.max(1),
    }
}

/// Runs `commands` (a plan, in order) and returns the summary. After a
/// failure the rest are `not run` when `stop_on_error` holds, unless the
/// failed command has `continue_on_error`; after a cancel, always.
/// `commands` come from [`prepare`], which checked their users and cwds.
/// What reaches `sink` stays within `budget` (the run log gets everything).
pub async fn run_plan<S: FnMut(RunEvent) + Send>(
    config: &Config,
    commands: &[Prepared<'_>],
    phase: Phase,
    mut log: Option<&mut RunLog>,
    cancel: &CancellationToken,
    sink: &mut S,
    budget: &mut PrintBudget<'_>,
) -> Summary {
    let started = Instant::now();
    let total = commands.len();
    let mut summary = Summary {
        total,
        ..Summary::default()
    };
    Emitter {
        sink: &mut *sink,
        log: log.as_deref_mut(),
        budget: &mut *budget,
    }
    .emit(RunEvent::RunStarted { phase, total });
    let mut stopped = false;
    for (i, prepared) in commands.iter().enumerate() {
        let command = prepared.command;
        let slot = Slot {
            index: i + 1,
            total,
        };
        if stopped || cancel.is_cancelled() {
            let event = RunEvent::Finished {
                index: slot.index,
                name: command.name.clone(),
                outcome: Outcome::NotRun,
                duration: Duration::ZERO,
                attempts: 0,
            };
            Emitter {
                sink: &mut *sink,
                log: log.as_deref_mut(),
                budget: &mut *budget,
            }
            .emit(event);
            summary.count(&Outcome::NotRun);
            continue;
        }
        // The networks' variables as they are when it starts: `_INTERFACE`
        // follows the kernel, which an earlier command may have changed.
        let fresh = prepared.setup.with_network_env(config, command);
        let setup = Ok(&fresh);
        let mut out = Emitter {
            sink: &mut *sink,
            log: log.as_deref_mut(),
            budget: &mut *budget,
        };
        let report = run_one(config, command, setup, slot, &mut out, cancel).await;
        summary.count(&report.outcome);
        let stops =
            report.outcome.is_failure() && config.stop_on_error && !command.continue_on_error;
        if stops || report.outcome == Outcome::Interrupted {
            stopped = true;
        }
    }
    summary.interrupted |= cancel.is_cancelled();
    summary.duration = started.elapsed();
    Emitter { sink, log, budget }.emit(RunEvent::RunFinished {
        summary: summary.clone(),
    });
    summary
}

/// Runs the guards; `Some(outcome)` when the command must not run.
async fn check_guards<S: FnMut(RunEvent) + Send>(
    command: &CommandSpec,
    setup: &Setup,
    timeout: Duration,
    cancel: &CancellationToken,
    out: &mut Emitter<'_, '_, S>,
    index: usize,
) -> Option<Outcome> {
    let guards = [
        ("unless", &command.unless, true),
        ("only_if", &command.only_if, false),
    ];
    for (kind, guard, skip_on_zero) in guards {
        let Some(guard) = guard else { continue };
        // Guards' output is not shown: they are questions, not work.
        let inherit = out.log.as_deref().and_then(RunLog::lock_fd);
        let result = run_process(
            setup,
            guard,
            timeout,
            false,
            inherit,
            cancel,
            &mut |_, _, _| {},
        )
        .await;
        let shown = one_line(command.shown(guard));
        match result {
            Ran::Exited(status) => {
                let zero = status.success();
                let how = match (status.code(), status.signal()) {
                    (Some(code), _) => format!("exited {code}"),
                    (None, Some(sig)) => format!("killed by {}", signal_name(sig)),
                    _ => "ended".to_string(),
                };
                if zero == skip_on_zero {
                    return Some(Outcome::Skipped {
                        reason: format!("{kind} guard {how} ({shown})"),
                    });
                }
            }
            other => {
                let which = format!("{kind} guard ({shown})");
                return Some(outcome_of(other, timeout, Some(which), out, index));
            }
        }
    }
    None
}

/// The first line of a guard, shortened for a result line.
fn one_line(text: &str) -> String {
    let first = text.trim().lines().next().unwrap_or("");
    let mut short: String = first.chars().take(80).collect();
    if short.len() < first.len() || text.trim().lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

/// `guard`: which guard ran, when it was one (its timeout is reported as
/// the guard's, not the command's).
fn outcome_of<S: FnMut(RunEvent) + Send>(
    result: Ran,
    timeout: Duration,
    guard: Option<String>,
    out: &mut Emitter<'_, '_, S>,
    index: usize,
) -> Outcome {
    match result {
        Ran::Exited(status) if status.success() => Outcome::Ok,
        Ran::Exited(status) => Outcome::Failed {
            exit_code: status.code(),
            signal: status.signal(),
        },
        Ran::TimedOut => Outcome::TimedOut {
            after: timeout,
            guard,
        },
        Ran::Cancelled => Outcome::Interrupted,
        Ran::NotStarted(why) => {
            let line = format!("inject: cannot start the command: {why}");
            if let Some(log) = out.log.as_deref_mut() {
                log.output(index, Stream::Stderr, line.as_bytes(), true);
            }
            out.emit(RunEvent::Output {
                index,
                stream: Stream::Stderr,
                line,
            });
            Outcome::Failed {
                exit_code: None,
                signal: None,
            }
        }
    }
}

/// The variable that hands a sensitive command's text to its shell.
pub const SENSITIVE_VAR: &str = "INJECT_SENSITIVE_COMMAND";

/// What the shell gets as its command for a sensitive command (or guard),
/// instead of the text: argv is world-readable (`ps`, /proc/PID/cmdline),
/// while a process's environment is readable only by its owner and root.
/// The script takes the text from [`SENSITIVE_VAR`] and unsets it, so that
/// the command's own programs do not inherit it, then runs it with `eval`:
/// in the same shell, so `-e`, `pipefail` and `exit` work as with `-c`.
/// Not stdin (a command may read it) nor an extra fd (a command may close
/// or reuse it). This needs a POSIX shell (`eval`, `unset`), which the
/// configured `shell` is unless changed on purpose.
pub const SENSITIVE_SCRIPT: &str = "inject_command=$INJECT_SENSITIVE_COMMAND; \
unset INJECT_SENSITIVE_COMMAND; eval \"$inject_command\"";

/// What every process of a command starts with.
#[derive(Clone)]
struct Setup {
    shell: Vec<String>,
    env: BTreeMap<String, String>,
    /// Network variables the command uses that are unset, and why.
    unset: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    user: Option<Identity>,
    /// The text goes through [`SENSITIVE_VAR`], not argv.
    sensitive: bool,
}

/// A user, looked up once per command (not per guard or attempt).
#[derive(Clone)]
struct Identity {
    name: String,
    uid: Uid,
    gid: Gid,
    /// Primary and supplementary groups, as `initgroups` would set them.
    groups: Vec<Gid>,
    home: PathBuf,
    /// Whether the process must switch to it (false when inject, not
    /// root, already runs as that user).
    switch: bool,
}

impl Setup {
    fn new(config: &Config, command: &CommandSpec) -> Result<Setup, SetupError> {
        let network = crate::netenv::for_command(config, command);
        let unset = network.unset;
        let mut env: BTreeMap<String, String> = network.env.into_iter().collect();
        env.extend(command.env.clone());
        if let Some(cwd) = &command.cwd {
            // Checked here: a failed chdir would otherwise be reported as
            // the shell missing.
            if !cwd.is_dir() {
                return Err(SetupError {
                    command: command.name.clone(),
                    index: None,
                    field: "cwd",
                    message: format!("cwd {} is not a directory", cwd.display()),
                });
            }
        }
        let user = match &command.user {
            Some(name) => Some(Identity::look_up(name).map_err(|message| SetupError {
                command: command.name.clone(),
                index: None,
                field: "user",
                message,
            })?),
            None => None,
        };
        Ok(Setup {
            shell: config.shell.clone(),
            env,
            unset,
            cwd: command.cwd.clone(),
            user,
            sensitive: command.sensitive,
        })
    }

    /// Why the command's cwd cannot be used any more, if it cannot.
    fn cwd_gone(&self) -> Option<String> {
        let cwd = self.cwd.as_ref()?;
        (!cwd.is_dir()).then(|| {
            format!(
                "its cwd {} is not a directory any more (it was when the run started: \
                 did an earlier command remove it?)",
                cwd.display()
            )
        })
    }

    /// This setup with the networks' variables read again.
    fn with_network_env(&self, config: &Config, command: &CommandSpec) -> Setup {
        let mut setup = self.clone();
        let network = crate::netenv::for_command(config, command);
        setup.env = network.env.into_iter().collect();
        setup.env.extend(command.env.clone());
        setup.unset = network.unset;
        setup
    }

    /// The process for `text`; it inherits the descriptor `inherit` (the
    /// run's lock) when given.
    fn command(
        &self,
        text: &str,
        capture: bool,
        inherit: Option<RawFd>,
    ) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.shell[0]);
        cmd.args(&self.shell[1..]);
        if self.sensitive {
            cmd.arg(SENSITIVE_SCRIPT).env(SENSITIVE_VAR, text);
        } else {
            cmd.arg(text);
        }
        if !self.env.contains_key("PATH") {
            cmd.env("PATH", safe_path(std::env::var_os("PATH")));
        }
        cmd.envs(&self.env).stdin(Stdio::null()).kill_on_drop(true);
        if let Some(fd) = inherit {
            // SAFETY: fcntl is a plain system call; nothing is allocated.
            // Only the child's copy of the descriptor loses close-on-exec.
            unsafe {
                cmd.pre_exec(move || {
                    let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                    nix::fcntl::fcntl(
                        fd,
                        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
                    )?;
                    Ok(())
                });
            }
        }
        // A session of its own (so a group of its own, id = its pid) and no
        // controlling terminal: a command that opens /dev/tty (a sudo or
        // ssh prompt) fails at once instead of waiting on, or writing over,
        // the terminal of whoever started inject (the dashboard's screen).
        // SAFETY: setsid is a plain system call; nothing is allocated.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()?;
                Ok(())
            });
        }
        let pipe = || {
            if capture {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        cmd.stdout(pipe()).stderr(pipe());
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        if let Some(user) = self.user.as_ref().filter(|u| u.switch) {
            // Not std's uid()/gid(): from root, std drops every
            // supplementary group (setgroups(0)) and runs pre_exec only
            // after setuid, too late to set them. So all three here, groups
            // first while still root. The list was read before the fork:
            // between fork and exec only plain system calls are safe.
            let (uid, gid, groups) = (user.uid, user.gid, user.groups.clone());
            // SAFETY: the closure only makes system calls (setgroups,
            // setgid, setuid) and allocates nothing.
            unsafe {
                cmd.pre_exec(move || {
                    nix::unistd::setgroups(&groups)?;
                    nix::unistd::setgid(gid)?;
                    nix::unistd::setuid(uid)?;
                    Ok(())
                });
            }
        }
        if let Some(user) = &self.user {
            cmd.env("HOME", &user.home)
                .env("USER", &user.name)
                .env("LOGNAME", &user.name);
        }
        cmd
    }
}

impl Identity {
    fn look_up(name: &str) -> Result<Identity, String> {
        let user = match nix::unistd::User::from_name(name) {
            Ok(Some(user)) => user,
            Ok(None) => return Err(format!("no user `{name}` on this machine")),
            Err(err) => return Err(format!("cannot look up user `{name}`: {err}")),
        };
        let c_name = std::ffi::CString::new(name)
            .map_err(|_| format!("user `{}` holds a NUL character", name.escape_debug()))?;
        let groups = nix::unistd::getgrouplist(&c_name, user.gid)
            .map_err(|err| format!("cannot read the groups of user `{name}`: {err}"))?;
        // Checked now, before any command runs: the switch happens between
        // fork and exec, where a refusal reads as the shell's own error.
        let me = Uid::effective();
        if !me.is_root() && me != user.uid {
            let whoami = nix::unistd::User::from_uid(me)
                .ok()
                .flatten()
                .map_or_else(|| format!("uid {me}"), |u| format!("`{}`", u.name));
            return Err(format!(
                "running as user `{name}` needs root; inject runs as {whoami} \
                 (run it as root, as BOSH does, or drop `user`)"
            ));
        }
        Ok(Identity {
            name: name.to_string(),
            uid: user.uid,
            gid: user.gid,
            groups,
            home: user.dir,
            switch: me.is_root(),
        })
    }
}

/// How a process ended.
enum Ran {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
    NotStarted(String),
}

/// SIGKILLs a process group when dropped while armed: a dropped run must
/// not leave its command behind.
struct GroupGuard {
    pgid: Pid,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}

fn group_alive(pgid: Pid) -> bool {
    killpg(pgid, None).is_ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Timeout,
    Cancel,
}

/// Runs `shell… text` in its own process group until it ends, times out or
/// is cancelled; hands each output piece to `on_piece` when `capture`.
async fn run_process(
    setup: &Setup,
    text: &str,
    timeout: Duration,
    capture: bool,
    inherit: Option<RawFd>,
    cancel: &CancellationToken,
    on_piece: &mut (dyn FnMut(Stream, &[u8], bool) + Send),
) -> Ran {
    if cancel.is_cancelled() {
        return Ran::Cancelled;
    }
    // prepare() checked the cwd before the run; an earlier command may
    // have removed it since, and a failed chdir would read as the shell
    // missing.
    if let Some(why) = setup.cwd_gone() {
        return Ran::NotStarted(why);
    }
    let mut cmd = setup.command(text, capture, inherit);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => {
            let why = setup
                .cwd_gone()
                .unwrap_or_else(|| format!("cannot run the shell {}: {err}", setup.shell[0]));
            return Ran::NotStarted(why);
        }
    };
    let Some(pid) = child.id() else {
        return Ran::NotStarted("it vanished at once".into());
    };
    // setsid: the group's id is the leader's pid.
    let pgid = Pid::from_raw(pid as i32);
    let mut guard = GroupGuard { pgid, armed: true };
    let mut stdout = child.stdout.take().map(|r| Lines::new(r, Stream::Stdout));
    let mut stderr = child.stderr.take().map(|r| Lines::new(r, Stream::Stderr));

    let far = far_future();
    // checked: a timeout near Duration::MAX must not overflow the clock.
    let deadline = Instant::now().checked_add(timeout).unwrap_or(far);
    let mut status: Option<ExitStatus> = None;
    let mut stop: Option<Stop> = None;
    let mut term_at: Option<Instant> = None;
    let mut killed = false;
    let mut drain_until: Option<Instant> = None;
    loop {
        let out_open = stdout.as_ref().is_some_and(|r| !r.eof);
        let err_open = stderr.as_ref().is_some_and(|r| !r.eof);
        if status.is_some() && !out_open && !err_open {
            break;
        }
        tokio::select! {
            biased;
            // Once the leader has exited its status is the result: a cancel
            // or the deadline while its output drains must neither change
            // that nor signal a background child it left on purpose.
            _ = cancel.cancelled(), if stop.is_none() && status.is_none() => {
                stop = Some(Stop::Cancel);
                let _ = killpg(pgid, Signal::SIGTERM);
                term_at = Some(Instant::now());
            }
            _ = sleep_until(deadline), if stop.is_none() && status.is_none() => {
                stop = Some(Stop::Timeout);
                let _ = killpg(pgid, Signal::SIGTERM);
                term_at = Some(Instant::now());
            }
            _ = sleep_until(term_at.map_or(far, |t| t + KILL_GRACE)), if term_at.is_some() && !killed => {
                let _ = killpg(pgid, Signal::SIGKILL);
                killed = true;
                // A process that left the group (setsid) may still hold the
                // pipe: read a little longer, then give up on it.
                drain_until = Some(Instant::now() + DRAIN);
            }
            st = child.wait(), if status.is_none() => {
                match st {
                    Ok(st) => status = Some(st),
                    // Cannot wait: nothing sensible left but to end the group.
                    Err(_) => {
                        let _ = killpg(pgid, Signal::SIGKILL);
                        status = Some(ExitStatus::from_raw(9));
                    }
                }
                if stop.is_none() {
                    drain_until = Some(Instant::now() + DRAIN);
                }
            }
            _ = sleep_until(drain_until.unwrap_or(far)), if drain_until.is_some() && status.is_some() => break,
            piece = next_piece(&mut stdout), if out_open => {
                if let Some((stream, bytes, complete)) = piece {
                    on_piece(stream, &bytes, complete);
                }
            }
            piece = next_piece(&mut stderr), if err_open => {
                if let Some((stream, bytes, complete)) = piece {
                    on_piece(stream, &bytes, complete);
                }
            }
        }
    }
    match stop {
        None => {
            // Ended on its own; anything it left in the background is its
            // business (see the module notes).
            guard.armed = false;
            Ran::Exited(status.unwrap_or_else(|| ExitStatus::from_raw(0)))
        }
        Some(stop) => {
            // Make sure nothing of the group survives the grace period.
            let kill_at = term_at.unwrap_or_else(Instant::now) + KILL_GRACE;
            while !killed && group_alive(pgid) {
                if Instant::now() >= kill_at {
                    let _ = killpg(pgid, Signal::SIGKILL);
                    killed = true;
                }
                sleep(Duration::from_millis(20)).await;
            }
            guard.armed = false;
            match stop {
                Stop::Timeout => Ran::TimedOut,
                Stop::Cancel => Ran::Cancelled,
            }
        }
    }
}

/// `path` (inject's PATH) with only its absolute dirs; [`DEFAULT_PATH`]
/// when none is left.
fn safe_path(path: Option<std::ffi::OsString>) -> std::ffi::OsString {
    let dirs: Vec<PathBuf> = path
        .map(|p| {
            std::env::split_paths(&p)
                .filter(|d| d.is_absolute())
                .collect()
        })
        .unwrap_or_default();
    if dirs.is_empty() {
        return DEFAULT_PATH.into();
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| DEFAULT_PATH.into())
}

/// A time that never comes (for a select! branch that is switched off).
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(86400 * 365 * 30))
        .unwrap_or(now)
}

/// Reads one pipe in pieces of at most [`LINE_LIMIT`] bytes.
struct Lines<R> {
    reader: BufReader<R>,
    stream: Stream,
    line: Vec<u8>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(inner: R, stream: Stream) -> Lines<R> {
        Lines {
            reader: BufReader::with_capacity(LINE_LIMIT, inner),
            stream,
            line: Vec::new(),
            eof: false,
        }
    }

    /// The next line (`complete`: it ended with a newline or the stream) or
    /// piece of an over-long line. Cancel-safe: state lives in `self` and is
    /// only changed after the read completed.
    async fn next(&mut self) -> Option<(Vec<u8>, bool)> {
        loop {
            let available = match self.reader.fill_buf().await {
                Ok(buf) => buf,
                Err(_) => &[],
            };
            if available.is_empty() {
                self.eof = true;
                if self.line.is_empty() {
                    return None;
                }
                return Some((std::mem::take(&mut self.line), true));
            }
            let room = LINE_LIMIT - self.line.len();
            let window = &available[..available.len().min(room)];
            if let Some(at) = window.iter().position(|&b| b == b'\n') {
                self.line.extend_from_slice(&window[..at]);
                self.reader.consume(at + 1);
                return Some((std::mem::take(&mut self.line), true));
            }
            let taken = window.len();
            self.line.extend_from_slice(window);
            self.reader.consume(taken);
            if self.line.len() >= LINE_LIMIT {
                return Some((std::mem::take(&mut self.line), false));
            }
        }
    }
}

async fn next_piece<R: AsyncRead + Unpin>(
    lines: &mut Option<Lines<R>>,
) -> Option<(Stream, Vec<u8>, bool)> {
    let lines = lines.as_mut()?;
    let stream = lines.stream;
    lines
        .next()
        .await
        .map(|(bytes, complete)| (stream, bytes, complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_come_in_bounded_pieces() {
        let mut data = vec![b'x'; LINE_LIMIT * 2 + 10];
        data.extend_from_slice(b"\nshort\nlast");
        let mut lines = Lines::new(&data[..], Stream::Stdout);
        let mut pieces = Vec::new();
        while let Some((bytes, complete)) = lines.next().await {
            pieces.push((bytes.len(), complete));
        }
        assert_eq!(
            pieces,
            vec![
                (LINE_LIMIT, false),
                (LINE_LIMIT, false),
                (10, true),
                (5, true),
                (4, true)
            ]
        );
    }

    #[test]
    fn a_path_keeps_only_absolute_dirs_and_falls_back_to_the_agents() {
        let path = |p: Option<&str>| safe_path(p.map(Into::into)).into_string().unwrap();
        assert_eq!(path(None), DEFAULT_PATH);
        assert_eq!(path(Some("")), DEFAULT_PATH);
        assert_eq!(path(Some(".:bin")), DEFAULT_PATH);
        assert_eq!(path(Some("/opt/x/bin:.:/usr/bin:")), "/opt/x/bin:/usr/bin");
    }

    #[test]
    fn guards_are_shortened_to_one_line() {
        assert_eq!(one_line("test -e /x"), "test -e /x");
        assert_eq!(one_line("a\nb"), "a…");
        assert_eq!(one_line(&"y".repeat(100)).chars().count(), 81);
    }
}
