//! The findings banner: one line per family (default route or why not),
//! then the other findings.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::model::Health;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines: Vec<Line> = Vec::with_capacity(app.banner_lines());
    if let Some(err) = &app.net_error {
        lines.push(Line::from(vec![
            Span::styled("✗ ", theme.error),
            Span::styled(format!("cannot read the network: {err}"), theme.error),
        ]));
    }
    for b in &app.net.banner {
        let (mark, style) = match b.health {
            Health::Ok => ("✓ ", theme.ok),
            Health::Info => ("· ", theme.dim),
            Health::Hint => ("  ", theme.dim),
            Health::Warn => ("! ", theme.warn),
            Health::Error => ("✗ ", theme.error),
        };
        lines.push(Line::from(vec![
            Span::styled(mark, style),
            Span::styled(b.text.as_str(), style),
        ]));
    }
    let block = Block::bordered()
        .border_style(theme.border)
        .title(Line::from(Span::styled(" inject · network ", theme.title)));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
