//! Interfaces table: name, state, MTU and the addresses of both families,
//! like `ip -br addr`.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Row, Table};
use ratatui::Frame;

use super::{panel, visible};
use crate::tui::app::{App, Focus};
use crate::tui::layout::inner_rows;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows_fit = inner_rows(area, true);
    let all = &app.net.interfaces;
    let (offset, shown) = visible(all, app.scroll.interfaces, rows_fit);
    let rows = shown.iter().map(|i| {
        let state = match i.state.as_str() {
            "UP" | "UNKNOWN" => theme.ok,
            _ => theme.warn,
        };
        Row::new(vec![
            Line::from(i.name.as_str()),
            Line::from(Span::styled(i.state.as_str(), state)),
            Line::from(i.mtu.as_str()),
            Line::from(i.addresses.join(" ")),
        ])
    });
    let title = if all.len() > rows_fit {
        format!(
            "interfaces {}-{}/{}",
            offset + 1,
            offset + shown.len(),
            all.len()
        )
    } else {
        format!("interfaces ({})", all.len())
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(["NAME", "STATE", "MTU", "ADDRESSES"]).style(theme.header))
    .block(panel(&title, Focus::Interfaces, app, theme));
    frame.render_widget(table, area);
}
