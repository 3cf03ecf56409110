//! The bottom line: read-only mode when not root, the latest message, then
//! the main keys; cut with `…` when it does not fit.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::{App, Level, READ_ONLY};
use crate::tui::elide;
use crate::tui::theme::Theme;

const KEYS: [(&str, &str); 8] = [
    ("↑↓", "select"),
    ("Enter", "run"),
    ("o", "output"),
    ("p", "plan"),
    ("Tab", "focus"),
    ("r", "refresh"),
    ("?", "help"),
    ("q", "quit"),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    // Groups that show whole or not at all (a key without its word is
    // noise); a message, the first, may be cut with `…`.
    let mut groups: Vec<Vec<Span>> = Vec::new();
    if !app.is_root {
        groups.push(vec![Span::styled(READ_ONLY, theme.warn), Span::raw("  ")]);
    }
    if let Some(msg) = &app.message {
        let style = match msg.level {
            Level::Info => theme.info,
            Level::Warn => theme.warn,
            Level::Error => theme.error,
        };
        groups.push(vec![
            Span::styled(msg.text.as_str(), style),
            Span::raw("  "),
        ]);
    }
    let messages = groups.len();
    if app.running.is_some() {
        groups.push(vec![
            Span::styled("x", theme.key),
            Span::styled(" stop  ", theme.dim),
        ]);
    }
    let fixes = app.fixes().len();
    if fixes > 0 && app.is_root {
        groups.push(vec![
            Span::styled("f", theme.key),
            Span::styled(" fix  ", theme.dim),
        ]);
    }
    if fixes > 1 && app.is_root {
        groups.push(vec![
            Span::styled("[ ]", theme.key),
            Span::styled(" pick fix  ", theme.dim),
        ]);
    }
    for (key, what) in KEYS {
        groups.push(vec![
            Span::styled(key, theme.key),
            Span::styled(format!(" {what}  "), theme.dim),
        ]);
    }
    let max = area.width as usize;
    let mut used = 0;
    let mut shown = Vec::new();
    for (i, group) in groups.into_iter().enumerate() {
        let w: usize = group.iter().map(Span::width).sum();
        if used + w <= max {
            used += w;
            shown.extend(group);
        } else {
            if i < messages {
                let span = &group[0];
                let text = elide::cut(&span.content, max - used);
                shown.push(Span::styled(text, span.style));
            }
            break;
        }
    }
    frame.render_widget(Paragraph::new(Line::from(shown)), area);
}
