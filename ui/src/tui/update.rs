//! `update`: the only place that changes [`App`]. It is pure — it returns
//! the effects (read a snapshot, run a command) for the event loop to carry
//! out; quitting is `app.quit`, which the loop checks after every event.
//! Keys are handled here; the network (`net_updates.rs`), a run's progress
//! (`run_progress.rs`) and the run log (`history_rows.rs`) in their files.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;

use super::app::{
    App, Effect, Focus, Level, Overlay, BANNER_HOLD, ESC_SAYS, FRESH_FOR, NEEDS_ROOT,
};
use super::display::OutLine;
use super::event::Event;
use super::keys::{self, Action, Mode};
use super::layout::inner_rows;
use super::route_filter::RouteFilter;
use super::rows::kept;

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
        Event::Net(changes) => app.on_net_changes(&changes),
        Event::NetEnded => app.on_net_ended(),
        Event::Snapshot(result) => app.on_snapshot(result),
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

impl App {
    /// The mode keys go to now (the window open, else the focused panel).
    pub fn mode(&self) -> Mode {
        Mode::of(
            self.overlay,
            self.viewer.is_some(),
            self.route_filter.typing.is_some(),
            self.focus,
        )
    }

    /// A key: its action from the key table ([`keys::action`]), carried
    /// out for the mode it came in.
    pub(crate) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mode = self.mode();
        match keys::action(mode, key) {
            Some(action) => self.act(mode, action, key),
            None => Vec::new(),
        }
    }

    fn act(&mut self, mode: Mode, action: Action, key: KeyEvent) -> Vec<Effect> {
        match (mode, action) {
            (_, Action::Redraw) => return vec![Effect::Redraw],
            // A second Ctrl-C at the question means it.
            (Mode::ConfirmQuit, Action::Interrupt) => return self.quit(),
            (_, Action::Interrupt) | (_, Action::Quit) => return self.ask_to_quit(),
            (Mode::ConfirmStop, Action::Yes) => {
                self.overlay = None;
                if let Some(i) = self.running_index() {
                    let text = format!("stopping {}…", self.commands[i].name);
                    self.say(Level::Warn, text);
                    return vec![Effect::Stop];
                }
            }
            (Mode::ConfirmQuit, Action::Yes) => return self.quit(),
            (Mode::Confirm, Action::Yes) => {
                if let Some(Overlay::Confirm(index)) = self.overlay {
                    return self.start(index);
                }
            }
            (Mode::Confirm, Action::No) => {
                self.overlay = None;
                self.fix.under_way = None;
                self.say(Level::Info, "cancelled: nothing was run");
            }
            (_, Action::No) | (_, Action::Close) => self.overlay = None,
            (Mode::Help, Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
                self.scroll_help(action)
            }
            (Mode::Plan, Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
                self.scroll_plan(action)
            }
            (_, Action::ToViewer) => return self.on_key_viewer(key),
            (_, Action::Type | Action::Erase | Action::KeepFilter | Action::DropFilter) => {
                self.type_filter(action, key)
            }
            (_, action) => return self.act_main(action),
        }
        Vec::new()
    }

    /// Help: ↑ ↓ one line, PgUp PgDn ten; the view clamps to the last
    /// full page.
    fn scroll_help(&mut self, action: Action) {
        let max = super::views::help::BINDINGS.len() + 2;
        self.help_scroll = match action {
            Action::Down => (self.help_scroll + 1).min(max),
            Action::PageDown => (self.help_scroll + 10).min(max),
            Action::Up => self.help_scroll.saturating_sub(1),
            _ => self.help_scroll.saturating_sub(10),
        };
    }

    /// The plan window: ↑ ↓ one line, PgUp PgDn ten.
    fn scroll_plan(&mut self, action: Action) {
        let Some(Overlay::Plan { index, scroll }) = self.overlay else {
            return;
        };
        let len = self.commands.get(index).map_or(0, |c| c.plan.len());
        let scroll = match action {
            Action::Down => (scroll + 1).min(len.saturating_sub(1)),
            Action::PageDown => (scroll + 10).min(len.saturating_sub(1)),
            Action::Up => scroll.saturating_sub(1),
            _ => scroll.saturating_sub(10),
        };
        self.overlay = Some(Overlay::Plan { index, scroll });
    }

    /// The routes filter being typed: it filters as it is typed; Enter
    /// keeps it, Esc clears it.
    fn type_filter(&mut self, action: Action, key: KeyEvent) {
        let Some(typed) = self.route_filter.typing.as_mut() else {
            return;
        };
        match (action, key.code) {
            (Action::Type, KeyCode::Char(c)) => typed.push(c),
            (Action::Erase, _) => {
                typed.pop();
            }
            (Action::KeepFilter, _) => self.route_filter.typing = None,
            (Action::DropFilter, _) => {
                self.route_filter.typing = None;
                self.route_filter.text = None;
            }
            _ => {}
        }
        if let Some(typed) = &self.route_filter.typing {
            self.route_filter.text = Some(typed.clone()).filter(|t| !t.is_empty());
        }
        self.scroll.routes = 0;
    }

    /// An action on the main screen.
    fn act_main(&mut self, action: Action) -> Vec<Effect> {
        match action {
            // Esc clears the routes' filters first; with none it only says
            // how to quit: an Esc pressed once too often (a double Esc)
            // never quits.
            Action::ClearFilters if self.route_filter.narrows() => {
                self.route_filter = RouteFilter::default();
                self.scroll.routes = 0;
                self.say(Level::Info, "routes: filters cleared");
            }
            Action::ClearFilters => self.say(Level::Info, ESC_SAYS),
            // Arrows move in the focused panel: the selection in the commands,
            // one line in the others (the output goes back in time with ↑).
            Action::Up => self.step_focused(false),
            Action::Down => self.step_focused(true),
            Action::Run => return self.ask_to_run(),
            Action::Plan => match self.commands.get(self.selected) {
                Some(_) => {
                    self.overlay = Some(Overlay::Plan {
                        index: self.selected,
                        scroll: 0,
                    })
                }
                None => self.say(Level::Warn, "no commands are configured"),
            },
            Action::FocusNext => self.focus = self.focus.step(1),
            Action::FocusPrev => self.focus = self.focus.step(-1),
            Action::PageDown => self.scroll_focused(true),
            Action::PageUp => self.scroll_focused(false),
            Action::Refresh => {
                self.say(Level::Info, "refreshing");
                return self.request_read();
            }
            Action::Probe => {
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
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                self.help_scroll = 0;
            }
            Action::OpenOutput => return self.open_viewer(),
            Action::Filter => {
                self.focus = Focus::Routes;
                self.route_filter.typing = Some(self.route_filter.text.clone().unwrap_or_default());
            }
            Action::Family(family) => {
                self.route_filter.family = if self.route_filter.family == Some(family) {
                    None
                } else {
                    Some(family)
                };
                self.scroll.routes = 0;
            }
            Action::Defaults => {
                // Only the default routes, or all again.
                self.route_filter.defaults = !self.route_filter.defaults;
                self.focus = Focus::Routes;
                self.scroll.routes = 0;
            }
            Action::Stop => match self.running_index() {
                Some(_) => self.overlay = Some(Overlay::ConfirmStop),
                None => self.say(Level::Info, "nothing is running"),
            },
            Action::Fix => match self.picked_fix() {
                Some((line, index)) => {
                    self.select(index);
                    self.focus = Focus::Commands;
                    let effects = self.ask_to_run();
                    if self.overlay == Some(Overlay::Confirm(index)) {
                        let key = self.net.findings.iter().find(|f| f.line == line);
                        self.fix.under_way = key.map(|f| (index, f.key.clone()));
                    }
                    return effects;
                }
                None => self.say(Level::Info, "no finding has a configured fix"),
            },
            Action::PrevFix | Action::NextFix => {
                let n = self.fixes().len();
                if n > 1 {
                    let at = self.fix.pick.min(n - 1);
                    self.fix.pick = if action == Action::NextFix {
                        (at + 1) % n
                    } else {
                        (at + n - 1) % n
                    };
                } else {
                    self.say(Level::Info, "no other fix to pick");
                }
            }
            // The others belong to windows; none reaches here from one.
            _ => {}
        }
        Vec::new()
    }

    pub(crate) fn on_key_viewer(&mut self, key: KeyEvent) -> Vec<Effect> {
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
        if outcome == super::viewer_state::Outcome::Stay {
            self.viewer = Some(v);
        }
        Vec::new()
    }

    /// `o`: the selected command's output, full screen; its whole output
    /// file when the run log has one and it is not running.
    pub(crate) fn open_viewer(&mut self) -> Vec<Effect> {
        let Some(cmd) = self.commands.get(self.selected) else {
            self.say(Level::Warn, "no commands are configured");
            return Vec::new();
        };
        self.viewer = Some(super::viewer_state::Viewer::new(self.selected));
        match (&cmd.log_file, self.is_running(self.selected)) {
            (Some(path), false) => vec![Effect::LoadOutput(self.selected, path.clone())],
            _ => Vec::new(),
        }
    }

    /// `q` or Ctrl-C: quit, but ask first while a command runs (quitting
    /// stops it).
    pub(crate) fn ask_to_quit(&mut self) -> Vec<Effect> {
        if self.running.is_some() {
            self.overlay = Some(Overlay::ConfirmQuit);
            Vec::new()
        } else {
            self.quit()
        }
    }

    /// Enter on the selected command: confirmation (and the values it
    /// would get, worked out now), or why not.
    pub(crate) fn ask_to_run(&mut self) -> Vec<Effect> {
        if self.commands.get(self.selected).is_none() {
            self.say(Level::Warn, "no commands are configured");
        } else if let Some(r) = self.running_index() {
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

    pub(crate) fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        Vec::new()
    }

    pub(crate) fn select(&mut self, index: usize) {
        if self.commands.is_empty() {
            return;
        }
        let index = index.min(self.commands.len() - 1);
        if index != self.selected {
            self.selected = index;
            self.scroll.output_back = 0;
        }
    }

    pub(crate) fn panels(&self) -> Option<super::layout::Areas> {
        super::views::layout(self, Rect::new(0, 0, self.size.0, self.size.1))
    }

    /// Rows one PgUp/PgDn moves in the focused panel.
    pub(crate) fn page(&self) -> usize {
        let rows = self.panels().map_or(1, |a| match self.focus {
            Focus::Interfaces => a.interfaces.map_or(1, |r| inner_rows(r, true)),
            Focus::Routes => a.routes.map_or(1, |r| inner_rows(r, false)),
            Focus::Commands => a.commands.map_or(1, |r| inner_rows(r, true)),
            Focus::Output => a.output.map_or(1, |r| inner_rows(r, false)),
        });
        rows.max(1)
    }

    pub(crate) fn scroll_focused(&mut self, down: bool) {
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

    pub(crate) fn step_focused(&mut self, down: bool) {
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
}
