//! The run log: one JSON line per event in `<dir>/inject-run.jsonl`, each
//! command's full output in `<dir>/runs/<run>/<NN>-<name>.log`, and the
//! locks of a log dir ([`DirLock`]): one `inject run` at a time, and (with a
//! lock of its own) one `inject ensure`.
//!
//! A log that cannot be written must not fail the errand: the first failure
//! becomes one notice (see [`RunLog::take_notice`]) and the log goes quiet.

use std::collections::HashMap;
use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nix::fcntl::{Flock, FlockArg};

use crate::config::Phase;
use crate::event::{Event, Stream};

/// Where BOSH jobs keep their logs; present only on a BOSH VM.
pub const BOSH_LOG_ROOT: &str = "/var/vcap/sys/log";
pub const BOSH_LOG_DIR: &str = "/var/vcap/sys/log/inject-commands";
pub const EVENTS_FILE: &str = "inject-run.jsonl";
pub const LOCK_FILE: &str = "inject.lock";
/// Run output directories kept per source (a run of `inject run` keeps
/// 20 of those, the dashboard 20 of its own); older ones are removed when a
/// run starts.
pub const KEEP_RUNS: usize = 20;
/// In a run's output dir, the source of a run that is no phase's
/// (`dashboard`): pruning counts each source's runs apart, so runs from the
/// dashboard never evict the errand's.
pub const SOURCE_FILE: &str = ".source";
/// Runs this process has opened, so two in the same second get two ids.
static RUNS_OPENED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
/// How often a held lock's PID is read before it is reported unknown.
const PID_READS: usize = 100;

/// `--log-dir`, else `$INJECT_LOG_DIR`, else the BOSH job's log dir when this
/// is a BOSH VM; elsewhere no log unless asked.
pub fn resolve_dir(cli: Option<PathBuf>) -> Option<PathBuf> {
    cli.or_else(|| {
        std::env::var_os("INJECT_LOG_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
    .or_else(|| {
        Path::new(BOSH_LOG_ROOT)
            .is_dir()
            .then(|| PathBuf::from(BOSH_LOG_DIR))
    })
}

/// A lock file in a log dir, and what to tell whoever finds it taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockKind {
    /// The file's name in the log dir.
    pub file: &'static str,
    /// Who holds it, as the message names them (`inject run`).
    pub holder: &'static str,
    /// What to do about it, said after the holder.
    pub advice: &'static str,
}

/// `inject run`'s lock (the dashboard's runs take it too).
pub const RUN_LOCK: LockKind = LockKind {
    file: LOCK_FILE,
    holder: "inject run",
    advice: "one run at a time per log dir: wait for it or stop it",
};

/// Another process holds a log dir's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHeld {
    pub path: PathBuf,
    /// The holder's PID as it wrote it into the lock file, if readable.
    pub pid: Option<u32>,
    pub kind: LockKind,
}

impl fmt::Display for LockHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let holder = match self.pid {
            Some(pid) => format!("pid {pid}"),
            None => "pid unknown".to_string(),
        };
        write!(
            f,
            "another {} ({holder}) is running and holds {}; {}",
            self.kind.holder,
            self.path.display(),
            self.kind.advice
        )
    }
}

impl std::error::Error for LockHeld {}

/// Why a log dir's lock was not taken.
#[derive(Debug)]
pub enum LockError {
    Held(LockHeld),
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held(held) => held.fmt(f),
            LockError::Io { path, error } => {
                write!(f, "cannot take the lock {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for LockError {}

/// A held lock on a file in a log dir; dropping it (or dying) releases it.
#[derive(Debug)]
pub struct DirLock {
    _lock: Flock<File>,
}

impl DirLock {
    /// Takes `<dir>/<kind.file>` (creating the dir) and writes our PID into
    /// it, for whoever finds it held. Never waits: a held lock is an error
    /// naming the holder.
    ///
    /// The lock is the `flock` on the open file, not the PID in it: a file
    /// that can only be opened for reading (a read-only dir) is locked all
    /// the same, and a PID that cannot be written (a full disk) is only
    /// information lost. Only a lock file that can be neither made nor
    /// opened is an error.
    pub fn acquire(dir: &Path, kind: LockKind) -> Result<DirLock, LockError> {
        let path = dir.join(kind.file);
        let io = |error: std::io::Error| LockError::Io {
            path: path.clone(),
            error,
        };
        // A dir that cannot be made may still exist (read-only): opening
        // the file says what is really wrong.
        let _ = create_dir(dir);
        let file = private_file()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .or_else(|err| File::open(&path).map_err(|_| err))
            .map_err(io)?;
        // flock, not a PID file: the kernel drops the lock when its holder
        // dies, so a crash never leaves a stale lock behind (for the next
        // run, or monit's restart of ensure, to trip over).
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                let pid = format!("{}\n", std::process::id());
                // Best effort: the holder is whoever has the flock.
                let _ = lock
                    .set_len(0)
                    .and_then(|_| lock.seek(SeekFrom::Start(0)))
                    .and_then(|_| lock.write_all(pid.as_bytes()));
                Ok(DirLock { _lock: lock })
            }
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                // The holder may have locked and not yet written its PID
                // (a few system calls away): read again a few times, but
                // never sleep, since the dashboard calls this on its only
                // runtime thread. Still none: the message says unknown.
                let pid = (0..PID_READS).find_map(|_| {
                    let pid = read_pid(&mut file);
                    if pid.is_none() {
                        std::thread::yield_now();
                    }
                    pid
                });
                // A PID left by an earlier holder (the current one could
                // not write its own) names nobody who still runs.
                let pid = pid.filter(|pid| Path::new(&format!("/proc/{pid}")).exists());
                Err(LockError::Held(LockHeld { path, pid, kind }))
            }
            Err((_, errno)) => Err(io(errno.into())),
        }
    }
}

/// An open run log (or one that failed and went quiet).
pub struct RunLog {
    dir: PathBuf,
    run_id: String,
    phase: Phase,
    /// Who ran it: the phase's name, or what else started it (`dashboard`).
    source: String,
    events: Option<File>,
    outputs: HashMap<usize, BufWriter<File>>,
    names: HashMap<usize, String>,
    failed: bool,
    notice: Option<String>,
    _lock: Option<DirLock>,
}

impl RunLog {
    /// Takes `inject run`'s lock in `dir` and opens the log. A held lock is
    /// an error; any other failure gives a log that only carries a notice.
    pub fn open(dir: &Path, phase: Phase) -> Result<RunLog, LockHeld> {
        RunLog::open_as(dir, phase, phase.as_str())
    }

    /// [`RunLog::open`] for a run started by something other than the
    /// phase (the dashboard): its lines say `"source": source`, and its
    /// output dirs are kept and pruned apart from the phases' runs.
    pub fn open_as(dir: &Path, phase: Phase, source: &str) -> Result<RunLog, LockHeld> {
        let mut log = RunLog::new(dir, phase);
        log.source = source.to_string();
        match DirLock::acquire(dir, RUN_LOCK) {
            Ok(lock) => log._lock = Some(lock),
            Err(LockError::Held(held)) => return Err(held),
            Err(LockError::Io { error, .. }) => {
                log.fail(error);
                return Ok(log);
            }
        }
        log.open_events();
        if !log.failed {
            let made = create_dir(&log.run_dir()).and_then(|()| match log.group() {
                Some(source) => write_private(&log.run_dir().join(SOURCE_FILE), source),
                None => Ok(()),
            });
            if let Err(err) = made {
                log.fail(err);
            }
        }
        log.prune();
        Ok(log)
    }

    /// The same log without `inject run`'s lock, for a process that holds
    /// a lock of its own and must not block errand runs (`inject ensure`).
    /// Its lines go beside the runs' ([`RunLog::record_fields`]); it keeps
    /// no output files (no run dir) and prunes none of the runs' dirs.
    pub fn open_unlocked(dir: &Path, phase: Phase) -> RunLog {
        let mut log = RunLog::new(dir, phase);
        match create_dir(dir) {
            Ok(()) => log.open_events(),
            Err(err) => log.fail(err),
        }
        log
    }

    fn new(dir: &Path, phase: Phase) -> RunLog {
        let mut run_id = format!(
            "{}-{}",
            humantime::format_rfc3339_seconds(SystemTime::now()),
            std::process::id()
        );
        // A process that runs more than once (the dashboard) numbers its
        // later runs: two runs never share an id or an output dir.
        let nth = RUNS_OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if nth > 0 {
            run_id.push_str(&format!("-{nth}"));
        }
        RunLog {
            dir: dir.to_path_buf(),
            run_id,
            phase,
            source: phase.as_str().to_string(),
            events: None,
            outputs: HashMap::new(),
            names: HashMap::new(),
            failed: false,
            notice: None,
            _lock: None,
        }
    }

    /// Opens the events file for appending: writers that take no common
    /// lock (a run and ensure) each append whole lines, which stay intact.
    fn open_events(&mut self) {
        let events = private_file()
            .create(true)
            .append(true)
            .open(self.dir.join(EVENTS_FILE));
        match events {
            Ok(f) => self.events = Some(f),
            Err(err) => self.fail(err),
        }
    }

    /// Whether the log is still being written (false after a failure).
    pub fn is_writing(&self) -> bool {
        !self.failed
    }

    /// The file of one JSON line per event.
    pub fn events_path(&self) -> PathBuf {
        self.dir.join(EVENTS_FILE)
    }

    /// The directory of this run's output files.
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("runs").join(&self.run_id)
    }

    /// Where command `index`'s full output goes (nothing when the log failed).
    pub fn output_path(&self, index: usize) -> Option<PathBuf> {
        if self.failed {
            return None;
        }
        let name = self.names.get(&index)?;
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        Some(self.run_dir().join(format!("{index:02}-{safe}.log")))
    }

    /// Records an event: a JSON line, and for `Started` the command's output
    /// file. Output lines go through [`RunLog::output`] instead.
    pub fn record(&mut self, event: &Event) {
        if self.failed {
            return;
        }
        let command = match event {
            Event::Started {
                index,
                name,
                attempt,
                ..
            } => {
                self.names.insert(*index, name.clone());
                if let Err(err) = self.open_output(*index, *attempt) {
                    return self.fail(err);
                }
                Some(name.clone())
            }
            Event::Finished { index, name, .. } => {
                self.names.insert(*index, name.clone());
                if let Some(mut out) = self.outputs.remove(index) {
                    if let Err(err) = out.flush() {
                        return self.fail(err);
                    }
                }
                Some(name.clone())
            }
            Event::Output { .. } | Event::Notice { .. } => return,
            Event::OutputCut { index, .. } => self.names.get(index).cloned(),
            Event::Retrying { name, .. } => Some(name.clone()),
            Event::RunStarted { .. } | Event::RunFinished { .. } => None,
        };
        let fields = match serde_json::to_value(event) {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
        self.record_fields(command.as_deref(), fields);
    }

    /// Writes one JSON line: time, run, phase, `command` when given, then
    /// `fields` (which name their `event`). For what is no [`Event`], such
    /// as ensure's verdicts; [`RunLog::record`] writes events through it.
    pub fn record_fields(
        &mut self,
        command: Option<&str>,
        fields: serde_json::Map<String, serde_json::Value>,
    ) {
        if self.failed {
            return;
        }
        let mut line = serde_json::Map::new();
        line.insert(
            "time".into(),
            humantime::format_rfc3339_millis(SystemTime::now())
                .to_string()
                .into(),
        );
        line.insert("run".into(), self.run_id.clone().into());
        line.insert("phase".into(), self.phase.as_str().into());
        line.insert("source".into(), self.source.clone().into());
        if let Some(command) = command {
            line.insert("command".into(), command.into());
        }
        line.extend(fields);
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        if let Some(events) = self.events.as_mut() {
            if let Err(err) = events.write_all(text.as_bytes()) {
                self.fail(err);
            }
        }
    }

    /// Appends one piece of output to command `index`'s file; `complete`
    /// when the piece ended with a newline (long lines come in pieces).
    pub fn output(&mut self, index: usize, stream: Stream, piece: &[u8], complete: bool) {
        if self.failed {
            return;
        }
        let Some(out) = self.outputs.get_mut(&index) else {
            return;
        };
        let mut write = || -> std::io::Result<()> {
            if stream == Stream::Stderr {
                out.write_all(b"stderr| ")?;
            }
            out.write_all(piece)?;
            if complete {
                out.write_all(b"\n")?;
            }
            Ok(())
        };
        if let Err(err) = write() {
            self.fail(err);
        }
    }

    /// The notice about a failed log, once.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    fn open_output(&mut self, index: usize, attempt: u32) -> std::io::Result<()> {
        let Some(path) = self.output_path(index) else {
            return Ok(());
        };
        let out = self.outputs.entry(index);
        let out = match out {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let file = private_file().create(true).append(true).open(path)?;
                v.insert(BufWriter::with_capacity(64 * 1024, file))
            }
        };
        if attempt > 1 {
            writeln!(out, "--- attempt {attempt} ---")?;
        }
        Ok(())
    }

    fn fail(&mut self, err: std::io::Error) {
        if !self.failed {
            self.failed = true;
            self.events = None;
            self.outputs.clear();
            self.notice = Some(format!(
                "cannot write the run log in {}: {err}; going on without it",
                self.dir.display()
            ));
        }
    }

    /// The source whose runs this one is kept with, when it is not a
    /// phase's (those share one count).
    fn group(&self) -> Option<&str> {
        (self.source != self.phase.as_str()).then_some(self.source.as_str())
    }

    /// Removes the oldest run output dirs of this run's source beyond
    /// [`KEEP_RUNS`], never this run's own. Age is what the file system says (the last change to a
    /// dir), then the name: a name only tells the clock of the day it was
    /// made, and a clock that was once ahead makes old runs look newest.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir.join("runs")) else {
            return;
        };
        let own = self.run_dir();
        let group = self.group();
        let mut runs: Vec<(SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|path| *path != own)
            .filter(|path| {
                let source = std::fs::read_to_string(path.join(SOURCE_FILE)).ok();
                source.as_deref().map(str::trim) == group
            })
            .map(|path| {
                let changed = std::fs::symlink_metadata(&path)
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                (changed, path)
            })
            .collect();
        runs.sort();
        // This run counts as one of those kept.
        let excess = (runs.len() + 1).saturating_sub(KEEP_RUNS);
        for (_, old) in &runs[..excess.min(runs.len())] {
            let _ = std::fs::remove_dir_all(old);
        }
    }
}

/// Log dirs are 0750 and their files 0640 (BOSH's root:vcap convention):
/// output and events may hold what only the VM's operators should read.
fn create_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o750).create(dir)
}

fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(0o640);
    options
}

/// Writes a small file of the log, 0640 like the rest.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?
        .write_all(text.as_bytes())
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
