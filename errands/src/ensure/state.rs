//! What the ensure loop leaves in its log dir for others to read: the state
//! file (`ensure-state.json`, which the dashboard shows as "kept by ensure,
//! last acted …"), and the lock that keeps to one ensure process per log dir.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::decide::Verdict;
use nix::fcntl::OFlag;

use crate::runlog::{DirLock, LockError, LockKind, LogDir};

pub const STATE_FILE: &str = "ensure-state.json";
/// How late a promised state write may be before the state counts as stale
/// (a check that runs long, a busy machine).
pub const STATE_GRACE: Duration = Duration::from_secs(120);
/// Not `inject run`'s lock: an errand may run while the loop keeps watch.
pub const LOCK_FILE: &str = "ensure.lock";
pub const LOCK: LockKind = LockKind {
    file: LOCK_FILE,
    holder: "inject ensure",
    advice: "one ensure process per log dir: stop that one first (on a BOSH VM: monit stop inject-ensure)",
};

/// The loop as it last wrote itself down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsureState {
    pub pid: u32,
    #[serde(with = "rfc3339")]
    pub started: SystemTime,
    #[serde(with = "rfc3339")]
    pub updated: SystemTime,
    /// Set when the loop stopped cleanly (SIGTERM); a crash leaves it unset,
    /// hence [`EnsureState::is_running`] also asks whether the PID lives.
    #[serde(with = "rfc3339_opt", default)]
    pub stopped: Option<SystemTime>,
    /// The periodic re-check, in seconds.
    pub interval_secs: f64,
    pub commands: Vec<CommandState>,
}

/// One kept command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandState {
    pub name: String,
    /// The last check's verdict; `None` before the first.
    pub verdict: Option<Verdict>,
    #[serde(with = "rfc3339_opt", default)]
    pub last_check: Option<SystemTime>,
    /// When the command itself last ran (repaired or failed).
    #[serde(with = "rfc3339_opt", default)]
    pub last_action: Option<SystemTime>,
    /// The last check's result words: `ok`, `skipped: …`, `FAILED exit 2`.
    pub last_outcome: Option<String>,
    /// Failures in a row.
    pub failures: u32,
    /// When the periodic re-check is due (a network change comes sooner).
    #[serde(with = "rfc3339_opt", default)]
    pub next_check: Option<SystemTime>,
}

impl EnsureState {
    /// Whether the process that wrote this still runs: not stopped, and its
    /// PID is an `inject … ensure` (a PID reused by another program is not).
    pub fn is_running(&self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        match std::fs::read(format!("/proc/{}/cmdline", self.pid)) {
            Ok(cmdline) => is_inject_ensure(&cmdline),
            Err(_) => false,
        }
    }

    /// Whether this state still says how things stand at `now`: its writer
    /// runs, and no write it promised is overdue (each check writes the
    /// state; the earliest `next_check` is the next write, give or take
    /// [`STATE_GRACE`]). A state that could not be written for a while (a
    /// full disk) is stale, and must not be shown as current.
    pub fn is_current(&self, now: SystemTime) -> bool {
        self.is_running() && !self.is_overdue(now)
    }

    /// Whether a write this state promised is overdue at `now`.
    pub fn is_overdue(&self, now: SystemTime) -> bool {
        let interval = Duration::try_from_secs_f64(self.interval_secs).unwrap_or_default();
        let next_write = self
            .commands
            .iter()
            .filter_map(|c| c.next_check)
            .min()
            .unwrap_or(self.updated + interval);
        now > next_write + STATE_GRACE
    }

    pub fn command(&self, name: &str) -> Option<&CommandState> {
        self.commands.iter().find(|c| c.name == name)
    }
}

/// Whether a NUL-separated command line is `…/inject [options] ensure …`.
fn is_inject_ensure(cmdline: &[u8]) -> bool {
    let mut args = cmdline.split(|&b| b == 0);
    let program = args.next().unwrap_or_default();
    let name = program.rsplit(|&b| b == b'/').next().unwrap_or_default();
    name == b"inject" && args.any(|arg| arg == b"ensure")
}

/// The largest state file read: a few hundred bytes per command; more is
/// no state inject wrote.
pub const STATE_MAX: u64 = 4 * 1024 * 1024;

/// Reads `<dir>/ensure-state.json`; `Ok(None)` when there is none (ensure
/// never ran with this log dir). Not followed when a link, and read only up
/// to [`STATE_MAX`]: the dashboard reads it too, as whoever runs it.
pub fn read_state(dir: &Path) -> Result<Option<EnsureState>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(STATE_FILE);
    let cannot = |err: std::io::Error| format!("cannot read {}: {err}", path.display());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(&path);
    let file = match file {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(cannot(err)),
    };
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let mut text = String::new();
    file.take(STATE_MAX + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    if text.len() as u64 > STATE_MAX {
        return Err(format!(
            "{} is larger than {STATE_MAX} bytes: no state inject wrote",
            path.display()
        ));
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|err| format!("{}: {err}", path.display()))
}

/// Writes the state (0640) so that a reader never sees half a file: a new
/// file under an unpredictable name, then a rename over the old one, all
/// in the checked log dir (see [`LogDir`]).
pub fn write_state(dir: &Path, state: &EnsureState) -> std::io::Result<()> {
    let dir = LogDir::open(dir).map_err(|err| std::io::Error::other(err.to_string()))?;
    let mut text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    text.push('\n');
    dir.replace(STATE_FILE, text.as_bytes())
}

/// Takes `<dir>/ensure.lock` (creating the dir) and writes our PID into it.
pub fn lock(dir: &Path) -> Result<DirLock, LockError> {
    DirLock::acquire(dir, LOCK)
}

/// Times as RFC 3339 text (UTC, milliseconds): readable in the file, and
/// what `jq` and people expect.
mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::rfc3339::serialize(time, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => humantime::parse_rfc3339(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pid: u32) -> EnsureState {
        let t = humantime::parse_rfc3339("2026-11-28T21:03:04.250Z").unwrap();
        EnsureState {
            pid,
            started: t,
            updated: t,
            stopped: None,
            interval_secs: 60.0,
            commands: vec![CommandState {
                name: "ipv6-default-route".into(),
                verdict: Some(Verdict::Repaired),
                last_check: Some(t),
                last_action: Some(t),
                last_outcome: Some("ok".into()),
                failures: 0,
                next_check: None,
            }],
        }
    }

    #[test]
    fn the_state_file_round_trips_and_reads_as_json() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_state(dir.path()).unwrap(),
            None,
            "no file yet: no state, no error"
        );
        let state = sample(std::process::id());
        write_state(dir.path(), &state).unwrap();
        assert_eq!(read_state(dir.path()).unwrap(), Some(state));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap())
                .unwrap();
        assert_eq!(
            json["commands"][0]["last_action"],
            "2026-11-28T21:03:04.250Z"
        );
        assert_eq!(json["commands"][0]["verdict"], "repaired");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            vec![std::ffi::OsString::from(STATE_FILE)],
            "no temporary file is left"
        );
    }

    #[test]
    fn a_broken_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), "{not json").unwrap();
        let err = read_state(dir.path()).unwrap_err();
        assert!(err.contains(STATE_FILE), "{err}");
    }

    #[test]
    fn a_state_is_running_only_while_an_ensure_process_has_its_pid() {
        // This test binary is not `inject ensure`: its PID does not count.
        assert!(!sample(std::process::id()).is_running());
        assert!(is_inject_ensure(
            b"/var/vcap/packages/inject/bin/inject\0ensure\0-c\0x.yml\0"
        ));
        assert!(is_inject_ensure(b"inject\0ensure\0"));
        assert!(!is_inject_ensure(b"/usr/bin/inject-tui\0ensure\0"));
        assert!(!is_inject_ensure(b"/bin/sleep\0ensure\0"));
        assert!(!is_inject_ensure(b"/bin/inject\0run\0"));
        let mut stopped = sample(std::process::id());
        stopped.stopped = Some(SystemTime::now());
        assert!(!stopped.is_running());
    }

    #[test]
    fn a_state_whose_promised_write_is_long_overdue_is_stale() {
        let mut state = sample(std::process::id());
        state.updated = SystemTime::now() - Duration::from_secs(30);
        let next = SystemTime::now() + Duration::from_secs(30);
        for c in &mut state.commands {
            c.next_check = Some(next);
        }
        assert!(!state.is_overdue(SystemTime::now()));
        assert!(!state.is_overdue(next + STATE_GRACE));
        assert!(state.is_overdue(next + STATE_GRACE + Duration::from_secs(1)));
        // No next check written: the interval after the last write.
        for c in &mut state.commands {
            c.next_check = None;
        }
        let due = state.updated + Duration::from_secs_f64(state.interval_secs);
        assert!(!state.is_overdue(due + STATE_GRACE));
        assert!(state.is_overdue(due + STATE_GRACE + Duration::from_secs(1)));
    }

    #[test]
    fn a_second_lock_on_the_same_dir_is_refused_and_a_pid_of_no_inject_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        match lock(dir.path()) {
            Err(LockError::Held(held)) => {
                // This test binary is no inject: its PID is named stale,
                // never as the holder.
                assert_eq!(held.pid, None);
                assert_eq!(held.stale, Some(std::process::id()));
                let text = held.to_string();
                assert!(
                    text.contains(&format!(
                        "pid unknown: pid {} in the lock file is stale",
                        std::process::id()
                    )),
                    "{text}"
                );
            }
            Err(other) => panic!("expected a held lock, got {other}"),
            Ok(_) => panic!("a second lock must fail"),
        }
        drop(first);
        assert!(lock(dir.path()).is_ok(), "released when dropped");
    }
}
