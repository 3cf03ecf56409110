//! Benchmark K: key → frame in the routes panel of a big table: how long
//! `update` and drawing a 160x40 frame take for each key an operator
//! presses there: scrolling (`PageDown`, `End`, `Home`), the `/` filter
//! typed one character at a time (each narrows the last one's matches),
//! Enter, Esc, and `4`, `6`, `d`.
//!
//! Run it inside a namespace holding the table (bench/full-table.sh does):
//!
//!   ip netns exec NS target/release/examples/route_keys
//!
//! Prints one line per key, `key ms shown`, then
//! `scroll_max_ms filter_max_ms routes`: the slowest scroll key and the
//! slowest filter key (`/`, typed text, Enter, Esc, 4, 6, d).

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use inject_net as net;
use inject_ui::tui::display::NetView;
use inject_ui::tui::views::render;
use inject_ui::tui::{update, App, Event, Focus, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    let snapshot = net::packed::read_packed_blocking().expect("snapshot");
    let mut app = App::new(NetView::default(), Vec::new(), "benchmark");
    app.size = (160, 40);
    update(&mut app, Event::Snapshot(Ok(snapshot)));
    app.focus = Focus::Routes;
    let routes = app.net.routes.len();
    let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("terminal");
    let theme = Theme::color();
    terminal.draw(|f| render(f, &app, &theme)).expect("draw");

    let key = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    let scroll = [
        ("PageDown", KeyCode::PageDown),
        ("PageDown", KeyCode::PageDown),
        ("End", KeyCode::End),
        ("PageUp", KeyCode::PageUp),
        ("Home", KeyCode::Home),
        ("Down", KeyCode::Down),
    ];
    // `/` then `10.` typed: the IPv4 routes' first octets in the bench's
    // table are 1-16, so `1` matches most lines and each key narrows.
    let filter = [
        ("/", KeyCode::Char('/')),
        ("1", KeyCode::Char('1')),
        ("0", KeyCode::Char('0')),
        (".", KeyCode::Char('.')),
        ("2", KeyCode::Char('2')),
        ("Enter", KeyCode::Enter),
        ("PageDown", KeyCode::PageDown),
        ("Esc", KeyCode::Esc),
        ("4", KeyCode::Char('4')),
        ("6", KeyCode::Char('6')),
        ("d", KeyCode::Char('d')),
        ("d", KeyCode::Char('d')),
        ("Esc", KeyCode::Esc),
    ];
    let mut press = |name: &str, code: KeyCode| {
        let at = Instant::now();
        update(&mut app, key(code));
        terminal.draw(|f| render(f, &app, &theme)).expect("draw");
        let ms = at.elapsed().as_secs_f64() * 1000.0;
        println!("{name} {ms:.2} {}", app.routes_shown());
        ms
    };
    let scroll_max = scroll
        .iter()
        .map(|(name, code)| press(name, *code))
        .fold(0.0, f64::max);
    let filter_max = filter
        .iter()
        .map(|(name, code)| press(name, *code))
        .fold(0.0, f64::max);
    println!("{scroll_max:.2} {filter_max:.2} {routes}");
}
