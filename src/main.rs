//! `inject`: command-line parsing and dispatch only. Each subcommand lives in
//! its own module, which calls into `inject-errands` or `inject-ui` and maps
//! the result to an exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod ensure;
mod fleet;
mod run;
mod run_summary;
mod status;
mod tui;

/// Run the commands operators need on BOSH VMs, safely, and see whether
/// each VM's network is whole.
#[derive(Parser)]
#[command(name = "inject", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the configured commands of a phase, in order (the errand).
    Run(run::RunArgs),
    /// Validate the config and print a one-line summary per command.
    Check(check::CheckArgs),
    /// Show interfaces, addresses and routes of both families, and what is wrong.
    Status(status::StatusArgs),
    /// Open the live dashboard (also started as `inject-tui`).
    Tui(tui::TuiArgs),
    /// Keep the commands tagged `ensure` true, across reboots and drift.
    Ensure(ensure::EnsureArgs),
    /// One table for a deployment from `bosh run-errand … --json` (or `bosh task N --result`, `bosh ssh -r --json`).
    Fleet(fleet::FleetArgs),
    /// Print the JSON Schema of the BOSH job's properties (properties_schema.json).
    Schema,
}

fn main() -> ExitCode {
    // Started through a link named `inject-tui`: open the dashboard directly.
    if tui::started_as_tui() {
        return tui::main_as_tui();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version on stdout with exit 0, usage errors on
            // stderr; usage errors are exit code 2 like config errors.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Cmd::Run(args) => run::main(args),
        Cmd::Check(args) => check::main(args),
        Cmd::Status(args) => status::main(args),
        Cmd::Tui(args) => tui::main(args),
        Cmd::Ensure(args) => ensure::main(args),
        Cmd::Fleet(args) => fleet::main(args),
        Cmd::Schema => print_schema(),
    }
}

/// The schema, generated from the config types: what
/// bosh-release/jobs/inject-commands/properties_schema.json holds.
fn print_schema() -> ExitCode {
    use std::io::Write;
    let schema = inject_errands::config::properties_schema();
    let text = serde_json::to_string_pretty(&schema).expect("a JSON value serializes");
    match writeln!(std::io::stdout().lock(), "{text}") {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) is no error of ours.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("inject: {err}");
            ExitCode::from(1)
        }
    }
}
