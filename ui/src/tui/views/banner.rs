//! The findings banner: one line per family (default route or why not),
//! then the other findings, each with its hint; a finding a configured
//! command fixes names it and the key that runs it (`f`).
//!
//! It never loses a line to a short screen: the layout gives it rows before
//! any panel. Tight on rows, each line is cut to one row with `…` (a
//! hint's prose keeps its end, which leads to the command; a broken
//! config's reason keeps its start, where and what, in three rows); with
//! more lines than rows, the last row says how many are left out. A hint's command starts a row of its
//! own, indented (a copy over ssh must be one line), and is broken only
//! between words, only when it is wider than the banner.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::display::Health;
use crate::tui::elide;
use crate::tui::layout::BannerNeed;
use crate::tui::theme::Theme;

/// A banner line to draw, and how it fits when rows are short.
struct Item {
    line: Line<'static>,
    tight: Fit,
}

/// How a banner line fits when rows are short.
enum Fit {
    /// One row, cut with `…`.
    Cut,
    /// This many rows, losing its start (`…` says so).
    KeepEnd(usize),
    /// This line instead (shorter: the file's name for its path), in
    /// PROBLEM_ROWS rows, losing its end (`…` says so).
    Problem(Line<'static>),
}

/// Rows a problem (a broken config, an unreadable network) keeps when rows
/// are short: its start, which says where and what (`FILE:4:5:
/// commands[0]: unknown field `colour``, before the list of what is
/// expected).
const PROBLEM_ROWS: usize = 2;

/// `FILE:LINE:COLUMN: what` with FILE cut to its name (the commands
/// panel's title says which file), for a banner short of rows.
fn short_path(text: &str) -> String {
    let Some((path, rest)) = text.split_once(':') else {
        return text.to_string();
    };
    match std::path::Path::new(path).file_name() {
        Some(name) if path.contains('/') => format!("{}:{rest}", name.to_string_lossy()),
        _ => text.to_string(),
    }
}

fn items(app: &App, theme: &Theme, width: u16) -> Vec<Item> {
    let mut out = Vec::new();
    // The reason is what to fix: wrapped, and cut (with `…`) only after
    // PROBLEM_ROWS rows, when rows are short.
    let problem = |text: String, short: String| {
        let line = |text| {
            Line::from(vec![
                Span::styled(format!("{} ", theme.marks.error), theme.error),
                Span::styled(text, theme.error),
            ])
        };
        Item {
            line: line(text),
            tight: Fit::Problem(line(short)),
        }
    };
    if let Some(err) = &app.config_error {
        out.push(problem(
            format!("config: {err}"),
            format!("config: {}", short_path(err)),
        ));
    }
    if let Some(err) = &app.net_error {
        let text = format!("cannot read the network: {err}");
        out.push(problem(text.clone(), text));
    }
    let fixes = app.fixes();
    let banner = &app.net.banner;
    for (i, b) in banner.iter().enumerate() {
        let (mark, style) = match b.health {
            Health::Ok => (theme.marks.ok, theme.ok),
            Health::Info => (theme.marks.info, theme.dim),
            Health::Hint => (" ", theme.hint),
            Health::Warn => (theme.marks.warn, theme.warn),
            Health::Error => (theme.marks.error, theme.error),
        };
        // The finding this line belongs to (a hint follows its finding).
        let owner = (0..=i)
            .rev()
            .find(|&j| banner[j].health != Health::Hint)
            .unwrap_or(i);
        let picked = app.picked_fix();
        // The picked fix when it is this finding's, else its first.
        let fix = picked
            .filter(|p| p.0 == owner)
            .and_then(|p| fixes.iter().position(|f| *f == p))
            .or_else(|| fixes.iter().position(|f| f.0 == owner));
        let fix_text = |k: usize| {
            let name = &app.commands[fixes[k].1].name;
            if Some(fixes[k]) == picked {
                let others = fixes.iter().filter(|f| f.0 == owner).count();
                if others > 1 {
                    format!("f runs {name} (] picks another)")
                } else {
                    format!("f runs {name}")
                }
            } else {
                format!("fix: {name}")
            }
        };
        let mut spans = vec![Span::styled(format!("{mark} "), style)];
        let first_hint =
            b.health == Health::Hint && (i == 0 || banner[i - 1].health != Health::Hint);
        if let (true, Some(k)) = (first_hint, fix) {
            spans.push(Span::styled(fix_text(k), theme.key));
            spans.push(Span::styled(" · ", theme.dim));
        }
        if b.health == Health::Hint {
            hint_items(&b.text, spans, style, width, &mut out);
        } else {
            spans.push(Span::styled(b.text.clone(), style));
            out.push(Item {
                line: Line::from(spans),
                tight: Fit::Cut,
            });
        }
        // A fix for a finding without a hint gets a line of its own.
        let group_ends = banner.get(i + 1).is_none_or(|n| n.health != Health::Hint);
        if let (true, true, Some(k)) = (group_ends, owner == i, fix) {
            out.push(Item {
                line: Line::from(vec![Span::raw("  "), Span::styled(fix_text(k), theme.key)]),
                tight: Fit::KeepEnd(PROSE_ROWS),
            });
        }
    }
    out
}

/// Where a command starts in a hint: after `: `, one of these words. The
/// inspector's hints end their advice so (`Add it: ip -6 route add …`).
const COMMAND_STARTS: [&str; 2] = [": ip ", ": sysctl "];

/// A hint as prose, the command it gives, and prose after the command
/// (`(then check …)`): the command ends at the end or at ` (`.
fn split_command(text: &str) -> (&str, Option<&str>, &str) {
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

/// A hint's lines: its prose (after `lead`, the fix it offers), which
/// wraps; its command starting a row of its own, so that it copies as one
/// line; prose after the command. A command wider than the banner goes on
/// in rows indented deeper, broken between words only (a cut command
/// would send the operator elsewhere for what fits in two rows).
fn hint_items(
    text: &str,
    mut lead: Vec<Span<'static>>,
    style: ratatui::style::Style,
    width: u16,
    out: &mut Vec<Item>,
) {
    let (prose, command, after) = split_command(text);
    let Some(command) = command else {
        lead.push(Span::styled(text.to_string(), style));
        out.push(Item {
            line: Line::from(lead),
            tight: Fit::KeepEnd(PROSE_ROWS),
        });
        return;
    };
    // Short of rows, the prose gives its rows to the command first.
    lead.push(Span::styled(prose.to_string(), style));
    out.push(Item {
        line: Line::from(lead),
        tight: Fit::KeepEnd(1),
    });
    for (indent, row) in command_rows(command, width as usize) {
        out.push(Item {
            line: Line::from(vec![Span::raw(indent), Span::styled(row, style)]),
            tight: Fit::Cut,
        });
    }
    if !after.is_empty() {
        out.push(Item {
            line: Line::from(vec![
                Span::raw("  "),
                Span::styled(after.to_string(), style),
            ]),
            tight: Fit::Cut,
        });
    }
}

/// `command` in rows `width` wide with their indents: one row when it
/// fits, else broken between words (a word wider than a row is cut with
/// `…`).
fn command_rows(command: &str, width: usize) -> Vec<(&'static str, String)> {
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

fn rows_of(line: &Line<'static>, width: u16) -> usize {
    Paragraph::new(line.clone())
        .wrap(Wrap { trim: false })
        .line_count(width)
        .max(1)
}

/// The lines as drawn `width` columns wide, fitted to fewer rows when
/// `tight` (see [`Item`]).
fn lines(app: &App, theme: &Theme, width: u16, tight: bool) -> Vec<(Line<'static>, usize)> {
    items(app, theme, width)
        .into_iter()
        .map(|item| {
            let line = match (tight, item.tight) {
                (true, Fit::Problem(short)) => keep_start(short, width, PROBLEM_ROWS),
                (false, _) => item.line,
                (true, Fit::Cut) => elide::elide_line(item.line, width as usize),
                (true, Fit::KeepEnd(rows)) => keep_end(item.line, width, rows),
            };
            let rows = rows_of(&line, width);
            (line, rows)
        })
        .collect()
}

/// Rows a hint without a command, or a fix's own line, may take when rows
/// are short.
const PROSE_ROWS: usize = 2;

/// `line` in at most `rows` rows `width` wide: its last span loses its
/// end, whole words first, and ends in `…`.
fn keep_start(line: Line<'static>, width: u16, rows: usize) -> Line<'static> {
    if rows_of(&line, width) <= rows {
        return line;
    }
    let mut spans = line.spans;
    let Some(last) = spans.pop() else {
        return Line::default();
    };
    let text = last.content.to_string();
    let mut end = text.len();
    // Drop whole words from the end until it fits.
    while let Some(space) = text[..end].rfind(' ') {
        end = space;
        let mut candidate = spans.clone();
        candidate.push(Span::styled(
            format!("{}{}", &text[..end], elide::ELLIPSIS),
            last.style,
        ));
        let candidate = Line::from(candidate);
        if rows_of(&candidate, width) <= rows {
            return candidate;
        }
    }
    // One word longer than the rows: its start, cut to fit.
    let room = (width as usize * rows).saturating_sub(spans.iter().map(|s| s.width()).sum());
    spans.push(Span::styled(elide::elide(&text, room), last.style));
    Line::from(spans)
}

/// `line` in at most `rows` rows `width` wide: its last span loses its
/// start (`…` says so), as a hint's prose ends with what leads to its
/// command.
fn keep_end(line: Line<'static>, width: u16, rows: usize) -> Line<'static> {
    if rows_of(&line, width) <= rows {
        return line;
    }
    let mut spans = line.spans;
    let Some(last) = spans.pop() else {
        return Line::default();
    };
    let text: Vec<char> = last.content.chars().collect();
    // Drop whole words from the start until it fits.
    let mut from = 0;
    loop {
        let next = text[from..]
            .iter()
            .position(|c| *c == ' ')
            .map(|p| from + p + 1);
        let Some(next) = next.filter(|n| *n < text.len()) else {
            break;
        };
        from = next;
        let tail: String = text[from..].iter().collect();
        let mut candidate = spans.clone();
        candidate.push(Span::styled(
            format!("{}{tail}", elide::ELLIPSIS),
            last.style,
        ));
        let candidate = Line::from(candidate);
        if rows_of(&candidate, width) <= rows {
            return candidate;
        }
    }
    // One word longer than the rows: its end, cut to fit.
    let tail: String = text[from..].iter().collect();
    let room = (width as usize * rows).saturating_sub(spans.iter().map(|s| s.width()).sum());
    spans.push(Span::styled(elide::elide(&tail, room), last.style));
    Line::from(spans)
}

/// Rows the banner's text needs at a screen `width` columns wide.
pub fn need(app: &App, width: u16) -> BannerNeed {
    let inner = width.saturating_sub(2).max(1);
    let theme = Theme::no_color();
    let sum = |tight| lines(app, &theme, inner, tight).iter().map(|l| l.1).sum();
    BannerNeed {
        wrapped: sum(false),
        tight: sum(true),
    }
}

pub fn render(frame: &mut Frame, area: Rect, tight: bool, app: &App, theme: &Theme) {
    let inner = area.width.saturating_sub(2).max(1);
    let room = area.height.saturating_sub(2) as usize;
    let all = lines(app, theme, inner, tight);
    let total: usize = all.iter().map(|l| l.1).sum();
    let mut shown = Vec::new();
    if total <= room {
        shown = all.into_iter().map(|l| l.0).collect();
    } else {
        let mut used = 0;
        let count = all.len();
        for (line, rows) in all {
            if used + rows + 1 > room {
                break;
            }
            used += rows;
            shown.push(line);
        }
        let more = count - shown.len();
        shown.push(Line::from(Span::styled(
            format!("+{more} more: make the window taller"),
            theme.warn,
        )));
    }
    let block = Block::bordered()
        .border_set(theme.borders)
        .border_style(theme.border)
        .title(Line::from(Span::styled(" inject · network ", theme.title)));
    let block = match app.updated {
        Some(at) => block.title(
            Line::from(Span::styled(
                format!(" updated {} ", crate::tui::app::clock_time(at)),
                theme.dim,
            ))
            .right_aligned(),
        ),
        None => block,
    };
    frame.render_widget(
        Paragraph::new(shown)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::{command_rows, split_command};
    use crate::tui::fixtures::both_missing_app;
    use crate::tui::view_tests::screen;

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

    /// At every width where it fits, the command is whole on one row of
    /// its own; where it does not, its words are whole, in order.
    #[test]
    fn the_hints_command_is_on_one_row_wherever_it_fits() {
        let command = "ip -6 route add default via 2001:db8:69f5::1 dev eth1";
        for (w, h) in [(50, 14), (60, 15), (80, 24), (120, 40)] {
            let s = screen(&both_missing_app(), w, h);
            let rows: Vec<String> = s
                .lines()
                .map(|l| l.trim_matches(['│', ' ']).to_string())
                .collect();
            let fits = usize::from(w) - 2 >= 4 + command.len();
            if fits {
                assert!(
                    rows.iter().any(|r| r == command),
                    "{w}x{h}: the command alone on a row: {s}"
                );
            } else {
                let at = rows.iter().position(|r| command.starts_with(r.as_str()));
                let at = at.unwrap_or_else(|| panic!("{w}x{h}: {s}"));
                assert_eq!(format!("{} {}", rows[at], rows[at + 1]), command, "{w}x{h}");
            }
        }
    }

    /// serde names the field in the middle of its message, before a long
    /// list of the fields it expected: the start is what must show.
    #[test]
    fn a_broken_config_shows_where_and_what_before_the_expected_fields() {
        let mut app = crate::tui::fixtures::seed_vm_app();
        app.commands.clear();
        app.config_error = Some(
            "/var/vcap/jobs/inject-commands/config/commands.yml:4:5: commands[0]: unknown field `colour`, expected one of `name`, `run`, `unless`, `only_if`, `phases`, `timeout`, `retries`, `retry_delay`, `continue_on_error`, `env`, `cwd`, `user`, `sensitive`, `fixes`".into(),
        );
        for (w, h) in [(50, 14), (60, 15)] {
            let s = screen(&app, w, h);
            let flat: String = s
                .lines()
                .map(|l| l.trim_matches(['│', ' ']))
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                flat.contains("commands.yml:4:5: commands[0]:"),
                "{w}x{h}: {s}"
            );
            assert!(flat.contains("unknown field `colour`"), "{w}x{h}: {s}");
            assert!(flat.contains('…'), "{w}x{h}: the cut says so: {s}");
            assert!(s.contains("┗ config"), "{w}x{h}: the panel stays: {s}");
        }
    }
}
