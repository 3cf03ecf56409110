//! `inject run`: load the config, select the phase's commands, then print the
//! plan (`--dry-run`) or run it, mapping the result to an exit code:
//! 0 ok/skipped, 1 a command failed or timed out (or another run holds the
//! lock), 2 usage or config error (nothing ran), 3 the commands succeeded
//! but a `fail_on_findings` finding remains, 129/130/143 interrupted
//! (SIGHUP/SIGINT/SIGTERM). A run ends with its summary line.

use std::path::PathBuf;
use std::process::ExitCode;

use inject_errands::config::{self, Config, Phase};
use inject_errands::event::Event;
use inject_errands::runlog::{self, RunLog};
use inject_errands::{agent, plan, runner, CancellationToken};
use tokio::signal::unix::{signal, SignalKind};

#[path = "output.rs"]
mod output;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Config file [default: $INJECT_CONFIG, else /var/vcap/jobs/inject-commands/config/commands.yml]
    #[arg(short, long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print what would run, in order, and execute nothing (as `dry_run: true` in the config does).
    #[arg(long)]
    dry_run: bool,
    /// Run the commands tagged with this phase: errand, pre-start, post-start, post-deploy, pre-stop, drain, post-stop, ensure.
    #[arg(long, value_name = "PHASE", default_value = "errand", value_parser = parse_phase)]
    phase: Phase,
    /// Run only the named command (repeatable); config order is kept.
    #[arg(long = "only", value_name = "NAME")]
    only: Vec<String>,
    /// Keep the run log here [default: $INJECT_LOG_DIR, else /var/vcap/sys/log/inject-commands on a BOSH VM, else none]
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Print events as JSON lines instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_phase(text: &str) -> Result<Phase, String> {
    text.parse()
}

pub fn main(args: RunArgs) -> ExitCode {
    let path = config::resolve_path(args.config.clone());
    let config = match inject_ui::net::locate::load(&path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("inject: {err}");
            return ExitCode::from(2);
        }
    };
    let selected = match plan::select(&config, args.phase, &args.only) {
        Ok(selected) => selected,
        Err(err) => {
            eprintln!("inject: {err}");
            return ExitCode::from(2);
        }
    };
    if args.dry_run || config.dry_run {
        return output::ended(print_plan(&config, args.phase, &selected, args.json));
    }
    // Every user and cwd before the first command: a typo in the last one
    // must not leave the first ones applied.
    let prepared = match runner::prepare(&config, &selected) {
        Ok(prepared) => prepared,
        Err(err) => {
            eprintln!("inject: {}: {err}; nothing was run", path.display());
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("inject: cannot start: {err}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(&config, &prepared, &args))
}

async fn run(config: &Config, selected: &[runner::Prepared<'_>], args: &RunArgs) -> ExitCode {
    // Handlers first: from here on SIGTERM/SIGINT/SIGHUP end the run
    // cleanly (SIGHUP: the terminal of a `bosh ssh` session went away).
    let (mut term, mut int, mut hup) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(term), Ok(int), Ok(hup)) => (term, int, hup),
        (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => {
            eprintln!("inject: cannot handle signals: {err}");
            return ExitCode::from(1);
        }
    };
    let mut log = match runlog::resolve_dir(args.log_dir.clone()) {
        Some(dir) => match RunLog::open(&dir, args.phase) {
            Ok(log) => Some(log),
            Err(err) => {
                eprintln!("inject: {err}");
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    let as_json = args.json;
    let color = output::use_color();
    // Stdout, not its lock: the sink must be Send. Each line takes the lock.
    let mut printer = if as_json {
        output::Printer::Json(output::JsonPrinter::new(std::io::stdout()))
    } else {
        output::Printer::Text(output::TextPrinter::new(
            std::io::stdout(),
            std::io::stderr(),
            color,
        ))
    };
    // What is printed stays inside the BOSH agent's reply (see agent.rs).
    let style = (!as_json).then_some(output::Style {
        color,
        total: selected.len(),
    });
    let cost = move |event: &Event| output::cost(style, event);
    // The summary line's room is kept back from the start.
    let limit = agent::PRINT_BUDGET - inject_errands::summary::RESERVE;
    let mut budget = runner::PrintBudget::new(limit, &cost);
    if let Some(notice) = log.as_mut().and_then(RunLog::take_notice) {
        eprintln!("inject: {notice}");
    }
    let log_note = log.as_ref().filter(|l| l.is_writing()).map(|l| {
        format!(
            "run log: {} (output in {})",
            l.events_path().display(),
            l.run_dir().display()
        )
    });

    let cancel = CancellationToken::new();
    let mut results = crate::run_summary::Collector::default();
    let mut sink = |event: Event| {
        results.observe(&event);
        printer.print(&event);
    };
    let mut signalled: Option<u8> = None;
    let summary = {
        let run = runner::run_plan(
            config,
            selected,
            args.phase,
            log.as_mut(),
            &cancel,
            &mut sink,
            &mut budget,
        );
        tokio::pin!(run);
        loop {
            tokio::select! {
                summary = &mut run => break summary,
                _ = term.recv(), if signalled.is_none() => {
                    signalled = Some(143);
                    cancel.cancel();
                }
                _ = int.recv(), if signalled.is_none() => {
                    signalled = Some(130);
                    cancel.cancel();
                }
                _ = hup.recv(), if signalled.is_none() => {
                    signalled = Some(129);
                    cancel.cancel();
                }
            }
        }
    };
    if let (Some(note), output::Printer::Text(text)) = (log_note, &mut printer) {
        text.note(&note);
    }
    let findings_exit = results.finish(config, args.phase, &summary, as_json);
    if let Some(code) = signalled {
        return ExitCode::from(code);
    }
    if summary.failed + summary.timed_out > 0 {
        ExitCode::from(1)
    } else {
        findings_exit.map_or(ExitCode::SUCCESS, ExitCode::from)
    }
}

/// The dry run's plan on stdout; an error when stdout is gone.
fn print_plan(
    config: &Config,
    phase: Phase,
    selected: &[&config::CommandSpec],
    json: bool,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let total = selected.len();
    if !json {
        writeln!(out, "{}", plan::headline(config, phase, total))?;
    }
    for (i, command) in selected.iter().enumerate() {
        if json {
            let planned = plan::describe_json(config, command, phase, i + 1, total);
            writeln!(out, "{planned}")?;
        } else {
            for line in plan::describe(config, command, phase, i + 1, total) {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()
}
