//! Benchmark D: how long from a route change in the network namespace to a
//! dashboard frame that shows it, along the dashboard's real path: the
//! netlink change stream (`net::watch`), the event loop (`tui::event_loop`, which
//! applies route changes to the kept snapshot and its rows in place, and
//! re-reads with `net::read_snapshot` only what it cannot apply), and the
//! views drawn into a `TestBackend`
//! whose every flushed frame is inspected. As the reference, `ip -6 monitor
//! route` runs beside it and is timed on the same changes: the kernel's
//! notification floor.
//!
//! Run it as root inside a namespace that looks like the seed's VM (eth1
//! with 2001:db8:69f5::10/64 and no IPv6 default route); bench/all.sh does:
//!
//!   ip netns exec NS target/release/examples/route_latency [ROUNDS]
//!
//! Each round adds `default via 2001:db8:69f5::1 dev eth1` with `ip`, waits
//! for the frame showing it, deletes it and waits for the frame without it.
//! The clock starts before `ip` is spawned, so the spawn counts against us.
//! Prints one line: `samples median_ms max_ms ref_median_ms ref_max_ms`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use inject_errands::CancellationToken;
use inject_net as net;
use inject_ui::tui::display::NetView;
use inject_ui::tui::watched::{row, Watched};
use inject_ui::tui::{run, App, Event, Io, RunSink, Theme};
use ratatui::Terminal;

/// The route's line in the routes panel (the banner's hint and status
/// lines never carry the metric).
const ROUTE_ROW: &str = "default via 2001:db8:69f5::1 dev eth1 metric 1024";
const ADD: &str = "-6 route add default via 2001:db8:69f5::1 dev eth1";
const DEL: &str = "-6 route del default via 2001:db8:69f5::1 dev eth1";
const WAIT: Duration = Duration::from_secs(5);

/// What the live dashboard's `Io` does for a snapshot; no commands here.
struct NetOnly;

impl Io for NetOnly {
    fn read_snapshot(&self) -> BoxFuture<'static, Result<net::Snapshot, String>> {
        Box::pin(async { net::read_snapshot().await.map_err(|e| e.to_string()) })
    }

    fn run_command(&self, _: usize, _: RunSink, _: CancellationToken) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

fn ip(args: &str) {
    let status = Command::new("ip")
        .args(args.split_whitespace())
        .status()
        .expect("ip runs");
    assert!(status.success(), "ip {args} failed");
}

/// Milliseconds from `start` until a message on `rx` satisfies `done`.
fn wait_for<T>(
    rx: &std_mpsc::Receiver<(Instant, T)>,
    start: Instant,
    done: impl Fn(&T) -> bool,
) -> f64 {
    let deadline = start + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((at, value)) if done(&value) => return at.duration_since(start).as_secs_f64() * 1e3,
            Ok(_) => {}
            Err(e) => panic!("no update within {WAIT:?}: {e}"),
        }
    }
}

fn median_max(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1])
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(20, |s| s.parse().expect("ROUNDS is a number"));
    // Start without the route, whatever an earlier run left.
    let _ = Command::new("ip")
        .args(DEL.split_whitespace())
        .stderr(Stdio::null())
        .status();

    let (frame_tx, frames) = std_mpsc::channel();
    let (key_tx, mut key_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();

    // The reference: `ip -6 monitor route`, one line per change, flushed.
    let mut monitor = Command::new("ip")
        .args(["-6", "monitor", "route"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ip monitor runs");
    let (line_tx, lines) = std_mpsc::channel();
    let out = monitor.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line_tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });

    let driver = std::thread::spawn(move || {
        // The first frame is drawn before any change; let ip monitor start.
        wait_for(&frames, Instant::now(), |shows| !shows);
        std::thread::sleep(Duration::from_millis(200));
        let (mut ours, mut reference) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for (args, present) in [(ADD, true), (DEL, false)] {
                // Drop frames drawn before this change.
                while frames.try_recv().is_ok() {}
                while lines.try_recv().is_ok() {}
                let start = Instant::now();
                ip(args);
                ours.push(wait_for(&frames, start, |&shows| shows == present));
                reference.push(wait_for(&lines, start, |line: &String| {
                    line.contains("default via 2001:db8:69f5::1")
                        && line.starts_with("Deleted") != present
                }));
            }
        }
        let _ = key_tx.send(Event::Terminate);
        (ours, reference)
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Each frame: when, and whether it shows the route (row by row,
        // so a match never spans two screen lines).
        let backend = Watched::new(160, 40, move |buffer| {
            let shows =
                (0..buffer.area.height as usize).any(|y| row(buffer, y).contains(ROUTE_ROW));
            let _ = frame_tx.send((Instant::now(), shows));
        });
        let mut terminal = Terminal::new(backend).expect("terminal");
        let mut app = App::new(NetView::default(), Vec::new(), "benchmark");
        // As the dashboard: subscribe, then read.
        let changes = net::watch().await.expect("netlink watch");
        app.set_snapshot(net::read_snapshot().await.expect("snapshot"));
        let keys = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));
        run(
            &mut terminal,
            &mut app,
            &Theme::color(),
            keys,
            changes,
            Arc::new(NetOnly),
        )
        .await
        .expect("event loop");
    });
    let (ours, reference) = driver.join().expect("driver");
    let _ = monitor.kill();
    let _ = monitor.wait();
    let n = ours.len();
    let (median, max) = median_max(ours);
    let (ref_median, ref_max) = median_max(reference);
    println!("{n} {median:.2} {max:.2} {ref_median:.2} {ref_max:.2}");
}
