//! The dashboard's state, one plain struct, and `update`: the only place
//! that changes it. `update` is pure — it returns the effects (read a
//! snapshot, run a command) for the event loop to carry out; quitting is
//! `app.quit`, which the loop checks after every event.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::display::{CmdState, CommandRow, NetView, OutLine, OutStream};
use super::event::{Event, RunMsg};
use super::layout::inner_rows;
use super::rows::{kept, on_change, reading_view, split, view_of};
use inject_net::follow::{Next, Reads};
use inject_net::{Change, Snapshot};

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

    fn step(self, by: isize) -> Focus {
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
    pub gateways: inject_net::findings::Expected,
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
    /// Routes shown: those with this text (`/` with the routes focused).
    pub route_filter: Option<String>,
    /// The route filter being typed (it filters as it is typed).
    pub route_typing: Option<String>,
    /// Routes shown: only default routes (`d`).
    pub route_defaults: bool,
    /// Routes shown: only this family ("4" or "6"), else both.
    pub route_family: Option<&'static str>,
    /// Routes that just appeared (their lines), and when: marked in the
    /// routes panel for [`FRESH_FOR`].
    pub fresh: Vec<(String, SystemTime)>,
    /// When the network view last changed (a read or a netlink change).
    pub updated: Option<SystemTime>,
    /// The banner's rows before it last shrank, at that width, and when:
    /// kept for [`BANNER_HOLD`] so the panels do not jump.
    pub banner_hold: Option<(super::layout::BannerNeed, u16, SystemTime)>,
    /// The full-screen output viewer, when open (`o`).
    pub viewer: Option<super::viewer::Viewer>,
    pub scroll: Scroll,
    /// The command running now; one at a time.
    pub running: Option<usize>,
    /// When it started, by the loop's clock.
    pub running_since: Option<Instant>,
    /// The loop's clock at the last tick (ticks come while a command runs).
    pub clock: Option<Instant>,
    /// The wall clock as last told (ticks, ensure reads, start): how long
    /// ago past runs were.
    pub wall: Option<SystemTime>,
    /// The running command's state and output before this run, back in
    /// place if it turns out nothing ran (the lock was held).
    before_run: Option<(CmdState, Option<Duration>, Vec<OutLine>)>,
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
    /// Which of [`App::fixes`] `f` runs (`[` and `]` pick).
    pub fix_pick: usize,
    /// The finding the fix being confirmed or run is for: once it has
    /// run, the next read tells whether it cleared.
    pub fixing: Option<(usize, super::display::FindingKey)>,
    /// A fix finished: say whether its finding cleared at the next read.
    fix_done: Option<(String, super::display::FindingKey)>,
    /// Terminal size in columns and rows (for page sizes).
    pub size: (u16, u16),
    /// Snapshot reads in flight and owed, coalesced as `inject status
    /// --watch` does.
    pub reads: Reads,
    /// The view follows netlink changes; false once the subscription has
    /// ended (or could not start), so only `r` updates it.
    pub live: bool,
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
            gateways: Default::default(),
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
            route_filter: None,
            route_typing: None,
            route_defaults: false,
            route_family: None,
            scroll: Scroll::default(),
            running: None,
            running_since: None,
            clock: None,
            wall: None,
            before_run: None,
            message: None,
            is_root: true,
            confirm_values: None,
            history_error: None,
            help_scroll: 0,
            fix_pick: 0,
            fixing: None,
            fix_done: None,
            size: (120, 40),
            reads: Reads::default(),
            live: true,
            quit: false,
        }
    }

    /// Show this snapshot (a full read) and keep it for the changes to come.
    pub fn set_snapshot(&mut self, snapshot: Snapshot) {
        let (kept, store) = split(snapshot);
        self.net = view_of(&kept, store, &self.gateways);
        self.snapshot = Some(kept);
    }

    /// A netlink change: applied to the snapshot and the rows in place
    /// when it can be exactly, else a read ([`on_change`]).
    fn on_net_change(&mut self, change: &Change) -> Vec<Effect> {
        let (snapshot, net, reads) = (&mut self.snapshot, &mut self.net, &mut self.reads);
        match on_change(snapshot, net, reads, &self.gateways, change) {
            Next::Read => vec![Effect::ReadSnapshot],
            Next::Nothing => Vec::new(),
            Next::Applied(applied) => {
                // A route that just appeared is marked for a moment.
                if let (inject_net::Applied::RouteAdded(i), Some(now)) = (applied, self.wall) {
                    if let Some(line) = self.net.routes.line(i) {
                        self.fresh.push((line, now));
                    }
                }
                self.updated = self.wall;
                Vec::new()
            }
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
            .get(self.fix_pick.min(fixes.len().saturating_sub(1)))
            .copied()
    }

    /// Show each command's last result from the run log (`history`, by
    /// name) as of `now`: its state, when and by whom, and its output.
    pub fn set_history(
        &mut self,
        history: std::collections::HashMap<String, super::history::Past>,
        now: SystemTime,
    ) {
        self.wall = Some(now);
        for (i, row) in self.commands.iter_mut().enumerate() {
            // This dashboard's own run shows its live output.
            if self.running == Some(i) {
                continue;
            }
            let Some(past) = history.get(&row.name) else {
                continue;
            };
            row.state = past.state;
            row.last_duration = Some(past.duration);
            let when = humantime::format_rfc3339_seconds(past.when);
            let mut what = format!(
                "{} in {}",
                past.state.label(),
                super::display::format_duration(past.duration)
            );
            if let Some(d) = &past.detail {
                what.push_str(&format!(" ({d})"));
            }
            row.output = [format!("{} ran it {when}", past.source), what]
                .into_iter()
                .map(|text| OutLine {
                    stream: OutStream::Info,
                    text,
                })
                .collect();
            match &past.output {
                Some(path) => {
                    row.output.extend(super::history::output_lines(path));
                    row.output.push(OutLine {
                        stream: OutStream::Info,
                        text: format!("from {}", path.display()),
                    });
                }
                None => row.output.push(OutLine {
                    stream: OutStream::Info,
                    text: "its output is no longer in the run log".into(),
                }),
            }
            row.log_file = past.output.clone();
            row.past = Some(past.clone());
        }
    }

    /// The run log as read at `now`: past results, and the commands other
    /// processes run now (with who and since when), or why it cannot be
    /// read (then the states are unknown, not `never run`).
    pub fn set_run_log(&mut self, result: Result<super::history::Log, String>, now: SystemTime) {
        let log = match result {
            Ok(log) => log,
            Err(e) => {
                if self.history_error.is_none() {
                    self.say(Level::Warn, format!("{e}: past runs unknown"));
                }
                self.history_error = Some(e);
                self.wall = Some(now);
                return;
            }
        };
        self.history_error = None;
        self.set_history(log.past, now);
        for (i, row) in self.commands.iter_mut().enumerate() {
            if self.running == Some(i) {
                continue;
            }
            let held = log.running.get(&row.name).cloned();
            match (&held, &row.held) {
                (Some(h), None) => {
                    let pid = h.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    let text = format!("{}{pid} runs {}", h.source, row.name);
                    row.state = CmdState::Running;
                    row.output = vec![OutLine {
                        stream: OutStream::Info,
                        text: format!("{text} since {}", clock_time(h.since)),
                    }];
                    self.message = Some(Message {
                        level: Level::Info,
                        text,
                    });
                }
                (None, Some(_)) if row.past.is_none() => row.state = CmdState::Pending,
                _ => {}
            }
            row.held = held;
        }
    }

    /// What the routes panel lists: `4`/`6`, `d` and `/`.
    pub fn route_query(&self) -> super::display::RouteQuery {
        super::display::RouteQuery {
            family: self.route_family,
            defaults: self.route_defaults,
            text: self.route_filter.clone(),
        }
    }

    /// How many routes the routes panel lists.
    pub fn routes_shown(&self) -> usize {
        self.net.routes.shown(&self.route_query()).len()
    }

    /// How long the running command has run, by the last tick.
    pub fn elapsed(&self) -> Option<Duration> {
        let since = self.running_since?;
        Some(self.clock?.saturating_duration_since(since))
    }

    /// After a fix ran and the network was read again: say whether the
    /// finding it was for cleared.
    fn say_if_fixed(&mut self) {
        let Some((ran, key)) = self.fix_done.take() else {
            return;
        };
        let still = self.net.findings.iter().any(|f| f.key.same(&key));
        if still {
            self.say(Level::Error, format!("{ran}; still there: {}", key.message));
        } else {
            self.say(Level::Info, format!("{ran}; cleared: {}", key.message));
        }
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

    pub fn selected_command(&self) -> Option<&CommandRow> {
        self.commands.get(self.selected)
    }

    /// Ask for a snapshot, coalescing bursts ([`Reads`]): the first change
    /// reads at once; changes during that read cause exactly one more.
    fn request_read(&mut self) -> Vec<Effect> {
        if self.reads.changed() {
            vec![Effect::ReadSnapshot]
        } else {
            Vec::new()
        }
    }

    fn panels(&self) -> Option<super::layout::Areas> {
        super::views::layout(self, Rect::new(0, 0, self.size.0, self.size.1))
    }

    /// Rows one PgUp/PgDn moves in the focused panel.
    fn page(&self) -> usize {
        let rows = self.panels().map_or(1, |a| match self.focus {
            Focus::Interfaces => a.interfaces.map_or(1, |r| inner_rows(r, true)),
            Focus::Routes => a.routes.map_or(1, |r| inner_rows(r, false)),
            Focus::Commands => a.commands.map_or(1, |r| inner_rows(r, true)),
            Focus::Output => a.output.map_or(1, |r| inner_rows(r, false)),
        });
        rows.max(1)
    }

    fn select(&mut self, index: usize) {
        if self.commands.is_empty() {
            return;
        }
        let index = index.min(self.commands.len() - 1);
        if index != self.selected {
            self.selected = index;
            self.scroll.output_back = 0;
        }
    }

    fn scroll_focused(&mut self, down: bool) {
        let page = self.page();
        let move_by = |v: usize, max: usize| {
            if down {
                (v + page).min(max)
            } else {
                v.saturating_sub(page)
            }
        };
        match self.focus {
            Focus::Interfaces => {
                // The last page stays full, as the view draws it.
                let max = self.net.interfaces.len().saturating_sub(page);
                self.scroll.interfaces = move_by(self.scroll.interfaces, max);
            }
            Focus::Routes => {
                let max = self.routes_shown().saturating_sub(page);
                self.scroll.routes = move_by(self.scroll.routes, max);
            }
            Focus::Commands => {
                let target = if down {
                    self.selected + page
                } else {
                    self.selected.saturating_sub(page)
                };
                self.select(target);
            }
            Focus::Output => {
                let len = self.selected_command().map_or(0, |c| c.output.len());
                let max = len.saturating_sub(page);
                // Up goes back in time: the offset counts from the end.
                self.scroll.output_back = if down {
                    self.scroll.output_back.saturating_sub(page)
                } else {
                    (self.scroll.output_back + page).min(max)
                };
            }
        }
    }

    fn step_focused(&mut self, down: bool) {
        let by = |v: usize, max: usize| {
            if down {
                (v + 1).min(max)
            } else {
                v.saturating_sub(1)
            }
        };
        let page = self.page();
        match self.focus {
            Focus::Commands => {
                let to = if down {
                    self.selected + 1
                } else {
                    self.selected.saturating_sub(1)
                };
                self.select(to);
            }
            Focus::Interfaces => {
                let max = self.net.interfaces.len().saturating_sub(page);
                self.scroll.interfaces = by(self.scroll.interfaces, max);
            }
            Focus::Routes => {
                let max = self.routes_shown().saturating_sub(page);
                self.scroll.routes = by(self.scroll.routes, max);
            }
            Focus::Output => {
                let len = self.selected_command().map_or(0, |c| c.output.len());
                let max = len.saturating_sub(page);
                self.scroll.output_back = if down {
                    self.scroll.output_back.saturating_sub(1)
                } else {
                    (self.scroll.output_back + 1).min(max)
                };
            }
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        Vec::new()
    }

    /// `q` or Ctrl-C: quit, but ask first while a command runs (quitting
    /// stops it).
    fn ask_to_quit(&mut self) -> Vec<Effect> {
        if self.running.is_some() {
            self.overlay = Some(Overlay::ConfirmQuit);
            Vec::new()
        } else {
            self.quit()
        }
    }

    /// Enter on the selected command: confirmation (and the values it
    /// would get, worked out now), or why not.
    fn ask_to_run(&mut self) -> Vec<Effect> {
        if self.commands.get(self.selected).is_none() {
            self.say(Level::Warn, "no commands are configured");
        } else if let Some(r) = self.running {
            let text = format!(
                "{} is running: one command at a time",
                self.commands[r].name
            );
            self.say(Level::Error, text);
        } else if !self.is_root {
            self.say(Level::Error, NEEDS_ROOT);
        } else {
            self.overlay = Some(Overlay::Confirm(self.selected));
            self.confirm_values = None;
            return vec![Effect::ValuesNow(self.selected)];
        }
        Vec::new()
    }

    fn start(&mut self, index: usize) -> Vec<Effect> {
        self.overlay = None;
        if self.running.is_some() {
            return Vec::new();
        }
        let Some(cmd) = self.commands.get_mut(index) else {
            return Vec::new();
        };
        self.before_run = Some((
            cmd.state,
            cmd.last_duration,
            std::mem::take(&mut cmd.output),
        ));
        cmd.state = CmdState::Running;
        // The viewer follows the new run's lines, not the last run's file.
        if let Some(v) = self.viewer.as_mut().filter(|v| v.index == index) {
            v.loaded = None;
        }
        let text = format!("running {}", cmd.name);
        self.running = Some(index);
        self.scroll.output_back = 0;
        self.say(Level::Info, text);
        vec![Effect::Run(index)]
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('l')) {
            return vec![Effect::Redraw];
        }
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            // A second Ctrl-C at the question means it.
            return if self.overlay == Some(Overlay::ConfirmQuit) {
                self.quit()
            } else {
                self.ask_to_quit()
            };
        }
        match self.overlay {
            Some(Overlay::ConfirmStop) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.overlay = None;
                    if let Some(i) = self.running {
                        let text = format!("stopping {}…", self.commands[i].name);
                        self.say(Level::Warn, text);
                        return vec![Effect::Stop];
                    }
                    Vec::new()
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    self.overlay = None;
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Some(Overlay::ConfirmQuit) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.quit(),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    self.overlay = None;
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Some(Overlay::Help) => {
                let max = super::views::help::BINDINGS.len() + 2;
                match key.code {
                    KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
                        self.overlay = None
                    }
                    // The view clamps to the last full page.
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.help_scroll = (self.help_scroll + 1).min(max)
                    }
                    KeyCode::PageDown => self.help_scroll = (self.help_scroll + 10).min(max),
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.help_scroll = self.help_scroll.saturating_sub(1)
                    }
                    KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(10),
                    _ => {}
                }
                Vec::new()
            }
            Some(Overlay::Confirm(index)) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.start(index),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    self.overlay = None;
                    self.fixing = None;
                    self.say(Level::Info, "cancelled: nothing was run");
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Some(Overlay::Plan { index, scroll }) => {
                let len = self.commands.get(index).map_or(0, |c| c.plan.len());
                match key.code {
                    KeyCode::Esc | KeyCode::Char('p') | KeyCode::Char('q') | KeyCode::Enter => {
                        self.overlay = None
                    }
                    KeyCode::PageDown | KeyCode::Down | KeyCode::Char('j') => {
                        let by = if key.code == KeyCode::PageDown { 10 } else { 1 };
                        self.overlay = Some(Overlay::Plan {
                            index,
                            scroll: (scroll + by).min(len.saturating_sub(1)),
                        });
                    }
                    KeyCode::PageUp | KeyCode::Up | KeyCode::Char('k') => {
                        let by = if key.code == KeyCode::PageUp { 10 } else { 1 };
                        self.overlay = Some(Overlay::Plan {
                            index,
                            scroll: scroll.saturating_sub(by),
                        });
                    }
                    _ => {}
                }
                Vec::new()
            }
            None if self.viewer.is_some() => self.on_key_viewer(key),
            None if self.route_typing.is_some() => {
                let typed = self.route_typing.as_mut().expect("checked");
                match key.code {
                    KeyCode::Char(c) => typed.push(c),
                    KeyCode::Backspace => {
                        typed.pop();
                    }
                    // Enter keeps the filter; Esc clears it.
                    KeyCode::Enter => self.route_typing = None,
                    KeyCode::Esc => {
                        self.route_typing = None;
                        self.route_filter = None;
                    }
                    _ => {}
                }
                // Filters as it is typed.
                if let Some(typed) = &self.route_typing {
                    self.route_filter = Some(typed.clone()).filter(|t| !t.is_empty());
                }
                self.scroll.routes = 0;
                Vec::new()
            }
            None => self.on_key_main(key),
        }
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

    fn on_key_viewer(&mut self, key: KeyEvent) -> Vec<Effect> {
        let rows = self.viewer_rows();
        let Some(mut v) = self.viewer.take() else {
            return Vec::new();
        };
        let loaded = v.loaded.take();
        let lines: &[OutLine] = match (&loaded, self.commands.get(v.index)) {
            (Some(l), _) => &l.lines,
            (None, Some(c)) => &c.output,
            (None, None) => &[],
        };
        let outcome = v.on_key(key, lines, rows);
        v.loaded = loaded;
        if outcome == super::viewer::Outcome::Stay {
            self.viewer = Some(v);
        }
        Vec::new()
    }

    /// `o`: the selected command's output, full screen; its whole output
    /// file when the run log has one and it is not running.
    fn open_viewer(&mut self) -> Vec<Effect> {
        let Some(cmd) = self.commands.get(self.selected) else {
            self.say(Level::Warn, "no commands are configured");
            return Vec::new();
        };
        self.viewer = Some(super::viewer::Viewer::new(self.selected));
        match (&cmd.log_file, self.running == Some(self.selected)) {
            (Some(path), false) => vec![Effect::LoadOutput(self.selected, path.clone())],
            _ => Vec::new(),
        }
    }

    fn on_key_main(&mut self, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            // Esc closes a window when one is open (above); with none open
            // it only says how to quit: an Esc pressed once too often (a
            // double Esc) never quits.
            KeyCode::Char('q') => return self.ask_to_quit(),
            // Esc clears the routes' filters first.
            KeyCode::Esc
                if self.route_filter.is_some()
                    || self.route_family.is_some()
                    || self.route_defaults =>
            {
                self.route_filter = None;
                self.route_family = None;
                self.route_defaults = false;
                self.scroll.routes = 0;
                self.say(Level::Info, "routes: filters cleared");
            }
            KeyCode::Esc => self.say(Level::Info, ESC_SAYS),
            // Arrows move in the focused panel: the selection in the commands,
            // one line in the others (the output goes back in time with ↑).
            KeyCode::Up | KeyCode::Char('k') => self.step_focused(false),
            KeyCode::Down | KeyCode::Char('j') => self.step_focused(true),
            KeyCode::Enter => return self.ask_to_run(),
            KeyCode::Char('p') => match self.commands.get(self.selected) {
                Some(_) => {
                    self.overlay = Some(Overlay::Plan {
                        index: self.selected,
                        scroll: 0,
                    })
                }
                None => self.say(Level::Warn, "no commands are configured"),
            },
            KeyCode::Tab => self.focus = self.focus.step(1),
            KeyCode::BackTab => self.focus = self.focus.step(-1),
            KeyCode::PageDown => self.scroll_focused(true),
            KeyCode::PageUp => self.scroll_focused(false),
            KeyCode::Char('r') => {
                self.say(Level::Info, "refreshing");
                return self.request_read();
            }
            KeyCode::Char('g') => {
                if !self.reads.changed() {
                    self.say(Level::Info, "a read is under way; press g again after it");
                    return Vec::new();
                }
                self.say(
                    Level::Info,
                    "probing the default gateways (ARP/NDP, up to 5 s)…",
                );
                return vec![Effect::Probe];
            }
            KeyCode::Char('?') => {
                self.overlay = Some(Overlay::Help);
                self.help_scroll = 0;
            }
            KeyCode::Char('o') => return self.open_viewer(),
            KeyCode::Char('/') => {
                self.focus = Focus::Routes;
                self.route_typing = Some(self.route_filter.clone().unwrap_or_default());
            }
            KeyCode::Char(c @ ('4' | '6')) => {
                let family = if c == '4' { "4" } else { "6" };
                self.route_family = if self.route_family == Some(family) {
                    None
                } else {
                    Some(family)
                };
                self.scroll.routes = 0;
            }
            KeyCode::Char('d') => {
                // Only the default routes, or all again.
                self.route_defaults = !self.route_defaults;
                self.focus = Focus::Routes;
                self.scroll.routes = 0;
            }
            KeyCode::Char('x') => match self.running {
                Some(_) => self.overlay = Some(Overlay::ConfirmStop),
                None => self.say(Level::Info, "nothing is running"),
            },
            KeyCode::Char('f') => match self.picked_fix() {
                Some((line, index)) => {
                    self.select(index);
                    self.focus = Focus::Commands;
                    let effects = self.ask_to_run();
                    if self.overlay == Some(Overlay::Confirm(index)) {
                        let key = self.net.findings.iter().find(|f| f.line == line);
                        self.fixing = key.map(|f| (index, f.key.clone()));
                    }
                    return effects;
                }
                None => self.say(Level::Info, "no finding has a configured fix"),
            },
            KeyCode::Char(c @ ('[' | ']')) => {
                let n = self.fixes().len();
                if n > 1 {
                    let at = self.fix_pick.min(n - 1);
                    self.fix_pick = if c == ']' {
                        (at + 1) % n
                    } else {
                        (at + n - 1) % n
                    };
                } else {
                    self.say(Level::Info, "no other fix to pick");
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_run(&mut self, index: usize, msg: RunMsg) -> Vec<Effect> {
        let Some(cmd) = self.commands.get_mut(index) else {
            return Vec::new();
        };
        match msg {
            RunMsg::Started(at) => {
                self.running_since = Some(at);
                self.clock = Some(at);
                Vec::new()
            }
            RunMsg::LogFile(path) => {
                cmd.log_file = Some(path.clone());
                // A viewer open on it reads the whole output now.
                if self.viewer.as_ref().is_some_and(|v| v.index == index)
                    && self.running != Some(index)
                {
                    return vec![Effect::LoadOutput(index, path)];
                }
                Vec::new()
            }
            RunMsg::Busy(who) => {
                self.fixing = None;
                // Nothing ran: the command is as it was, and the footer says
                // who holds the lock.
                if let Some((state, last, output)) = self.before_run.take() {
                    cmd.state = state;
                    cmd.last_duration = last;
                    cmd.output = output;
                }
                let text = format!("{} not run: {who}", cmd.name);
                self.say(Level::Error, text);
                if self.running == Some(index) {
                    self.running = None;
                    self.running_since = None;
                }
                Vec::new()
            }
            RunMsg::Line { stream, text } => {
                let text = match super::display::after_carriage_returns(&text) {
                    std::borrow::Cow::Borrowed(_) => text,
                    std::borrow::Cow::Owned(t) => t,
                };
                cmd.output.push(OutLine { stream, text });
                // Keep a reader who scrolled back at the same lines.
                if self.scroll.output_back > 0 && index == self.selected {
                    self.scroll.output_back += 1;
                }
                Vec::new()
            }
            RunMsg::Finished { state, duration } => {
                cmd.state = state;
                cmd.last_duration = Some(duration);
                cmd.past = self.wall.map(|when| super::history::Past {
                    state,
                    when,
                    source: super::history::DASHBOARD.to_string(),
                    duration,
                    output: None,
                    detail: None,
                });
                cmd.output.push(OutLine {
                    stream: OutStream::Info,
                    text: format!(
                        "{} in {}",
                        state.label(),
                        super::display::format_duration(duration)
                    ),
                });
                let text = format!(
                    "{}: {} in {}",
                    cmd.name,
                    state.label(),
                    super::display::format_duration(duration)
                );
                let level = match state {
                    CmdState::Ok | CmdState::Skipped => Level::Info,
                    _ => Level::Error,
                };
                self.say(level, text.clone());
                // A fix: the next read says whether its finding cleared.
                if let Some((i, key)) = self.fixing.take() {
                    if i == index {
                        self.fix_done = Some((text, key));
                    }
                }
                self.before_run = None;
                if self.running == Some(index) {
                    self.running = None;
                    self.running_since = None;
                }
                // The command may have changed the network in ways netlink
                // does not announce (sysctls); one read settles it.
                self.request_read()
            }
        }
    }
}

/// `04:19:19`: a wall-clock time of day, UTC (as the run log's times).
pub fn clock_time(t: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(t).to_string();
    text.get(11..19).unwrap_or(&text).to_string()
}

/// Apply one event to the state and say what the loop must do next.
pub fn update(app: &mut App, event: Event) -> Vec<Effect> {
    let net_event = matches!(event, Event::Net(_) | Event::Snapshot(_));
    let before = net_event.then(|| super::views::banner_need(app, app.size.0));
    let effects = update_inner(app, event);
    // Hold the banner's rows when it shrank; let the hold go after a while.
    if let Some(wall) = app.wall {
        if let Some(before) = before {
            let now = super::views::banner_need(app, app.size.0);
            if now.wrapped < before.wrapped || now.tight < before.tight {
                app.banner_hold = Some((before, app.size.0, wall));
            }
        }
        if app
            .banner_hold
            .is_some_and(|(_, _, at)| wall.duration_since(at).unwrap_or_default() >= BANNER_HOLD)
        {
            app.banner_hold = None;
        }
    }
    effects
}

fn update_inner(app: &mut App, event: Event) -> Vec<Effect> {
    match event {
        Event::Key(key) => app.on_key(key),
        Event::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Event::Net(change) => app.on_net_change(&change),
        Event::NetEnded => {
            app.live = false;
            app.say(Level::Warn, LIVE_STOPPED);
            Vec::new()
        }
        // The first read, under way: interfaces now, routes when all are
        // read (the read is still in flight for `reads`).
        Event::Snapshot(Ok(snapshot)) if snapshot.reading_routes.is_some() => {
            app.net = reading_view(&snapshot);
            Vec::new()
        }
        Event::Snapshot(result) => {
            match result {
                Ok(snapshot) => {
                    app.set_snapshot(snapshot);
                    app.say_if_fixed();
                    app.net_error = None;
                    app.updated = app.wall;
                    if app.message_text() == Some("refreshing") {
                        // `r` is answered: when the view was read.
                        let at = app.wall.map(clock_time).unwrap_or_default();
                        app.say(Level::Info, format!("re-read at {at}"));
                        // Still true after the refresh: keep saying it.
                        if !app.live {
                            app.say(Level::Warn, LIVE_STOPPED);
                        }
                    }
                }
                Err(e) => {
                    // What changed since the last good read is unknown.
                    app.snapshot = None;
                    app.net_error = Some(e);
                    // The first read failed half-way: no longer reading.
                    if app.net.reading.take().is_some() {
                        app.net.banner.clear();
                    }
                }
            }
            if app.reads.done() {
                vec![Effect::ReadSnapshot]
            } else {
                Vec::new()
            }
        }
        Event::Ensure { state, now } => {
            app.wall = Some(now);
            // Matched by name: ensure keeps the commands of the same config.
            for row in &mut app.commands {
                row.kept = state
                    .as_ref()
                    .and_then(|s| s.command(&row.name))
                    .map(|c| kept(c, now));
            }
            Vec::new()
        }
        Event::Values { index, values } => {
            if app.overlay == Some(Overlay::Confirm(index)) {
                app.confirm_values = Some((index, values));
            }
            Vec::new()
        }
        Event::RunLog { result, now } => {
            app.set_run_log(result, now);
            Vec::new()
        }
        Event::Run { index, msg } => app.on_run(index, msg),
        Event::OutputLoaded { index, result } => {
            if let Some(v) = app.viewer.as_mut().filter(|v| v.index == index) {
                match result {
                    Ok(loaded) => v.loaded = Some(loaded),
                    Err(e) => v.note = Some(e),
                }
            }
            Vec::new()
        }
        Event::Tick(now, wall) => {
            app.clock = Some(now);
            app.wall = Some(wall);
            app.fresh
                .retain(|(_, at)| wall.duration_since(*at).unwrap_or_default() < FRESH_FOR);
            Vec::new()
        }
        Event::Terminate => app.quit(),
    }
}
