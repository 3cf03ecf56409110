//! The output viewer, full screen: one command's output from the line the
//! viewer stands at (the end while following), ANSI colours rendered (or
//! dropped without colour), tabs expanded, long lines cut with `…` or
//! wrapped; the bottom line has its keys, a search being typed, or a note.

use ansi_to_tui::IntoText;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::display::{OutLine, OutStream};
use crate::tui::elide;
use crate::tui::theme::Theme;
use crate::tui::viewer_state::expand_tabs;

const KEYS: [(&str, &str); 6] = [
    ("Esc", "close"),
    ("↑↓ PgUp PgDn", "scroll"),
    ("g G", "top/end"),
    ("w", "wrap"),
    ("/", "search"),
    ("n N", "next/prev"),
];

/// One output line as styled text: its ANSI colours when the theme has
/// colour, else only its characters; tabs expanded to stops of 8 columns
/// (counted on what shows, not on the escape codes).
pub(crate) fn styled(line: &OutLine, theme: &Theme) -> Line<'static> {
    let base = match line.stream {
        OutStream::Stdout => Style::default(),
        OutStream::Stderr => theme.stderr,
        OutStream::Info => theme.info,
    };
    let parsed = line.text.as_bytes().into_text().ok();
    let pieces: Vec<(String, Style)> = match parsed.and_then(|t| t.lines.into_iter().next()) {
        Some(parsed) => parsed
            .spans
            .into_iter()
            .map(|s| {
                let style = if theme.colored() {
                    base.patch(s.style)
                } else {
                    base
                };
                (s.content.into_owned(), style)
            })
            .collect(),
        None => vec![(line.text.clone(), base)],
    };
    let mut col = 0;
    let spans = pieces
        .into_iter()
        .map(|(text, style)| {
            let text = expand_tabs(&text, col).into_owned();
            col += elide::width(&text);
            Span::styled(text, style)
        })
        .collect::<Vec<_>>();
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(v) = &app.viewer else {
        return;
    };
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let lines = app.viewer_lines();
    let rows = body.height.saturating_sub(2) as usize;
    let width = body.width.saturating_sub(2) as usize;
    let mut first = v.first_line(lines.len(), rows);
    if v.wrap && v.follow {
        // The end, with long lines taking more rows.
        let mut used = 0;
        first = lines.len();
        while first > 0 {
            let w = elide::width(&lines[first - 1].text).max(1);
            let need = w.div_ceil(width.max(1));
            if used + need > rows {
                break;
            }
            used += need;
            first -= 1;
        }
    }
    let shown: Vec<Line> = lines[first..(first + rows).min(lines.len())]
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let line = styled(l, theme);
            let line = if v.hit == Some(first + k) {
                line.style(theme.selected)
            } else {
                line
            };
            if v.wrap {
                line
            } else {
                elide::elide_line(line, width)
            }
        })
        .collect();
    let cmd = app.commands.get(v.index);
    let name = cmd.map_or("", |c| c.name.as_str());
    // Running, or how it ended (`failed in 2s`), or that it never ran.
    let state = match cmd {
        Some(_) if app.is_running(v.index) => "running".to_string(),
        Some(c) if c.held.is_some() => format!(
            "running ({})",
            c.held.as_ref().map_or("", |h| h.source.as_str())
        ),
        Some(c) => match c.last_duration {
            Some(d) if c.state != crate::tui::display::CmdState::Pending => {
                format!(
                    "{} in {}",
                    c.state.label(),
                    crate::tui::display::format_duration(d)
                )
            }
            _ => c.state.label().to_string(),
        },
        None => String::new(),
    };
    let end = (first + shown.len()).min(lines.len());
    let mut title = format!(
        " output: {name} · {state} · {}-{end}/{} ",
        first.min(end) + usize::from(end > 0),
        lines.len()
    );
    if v.follow {
        title.push_str("· following ");
    }
    if v.wrap {
        title.push_str("· wrap ");
    }
    let title = elide::elide(&title, width);
    let bottom = v
        .loaded
        .as_ref()
        .map(|l| elide::elide(&format!(" {} ", l.path), width));
    let mut block = Block::bordered()
        .border_set(theme.borders)
        .border_style(theme.border_focused)
        .title(Line::from(Span::styled(title, theme.title)));
    if let Some(b) = bottom {
        block = block.title_bottom(Line::from(Span::styled(b, theme.dim)));
    }
    let mut paragraph = Paragraph::new(shown).block(block);
    if v.wrap {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    frame.render_widget(paragraph, body);

    let mut spans = Vec::new();
    if let Some(typed) = &v.typing {
        spans.push(Span::styled(format!("/{typed}"), theme.key));
        spans.push(Span::styled("  Enter searches, Esc cancels", theme.dim));
    } else {
        if let Some(note) = &v.note {
            spans.push(Span::styled(format!("{note}  "), theme.warn));
        }
        for (key, what) in KEYS {
            spans.push(Span::styled(key, theme.key));
            spans.push(Span::styled(format!(" {what}  "), theme.dim));
        }
    }
    frame.render_widget(
        Paragraph::new(elide::elide_line(Line::from(spans), footer.width as usize)),
        footer,
    );
}
