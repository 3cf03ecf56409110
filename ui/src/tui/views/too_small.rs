//! What a window too small for the panels shows instead of them.

use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::layout::{MIN_HEIGHT, MIN_WIDTH};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = format!(
        "window too small: {}x{}, inject-tui needs {MIN_WIDTH}x{MIN_HEIGHT} (q quits)",
        area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.warn)
            .wrap(Wrap { trim: true }),
        area,
    );
}
