//! Where each panel goes for a given terminal size. Pure, so `update` can
//! size a page for PgUp/PgDn with the same numbers the views draw with.
//!
//! Findings come first: the banner gets the rows it needs and the panels
//! share what is left. When that is too little, the banner's lines are cut
//! to one row each (hints, which say the fix, still wrap), then panels go:
//! interfaces and routes first, then the output; the commands panel (the
//! fix) goes last.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the dashboard draws only a "too small" message.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 14;

/// Rows the four panels need to be worth drawing.
const FULL_BODY: u16 = 12;
/// Rows of the commands panel with one command in it.
const COMPACT_BODY: u16 = 4;

/// Rows the banner's text needs (inside its border): with every line
/// wrapped, and with all but hints cut to one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BannerNeed {
    pub wrapped: usize,
    pub tight: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub banner: Rect,
    /// The banner's lines are cut to one row each (hints still wrap).
    pub tight: bool,
    pub interfaces: Option<Rect>,
    pub routes: Option<Rect>,
    pub commands: Option<Rect>,
    pub output: Option<Rect>,
    pub footer: Rect,
}

fn rows(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The panels for a screen of `area`, or `None` when it is too small;
/// `commands` is how many rows the commands list has.
pub fn areas(area: Rect, need: BannerNeed, commands: usize) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let room = area.height - 1;
    let fits = |text: usize, body: u16| rows(text).saturating_add(2).saturating_add(body) <= room;
    let (text, tight) = if fits(need.wrapped, FULL_BODY) {
        (need.wrapped, false)
    } else if fits(need.tight, FULL_BODY) || !fits(need.wrapped, COMPACT_BODY) {
        (need.tight, true)
    } else {
        (need.wrapped, false)
    };
    let banner_h = rows(text.max(1)).saturating_add(2).min(room);
    let [banner, body, footer] = Layout::vertical([
        Constraint::Length(banner_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut a = Areas {
        banner,
        tight,
        interfaces: None,
        routes: None,
        commands: None,
        output: None,
        footer,
    };
    if body.height >= FULL_BODY {
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
        a.interfaces = Some(interfaces);
        a.routes = Some(routes);
        a.commands = Some(commands);
        a.output = Some(output);
    } else if body.height >= COMPACT_BODY {
        if area.width >= 80 {
            let [commands, output] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(body);
            a.commands = Some(commands);
            a.output = Some(output);
        } else {
            // Stacked: the commands as tall as their list, the output
            // below when at least one of its lines fits.
            let list = rows(commands.max(1)).saturating_add(3);
            if body.height >= list + 3 {
                let [commands, output] =
                    Layout::vertical([Constraint::Length(list), Constraint::Min(0)]).areas(body);
                a.commands = Some(commands);
                a.output = Some(output);
            } else {
                a.commands = Some(body);
            }
        }
    }
    Some(a)
}

/// Rows inside a bordered panel (minus a header row when it has one).
pub fn inner_rows(panel: Rect, header: bool) -> usize {
    panel.height.saturating_sub(2 + u16::from(header)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(w: u16, h: u16, wrapped: usize, tight: usize) -> Areas {
        areas(Rect::new(0, 0, w, h), BannerNeed { wrapped, tight }, 3).unwrap()
    }

    #[test]
    fn the_banner_keeps_its_rows_and_panels_give_way() {
        // Room for all: wrapped banner, four panels.
        let a = at(120, 40, 6, 4);
        assert_eq!((a.banner.height, a.tight), (8, false));
        assert!(a.interfaces.is_some() && a.routes.is_some());
        // 60x15: the lines go to one row each, only the commands remain.
        let a = at(60, 15, 10, 6);
        assert_eq!((a.banner.height, a.tight), (8, true));
        assert_eq!((a.interfaces, a.routes, a.output), (None, None, None));
        assert_eq!(a.commands.unwrap().height, 6);
        // More findings than rows: the banner takes the screen.
        let a = at(50, 14, 40, 30);
        assert_eq!(a.banner.height, 13);
        assert_eq!(a.commands, None);
    }
}
