//! What the dashboard shows of the run log (`history.rs` reads it): each
//! command's last result, when and by whom, its output, and the runs other
//! processes hold now. Part of `update`: only it calls these (and the
//! wiring, once, at start).

use std::collections::HashMap;
use std::time::SystemTime;

use super::app::{clock_time, App, Level, Message};
use super::display::{CmdState, OutLine, OutStream};
use super::history::{Log, Past};

impl App {
    /// Show each command's last result from the run log (`history`, by
    /// name) as of `now`: its state, when and by whom, and its output.
    pub fn set_history(&mut self, history: HashMap<String, Past>, now: SystemTime) {
        self.wall = Some(now);
        let own = self.running_index();
        for (i, row) in self.commands.iter_mut().enumerate() {
            // This dashboard's own run shows its live output.
            if own == Some(i) {
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
    pub fn set_run_log(&mut self, result: Result<Log, String>, now: SystemTime) {
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
        let own = self.running_index();
        for (i, row) in self.commands.iter_mut().enumerate() {
            if own == Some(i) {
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
}
