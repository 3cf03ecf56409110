//! What the integration tests share: the binary under test, waiting, text
//! of a process's output, processes that end with their test, the one rule
//! for skipping, and the harnesses (network namespaces, systemd-networkd,
//! BOSH's own code, the agent's reply encoding).
//!
//! Each test binary compiles this module with `mod common;` and uses part
//! of it, hence `dead_code` allowed once here.
#![allow(dead_code)]

pub mod agent;
pub mod bosh;
pub mod netns;
pub mod networkd;
pub mod pipe;
pub mod skip;
pub mod tmux;
pub mod vcap_mount;

use std::process::{Child, Output};

#[allow(unused_imports)] // each test binary uses part of it
pub use skip::{is_root, root_or_skip, skip, tool_or_skip, under_ci};
use std::time::{Duration, Instant};

/// The `inject` binary cargo built for these tests.
pub const INJECT: &str = env!("CARGO_BIN_EXE_inject");

/// Bytes a process printed, as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A finished process's stdout then stderr, as text.
pub fn all_output(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Polls `ok` (every 2 ms) until it holds and returns how long that took;
/// panics naming `what` after `limit`. The limit only turns a hang into a
/// failure with a message: it is no timing assertion.
pub fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    start.elapsed()
}

/// A process exists and is not a zombie (a zombie has ended; only its
/// parent's bookkeeping is left).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next();
            state != Some('Z')
        }
        Err(_) => false,
    }
}

/// A finished `inject`: exit code (-1 for a signal) and its output as text;
/// its Debug shows all three, for assertion messages.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A child killed (SIGKILL) and reaped when the test ends, passed or
/// failed: a watcher left behind in a deleted namespace would wait forever,
/// holding the test's output open.
pub struct Reaped(pub Child);

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's stdout, read on a thread so the test can time out.
pub fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("the child's stdout piped");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one satisfies `want` (for 10 s at the most, a hang
/// guard); on timeout, all lines read so far.
pub fn wait_for_line(
    rx: &std::sync::mpsc::Receiver<String>,
    want: impl Fn(&str) -> bool,
) -> Result<String, Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if want(&line) => return Ok(line),
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    Err(seen)
}

/// Waits for a child that must end by itself (20 s at the most, a hang
/// guard, not a timing); panics with `what` if it does not.
pub fn wait_ended(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let mut status = None;
    wait_for(what, Duration::from_secs(20), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}
