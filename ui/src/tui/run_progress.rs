//! A command run from the dashboard: started after its confirmation, its
//! progress from the runner (started, log file, lines, lock held
//! elsewhere, finished), and what the footer says of it. Part of `update`.

use super::app::{App, Effect, Level, Running};
use super::display::{CmdState, OutLine, OutStream};
use super::event::RunMsg;

impl App {
    /// `y` at the confirmation: the command at `index` runs (its last
    /// state and output kept aside in case nothing runs).
    pub(crate) fn start(&mut self, index: usize) -> Vec<Effect> {
        self.overlay = None;
        if self.running.is_some() {
            return Vec::new();
        }
        let Some(cmd) = self.commands.get_mut(index) else {
            return Vec::new();
        };
        let before = (
            cmd.state,
            cmd.last_duration,
            std::mem::take(&mut cmd.output),
        );
        cmd.state = CmdState::Running;
        // The viewer follows the new run's lines, not the last run's file.
        if let Some(v) = self.viewer.as_mut().filter(|v| v.index == index) {
            v.loaded = None;
        }
        let text = format!("running {}", cmd.name);
        self.running = Some(Running {
            index,
            since: None,
            before,
        });
        self.scroll.output_back = 0;
        self.say(Level::Info, text);
        vec![Effect::Run(index)]
    }

    /// News of the run of the command at `index` from the runner.
    pub(crate) fn on_run(&mut self, index: usize, msg: RunMsg) -> Vec<Effect> {
        let Some(cmd) = self.commands.get_mut(index) else {
            return Vec::new();
        };
        match msg {
            RunMsg::Started(at) => {
                if let Some(r) = self.running.as_mut() {
                    r.since = Some(at);
                }
                self.clock = Some(at);
                Vec::new()
            }
            RunMsg::LogFile(path) => {
                cmd.log_file = Some(path.clone());
                // A viewer open on it reads the whole output now.
                if self.viewer.as_ref().is_some_and(|v| v.index == index) && !self.is_running(index)
                {
                    return vec![Effect::LoadOutput(index, path)];
                }
                Vec::new()
            }
            RunMsg::Busy(who) => {
                self.fix.under_way = None;
                // Nothing ran: the command is as it was, and the footer says
                // who holds the lock.
                if let Some(r) = self.running.take_if(|r| r.index == index) {
                    let (state, last, output) = r.before;
                    cmd.state = state;
                    cmd.last_duration = last;
                    cmd.output = output;
                }
                let text = format!("{} not run: {who}", cmd.name);
                self.say(Level::Error, text);
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
                if let Some((i, key)) = self.fix.under_way.take() {
                    if i == index {
                        self.fix.done = Some((text, key));
                    }
                }
                self.running.take_if(|r| r.index == index);
                // The command may have changed the network in ways netlink
                // does not announce (sysctls); one read settles it.
                self.request_read()
            }
        }
    }
}
