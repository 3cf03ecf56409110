//! Output of the selected command: its last lines (following the end
//! while it runs, unless scrolled back), ANSI colours drawn as the viewer
//! draws them; stdout lines are marked `out│`, stderr `err│`, the runner's
//! own notes `···`.

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
    // Coloured as the viewer colours them (ANSI codes drawn, never sent
    // raw to the terminal), after a mark of the stream.
    let mut lines: Vec<Line> = all[start..end]
        .iter()
        .map(|l| {
            let mark = match l.stream {
                OutStream::Stdout => Span::styled(format!("out{}", theme.marks.bar), theme.dim),
                OutStream::Stderr => Span::styled(format!("err{}", theme.marks.bar), theme.stderr),
                OutStream::Info => Span::styled(format!("{} ", theme.marks.note), theme.info),
            };
            let mut spans = vec![mark];
            spans.extend(super::viewer::styled(l, theme).spans);
            elide::elide_line(Line::from(spans), text_w + 4)
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

#[cfg(test)]
mod tests {
    use crate::tui::display::{OutLine, OutStream};
    use crate::tui::fixtures::seed_vm_app;
    use crate::tui::theme::Theme;
    use ratatui::backend::TestBackend;
    use ratatui::style::Color;
    use ratatui::Terminal;

    #[test]
    fn the_panel_draws_ansi_colours_and_follows_the_tail() {
        let mut app = seed_vm_app();
        let mut output: Vec<OutLine> = (1..=50)
            .map(|i| OutLine {
                stream: OutStream::Stdout,
                text: format!("line {i}"),
            })
            .collect();
        output.push(OutLine {
            stream: OutStream::Stdout,
            text: "\u{1b}[32mgreen\u{1b}[0m and plain".into(),
        });
        app.commands[0].output = output;
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal
            .draw(|f| crate::tui::views::render(f, &app, &Theme::color()))
            .unwrap();
        let buf = terminal.backend().buffer().clone();
        let rows: Vec<String> = buf
            .content()
            .chunks(120)
            .map(|r| r.iter().map(|c| c.symbol()).collect())
            .collect();
        let s = rows.join("\n");
        assert!(s.contains("out│green and plain"), "{s}");
        assert!(!s.contains("[32m") && !s.contains('\u{1b}'), "{s}");
        assert!(s.contains("out│line 50"), "the tail: {s}");
        assert!(!s.contains("out│line 1 "), "not the head: {s}");
        let row = rows.iter().position(|r| r.contains("green and")).unwrap();
        let col = rows[row].chars().position(|c| c == 'g').unwrap();
        assert_eq!(buf[(col as u16, row as u16)].fg, Color::Green);
    }
}
