//! The one event type the dashboard reacts to. The event loop turns terminal
//! input, netlink changes and runner progress into these; `update` is the
//! only place that interprets them.

use std::time::{Duration, Instant, SystemTime};

use inject_errands::ensure::EnsureState;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::stream::FusedStream;
use futures_util::{FutureExt, StreamExt};

use super::display::{CmdState, OutStream};
use inject_net::{Change, Snapshot};

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A key press (releases and repeats of other kinds are dropped earlier).
    Key(KeyEvent),
    /// The terminal is now this many columns and rows.
    Resize(u16, u16),
    /// Netlink said links, addresses or routes changed (or that changes
    /// were lost): every change waiting when the loop looked, in the
    /// order they came, so a flood is applied a batch a frame.
    Net(Vec<Change>),
    /// The netlink subscription ended: the view no longer follows changes.
    NetEnded,
    /// A snapshot read finished (the text is the error when it failed).
    Snapshot(Result<Snapshot, String>),
    /// What a running `inject ensure` keeps, read from its state file at
    /// `now` (none when no ensure process runs for this log dir).
    Ensure {
        state: Option<EnsureState>,
        now: SystemTime,
    },
    /// The run log changed (or was first read) at `now`: each command's
    /// last result and what other processes run now, or why it cannot be
    /// read.
    RunLog {
        result: Result<super::history::Log, String>,
        now: SystemTime,
    },
    /// The values the command at `index` would get now (for the
    /// confirmation).
    Values {
        index: usize,
        values: super::event_loop::Values,
    },
    /// Progress of the command at this index.
    Run { index: usize, msg: RunMsg },
    /// A command's output file, read for the viewer (or why not).
    OutputLoaded {
        index: usize,
        result: Result<super::viewer_state::Loaded, String>,
    },
    /// The clock, while a command runs (its elapsed time and spinner), and
    /// the wall clock at that moment (when a run ended).
    Tick(Instant, SystemTime),
    /// SIGTERM or SIGHUP (an ssh session closing), or the terminal's input
    /// ended: leave cleanly.
    Terminate,
}

/// What the runner reports about one command, in dashboard terms.
#[derive(Clone, Debug, PartialEq)]
pub enum RunMsg {
    /// The loop started the run at this moment.
    Started(Instant),
    Line {
        stream: OutStream,
        text: String,
    },
    Finished {
        state: CmdState,
        duration: Duration,
    },
    /// Nothing ran: another process holds the log dir's lock (who, in words).
    Busy(String),
    /// The run's whole output is in this file of the run log.
    LogFile(std::path::PathBuf),
}

impl Event {
    /// A plain key press, for tests and for mapping terminal input.
    pub fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    pub fn ctrl(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    /// The dashboard's view of a terminal event; `None` for what it ignores
    /// (mouse, focus, paste, key releases).
    pub fn from_terminal(ev: crossterm::event::Event) -> Option<Event> {
        match ev {
            crossterm::event::Event::Key(k) if k.kind != KeyEventKind::Release => {
                Some(Event::Key(k))
            }
            crossterm::event::Event::Resize(w, h) => Some(Event::Resize(w, h)),
            _ => None,
        }
    }
}

/// How long the loop goes on taking netlink changes while more keep
/// coming before it applies them and draws (a frame's worth at most), and
/// how many it takes at most.
const NET_BURST: Duration = Duration::from_millis(8);
const NET_BURST_MAX: usize = 100_000;

/// Take the changes waiting on `stream` into `changes`: a flood (a BGP
/// session's 400 000 routes) is then applied a batch per frame rather
/// than a frame per change. While more keep coming (for 8 ms at most)
/// the runtime gets a turn between looks, so the netlink reader (a task on
/// the same thread) can take more off the socket; a lone change goes at
/// once. False when the stream ended.
pub async fn take_waiting<S>(stream: &mut S, changes: &mut Vec<inject_net::Change>) -> bool
where
    S: futures_util::Stream<Item = inject_net::Change> + FusedStream + Unpin,
{
    let start = Instant::now();
    loop {
        let had = changes.len();
        while changes.len() < NET_BURST_MAX {
            match stream.next().now_or_never() {
                Some(Some(change)) => changes.push(change),
                Some(None) => return false,
                None => break,
            }
        }
        if changes.len() == had || changes.len() >= NET_BURST_MAX || start.elapsed() >= NET_BURST {
            return true;
        }
        tokio::task::yield_now().await;
    }
}
