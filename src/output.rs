//! How `inject run` prints events: readable text (colours only on a TTY and
//! without NO_COLOR) or one JSON line each. Once stdout is gone (a closed
//! pipe, `| head -1`) the printer goes quiet: the run itself, and its log,
//! must go on.

use std::borrow::Cow;
use std::io::{self, Write};
use std::process::ExitCode;

use inject_errands::agent::{json_len, PRINT_BUDGET};
use inject_errands::config::format_size;
use inject_errands::run_event::{format_duration, Outcome, RunEvent, Stream};

/// One colour rule for every subcommand: a terminal, and no NO_COLOR.
pub use inject_net::text::use_color;

/// The exit of a printout (dry run) that may have lost its reader: a
/// reader that stopped early (`| head -1`) is a normal end, not an error.
pub fn ended(result: io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("inject: cannot write the output: {err}");
            ExitCode::from(1)
        }
    }
}

/// Writes to `out` until a write fails; after that, nothing (the reader
/// has gone, and retrying every line would only fail again).
struct Quiet<W: Write> {
    out: W,
    gone: bool,
}

impl<W: Write> Quiet<W> {
    fn line(&mut self, text: &str) {
        if !self.gone && writeln!(self.out, "{text}").is_err() {
            self.gone = true;
        }
    }

    fn flush(&mut self) {
        if !self.gone && self.out.flush().is_err() {
            self.gone = true;
        }
    }
}

/// The run's printer, text or JSON.
pub enum Printer<W: Write, E: Write> {
    Text(TextPrinter<W, E>),
    Json(JsonPrinter<W>),
}

impl<W: Write, E: Write> Printer<W, E> {
    pub fn print(&mut self, event: &RunEvent) {
        match self {
            Printer::Text(p) => p.print(event),
            Printer::Json(p) => p.print(event),
        }
    }
}

/// What an event prints, counted as the BOSH agent will send it back: every
/// line JSON-encoded by Go's rules ([`json_len`]), its newline as `\n`.
/// The run's [`PrintBudget`](inject_errands::runner::PrintBudget) adds
/// these up, stdout and stderr together, as the agent's reply holds both.
pub fn cost(style: Option<Style>, event: &RunEvent) -> u64 {
    let line = |text: &str| json_len(text.as_bytes()) + 2;
    match style {
        Some(style) => style.render(event).iter().map(|(_, l)| line(l)).sum(),
        None => line(&event.to_json()),
    }
}

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// Where a printed line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    Out,
    Err,
}

/// How text is printed: colours, and the run's number of commands.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub total: usize,
}

impl Style {
    fn paint(&self, color: &str, text: &str) -> String {
        let text = visible(text);
        if self.color {
            format!("{color}{text}{RESET}")
        } else {
            text.into_owned()
        }
    }

    fn header(&self, index: usize, name: &str) -> (To, String) {
        (
            To::Out,
            self.paint(BOLD, &format!("[{index}/{}] {name}", self.total)),
        )
    }

    /// The lines `event` prints, in order (a pure function: the run's budget
    /// counts them before they are printed). All text is passed through
    /// [`visible`]: a command's output must not move the cursor or forge
    /// the lines inject prints.
    pub fn render(&self, event: &RunEvent) -> Vec<(To, String)> {
        match event {
            RunEvent::RunStarted { .. } => vec![],
            RunEvent::Started {
                index,
                name,
                attempt,
                ..
            } => {
                if *attempt == 1 {
                    vec![self.header(*index, name)]
                } else {
                    vec![]
                }
            }
            RunEvent::Output {
                stream: Stream::Stdout,
                line,
                ..
            } => vec![(To::Out, format!("  {}", visible(line)))],
            RunEvent::Output {
                stream: Stream::Stderr,
                line,
                ..
            } => {
                let mark = self.paint(RED, "!");
                vec![(To::Out, format!("{mark} {}", visible(line)))]
            }
            RunEvent::OutputCut {
                cut_bytes,
                retries_not_shown,
                full_log,
                ..
            } => {
                let what = match (*cut_bytes, *retries_not_shown) {
                    (bytes, 0) => format!("{bytes} bytes of output"),
                    (0, retries) => format!("{retries} retry lines"),
                    (bytes, retries) => {
                        format!("{bytes} bytes of output and {retries} retry lines")
                    }
                };
                let place = match full_log {
                    Some(path) => format!("full output in {}", path.display()),
                    None => "no run log kept it (--log-dir DIR keeps all output)".to_string(),
                };
                let text = format!(
                    "  … {what} not shown (output_limit, or {} printed per run for BOSH); {place}",
                    format_size(PRINT_BUDGET)
                );
                vec![(To::Out, self.paint(YELLOW, &text))]
            }
            RunEvent::Retrying {
                attempt,
                outcome,
                delay,
                ..
            } => {
                let text = format!(
                    "  => {outcome}; retrying in {} (attempt {})",
                    format_duration(*delay),
                    attempt + 1
                );
                vec![(To::Out, self.paint(YELLOW, &text))]
            }
            RunEvent::Finished {
                index,
                name,
                outcome,
                duration,
                attempts,
            } => {
                let mut lines = Vec::new();
                if *outcome == Outcome::NotRun {
                    lines.push(self.header(*index, name));
                }
                let color = match outcome {
                    Outcome::Ok => GREEN,
                    Outcome::Skipped { .. } | Outcome::NotRun => YELLOW,
                    _ => RED,
                };
                let took = match (outcome, *attempts) {
                    (Outcome::NotRun, _) => String::new(),
                    (_, 0 | 1) => format!(" ({})", format_duration(*duration)),
                    (_, n) => format!(" ({n} attempts, {})", format_duration(*duration)),
                };
                lines.push((To::Out, self.paint(color, &format!("  => {outcome}{took}"))));
                lines
            }
            RunEvent::Notice { message } => {
                vec![(To::Err, format!("inject: {}", visible(message)))]
            }
            RunEvent::RunFinished { summary } => {
                let color = if summary.failed + summary.timed_out > 0 || summary.interrupted {
                    RED
                } else {
                    GREEN
                };
                let text = format!("{summary} in {}", format_duration(summary.duration));
                vec![
                    (To::Out, String::new()),
                    (To::Out, self.paint(color, &text)),
                ]
            }
        }
    }
}

/// `text` with its control characters made visible, as `cat -v` shows them:
/// `^M` for a carriage return, `^[` for an escape, `^?` for DEL, `M-^[` for
/// the C1 control U+009B. Tabs stay: they only move right on their own line,
/// and commands align columns with them.
pub fn visible(text: &str) -> Cow<'_, str> {
    let hidden = |c: char| c.is_control() && c != '\t';
    if !text.contains(hidden) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !hidden(c) {
            shown.push(c);
            continue;
        }
        let code = c as u32;
        if code >= 0x80 {
            shown.push_str("M-");
        }
        match code & 0x7f {
            0x7f => shown.push_str("^?"),
            low => {
                shown.push('^');
                shown.push(char::from(low as u8 + 0x40));
            }
        }
    }
    Cow::Owned(shown)
}

/// Prints events as text for people (and BOSH's errand output).
pub struct TextPrinter<W: Write, E: Write> {
    out: Quiet<W>,
    err: E,
    style: Style,
}

impl<W: Write, E: Write> TextPrinter<W, E> {
    pub fn new(out: W, err: E, color: bool) -> Self {
        TextPrinter {
            out: Quiet { out, gone: false },
            err,
            style: Style { color, total: 0 },
        }
    }

    pub fn print(&mut self, event: &RunEvent) {
        match event {
            RunEvent::RunStarted { total, .. } | RunEvent::Started { total, .. } => {
                self.style.total = *total;
            }
            _ => {}
        }
        for (to, line) in self.style.render(event) {
            match to {
                To::Out => self.out.line(&line),
                To::Err => {
                    let _ = writeln!(self.err, "{line}");
                }
            }
        }
        self.out.flush();
    }

    /// A line of the CLI's own (not an event), e.g. where the log is.
    pub fn note(&mut self, text: &str) {
        self.out.line(text);
        self.out.flush();
    }
}

/// Prints each event as one JSON line.
pub struct JsonPrinter<W: Write> {
    out: Quiet<W>,
}

impl<W: Write> JsonPrinter<W> {
    pub fn new(out: W) -> Self {
        JsonPrinter {
            out: Quiet { out, gone: false },
        }
    }

    pub fn print(&mut self, event: &RunEvent) {
        self.out.line(&event.to_json());
        self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use inject_errands::run_event::Summary;

    fn text(events: &[RunEvent]) -> (String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        {
            let mut p = TextPrinter::new(&mut out, &mut err, false);
            for e in events {
                p.print(e);
            }
        }
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn text_shows_header_lines_result_and_summary() {
        let (out, err) = text(&[
            RunEvent::RunStarted {
                phase: inject_errands::config::Phase::Errand,
                total: 2,
            },
            RunEvent::Started {
                index: 1,
                total: 2,
                name: "route".into(),
                attempt: 1,
            },
            RunEvent::Output {
                index: 1,
                stream: Stream::Stdout,
                line: "hello".into(),
            },
            RunEvent::Output {
                index: 1,
                stream: Stream::Stderr,
                line: "oops".into(),
            },
            RunEvent::Finished {
                index: 1,
                name: "route".into(),
                outcome: Outcome::Failed {
                    exit_code: Some(3),
                    signal: None,
                },
                duration: Duration::from_millis(1200),
                attempts: 1,
            },
            RunEvent::Finished {
                index: 2,
                name: "next".into(),
                outcome: Outcome::NotRun,
                duration: Duration::ZERO,
                attempts: 0,
            },
            RunEvent::Notice {
                message: "log broken".into(),
            },
            RunEvent::RunFinished {
                summary: Summary {
                    total: 2,
                    failed: 1,
                    not_run: 1,
                    duration: Duration::from_secs(2),
                    ..Summary::default()
                },
            },
        ]);
        assert_eq!(
            out,
            "[1/2] route\n  hello\n! oops\n  => FAILED exit 3 (1.2s)\n[2/2] next\n  => not run\n\n\
             2 commands: 0 ok, 0 skipped, 1 failed, 1 not run in 2s\n"
        );
        assert_eq!(err, "inject: log broken\n");
    }

    #[test]
    fn cost_is_every_printed_line_as_go_encodes_it() {
        let style = Some(Style {
            color: false,
            total: 1,
        });
        let output = RunEvent::Output {
            index: 1,
            stream: Stream::Stdout,
            line: "a<b".into(),
        };
        // `  a<b` and its newline: 2 + 1 + 6 + 1, then `\n`.
        assert_eq!(cost(style, &output), 12);
        let summary = RunEvent::RunFinished {
            summary: Summary {
                total: 1,
                ok: 1,
                ..Summary::default()
            },
        };
        // An empty line, then `1 command: 1 ok, 0 skipped, 0 failed in 0ms`.
        assert_eq!(cost(style, &summary), 2 + 43 + 2);
        // As a JSON line: its quotes become `\"`.
        let json = output.to_json();
        let quotes = json.matches('"').count() as u64;
        assert_eq!(cost(None, &output), json.len() as u64 + quotes + 5 + 2);
    }

    #[test]
    fn control_characters_are_shown_as_cat_v_does() {
        assert_eq!(visible("plain\ttabbed é"), "plain\ttabbed é");
        assert_eq!(visible("a\rb\x1b[2K\x00\x7f"), "a^Mb^[[2K^@^?");
        assert_eq!(visible("\u{9b}1A\u{85}"), "M-^[1AM-^E");
        // A name or notice is made visible too, before any colour.
        let mut out = Vec::new();
        TextPrinter::new(&mut out, Vec::new(), true).print(&RunEvent::Started {
            index: 1,
            total: 1,
            name: "x\ry".into(),
            attempt: 1,
        });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\x1b[1m[1/1] x^My\x1b[0m\n"
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let mut out = Vec::new();
        TextPrinter::new(&mut out, Vec::new(), true).print(&RunEvent::Started {
            index: 1,
            total: 1,
            name: "x".into(),
            attempt: 1,
        });
        assert_eq!(String::from_utf8(out).unwrap(), "\x1b[1m[1/1] x\x1b[0m\n");
    }
}
