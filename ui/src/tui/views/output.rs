//! Output of the selected command, newest at the bottom; stdout lines are
//! marked `out│`, stderr `err│`, the runner's own notes `···`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use crate::tui::app::{App, Focus};
use crate::tui::layout::inner_rows;
use crate::tui::model::OutStream;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows_fit = inner_rows(area, false);
    let Some(cmd) = app.selected_command() else {
        frame.render_widget(
            Paragraph::new("").block(panel("output", Focus::Output, app, theme)),
            area,
        );
        return;
    };
    let all = &cmd.output;
    let back = app
        .scroll
        .output_back
        .min(all.len().saturating_sub(rows_fit));
    let end = all.len() - back;
    let start = end.saturating_sub(rows_fit);
    let mut lines: Vec<Line> = all[start..end]
        .iter()
        .map(|l| match l.stream {
            OutStream::Stdout => Line::from(vec![
                Span::styled("out│", theme.dim),
                Span::raw(l.text.as_str()),
            ]),
            OutStream::Stderr => Line::from(vec![
                Span::styled("err│", theme.stderr),
                Span::styled(l.text.as_str(), theme.stderr),
            ]),
            OutStream::Info => Line::from(vec![
                Span::styled("··· ", theme.info),
                Span::styled(l.text.as_str(), theme.info),
            ]),
        })
        .collect();
    if all.is_empty() {
        lines.push(Line::from(Span::styled(
            "not run yet · Enter runs it · p: plan",
            theme.dim,
        )));
    }
    let title = if back > 0 {
        format!("output: {} (scrolled back {back})", cmd.name)
    } else {
        format!("output: {}", cmd.name)
    };
    frame.render_widget(
        Paragraph::new(lines).block(panel(&title, Focus::Output, app, theme)),
        area,
    );
}
