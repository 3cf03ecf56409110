//! `inject check`: validate the config and print one line per command;
//! exit 0, or 2 with the error (file:line:column: field: what).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use inject_errands::config;
use inject_errands::run_event::format_duration;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Config file [default: $INJECT_CONFIG, else /var/vcap/jobs/inject-commands/config/commands.yml]
    #[arg(short, long, value_name = "PATH")]
    config: Option<PathBuf>,
}

pub fn main(args: CheckArgs) -> ExitCode {
    let path = config::resolve_path(args.config);
    let config = match config::load(&path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("inject: {err}");
            return ExitCode::from(2);
        }
    };
    for warning in config::warnings(&config) {
        eprintln!("inject: warning: {}: {warning}", path.display());
    }
    let phases_of = |c: &config::CommandSpec| {
        c.phases
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let width = config
        .commands
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let phases_width = config
        .commands
        .iter()
        .map(|c| phases_of(c).len())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for command in &config.commands {
        let guard = match (&command.unless, &command.only_if) {
            (Some(_), Some(_)) => "unless+only_if",
            (Some(_), None) => "unless",
            (None, Some(_)) => "only_if",
            (None, None) => "no guard",
        };
        lines.push(format!(
            "{:<width$}  phases: {:<phases_width$}  guard: {:<14}  timeout: {}",
            command.name,
            phases_of(command),
            guard,
            format_duration(config.timeout_of(command)),
        ));
    }
    // A family with two networks has no INJECT_IPV4_/INJECT_IPV6_ alias:
    // say which names to use instead.
    lines.extend(inject_errands::netenv::notes(&config));
    let n = config.commands.len();
    lines.push(format!(
        "{}: ok, {n} command{}",
        path.display(),
        if n == 1 { "" } else { "s" }
    ));
    let mut out = io::stdout().lock();
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|_| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped early (`| head -1`): the check itself passed.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("inject: cannot write the output: {err}");
            ExitCode::from(1)
        }
    }
}
