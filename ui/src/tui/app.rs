//! The dashboard's state: one plain struct, [`App`], and the types it is
//! made of (focus, windows, effects, footer messages, scroll). `update`
//! (`update.rs`) is the only writer; views read it. What changes it lives
//! by job: keys in `update.rs`, the network in `net_updates.rs`, a run in
//! `run_progress.rs`, the run log in `history_rows.rs`.

use std::time::{Duration, Instant, SystemTime};

use super::display::{CmdState, CommandRow, FindingKey, NetView, OutLine};
use super::route_filter::RouteFilter;
use inject_net::follow::Reads;
use inject_net::Snapshot;

/// Where `update` lives; reached from here too, beside the state it changes.
pub use super::update::update;

/// The panel that PgUp/PgDn scroll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Interfaces,
    Routes,
    Commands,
    Output,
}

impl Focus {
    const ORDER: [Focus; 4] = [
        Focus::Interfaces,
        Focus::Routes,
        Focus::Commands,
        Focus::Output,
    ];

    pub(crate) fn step(self, by: isize) -> Focus {
        let i = Focus::ORDER.iter().position(|f| *f == self).unwrap_or(0) as isize;
        Focus::ORDER[(i + by).rem_euclid(Focus::ORDER.len() as isize) as usize]
    }
}

/// A window drawn over the panels; it takes the keys while open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// "Run this?" for the command at this index.
    Confirm(usize),
    /// The dry-run plan of the command at this index, scrolled by `scroll` lines.
    Plan {
        index: usize,
        scroll: usize,
    },
    /// "A command is running: quit and stop it?"
    ConfirmQuit,
    /// "Stop the running command?" (the dashboard stays open).
    ConfirmStop,
}

/// What the event loop must do after an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Re-read the network snapshot; the result comes back as `Event::Snapshot`.
    ReadSnapshot,
    /// Check the default gateways (ARP/NDP), then re-read as `ReadSnapshot`.
    Probe,
    /// Start the command at this index through the errand runner.
    Run(usize),
    /// Stop the running command (its whole process group).
    Stop,
    /// Clear the terminal and draw everything again (Ctrl-L).
    Redraw,
    /// Work out the values the command at this index would get now, for
    /// the confirmation; they come back as `Event::Values`.
    ValuesNow(usize),
    /// Read a command's output file for the viewer; the result comes back
    /// as `Event::OutputLoaded`.
    LoadOutput(usize, std::path::PathBuf),
}

/// How the footer shows a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// News: what is running, what finished well.
    Info,
    /// Something degraded that the user may want to act on.
    Warn,
    /// A refusal or a failure.
    Error,
}

/// One line of news for the footer, with how it should read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

/// Said when the netlink subscription ends (the view no longer follows).
pub const LIVE_STOPPED: &str = "live updates stopped; r re-reads";
/// The question `q` asks while a command runs.
pub const QUIT_WHILE_RUNNING: &str = "a command is running: quit and stop it? y/n";
/// How long a banner that shrank keeps its former rows.
pub const BANNER_HOLD: Duration = Duration::from_secs(5);

/// How long a route that just appeared stays marked.
pub const FRESH_FOR: Duration = Duration::from_secs(3);

/// What Esc says with no window open.
pub const ESC_SAYS: &str = "q quits";
/// The question `x` asks.
pub const STOP_RUNNING: &str = "stop it? its process group gets SIGTERM, then SIGKILL";

/// The command this dashboard runs now (one at a time).
#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    /// Its index in [`App::commands`].
    pub index: usize,
    /// When it started, by the loop's clock (once the runner says so).
    pub since: Option<Instant>,
    /// Its state and output before this run, back in place if it turns
    /// out nothing ran (the lock was held).
    pub before: (CmdState, Option<Duration>, Vec<OutLine>),
}

impl Running {
    /// The command at `index`, started now: no start time yet, nothing
    /// to put back.
    pub fn new(index: usize) -> Running {
        Running {
            index,
            since: None,
            before: (CmdState::Pending, None, Vec::new()),
        }
    }
}

/// Which fix `f` runs, and the finding a fix under way is for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FixChoice {
    /// Which of [`App::fixes`] `f` runs (`[` and `]` pick).
    pub pick: usize,
    /// The command of the fix being confirmed or run, and the finding it
    /// is for: once it has run, the next read tells whether it cleared.
    pub under_way: Option<(usize, FindingKey)>,
    /// A fix finished (what the footer said of it) and its finding: the
    /// next read says whether it cleared.
    pub done: Option<(String, FindingKey)>,
}

/// Lines scrolled in each scrollable panel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scroll {
    pub interfaces: usize,
    pub routes: usize,
    /// Lines back from the end of the output; 0 follows new output.
    pub output_back: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct App {
    pub net: NetView,
    /// The network state `net` shows, kept current from netlink changes
    /// ([`Snapshot::apply`]); none until a read succeeds (or after one
    /// failed), and then every change reads.
    pub snapshot: Option<Snapshot>,
    /// The config's networks and commands, for the findings and hints.
    pub expected: inject_net::findings::Expected,
    /// Why the last snapshot read failed, if it did (the previous view stays).
    pub net_error: Option<String>,
    /// Why the config could not be loaded, if it could not (no commands then).
    pub config_error: Option<String>,
    pub commands: Vec<CommandRow>,
    /// Said in the commands panel: where the config came from, or why there
    /// are no commands.
    pub config_note: String,
    pub selected: usize,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    /// Which routes the routes panel lists (`/`, `4`, `6`, `d`).
    pub route_filter: RouteFilter,
    /// Routes that just appeared (their lines), and when: marked in the
    /// routes panel for [`FRESH_FOR`].
    pub fresh: Vec<(String, SystemTime)>,
    /// When the network view last changed (a read or a netlink change).
    pub updated: Option<SystemTime>,
    /// The banner's rows before it last shrank, at that width, and when:
    /// kept for [`BANNER_HOLD`] so the panels do not jump.
    pub banner_hold: Option<(super::layout::BannerNeed, u16, SystemTime)>,
    /// The full-screen output viewer, when open (`o`).
    pub viewer: Option<super::viewer_state::Viewer>,
    pub scroll: Scroll,
    /// The command running now; one at a time.
    pub running: Option<Running>,
    /// The loop's clock at the last tick (ticks come while a command runs).
    pub clock: Option<Instant>,
    /// The wall clock as last told (ticks, ensure reads, start): how long
    /// ago past runs were.
    pub wall: Option<SystemTime>,
    /// One line of news for the footer (refusals, the last run's result).
    pub message: Option<Message>,
    pub is_root: bool,
    /// The values the command being confirmed would get, as worked out
    /// when the confirmation opened (its index, then the values).
    pub confirm_values: Option<(usize, super::event_loop::Values)>,
    /// Lines the help window is scrolled down.
    pub help_scroll: usize,
    /// Why the run log cannot be read (not root), if it cannot.
    pub history_error: Option<String>,
    /// Which fix `f` runs, and the one under way.
    pub fix: FixChoice,
    /// Terminal size in columns and rows (for page sizes).
    pub size: (u16, u16),
    /// Snapshot reads in flight and owed, coalesced as `inject status
    /// --watch` does.
    pub reads: Reads,
    /// The view follows netlink changes; false once the subscription has
    /// ended (or could not start), so only `r` updates it.
    pub subscribed: bool,
    pub quit: bool,
}

pub const NEEDS_ROOT: &str = "needs root: run sudo inject-tui";
/// Said in the footer from the start when not root.
pub const READ_ONLY: &str = "read-only (not root)";

impl App {
    pub fn new(net: NetView, commands: Vec<CommandRow>, config_note: impl Into<String>) -> App {
        App {
            net,
            snapshot: None,
            expected: Default::default(),
            net_error: None,
            config_error: None,
            commands,
            config_note: config_note.into(),
            selected: 0,
            focus: Focus::Commands,
            overlay: None,
            viewer: None,
            fresh: Vec::new(),
            updated: None,
            banner_hold: None,
            route_filter: RouteFilter::default(),
            scroll: Scroll::default(),
            running: None,
            clock: None,
            wall: None,
            message: None,
            is_root: true,
            confirm_values: None,
            history_error: None,
            help_scroll: 0,
            fix: FixChoice::default(),
            size: (120, 40),
            reads: Reads::default(),
            subscribed: true,
            quit: false,
        }
    }

    /// Lines the banner needs: the findings, plus a failed read's error.
    pub fn banner_lines(&self) -> usize {
        self.net.banner.len() + usize::from(self.net_error.is_some())
    }

    /// The fixes on offer: (index of the finding's line in the banner,
    /// index of the command), errors first, one per finding and command
    /// that fixes it. The link is the finding's data ([`Finding::fix`],
    /// decided from what the command does), never shared words.
    ///
    /// [`Finding::fix`]: inject_net::Finding::fix
    pub fn fixes(&self) -> Vec<(usize, usize)> {
        use super::display::Health;
        let mut out = Vec::new();
        for severity in [Health::Error, Health::Warn, Health::Info] {
            for f in &self.net.findings {
                if self.net.banner.get(f.line).map(|l| l.health) != Some(severity) {
                    continue;
                }
                for name in &f.fixes {
                    if let Some(c) = self.commands.iter().position(|c| &c.name == name) {
                        out.push((f.line, c));
                    }
                }
            }
        }
        out
    }

    /// The fix `f` runs: the one picked with `[`/`]` (the first at first).
    pub fn picked_fix(&self) -> Option<(usize, usize)> {
        let fixes = self.fixes();
        fixes
            .get(self.fix.pick.min(fixes.len().saturating_sub(1)))
            .copied()
    }

    /// How many routes the routes panel lists (so far, while the filter's
    /// pass is under way).
    pub fn routes_shown(&self) -> usize {
        self.net.routes.shown(&self.route_filter.query()).len()
    }

    /// Whether the routes filter's pass is under way: the event loop takes
    /// it on between events ([`advance_filter`](Self::advance_filter)).
    pub fn filtering(&self) -> bool {
        self.net
            .routes
            .searching(&self.route_filter.query())
            .is_some()
    }

    /// Take the routes filter's pass on by one slice.
    pub fn advance_filter(&self) {
        self.net.routes.advance(&self.route_filter.query());
    }

    /// How long the running command has run, by the last tick.
    pub fn elapsed(&self) -> Option<Duration> {
        let since = self.running.as_ref()?.since?;
        Some(self.clock?.saturating_duration_since(since))
    }

    /// Put a message in the footer.
    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        self.message = Some(Message {
            level,
            text: text.into(),
        });
    }

    /// The footer's message text, if any.
    pub fn message_text(&self) -> Option<&str> {
        self.message.as_ref().map(|m| m.text.as_str())
    }

    /// The index of the command this dashboard runs now, if any.
    pub fn running_index(&self) -> Option<usize> {
        self.running.as_ref().map(|r| r.index)
    }

    /// Whether this dashboard runs the command at `index` now.
    pub fn is_running(&self, index: usize) -> bool {
        self.running_index() == Some(index)
    }

    pub fn selected_command(&self) -> Option<&CommandRow> {
        self.commands.get(self.selected)
    }

    /// The lines the viewer shows: the output file when read, else the
    /// lines in memory.
    pub fn viewer_lines(&self) -> &[OutLine] {
        let Some(v) = &self.viewer else {
            return &[];
        };
        match (&v.loaded, self.commands.get(v.index)) {
            (Some(l), _) => &l.lines,
            (None, Some(c)) => &c.output,
            (None, None) => &[],
        }
    }

    /// Rows the viewer has for lines (a border above and below, the keys).
    pub fn viewer_rows(&self) -> usize {
        self.size.1.saturating_sub(3).max(1) as usize
    }
}

/// `04:19:19`: a wall-clock time of day, UTC (as the run log's times).
pub fn clock_time(t: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(t).to_string();
    text.get(11..19).unwrap_or(&text).to_string()
}
