//! Where each panel goes for a given terminal size. Pure, so `update` can
//! size a page for PgUp/PgDn with the same numbers the views draw with.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the dashboard draws only a "too small" message.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub banner: Rect,
    pub interfaces: Rect,
    pub routes: Rect,
    pub commands: Rect,
    pub output: Rect,
    pub footer: Rect,
}

/// The panels for a screen of `area`, or `None` when it is too small.
/// The banner grows with its rows, up to a quarter of the height.
pub fn areas(area: Rect, banner_rows: usize) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let banner_h = (banner_rows.clamp(1, 100) as u16 + 2).min((area.height / 4).max(3));
    let [banner, body, footer] = Layout::vertical([
        Constraint::Length(banner_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let left_pct = if area.width >= 100 { 60 } else { 50 };
    let [left, right] = Layout::horizontal([
        Constraint::Percentage(left_pct),
        Constraint::Percentage(100 - left_pct),
    ])
    .areas(body);
    let [interfaces, routes] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(left);
    let [commands, output] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(right);
    Some(Areas {
        banner,
        interfaces,
        routes,
        commands,
        output,
        footer,
    })
}

/// Rows inside a bordered panel (minus a header row when it has one).
pub fn inner_rows(panel: Rect, header: bool) -> usize {
    panel.height.saturating_sub(2 + u16::from(header)) as usize
}
