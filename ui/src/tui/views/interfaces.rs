//! Interfaces table: name, state, MTU and the addresses of both families,
//! like `ip -br addr`.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Row, Table};
use ratatui::Frame;

use super::{panel, visible};
use crate::tui::app::{App, Focus};
use crate::tui::display::InterfaceRow;
use crate::tui::elide;
use crate::tui::layout::inner_rows;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows_fit = inner_rows(area, true);
    let all = &app.net.interfaces;
    let (offset, shown) = visible(all, app.scroll.interfaces, rows_fit);
    // Columns as wide as what they hold (names and MTUs are short, and
    // the same all along the table); addresses get the rest.
    let inner = area.width.saturating_sub(2) as usize;
    let widest = |f: fn(&InterfaceRow) -> usize, header: &str| {
        all.iter()
            .map(f)
            .max()
            .unwrap_or(0)
            .max(elide::width(header))
    };
    // A long name gives way to the addresses on a narrow panel.
    let name_w =
        widest(|i| elide::width(&i.name), "NAME").min(16.max(inner / 4).min(inner / 4).max(6));
    let state_w = widest(|i| elide::width(&i.state), "STATE").min(8);
    let mtu_w = widest(|i| elide::width(&i.mtu), "MTU");
    let addr_w = inner.saturating_sub(name_w + state_w + mtu_w + 3);
    let rows = shown.iter().map(|i| {
        let state = match i.state.as_str() {
            "UP" | "UNKNOWN" => theme.ok,
            _ => theme.warn,
        };
        Row::new(vec![
            Line::from(elide::elide(&i.name, name_w)),
            Line::from(Span::styled(elide::elide(&i.state, state_w), state)),
            Line::from(elide::elide(&i.mtu, mtu_w)),
            Line::from(elide::list(&i.addresses, addr_w)),
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
            Constraint::Length(name_w as u16),
            Constraint::Length(state_w as u16),
            Constraint::Length(mtu_w as u16),
            Constraint::Min(0),
        ],
    )
    .header(Row::new(["NAME", "STATE", "MTU", "ADDRESSES"]).style(theme.header))
    .block(panel(&title, Focus::Interfaces, app, theme));
    frame.render_widget(table, area);
}
