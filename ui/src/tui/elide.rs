//! Text that must fit a width: cut with a visible `…`, never to a shorter
//! value that looks valid (`10.0.250.10/24` must not read `10.0.250.1`).

use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The mark that says text was cut here.
pub const ELLIPSIS: &str = "…";

/// Columns `text` takes on a terminal.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` as it fits `max` columns: whole, or its start and `…`.
pub fn elide(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    cut(text, max)
}

/// `text` in `max` columns: whole, or its start, `…` and its end, so names
/// that differ only at the end (`rotate-haproxy-a`, `rotate-haproxy-b`)
/// stay apart (`rotate-h…proxy-a`).
pub fn elide_middle(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    if max < 5 {
        return cut(text, max);
    }
    let tail_w = (max - 1) / 2;
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_w {
            break;
        }
        tail.push(c);
        used += w;
    }
    let head = cut(text, max - used);
    let tail: String = tail.into_iter().rev().collect();
    format!("{head}{tail}")
}

/// The start of `text` and `…` in at most `max` columns, whether or not
/// all of it would fit: for text that goes on beyond this piece.
pub fn cut(text: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push_str(ELLIPSIS);
    out
}

/// An `address/prefix` in `max` columns: the address is cut and the
/// prefix kept (`10.0.2…/24`), since a cut prefix (`10.0.250.10/2…`) reads
/// as another valid one. Text without a `/` is elided as usual.
pub fn elide_cidr(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    match text.rsplit_once('/') {
        Some((addr, prefix)) if width(prefix) + 3 <= max => {
            let keep = max - width(prefix) - 1;
            format!("{}/{prefix}", cut(addr, keep))
        }
        // Not even the prefix fits: the address alone, cut.
        _ => cut(text, max),
    }
}

/// Whole items separated by a space, as many as fit `max` columns, then
/// `+N` for those left out (`10.0.0.1/24 fe80::1/64 +2`): a list is never cut
/// inside an item. When not even the first item fits, it is elided.
pub fn list(items: &[String], max: usize) -> String {
    let all = items.join(" ");
    if width(&all) <= max {
        return all;
    }
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let rest = format!("+{}", items.len() - i);
        let sep = usize::from(!out.is_empty());
        // Room for this item and, unless it is the last, the `+N` after it.
        let more = if i + 1 < items.len() {
            1 + width(&format!("+{}", items.len() - i - 1))
        } else {
            0
        };
        if width(&out) + sep + width(item) + more > max {
            if out.is_empty() {
                return elide_cidr(item, max);
            }
            return format!("{out} {rest}");
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(item);
    }
    out
}

/// `line` cut to `max` columns, its last span ending in `…`.
pub fn elide_line(line: Line<'static>, max: usize) -> Line<'static> {
    if line.width() <= max {
        return line;
    }
    let mut left = max;
    let mut spans = Vec::new();
    for span in line.spans {
        if left == 0 {
            break;
        }
        let w = span.width();
        if w < left {
            left -= w;
            spans.push(span);
        } else {
            spans.push(Span::styled(cut(&span.content, left), span.style));
            left = 0;
        }
    }
    Line::from(spans).style(line.style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elided_text_ends_in_an_ellipsis_and_fits() {
        assert_eq!(elide("10.0.250.10/24", 20), "10.0.250.10/24");
        assert_eq!(elide("10.0.250.10/24", 10), "10.0.250.…");
        assert_eq!(width(&elide("IPv6: no default route — eth1", 12)), 12);
        assert_eq!(elide("65536", 3), "65…");
        assert_eq!(elide("abc", 0), "");
    }

    #[test]
    fn lists_keep_whole_items_and_count_the_rest() {
        let items: Vec<String> = ["10.0.250.10/24", "2001:db8:69f5::10/64", "fe80::3/64"]
            .map(String::from)
            .to_vec();
        assert_eq!(list(&items, 100), items.join(" "));
        assert_eq!(list(&items, 20), "10.0.250.10/24 +2");
        assert_eq!(list(&items, 40), "10.0.250.10/24 2001:db8:69f5::10/64 +1");
        // The prefix stays whole: `10.0.25…` would hide it, `/2…` forge one.
        assert_eq!(list(&items, 8), "10.0…/24");
    }
}

#[cfg(test)]
mod middle {
    use super::*;

    #[test]
    fn names_that_differ_at_the_end_stay_apart() {
        let a = elide_middle("rotate-haproxy-certs-a", 14);
        let b = elide_middle("rotate-haproxy-certs-b", 14);
        assert_ne!(a, b);
        assert_eq!(width(&a), 14);
        assert!(a.contains('…') && a.ends_with("-a"), "{a}");
        assert_eq!(elide_middle("short", 14), "short");
    }
}

#[cfg(test)]
mod cidr {
    use super::*;

    #[test]
    fn a_cut_address_keeps_its_prefix_whole() {
        assert_eq!(elide_cidr("10.0.250.10/24", 12), "10.0.250…/24");
        assert_eq!(
            list(
                &["10.0.250.10/24".to_string(), "fe80::1/64".to_string()],
                12
            ),
            "10.0.250…/24"
        );
        assert_eq!(elide_cidr("2001:db8::10/64", 4), "200…");
        assert!(!elide_cidr("10.0.250.10/24", 13).contains("/2…"));
    }
}
