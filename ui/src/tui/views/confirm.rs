//! "Run this?": the exact command and its guards, before anything runs.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{popup, rows_with_border};

use crate::tui::app::{QUIT_WHILE_RUNNING, STOP_RUNNING};
use crate::tui::display::{format_duration, CommandRow};
use crate::tui::theme::Theme;

/// `values`: what the command's network variables would be now, worked
/// out when the confirmation opened by the runner's own code (else the
/// values from the config's load).
pub fn render(
    frame: &mut Frame,
    area: Rect,
    cmd: &CommandRow,
    values: Option<&crate::tui::event_loop::Values>,
    theme: &Theme,
) {
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
    match values {
        Some(values) => {
            for (name, value) in values {
                match value {
                    Ok(v) => lines.push(field("with", format!("{name}={v}"))),
                    Err(why) => lines.push(Line::from(vec![
                        Span::styled(format!("{:>8}  ", "with"), theme.dim),
                        Span::styled(format!("{name} unset: {why}"), theme.warn),
                    ])),
                }
            }
        }
        None => {
            for var in &cmd.vars {
                lines.push(field("with", var.clone()));
            }
        }
    }
    if let Some(t) = cmd.timeout {
        lines.push(field("timeout", format_duration(t)));
    }
    if cmd.retries > 0 {
        lines.push(field(
            "retries",
            format!(
                "{} more time{} after a failure, {} apart",
                cmd.retries,
                if cmd.retries == 1 { "" } else { "s" },
                format_duration(cmd.retry_delay)
            ),
        ));
    }
    if cmd.sensitive {
        lines.push(Line::from(Span::styled(
            "          sensitive: the command text is redacted here and in the log",
            theme.dim,
        )));
    }
    let width = area.width.saturating_sub(8).clamp(20, 100);
    let inner = width.saturating_sub(2).max(1) as usize;
    // Wrapped height, so long commands stay whole on narrow screens.
    let height: usize = lines.iter().map(|l| wrapped_rows(l, inner)).sum();
    // The answers sit on the bottom border: in view however much of the
    // command a small screen cuts (the view below says so with `…`).
    let fits = area.height.saturating_sub(4) as usize;
    if height > fits && fits > 0 {
        let mut kept = 0;
        let mut out = Vec::new();
        for l in lines {
            let rows = wrapped_rows(&l, inner);
            if kept + rows <= fits {
                kept += rows;
                out.push(l);
                continue;
            }
            // The rest of this line as fits, cut with `…` (some slack for
            // wrapping at spaces); `p` shows everything.
            let room = fits - kept;
            let mut max = room * inner;
            while room > 0 && max > 0 {
                let cut = crate::tui::elide::elide_line(l.clone(), max);
                if wrapped_rows(&cut, inner) <= room {
                    out.push(cut);
                    break;
                }
                max = max.saturating_sub(4);
            }
            break;
        }
        lines = out;
    }
    let height: usize = lines.iter().map(|l| wrapped_rows(l, inner)).sum();
    super::popup_with(
        frame,
        area,
        (width, rows_with_border(height)),
        &format!(" run {}? ", cmd.name),
        Some(answers("run it", "cancel", theme)),
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        theme,
    );
}

/// "Quit and stop it?": `q` while a command runs.
pub fn render_quit(frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = vec![
        Line::from(Span::styled(QUIT_WHILE_RUNNING, theme.title)),
        Line::from(""),
        answers("quit and stop it", "keep going", theme),
    ];
    popup(
        frame,
        area,
        (50, rows_with_border(lines.len())),
        " quit? ",
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        theme,
    );
}

/// "Stop it?": `x` while a command runs.
pub fn render_stop(
    frame: &mut Frame,
    area: Rect,
    cmd: &CommandRow,
    elapsed: Option<std::time::Duration>,
    theme: &Theme,
) {
    let ran = elapsed.map_or(String::new(), |e| {
        format!(" (running for {})", format_duration(e))
    });
    let lines = vec![
        Line::from(Span::styled(format!("{}{ran}", cmd.name), theme.title)),
        Line::from(STOP_RUNNING),
        Line::from(""),
        answers("stop it", "let it run", theme),
    ];
    let width = area.width.saturating_sub(8).clamp(20, 70);
    let inner = width.saturating_sub(2).max(1) as usize;
    let height: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    popup(
        frame,
        area,
        (width, rows_with_border(height)),
        &format!(" stop {}? ", cmd.name),
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        theme,
    );
}

/// The keys that answer a question: `y` for `yes`, `n` or `Esc` for `no`.
fn answers(yes: &'static str, no: &'static str, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled("y", theme.key),
        Span::raw(format!(" {yes}    ")),
        Span::styled("n", theme.key),
        Span::raw(" / "),
        Span::styled("Esc", theme.key),
        Span::raw(format!(" {no}")),
    ])
}

/// Rows `line` takes when wrapped at spaces into `width` columns, as the
/// paragraph wraps it (a word longer than a row is split).
fn wrapped_rows(line: &Line, width: usize) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let width = width.max(1);
    let mut rows = 1;
    let mut used = 0;
    for word in text.split_inclusive(' ') {
        let w = crate::tui::elide::width(word);
        let bare = crate::tui::elide::width(word.trim_end());
        if used + bare > width && used > 0 {
            rows += 1;
            used = 0;
        }
        if w > width {
            rows += w.saturating_sub(1) / width;
            used = w % width;
        } else {
            used += w;
        }
    }
    rows
}
