//! A line in a given number of wrapped rows: cut, whole words first, at
//! its start or its end, with `…` where the cut is (the banner, short of
//! rows).

use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::elide;

pub fn rows_of(line: &Line<'static>, width: u16) -> usize {
    Paragraph::new(line.clone())
        .wrap(Wrap { trim: false })
        .line_count(width)
        .max(1)
}

/// `line` in at most `rows` rows `width` wide: its last span loses its
/// end, whole words first, and ends in `…`.
pub fn keep_start(line: Line<'static>, width: u16, rows: usize) -> Line<'static> {
    if rows_of(&line, width) <= rows {
        return line;
    }
    let mut spans = line.spans;
    let Some(last) = spans.pop() else {
        return Line::default();
    };
    let text = last.content.to_string();
    let mut end = text.len();
    // Drop whole words from the end until it fits.
    while let Some(space) = text[..end].rfind(' ') {
        end = space;
        let mut candidate = spans.clone();
        candidate.push(Span::styled(
            format!("{}{}", &text[..end], elide::ELLIPSIS),
            last.style,
        ));
        let candidate = Line::from(candidate);
        if rows_of(&candidate, width) <= rows {
            return candidate;
        }
    }
    // One word longer than the rows: its start, cut to fit.
    let room = (width as usize * rows).saturating_sub(spans.iter().map(|s| s.width()).sum());
    spans.push(Span::styled(elide::elide(&text, room), last.style));
    Line::from(spans)
}

/// `line` in at most `rows` rows `width` wide: its last span loses its
/// start (`…` says so), as a hint's prose ends with what leads to its
/// command.
pub fn keep_end(line: Line<'static>, width: u16, rows: usize) -> Line<'static> {
    if rows_of(&line, width) <= rows {
        return line;
    }
    let mut spans = line.spans;
    let Some(last) = spans.pop() else {
        return Line::default();
    };
    let text: Vec<char> = last.content.chars().collect();
    // Drop whole words from the start until it fits.
    let mut from = 0;
    loop {
        let next = text[from..]
            .iter()
            .position(|c| *c == ' ')
            .map(|p| from + p + 1);
        let Some(next) = next.filter(|n| *n < text.len()) else {
            break;
        };
        from = next;
        let tail: String = text[from..].iter().collect();
        let mut candidate = spans.clone();
        candidate.push(Span::styled(
            format!("{}{tail}", elide::ELLIPSIS),
            last.style,
        ));
        let candidate = Line::from(candidate);
        if rows_of(&candidate, width) <= rows {
            return candidate;
        }
    }
    // One word longer than the rows: its end, cut to fit.
    let tail: String = text[from..].iter().collect();
    let room = (width as usize * rows).saturating_sub(spans.iter().map(|s| s.width()).sum());
    spans.push(Span::styled(elide::elide(&tail, room), last.style));
    Line::from(spans)
}
