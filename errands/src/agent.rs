//! What the BOSH agent makes of an errand's output, so a run can stay inside
//! what the agent can hand back.
//!
//! bosh-agent v2 (github.com/cloudfoundry/bosh-agent/v2, read at
//! v2.704.1-0.20241217153539-fa24471a8f6e):
//! - `agent/action/run_errand.go` captures the whole of `bin/run`'s stdout and
//!   stderr (bosh-utils `system/exec_process.go`, two `bytes.Buffer`s) and
//!   returns `ErrandResult{Stdout, Stderr, ExitStatus}`: both streams go
//!   into one reply, `{"value":{"stdout":"…","stderr":"…","exit_code":N}}`.
//! - `handler/perform_handler_with_json.go` (`marshalResponse`) encodes that
//!   reply with `encoding/json` and, when it is longer than the limit, sends
//!   only `Response exceeded maximum allowed length`: the errand fails and
//!   all of its output is lost.
//! - `mbus/nats_handler.go`: `responseMaxLength = 1024 * 1024`.
//!
//! `encoding/json` (Go ≥ 1.22, `appendString` with `escapeHTML`, as
//! `json.Marshal` does) writes `<` `>` `&`, U+2028, U+2029, control
//! characters other than `\b \f \n \r \t` and every byte of invalid UTF-8
//! as six bytes (`\u003c`, `\ufffd`); `"`, `\` and those five controls as
//! two. [`json_len`] counts exactly that.

/// The longest reply the agent sends (`responseMaxLength`, 1 MiB).
pub const REPLY_LIMIT: u64 = 1024 * 1024;

/// Left for what the agent wraps around our output (`{"value":…}` is some
/// 50 bytes) and for anything printed outside a run's printer (bin/run's own
/// lines, a notice before the run starts).
pub const ENVELOPE: u64 = 64 * 1024;

/// Printed bytes, as encoded, that one `inject run` may use, stdout and
/// stderr together.
pub const PRINT_BUDGET: u64 = REPLY_LIMIT - ENVELOPE;

/// Bytes `text` takes inside a JSON string written by Go's `json.Marshal`
/// (without the quotes).
pub fn json_len(text: &[u8]) -> u64 {
    let mut len = 0;
    for chunk in text.utf8_chunks() {
        len += chunk.valid().chars().map(char_len).sum::<u64>();
        // Go decodes invalid UTF-8 one byte at a time, each into `\ufffd`.
        len += 6 * chunk.invalid().len() as u64;
    }
    len
}

/// Room kept back for the line that says a printout was cut.
pub const CUT_NOTE_ROOM: u64 = 1024;

/// What fits of a printout that is not a run's events (the dry run's
/// plan): lines in order, each costing what the agent's reply spends on it
/// ([`json_len`] and its `\n`), until [`PRINT_BUDGET`] (less
/// [`CUT_NOTE_ROOM`]) is spent. The first line that does not fit is cut
/// to what does, and nothing after it fits: a 300 000-character `run:`
/// would otherwise make the preview fail the errand that it previews.
pub struct ReplyBudget {
    left: u64,
    cut: bool,
}

/// What [`ReplyBudget::fit`] lets through of one line.
#[derive(Debug, PartialEq, Eq)]
pub enum Fit<'a> {
    Whole(&'a str),
    /// The head that fits, and how many characters were left out.
    Cut(&'a str, usize),
    /// Nothing: an earlier line was cut.
    Nothing,
}

impl ReplyBudget {
    /// The whole budget of one `inject run`.
    pub fn new() -> ReplyBudget {
        ReplyBudget::with_limit(PRINT_BUDGET)
    }

    pub fn with_limit(limit: u64) -> ReplyBudget {
        ReplyBudget {
            left: limit.saturating_sub(CUT_NOTE_ROOM),
            cut: false,
        }
    }

    /// Whether a line has been cut (and every later one left out).
    pub fn was_cut(&self) -> bool {
        self.cut
    }

    pub fn fit<'a>(&mut self, line: &'a str) -> Fit<'a> {
        if self.cut {
            return Fit::Nothing;
        }
        let cost = json_len(line.as_bytes()) + 2;
        if cost <= self.left {
            self.left -= cost;
            return Fit::Whole(line);
        }
        self.cut = true;
        let mut room = self.left.saturating_sub(2);
        let mut end = 0;
        for (at, c) in line.char_indices() {
            let len = char_len(c);
            if len > room {
                break;
            }
            room -= len;
            end = at + c.len_utf8();
        }
        self.left = 0;
        Fit::Cut(&line[..end], line[end..].chars().count())
    }
}

impl Default for ReplyBudget {
    fn default() -> ReplyBudget {
        ReplyBudget::new()
    }
}

fn char_len(c: char) -> u64 {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_counts_as_itself() {
        assert_eq!(json_len(b""), 0);
        assert_eq!(json_len(b"ip -6 route add default"), 23);
        // Multi-byte UTF-8 is written as is; DEL is no control for Go.
        assert_eq!(json_len("é€😀".as_bytes()), 2 + 3 + 4);
        assert_eq!(json_len(b"\x7f"), 1);
    }

    #[test]
    fn escapes_count_as_go_writes_them() {
        assert_eq!(json_len(b"\"\\"), 4);
        assert_eq!(json_len(b"\n\r\t\x08\x0c"), 10);
        assert_eq!(json_len(b"<>&"), 18);
        assert_eq!(json_len(b"\x1b\x00\x1f"), 18);
        assert_eq!(json_len("\u{2028}\u{2029}".as_bytes()), 12);
        // U+0085 (NEL) and U+009B (CSI) are not escaped: two bytes each.
        assert_eq!(json_len("\u{85}\u{9b}".as_bytes()), 4);
    }

    #[test]
    fn invalid_utf8_is_six_bytes_per_byte() {
        assert_eq!(json_len(b"\xff"), 6);
        assert_eq!(json_len(b"a\xffb"), 8);
        // A cut-off sequence: Go replaces each of its bytes.
        assert_eq!(json_len(b"\xe2\x82x"), 13);
        assert_eq!(json_len(b"\xf0\x9f\x98"), 18);
        // A surrogate's encoding is invalid UTF-8 too.
        assert_eq!(json_len(b"\xed\xa0\x80"), 18);
    }

    #[test]
    fn a_budget_lets_lines_through_until_one_is_cut_then_nothing() {
        let mut b = ReplyBudget::with_limit(CUT_NOTE_ROOM + 10);
        assert_eq!(b.fit("abc"), Fit::Whole("abc")); // 5 of 10
        assert_eq!(b.fit("<x"), Fit::Cut("", 2)); // `<` is 6, 3 left
        assert!(b.was_cut());
        assert_eq!(b.fit("a"), Fit::Nothing);
        let mut b = ReplyBudget::with_limit(CUT_NOTE_ROOM + 6);
        assert_eq!(b.fit("abcdef"), Fit::Cut("abcd", 2));
    }

    #[test]
    fn the_issues_flood_passes_the_limit() {
        // Three commands printing 64 KiB of `<` each, as issue 11 measured:
        // the stdout alone is past the agent's limit.
        let line = vec![b'<'; 64 * 1024];
        let stdout = 3 * json_len(&line);
        assert_eq!(stdout, 1_179_648);
        assert!(stdout > REPLY_LIMIT);
    }
}
