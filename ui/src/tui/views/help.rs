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
    ("/  4  6  d", "routes: filter, IPv4/IPv6 only, defaults"),
    ("?", "show or hide this help"),
    ("x", "stop the running command (asks first)"),
    ("Ctrl-L", "redraw the screen"),
    ("Esc", "close a window (never quits)"),
    ("q Ctrl-C", "quit (asks first while a command runs)"),
];

pub fn render(frame: &mut Frame, area: Rect, theme: &Theme) {
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
    popup(
        frame,
        area,
        (72, super::rows_with_border(lines.len())),
        " help · ? or Esc closes ",
        Paragraph::new(lines),
        theme,
    );
}
