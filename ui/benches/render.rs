//! What one frame of the dashboard costs with 10 000 routes and 100
//! interfaces (the views slice what fits, so this should not grow with the
//! table), and what turning such a snapshot into display rows costs (done
//! once per netlink change, not per frame).
//!
//! `cargo bench -p inject-ui --bench render`

use criterion::{criterion_group, criterion_main, Criterion};
use inject_net::fixtures::many_routes;
use inject_ui::tui::fixtures::big_app;
use inject_ui::tui::rows::net_view;
use inject_ui::tui::views::render;
use inject_ui::tui::{Focus, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn frame(c: &mut Criterion) {
    let theme = Theme::color();
    for (links, routes) in [(100, 10_000), (3, 10)] {
        let mut app = big_app(links, routes);
        app.focus = Focus::Routes;
        app.scroll.routes = app.net.routes.len() / 2;
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        c.bench_function(
            &format!("frame 120x40, {links} interfaces, {routes} routes"),
            |b| {
                b.iter(|| {
                    // A full redraw each time, as after a resize.
                    terminal.clear().unwrap();
                    terminal.draw(|f| render(f, &app, &theme)).unwrap();
                })
            },
        );
    }
    let snapshot = many_routes(100, 10_000);
    c.bench_function(
        "snapshot to display rows, 100 interfaces, 10000 routes",
        |b| b.iter(|| net_view(&snapshot, &Default::default())),
    );
}

criterion_group!(benches, frame);
criterion_main!(benches);
