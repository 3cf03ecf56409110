//! The dashboard wired to the real world: the config and its commands, the
//! errand runner and run log, netlink snapshots and changes, and the
//! terminal (restored on every way out, panics included).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;
use inject_errands::config::{self, Config, Phase};
use inject_errands::ensure::{read_state, EnsureState};
use inject_errands::run_event::{RunEvent, Summary};
use inject_errands::runlog::{self, RunLog};
use inject_errands::runner::{run_command, Slot};
use inject_errands::{plan, CancellationToken};

use super::app::{App, Level};
use super::display::NetView;
use super::event::{Event, RunMsg};
use super::event_loop::{run, terminal_events, Io, RunSink};
use super::rows::{command_row, run_msgs};
use super::theme::Theme;
use inject_net as net;
use inject_net::findings::config_gateways;
use inject_net::Change;

/// What `inject tui` / `inject-tui` was asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-c PATH`; else `$INJECT_CONFIG`, else the BOSH job's path (as `inject run`).
    pub config: Option<PathBuf>,
    /// `--log-dir`; else as `inject run` resolves it.
    pub log_dir: Option<PathBuf>,
}

/// The phase a dashboard run is logged under: the command's own first phase.
fn phase_of(spec: &config::CommandSpec) -> Phase {
    spec.phases.first().copied().unwrap_or(Phase::Errand)
}

/// Open the dashboard; returns the process's exit code. A config that is
/// invalid, or named with `-c` and missing, is an error before the screen
/// opens (exit 2), as in `inject status`; a missing default config leaves
/// the network view with no commands. Every failure to get going (runtime,
/// netlink, terminal) is exit 2.
pub fn main(opts: Options) -> ExitCode {
    let path = config::resolve_path(opts.config.clone());
    let tty = std::io::stdout().is_terminal();
    let mut config_error = None;
    // A `-c PATH` that does not exist is a mistyped path: exit 2 before the
    // screen opens, in a terminal too (docs/dashboard.md, --help).
    if opts.config.is_some() && std::fs::symlink_metadata(&path).is_err() {
        if let Err(e) = net::locate::load(&path) {
            say_err(&format!("inject-tui: {e}"));
            return ExitCode::from(2);
        }
    }
    let config = if opts.config.is_some() || path.exists() {
        match net::locate::load(&path) {
            Ok(c) => Some(Arc::new(c)),
            // In a terminal the network is still worth seeing: the error
            // goes in the banner. Elsewhere (scripts) it is an error.
            Err(e) if tty => {
                config_error = Some(e.to_string());
                None
            }
            Err(e) => {
                say_err(&format!("inject-tui: {e}"));
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say_err(&format!("inject-tui: cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    if !tty {
        return runtime.block_on(print_status(config.as_deref()));
    }
    runtime.block_on(dashboard(config, config_error, path, opts.log_dir))
}

/// stdout is a pipe or file: no screen to draw on, so print what
/// `inject status` prints, and say why. Exit codes as `inject status`:
/// netlink failing is 2; a closed pipe (`| head`) is the reader's choice.
async fn print_status(config: Option<&Config>) -> ExitCode {
    let gateways = config.map(config_gateways).unwrap_or_default();
    let s = match net::read_snapshot().await {
        Ok(s) => s,
        Err(e) => {
            say_err(&format!("inject-tui: {e}"));
            return ExitCode::from(2);
        }
    };
    let findings = net::findings_with(&s, &gateways);
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(net::text::render(&s, &findings, false).as_bytes())
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            say_err(&format!("inject-tui: writing the report: {e}"));
            ExitCode::from(2)
        }
        _ => {
            eprintln!(
                "inject-tui: stdout is not a terminal, so this is `inject status`; run inject-tui in a terminal for the dashboard"
            );
            ExitCode::SUCCESS
        }
    }
}

async fn dashboard(
    config: Option<Arc<Config>>,
    config_error: Option<String>,
    path: PathBuf,
    log_dir: Option<PathBuf>,
) -> ExitCode {
    let gateways = config.as_deref().map(config_gateways).unwrap_or_default();
    let (commands, note) = match config.as_deref() {
        Some(c) => {
            let total = c.commands.len();
            let rows = c
                .commands
                .iter()
                .enumerate()
                .map(|(i, spec)| {
                    let lines = plan::describe(c, spec, phase_of(spec), i + 1, total);
                    command_row(c, spec, lines)
                })
                .collect();
            (rows, format!("config: {}", path.display()))
        }
        None if config_error.is_some() => {
            (Vec::new(), format!("broken config: {}", path.display()))
        }
        None => (Vec::new(), format!("no config at {}", path.display())),
    };
    let mut app = App::new(NetView::default(), commands, note);
    app.config_error = config_error;
    app.is_root = nix::unistd::geteuid().is_root();
    app.expected = gateways;
    // Follow netlink; without it the view still works, refreshed by `r`.
    // Subscribed before the first read, so no change between is lost (one
    // the read already holds applies as a no-op, or reads again).
    let changes: BoxStream<'static, Change> = match net::watch().await {
        Ok(s) => s.boxed(),
        Err(e) => {
            app.subscribed = false;
            app.say(Level::Warn, format!("live updates off ({e}); r re-reads"));
            stream::pending().boxed()
        }
    };
    // The first read in steps, off the loop's thread: the first frame has
    // the interfaces at once and says the routes are being read (the full
    // Internet table takes seconds to dump). It counts as a read in
    // flight, so changes meanwhile cause one more read after it.
    app.net = super::rows::reading_view(&net::Snapshot {
        reading_routes: Some(0),
        ..net::Snapshot::default()
    });
    app.reads.changed();
    let first_read = stream::unfold(net::packed::read_in_steps(), |mut rx| async move {
        let step = rx.recv().await?;
        Some((Event::Snapshot(step.map_err(|e| e.to_string())), rx))
    })
    .boxed();
    let log_dir = runlog::resolve_dir(log_dir);
    if let Some(dir) = log_dir.as_deref() {
        app.set_run_log(super::history::read_log(dir), SystemTime::now());
    }
    let events = stream::select(
        stream::select(terminal_events(), first_read),
        stream::select(
            ensure_events(log_dir.clone(), ENSURE_EVERY),
            run_log_events(log_dir.clone(), RUN_LOG_EVERY),
        ),
    );
    let io = Arc::new(LiveIo { config, log_dir });

    // Raw mode, the alternate screen, and a panic hook that restores the
    // terminal before the panic is printed. Mouse capture stays off so text
    // can be selected over ssh.
    let mut terminal = match init_terminal() {
        Ok(t) => t,
        Err(e) => {
            restore_terminal();
            say_err(&format!("inject-tui: cannot set up the terminal: {e}"));
            return ExitCode::from(2);
        }
    };
    let theme = Theme::from_env();
    // `run` stops and logs a running command before it returns, also when
    // the terminal went away under it.
    let result = run(&mut terminal, &mut app, &theme, events, changes, io).await;
    // ratatui's drop shows the cursor and `eprintln!`s a failure, which
    // panics (exit 101) on a terminal that went away; `restore_terminal`
    // shows it instead, ignoring errors.
    std::mem::forget(terminal);
    let hung_up = super::event_loop::terminal_hung_up();
    if !hung_up {
        restore_terminal();
    }
    match result {
        // Nothing left to restore or to read a message on; the line is for
        // a stderr sent elsewhere (`2>file`).
        _ if hung_up => {
            say_err("inject-tui: the terminal hung up; stopped");
            ExitCode::from(2)
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say_err(&format!("inject-tui: terminal error: {e}"));
            ExitCode::from(2)
        }
    }
}

/// ratatui's `try_init`, with a panic hook that cannot panic itself:
/// ratatui's own hook prints with `eprintln!`, which panics when the
/// terminal is gone (an ssh drop, a killed tmux), and a panic inside the
/// panic hook aborts the process (exit 134) with its command left running.
/// The terminal, with its output buffered so a frame leaves in one write
/// (ratatui flushes after each draw): unbuffered, a full redraw went out
/// in many small writes, and a terminal (tmux, an ssh client) could show
/// the screen half old, half new in between.
type Screen =
    ratatui::Terminal<ratatui::backend::CrosstermBackend<std::io::BufWriter<std::io::Stdout>>>;

fn init_terminal() -> std::io::Result<Screen> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        hook(info);
    }));
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(
        std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
    ))
}

/// Leaves raw mode and the alternate screen and shows the cursor; a
/// terminal that is gone has nothing left to restore, so errors are ignored.
fn restore_terminal() {
    let _ = ratatui::try_restore();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
}

/// A line to stderr that never panics (`eprintln!` does when stderr is a
/// terminal that went away).
fn say_err(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// How often the dashboard re-reads `inject ensure`'s state file. Ensure
/// writes a file (no netlink event to follow), and what the panel shows
/// changes with time alone: whether the process still lives (a crash
/// leaves the file behind) and how long ago it acted. So a light re-read
/// of one small file while the dashboard is open; inotify would add a
/// crate and still need the clock.
const ENSURE_EVERY: Duration = Duration::from_secs(5);

/// What a running `inject ensure` keeps, every `every` from now on (the
/// first at once); nothing without a log dir.
fn ensure_events(log_dir: Option<PathBuf>, every: Duration) -> BoxStream<'static, Event> {
    let Some(dir) = log_dir else {
        return stream::pending().boxed();
    };
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    stream::poll_fn(move |cx| ticks.poll_tick(cx).map(Some))
        .map(move |_| Event::Ensure {
            state: running_ensure(&dir),
            now: SystemTime::now(),
        })
        .boxed()
}

/// How often the dashboard looks whether the run log moved: the errand,
/// hooks, ensure and other dashboards append to it, and their runs must
/// show within a second. A look is one `stat` of one file; the log is read
/// only when its size or time changed (or while another process runs a
/// command, whose elapsed time the panel shows).
const RUN_LOG_EVERY: Duration = Duration::from_millis(500);

/// The run log, each time it changes (the first at once); nothing without
/// a log dir.
fn run_log_events(log_dir: Option<PathBuf>, every: Duration) -> BoxStream<'static, Event> {
    let Some(dir) = log_dir else {
        return stream::pending().boxed();
    };
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<Option<(u64, SystemTime)>> = None;
    let mut busy = false;
    let mut since_read = 0u32;
    stream::poll_fn(move |cx| ticks.poll_tick(cx).map(Some))
        .filter_map(move |_| {
            let stamp = super::history::stamp(&dir);
            since_read += 1;
            // Changed, or a foreign run's clock to move once a second.
            let due = last.as_ref() != Some(&stamp) || (busy && since_read >= 2);
            let event = due.then(|| {
                last = Some(stamp);
                since_read = 0;
                let result = super::history::read_log(&dir);
                busy = result.as_ref().is_ok_and(|l| !l.running.is_empty());
                Event::RunLog {
                    result,
                    now: SystemTime::now(),
                }
            });
            futures_util::future::ready(event)
        })
        .boxed()
}

/// Ensure's state, if its process runs and the state is current (one that
/// could not be written for a while is not shown as if it were); an
/// unreadable file shows nothing (ensure itself reports its own trouble, in
/// its log).
fn running_ensure(dir: &Path) -> Option<EnsureState> {
    read_state(dir)
        .ok()
        .flatten()
        .filter(|state| state.is_current(SystemTime::now()))
}

/// Who holds the lock, for the footer: `inject run (pid 4242, phase
/// pre-start) holds the lock; try again when it ends`.
fn holder_text(held: &runlog::LockHeld, phase: Option<&str>) -> String {
    let pid = held
        .pid
        .map_or("pid unknown".to_string(), |p| format!("pid {p}"));
    let phase = phase.map_or(String::new(), |p| format!(", phase {p}"));
    format!(
        "{} ({pid}{phase}) holds the lock; try again when it ends",
        held.kind.holder
    )
}

/// The phase of the run that process `pid` logged last: runs are named
/// `<time>-<pid>` in the run log. Only the log's end is read (a run that
/// holds the lock now started recently).
fn phase_of_pid(dir: &Path, pid: u32) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 256 * 1024;
    let mut file = std::fs::File::open(dir.join(runlog::EVENTS_FILE)).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut bytes = Vec::new();
    file.take(TAIL).read_to_end(&mut bytes).ok()?;
    // The cut may fall inside a character; that line does not parse anyway.
    let text = String::from_utf8_lossy(&bytes);
    // `<time>-<pid>`, or `<time>-<pid>-<n>` for a process's later runs.
    let pid = pid.to_string();
    text.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let run = v.get("run")?.as_str()?;
        let mut parts = run.rsplit('-');
        let last = parts.next()?;
        if last != pid && parts.next() != Some(pid.as_str()) {
            return None;
        }
        let said = v.get("source").or_else(|| v.get("phase"))?;
        Some(said.as_str()?.to_string())
    })
}

/// The real side effects: netlink reads and errand runs.
struct LiveIo {
    config: Option<Arc<Config>>,
    log_dir: Option<PathBuf>,
}

impl Io for LiveIo {
    fn values_now(&self, index: usize) -> Option<super::event_loop::Values> {
        let config = self.config.as_deref()?;
        let spec = config.commands.get(index)?;
        if spec.sensitive {
            return None;
        }
        Some(
            inject_errands::netenv::used_values(config, spec)
                .into_iter()
                .map(|v| (v.name, v.value))
                .collect(),
        )
    }

    fn read_snapshot(&self) -> BoxFuture<'static, Result<net::Snapshot, String>> {
        // Off the loop's thread: a re-read of a big table must not freeze it.
        let read = net::packed::read_packed_on_thread(false);
        Box::pin(async { read.await.map_err(|e| e.to_string()) })
    }

    fn probe_gateways(&self) -> BoxFuture<'static, Result<net::Snapshot, String>> {
        let read = net::packed::read_packed_on_thread(true);
        Box::pin(async { read.await.map_err(|e| e.to_string()) })
    }

    fn read_host(&self, snapshot: &mut net::Snapshot) {
        net::sysctl::read_host(snapshot);
    }

    fn run_command(
        &self,
        index: usize,
        sink: RunSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        let config = self.config.clone();
        let log_dir = self.log_dir.clone();
        Box::pin(async move {
            let Some(spec) = config.as_ref().and_then(|c| c.commands.get(index)) else {
                return;
            };
            let config = config.as_deref().expect("checked above");
            let phase = phase_of(spec);
            // The same log an errand run writes, under the same lock: a
            // dashboard run and `inject run` never interleave.
            // Logged as the dashboard's own (its own ids and retention).
            let open = |d: &Path| RunLog::open_as(d, phase, super::history::DASHBOARD);
            let mut log = match log_dir.as_deref().map(open) {
                None => None,
                Some(Ok(log)) => Some(log),
                Some(Err(runlog::LockError::Held(held))) => {
                    let phase = match (held.pid, log_dir.as_deref()) {
                        (Some(pid), Some(dir)) => phase_of_pid(dir, pid),
                        _ => None,
                    };
                    sink.send(RunMsg::Busy(holder_text(&held, phase.as_deref())));
                    return;
                }
                // No lock to be had (an unsafe or read-only log dir): no run.
                Some(Err(err)) => {
                    sink.send(RunMsg::Busy(err.to_string()));
                    return;
                }
            };
            if let Some(log) = log.as_mut() {
                log.record(&RunEvent::RunStarted { phase, total: 1 });
            }
            let mut forward = |event: RunEvent| {
                for msg in run_msgs(event) {
                    sink.send(msg);
                }
            };
            let slot = Slot { index: 1, total: 1 };
            let report = run_command(config, spec, slot, log.as_mut(), &cancel, &mut forward).await;
            if let Some(path) = log.as_ref().and_then(|l| l.output_path(1)) {
                sink.send(RunMsg::LogFile(path));
            }
            if let Some(log) = log.as_mut() {
                let mut summary = Summary {
                    total: 1,
                    duration: report.duration,
                    ..Summary::default()
                };
                summary.count(&report.outcome);
                log.record(&RunEvent::RunFinished { summary });
            }
        })
    }
}
