//! `p`: what the selected command would do, as `inject run --dry-run` says it.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{popup, rows_with_border};
use crate::tui::display::CommandRow;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, cmd: &CommandRow, scroll: usize, theme: &Theme) {
    let lines: Vec<Line> = cmd
        .plan
        .iter()
        .skip(scroll)
        .map(|l| Line::from(l.as_str()))
        .collect();
    let width = area.width.saturating_sub(8).clamp(20, 100);
    let height = rows_with_border(cmd.plan.len()).min(area.height.saturating_sub(4));
    // Lines above and below the window say so in its title (wrapped lines
    // may hide a few more: the count is of plan lines).
    let rows = height.max(5).saturating_sub(2) as usize;
    let below = cmd.plan.len().saturating_sub(scroll + rows);
    let mut title = format!(" plan: {} (dry run)", cmd.name);
    if scroll > 0 {
        title.push_str(&format!(" · ↑ {scroll} more"));
    }
    if below > 0 {
        title.push_str(&format!(" · ↓ {below} more"));
    }
    title.push_str(" · Esc closes ");
    popup(
        frame,
        area,
        (width, height.max(5)),
        &title,
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        theme,
    );
}
