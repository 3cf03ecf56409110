//! The event loop: the one place where terminal input, netlink changes and
//! runner progress meet. It is generic over the ratatui backend and takes its
//! event sources and its side effects (`Io`) as arguments, so tests drive it
//! with a `TestBackend`, scripted keys and fixture snapshots.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use inject_errands::CancellationToken;
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::app::{update, App, Effect, Level};
use super::event::{Event, RunMsg};
use super::theme::Theme;
use super::views;
use inject_net::{Change, Snapshot};

/// Where a running command's progress goes: into the loop, tagged with the
/// command's index.
#[derive(Clone)]
pub struct RunSink {
    index: usize,
    tx: mpsc::UnboundedSender<Event>,
}

impl RunSink {
    pub fn send(&self, msg: RunMsg) {
        // The loop has gone only when quitting; nothing to tell then.
        let _ = self.tx.send(Event::Run {
            index: self.index,
            msg,
        });
    }
}

/// The side effects the loop performs for `update`'s effects.
pub trait Io: Send + Sync + 'static {
    /// Read the network now.
    fn read_snapshot(&self) -> BoxFuture<'static, Result<Snapshot, String>>;
    /// Check each default's gateway (ARP/NDP), then read the network.
    fn probe_gateways(&self) -> BoxFuture<'static, Result<Snapshot, String>> {
        self.read_snapshot()
    }
    /// Read the host facts the findings use besides netlink (`disable_ipv6`,
    /// networkd files) into `snapshot`: an address change may come from one.
    fn read_host(&self, _snapshot: &mut Snapshot) {}
    /// Run the command at `index` to its end (or until `cancel`), reporting
    /// lines and the outcome through `sink`. Must send `RunMsg::Finished`.
    fn run_command(
        &self,
        index: usize,
        sink: RunSink,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, ()>;
    /// The network variables the command at `index` uses, with the values
    /// a run started now would get (or why one is unset), by the runner's
    /// own code. None where nothing is looked up (tests, no config).
    fn values_now(&self, _index: usize) -> Option<Values> {
        None
    }
}

/// A command's network variables: name, and value or why it is unset.
pub type Values = Vec<(String, Result<String, String>)>;

/// How often a running command's spinner and elapsed time move.
const TICK: Duration = Duration::from_millis(100);

/// How long quitting waits for a cancelled command to be stopped and logged.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Draw, then handle events until the app quits (`q`, or the terminal's
/// events end: nobody could press `q` any more). When `net_changes` ends
/// the loop goes on and says that live updates stopped.
pub async fn run<B, T, N, I>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: &Theme,
    terminal_events: T,
    net_changes: N,
    io: Arc<I>,
) -> Result<(), B::Error>
where
    B: Backend,
    T: Stream<Item = Event> + Unpin,
    N: Stream<Item = Change> + Unpin,
    I: Io,
{
    let mut terminal_events = terminal_events.fuse();
    let mut net_changes = net_changes.fuse();
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let cancel = CancellationToken::new();
    // The running command's own token, so `x` stops it and nothing else.
    let mut run_cancel = cancel.child_token();
    let mut running: Option<JoinHandle<()>> = None;
    // While a command runs, a tick moves its spinner and elapsed time.
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut net_live = true;
    let mut lost: Option<B::Error> = None;

    let size = terminal.size()?;
    app.size = (size.width, size.height);
    terminal.draw(|f| views::render(f, app, theme))?;

    loop {
        let next = async {
            tokio::select! {
                ev = terminal_events.next() => ev.unwrap_or(Event::Terminate),
                change = net_changes.next(), if net_live => match change {
                    Some(change) => Event::Net(vec![change]),
                    None => {
                        net_live = false;
                        Event::NetEnded
                    }
                },
                // Never None: `tx` lives as long as the loop.
                Some(ev) = rx.recv() => ev,
                now = ticks.tick(), if app.running.is_some() || !app.fresh.is_empty() || app.banner_hold.is_some() => {
                    Event::Tick(now.into_std(), std::time::SystemTime::now())
                }
            }
        };
        // A routes filter under way goes on only when no event waits, so a
        // key is never queued behind it, and after a yield, so the runtime's
        // other tasks (a running command, netlink) are not held up by it.
        // Each slice is drawn.
        let filtering = app.filtering();
        let event = tokio::select! {
            biased;
            event = next => event,
            () = tokio::task::yield_now(), if filtering => {
                app.advance_filter();
                if let Err(e) = terminal.draw(|f| views::render(f, app, theme)) {
                    lost = Some(e);
                    break;
                }
                continue;
            }
        };
        let mut pending = vec![event];
        // A change: the others already waiting go with it, as one batch.
        if let Some(Event::Net(changes)) = pending.first_mut() {
            if !super::event::take_waiting(&mut net_changes, changes).await {
                net_live = false;
                pending.push(Event::NetEnded);
            }
        }
        // Take whatever else is already queued (a burst of output lines)
        // before drawing once.
        while pending.len() < 256 {
            match rx.try_recv() {
                Ok(ev) => pending.push(ev),
                Err(_) => break,
            }
        }
        for event in pending {
            // The wall clock, for what the view dates (updated at, how long
            // ago a run was, routes that just appeared); `update` stays
            // free of clocks.
            app.wall = Some(std::time::SystemTime::now());
            // An address gone may be IPv6 disabled on its NIC, which the
            // kernel announces by no other change (as `status --watch`).
            if let (Event::Net(changes), Some(s)) = (&event, app.snapshot.as_mut()) {
                if changes.iter().any(|c| matches!(c, Change::Address { .. })) {
                    io.read_host(s);
                }
            }
            for effect in update(app, event) {
                match effect {
                    Effect::ReadSnapshot | Effect::Probe => {
                        let read = if effect == Effect::Probe {
                            io.probe_gateways()
                        } else {
                            io.read_snapshot()
                        };
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let _ = tx.send(Event::Snapshot(read.await));
                        });
                    }
                    Effect::Run(index) => {
                        let sink = RunSink {
                            index,
                            tx: tx.clone(),
                        };
                        sink.send(RunMsg::Started(std::time::Instant::now()));
                        run_cancel = cancel.child_token();
                        running = Some(tokio::spawn(io.run_command(
                            index,
                            sink,
                            run_cancel.clone(),
                        )));
                    }
                    Effect::Stop => run_cancel.cancel(),
                    Effect::ValuesNow(index) => {
                        // One address dump (as the run's own start does):
                        // quick enough to answer before the next frame.
                        if let Some(values) = io.values_now(index) {
                            let _ = tx.send(Event::Values { index, values });
                        }
                    }
                    Effect::LoadOutput(index, path) => {
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let result = super::viewer_state::load(
                                &path,
                                super::viewer_state::HEAD_LINES,
                                super::viewer_state::TAIL_LINES,
                            )
                            .map_err(|e| format!("cannot read {}: {e}", path.display()));
                            let _ = tx.send(Event::OutputLoaded { index, result });
                        });
                    }
                    Effect::Redraw => {
                        // Whatever wrote over the screen goes with this.
                        // `resize` clears and forgets the last frame
                        // without asking the terminal where its cursor is
                        // (`clear` does, and would wait on the input
                        // thread's hold on crossterm's reader).
                        let cleared = terminal.size().and_then(|size| {
                            terminal.resize(ratatui::layout::Rect::from((
                                ratatui::layout::Position::ORIGIN,
                                size,
                            )))
                        });
                        if let Err(e) = cleared {
                            lost = Some(e);
                        }
                    }
                }
            }
            if app.quit || lost.is_some() {
                break;
            }
        }
        if app.quit || lost.is_some() {
            break;
        }
        // A terminal that went away (ssh dropped, tmux killed) ends the
        // loop, but not before the running command is stopped below.
        if let Err(e) = terminal.draw(|f| views::render(f, app, theme)) {
            lost = Some(e);
            break;
        }
    }

    // Leave nothing running behind us: cancel the command (the runner
    // terminates it and writes its log), and wait for that, within reason.
    cancel.cancel();
    if let Some(task) = running.take() {
        if app.running.is_some() && lost.is_none() {
            app.say(Level::Info, "stopping the running command…");
            // Only news: a failed draw must not skip the wait below.
            let _ = terminal.draw(|f| views::render(f, app, theme));
        }
        let _ = tokio::time::timeout(STOP_GRACE, task).await;
    }
    lost.map_or(Ok(()), Err)
}

/// Terminal events from crossterm as dashboard events (mouse, focus and
/// key releases dropped; a read error ends the stream), with SIGTERM,
/// SIGINT, SIGHUP and a hung-up terminal as `Terminate`, so the terminal
/// is restored and a running command stopped on each of those (in raw
/// mode Ctrl-C is a key: a SIGINT comes from `kill -INT` or `timeout -s
/// INT`, and its default action would leave the terminal raw and the
/// command running, unlogged).
///
/// The terminal is read on a thread of its own, never on the runtime's:
/// crossterm 0.29 reads a hung-up tty (read() = 0, or EIO) in a loop that
/// never returns (`event/source/unix/mio.rs`, `try_read`), and on the
/// runtime's one thread that froze the whole dashboard at ~30% CPU, deaf
/// to SIGTERM (seen after `kill -9` of a tmux server: an ssh drop looks
/// the same). The hang-up itself is noticed by `poll` on stdout, so the
/// dashboard ends even while that thread spins; the process's exit ends
/// the thread.
pub fn terminal_events() -> impl Stream<Item = Event> + Unpin {
    use std::os::fd::AsFd;
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, mut rx) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || loop {
            let Ok(ev) = crossterm::event::read() else {
                return; // the stream ends: nobody can press a key any more
            };
            let Some(ev) = Event::from_terminal(ev) else {
                continue;
            };
            if tx.send(ev).is_err() {
                return; // the loop has ended
            }
        });
    let keys = if spawned.is_ok() {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
    } else {
        futures_util::stream::empty().boxed()
    };
    let mut ends = Vec::new();
    for kind in [
        SignalKind::terminate(),
        SignalKind::interrupt(),
        SignalKind::hangup(),
    ] {
        if let Ok(mut s) = signal(kind) {
            ends.push(futures_util::stream::poll_fn(move |cx| s.poll_recv(cx)).boxed());
        }
    }
    // A copy of stdout, owned by the future that watches it.
    if let Ok(out) = std::io::stdout().as_fd().try_clone_to_owned() {
        let gone = async move { inject_net::follow::reader_gone(out.as_fd()).await };
        ends.push(futures_util::stream::once(gone).boxed());
    }
    let terminate = futures_util::stream::select_all(ends).map(|()| Event::Terminate);
    futures_util::stream::select(keys, terminate)
}

/// Whether the terminal on stdout hung up (the pty's other side closed:
/// an ssh drop, a killed tmux). Nothing written to it can be seen any more.
pub fn terminal_hung_up() -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let out = std::io::stdout();
    let mut fds = [PollFd::new(out.as_fd(), PollFlags::empty())];
    let gone = PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL;
    poll(&mut fds, PollTimeout::ZERO).is_ok()
        && fds[0].revents().is_some_and(|r| r.intersects(gone))
}
