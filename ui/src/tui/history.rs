//! Each command's last result from the run log: what it did, when, who ran
//! it (`errand`, `pre-start`, `ensure`, `dashboard`…) and where its output
//! is, so a restarted dashboard does not say `pending` for what already ran.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use inject_errands::runlog::EVENTS_FILE;

use super::display::{CmdState, OutLine, OutStream};

/// The source the dashboard's own runs are logged under.
pub const DASHBOARD: &str = "dashboard";

/// How much of the log's end is read: the last results of a config's
/// commands are near the end (a run log grows by runs, not by years).
const TAIL: u64 = 4 * 1024 * 1024;
/// Lines of a past output shown in the output panel (its end).
pub const PAST_LINES: usize = 2000;

/// A command's last logged result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Past {
    pub state: CmdState,
    pub when: SystemTime,
    /// Who ran it: the run's `source`, else (older logs) its `phase`.
    pub source: String,
    pub duration: Duration,
    /// `runs/<run>/<NN>-<name>.log` as the run wrote it, if it is still there.
    pub output: Option<PathBuf>,
    /// Why it did not succeed, as the log says (`exit code 3`).
    pub detail: Option<String>,
}

/// The last `finished` event of each command in `text` (JSON lines, oldest
/// first), by name; lines that do not parse are skipped.
pub fn parse(text: &str) -> HashMap<String, (Past, String, u64)> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("event").and_then(|e| e.as_str()) != Some("finished") {
            continue;
        }
        let Some(name) = v.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let outcome = v.get("outcome");
        let result = outcome
            .and_then(|o| o.get("result"))
            .and_then(|r| r.as_str())
            .unwrap_or("");
        let state = match result {
            "ok" => CmdState::Ok,
            "skipped" => CmdState::Skipped,
            "failed" => CmdState::Failed,
            "timed_out" => CmdState::TimedOut,
            _ => CmdState::Cancelled,
        };
        let detail = match (result, outcome) {
            ("failed", Some(o)) => o
                .get("exit_code")
                .and_then(|c| c.as_i64())
                .map(|c| format!("exit code {c}"))
                .or_else(|| {
                    o.get("signal")
                        .and_then(|s| s.as_i64())
                        .map(|s| format!("signal {s}"))
                }),
            ("skipped", Some(o)) => o.get("reason").and_then(|r| r.as_str()).map(String::from),
            _ => None,
        };
        let when = v
            .get("time")
            .and_then(|t| t.as_str())
            .and_then(|t| humantime::parse_rfc3339(t).ok());
        let Some(when) = when else {
            continue;
        };
        let source = v
            .get("source")
            .or_else(|| v.get("phase"))
            .and_then(|s| s.as_str())
            .unwrap_or("unknown")
            .to_string();
        let duration = v
            .get("duration")
            .and_then(|d| d.as_f64())
            .and_then(|d| Duration::try_from_secs_f64(d).ok())
            .unwrap_or_default();
        let run = v
            .get("run")
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .to_string();
        let index = v.get("index").and_then(|i| i.as_u64()).unwrap_or(0);
        let past = Past {
            state,
            when,
            source,
            duration,
            output: None,
            detail,
        };
        out.insert(name.to_string(), (past, run, index));
    }
    out
}

/// A command another process (the errand, a hook, ensure, another
/// dashboard) is running now, as the run log says: its last `started` has
/// no `finished` after it, and the process of its run still lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    pub since: SystemTime,
    /// Who runs it (the run's `source`, else its phase).
    pub source: String,
    pub pid: Option<u32>,
}

/// The commands being run now by live processes, by name (see [`Running`]).
pub fn running(text: &str, alive: impl Fn(u32) -> bool) -> HashMap<String, Running> {
    let mut out: HashMap<String, Running> = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let event = v.get("event").and_then(|e| e.as_str());
        let Some(name) = v.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        match event {
            Some("finished") => {
                out.remove(name);
            }
            Some("started") => {
                let Some(since) = v
                    .get("time")
                    .and_then(|t| t.as_str())
                    .and_then(|t| humantime::parse_rfc3339(t).ok())
                else {
                    continue;
                };
                let source = v
                    .get("source")
                    .or_else(|| v.get("phase"))
                    .and_then(|s| s.as_str())
                    .unwrap_or("unknown")
                    .to_string();
                // Runs are named `<time>-<pid>` or `<time>-<pid>-<n>`.
                let pid = v.get("run").and_then(|r| r.as_str()).and_then(|run| {
                    let mut parts = run.rsplit('-');
                    let last = parts.next()?;
                    let before = parts.next()?;
                    // `…Z-<pid>`: the part before is the time.
                    if before.ends_with('Z') {
                        last.parse().ok()
                    } else {
                        before.parse().ok()
                    }
                });
                out.insert(name.to_string(), Running { since, source, pid });
            }
            _ => {}
        }
    }
    // A run whose process died mid-command never logs `finished`.
    // A run whose process cannot be named cannot be shown as live either.
    out.retain(|_, r| r.pid.is_some_and(&alive));
    out
}

/// The run log as the dashboard shows it: each command's last result and
/// what runs now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    pub past: HashMap<String, Past>,
    pub running: HashMap<String, Running>,
}

/// [`Log`] of `dir`: empty when there is no run log yet; an error (said on
/// screen) when it cannot be read, e.g. not root.
pub fn read_log(dir: &Path) -> Result<Log, String> {
    let path = dir.join(EVENTS_FILE);
    if let Err(e) = std::fs::File::open(&path) {
        return match e.kind() {
            std::io::ErrorKind::NotFound => Ok(Log::default()),
            _ => Err(format!("cannot read the run log {}: {e}", path.display())),
        };
    }
    let text = tail(&path, TAIL).unwrap_or_default();
    // This dashboard's own run shows itself, live.
    let me = std::process::id();
    let alive = |pid: u32| pid != me && Path::new(&format!("/proc/{pid}")).exists();
    let mut running = running(&text, alive);
    running.retain(|_, r| r.pid.is_some_and(|pid| same_process(pid, r.since)));
    Ok(Log {
        past: with_outputs(dir, parse(&text)),
        running,
    })
}

/// Whether process `pid` can be the one that started a command at
/// `since`: it started before then. A run whose process crashed leaves
/// `started` without `finished`, and its pid may since belong to another
/// process; that one started after the run and must not make the dead run
/// show as `running`. The kernel's start times are read with 10 ms steps
/// against a wall clock that NTP may have stepped, so a process that
/// started up to `SLACK` after `since` is still taken as the run's (a pid
/// comes round again only after the kernel has handed out all the others,
/// not within a second).
fn same_process(pid: u32, since: SystemTime) -> bool {
    const SLACK: Duration = Duration::from_secs(1);
    match process_start(pid) {
        Some(start) => start <= since + SLACK,
        // Gone meanwhile, or a /proc we cannot read: not shown as running.
        None => false,
    }
}

/// When process `pid` started, on the wall clock: its `starttime`
/// (/proc/PID/stat field 22, clock ticks since boot) against the time
/// since boot now (/proc/uptime).
fn process_start(pid: u32) -> Option<SystemTime> {
    // The ticks /proc counts in: USER_HZ, 100 on Linux whatever the
    // kernel's own HZ (what sysconf(_SC_CLK_TCK) returns).
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (the name, in parentheses) may hold spaces and `)`: count
    // from after its last `)`, where field 3 begins.
    let fields = stat.rsplit_once(')')?.1;
    let ticks: u64 = fields.split_whitespace().nth(22 - 3)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let age = (uptime - ticks as f64 / TICKS_PER_SECOND).max(0.0);
    SystemTime::now().checked_sub(Duration::from_secs_f64(age))
}

/// The run log's size and change time: a cheap look at whether it moved.
pub fn stamp(dir: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(dir.join(EVENTS_FILE)).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

fn with_outputs(dir: &Path, parsed: HashMap<String, (Past, String, u64)>) -> HashMap<String, Past> {
    parsed
        .into_iter()
        .map(|(name, (mut past, run, index))| {
            past.output = output_file(dir, &run, index);
            (name, past)
        })
        .collect()
}

/// Each command's last result in the run log in `dir`, by name, with its
/// output file when the run's dir is still there.
pub fn read(dir: &Path) -> HashMap<String, Past> {
    let Some(text) = tail(&dir.join(EVENTS_FILE), TAIL) else {
        return HashMap::new();
    };
    parse(&text)
        .into_iter()
        .map(|(name, (mut past, run, index))| {
            past.output = output_file(dir, &run, index);
            (name, past)
        })
        .collect()
}

/// The file `runs/<run>/<NN>-….log` (the run log names it after the
/// command, made safe for a file name).
fn output_file(dir: &Path, run: &str, index: u64) -> Option<PathBuf> {
    if run.is_empty() || run.contains('/') || run.starts_with('.') {
        return None;
    }
    let prefix = format!("{index:02}-");
    std::fs::read_dir(dir.join("runs").join(run))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".log"))
        })
}

/// The last `max` bytes of a file, as text (a character cut at the start is
/// replaced, and that partial first line is dropped).
fn tail(path: &Path, max: u64) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let from = len.saturating_sub(max);
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if from > 0 {
        return Some(
            text.split_once('\n')
                .map_or(String::new(), |(_, rest)| rest.to_string()),
        );
    }
    Some(text)
}

/// The end of a past run's output file as output lines (`stderr| ` lines,
/// as the run log marks them, become stderr), at most [`PAST_LINES`].
pub fn output_lines(path: &Path) -> Vec<OutLine> {
    let Some(text) = tail(path, 1024 * 1024) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(PAST_LINES);
    lines[start..]
        .iter()
        .map(|l| super::display::after_carriage_returns(l))
        .map(|l| match l.strip_prefix("stderr| ") {
            Some(rest) => OutLine {
                stream: OutStream::Stderr,
                text: rest.to_string(),
            },
            None => OutLine {
                stream: OutStream::Stdout,
                text: l.to_string(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run log as `inject run`, ensure and the dashboard write it.
    pub const LOG: &str = r#"{"event":"run_started","phase":"errand","run":"2026-12-03T03:55:44Z-21955","time":"2026-12-03T03:55:44.086Z","total":2}
{"attempts":1,"command":"hi","duration":0.013,"event":"finished","index":1,"name":"hi","outcome":{"result":"ok"},"phase":"errand","run":"2026-12-03T03:55:44Z-21955","time":"2026-12-03T03:55:44.100Z"}
{"attempts":1,"command":"bad","duration":0.008,"event":"finished","index":2,"name":"bad","outcome":{"exit_code":3,"result":"failed","signal":null},"phase":"errand","run":"2026-12-03T03:55:44Z-21955","time":"2026-12-03T03:55:44.108Z"}
not json
{"attempts":1,"command":"hi","duration":1.5,"event":"finished","index":1,"name":"hi","outcome":{"result":"timed_out"},"phase":"errand","source":"dashboard","run":"2026-12-03T04:00:00Z-3-1","time":"2026-12-03T04:00:01.500Z"}
"#;

    /// A run log in a temporary dir where process `pid` started command
    /// `slow` at `at` and never finished it.
    fn log_of_a_run(pid: u32, at: SystemTime) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let time = humantime::format_rfc3339_millis(at);
        let line = format!(
            r#"{{"event":"started","index":1,"name":"slow","run":"2026-12-03T03:55:44Z-{pid}","source":"errand","time":"{time}"}}"#
        );
        std::fs::write(dir.path().join(EVENTS_FILE), line + "\n").unwrap();
        dir
    }

    #[test]
    fn a_pid_that_started_after_the_run_is_not_the_run_still_going() {
        // A real process, started now: it cannot be the process of a run
        // that started an hour ago and crashed (its pid was reused).
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let crashed = read_log(log_of_a_run(pid, an_hour_ago).path()).unwrap();
        // The same process, for a run it started now, is running.
        let live = read_log(log_of_a_run(pid, SystemTime::now()).path()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(crashed.running.is_empty(), "{:?}", crashed.running);
        assert_eq!(live.running["slow"].pid, Some(pid));
    }

    #[test]
    fn a_command_started_by_a_live_process_and_not_finished_is_running() {
        let log = r#"{"event":"started","index":1,"name":"hi","run":"2026-12-03T03:55:44Z-21955","source":"errand","time":"2026-12-03T03:55:44.086Z"}
{"event":"started","index":2,"name":"slow","run":"2026-12-03T03:55:44Z-21955-2","source":"errand","time":"2026-12-03T03:55:45.000Z"}
{"event":"finished","index":1,"name":"hi","run":"2026-12-03T03:55:44Z-21955","time":"2026-12-03T03:55:44.100Z","outcome":{"result":"ok"}}
{"event":"started","index":1,"name":"dead","run":"2026-12-03T03:55:44Z-7","source":"ensure","time":"2026-12-03T03:55:46.000Z"}
"#;
        let now = running(log, |pid| pid == 21955);
        assert_eq!(now.len(), 1, "{now:?}");
        let slow = &now["slow"];
        assert_eq!((slow.source.as_str(), slow.pid), ("errand", Some(21955)));
    }

    #[test]
    fn the_last_result_of_each_command_with_when_and_who() {
        let h = parse(LOG);
        let (hi, run, index) = &h["hi"];
        assert_eq!(hi.state, CmdState::TimedOut);
        assert_eq!(hi.source, "dashboard");
        assert_eq!(hi.duration, Duration::from_millis(1500));
        assert_eq!((run.as_str(), *index), ("2026-12-03T04:00:00Z-3-1", 1));
        assert_eq!(
            hi.when,
            humantime::parse_rfc3339("2026-12-03T04:00:01.500Z").unwrap()
        );
        let (bad, _, _) = &h["bad"];
        assert_eq!(bad.state, CmdState::Failed);
        assert_eq!(bad.source, "errand", "older lines name only the phase");
        assert_eq!(bad.detail.as_deref(), Some("exit code 3"));
    }

    #[test]
    fn outputs_are_found_by_run_and_index_and_stderr_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs/2026-12-03T03:55:44Z-21955");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("02-bad.log"), "out\nstderr| err\n").unwrap();
        std::fs::write(dir.path().join(EVENTS_FILE), LOG).unwrap();
        let h = read(dir.path());
        let bad = h["bad"].output.clone().unwrap();
        assert!(bad.ends_with("02-bad.log"));
        let lines = output_lines(&bad);
        assert_eq!(lines[1].stream, OutStream::Stderr);
        assert_eq!(lines[1].text, "err");
        assert_eq!(h["hi"].output, None, "the dashboard's run dir is gone");
    }
}
