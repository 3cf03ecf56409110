//! Every key the dashboard binds, as data: one row per line of the help
//! window (the keys as shown, what they do), the keys it maps to an
//! [`Action`] and where (`map`), and the short words the footer shows for
//! the focused panel or the open window (`hints`). `update` finds the
//! action here ([`action`]), the help window lists the rows, and the
//! footer reads the hints: none of them can name a key the others lack.
//! (trippy's `frontend/binding.rs` keeps its keys as data the same way.)

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Focus, Overlay};

/// Where keys go now: the window open, else the main screen with a panel
/// focused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Main(Focus),
    /// The routes filter is being typed.
    Typing,
    /// The full-screen output viewer (it reads its own keys).
    Viewer,
    Help,
    Plan,
    /// "Run this?"
    Confirm,
    /// "A command is running: quit and stop it?"
    ConfirmQuit,
    /// "Stop the running command?"
    ConfirmStop,
}

impl Mode {
    /// The mode of a window (none: the main screen).
    pub fn of(overlay: Option<Overlay>, viewer: bool, typing: bool, focus: Focus) -> Mode {
        match overlay {
            Some(Overlay::Help) => Mode::Help,
            Some(Overlay::Plan { .. }) => Mode::Plan,
            Some(Overlay::Confirm(_)) => Mode::Confirm,
            Some(Overlay::ConfirmQuit) => Mode::ConfirmQuit,
            Some(Overlay::ConfirmStop) => Mode::ConfirmStop,
            None if viewer => Mode::Viewer,
            None if typing => Mode::Typing,
            None => Mode::Main(focus),
        }
    }
}

/// Where a binding or a hint applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// In every mode, windows included.
    Anywhere,
    /// The main screen, whichever panel is focused.
    Main,
    /// The main screen with this panel focused.
    Panel(Focus),
    /// Any of the three y/n questions.
    Asking,
    Only(Mode),
}

impl Scope {
    pub fn holds(self, mode: Mode) -> bool {
        match self {
            Scope::Anywhere => true,
            Scope::Main => matches!(mode, Mode::Main(_)),
            Scope::Panel(f) => mode == Mode::Main(f),
            Scope::Asking => matches!(mode, Mode::Confirm | Mode::ConfirmQuit | Mode::ConfirmStop),
            Scope::Only(m) => mode == m,
        }
    }
}

/// A key as pressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// This key, whatever the modifiers (`Y` arrives with Shift).
    Code(KeyCode),
    /// This letter with Ctrl held; looked up before plain keys, so Ctrl-L
    /// and Ctrl-C work in every window.
    Ctrl(char),
    /// Any character (typed into the routes filter).
    AnyChar,
    /// Any key (handed to the viewer).
    AnyKey,
}

impl Key {
    fn matches(self, key: KeyEvent) -> bool {
        match self {
            Key::Code(code) => key.code == code,
            Key::Ctrl(c) => {
                key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
            }
            Key::AnyChar => matches!(key.code, KeyCode::Char(_)),
            Key::AnyKey => true,
        }
    }
}

/// What a key does; `update` carries it out for the mode it came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// One line up or down: the selection, a focused panel, a window.
    Up,
    Down,
    PageUp,
    PageDown,
    /// Ask to run the selected command.
    Run,
    /// Yes / no to the open question.
    Yes,
    No,
    /// The selected command's output, full screen.
    OpenOutput,
    /// A key for the viewer, which reads its own.
    ToViewer,
    /// Ask to run the picked finding's fix.
    Fix,
    PrevFix,
    NextFix,
    /// The selected command's dry-run plan.
    Plan,
    FocusNext,
    FocusPrev,
    Refresh,
    Probe,
    /// Start typing the routes filter.
    Filter,
    /// Show only this family's routes ("4" or "6"), or both again.
    Family(&'static str),
    /// Only the default routes, or all again.
    Defaults,
    /// Clear the routes' filters; with none, say how to quit.
    ClearFilters,
    Help,
    /// Close the open window.
    Close,
    Stop,
    Redraw,
    /// `q`: quit, asking first while a command runs.
    Quit,
    /// Ctrl-C: as `q`, and at the quit question, quit.
    Interrupt,
    /// In the routes filter being typed: add the character, erase one,
    /// keep the filter, clear it.
    Type,
    Erase,
    KeepFilter,
    DropFilter,
}

/// Keys mapped to one action, where.
#[derive(Clone, Copy, Debug)]
pub struct Map {
    pub at: &'static [Scope],
    pub keys: &'static [Key],
    pub action: Action,
}

/// When the footer shows a hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// A command runs.
    Running,
    /// A finding has a fix the operator may run.
    Fixes,
    /// More than one fix is on offer.
    SeveralFixes,
    /// The routes are filtered.
    Filtered,
    /// The config has commands (keys on the selected one do something).
    HasCommands,
}

impl When {
    /// Whether the footer shows it first: what is possible now and
    /// usually is not.
    pub fn is_news(self) -> bool {
        matches!(
            self,
            When::Running | When::Fixes | When::SeveralFixes | When::Filtered
        )
    }
}

/// A key as the footer shows it, with one word.
#[derive(Clone, Copy, Debug)]
pub struct Hint {
    pub at: Scope,
    pub keys: &'static str,
    pub word: &'static str,
    pub when: When,
    /// Room is kept for it: it shows however narrow the screen (`?`).
    pub pinned: bool,
}

/// One line of the help window and the keys behind it.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// The keys as the help window shows them.
    pub keys: &'static str,
    pub what: &'static str,
    pub map: &'static [Map],
    pub hints: &'static [Hint],
}

const MAIN: &[Scope] = &[Scope::Main];
/// Where ↑ ↓ PgUp PgDn move: the main screen and the scrolled windows.
const SCROLLED: &[Scope] = &[
    Scope::Main,
    Scope::Only(Mode::Help),
    Scope::Only(Mode::Plan),
];
const WINDOWS: &[Scope] = &[Scope::Only(Mode::Help), Scope::Only(Mode::Plan)];

const fn map(at: &'static [Scope], keys: &'static [Key], action: Action) -> Map {
    Map { at, keys, action }
}

const fn hint(at: Scope, keys: &'static str, word: &'static str) -> Hint {
    Hint {
        at,
        keys,
        word,
        when: When::Always,
        pinned: false,
    }
}

const fn hint_when(at: Scope, keys: &'static str, word: &'static str, when: When) -> Hint {
    Hint {
        at,
        keys,
        word,
        when,
        pinned: false,
    }
}

const fn ch(c: char) -> Key {
    Key::Code(KeyCode::Char(c))
}

const ESC: Key = Key::Code(KeyCode::Esc);
const ENTER: Key = Key::Code(KeyCode::Enter);

/// Every binding, in the order the help window lists them. The footer
/// shows a mode's hints in this order too, after the conditional ones.
pub const TABLE: [Binding; 18] = [
    Binding {
        keys: "↑ ↓  j k",
        what: "select a command; scroll a focused table",
        map: &[
            map(SCROLLED, &[Key::Code(KeyCode::Up), ch('k')], Action::Up),
            map(SCROLLED, &[Key::Code(KeyCode::Down), ch('j')], Action::Down),
        ],
        hints: &[
            // Not in the routes' footer: their filters matter more there.
            hint_when(
                Scope::Panel(Focus::Commands),
                "↑↓",
                "select",
                When::HasCommands,
            ),
            hint(Scope::Panel(Focus::Interfaces), "↑↓", "scroll"),
            hint(Scope::Panel(Focus::Output), "↑↓", "scroll"),
            hint(Scope::Only(Mode::Help), "↑↓", "scroll"),
            hint(Scope::Only(Mode::Plan), "↑↓", "scroll"),
        ],
    },
    Binding {
        keys: "Enter",
        what: "run the selected command (asks first)",
        map: &[map(MAIN, &[ENTER], Action::Run)],
        hints: &[hint_when(
            Scope::Panel(Focus::Commands),
            "Enter",
            "run",
            When::HasCommands,
        )],
    },
    Binding {
        keys: "y / n Esc",
        what: "in the confirmation: run / cancel",
        map: &[
            map(&[Scope::Asking], &[ch('y'), ch('Y')], Action::Yes),
            map(
                &[Scope::Asking],
                &[ch('n'), ch('N'), ESC, ch('q')],
                Action::No,
            ),
        ],
        hints: &[
            hint(Scope::Only(Mode::Confirm), "y", "run it"),
            hint(Scope::Only(Mode::Confirm), "n", "cancel"),
            hint(Scope::Only(Mode::ConfirmQuit), "y", "quit"),
            hint(Scope::Only(Mode::ConfirmQuit), "n", "stay"),
            hint(Scope::Only(Mode::ConfirmStop), "y", "stop it"),
            hint(Scope::Only(Mode::ConfirmStop), "n", "let it run"),
        ],
    },
    Binding {
        keys: "o",
        what: "full-screen output: g G PgUp PgDn, w wrap, / search",
        map: &[
            map(MAIN, &[ch('o')], Action::OpenOutput),
            map(
                &[Scope::Only(Mode::Viewer)],
                &[Key::AnyKey],
                Action::ToViewer,
            ),
        ],
        hints: &[
            hint_when(
                Scope::Panel(Focus::Commands),
                "o",
                "output",
                When::HasCommands,
            ),
            hint_when(
                Scope::Panel(Focus::Output),
                "o",
                "full screen",
                When::HasCommands,
            ),
        ],
    },
    Binding {
        keys: "f",
        what: "run the picked finding's fix (asks first)",
        map: &[map(MAIN, &[ch('f')], Action::Fix)],
        hints: &[hint_when(Scope::Main, "f", "fix", When::Fixes)],
    },
    Binding {
        keys: "[ ]",
        what: "pick another finding's fix, or another fix",
        map: &[
            map(MAIN, &[ch('[')], Action::PrevFix),
            map(MAIN, &[ch(']')], Action::NextFix),
        ],
        hints: &[hint_when(
            Scope::Main,
            "[ ]",
            "pick fix",
            When::SeveralFixes,
        )],
    },
    Binding {
        keys: "p",
        what: "show what the selected command would do (dry run)",
        map: &[
            map(MAIN, &[ch('p')], Action::Plan),
            map(&[Scope::Only(Mode::Plan)], &[ch('p')], Action::Close),
        ],
        hints: &[hint_when(
            Scope::Panel(Focus::Commands),
            "p",
            "plan",
            When::HasCommands,
        )],
    },
    Binding {
        keys: "Tab Shift-Tab",
        what: "move focus between panels",
        map: &[
            map(MAIN, &[Key::Code(KeyCode::Tab)], Action::FocusNext),
            map(MAIN, &[Key::Code(KeyCode::BackTab)], Action::FocusPrev),
        ],
        hints: &[hint(Scope::Main, "Tab", "focus")],
    },
    Binding {
        keys: "PgUp PgDn",
        what: "scroll the focused panel",
        map: &[
            map(SCROLLED, &[Key::Code(KeyCode::PageUp)], Action::PageUp),
            map(SCROLLED, &[Key::Code(KeyCode::PageDown)], Action::PageDown),
        ],
        hints: &[],
    },
    Binding {
        keys: "r",
        what: "re-read interfaces and routes",
        map: &[map(MAIN, &[ch('r')], Action::Refresh)],
        hints: &[hint(Scope::Main, "r", "refresh")],
    },
    Binding {
        keys: "g",
        what: "probe the default gateways (ARP/NDP, up to 5 s; root)",
        map: &[map(MAIN, &[ch('g')], Action::Probe)],
        hints: &[],
    },
    Binding {
        keys: "/  4  6  d",
        what: "routes: filter as typed, IPv4/IPv6, defaults only",
        map: &[
            map(MAIN, &[ch('/')], Action::Filter),
            map(MAIN, &[ch('4')], Action::Family("4")),
            map(MAIN, &[ch('6')], Action::Family("6")),
            map(MAIN, &[ch('d')], Action::Defaults),
            map(&[Scope::Only(Mode::Typing)], &[Key::AnyChar], Action::Type),
            map(
                &[Scope::Only(Mode::Typing)],
                &[Key::Code(KeyCode::Backspace)],
                Action::Erase,
            ),
            map(&[Scope::Only(Mode::Typing)], &[ENTER], Action::KeepFilter),
            map(&[Scope::Only(Mode::Typing)], &[ESC], Action::DropFilter),
        ],
        hints: &[
            hint(Scope::Panel(Focus::Routes), "/", "filter"),
            hint(Scope::Panel(Focus::Routes), "4 6", "family"),
            hint(Scope::Panel(Focus::Routes), "d", "defaults"),
            hint(Scope::Only(Mode::Typing), "Enter", "keep"),
            hint(Scope::Only(Mode::Typing), "Esc", "clear"),
        ],
    },
    Binding {
        keys: "Esc",
        what: "clear the routes' filters",
        map: &[map(MAIN, &[ESC], Action::ClearFilters)],
        hints: &[hint_when(
            Scope::Panel(Focus::Routes),
            "Esc",
            "clear",
            When::Filtered,
        )],
    },
    Binding {
        keys: "?",
        what: "show or hide this help",
        map: &[
            map(MAIN, &[ch('?')], Action::Help),
            map(&[Scope::Only(Mode::Help)], &[ch('?')], Action::Close),
        ],
        hints: &[Hint {
            pinned: true,
            ..hint(Scope::Main, "?", "help")
        }],
    },
    Binding {
        keys: "x",
        what: "stop the running command (asks first)",
        map: &[map(MAIN, &[ch('x')], Action::Stop)],
        hints: &[hint_when(Scope::Main, "x", "stop", When::Running)],
    },
    Binding {
        keys: "Ctrl-L",
        what: "redraw the screen",
        map: &[map(&[Scope::Anywhere], &[Key::Ctrl('l')], Action::Redraw)],
        hints: &[],
    },
    Binding {
        keys: "Esc",
        what: "close a window (never quits)",
        map: &[map(WINDOWS, &[ESC, ch('q'), ENTER], Action::Close)],
        hints: &[
            hint(Scope::Only(Mode::Help), "Esc", "close"),
            hint(Scope::Only(Mode::Plan), "Esc", "close"),
        ],
    },
    Binding {
        keys: "q Ctrl-C",
        what: "quit (asks first while a command runs)",
        map: &[
            map(MAIN, &[ch('q')], Action::Quit),
            map(&[Scope::Anywhere], &[Key::Ctrl('c')], Action::Interrupt),
        ],
        hints: &[hint(Scope::Main, "q", "quit")],
    },
];

/// The help window's lines, (keys, what they do), from [`TABLE`]: a
/// plain array so that `views::help::BINDINGS` keeps its type.
pub const HELP: [(&str, &str); TABLE.len()] = {
    let mut out = [("", ""); TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = (TABLE[i].keys, TABLE[i].what);
        i += 1;
    }
    out
};

/// What `key` does in `mode`: the first row that maps it there, Ctrl
/// chords before plain keys.
pub fn action(mode: Mode, key: KeyEvent) -> Option<Action> {
    let maps = || TABLE.iter().flat_map(|b| b.map.iter());
    let find = |ctrl: bool| {
        maps().find_map(|m| {
            let here = m.at.iter().any(|s| s.holds(mode));
            let hit = m
                .keys
                .iter()
                .any(|k| matches!(k, Key::Ctrl(_)) == ctrl && k.matches(key));
            (here && hit).then_some(m.action)
        })
    };
    find(true).or_else(|| find(false))
}

/// The footer's hints for `mode`, those whose condition `holds`: news
/// first ([`When::is_news`]), then the mode's own, then the main
/// screen's.
pub fn hints(mode: Mode, holds: impl Fn(When) -> bool) -> Vec<&'static Hint> {
    let all = || {
        TABLE
            .iter()
            .flat_map(|b| b.hints.iter())
            .filter(|h| h.at.holds(mode) && holds(h.when))
    };
    let news = all().filter(|h| h.when.is_news());
    let own = all().filter(|h| !h.when.is_news() && h.at != Scope::Main);
    let main = all().filter(|h| !h.when.is_news() && h.at == Scope::Main);
    news.chain(own).chain(main).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [Mode; 11] = [
        Mode::Main(Focus::Interfaces),
        Mode::Main(Focus::Routes),
        Mode::Main(Focus::Commands),
        Mode::Main(Focus::Output),
        Mode::Typing,
        Mode::Viewer,
        Mode::Help,
        Mode::Plan,
        Mode::Confirm,
        Mode::ConfirmQuit,
        Mode::ConfirmStop,
    ];

    /// A key event that `key` matches.
    fn press(key: Key) -> KeyEvent {
        match key {
            Key::Code(code) => KeyEvent::new(code, KeyModifiers::NONE),
            Key::Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
            Key::AnyChar => KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE),
            Key::AnyKey => KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE),
        }
    }

    #[test]
    fn every_row_of_the_table_is_what_its_keys_do_where_it_says() {
        // A row shadowed by an earlier one (the same key, the same mode)
        // would be listed in help and never happen.
        for b in &TABLE {
            for m in b.map {
                for mode in MODES
                    .iter()
                    .filter(|mode| m.at.iter().any(|s| s.holds(**mode)))
                {
                    for k in m.keys {
                        assert_eq!(
                            action(*mode, press(*k)),
                            Some(m.action),
                            "{:?} in {mode:?} (help row {:?})",
                            k,
                            b.keys
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_footer_offers_a_key_only_where_it_works() {
        for b in &TABLE {
            for h in b.hints {
                for mode in MODES.iter().filter(|mode| h.at.holds(**mode)) {
                    assert!(
                        b.map.iter().any(|m| m.at.iter().any(|s| s.holds(*mode))),
                        "the footer offers {:?} in {mode:?}, where its row maps nothing",
                        h.keys
                    );
                }
            }
        }
    }

    #[test]
    fn ctrl_l_and_ctrl_c_work_in_every_window() {
        for mode in MODES {
            let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
            assert_eq!(action(mode, ctrl('l')), Some(Action::Redraw), "{mode:?}");
            assert_eq!(action(mode, ctrl('c')), Some(Action::Interrupt), "{mode:?}");
        }
    }
}
