//! `inject fleet`: one answer for a whole deployment from what BOSH gives
//! back (`bosh run-errand … --json`, `bosh task N --result`, `bosh ssh -r
//! --json -c '… inject status --json'`): a row per instance, failures
//! first and grouped by shared problem, and a totals line. Exit codes: 0,
//! 1 with `--strict` when an instance is not ok, 2 unreadable input.

mod input;
mod read;
mod report;
mod table;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use inject_net::text::use_color;

#[derive(clap::Args)]
pub struct FleetArgs {
    /// Files holding BOSH's output; `-` is stdin [default: stdin].
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print JSON instead of the table (schema in docs/fleet.md).
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
    // `-` is stdin, as for most tools.
    let inputs: Vec<Option<PathBuf>> = if args.files.is_empty() {
        vec![None]
    } else {
        let stdin = |p: &PathBuf| p.as_os_str() != "-";
        args.files
            .iter()
            .map(|p| Some(p.clone()).filter(stdin))
            .collect()
    };
    for path in inputs {
        match read::rows(path.as_deref()) {
            Ok(found) => rows.extend(found),
            Err(err) => {
                eprintln!("inject: {err}");
                return ExitCode::from(2);
            }
        }
    }
    let rows = once_each(rows);
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
            eprintln!("inject: cannot write the output: {e}");
            return ExitCode::from(2);
        }
    }
    if args.strict && fleet.ok < fleet.total {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One row per instance (`group/id`): an instance given twice, in two
/// inputs or twice in one, keeps its place and the later input's content
/// (a later `bosh task N --result` is the newer run), with a note on
/// stderr naming both places.
fn once_each(rows: Vec<(input::Row, String)>) -> Vec<input::Row> {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(input::Row, String)> = Vec::with_capacity(rows.len());
    for (row, place) in rows {
        match at.get(&row.instance) {
            Some(&i) => {
                eprintln!(
                    "inject: {}: given twice ({}, {place}); the later is shown",
                    table::clean(&row.instance),
                    out[i].1
                );
                out[i] = (row, place);
            }
            None => {
                at.insert(row.instance.clone(), out.len());
                out.push((row, place));
            }
        }
    }
    out.into_iter().map(|(row, _)| row).collect()
}
