//! The run log: one JSON line per event in `<dir>/inject-run.jsonl`, each
//! command's output in `<dir>/runs/<run>/<NN>-<name>.log`, and the locks
//! of a log dir ([`DirLock`]): one `inject run` at a time, and (with a
//! lock of its own) one `inject ensure`.
//!
//! Everything in the log dir is opened through [`LogDir`] (`openat`,
//! `O_NOFOLLOW`, the dir checked first): inject runs as root there, and a
//! link planted in it must never make it write elsewhere.
//!
//! The lock fails closed: a lock that cannot be taken refuses the run
//! ([`LockError`]), except for the stop-side hooks, which must never fail
//! a stop ([`RunLog::open_for_stop`]). A log that cannot be written once
//! the lock is held must not fail the errand: the first failure becomes
//! one notice (see [`RunLog::take_notice`]) and the log goes quiet.
//!
//! Bounds: a command's output file keeps its first [`OUTPUT_HEAD`] and last
//! [`OUTPUT_TAIL`] bytes and says how much was dropped between; the events
//! file is rotated at [`EVENTS_ROTATE_AT`] to `inject-run.jsonl.1` (one
//! old generation); output dirs are kept [`KEEP_RUNS`] per source.

mod logdir;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg, OFlag};

pub use logdir::{take_tightened, DirError, LogDir};

use crate::phase::Phase;
use crate::run_event::{RunEvent, Stream};

/// Where BOSH jobs keep their logs; present only on a BOSH VM.
pub const BOSH_LOG_ROOT: &str = "/var/vcap/sys/log";
pub const BOSH_LOG_DIR: &str = "/var/vcap/sys/log/inject-commands";
pub const EVENTS_FILE: &str = "inject-run.jsonl";
/// The events file's previous generation (BOSH's logrotate takes only
/// `*.log`, so inject rotates its own).
pub const EVENTS_OLD_FILE: &str = "inject-run.jsonl.1";
/// Size past which the events file is rotated (checked at every line).
pub const EVENTS_ROTATE_AT: u64 = 10 * 1024 * 1024;
pub const LOCK_FILE: &str = "inject.lock";
/// Run output directories kept per source (a phase, or the dashboard);
/// older ones are removed when a run starts.
pub const KEEP_RUNS: usize = 20;
/// In a run's output dir, who ran it (`errand`, `pre-stop`, `dashboard`):
/// pruning counts each source's runs apart, so hook or dashboard runs never
/// evict the errand's. A dir without it (older versions) counts as the
/// errand's.
pub const SOURCE_FILE: &str = ".source";
/// Of a command's output file: the first bytes kept ...
pub const OUTPUT_HEAD: u64 = 4 * 1024 * 1024;
/// ... and the last (held in memory until the command ends).
pub const OUTPUT_TAIL: usize = 1024 * 1024;
/// How often a stop-side hook tries a held lock again.
const STOP_POLL: Duration = Duration::from_millis(100);
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

/// Another process holds a log dir's lock: who, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", held_text(self))]
pub struct LockHeld {
    pub path: PathBuf,
    /// The holder's PID as it wrote it into the lock file, when that PID is
    /// a live inject.
    pub pid: Option<u32>,
    /// A PID in the lock file that is no live inject: an earlier holder's,
    /// or a killed inject's whose command still holds the lock.
    pub stale: Option<u32>,
    pub kind: LockKind,
    /// The holder locked an earlier `path` that was removed (with its log
    /// dir, or alone) while it held it: the process still runs, and a new
    /// lock file would let a second run start beside it.
    pub removed: bool,
}

/// [`LockHeld`]'s text: who holds the lock (a live pid, a stale one, or
/// one whose file was removed), then the lock kind's advice.
fn held_text(held: &LockHeld) -> String {
    let (path, holder, advice) = (held.path.display(), held.kind.holder, held.kind.advice);
    if held.removed {
        let who = match held.pid {
            Some(pid) => format!("pid {pid}"),
            None => "a process".to_string(),
        };
        return format!(
            "{path} was removed while {who} held it, and that {holder} (or a command it \
             started) still runs; refusing to start a second one beside it; {advice}"
        );
    }
    match (held.pid, held.stale) {
        (Some(pid), _) => {
            format!("another {holder} (pid {pid}) is running and holds {path}; {advice}")
        }
        (None, Some(stale)) => format!(
            "another {holder} (pid unknown: pid {stale} in the lock file is stale, no live inject) \
             holds {path}; a command of an inject that was killed may still run and hold it \
             (see `fuser -v {path}`); {advice}"
        ),
        (None, None) => {
            format!("another {holder} (pid unknown) is running and holds {path}; {advice}")
        }
    }
}

/// Why a log dir's lock was not taken. Each refuses the run: without the
/// lock two runs could overlap.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Held(LockHeld),
    /// The log dir is unsafe to write in (a link, another owner's, open to
    /// others) or cannot be opened.
    #[error("{0}; refusing to run without the lock")]
    Dir(#[source] DirError),
    /// The lock file can be neither made nor opened, or not locked.
    #[error(
        "cannot take the lock{}: {error}; refusing to run without it (two runs could \
         overlap): make the log dir writable with room for the lock file (a plain file of \
         inject's: remove anything else of that name), or point --log-dir (or \
         INJECT_LOG_DIR) at one that is",
        unless_named(.path, .error)
    )]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    /// `error`, met after this process tightened dirs from the BOSH agent's
    /// shape (see [`take_tightened`]): a refusal says those changes too.
    #[error("{}; then: {error}", .notices.join("; "))]
    Tightened {
        notices: Vec<String>,
        #[source]
        error: Box<LockError>,
    },
}

impl LockError {
    /// `self`, carrying the dirs this process tightened and has not said
    /// yet. A held lock stays as it is (its callers name the holder): its
    /// notices wait for the next log this process opens.
    fn with_tightened(self) -> LockError {
        if matches!(self, LockError::Held(_)) {
            return self;
        }
        let notices = take_tightened();
        if notices.is_empty() {
            return self;
        }
        LockError::Tightened {
            notices,
            error: Box::new(self),
        }
    }
}

/// ` PATH`, unless `error`'s text names the path already (the file's
/// errors do).
fn unless_named(path: &Path, error: &std::io::Error) -> String {
    if error.to_string().contains(&*path.to_string_lossy()) {
        String::new()
    } else {
        format!(" {}", path.display())
    }
}

/// A held lock on a file in a log dir; dropping it (or dying) releases it.
///
/// The commands of a run inherit the locked file (see
/// [`RunLog::lock_fd`]): if inject is killed (`kill -9`) while a command
/// runs, the lock stays held until the last process of that command ends,
/// so no second run starts beside it. Dropping the lock unlocks it
/// explicitly, which releases it for every holder: a daemon a command
/// left behind on purpose does not keep later runs out.
#[derive(Debug)]
pub struct DirLock {
    lock: Flock<File>,
}

impl DirLock {
    /// Takes `<dir>/<kind.file>` (making and checking the dir, see
    /// [`LogDir::open`]) and writes our PID into it.
    pub fn acquire(dir: &Path, kind: LockKind) -> Result<DirLock, LockError> {
        let dir = LogDir::open(dir).map_err(LockError::Dir);
        dir.and_then(|dir| DirLock::acquire_in(&dir, kind))
            .map_err(LockError::with_tightened)
    }

    /// Takes `kind.file` in an open log dir and writes our PID into it, for
    /// whoever finds it held. Never waits: a held lock is an error naming
    /// the holder.
    ///
    /// The lock is the `flock` on the open file, not the PID in it: a file
    /// that can only be opened for reading (a read-only dir) is locked all
    /// the same, and a PID that cannot be written (a full disk) is only
    /// information lost. A lock file that can be neither made nor opened
    /// is an error: the run is refused.
    pub fn acquire_in(dir: &LogDir, kind: LockKind) -> Result<DirLock, LockError> {
        let path = dir.path().join(kind.file);
        let io = |error: std::io::Error| LockError::Io {
            path: path.clone(),
            error,
        };
        // Made (and later written) through one descriptor, locked through
        // another, read-only one: that is the one commands inherit, so
        // they cannot write the file.
        let writer = dir.open_file(kind.file, OFlag::O_RDWR | OFlag::O_CREAT);
        let file = dir
            .open_file(kind.file, OFlag::O_RDONLY)
            .map_err(|err| writer.as_ref().err().map_or(err, clone_error))
            .map_err(io)?;
        // flock, not a PID file: the kernel drops the lock when its last
        // holder is gone, so a crash never leaves a stale lock behind.
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                // Removing the log dir (or the lock file) under a running
                // holder would let this run start beside it: the kernel
                // still shows the holder's descriptor, as deleted.
                if let Some(holder) = holder_of_removed(lock.as_raw_fd()) {
                    return Err(LockError::Held(LockHeld {
                        path,
                        pid: Some(holder),
                        stale: None,
                        kind,
                        removed: true,
                    }));
                }
                let pid = format!("{}\n", std::process::id());
                // Best effort: the holder is whoever has the flock.
                if let Ok(mut writer) = writer {
                    let _ = writer
                        .set_len(0)
                        .and_then(|_| writer.write_all(pid.as_bytes()));
                }
                Ok(DirLock { lock })
            }
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                // The holder may have locked and not yet written its PID
                // (a few system calls away): read again a few times, but
                // never sleep, since the dashboard calls this on its only
                // runtime thread. Still none: the message says unknown.
                let read = (0..PID_READS).find_map(|_| {
                    let pid = read_pid(&mut file);
                    if pid.is_none() {
                        std::thread::yield_now();
                    }
                    pid
                });
                // A PID left by an earlier holder, or by an inject killed
                // while its command runs, names nobody who holds it.
                let (pid, stale) = match read {
                    Some(pid) if is_live_inject(pid) => (Some(pid), None),
                    Some(pid) => (None, Some(pid)),
                    None => (None, None),
                };
                Err(LockError::Held(LockHeld {
                    path,
                    pid,
                    stale,
                    kind,
                    removed: false,
                }))
            }
            Err((_, errno)) => Err(io(errno.into())),
        }
    }

    /// The locked file's descriptor, for commands to inherit.
    pub fn fd(&self) -> RawFd {
        self.lock.as_raw_fd()
    }
}

/// A process that still holds an earlier lock file of the same path, one
/// removed while held (`/proc/PID/fd/N` reads `PATH (deleted)`): a run that
/// started before its log dir was removed, or a command it started. The
/// path is the one the kernel gives our own descriptor (links resolved).
/// Only what this process may read is seen: as root, every process.
fn holder_of_removed(fd: RawFd) -> Option<u32> {
    let ours = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let mut removed = ours.into_os_string();
    removed.push(" (deleted)");
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == removed) {
                return Some(pid);
            }
        }
    }
    None
}

/// Whether `pid` is a running inject (the CLI or its dashboard): its
/// program's name is `inject`. A PID the kernel gave to another program
/// since, or a zombie, is not.
fn is_live_inject(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let program = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let name = program.rsplit(|&b| b == b'/').next().unwrap_or_default();
    name == b"inject" || name == b"inject-tui"
}

/// Whether `phase` is a stop-side hook: it must never fail the stop (see
/// [`RunLog::open_for_stop`]).
pub fn is_stop_side(phase: Phase) -> bool {
    matches!(phase, Phase::PreStop | Phase::Drain | Phase::PostStop)
}

/// A command's output file: the first [`OUTPUT_HEAD`] bytes go to disk as
/// they come, the last [`OUTPUT_TAIL`] are held and written when the
/// command ends, with how much was dropped between.
struct OutputLog {
    file: BufWriter<File>,
    written: u64,
    tail: VecDeque<u8>,
    dropped: u64,
}

impl OutputLog {
    fn new(file: File) -> OutputLog {
        OutputLog {
            file: BufWriter::with_capacity(64 * 1024, file),
            written: 0,
            tail: VecDeque::new(),
            dropped: 0,
        }
    }

    fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        if self.written < OUTPUT_HEAD {
            let room = usize::try_from(OUTPUT_HEAD - self.written).unwrap_or(usize::MAX);
            let now = bytes.len().min(room);
            self.file.write_all(&bytes[..now])?;
            self.written += now as u64;
            bytes = &bytes[now..];
        }
        if !bytes.is_empty() {
            self.tail.extend(bytes);
            let excess = self.tail.len().saturating_sub(OUTPUT_TAIL);
            if excess > 0 {
                self.tail.drain(..excess);
                self.dropped += excess as u64;
            }
        }
        Ok(())
    }

    /// Writes the tail (and the note on what was dropped) and flushes.
    fn finish(&mut self) -> std::io::Result<()> {
        if self.dropped > 0 {
            write!(
                self.file,
                "\n--- inject: {} bytes of output dropped here; this file keeps the first {} \
                 and the last {} bytes of a command's output ---\n",
                self.dropped, OUTPUT_HEAD, OUTPUT_TAIL
            )?;
            self.dropped = 0;
        }
        let (a, b) = self.tail.as_slices();
        self.file.write_all(a)?;
        self.file.write_all(b)?;
        self.tail.clear();
        self.file.flush()
    }
}

/// An open run log (or one that failed and went quiet).
pub struct RunLog {
    dir: PathBuf,
    /// The log dir, open (none when it could not be).
    logdir: Option<LogDir>,
    /// This run's output dir, open (none for a log without outputs).
    run: Option<LogDir>,
    run_id: String,
    phase: Phase,
    /// Who ran it: the phase's name, or what else started it (`dashboard`).
    source: String,
    events: Option<File>,
    outputs: HashMap<usize, OutputLog>,
    names: HashMap<usize, String>,
    failed: bool,
    notices: VecDeque<String>,
    lock: Option<DirLock>,
}

impl RunLog {
    /// Takes `inject run`'s lock in `dir` and opens the log. A lock that
    /// is held or cannot be taken is an error (the run must not start);
    /// any later failure gives a log that only carries a notice.
    pub fn open(dir: &Path, phase: Phase) -> Result<RunLog, LockError> {
        RunLog::open_as(dir, phase, phase.as_str())
    }

    /// [`RunLog::open`] for a run started by something other than the
    /// phase (the dashboard): its lines say `"source": source`, and its
    /// output dirs are kept and pruned apart from the phases' runs.
    pub fn open_as(dir: &Path, phase: Phase, source: &str) -> Result<RunLog, LockError> {
        RunLog::open_checked(dir, phase, source).map_err(LockError::with_tightened)
    }

    fn open_checked(dir: &Path, phase: Phase, source: &str) -> Result<RunLog, LockError> {
        let logdir = LogDir::open(dir).map_err(LockError::Dir)?;
        let lock = DirLock::acquire_in(&logdir, RUN_LOCK)?;
        // An unsafe `runs` refuses the run like an unsafe log dir; one that
        // cannot be made (a read-only dir) only loses the output files.
        let runs = match logdir.subdir("runs") {
            Err(DirError::Io { error, .. }) => Err(error),
            Err(unsafe_dir) => return Err(LockError::Dir(unsafe_dir)),
            Ok(runs) => Ok(runs),
        };
        let mut log = RunLog::new(dir, phase);
        log.source = source.to_string();
        log.lock = Some(lock);
        log.start(logdir, runs, true);
        Ok(log)
    }

    /// The log for a run of `phase`: [`RunLog::open`], or for a stop-side
    /// hook [`RunLog::open_for_stop`] waiting at most `wait`.
    pub async fn open_for_phase(
        dir: &Path,
        phase: Phase,
        wait: Duration,
    ) -> Result<RunLog, LockError> {
        if is_stop_side(phase) {
            Ok(RunLog::open_for_stop(dir, phase, wait).await)
        } else {
            RunLog::open(dir, phase)
        }
    }

    /// The log of a stop-side hook (`pre-stop`, `drain`, `post-stop`),
    /// which must never fail the stop (BOSH cannot stop an instance whose
    /// post-stop fails). A lock held by a live run is waited for, at most
    /// `wait`; a lock still held then, or one that cannot be taken (a
    /// read-only or full log dir), gives an unlocked log and a warning
    /// (the first notice, also written to the events file when it can be).
    pub async fn open_for_stop(dir: &Path, phase: Phase, wait: Duration) -> RunLog {
        let deadline = tokio::time::Instant::now() + wait;
        let err = loop {
            match RunLog::open(dir, phase) {
                Ok(log) => return log,
                Err(LockError::Held(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(STOP_POLL).await;
                }
                Err(err) => break err,
            }
        };
        let warning = match &err {
            LockError::Held(held) => format!(
                "{held}; waited {}: a {} hook must not fail the stop, so its commands run without the lock",
                humantime::format_duration(wait),
                phase.as_str()
            ),
            other => format!(
                "{other}; a {} hook must not fail the stop, so its commands run anyway",
                phase.as_str()
            ),
        };
        let mut log = RunLog::new(dir, phase);
        log.notices.push_back(warning.clone());
        match LogDir::open(dir) {
            // Not pruned: another run may be at it.
            Ok(logdir) => {
                let runs = logdir.subdir("runs").map_err(to_io);
                log.start(logdir, runs, false);
            }
            Err(err) => log.fail(to_io(err)),
        }
        let mut fields = serde_json::Map::new();
        fields.insert("event".into(), "notice".into());
        fields.insert("message".into(), warning.into());
        log.record_fields(None, fields);
        log
    }

    /// The same log without `inject run`'s lock, for a process that holds
    /// a lock of its own and must not block errand runs (`inject ensure`).
    /// Its lines go beside the runs' ([`RunLog::record_fields`]); it keeps
    /// no output files (no run dir) and prunes none of the runs' dirs.
    pub fn open_unlocked(dir: &Path, phase: Phase) -> RunLog {
        let mut log = RunLog::new(dir, phase);
        match LogDir::open(dir) {
            Ok(logdir) => {
                log.open_events(&logdir);
                log.logdir = Some(logdir);
            }
            Err(err) => log.fail(to_io(err)),
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
            logdir: None,
            run: None,
            run_id,
            phase,
            source: phase.as_str().to_string(),
            events: None,
            outputs: HashMap::new(),
            names: HashMap::new(),
            failed: false,
            notices: VecDeque::new(),
            lock: None,
        }
    }

    /// Opens the events file, this run's output dir (named with its source)
    /// and, when `prune`, removes old output dirs.
    fn start(&mut self, logdir: LogDir, runs: std::io::Result<LogDir>, prune: bool) {
        self.open_events(&logdir);
        self.logdir = Some(logdir);
        if self.failed {
            return;
        }
        let made = runs.and_then(|runs| {
            let run = runs.create_subdir(&self.run_id).map_err(to_io)?;
            run.create_new(SOURCE_FILE)?
                .write_all(format!("{}\n", self.source).as_bytes())?;
            Ok((runs, run))
        });
        match made {
            Ok((runs, run)) => {
                self.run = Some(run);
                if prune {
                    self.prune(&runs);
                }
            }
            Err(err) => self.fail(err),
        }
    }

    /// Opens the events file for appending: writers that take no common
    /// lock (a run and ensure) each append whole lines, which stay intact.
    fn open_events(&mut self, logdir: &LogDir) {
        match logdir.append(EVENTS_FILE) {
            Ok(f) => self.events = Some(f),
            Err(err) => self.fail(err),
        }
        self.say_tightened();
    }

    /// Says (a notice, and a `notice` line) each dir this process tightened
    /// from the BOSH agent's shape (see [`take_tightened`]), whichever of
    /// its opens did it.
    fn say_tightened(&mut self) {
        for message in take_tightened() {
            self.notices.push_back(message.clone());
            let mut fields = serde_json::Map::new();
            fields.insert("event".into(), "notice".into());
            fields.insert("message".into(), message.into());
            self.record_fields(None, fields);
        }
    }

    /// Moves a full events file to [`EVENTS_OLD_FILE`] and starts a new
    /// one. Only if the name still is the file we write (another writer may
    /// have rotated it already).
    fn rotate_events(&mut self) -> std::io::Result<()> {
        let (Some(logdir), Some(events)) = (self.logdir.as_ref(), self.events.as_ref()) else {
            return Ok(());
        };
        let ours = nix::sys::stat::fstat(events)?;
        if ours.st_size < EVENTS_ROTATE_AT as i64 {
            return Ok(());
        }
        let named = logdir.stat(EVENTS_FILE).ok();
        if named.is_some_and(|n| n.st_ino == ours.st_ino && n.st_dev == ours.st_dev) {
            logdir.rename(EVENTS_FILE, EVENTS_OLD_FILE)?;
        }
        self.events = Some(logdir.append(EVENTS_FILE)?);
        Ok(())
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

    /// The lock file's descriptor while this log holds `inject run`'s lock:
    /// the runner lets commands inherit it (see [`DirLock`]).
    pub fn lock_fd(&self) -> Option<RawFd> {
        self.lock.as_ref().map(DirLock::fd)
    }

    /// Where command `index`'s output goes (nothing when the log failed).
    pub fn output_path(&self, index: usize) -> Option<PathBuf> {
        if self.failed || self.run.is_none() {
            return None;
        }
        let name = self.output_name(index)?;
        Some(self.run_dir().join(name))
    }

    fn output_name(&self, index: usize) -> Option<String> {
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
        Some(format!("{index:02}-{safe}.log"))
    }

    /// Records an event: a JSON line, and for `Started` the command's output
    /// file. Output lines go through [`RunLog::output`] instead.
    pub fn record(&mut self, event: &RunEvent) {
        if self.failed {
            return;
        }
        let command = match event {
            RunEvent::Started {
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
            RunEvent::Finished { index, name, .. } => {
                self.names.insert(*index, name.clone());
                if let Some(mut out) = self.outputs.remove(index) {
                    if let Err(err) = out.finish() {
                        return self.fail(err);
                    }
                }
                Some(name.clone())
            }
            RunEvent::Output { .. } | RunEvent::Notice { .. } => return,
            RunEvent::OutputCut { index, .. } => self.names.get(index).cloned(),
            RunEvent::Retrying { name, .. } => Some(name.clone()),
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. } => None,
        };
        let fields = match serde_json::to_value(event) {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => serde_json::Map::new(),
        };
        self.record_fields(command.as_deref(), fields);
    }

    /// Writes one JSON line: time, run, phase, `command` when given, then
    /// `fields` (which name their `event`). For what is no [`RunEvent`], such
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
        let written = match self.events.as_mut() {
            Some(events) => events
                .write_all(text.as_bytes())
                .and_then(|()| self.rotate_events()),
            None => Ok(()),
        };
        if let Err(err) = written {
            self.fail(err);
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
                out.write(b"stderr| ")?;
            }
            out.write(piece)?;
            if complete {
                out.write(b"\n")?;
            }
            Ok(())
        };
        if let Err(err) = write() {
            self.fail(err);
        }
    }

    /// The next notice (a warning, or that the log failed), once each.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notices.pop_front()
    }

    fn open_output(&mut self, index: usize, attempt: u32) -> std::io::Result<()> {
        let (Some(run), Some(name)) = (self.run.as_ref(), self.output_name(index)) else {
            return Ok(());
        };
        let out = match self.outputs.entry(index) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(OutputLog::new(run.append(&name)?))
            }
        };
        if attempt > 1 {
            out.write(format!("--- attempt {attempt} ---\n").as_bytes())?;
        }
        Ok(())
    }

    fn fail(&mut self, err: std::io::Error) {
        if !self.failed {
            self.failed = true;
            self.events = None;
            self.outputs.clear();
            self.notices.push_back(format!(
                "cannot write the run log in {}: {err}; going on without it",
                self.dir.display()
            ));
        }
    }

    /// Removes the oldest output dirs of this run's source beyond
    /// [`KEEP_RUNS`], never this run's own; entries are removed without
    /// following links. Age is what the file system says (the last change
    /// to a dir): a name only tells the clock of the day it was made. An
    /// entry changed in the future (a clock once ahead, or a planted one)
    /// counts as older than every real run: it never evicts one.
    fn prune(&self, runs: &LogDir) {
        let Ok(names) = runs.names() else {
            return;
        };
        let now = SystemTime::now();
        let mut candidates: Vec<((bool, SystemTime), String)> = names
            .into_iter()
            .filter(|name| *name != self.run_id)
            .filter(|name| source_of(runs, name) == self.source)
            .map(|name| {
                let changed = runs.stat(&name).ok().map_or(SystemTime::UNIX_EPOCH, |st| {
                    let secs = u64::try_from(st.st_mtime).unwrap_or(0);
                    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
                });
                ((changed <= now, changed), name)
            })
            .collect();
        candidates.sort();
        // This run counts as one of those kept.
        let excess = (candidates.len() + 1).saturating_sub(KEEP_RUNS);
        for (_, old) in &candidates[..excess.min(candidates.len())] {
            let _ = runs.remove(old);
        }
    }
}

impl Drop for RunLog {
    /// A run that ends without its commands' `Finished` (a signal, a
    /// dropped future) still gets their output tails written.
    fn drop(&mut self) {
        for out in self.outputs.values_mut() {
            let _ = out.finish();
        }
    }
}

/// Who ran the output dir `name` in `runs`: its [`SOURCE_FILE`], read
/// without following links; `errand` for a dir without one (older versions
/// wrote it only for the dashboard), or anything that is no dir of ours.
fn source_of(runs: &LogDir, name: &str) -> String {
    let dir = LogDir::open_in(runs, name);
    let text = dir.ok().and_then(|d| d.read_small(SOURCE_FILE, 256).ok());
    match text {
        Some(text) => String::from_utf8_lossy(&text).trim().to_string(),
        None => Phase::Errand.as_str().to_string(),
    }
}

/// The same error again (io errors do not clone): the first reason the
/// lock file could not be opened is the one worth saying.
fn clone_error(err: &std::io::Error) -> std::io::Error {
    match err.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(err.kind(), err.to_string()),
    }
}

fn to_io(err: DirError) -> std::io::Error {
    match err {
        DirError::Io { error, .. } => error,
        other => std::io::Error::other(other.to_string()),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    Read::by_ref(file).take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
