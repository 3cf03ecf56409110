//! Colours and modifiers. With `NO_COLOR` set (https://no-color.org) the
//! theme keeps only modifiers (bold, reversed, dim…), so nothing depends on
//! colour to be read. Terminals that cannot draw box lines (`TERM=dumb`,
//! `vt100`) or a locale that is not UTF-8 get ASCII borders and marks, and
//! no colour on those terminals.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

/// The marks the views put before lines and rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    pub ok: &'static str,
    pub info: &'static str,
    pub warn: &'static str,
    pub error: &'static str,
    pub selected: &'static str,
    /// Separates a stream's tag from its output line (`out│`).
    pub bar: &'static str,
    /// Marks the runner's own notes in the output (`··· ok in 12ms`).
    pub note: &'static str,
    /// A running command's spinner, one frame per tick.
    pub spinner: &'static [&'static str],
}

pub const UTF8_MARKS: Marks = Marks {
    ok: "✓",
    info: "·",
    warn: "!",
    error: "✗",
    selected: "▶",
    bar: "│",
    note: "···",
    spinner: &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"],
};

pub const ASCII_MARKS: Marks = Marks {
    ok: "+",
    info: "-",
    warn: "!",
    error: "x",
    selected: ">",
    bar: "|",
    note: "...",
    spinner: &["|", "/", "-", "\\"],
};

/// Borders drawn with ASCII only.
pub const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// The focused panel's ASCII border.
pub const ASCII_BORDER_FOCUSED: border::Set = border::Set {
    horizontal_top: "=",
    horizontal_bottom: "=",
    ..ASCII_BORDER
};

/// Every style the views use, by meaning rather than by colour.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub ok: Style,
    pub error: Style,
    pub warn: Style,
    pub info: Style,
    pub dim: Style,
    /// What to do about a finding: the terminal's own foreground, so it
    /// reads on dark and light backgrounds alike (colour 8 does not).
    pub hint: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub selected: Style,
    pub header: Style,
    pub stderr: Style,
    pub key: Style,
    pub marks: Marks,
    pub borders: border::Set<'static>,
    pub borders_focused: border::Set<'static>,
    /// Draw ASCII only: every other character on screen is replaced
    /// ([`to_ascii`]).
    pub ascii: bool,
    /// Colours may be drawn (commands' own ANSI colours too).
    pub color: bool,
}

/// What an ASCII-only screen shows for a character that is not ASCII: the
/// ellipsis as `~` (a `.` would read as part of an address), arrows and
/// dashes by their look, anything else as `?`.
pub fn to_ascii(symbol: &str) -> &str {
    if symbol.is_ascii() {
        return symbol;
    }
    match symbol {
        "…" => "~",
        "—" | "–" | "─" | "━" => "-",
        "↑" => "^",
        "↓" => "v",
        "↳" | "→" | "▶" => ">",
        "←" => "<",
        "·" => ".",
        "│" | "┃" => "|",
        _ => "?",
    }
}

impl Theme {
    pub fn color() -> Theme {
        Theme {
            ok: Style::new().fg(Color::Green),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            warn: Style::new().fg(Color::Yellow),
            info: Style::new().fg(Color::Cyan),
            // The terminal's own foreground, faint: colour 8 (dark grey)
            // vanishes on dark themes such as Solarized Dark.
            dim: Style::new().add_modifier(Modifier::DIM),
            hint: Style::new(),
            title: Style::new().add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            stderr: Style::new().fg(Color::Red),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            marks: UTF8_MARKS,
            borders: border::PLAIN,
            borders_focused: border::THICK,
            ascii: false,
            color: true,
        }
    }

    /// Modifiers only: no foreground or background colour anywhere.
    pub fn no_color() -> Theme {
        Theme {
            ok: Style::new(),
            error: Style::new().add_modifier(Modifier::BOLD),
            warn: Style::new().add_modifier(Modifier::UNDERLINED),
            info: Style::new().add_modifier(Modifier::ITALIC),
            dim: Style::new().add_modifier(Modifier::DIM),
            hint: Style::new(),
            title: Style::new().add_modifier(Modifier::BOLD),
            border: Style::new(),
            border_focused: Style::new().add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            stderr: Style::new().add_modifier(Modifier::BOLD),
            key: Style::new().add_modifier(Modifier::BOLD),
            marks: UTF8_MARKS,
            borders: border::PLAIN,
            borders_focused: border::THICK,
            ascii: false,
            color: false,
        }
    }

    /// Whether styles may carry colours (not under `NO_COLOR`).
    pub fn colored(&self) -> bool {
        self.color
    }

    /// ASCII borders and marks, for terminals or locales without UTF-8.
    pub fn ascii(self) -> Theme {
        Theme {
            marks: ASCII_MARKS,
            borders: ASCII_BORDER,
            borders_focused: ASCII_BORDER_FOCUSED,
            ascii: true,
            ..self
        }
    }

    /// The theme for this process's environment ([`Theme::for_env`]).
    pub fn from_env() -> Theme {
        Theme::for_env(|name| std::env::var(name).ok())
    }

    /// `NO_COLOR` present and not empty, or a terminal without colour
    /// (`TERM=dumb`, `vt100`…), selects [`Theme::no_color`]; such a
    /// terminal, or a locale that is not UTF-8 (the first of `LC_ALL`,
    /// `LC_CTYPE`, `LANG` that is set; none is the C locale), selects
    /// ASCII.
    pub fn for_env(var: impl Fn(&str) -> Option<String>) -> Theme {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let term = set("TERM").unwrap_or_default();
        let plain_term = term == "dumb" || term.starts_with("vt");
        let no_color = set("NO_COLOR").is_some() || plain_term;
        let locale = set("LC_ALL")
            .or_else(|| set("LC_CTYPE"))
            .or_else(|| set("LANG"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let utf8 = locale.contains("utf-8") || locale.contains("utf8");
        let theme = if no_color {
            Theme::no_color()
        } else {
            Theme::color()
        };
        if plain_term || !utf8 {
            theme.ascii()
        } else {
            theme
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(vars: &[(&str, &str)]) -> Theme {
        Theme::for_env(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn plain_terminals_and_locales_get_ascii_and_no_colour() {
        let utf8 = theme(&[("TERM", "xterm-256color"), ("LANG", "en_US.UTF-8")]);
        assert_eq!(utf8, Theme::color());
        let dumb = theme(&[("TERM", "dumb"), ("LANG", "en_US.UTF-8")]);
        assert_eq!(dumb, Theme::no_color().ascii());
        let vt100 = theme(&[("TERM", "vt100"), ("LC_ALL", "C.UTF-8")]);
        assert_eq!(vt100, Theme::no_color().ascii());
        let c_locale = theme(&[("TERM", "xterm"), ("LANG", "C")]);
        assert_eq!(c_locale, Theme::color().ascii());
        // LC_ALL wins over LANG, as in setlocale(3).
        let lc_all = theme(&[("TERM", "xterm"), ("LANG", "C.UTF-8"), ("LC_ALL", "POSIX")]);
        assert_eq!(lc_all.marks, ASCII_MARKS);
        let no_color = theme(&[("TERM", "xterm"), ("LANG", "C.utf8"), ("NO_COLOR", "1")]);
        assert_eq!(no_color, Theme::no_color());
    }
}

#[cfg(test)]
mod readable {
    use super::*;

    #[test]
    fn hints_and_faint_text_use_the_terminals_own_foreground_not_colour_8() {
        let t = Theme::color();
        for style in [t.hint, t.dim] {
            assert_eq!(style.fg, None, "{style:?}");
        }
    }
}
