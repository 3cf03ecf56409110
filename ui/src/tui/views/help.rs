//! The `?` overlay: every key binding.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::popup;
use crate::tui::theme::Theme;

/// Every binding the dashboard knows, as the help overlay lists them.
pub const BINDINGS: &[(&str, &str)] = &[
    ("↑ ↓  j k", "select a command; scroll a focused table"),
    ("Enter", "run the selected command (asks first)"),
    ("y / n Esc", "in the confirmation: run / cancel"),
    ("o", "full-screen output: g G PgUp PgDn, w wrap, / search"),
    ("f", "run the picked finding's fix (asks first)"),
    ("[ ]", "pick another finding's fix, or another fix"),
    ("p", "show what the selected command would do (dry run)"),
    ("Tab Shift-Tab", "move focus between panels"),
    ("PgUp PgDn", "scroll the focused panel"),
    ("r", "re-read interfaces and routes"),
    ("g", "probe the default gateways (ARP/NDP, up to 5 s; root)"),
    (
        "/  4  6  d",
        "routes: filter as typed, IPv4/IPv6, defaults only",
    ),
    ("Esc", "clear the routes' filters"),
    ("?", "show or hide this help"),
    ("x", "stop the running command (asks first)"),
    ("Ctrl-L", "redraw the screen"),
    ("Esc", "close a window (never quits)"),
    ("q Ctrl-C", "quit (asks first while a command runs)"),
];

/// `scroll`: lines scrolled down (↓ j PgDn), clamped so the last page is full.
pub fn render(frame: &mut Frame, area: Rect, scroll: usize, theme: &Theme) {
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:>14}  "), theme.key),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "The view follows netlink: routes added by anyone appear at once.",
        theme.dim,
    )));
    // Cut with `…`, never silently, on a narrow screen.
    let inner = (72u16.min(area.width.saturating_sub(2))).saturating_sub(2) as usize;
    let mut lines: Vec<Line> = lines
        .into_iter()
        .map(|l| crate::tui::elide::elide_line(l, inner))
        .collect();
    // What fits between the borders of a window clamped to the screen.
    let fits = (area.height.saturating_sub(4) as usize).max(1);
    let total = lines.len();
    let title = if total > fits {
        let offset = scroll.min(total - fits);
        lines.drain(..offset);
        lines.truncate(fits);
        format!(
            " help {}-{}/{total} · ↑↓ scroll · Esc closes ",
            offset + 1,
            offset + fits
        )
    } else {
        " help · ? or Esc closes ".to_string()
    };
    let height = lines.len();
    popup(
        frame,
        area,
        (72, super::rows_with_border(height)),
        &title,
        Paragraph::new(lines),
        theme,
    );
}
