//! Output of the selected command, newest at the bottom; stdout lines are
//! marked `out│`, stderr `err│`, the runner's own notes `···`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use crate::tui::app::{App, Focus};
use crate::tui::display::OutStream;
use crate::tui::elide;
use crate::tui::layout::inner_rows;
use crate::tui::theme::Theme;
use crate::tui::viewer::expand_tabs;

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
    // Lines are cut with `…` (the output viewer shows them whole).
    let text_w = (area.width.saturating_sub(2) as usize).saturating_sub(4);
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
                Span::styled(format!("out{}", theme.marks.bar), theme.dim),
                Span::raw(elide::elide(&expand_tabs(&l.text, 0), text_w)),
            ]),
            OutStream::Stderr => Line::from(vec![
                Span::styled(format!("err{}", theme.marks.bar), theme.stderr),
                Span::styled(elide::elide(&expand_tabs(&l.text, 0), text_w), theme.stderr),
            ]),
            OutStream::Info => Line::from(vec![
                Span::styled(format!("{} ", theme.marks.note), theme.info),
                Span::styled(elide::elide(&expand_tabs(&l.text, 0), text_w), theme.info),
            ]),
        })
        .collect();
    if all.is_empty() {
        let running = app.is_running(app.selected);
        let text = if running {
            let elapsed = app.elapsed().unwrap_or_default();
            format!(
                "running for {}, no output yet; x stops it",
                crate::tui::display::format_duration(elapsed)
            )
        } else {
            "not run yet; Enter runs it, p shows the plan".to_string()
        };
        lines.push(Line::from(Span::styled(
            elide::elide(&text, text_w + 4),
            theme.dim,
        )));
    }
    let title = elide::elide(&title_of(cmd, back), area.width.saturating_sub(4) as usize);
    frame.render_widget(
        Paragraph::new(lines).block(panel(&title, Focus::Output, app, theme)),
        area,
    );
}

fn title_of(cmd: &crate::tui::display::CommandRow, back: usize) -> String {
    if back > 0 {
        format!("output: {} (scrolled back {back})", cmd.name)
    } else {
        format!("output: {}", cmd.name)
    }
}
