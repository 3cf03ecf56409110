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
//! A filter's pass over the table goes in slices between frames (the
//! event loop runs them while no event waits): a key's frame shows what
//! the pass's first slice found, and each further slice is drawn.
//!
//! Prints one line per key, `key ms shown done ms shown slowest-slice ms`
//! (the key's frame; the pass done; its slowest further slice), then
//! `scroll_max_ms filter_max_ms routes slice_max_ms done_max_ms`: the
//! slowest scroll key, the slowest filter key (`/`, typed text, Enter,
//! Esc, 4, 6, d), the slowest slice after a key (a key pressed during
//! one waits for it), and the slowest key to a finished pass.

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
    // Each key as the event loop handles it: `update`, then a frame (which
    // starts a new filter's pass and runs its first slice); then, as the
    // loop does while no event waits, the pass's other slices, each drawn.
    // A key pressed during a slice waits for it: its frame comes within
    // the slowest slice plus the key's own time.
    let mut done_max: f64 = 0.0;
    let mut slice_max: f64 = 0.0;
    let mut press = |name: &str, code: KeyCode| {
        let at = Instant::now();
        update(&mut app, key(code));
        terminal.draw(|f| render(f, &app, &theme)).expect("draw");
        let ms = at.elapsed().as_secs_f64() * 1000.0;
        let first = app.routes_shown();
        let mut slowest: f64 = 0.0;
        while app.filtering() {
            let slice = Instant::now();
            app.advance_filter();
            terminal.draw(|f| render(f, &app, &theme)).expect("draw");
            slowest = slowest.max(slice.elapsed().as_secs_f64() * 1000.0);
        }
        let done = at.elapsed().as_secs_f64() * 1000.0;
        done_max = done_max.max(done);
        slice_max = slice_max.max(slowest);
        println!(
            "{name} {ms:.2} {first} done {done:.2} {} slowest-slice {slowest:.2}",
            app.routes_shown()
        );
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
    println!("{scroll_max:.2} {filter_max:.2} {routes} {slice_max:.2} {done_max:.2}");
}
