//! The loop with real processes (sh) and real time, against files in a
//! temporary dir instead of routes: what it repairs, when, what it says.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::{self, Phase};
use crate::plan;
use crate::runlog::EVENTS_FILE;

fn config(yaml: &str) -> Config {
    config::parse(yaml, "test.yml").unwrap_or_else(|e| panic!("{e}"))
}

fn keep_file(dir: &Path) -> Config {
    let flag = dir.join("flag");
    config(&format!(
        "commands:\n- name: flag\n  run: touch {0}\n  unless: test -e {0}\n  phases: [ensure]\n",
        flag.display()
    ))
}

type Lines = Arc<Mutex<Vec<String>>>;

fn recorder() -> (Lines, impl FnMut(&str)) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    (lines, move |line: &str| {
        sink.lock().unwrap().push(line.to_string())
    })
}

fn said(lines: &Lines, needle: &str) -> Vec<String> {
    lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

async fn until(what: &str, deadline: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        sleep(Duration::from_millis(10)).await;
    }
}

const SLOW: Policy = Policy {
    interval: Duration::from_secs(3600),
    max_backoff: Duration::from_secs(3600),
};

#[tokio::test]
async fn repairs_at_start_and_at_once_on_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let config = keep_file(dir.path());
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let flag = dir.path().join("flag");
    let (lines, out) = recorder();
    let (tx, rx) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    let mut ensure = Ensure::new(&config, &commands, SLOW, Some(logs.path()), out);
    let script = async {
        until("the repair at start", Duration::from_secs(5), || {
            flag.exists()
        })
        .await;
        std::fs::remove_file(&flag).unwrap();
        tx.send(Trigger {
            reason: "route deleted: default via fe80::1 dev eth1".into(),
            by: None,
        })
        .await
        .unwrap();
        until(
            "the repair after the change",
            Duration::from_secs(5),
            || flag.exists(),
        )
        .await;
        until("the line about it", Duration::from_secs(5), || {
            !said(&lines, "repaired after").is_empty()
        })
        .await;
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);

    let all = lines.lock().unwrap().clone();
    assert!(
        all[0].contains("keeping 1 command true: flag; re-check every 1h"),
        "{all:?}"
    );
    assert_eq!(
        said(
            &lines,
            "flag: repaired at start: the guard did not hold, the command ran ok"
        )
        .len(),
        1,
        "{all:?}"
    );
    let after = said(
        &lines,
        "flag: repaired after route deleted: default via fe80::1 dev eth1: the guard did not hold",
    );
    assert_eq!(after.len(), 1, "{all:?}");
    assert!(all.last().unwrap().ends_with(" stopped"), "{all:?}");

    let state = read_state(logs.path()).unwrap().expect("a state file");
    assert!(state.stopped.is_some());
    assert_eq!(state.commands.len(), 1);
    assert_eq!(state.commands[0].name, "flag");
    assert_eq!(state.commands[0].verdict, Some(Verdict::Repaired));
    assert_eq!(state.commands[0].last_outcome.as_deref(), Some("ok"));
    assert!(state.commands[0].last_action.is_some());

    let events = std::fs::read_to_string(logs.path().join(EVENTS_FILE)).unwrap();
    let repaired: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["verdict"] == "repaired")
        .collect();
    assert_eq!(repaired.len(), 2, "{events}");
    assert_eq!(repaired[1]["phase"], "ensure");
    assert_eq!(repaired[1]["command"], "flag");
    assert_eq!(
        repaired[1]["cause"],
        "after route deleted: default via fe80::1 dev eth1"
    );
    assert_eq!(repaired[1]["result"], "ok");
}

#[tokio::test]
async fn a_burst_of_changes_is_one_check() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    // The command counts its runs; its guard never holds.
    let config = config(&format!(
        "commands:\n- name: c\n  run: echo >> {}\n  unless: 'false'\n  phases: [ensure]\n",
        count.display()
    ));
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let checks = || std::fs::read_to_string(&count).map_or(0, |t| t.lines().count());
    let (lines, out) = recorder();
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let mut ensure = Ensure::new(&config, &commands, SLOW, None, out);
    let script = async {
        until("the check at start", Duration::from_secs(5), || {
            checks() == 1
        })
        .await;
        for n in 0..5 {
            tx.send(Trigger {
                reason: format!("change {n}"),
                by: None,
            })
            .await
            .unwrap();
        }
        until("the check after the burst", Duration::from_secs(5), || {
            checks() == 2
        })
        .await;
        sleep(DEBOUNCE_MAX * 2).await;
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);
    assert_eq!(checks(), 2, "five changes at once make one check");
    let all = lines.lock().unwrap().clone();
    assert_eq!(
        said(&lines, "c: repaired after change 0 (+4 more changes)").len(),
        1,
        "{all:?}"
    );
}

#[tokio::test]
async fn the_periodic_recheck_repairs_what_no_change_announced() {
    let dir = tempfile::tempdir().unwrap();
    let config = keep_file(dir.path());
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let flag = dir.path().join("flag");
    let (lines, out) = recorder();
    let (_tx, rx) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    let policy = Policy {
        interval: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    };
    let mut ensure = Ensure::new(&config, &commands, policy, None, out);
    let script = async {
        until("the repair at start", Duration::from_secs(5), || {
            flag.exists()
        })
        .await;
        std::fs::remove_file(&flag).unwrap();
        until("the periodic repair", Duration::from_secs(5), || {
            flag.exists()
        })
        .await;
        until("its line", Duration::from_secs(5), || {
            !said(&lines, "on the periodic re-check").is_empty()
        })
        .await;
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);
    assert_eq!(
        said(&lines, "flag: repaired on the periodic re-check").len(),
        1
    );
    assert!(
        said(&lines, "holds").is_empty(),
        "a guard that holds is not repeated every re-check"
    );
}

#[tokio::test]
async fn a_failing_command_backs_off_and_a_change_still_retries_it() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let config = config(&format!(
        "commands:\n- name: broken\n  run: echo >> {}; echo no route to gateway >&2; exit 3\n  unless: 'false'\n  phases: [ensure]\n",
        runs.display()
    ));
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let count = || std::fs::read_to_string(&runs).map_or(0, |t| t.lines().count());
    let (lines, out) = recorder();
    let (tx, rx) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    let policy = Policy {
        interval: Duration::from_millis(50),
        max_backoff: Duration::from_secs(60),
    };
    let mut ensure = Ensure::new(&config, &commands, policy, None, out);
    let mut before_change = 0;
    let script = async {
        sleep(Duration::from_millis(1500)).await;
        before_change = count();
        tx.send(Trigger {
            reason: "address added".into(),
            by: None,
        })
        .await
        .unwrap();
        until("the run after the change", Duration::from_secs(1), || {
            count() > before_change
        })
        .await;
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);
    // Without back-off: 30 runs in 1.5 s; with it: 0, 50, 150, 350, 750 ms (and 1550).
    assert!(
        (4..=6).contains(&before_change),
        "runs in 1.5 s: {before_change}"
    );
    let all = lines.lock().unwrap().clone();
    let failures = said(&lines, "broken: FAILED exit 3");
    assert_eq!(
        failures.len(),
        before_change,
        "one line per periodic failure: {all:?}"
    );
    assert!(failures[0].contains("at start, in "), "{all:?}");
    assert!(
        failures[0].contains("failure 1 in a row; next re-check in 50ms, or on a network change"),
        "{all:?}"
    );
    assert!(
        failures[1].contains("failure 2 in a row; next re-check in 100ms, or on a network change"),
        "{all:?}"
    );
    assert!(
        said(&lines, "    | no route to gateway").len() >= before_change,
        "the command's stderr is shown: {all:?}"
    );
}

#[tokio::test]
async fn a_stop_terminates_the_running_command_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // The command ignores SIGTERM: only the SIGKILL after the grace ends it.
    let config = config(&format!(
        "commands:\n- name: stuck\n  run: trap '' TERM; echo $$ > {}; sleep 30\n  unless: 'false'\n  phases: [ensure]\n",
        pidfile.display()
    ));
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let (lines, out) = recorder();
    let (_tx, rx) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    let mut ensure = Ensure::new(&config, &commands, SLOW, None, out);
    let mut stopped_at = None;
    let script = async {
        until("the command to start", Duration::from_secs(5), || {
            std::fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))
        })
        .await;
        stopped_at = Some(Instant::now());
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);
    let took = stopped_at.unwrap().elapsed();
    assert!(took < Duration::from_secs(1), "stopped after {took:?}");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Reaped or a zombie about to be: either way no longer running.
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
    };
    until("the command to be gone", Duration::from_secs(2), gone).await;
    let all = lines.lock().unwrap().clone();
    assert_eq!(
        said(
            &lines,
            "process group was not gone 700ms after SIGTERM: killed it"
        )
        .len(),
        1,
        "{all:?}"
    );
    assert!(all.last().unwrap().ends_with(" stopped"), "{all:?}");
}

#[tokio::test]
async fn changes_that_never_pause_are_checked_but_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    let config = config(&format!(
        "commands:\n- name: c\n  run: 'true'\n  unless: echo >> {}\n  phases: [ensure]\n",
        count.display()
    ));
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let checks = || std::fs::read_to_string(&count).map_or(0, |t| t.lines().count());
    let (_lines, out) = recorder();
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let mut ensure = Ensure::new(&config, &commands, SLOW, None, out);
    let mut during = 0;
    let script = async {
        until("the check at start", Duration::from_secs(5), || {
            checks() == 1
        })
        .await;
        // A change every 20 ms for 4 s: a debounce that waited for quiet
        // would never check; one per debounce (200 ms) would check about 20
        // times; the pass rate allows the first (after quiet) and 3 more at
        // once, then one a second: about 7.
        for n in 0..200 {
            tx.send(Trigger {
                reason: format!("change {n}"),
                by: None,
            })
            .await
            .unwrap();
            sleep(Duration::from_millis(20)).await;
        }
        during = checks() - 1;
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);
    assert!(
        (3..=9).contains(&during),
        "checks during 4 s of changes: {during}"
    );
}

#[tokio::test]
async fn a_change_right_after_a_failure_is_checked_after_a_short_wait_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let config = config(&format!(
        "commands:\n- name: broken\n  run: echo >> {}; exit 3\n  unless: 'false'\n  phases: [ensure]\n",
        runs.display()
    ));
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let count = || std::fs::read_to_string(&runs).map_or(0, |t| t.lines().count());
    let (lines, out) = recorder();
    let (tx, rx) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    let mut ensure = Ensure::new(&config, &commands, SLOW, Some(logs.path()), out);
    let mut after_wait = 0;
    let script = async {
        until("the failure at start", Duration::from_secs(5), || {
            !said(&lines, "broken: FAILED exit 3 at start").is_empty()
        })
        .await;
        // Within the failure's 100 ms change wait: put off, not lost (the
        // periodic re-check is an hour away).
        tx.send(Trigger {
            reason: "address added: 2001:db8::5/64 dev eth1".into(),
            by: None,
        })
        .await
        .unwrap();
        until("the run after the change", Duration::from_secs(5), || {
            count() == 2
        })
        .await;
        sleep(Duration::from_millis(600)).await;
        after_wait = count();
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);
    assert_eq!(after_wait, 2, "one change, one re-check");
    let all = lines.lock().unwrap().clone();
    assert!(
        said(&lines, "broken: FAILED exit 3 at start")[0]
            .contains("next re-check in 1h, or on a network change, at the soonest in 100ms"),
        "{all:?}"
    );
    let events = std::fs::read_to_string(logs.path().join(EVENTS_FILE)).unwrap();
    let causes: Vec<String> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["verdict"] == "failed")
        .map(|v| v["cause"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        causes,
        vec![
            "at start".to_string(),
            "after address added: 2001:db8::5/64 dev eth1".to_string()
        ]
    );
}

/// A change by another actor (a router advertisement's `proto ra` route)
/// that undoes the repair within seconds is not fought: the command is not
/// run, the line says who; that actor's next changes are left alone; a
/// plain change (nobody named) is still repaired at once.
#[tokio::test]
async fn an_actor_that_undoes_the_repair_at_once_is_yielded_to_not_fought() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let flag = dir.path().join("flag");
    let runs = dir.path().join("runs");
    let config = config(&format!(
        "commands:\n- name: flag\n  run: echo run >> {1}; touch {0}\n  unless: test -e {0}\n  phases: [ensure]\n",
        flag.display(),
        runs.display()
    ));
    let commands = plan::select(&config, Phase::Ensure, &[]).unwrap();
    let (lines, out) = recorder();
    let (tx, rx) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    let mut ensure = Ensure::new(&config, &commands, SLOW, Some(logs.path()), out);
    let count = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let ra = || Trigger {
        reason: "route added: default proto ra metric 1024".into(),
        by: Some("a router advertisement (proto ra)".into()),
    };
    let script = async {
        // Its line comes after the guard was asked again: the check is over.
        until("the repair at start", Duration::from_secs(5), || {
            !said(&lines, "repaired at start").is_empty()
        })
        .await;
        std::fs::remove_file(&flag).unwrap();
        tx.send(ra()).await.unwrap();
        until("the line about yielding", Duration::from_secs(5), || {
            !said(&lines, "not repaired").is_empty()
        })
        .await;
        // Its next change is its business.
        tx.send(ra()).await.unwrap();
        sleep(Duration::from_millis(400)).await;
        assert!(!flag.exists(), "ensure fought the router");
        tx.send(Trigger {
            reason: "route deleted: default via 2001:db8::1 dev eth1".into(),
            by: None,
        })
        .await
        .unwrap();
        until(
            "the plain deletion repaired",
            Duration::from_secs(5),
            || !said(&lines, "repaired after route deleted").is_empty(),
        )
        .await;
        cancel.cancel();
    };
    tokio::join!(ensure.run(rx, &cancel), script);

    let all = lines.lock().unwrap().clone();
    let yielded = said(&lines, "flag: not repaired after route added: default proto ra metric 1024: a router advertisement (proto ra) changed it again ");
    assert_eq!(yielded.len(), 1, "{all:?}");
    assert!(
        yielded[0].contains("after ensure's repair (1 time in a row); leaving it to that for 1h"),
        "{all:?}"
    );
    assert_eq!(count(), 2, "at start and after the plain deletion: {all:?}");
    assert_eq!(
        said(&lines, "flag: repaired after route deleted").len(),
        1,
        "{all:?}"
    );
    let events = std::fs::read_to_string(logs.path().join(EVENTS_FILE)).unwrap();
    assert!(events.contains(r#""verdict":"yielded""#), "{events}");
}
