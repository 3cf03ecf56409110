//! The bottom line: the latest message, then the main keys.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::{App, Level};
use crate::tui::theme::Theme;

const KEYS: [(&str, &str); 7] = [
    ("↑↓", "select"),
    ("Enter", "run"),
    ("p", "plan"),
    ("Tab", "focus"),
    ("r", "refresh"),
    ("?", "help"),
    ("q", "quit"),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    if let Some(msg) = &app.message {
        let style = match msg.level {
            Level::Info => theme.info,
            Level::Warn => theme.warn,
            Level::Error => theme.error,
        };
        spans.push(Span::styled(msg.text.as_str(), style));
        spans.push(Span::raw("  "));
    }
    for (key, what) in KEYS {
        spans.push(Span::styled(key, theme.key));
        spans.push(Span::styled(format!(" {what}  "), theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
