//! Views: pure functions from state to a frame, one file per panel. None of
//! them does work per row beyond the rows that fit on screen.

mod banner;
mod commands;
mod confirm;
mod footer;
pub mod help;
mod hint;
mod interfaces;
mod output;
mod plan;
mod routes;
mod too_small;
mod viewer;
mod wrapped;

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::app::{App, Focus, Overlay};
use super::layout::{areas, Areas};
use super::theme::Theme;

/// Draw the whole screen for `app`.
pub fn render(frame: &mut Frame, app: &App, theme: &Theme) {
    draw(frame, app, theme);
    if theme.ascii {
        for cell in frame.buffer_mut().content.iter_mut() {
            let ascii = super::theme::to_ascii(cell.symbol());
            if ascii != cell.symbol() {
                let ascii = ascii.to_string();
                cell.set_symbol(&ascii);
            }
        }
    }
}

fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let Some(a) = layout(app, area) else {
        too_small::render(frame, area, theme);
        return;
    };
    if app.viewer.is_some() {
        viewer::render(frame, area, app, theme);
        draw_overlay(frame, area, app, theme);
        return;
    }
    banner::render(frame, a.banner, a.tight, app, theme);
    if let Some(r) = a.interfaces {
        interfaces::render(frame, r, app, theme);
    }
    if let Some(r) = a.routes {
        routes::render(frame, r, app, theme);
    }
    if let Some(r) = a.commands {
        commands::render(frame, r, app, theme);
    }
    if let Some(r) = a.output {
        output::render(frame, r, app, theme);
    }
    footer::render(frame, a.footer, app, theme);
    draw_overlay(frame, area, app, theme);
}

/// The window over the panels, if one is open.
fn draw_overlay(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match app.overlay {
        None => {}
        Some(Overlay::Help) => help::render(frame, area, app.help_scroll, theme),
        Some(Overlay::Confirm(i)) => {
            if let Some(cmd) = app.commands.get(i) {
                let values = app
                    .confirm_values
                    .as_ref()
                    .filter(|(index, _)| *index == i)
                    .map(|(_, v)| v);
                confirm::render(frame, area, cmd, values, theme)
            }
        }
        Some(Overlay::Plan { index, scroll }) => {
            if let Some(cmd) = app.commands.get(index) {
                plan::render(frame, area, cmd, scroll, theme)
            }
        }
        Some(Overlay::ConfirmQuit) => confirm::render_quit(frame, area, theme),
        Some(Overlay::ConfirmStop) => {
            if let Some(cmd) = app.running_index().and_then(|i| app.commands.get(i)) {
                confirm::render_stop(frame, area, cmd, app.elapsed(), theme)
            }
        }
    }
}

/// Where the panels go on a screen of `area` for what `app` shows.
pub fn layout(app: &App, area: Rect) -> Option<Areas> {
    let command_rows =
        app.commands.len() + app.commands.iter().filter(|c| c.kept.is_some()).count();
    let mut need = banner::need(app, area.width);
    // A banner that just shrank keeps its rows a moment: a warning that
    // comes and goes (a tentative address) does not make the panels jump.
    if let Some((held, width, _)) = app.banner_hold {
        if width == area.width {
            need.wrapped = need.wrapped.max(held.wrapped);
            need.tight = need.tight.max(held.tight);
        }
    }
    areas(area, need, command_rows)
}

/// Rows the banner needs at this width (see [`layout`]).
pub fn banner_need(app: &App, width: u16) -> super::layout::BannerNeed {
    banner::need(app, width)
}

/// Rows a bordered window needs for `lines` lines of text: saturating, as
/// a plan or command may have more lines than a u16 holds (the popup is
/// clamped to the screen anyway).
fn rows_with_border(lines: usize) -> u16 {
    u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2)
}

/// A bordered panel; the focused one has a heavier border and says so.
fn panel<'a>(title: &'a str, focus: Focus, app: &App, theme: &Theme) -> Block<'a> {
    let focused = app.focus == focus && app.overlay.is_none();
    let (style, set) = if focused {
        (theme.border_focused, theme.borders_focused)
    } else {
        (theme.border, theme.borders)
    };
    Block::bordered()
        .border_set(set)
        .border_style(style)
        .title(Line::from(Span::styled(format!(" {title} "), theme.title)))
}

/// An overlay window of `width` × `height` (clamped to the screen) in the
/// middle of `area`, cleared underneath: `text` in a focused border with
/// `title` on it.
fn popup(
    frame: &mut Frame,
    area: Rect,
    size: (u16, u16),
    title: &str,
    text: Paragraph,
    theme: &Theme,
) {
    popup_with(frame, area, size, title, None, text, theme);
}

/// [`popup`] with a line on its bottom border that stays in view however
/// much of `text` is cut (the answers of a question: `y run it / n cancel`).
fn popup_with(
    frame: &mut Frame,
    area: Rect,
    (width, height): (u16, u16),
    title: &str,
    bottom: Option<Line<'static>>,
    text: Paragraph,
    theme: &Theme,
) {
    let w = width.min(area.width.saturating_sub(2)).max(1);
    let h = height.min(area.height.saturating_sub(2)).max(1);
    let rect = area.centered(Constraint::Length(w), Constraint::Length(h));
    frame.render_widget(Clear, rect);
    let title = crate::tui::elide::elide(title, w.saturating_sub(2) as usize);
    let mut block = Block::bordered()
        .border_set(theme.borders)
        .border_style(theme.border_focused)
        .title(Line::from(Span::styled(title, theme.title)));
    if let Some(bottom) = bottom {
        let bottom = crate::tui::elide::elide_line(bottom, w.saturating_sub(2) as usize);
        block = block.title_bottom(bottom);
    }
    frame.render_widget(text.block(block), rect);
}

/// The first `rows` items from `offset`, with the offset pulled back so the
/// last page stays full. Returns the clamped offset and the visible slice.
fn visible<T>(items: &[T], offset: usize, rows: usize) -> (usize, &[T]) {
    let offset = offset.min(items.len().saturating_sub(rows));
    let end = (offset + rows).min(items.len());
    (offset, &items[offset..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_heights_saturate_instead_of_wrapping() {
        assert_eq!(super::rows_with_border(3), 5);
        // `as u16 + 2` made 65_534 + 2 overflow and 70_000 wrap to 4_466.
        assert_eq!(super::rows_with_border(65_534), u16::MAX);
        assert_eq!(super::rows_with_border(70_000), u16::MAX);
    }
}
