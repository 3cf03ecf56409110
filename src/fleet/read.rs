//! Reading one input (a file, or stdin) within bounds BOSH itself sets, so
//! `inject fleet /dev/zero` or `yes | inject fleet` ends at once with an
//! error instead of filling memory.
//!
//! The agent returns an instance's stdout and stderr in one reply of at
//! most 1 MiB; the director or the CLI writes them JSON-escaped again, at
//! most 6 bytes per byte (`\u003c`), so no instance takes more than 6 MiB
//! of input: [`INSTANCE_MAX`] (8 MiB) is the longest task-result line, and
//! the longest JSON string, we read. The task result is read a line at a
//! time, each reduced to its row at once; the CLI's JSON is one object,
//! held whole (about the input's size: 64 MiB for 1 000 instances with
//! 64 KiB of output each) up to [`INPUT_MAX`]. [`INSTANCES_MAX`] bounds
//! the rows a stream of small lines can make.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::input::{self, Row};

/// The most one instance's output takes as BOSH writes it (see above).
pub const INSTANCE_MAX: usize = 8 << 20;
/// The most one input holds: 1 000 instances at the agent's full 1 MiB.
pub const INPUT_MAX: usize = 1 << 30;
/// The most instances one input names (BOSH's largest deployments have a
/// few thousand).
pub const INSTANCES_MAX: usize = 100_000;

/// The rows of one input, each with where it was read
/// (`file` or `file:line`), or an error to print after `inject: `.
pub fn rows(path: Option<&Path>) -> Result<Vec<(Row, String)>, String> {
    let (origin, reader): (String, Box<dyn Read>) = match path {
        None => ("stdin".into(), Box::new(std::io::stdin().lock())),
        Some(path) => {
            let origin = path.display().to_string();
            let file = File::open(path).map_err(|e| format!("{origin}: {e}"))?;
            (origin, Box::new(file))
        }
    };
    let io = |e: std::io::Error| format!("{origin}: {e}");
    let mut input = BufReader::with_capacity(1 << 16, reader);
    // Leading blank lines are allowed; a flood of them is not.
    let (mut skipped, mut blank_lines) = (0, 0);
    loop {
        let buf = input.fill_buf().map_err(io)?;
        if buf.is_empty() {
            return Err(input::NotBosh {
                origin,
                detail: "the input is empty".into(),
            }
            .to_string());
        }
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        blank_lines += buf[..blank].iter().filter(|&&b| b == b'\n').count();
        if blank < buf.len() {
            input.consume(blank);
            break;
        }
        skipped += blank;
        input.consume(blank);
        if skipped > INSTANCE_MAX {
            return Err(too_long(&origin, "blank space"));
        }
    }
    let start = input.fill_buf().map_err(io)?;
    if start[0] != b'{' {
        // Not JSON at all: say so now rather than read on.
        let head = &start[..start.len().min(4096)];
        if let Err(e) = std::str::from_utf8(head) {
            if e.error_len().is_some() {
                return Err(not_utf8(&origin, skipped + e.valid_up_to()));
            }
        }
        return Err(input::NotBosh {
            origin,
            detail: format!(
                "not JSON the bosh CLI writes (it starts with {:?}, not `{{`)",
                String::from_utf8_lossy(&head[..head.len().min(16)])
            ),
        }
        .to_string());
    }
    let mut first = Vec::new();
    let ended = line(&mut input, &mut first).map_err(io)?;
    let task = ended
        && std::str::from_utf8(&first)
            .ok()
            .is_some_and(input::is_task_line);
    if task {
        task_result(input, first, &origin, (skipped, blank_lines))
    } else {
        document(input, first, &origin, skipped)
    }
}

/// Reads up to and with the next newline into `out`, at most
/// `INSTANCE_MAX + 1` bytes: false when the line is longer than that.
fn line(input: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<bool> {
    out.clear();
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        let room = INSTANCE_MAX + 1 - out.len();
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) if i < room => (i + 1, true),
            _ => (buf.len().min(room), false),
        };
        out.extend_from_slice(&buf[..take]);
        input.consume(take);
        if done {
            return Ok(true);
        }
        if out.len() > INSTANCE_MAX {
            return Ok(false);
        }
    }
}

/// `bosh task N --result`: a line at a time, each one instance.
fn task_result(
    mut input: impl BufRead,
    mut text: Vec<u8>,
    origin: &str,
    (skipped, blank_lines): (usize, usize),
) -> Result<Vec<(Row, String)>, String> {
    let mut rows = Vec::new();
    let mut offset = skipped;
    let mut n = 1 + blank_lines;
    loop {
        if text.len() > INSTANCE_MAX {
            return Err(too_long(&format!("{origin}:{n}"), "a line"));
        }
        if offset > INPUT_MAX {
            return Err(too_big(origin));
        }
        let line =
            std::str::from_utf8(&text).map_err(|e| not_utf8(origin, offset + e.valid_up_to()))?;
        if !line.trim().is_empty() {
            if rows.len() == INSTANCES_MAX {
                return Err(format!(
                    "{origin}:{n}: more than {INSTANCES_MAX} instances; inject fleet reads at most \
                     {INSTANCES_MAX} from one input"
                ));
            }
            let row = input::task_line(line, origin, n).map_err(|e| e.to_string())?;
            rows.push((row, format!("{origin}:{n}")));
        }
        offset += text.len();
        n += 1;
        let ended = line_or_eof(&mut input, &mut text).map_err(|e| format!("{origin}: {e}"))?;
        if !ended {
            return Ok(rows);
        }
    }
}

/// The next line into `text`: false at the end of the input.
fn line_or_eof(input: &mut impl BufRead, text: &mut Vec<u8>) -> std::io::Result<bool> {
    if input.fill_buf()?.is_empty() {
        return Ok(false);
    }
    line(input, text)?;
    Ok(true)
}

/// The CLI's JSON: read whole, within [`INPUT_MAX`], refusing at once a
/// string longer than [`INSTANCE_MAX`] (no instance's output is).
fn document(
    mut input: impl BufRead,
    first: Vec<u8>,
    origin: &str,
    skipped: usize,
) -> Result<Vec<(Row, String)>, String> {
    let mut progress = Progress {
        offset: skipped,
        ..Progress::default()
    };
    let mut text = first;
    let mut checked = 0;
    loop {
        progress.feed(&text[checked..]).map_err(|e| match e {
            Refused::TooLong => too_long(origin, "a JSON string or value"),
            Refused::NotJson(at) => input::NotBosh {
                origin: origin.to_string(),
                detail: format!("not JSON the bosh CLI writes (byte {at} is not JSON)"),
            }
            .to_string(),
        })?;
        checked = text.len();
        if text.len() + skipped > INPUT_MAX {
            return Err(too_big(origin));
        }
        let buf = input.fill_buf().map_err(|e| format!("{origin}: {e}"))?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        text.extend_from_slice(buf);
        input.consume(n);
    }
    let text =
        std::str::from_utf8(&text).map_err(|e| not_utf8(origin, skipped + e.valid_up_to()))?;
    let rows = input::document(text, origin).map_err(|e| e.to_string())?;
    Ok(rows.into_iter().map(|r| (r, origin.to_string())).collect())
}

/// What the document has shown so far, across chunks: the length of the
/// string or bare run (whitespace, number, literal) being read, which no
/// instance's output makes longer than [`INSTANCE_MAX`], and bytes JSON
/// never has outside a string (`{` then `/dev/zero`), refused at once.
#[derive(Default)]
struct Progress {
    inside: bool,
    escaped: bool,
    length: usize,
    offset: usize,
}

enum Refused {
    TooLong,
    NotJson(usize),
}

impl Progress {
    fn feed(&mut self, bytes: &[u8]) -> Result<(), Refused> {
        for &b in bytes {
            self.offset += 1;
            self.length += 1;
            if self.inside {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.inside = false;
                }
            } else {
                match b {
                    b'"' => {
                        self.inside = true;
                        self.length = 0;
                    }
                    b'{' | b'}' | b'[' | b']' | b',' | b':' => self.length = 0,
                    b' ' | b'\t' | b'\n' | b'\r' | b'+' | b'-' | b'.' => {}
                    b if b.is_ascii_alphanumeric() => {}
                    _ => return Err(Refused::NotJson(self.offset - 1)),
                }
            }
            if self.length > INSTANCE_MAX {
                return Err(Refused::TooLong);
            }
        }
        Ok(())
    }
}

fn too_long(place: &str, what: &str) -> String {
    format!(
        "{place}: {what} longer than {} MiB, more than BOSH gives for one instance (the agent's \
         reply is at most 1 MiB, at most 6 MiB JSON-escaped); this is not BOSH's output",
        INSTANCE_MAX >> 20
    )
}

fn too_big(origin: &str) -> String {
    format!(
        "{origin}: more than {} GiB; inject fleet reads at most {} GiB from one input (1 000 \
         instances at the agent's full 1 MiB); split it, e.g. one task's result per file",
        INPUT_MAX >> 30,
        INPUT_MAX >> 30
    )
}

fn not_utf8(origin: &str, at: usize) -> String {
    format!("{origin}: not UTF-8 text at byte {at}; BOSH's JSON is UTF-8")
}
