//! `inject run`: load the config, select the phase's commands, then print the
//! plan (`--dry-run`) or run it, mapping the result to an exit code:
//! 0 ok/skipped, 1 a command failed or timed out (or another run holds the
//! lock), 2 usage or config error (nothing ran), 3 the commands succeeded
//! but a `fail_on_findings` finding remains, 129/130/143 interrupted
//! (SIGHUP/SIGINT/SIGTERM). A run ends with its summary line.
//!
//! The errand checks the whole config. A lifecycle hook checks only what
//! concerns its phase's commands (see `config::load_for_phase`): with none
//! it has nothing to do and exits 0, and the stop side (pre-stop, drain,
//! post-stop) never fails on a config error at all: it logs it and exits
//! 0, because the director raises on a failed stop hook and the instance
//! could then never be stopped, updated or deleted. The gate is the errand
//! and the start side (pre-start, post-start, post-deploy).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use inject_errands::config::{self, Config, ForPhase, Phase};
use inject_errands::run_event::RunEvent;
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

/// The hooks BOSH runs to stop an instance: a config error must not fail them.
fn stops_the_instance(phase: Phase) -> bool {
    matches!(phase, Phase::PreStop | Phase::Drain | Phase::PostStop)
}

pub fn main(args: RunArgs) -> ExitCode {
    let path = config::resolve_path(args.config.clone());
    let (mut config, in_file) = match load(&path, &args) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    config.interfaces = inject_net::locate::interfaces();
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
            let error = prepare_error(&path, &config, &in_file, &err);
            return config_error(&args, &error);
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

/// The config this run takes its commands from, with the index in the
/// file of each of its commands (a hook's config may hold only some); or
/// the exit code when there is none to take (the error or warning has been
/// printed then).
fn load(path: &Path, args: &RunArgs) -> Result<(Config, Vec<usize>), ExitCode> {
    let phase = args.phase;
    let whole = |config: Config| {
        let in_file = (0..config.commands.len()).collect();
        (config, in_file)
    };
    if phase == Phase::Errand {
        // The operator's check of the whole file (as `inject check`).
        return config::load(path)
            .map(whole)
            .map_err(|err| config_error(args, &err.to_string()));
    }
    match config::load_for_phase(path, phase) {
        Ok(ForPhase::Valid(config)) => Ok(whole(config)),
        Ok(ForPhase::Elsewhere {
            config,
            error,
            in_file,
        }) => {
            eprintln!(
                "inject: warning: {error} (it concerns no command of phase {phase}; those run)"
            );
            Ok((config, in_file))
        }
        Ok(ForPhase::NoCommands { error }) => {
            // Nothing to do: no lock, no run log, no run directory.
            eprintln!(
                "inject: warning: {error} (no command is tagged {phase}: nothing to do, exit 0)"
            );
            Err(ExitCode::SUCCESS)
        }
        Err(err) => Err(config_error(args, &err.to_string())),
    }
}

/// A user or cwd that this machine lacks, as a config error: the file,
/// the line and column of the value, and the command's index in the file.
/// (They are checked when the run is prepared, after the parse.)
fn prepare_error(
    path: &Path,
    config: &Config,
    in_file: &[usize],
    err: &runner::SetupError,
) -> String {
    let Some(index) = err.index else {
        return format!("{}: {err}; nothing was run", path.display());
    };
    let key = err.field;
    let command = config.commands.get(index);
    let value = match key {
        "user" => command.and_then(|c| c.user.clone()),
        "cwd" => command.and_then(|c| c.cwd.as_ref().map(|d| d.display().to_string())),
        _ => None,
    };
    let place = std::fs::read_to_string(path)
        .ok()
        .zip(value)
        .and_then(|(text, value)| value_place(&text, key, &value))
        .map(|(line, column)| format!(":{line}:{column}"))
        .unwrap_or_default();
    let index = in_file.get(index).copied().unwrap_or(index);
    format!(
        "{}{place}: commands[{index}].{key}: {}; nothing was run",
        path.display(),
        err.message
    )
}

/// Where `value` is first written as the value of `key` (1-based line and
/// column): the first occurrence of it on a line that names `key` before it.
fn value_place(text: &str, key: &str, value: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(n, line)| {
        let at = line.match_indices(value).map(|(i, _)| i).find(|&i| {
            line[..i].rfind(key).is_some_and(|k| {
                line[k + key.len()..i]
                    .trim_matches([' ', '"', '\'', ':'])
                    .is_empty()
            })
        })?;
        Some((n + 1, line[..at].chars().count() + 1))
    })
}

/// Reports a config error (`error` names the file, line and column). The
/// errand and the start side fail on it (exit 2, nothing ran); the stop
/// side logs it, on stderr and in the run log, and exits 0 so that the
/// instance can still be stopped.
fn config_error(args: &RunArgs, error: &str) -> ExitCode {
    if !stops_the_instance(args.phase) {
        eprintln!("inject: {error}");
        return ExitCode::from(2);
    }
    let phase = args.phase;
    eprintln!(
        "inject: warning: {error}; {phase} runs none of its commands and exits 0, so that \
         BOSH can stop this instance (fix the config and deploy again)"
    );
    // A line beside the runs' (no lock: a held one must not fail a stop;
    // no run dir: nothing ran).
    if let Some(dir) = runlog::resolve_dir(args.log_dir.clone()) {
        let mut log = RunLog::open_unlocked(&dir, phase);
        let mut fields = serde_json::Map::new();
        fields.insert("event".into(), "config_error".into());
        fields.insert("message".into(), error.into());
        fields.insert("exit_code".into(), 0.into());
        log.record_fields(None, fields);
        if let Some(notice) = log.take_notice() {
            eprintln!("inject: {notice}");
        }
    }
    ExitCode::SUCCESS
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
    // No command, no run log: a hook with nothing to do takes no lock and
    // leaves no run dir (those would evict the errand's output). The lock
    // fails closed, except that a stop-side hook waits for it at most its
    // timeout and then runs anyway (see `open_for_phase`).
    let dir = runlog::resolve_dir(args.log_dir.clone()).filter(|_| !selected.is_empty());
    let mut log = match dir {
        Some(dir) => match RunLog::open_for_phase(&dir, args.phase, config.timeout).await {
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
    let cost = move |event: &RunEvent| output::cost(style, event);
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
    let mut sink = |event: RunEvent| {
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

/// The dry run's plan on stdout; an error when stdout is gone. It goes
/// through the same reply budget as a run ([`agent::ReplyBudget`]): a plan
/// longer than the BOSH agent can return is cut, and says so, instead of
/// failing the errand. Text is escaped as a run's output is
/// ([`output::visible`]): a command, an interface name or any other value
/// with an ESC in it reaches the terminal as `^[`.
fn print_plan(
    config: &Config,
    phase: Phase,
    selected: &[&config::CommandSpec],
    json: bool,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let total = selected.len();
    let mut budget = agent::ReplyBudget::new();
    let mut shown = 0;
    if !json {
        let headline = output::visible(&plan::headline(config, phase, total)).into_owned();
        plan_line(&mut out, &mut budget, &headline, json)?;
    }
    for (i, command) in selected.iter().enumerate() {
        let lines = if json {
            vec![plan::describe_json(config, command, phase, i + 1, total).to_string()]
        } else {
            plan::describe(config, command, phase, i + 1, total)
                .iter()
                .map(|line| output::visible(line).into_owned())
                .collect()
        };
        for line in &lines {
            plan_line(&mut out, &mut budget, line, json)?;
        }
        if budget.was_cut() {
            break;
        }
        shown += 1;
    }
    if budget.was_cut() {
        let limit = config::format_size(agent::PRINT_BUDGET);
        if json {
            let cut = serde_json::json!({
                "event": "plan_cut", "shown": shown, "total": total,
                "limit_bytes": agent::PRINT_BUDGET,
            });
            writeln!(out, "{cut}")?;
        } else {
            writeln!(
                out,
                "dry run cut here: the plan passes the {limit} a BOSH errand can return \
                 ({shown} of {total} commands shown in full); `inject check` lists them all"
            )?;
        }
    }
    out.flush()
}

/// One line of the plan, as much of it as the budget lets through; a JSON
/// line is whole or nothing (half a JSON object is no event).
fn plan_line(
    out: &mut impl std::io::Write,
    budget: &mut agent::ReplyBudget,
    line: &str,
    json: bool,
) -> std::io::Result<()> {
    match budget.fit(line) {
        agent::Fit::Whole(line) => writeln!(out, "{line}"),
        agent::Fit::Cut(head, _) if json || head.is_empty() => Ok(()),
        agent::Fit::Cut(head, left) => writeln!(out, "{head} … ({left} more characters)"),
        agent::Fit::Nothing => Ok(()),
    }
}
