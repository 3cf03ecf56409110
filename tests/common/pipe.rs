//! A reader that stops early, as `| head -c1` does.

use std::io::Read;
use std::process::{Child, Command, Stdio};

/// Spawns `cmd` with piped stdout and stderr, reads one byte of its stdout,
/// then closes the pipe; the caller waits for the child as it likes.
pub fn spawn_with_stdout_closed_early(cmd: &mut Command) -> Child {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    child
}
