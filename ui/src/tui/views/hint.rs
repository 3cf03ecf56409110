//! A finding's hint as the banner lays it out: the prose, the command it
//! gives on rows of its own (one when it fits: a copy over ssh must be one
//! line), and what the hint says after the command.

use crate::tui::elide;

/// Where a command starts in a hint: after `: `, one of these words. The
/// inspector's hints end their advice so (`Add it: ip -6 route add …`).
const COMMAND_STARTS: [&str; 2] = [": ip ", ": sysctl "];

/// A hint as prose, the command it gives, and prose after the command
/// (`(then check …)`): the command ends at the end or at ` (`.
pub fn split_command(text: &str) -> (&str, Option<&str>, &str) {
    let Some(at) = COMMAND_STARTS.iter().filter_map(|w| text.find(w)).min() else {
        return (text, None, "");
    };
    let prose = &text[..at + 1];
    let rest = &text[at + 2..];
    match rest.find(" (") {
        Some(end) => (prose, Some(&rest[..end]), &rest[end + 1..]),
        None => (prose, Some(rest), ""),
    }
}

/// How far a hint's command is indented under its prose, and the rest of
/// a command too long for one row.
const COMMAND_INDENT: &str = "    ";
const COMMAND_GOES_ON: &str = "      ";

/// `command` in rows `width` wide with their indents: one row when it
/// fits, else broken between words (a word wider than a row is cut with
/// `…`).
pub fn command_rows(command: &str, width: usize) -> Vec<(&'static str, String)> {
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    let mut row = String::new();
    let mut indent = COMMAND_INDENT;
    for word in command.split(' ') {
        let room = width.saturating_sub(indent.len());
        let grown = if row.is_empty() {
            elide::width(word)
        } else {
            elide::width(&row) + 1 + elide::width(word)
        };
        if grown > room && !row.is_empty() {
            rows.push((indent, std::mem::take(&mut row)));
            indent = COMMAND_GOES_ON;
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
    }
    rows.push((indent, row));
    rows.into_iter()
        .map(|(indent, row)| {
            let room = width.saturating_sub(indent.len());
            if elide::width(&row) > room {
                (indent, elide::cut(&row, room))
            } else {
                (indent, row)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{command_rows, split_command};

    #[test]
    fn a_hint_splits_into_prose_its_command_and_what_follows() {
        let hint = "hint: Bring it up: ip link set eth0 up (then check the address: ip addr show dev eth0)";
        assert_eq!(
            split_command(hint),
            (
                "hint: Bring it up:",
                Some("ip link set eth0 up"),
                "(then check the address: ip addr show dev eth0)"
            )
        );
        assert_eq!(
            split_command("hint: It settles within seconds"),
            ("hint: It settles within seconds", None, "")
        );
    }

    #[test]
    fn a_command_too_wide_breaks_between_words_only() {
        let rows = command_rows("ip -6 route add default via 2001:db8:69f5::1 dev eth1", 48);
        let texts: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(
            texts,
            ["ip -6 route add default via 2001:db8:69f5::1", "dev eth1"]
        );
    }
}
