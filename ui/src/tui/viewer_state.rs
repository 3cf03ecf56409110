//! The output viewer's state (`o`): a full-screen look at one command's
//! output that follows the tail until scrolled, with wrap and search. Its
//! keys are handled here, purely; drawing is `views::viewer`.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};

use super::display::{OutLine, OutStream};

/// Lines kept from the start and from the end of an output file; what is
/// between is counted, not kept.
pub const HEAD_LINES: usize = 10_000;
pub const TAIL_LINES: usize = 200_000;

/// An output file read for the viewer: its head and tail, and how many
/// lines between were not kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub lines: Vec<OutLine>,
    /// Lines between the head and the tail that were not kept, and their bytes.
    pub omitted: usize,
    pub omitted_bytes: u64,
    pub path: String,
}

/// Read `path` (as the run log writes it: `stderr| ` marks stderr) keeping
/// at most `head` lines from its start and `tail` from its end.
pub fn load(path: &Path, head: usize, tail: usize) -> std::io::Result<Loaded> {
    use std::collections::VecDeque;
    use std::io::BufRead;
    let file = std::fs::File::open(path)?;
    let mut reader = std::io::BufReader::new(file);
    let mut first = Vec::new();
    let mut last: VecDeque<OutLine> = VecDeque::new();
    let (mut omitted, mut omitted_bytes) = (0usize, 0u64);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        let text = super::display::after_carriage_returns(text);
        let line = match text.strip_prefix("stderr| ") {
            Some(rest) => OutLine {
                stream: OutStream::Stderr,
                text: rest.to_string(),
            },
            None => OutLine {
                stream: OutStream::Stdout,
                text: text.to_string(),
            },
        };
        if first.len() < head {
            first.push(line);
            continue;
        }
        last.push_back(line);
        if last.len() > tail {
            if let Some(gone) = last.pop_front() {
                omitted += 1;
                omitted_bytes += gone.text.len() as u64 + 1;
            }
        }
    }
    let mut lines = first;
    if omitted > 0 {
        lines.push(OutLine {
            stream: OutStream::Info,
            text: format!(
                "… {omitted} lines ({omitted_bytes} bytes) not kept here; all of it is in {} …",
                path.display()
            ),
        });
    }
    lines.extend(last);
    Ok(Loaded {
        lines,
        omitted,
        omitted_bytes,
        path: path.display().to_string(),
    })
}

/// Where the viewer stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Viewer {
    /// The command whose output this is.
    pub index: usize,
    /// The first line shown, when not following.
    pub top: usize,
    /// Show the end, and keep showing it as lines come.
    pub follow: bool,
    pub wrap: bool,
    /// The query being typed after `/`.
    pub typing: Option<String>,
    /// The last query searched for.
    pub query: Option<String>,
    /// The line of the last match, marked.
    pub hit: Option<usize>,
    /// The command's output file, once read (else its lines in memory).
    pub loaded: Option<Loaded>,
    /// Said in the viewer's bottom line (no match, load errors).
    pub note: Option<String>,
}

/// What a key in the viewer asks of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Close,
}

impl Viewer {
    pub fn new(index: usize) -> Viewer {
        Viewer {
            index,
            follow: true,
            ..Viewer::default()
        }
    }

    /// The first line shown for `len` lines in `rows` rows.
    pub fn first_line(&self, len: usize, rows: usize) -> usize {
        let last_page = len.saturating_sub(rows);
        if self.follow {
            last_page
        } else {
            self.top.min(last_page)
        }
    }

    /// Handle a key; `lines` is what is shown, `rows` the rows for it.
    pub fn on_key(&mut self, key: KeyEvent, lines: &[OutLine], rows: usize) -> Outcome {
        let len = lines.len();
        if let Some(typed) = self.typing.as_mut() {
            match key.code {
                KeyCode::Char(c) => typed.push(c),
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Esc => self.typing = None,
                KeyCode::Enter => {
                    let query = self.typing.take().unwrap_or_default();
                    if !query.is_empty() {
                        self.query = Some(query);
                        let from = self.hit.map_or(self.first_line(len, rows), |h| h + 1);
                        self.search(lines, rows, from, true);
                    }
                }
                _ => {}
            }
            return Outcome::Stay;
        }
        let page = rows.saturating_sub(1).max(1);
        let top = self.first_line(len, rows);
        let last_page = len.saturating_sub(rows);
        let go = |to: usize, this: &mut Viewer| {
            this.top = to.min(last_page);
            this.follow = this.top >= last_page;
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('o') => return Outcome::Close,
            KeyCode::Up | KeyCode::Char('k') => go(top.saturating_sub(1), self),
            KeyCode::Down | KeyCode::Char('j') => go(top + 1, self),
            KeyCode::PageUp => go(top.saturating_sub(page), self),
            KeyCode::PageDown | KeyCode::Char(' ') => go(top + page, self),
            KeyCode::Home | KeyCode::Char('g') => {
                self.top = 0;
                self.follow = len <= rows;
            }
            KeyCode::End | KeyCode::Char('G') => self.follow = true,
            KeyCode::Char('w') => self.wrap = !self.wrap,
            KeyCode::Char('/') => self.typing = Some(String::new()),
            KeyCode::Char('n') => {
                let from = self.hit.map_or(top, |h| h + 1);
                self.search(lines, rows, from, true);
            }
            KeyCode::Char('N') => {
                let from = self.hit.unwrap_or(top + rows);
                self.search(lines, rows, from, false);
            }
            _ => {}
        }
        Outcome::Stay
    }

    /// Find the query from line `from` on (or back from it), wrapping
    /// around, and show the match near the top.
    fn search(&mut self, lines: &[OutLine], rows: usize, from: usize, forward: bool) {
        let Some(query) = self.query.clone() else {
            self.note = Some("/ searches".into());
            return;
        };
        let len = lines.len();
        if len == 0 {
            return;
        }
        let lower = query.to_lowercase();
        let matches = |i: usize| lines[i].text.to_lowercase().contains(&lower);
        let found = if forward {
            (0..len).map(|k| (from + k) % len).find(|&i| matches(i))
        } else {
            (1..=len)
                .map(|k| (from + len * 2 - k) % len)
                .find(|&i| matches(i))
        };
        match found {
            Some(i) => {
                self.hit = Some(i);
                self.note = None;
                let last_page = len.saturating_sub(rows);
                self.top = i.saturating_sub(2).min(last_page);
                self.follow = false;
            }
            None => self.note = Some(format!("no match for {query}")),
        }
    }
}

/// `text`, starting at column `col`, with tabs expanded to the next
/// multiple of 8 columns.
pub fn expand_tabs(text: &str, mut col: usize) -> std::borrow::Cow<'_, str> {
    if !text.contains('\t') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            out.push(c);
            col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize) -> Vec<OutLine> {
        (1..=n)
            .map(|i| OutLine {
                stream: OutStream::Stdout,
                text: i.to_string(),
            })
            .collect()
    }

    fn key(v: &mut Viewer, code: KeyCode, lines: &[OutLine]) -> Outcome {
        v.on_key(KeyEvent::from(code), lines, 10)
    }

    #[test]
    fn it_follows_the_tail_until_scrolled_and_home_end_g_move() {
        let all = lines(100);
        let mut v = Viewer::new(0);
        assert_eq!(v.first_line(100, 10), 90, "follows");
        key(&mut v, KeyCode::PageUp, &all);
        assert_eq!((v.first_line(100, 10), v.follow), (81, false));
        key(&mut v, KeyCode::Char('g'), &all);
        assert_eq!(v.first_line(100, 10), 0);
        assert_eq!(v.first_line(200, 10), 0, "new lines keep the place");
        key(&mut v, KeyCode::End, &all);
        assert!(v.follow);
        key(&mut v, KeyCode::Home, &all);
        key(&mut v, KeyCode::Char('G'), &all);
        assert_eq!(v.first_line(100, 10), 90);
        key(&mut v, KeyCode::Up, &all);
        key(&mut v, KeyCode::PageDown, &all);
        assert!(v.follow, "back at the end, following again");
        assert_eq!(key(&mut v, KeyCode::Char('w'), &all), Outcome::Stay);
        assert!(v.wrap);
        assert_eq!(key(&mut v, KeyCode::Esc, &all), Outcome::Close);
    }

    #[test]
    fn slash_searches_and_n_finds_the_next() {
        let all = lines(100);
        let mut v = Viewer::new(0);
        key(&mut v, KeyCode::Home, &all);
        key(&mut v, KeyCode::Char('/'), &all);
        for c in "5".chars() {
            key(&mut v, KeyCode::Char(c), &all);
        }
        // Typing a query is not a command: `q` would be a letter here.
        assert_eq!(key(&mut v, KeyCode::Char('q'), &all), Outcome::Stay);
        key(&mut v, KeyCode::Backspace, &all);
        key(&mut v, KeyCode::Enter, &all);
        assert_eq!(v.hit, Some(4), "line 5");
        key(&mut v, KeyCode::Char('n'), &all);
        assert_eq!(v.hit, Some(14), "line 15");
        key(&mut v, KeyCode::Char('N'), &all);
        assert_eq!(v.hit, Some(4));
        key(&mut v, KeyCode::Char('/'), &all);
        key(&mut v, KeyCode::Char('x'), &all);
        key(&mut v, KeyCode::Enter, &all);
        assert_eq!(v.note.as_deref(), Some("no match for x"));
    }

    #[test]
    fn tabs_expand_to_the_next_stop() {
        assert_eq!(expand_tabs("a\tb", 0), "a       b");
        assert_eq!(expand_tabs("12345678\tx", 0), "12345678        x");
        assert_eq!(expand_tabs("\tx", 3), "     x");
        assert_eq!(expand_tabs("none", 0), "none");
    }

    #[test]
    fn a_big_file_keeps_its_head_and_tail_and_says_what_is_between() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("01-big.log");
        let text: String = (1..=1000).map(|i| format!("{i}\n")).collect();
        std::fs::write(&path, format!("{text}stderr| the end\n")).unwrap();
        let loaded = load(&path, 10, 100).unwrap();
        assert_eq!(loaded.lines[0].text, "1");
        assert_eq!(loaded.lines[9].text, "10");
        assert_eq!(loaded.omitted, 891);
        assert!(
            loaded.lines[10].text.contains("891 lines"),
            "{:?}",
            loaded.lines[10]
        );
        let last = loaded.lines.last().unwrap();
        assert_eq!(
            (last.stream, last.text.as_str()),
            (OutStream::Stderr, "the end")
        );
        assert_eq!(loaded.lines[11].text, "902");
    }
}
