//! The BOSH agent's reply to an errand, encoded here as the agent encodes
//! it, independently of inject's own counting (`inject_errands::agent`),
//! so the tests of the errand's output budget do not measure with the code
//! they test. Written from bosh-agent v2 (the version tests/bosh/go.mod
//! pins) and Go's encoding/json:
//! - `agent/action/run_errand.go`: the reply's value is
//!   `ErrandResult{Stdout, Stderr, ExitStatus}` with the JSON names
//!   `stdout`, `stderr`, `exit_code`, the streams captured whole;
//! - `handler/response.go`: it goes out as `{"value": …}`;
//! - `handler/perform_handler_with_json.go` (`marshalResponse`):
//!   `json.Marshal`, and a reply longer than the limit is replaced by
//!   `Response exceeded maximum allowed length` (`Shorten` leaves a value
//!   reply as it is), losing all of the output;
//! - `mbus/nats_handler.go`: `responseMaxLength = 1024 * 1024`;
//! - Go's `encoding/json` `appendString` (with `escapeHTML`, as
//!   `json.Marshal` does), ported byte for byte in [`go_string`].

/// The longest reply the agent sends (`responseMaxLength`).
pub const REPLY_LIMIT: usize = 1024 * 1024;

/// The agent's reply to an errand that printed `stdout` and `stderr` and
/// exited with `exit_code`, byte for byte as `json.Marshal` writes it.
pub fn errand_reply(stdout: &[u8], stderr: &[u8], exit_code: i32) -> Vec<u8> {
    let mut reply = br#"{"value":{"stdout":"#.to_vec();
    go_string(&mut reply, stdout);
    reply.extend_from_slice(br#","stderr":"#);
    go_string(&mut reply, stderr);
    reply.extend_from_slice(format!(r#","exit_code":{exit_code}}}}}"#).as_bytes());
    reply
}

/// Go's `appendString(dst, src, escapeHTML=true)`: `src` as a quoted JSON
/// string, appended to `dst`.
pub fn go_string(dst: &mut Vec<u8>, src: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    dst.push(b'"');
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        if b < 0x80 {
            match b {
                b'\\' | b'"' => dst.extend_from_slice(&[b'\\', b]),
                0x08 => dst.extend_from_slice(b"\\b"),
                0x0c => dst.extend_from_slice(b"\\f"),
                b'\n' => dst.extend_from_slice(b"\\n"),
                b'\r' => dst.extend_from_slice(b"\\r"),
                b'\t' => dst.extend_from_slice(b"\\t"),
                // Not in htmlSafeSet: the other controls, and < > &.
                0x00..=0x1f | b'<' | b'>' | b'&' => {
                    dst.extend_from_slice(b"\\u00");
                    dst.push(HEX[usize::from(b >> 4)]);
                    dst.push(HEX[usize::from(b & 0xf)]);
                }
                _ => dst.push(b),
            }
            i += 1;
            continue;
        }
        match decode_rune(&src[i..]) {
            // utf8.DecodeRune's (RuneError, 1): one byte that starts no
            // valid sequence, written as the six bytes `\ufffd`.
            None => {
                dst.extend_from_slice(b"\\ufffd");
                i += 1;
            }
            Some((c @ ('\u{2028}' | '\u{2029}'), size)) => {
                dst.extend_from_slice(b"\\u202");
                dst.push(HEX[(c as usize) & 0xf]);
                i += size;
            }
            Some((_, size)) => {
                dst.extend_from_slice(&src[i..i + size]);
                i += size;
            }
        }
    }
    dst.push(b'"');
}

/// The character `bytes` starts with and its length, or `None` when they
/// start with no valid UTF-8 sequence (a stray continuation byte, a cut
/// or overlong sequence, a surrogate): Go then consumes one byte.
fn decode_rune(bytes: &[u8]) -> Option<(char, usize)> {
    let head = &bytes[..bytes.len().min(4)];
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap(),
    };
    valid.chars().next().map(|c| (c, c.len_utf8()))
}
