//! The findings banner: one line per family (default route or why not),
//! then the other findings, each with its hint; a finding a configured
//! command fixes names it and the key that runs it (`f`).
//!
//! It never loses a line to a short screen: the layout gives it rows before
//! any panel. Tight on rows, each line but the hints is cut to one row
//! with `…` (a hint is the fix, so it wraps); with more lines than rows,
//! the last row says how many are left out.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::display::Health;
use crate::tui::elide;
use crate::tui::layout::BannerNeed;
use crate::tui::theme::Theme;

/// A banner line to draw, and whether it may wrap when rows are short.
struct Item {
    line: Line<'static>,
    wraps: bool,
}

fn items(app: &App, theme: &Theme) -> Vec<Item> {
    let mut out = Vec::new();
    let problem = |text: String| Item {
        line: Line::from(vec![
            Span::styled(format!("{} ", theme.marks.error), theme.error),
            Span::styled(text, theme.error),
        ]),
        // The reason is what to fix: wrapped, never cut, when rows are short.
        wraps: true,
    };
    if let Some(err) = &app.config_error {
        out.push(problem(format!("config: {err}")));
    }
    if let Some(err) = &app.net_error {
        out.push(problem(format!("cannot read the network: {err}")));
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
        spans.push(Span::styled(b.text.clone(), style));
        out.push(Item {
            line: Line::from(spans),
            wraps: b.health == Health::Hint,
        });
        // A fix for a finding without a hint gets a line of its own.
        let group_ends = banner.get(i + 1).is_none_or(|n| n.health != Health::Hint);
        if let (true, true, Some(k)) = (group_ends, owner == i, fix) {
            out.push(Item {
                line: Line::from(vec![Span::raw("  "), Span::styled(fix_text(k), theme.key)]),
                wraps: true,
            });
        }
    }
    out
}

fn rows_of(line: &Line<'static>, width: u16) -> usize {
    Paragraph::new(line.clone())
        .wrap(Wrap { trim: false })
        .line_count(width)
        .max(1)
}

/// The lines as drawn `width` columns wide, cut to one row each (but hints)
/// when `tight`.
fn lines(app: &App, theme: &Theme, width: u16, tight: bool) -> Vec<(Line<'static>, usize)> {
    items(app, theme)
        .into_iter()
        .map(|item| {
            let line = match (tight, item.wraps) {
                (false, _) => item.line,
                (true, false) => elide::elide_line(item.line, width as usize),
                (true, true) => keep_end(item.line, width, HINT_ROWS),
            };
            let rows = rows_of(&line, width);
            (line, rows)
        })
        .collect()
}

/// Rows a hint may take when rows are short.
const HINT_ROWS: usize = 2;

/// `line` in at most `rows` rows `width` wide: its last span loses its
/// start (`…` says so), as a hint ends with the command that fixes.
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
