//! Colours and modifiers. With `NO_COLOR` set (https://no-color.org) the
//! theme keeps only modifiers (bold, reversed, dim…), so nothing depends on
//! colour to be read.

use ratatui::style::{Color, Modifier, Style};

/// Every style the views use, by meaning rather than by colour.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub ok: Style,
    pub error: Style,
    pub warn: Style,
    pub info: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub selected: Style,
    pub header: Style,
    pub stderr: Style,
    pub key: Style,
}

impl Theme {
    pub fn color() -> Theme {
        Theme {
            ok: Style::new().fg(Color::Green),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            warn: Style::new().fg(Color::Yellow),
            info: Style::new().fg(Color::Cyan),
            dim: Style::new().fg(Color::DarkGray),
            title: Style::new().add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            stderr: Style::new().fg(Color::Red),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
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
            title: Style::new().add_modifier(Modifier::BOLD),
            border: Style::new(),
            border_focused: Style::new().add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            stderr: Style::new().add_modifier(Modifier::BOLD),
            key: Style::new().add_modifier(Modifier::BOLD),
        }
    }

    /// `NO_COLOR` present and not empty selects [`Theme::no_color`].
    pub fn from_env() -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Theme::no_color(),
            _ => Theme::color(),
        }
    }
}
