//! Benchmark F: how long from the dashboard's start to its frames, along
//! the dashboard's own path: subscribe to netlink changes (`net::watch`),
//! read in steps (`net::packed::read_in_steps`, as `inject-tui` does), hand
//! each step to `update` and draw the views into a 160x40 `TestBackend`:
//!
//! - the first frame: interfaces and addresses, the routes being read;
//! - the complete frame: every route read, packed, with the findings.
//!
//! Run it inside a namespace (bench/all.sh gives it 100 000 routes,
//! bench/full-table.sh 1 200 000):
//!
//!   ip netns exec NS target/release/examples/first_frame
//!
//! Prints `complete_ms read_ms rows_ms draw_ms routes first_ms`, timed from
//! `main`: `read_ms` until the last route is read, `rows_ms` the findings
//! and view after it, `draw_ms` the complete frame's drawing. With
//! `--rtnetlink`, reads whole with the first version's reader (rtnetlink's
//! parsed messages) instead: the reference (its first frame is the
//! complete one).

use std::time::{Duration, Instant};

use inject_net as net;
use inject_ui::tui::display::NetView;
use inject_ui::tui::views::render;
use inject_ui::tui::{update, App, Event, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    let start = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("terminal");
    let mut draw = |app: &App| {
        terminal
            .draw(|f| render(f, app, &Theme::color()))
            .expect("draw");
        start.elapsed()
    };
    let (first, read, rows, complete, routes) = runtime.block_on(async {
        let mut app = App::new(NetView::default(), Vec::new(), "benchmark");
        // As the dashboard: subscribe, then read.
        let _changes = net::watch().await.expect("netlink watch");
        if std::env::args().any(|a| a == "--rtnetlink") {
            let snapshot = net::read::read_snapshot_rtnetlink()
                .await
                .expect("snapshot");
            let routes = snapshot.routes.len();
            let read = start.elapsed();
            update(&mut app, Event::Snapshot(Ok(snapshot)));
            let rows = start.elapsed();
            let complete = draw(&app);
            return (complete, read, rows, complete, routes);
        }
        let mut steps = net::packed::read_in_steps();
        let mut first = None;
        loop {
            let step = steps.recv().await.expect("a last step");
            let partial = step.as_ref().is_ok_and(|s| s.reading_routes.is_some());
            let read = start.elapsed();
            update(&mut app, Event::Snapshot(step.map_err(|e| e.to_string())));
            if partial {
                let at = draw(&app);
                first.get_or_insert(at);
                continue;
            }
            let rows = start.elapsed();
            let complete = draw(&app);
            assert!(app.net_error.is_none(), "{:?}", app.net_error);
            let routes = app.net.routes.len();
            return (first.unwrap_or(complete), read, rows, complete, routes);
        }
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:.1} {:.1} {:.1} {:.1} {routes} {:.1}",
        ms(complete),
        ms(read),
        ms(rows - read),
        ms(complete - rows),
        ms(first)
    );
}
