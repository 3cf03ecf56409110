//! The runner as a library, the way the dashboard and the ensure loop call
//! it: one command at a time, events to a callback, a cancel token, and a
//! future that may be dropped mid-run.

use std::path::Path;
use std::time::Duration;

use inject_errands::config::parse;
use inject_errands::run_event::{Outcome, RunEvent, Stream};
use inject_errands::runner::{prepare, run_command, Slot};
use inject_errands::CancellationToken;

fn alive(pid: u32) -> bool {
    // A zombie has ended; only its parent's bookkeeping is left.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

async fn pid_in(path: &Path) -> u32 {
    for _ in 0..500 {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} never appeared", path.display());
}

fn hanging_config(dir: &Path) -> inject_errands::config::Config {
    parse(
        &format!(
            "commands:\n  - name: hang\n    run: 'sleep 300 & echo $! > {}/pid; wait'\n",
            dir.display()
        ),
        "test.yml",
    )
    .unwrap()
}

#[tokio::test]
async fn events_stream_to_the_callback_in_order() {
    let config = parse(
        "commands:\n  - {name: hi, run: 'echo one; echo two >&2', env: {X: y}}\n",
        "test.yml",
    )
    .unwrap();
    let mut events = Vec::new();
    let mut sink = |e: RunEvent| events.push(e);
    let slot = Slot { index: 2, total: 5 };
    let report = run_command(
        &config,
        &config.commands[0],
        slot,
        None,
        &CancellationToken::new(),
        &mut sink,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Ok);
    assert_eq!(report.attempts, 1);
    assert_eq!(
        events[0],
        RunEvent::Started {
            index: 2,
            total: 5,
            name: "hi".into(),
            attempt: 1
        }
    );
    let lines: Vec<(Stream, &str)> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Output { stream, line, .. } => Some((*stream, line.as_str())),
            _ => None,
        })
        .collect();
    assert!(
        lines.contains(&(Stream::Stdout, "one")) && lines.contains(&(Stream::Stderr, "two")),
        "{lines:?}"
    );
    assert!(matches!(
        events.last(),
        Some(RunEvent::Finished {
            index: 2,
            outcome: Outcome::Ok,
            attempts: 1,
            ..
        })
    ));
}

#[tokio::test]
async fn cancelling_terminates_the_group_and_reports_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let config = hanging_config(dir.path());
    let cancel = CancellationToken::new();
    let mut sink = |_: RunEvent| {};
    let run = run_command(
        &config,
        &config.commands[0],
        Slot { index: 1, total: 1 },
        None,
        &cancel,
        &mut sink,
    );
    let pidfile = dir.path().join("pid");
    let (report, child) = tokio::join!(run, async {
        let pid = pid_in(&pidfile).await;
        cancel.cancel();
        pid
    });
    assert_eq!(report.outcome, Outcome::Interrupted);
    assert!(
        !alive(child),
        "the command's child {child} survived the cancel"
    );
}

#[tokio::test]
async fn dropping_the_future_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let config = hanging_config(dir.path());
    let cancel = CancellationToken::new();
    let pidfile = dir.path().join("pid");
    let mut sink = |_: RunEvent| {};
    let child = {
        let run = run_command(
            &config,
            &config.commands[0],
            Slot { index: 1, total: 1 },
            None,
            &cancel,
            &mut sink,
        );
        tokio::select! {
            _ = run => panic!("the command cannot end on its own"),
            pid = pid_in(&pidfile) => pid,
        }
        // `run` is dropped here, mid-command.
    };
    for _ in 0..200 {
        if !alive(child) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the command's child {child} survived dropping the run");
}

#[test]
fn the_run_future_can_be_sent_to_another_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let config = parse("commands:\n  - {name: a, run: 'true'}\n", "test.yml").unwrap();
    let cancel = CancellationToken::new();
    let mut sink = |_: RunEvent| {};
    let run = run_command(
        &config,
        &config.commands[0],
        Slot { index: 1, total: 1 },
        None,
        &cancel,
        &mut sink,
    );
    assert_send(&run);
}

async fn run_alone(
    config: &inject_errands::config::Config,
) -> (inject_errands::runner::CommandReport, Vec<RunEvent>) {
    let mut events = Vec::new();
    let mut sink = |e: RunEvent| events.push(e);
    let report = run_command(
        config,
        &config.commands[0],
        Slot { index: 1, total: 1 },
        None,
        &CancellationToken::new(),
        &mut sink,
    )
    .await;
    (report, events)
}

#[tokio::test]
async fn a_timeout_too_large_for_the_clock_does_not_panic() {
    // The config refuses more than a year; a library caller may still
    // build a Config by hand.
    let mut config = parse("commands:\n  - {name: a, run: 'echo fine'}\n", "t").unwrap();
    config.timeout = Duration::MAX;
    let (report, _) = run_alone(&config).await;
    assert_eq!(report.outcome, Outcome::Ok);
}

#[tokio::test]
async fn the_deadline_does_not_fire_while_output_drains_after_the_leader_exited() {
    // The leader is done at 0.6s; its background child holds stdout, so the
    // output drains for up to a second more, past the 1s timeout. The
    // command succeeded, and the child it left must be left alone.
    let dir = tempfile::tempdir().unwrap();
    let config = parse(
        &format!(
            "commands:\n  - name: a\n    run: '(sleep 30 & echo $! > {}/pid); sleep 0.6; echo done'\n    timeout: 1s\n",
            dir.path().display()
        ),
        "t",
    )
    .unwrap();
    let (report, events) = run_alone(&config).await;
    let child = pid_in(&dir.path().join("pid")).await;
    let survived = alive(child);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(report.outcome, Outcome::Ok, "{events:?}");
    assert!(survived, "the background child {child} was signalled");
}

#[tokio::test]
async fn a_guard_that_times_out_is_reported_as_the_guard() {
    let config = parse(
        "commands:\n  - {name: a, run: 'echo ran', unless: 'sleep 30', timeout: 1s}\n",
        "t",
    )
    .unwrap();
    let (report, events) = run_alone(&config).await;
    assert_eq!(
        report.outcome,
        Outcome::TimedOut {
            after: Duration::from_secs(1),
            guard: Some("unless guard (sleep 30)".into()),
        }
    );
    assert_eq!(
        report.outcome.to_string(),
        "TIMED OUT after 1s in the unless guard (sleep 30)"
    );
    assert!(
        !events.iter().any(|e| matches!(e, RunEvent::Output { .. })),
        "the command never ran: {events:?}"
    );
}

#[test]
fn prepare_names_the_first_command_whose_user_or_cwd_is_wrong() {
    let config = parse(
        "commands:
  - {name: fine, run: 'true'}
  - {name: ghost, run: 'true', user: no-such-user-here}
  - {name: nowhere, run: 'true', cwd: /no/such/dir}
",
        "t",
    )
    .unwrap();
    let all: Vec<_> = config.commands.iter().collect();
    let err = match prepare(&config, &all) {
        Err(err) => err,
        Ok(_) => panic!("must be refused"),
    };
    assert_eq!(
        err.to_string(),
        "commands[1].user: no user `no-such-user-here` on this machine"
    );
    let err = match prepare(&config, &[&config.commands[0], &config.commands[2]]) {
        Err(err) => err,
        Ok(_) => panic!("must be refused"),
    };
    assert_eq!(
        err.to_string(),
        "commands[2].cwd: cwd /no/such/dir is not a directory"
    );
    assert!(prepare(&config, &[&config.commands[0]]).is_ok());
}

#[tokio::test]
async fn a_retry_flood_stops_being_shown_and_results_and_summary_still_are() {
    use inject_errands::config::Phase;
    use inject_errands::runner::{run_plan, PrintBudget, RESULTS_RESERVE};
    // Issue 11: `retries: 30000` on `false` printed 1.5 MB of retry lines.
    // Here every event costs 100, and the budget's room for optional lines
    // (retries, their attempts' starts, output) is 1000: the run's and the
    // first command's start take 200 of it, four retries and their four
    // starts the rest.
    let config = parse(
        "stop_on_error: false
commands:
  - {name: flaky, run: 'false', retries: 40, retry_delay: 0s}
  - {name: chatty, run: 'echo after'}
",
        "test.yml",
    )
    .unwrap();
    let selected: Vec<_> = config.commands.iter().collect();
    let prepared = prepare(&config, &selected).unwrap();
    let cost = |_: &RunEvent| 100;
    let limit = RESULTS_RESERVE + 1000;
    let mut budget = PrintBudget::new(limit, &cost);
    let mut events = Vec::new();
    let mut sink = |e: RunEvent| events.push(e);
    let summary = run_plan(
        &config,
        &prepared,
        Phase::Errand,
        None,
        &CancellationToken::new(),
        &mut sink,
        &mut budget,
    )
    .await;
    assert_eq!(summary.failed, 1);
    assert!(100 * events.len() as u64 <= limit, "{events:#?}");
    assert_eq!(budget.used(), 100 * events.len() as u64);
    let retries = events
        .iter()
        .filter(|e| matches!(e, RunEvent::Retrying { .. }))
        .count();
    assert_eq!(retries, 4, "{events:#?}");
    let cuts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::OutputCut {
                index,
                cut_bytes,
                retries_not_shown,
                ..
            } => Some((*index, *cut_bytes, *retries_not_shown)),
            _ => None,
        })
        .collect();
    // Once the budget has stopped output, later output is not shown either
    // ("after\n": 6 bytes), but every result is.
    assert_eq!(cuts, vec![(1, 0, 36), (2, 6, 0)]);
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Finished {
                name,
                outcome,
                attempts,
                ..
            } => Some((name.as_str(), outcome.is_success(), *attempts)),
            _ => None,
        })
        .collect();
    assert_eq!(results, vec![("flaky", false, 41), ("chatty", true, 1)]);
    assert!(matches!(events.last(), Some(RunEvent::RunFinished { .. })));
}
