//! Routes of both families in iproute2's words, default routes first.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{panel, visible};
use crate::tui::app::{App, Focus};
use crate::tui::fit;
use crate::tui::layout::inner_rows;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows_fit = inner_rows(area, false);
    let all = &app.net.routes;
    let (offset, shown) = visible(all, app.scroll.routes, rows_fit);
    let inner = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = shown
        .iter()
        .map(|r| {
            let text = fit::elide(&r.line, inner);
            if r.default {
                Line::from(Span::styled(text, theme.title))
            } else {
                Line::from(text)
            }
        })
        .collect();
    let title = if all.len() > rows_fit {
        format!(
            "routes {}-{}/{}",
            offset + 1,
            offset + shown.len(),
            all.len()
        )
    } else {
        format!("routes ({})", all.len())
    };
    let block = panel(&title, Focus::Routes, app, theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
