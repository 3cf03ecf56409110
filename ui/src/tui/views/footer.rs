//! The bottom line: read-only mode when not root, the latest message, then
//! the keys of the focused panel or the open window, from the key table
//! (`keys.rs`); cut with `…` when it does not fit, `?` help always kept.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::{App, Level, READ_ONLY};
use crate::tui::elide;
use crate::tui::keys::{self, When};
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    // Groups that show whole or not at all (a key without its word is
    // noise); a message, the first, may be cut with `…`. A pinned group
    // (`?` help) keeps its room however long the rest.
    let mut groups: Vec<(Vec<Span>, bool)> = Vec::new();
    if !app.is_root {
        groups.push((
            vec![Span::styled(READ_ONLY, theme.warn), Span::raw("  ")],
            false,
        ));
    }
    if let Some(msg) = &app.message {
        let style = match msg.level {
            Level::Info => theme.info,
            Level::Warn => theme.warn,
            Level::Error => theme.error,
        };
        groups.push((
            vec![Span::styled(msg.text.as_str(), style), Span::raw("  ")],
            false,
        ));
    }
    let messages = groups.len();
    let fixes = app.fixes().len();
    let holds = |when| match when {
        When::Always => true,
        When::Running => app.running.is_some(),
        When::Fixes => fixes > 0 && app.is_root,
        When::SeveralFixes => fixes > 1 && app.is_root,
        When::Filtered => app.route_filter.narrows(),
        When::HasCommands => !app.commands.is_empty(),
    };
    for h in keys::hints(app.mode(), holds) {
        groups.push((
            vec![
                Span::styled(h.keys, theme.key),
                Span::styled(format!(" {}  ", h.word), theme.dim),
            ],
            h.pinned,
        ));
    }
    let width = |g: &[Span]| g.iter().map(Span::width).sum::<usize>();
    let max = area.width as usize;
    let mut kept: usize = groups
        .iter()
        .filter(|(_, pinned)| *pinned)
        .map(|(g, _)| width(g))
        .sum();
    if kept > max {
        kept = 0;
    }
    let mut used = 0;
    let mut full = false;
    let mut shown = Vec::new();
    for (i, (group, pinned)) in groups.into_iter().enumerate() {
        let w = width(&group);
        if pinned {
            if used + w <= max {
                used += w;
                kept = kept.saturating_sub(w);
                shown.extend(group);
            }
        } else if !full && used + w + kept <= max {
            used += w;
            shown.extend(group);
        } else if !full {
            full = true;
            // A message is cut with `…`, a gap kept before `? help`.
            let gap = if kept > 0 { 2 } else { 0 };
            let room = max.saturating_sub(used + kept + gap);
            if i < messages && room > 0 {
                let span = &group[0];
                let text = elide::cut(&span.content, room);
                used += Span::raw(text.as_str()).width() + gap;
                shown.push(Span::styled(text, span.style));
                shown.push(Span::raw(" ".repeat(gap)));
            }
        }
    }
    frame.render_widget(Paragraph::new(Line::from(shown)), area);
}
