//! The configured commands: name, state, last duration; the selected one
//! is highlighted and is what Enter and `p` act on. A command a running
//! `inject ensure` keeps gets a second line: that, and when ensure last
//! ran it (`acted 3m ago`) or that it keeps failing.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::panel;
use crate::tui::app::{App, Focus};
use crate::tui::display::{format_age, format_ago, format_duration, CmdState};
use crate::tui::elide;
use crate::tui::layout::inner_rows;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let note = elide::elide(&app.config_note, area.width.saturating_sub(4) as usize);
    // Where the selection is and how many there are (`3/7`).
    let title = match app.commands.len() {
        0 => "commands".to_string(),
        n => format!("commands {}/{n}", app.selected.min(n - 1) + 1),
    };
    let block = panel(&title, Focus::Commands, app, theme)
        .title_bottom(Line::from(Span::styled(format!(" {note} "), theme.dim)));
    if app.commands.is_empty() {
        let why = if app.config_error.is_some() {
            "no commands: the config has an error (see above); fix it and restart"
        } else {
            "no commands are configured"
        };
        let text = Paragraph::new(why)
            .style(theme.warn)
            .wrap(Wrap { trim: true })
            .block(block);
        frame.render_widget(text, area);
        return;
    }
    let rows_fit = inner_rows(area, true).max(1);
    // LAST says how long ago and who ran it (`3m errand`), or how long it
    // took when nothing says when; STATE and LAST are as wide as their
    // widest words, names get the rest.
    let last_of = |i: usize, c: &crate::tui::display::CommandRow| -> String {
        if app.is_running(i) {
            return format_duration(app.elapsed().unwrap_or_default());
        }
        // Run by another process: for how long, and by whom.
        if let (Some(h), Some(now)) = (&c.held, app.wall) {
            let took = now.duration_since(h.since).unwrap_or_default();
            return format!("{} {}", format_age(took), h.source);
        }
        match (&c.past, app.wall) {
            (Some(p), Some(now)) => {
                let ago = now.duration_since(p.when).unwrap_or_default();
                format!("{} {}", format_age(ago), p.source)
            }
            _ => c.last_duration.map(format_duration).unwrap_or_default(),
        }
    };
    let lasts: Vec<String> = app
        .commands
        .iter()
        .enumerate()
        .map(|(i, c)| last_of(i, c))
        .collect();
    let widest = |texts: &mut dyn Iterator<Item = usize>| texts.max().unwrap_or(0);
    let state_w = widest(&mut app.commands.iter().enumerate().map(|(i, c)| {
        let own = if app.is_running(i) {
            9 // `⠋ running`
        } else {
            elide::width(state_label(app, c))
        };
        own.max(c.kept.as_ref().map_or(0, |k| elide::width(k.label())))
    }))
    .max(5);
    let kept_ago = app.commands.iter().filter_map(|c| {
        c.kept
            .as_ref()?
            .acted_ago
            .map(|a| elide::width(&format_ago(a)))
    });
    // No column at all while no command has a last run to show.
    // An age is sized for its widest (`59m`), so names keep their width
    // (and their cut) as `9s errand` grows to `10m errand`.
    let grown = lasts.iter().zip(&app.commands).map(|(l, c)| {
        let source = c
            .held
            .as_ref()
            .map(|h| &h.source)
            .or(c.past.as_ref().map(|p| &p.source));
        match source {
            Some(s) if !l.is_empty() => 4 + elide::width(s),
            _ => elide::width(l),
        }
    });
    let last_w = match widest(&mut grown.chain(kept_ago)) {
        0 => 0,
        w => w.clamp(8, 14),
    };
    let name_w = (area.width.saturating_sub(2) as usize).saturating_sub(state_w + last_w + 2);
    // A kept command takes a second line (`↳ kept by ensure  acted  3m ago`).
    let height = |i: usize| 1 + usize::from(app.commands[i].kept.is_some());
    // Scroll just enough to keep the selection (both its lines) in view.
    let mut offset = app.selected;
    let mut used = height(offset);
    while offset > 0 && used + height(offset - 1) <= rows_fit {
        offset -= 1;
        used += height(offset);
    }
    let mut end = offset;
    let mut filled = 0;
    while end < app.commands.len() && filled < rows_fit {
        filled += height(end);
        end += 1;
    }
    let rows = app.commands[offset..end].iter().enumerate().map(|(i, c)| {
        let state_style = match c.state {
            CmdState::Pending => theme.dim,
            CmdState::Running => theme.info,
            CmdState::Ok => theme.ok,
            CmdState::Skipped => theme.dim,
            CmdState::Failed | CmdState::TimedOut => theme.error,
            CmdState::Cancelled => theme.warn,
        };
        let selected = offset + i == app.selected;
        let marker = if selected { theme.marks.selected } else { " " };
        // Cut in the middle: names that share a start stay apart.
        let mut name = vec![Line::from(format!(
            "{marker} {}",
            elide::elide_middle(&c.name, name_w.saturating_sub(2))
        ))];
        let running = app.is_running(offset + i);
        let last_text = elide::elide(&lasts[offset + i], last_w);
        let state_text = if running {
            // A spinner that moves with the clock.
            let elapsed = app.elapsed().unwrap_or_default();
            let frames = theme.marks.spinner;
            let frame = frames[(elapsed.as_millis() / 100) as usize % frames.len()];
            format!("{frame} running")
        } else {
            state_label(app, c).to_string()
        };
        let mut state = vec![Line::from(Span::styled(state_text, state_style))];
        let mut last = vec![Line::from(last_text)];
        if let Some(kept) = &c.kept {
            let style = if kept.failures > 0 {
                theme.error
            } else {
                theme.dim
            };
            name.push(Line::from(Span::styled(
                elide::elide("  ↳ kept by ensure", name_w),
                theme.dim,
            )));
            state.push(Line::from(Span::styled(kept.label(), style)));
            last.push(Line::from(Span::styled(
                kept.acted_ago.map(format_ago).unwrap_or_default(),
                theme.dim,
            )));
        }
        let row = Row::new(vec![
            Cell::from(Text::from(name)),
            Cell::from(Text::from(state)),
            Cell::from(Text::from(last)),
        ])
        .height(1 + u16::from(c.kept.is_some()));
        if selected {
            row.style(theme.selected)
        } else {
            row
        }
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(name_w as u16),
            Constraint::Length(state_w as u16),
            Constraint::Length(last_w as u16),
        ],
    )
    .header(
        Row::new(["COMMAND", "STATE", if last_w > 0 { "LAST RUN" } else { "" }])
            .style(theme.header),
    )
    .block(block);
    frame.render_widget(table, area);
}

/// A command's state in words; one never run by this dashboard reads
/// `unknown` when the run log cannot be read (it may well have run).
fn state_label(app: &App, c: &super::super::display::CommandRow) -> &'static str {
    match (c.state, &app.history_error) {
        (CmdState::Pending, Some(_)) => "unknown",
        (state, _) => state.label(),
    }
}
