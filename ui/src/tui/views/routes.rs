//! Routes of both families in iproute2's words, default routes first.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use crate::tui::app::{App, Focus};
use crate::tui::elide;
use crate::tui::layout::inner_rows;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows_fit = inner_rows(area, false);
    // Only what is drawn is formatted; a filter's matches are cached.
    let routes = &app.net.routes;
    let query = app.route_filter.query();
    let matching = routes.shown(&query);
    let all = matching.len();
    // A filter's pass still under way: what it found so far is final, and
    // the title says the count is not.
    let searching = routes.searching(&query);
    let count = |n: usize| {
        if searching.is_some() {
            format!("{n}+")
        } else {
            n.to_string()
        }
    };
    let offset = app.scroll.routes.min(all.saturating_sub(rows_fit));
    let shown: Vec<(String, bool)> = (offset..(offset + rows_fit).min(all))
        .filter_map(|i| {
            let at = matching.get(i);
            Some((routes.line(at)?, routes.is_default(at)))
        })
        .collect();
    let inner = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = shown
        .iter()
        .map(|(line, default)| {
            let text = elide::elide(line, inner);
            if app.fresh.iter().any(|(fresh, _)| fresh == line) {
                Line::from(Span::styled(text, theme.selected))
            } else if *default {
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
    let mut title = if let Some(n) = app.net.reading {
        format!("routes: reading… {}", crate::tui::display::grouped(n))
    } else if all > rows_fit {
        format!(
            "routes {}-{}/{}",
            offset + 1,
            offset + shown.len(),
            count(all)
        )
    } else {
        format!("routes ({})", count(all))
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
    if let Some((tested, of)) = searching {
        title.push_str(&format!(", searching {}%", tested * 100 / of.max(1)));
    }
    let title = elide::elide(&title, inner.saturating_sub(2));
    let block = panel(&title, Focus::Routes, app, theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
