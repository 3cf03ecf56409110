//! Routes of both families in iproute2's words, default routes first.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{panel, visible};
use crate::tui::app::{App, Focus};
use crate::tui::display::RouteRow;
use crate::tui::elide;
use crate::tui::layout::inner_rows;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows_fit = inner_rows(area, false);
    let filtered = app.route_filter.narrows();
    // Only what is drawn is formatted; a filter walks the list once.
    let matching: Vec<&RouteRow> = if filtered {
        app.net
            .routes
            .iter()
            .filter(|r| app.route_matches(r))
            .collect()
    } else {
        app.net.routes.iter().collect()
    };
    let (offset, shown) = visible(&matching, app.scroll.routes, rows_fit);
    let inner = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = shown
        .iter()
        .map(|r| {
            let text = elide::elide(&r.line, inner);
            if app.fresh.iter().any(|(line, _)| *line == r.line) {
                Line::from(Span::styled(text, theme.selected))
            } else if r.default {
                Line::from(Span::styled(text, theme.title))
            } else {
                Line::from(text)
            }
        })
        .collect();
    if let Some(typed) = &app.route_filter.typing {
        let prompt = elide::elide(&format!("/{typed}  (Enter keeps, Esc clears)"), inner);
        if lines.len() >= rows_fit && !lines.is_empty() {
            lines.pop();
        }
        lines.push(Line::from(Span::styled(prompt, theme.key)));
    }
    let all = matching.len();
    let mut title = if all > rows_fit {
        format!("routes {}-{}/{all}", offset + 1, offset + shown.len())
    } else {
        format!("routes ({all})")
    };
    if app.route_filter.defaults {
        title.push_str(" defaults");
    }
    if let Some(f) = app.route_filter.family {
        title.push_str(&format!(" IPv{f}"));
    }
    if let Some(t) = &app.route_filter.text {
        title.push_str(&format!(" matching {t:?} of {}", app.net.routes.len()));
    }
    let title = elide::elide(&title, inner.saturating_sub(2));
    let block = panel(&title, Focus::Routes, app, theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
