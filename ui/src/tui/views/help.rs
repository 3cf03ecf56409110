//! The `?` overlay: every key binding, from the key table (`keys.rs`).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::popup;
use crate::tui::theme::Theme;

/// Every binding the dashboard knows, (keys, what they do), as the help
/// overlay lists them: the rows of the key table `update` dispatches
/// through ([`crate::tui::keys::TABLE`]), so the two cannot drift.
pub const BINDINGS: &[(&str, &str)] = &crate::tui::keys::HELP;

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
