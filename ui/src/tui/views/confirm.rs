//! "Run this?": the exact command and its guards, before anything runs.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::{popup, rows_with_border};
use crate::tui::app::QUIT_WHILE_RUNNING;
use crate::tui::model::{format_duration, CommandRow};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, cmd: &CommandRow, theme: &Theme) {
    let field = |name: &'static str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:>8}  "), theme.dim),
            Span::styled(value, theme.title),
        ])
    };
    let mut lines = vec![field("run", cmd.run.clone())];
    if let Some(g) = &cmd.unless {
        lines.push(field(
            "unless",
            format!("{g}   (skipped when this succeeds)"),
        ));
    }
    if let Some(g) = &cmd.only_if {
        lines.push(field(
            "only if",
            format!("{g}   (runs only when this succeeds)"),
        ));
    }
    for var in &cmd.vars {
        lines.push(field("with", var.clone()));
    }
    if let Some(t) = cmd.timeout {
        lines.push(field("timeout", format_duration(t)));
    }
    if cmd.sensitive {
        lines.push(Line::from(Span::styled(
            "          sensitive: the command text is redacted here and in the log",
            theme.dim,
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y", theme.key),
        Span::raw(" run it    "),
        Span::styled("n", theme.key),
        Span::raw(" / "),
        Span::styled("Esc", theme.key),
        Span::raw(" cancel"),
    ]));
    let width = area.width.saturating_sub(8).clamp(20, 100);
    let inner = width.saturating_sub(2).max(1) as usize;
    // Wrapped height, so long commands stay whole on narrow screens.
    let height: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let rect = popup(frame, area, width, rows_with_border(height));
    let block = Block::bordered()
        .border_style(theme.border_focused)
        .title(Line::from(Span::styled(
            format!(" run {}? ", cmd.name),
            theme.title,
        )));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
}

/// "Quit and stop it?": `q` while a command runs.
pub fn render_quit(frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = vec![
        Line::from(Span::styled(QUIT_WHILE_RUNNING, theme.title)),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", theme.key),
            Span::raw(" quit and stop it    "),
            Span::styled("n", theme.key),
            Span::raw(" / "),
            Span::styled("Esc", theme.key),
            Span::raw(" keep going"),
        ]),
    ];
    let rect = popup(frame, area, 50, rows_with_border(lines.len()));
    let block = Block::bordered()
        .border_style(theme.border_focused)
        .title(Line::from(Span::styled(" quit? ", theme.title)));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
}
