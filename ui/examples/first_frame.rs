//! Benchmark F: how long from the dashboard's start to its first frame with
//! the network in it, along the dashboard's own path: subscribe to netlink
//! changes (`net::watch`), read the snapshot (`net::read_snapshot`), turn
//! it into rows with the findings (`App::set_snapshot`), draw the views
//! into a 160x40 `TestBackend`.
//!
//! Run it inside a namespace (bench/all.sh gives it 100 000 routes):
//!
//!   ip netns exec NS target/release/examples/first_frame
//!
//! Prints `total_ms read_ms rows_ms draw_ms routes`, timed from `main`.
//! With `--rtnetlink`, reads with the first version's reader (rtnetlink's
//! parsed messages) instead: the reference.

use std::time::Instant;

use inject_net as net;
use inject_ui::tui::display::NetView;
use inject_ui::tui::views::render;
use inject_ui::tui::{App, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    let start = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (read, rows, draw, routes) = runtime.block_on(async {
        let mut app = App::new(NetView::default(), Vec::new(), "benchmark");
        // As the dashboard: subscribe, then read.
        let _changes = net::watch().await.expect("netlink watch");
        let snapshot = if std::env::args().any(|a| a == "--rtnetlink") {
            net::read::read_snapshot_rtnetlink().await
        } else {
            net::read_snapshot().await
        }
        .expect("snapshot");
        let routes = snapshot.routes.len();
        let read = start.elapsed();
        app.set_snapshot(snapshot);
        let rows = start.elapsed();
        let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("terminal");
        terminal
            .draw(|f| render(f, &app, &Theme::color()))
            .expect("draw");
        (read, rows, start.elapsed(), routes)
    });
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:.1} {:.1} {:.1} {:.1} {routes}",
        ms(draw),
        ms(read),
        ms(rows - read),
        ms(draw - rows)
    );
}
