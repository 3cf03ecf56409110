//! `inject fleet`: one answer for a whole deployment from what BOSH gives
//! back (`bosh run-errand … --json`, `bosh task N --result`, `bosh ssh -r
//! --json -c '… inject status --json'`): a row per instance, failures
//! first and grouped by shared problem, and a totals line. Exit codes: 0,
//! 1 with `--strict` when an instance is not ok, 2 unreadable input.

mod input;
mod report;
mod table;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use inject_ui::net::text::use_color;

#[derive(clap::Args)]
pub struct FleetArgs {
    /// Files holding BOSH's output [default: stdin].
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print JSON instead of the table (schema in the README).
    #[arg(long)]
    json: bool,
    /// Exit 1 when any instance is not ok (a failed command or errand,
    /// an error finding, no summary).
    #[arg(long)]
    strict: bool,
    /// Show only these rows: `failed` leaves out the instances that are ok
    /// (the totals still count them).
    #[arg(long, value_name = "WHICH", value_parser = ["failed"])]
    only: Option<String>,
}

pub fn main(args: FleetArgs) -> ExitCode {
    let mut rows = Vec::new();
    let inputs: Vec<Option<PathBuf>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files.iter().cloned().map(Some).collect()
    };
    for path in inputs {
        let (origin, bytes) = match read(path.as_ref()) {
            Ok(read) => read,
            Err(err) => {
                eprintln!("inject fleet: {err}");
                return ExitCode::from(2);
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                eprintln!(
                    "inject fleet: {origin}: not UTF-8 text at byte {}; BOSH's JSON is UTF-8",
                    e.valid_up_to()
                );
                return ExitCode::from(2);
            }
        };
        match input::parse(text, &origin) {
            Ok(found) => rows.extend(found),
            Err(err) => {
                eprintln!("inject fleet: {err}");
                return ExitCode::from(2);
            }
        }
        // The input's bytes go before the next file is read.
        drop(bytes);
    }
    let fleet = report::Fleet::new(rows.into_iter().map(report::judge).collect());
    let text = if args.json {
        let mut json = serde_json::to_string(&fleet).expect("the report serializes");
        json.push('\n');
        json
    } else {
        let color = use_color();
        table::render(&fleet, color, args.only.is_some())
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("inject fleet: cannot write the output: {e}");
            return ExitCode::from(2);
        }
    }
    if args.strict && fleet.ok < fleet.total {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn read(path: Option<&PathBuf>) -> Result<(String, Vec<u8>), String> {
    let mut bytes = Vec::new();
    match path {
        None => {
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("stdin: {e}"))?;
            Ok(("stdin".into(), bytes))
        }
        Some(path) => {
            let origin = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|e| format!("{origin}: {e}"))?;
            Ok((origin, bytes))
        }
    }
}
