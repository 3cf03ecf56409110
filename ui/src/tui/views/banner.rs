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

use super::wrapped::{keep_end, keep_start, rows_of};

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
    let (prose, command, after) = super::hint::split_command(text);
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
    for (indent, row) in super::hint::command_rows(command, width as usize) {
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
    use crate::tui::fixtures::both_missing_app;
    use crate::tui::view_tests::screen;

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
