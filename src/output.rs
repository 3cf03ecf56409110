//! How `inject run` prints events: readable text (colours only on a TTY and
//! without NO_COLOR) or one JSON line each. Once stdout is gone (a closed
//! pipe, `| head -1`) the printer goes quiet: the run itself, and its log,
//! must go on.

use std::io::{self, Write};
use std::process::ExitCode;

use inject_errands::config::format_size;
use inject_errands::event::{format_duration, Event, Outcome, Stream};
use inject_errands::runner::RUN_OUTPUT_BUDGET;

/// One colour rule for every subcommand: a terminal, and no NO_COLOR.
pub use inject_ui::net::text::use_color;

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
    pub fn print(&mut self, event: &Event) {
        match self {
            Printer::Text(p) => p.print(event),
            Printer::Json(p) => p.print(event),
        }
    }
}

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// Prints events as text for people (and BOSH's errand output).
pub struct TextPrinter<W: Write, E: Write> {
    out: Quiet<W>,
    err: E,
    color: bool,
    total: usize,
}

impl<W: Write, E: Write> TextPrinter<W, E> {
    pub fn new(out: W, err: E, color: bool) -> Self {
        TextPrinter {
            out: Quiet { out, gone: false },
            err,
            color,
            total: 0,
        }
    }

    fn paint(&self, color: &str, text: &str) -> String {
        if self.color {
            format!("{color}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn header(&mut self, index: usize, name: &str) {
        let line = self.paint(BOLD, &format!("[{index}/{}] {name}", self.total));
        self.out.line(&line);
    }

    pub fn print(&mut self, event: &Event) {
        match event {
            Event::RunStarted { total, .. } => self.total = *total,
            Event::Started {
                index,
                total,
                name,
                attempt,
            } => {
                self.total = *total;
                if *attempt == 1 {
                    self.header(*index, name);
                }
            }
            Event::Output {
                stream: Stream::Stdout,
                line,
                ..
            } => {
                self.out.line(&format!("  {line}"));
            }
            Event::Output {
                stream: Stream::Stderr,
                line,
                ..
            } => {
                let mark = self.paint(RED, "!");
                self.out.line(&format!("{mark} {line}"));
            }
            Event::OutputCut {
                cut_bytes,
                full_log,
                ..
            } => {
                let place = match full_log {
                    Some(path) => format!("full output: {}", path.display()),
                    None => "no run log kept it (--log-dir DIR keeps all output)".to_string(),
                };
                let line = format!(
                    "  … {} more output not shown (output_limit, or {} for the whole run); {place}",
                    format_size(*cut_bytes),
                    format_size(RUN_OUTPUT_BUDGET)
                );
                let line = self.paint(YELLOW, &line);
                self.out.line(&line);
            }
            Event::Retrying {
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
                let line = self.paint(YELLOW, &text);
                self.out.line(&line);
            }
            Event::Finished {
                index,
                name,
                outcome,
                duration,
                attempts,
            } => {
                if *outcome == Outcome::NotRun {
                    self.header(*index, name);
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
                let line = self.paint(color, &format!("  => {outcome}{took}"));
                self.out.line(&line);
            }
            Event::Notice { message } => {
                let _ = writeln!(self.err, "inject: {message}");
            }
            Event::RunFinished { summary } => {
                let color = if summary.failed + summary.timed_out > 0 || summary.interrupted {
                    RED
                } else {
                    GREEN
                };
                let text = format!("{summary} in {}", format_duration(summary.duration));
                let line = self.paint(color, &text);
                self.out.line(&format!("\n{line}"));
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

    pub fn print(&mut self, event: &Event) {
        self.out.line(&event.to_json());
        self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use inject_errands::event::Summary;

    fn text(events: &[Event]) -> (String, String) {
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
            Event::RunStarted {
                phase: inject_errands::config::Phase::Errand,
                total: 2,
            },
            Event::Started {
                index: 1,
                total: 2,
                name: "route".into(),
                attempt: 1,
            },
            Event::Output {
                index: 1,
                stream: Stream::Stdout,
                line: "hello".into(),
            },
            Event::Output {
                index: 1,
                stream: Stream::Stderr,
                line: "oops".into(),
            },
            Event::Finished {
                index: 1,
                name: "route".into(),
                outcome: Outcome::Failed {
                    exit_code: Some(3),
                    signal: None,
                },
                duration: Duration::from_millis(1200),
                attempts: 1,
            },
            Event::Finished {
                index: 2,
                name: "next".into(),
                outcome: Outcome::NotRun,
                duration: Duration::ZERO,
                attempts: 0,
            },
            Event::Notice {
                message: "log broken".into(),
            },
            Event::RunFinished {
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
    fn colours_only_when_asked() {
        let mut out = Vec::new();
        TextPrinter::new(&mut out, Vec::new(), true).print(&Event::Started {
            index: 1,
            total: 1,
            name: "x".into(),
            attempt: 1,
        });
        assert_eq!(String::from_utf8(out).unwrap(), "\x1b[1m[1/1] x\x1b[0m\n");
    }
}
