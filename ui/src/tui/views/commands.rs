//! The configured commands: name, state, last duration; the selected one
//! is highlighted and is what Enter and `p` act on.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::panel;
use crate::tui::app::{App, Focus};
use crate::tui::layout::inner_rows;
use crate::tui::model::{format_duration, CmdState};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel("commands", Focus::Commands, app, theme).title_bottom(Line::from(
        Span::styled(format!(" {} ", app.config_note), theme.dim),
    ));
    if app.commands.is_empty() {
        let text = Paragraph::new("no commands are configured")
            .style(theme.warn)
            .wrap(Wrap { trim: true })
            .block(block);
        frame.render_widget(text, area);
        return;
    }
    let rows_fit = inner_rows(area, true).max(1);
    // Scroll just enough to keep the selection in view.
    let offset = app.selected.saturating_sub(rows_fit - 1);
    let end = (offset + rows_fit).min(app.commands.len());
    let rows = app.commands[offset..end].iter().enumerate().map(|(i, c)| {
        let state_style = match c.state {
            CmdState::Pending => theme.dim,
            CmdState::Running => theme.info,
            CmdState::Ok => theme.ok,
            CmdState::Skipped => theme.dim,
            CmdState::Failed | CmdState::TimedOut => theme.error,
            CmdState::Cancelled => theme.warn,
        };
        let selected = offset + i == app.selected;
        let marker = if selected { "▶ " } else { "  " };
        let row = Row::new(vec![
            Line::from(format!("{marker}{}", c.name)),
            Line::from(Span::styled(c.state.label(), state_style)),
            Line::from(c.last_duration.map(format_duration).unwrap_or_default()),
        ]);
        if selected {
            row.style(theme.selected)
        } else {
            row
        }
    });
    let table = Table::new(
        rows,
        [
            Constraint::Min(10),
            Constraint::Length(9),
            Constraint::Length(7),
        ],
    )
    .header(Row::new(["COMMAND", "STATE", "LAST"]).style(theme.header))
    .block(block);
    frame.render_widget(table, area);
}
