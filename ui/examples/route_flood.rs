//! Benchmark L: the dashboard under a flood of route changes (a BGP feed
//! that withdraws and re-announces a table). The dashboard runs as
//! `inject-tui` runs it: subscribed to netlink (`net::watch`), the table
//! read, then the real event loop (`tui::run`) with the real `Io` reads,
//! drawing into a 160x40 `TestBackend` whose every flushed frame is noted
//! (when, and the routes panel's title: `routes 1-38/N`). The routes panel
//! has the focus, as for an operator watching it.
//!
//! Run it inside the namespace as root; bench/full-table.sh does:
//!
//!   ip netns exec NS target/release/examples/route_flood FINAL [PEAK [LIMIT_S]]
//!
//! 1. Reads the table; once the frame shows FINAL routes, prints `ready`.
//! 2. Reads `start` on stdin: the caller starts the flood (`ip -batch`);
//!    then `end` when its last `ip` has returned.
//! 3. From `start` on, presses PageDown and PageUp alternately (through the
//!    terminal-events stream) every 100 ms, each once the last one showed,
//!    and times key → the first frame that shows it.
//! 4. Done when, after `end`, the frame has shown FINAL routes for a
//!    second: caught up at the first of those frames (at `end` if the
//!    count never moved).
//!
//! Prints (stdout) one line, `caught_up_ms flood_ms peak_ms key_median_ms
//! key_max_ms keys frames overruns changes hwm_kb shown reads still_ms`:
//! - from `start` to the frame showing FINAL, to `end`, and to the first
//!   frame showing PEAK;
//! - key → frame (median, slowest, how many) over the keys pressed before
//!   catching up, and the frames drawn meanwhile;
//! - the overruns (`Change::Overrun`: the kernel dropped changes the loop
//!   did not take in time) and the changes the loop took from the stream;
//! - the process's peak RSS (KB, VmHWM) and the count shown last;
//! - the whole-table reads the loop started (`Io::read_snapshot`, for the
//!   overruns), and the longest the count stood still between `start` and
//!   catching up (while a re-read is in flight changes are not applied:
//!   the panel shows the table as it was).
//!
//! -1 stands for what never happened. Lines for people go to stderr. Not
//! caught up within LIMIT_S (120) seconds of `start`: the same line, with
//! `caught_up_ms` -1 and the figures until then, and exit 1.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use inject_errands::CancellationToken;
use inject_net as net;
use inject_ui::tui::display::NetView;
use inject_ui::tui::watched::{row, Watched};
use inject_ui::tui::{run, update, App, Event, Focus, Io, RunSink, Theme};
use ratatui::buffer::Buffer;
use ratatui::Terminal;

/// How often a key is pressed during the flood (at most: each waits for
/// the last one to show).
const KEY_EVERY: Duration = Duration::from_millis(100);
/// How long the frame must keep showing the final count after the flood
/// before the dashboard counts as caught up (a stale change applied after
/// a re-read can move it for a moment).
const SETTLE: Duration = Duration::from_secs(1);

/// What the loop's thread and the caller's stdin tell the driver.
enum Msg {
    /// A frame was flushed: its routes panel title, and whether the footer
    /// said changes were lost.
    Frame {
        at: Instant,
        title: String,
        lost: bool,
    },
    Start(Instant),
    End(Instant),
}

/// At each flush, the routes panel's title row and whether the footer
/// said changes were lost (rows, not the screen: this runs on the loop's
/// thread, once per frame, and must not slow the loop it measures).
fn frame_watcher(frames: std_mpsc::Sender<Msg>) -> impl FnMut(&Buffer) {
    // The panel moves only when the banner above it grows or shrinks.
    let mut title_row = 0;
    move |buffer| {
        let height = buffer.area.height as usize;
        let mut title = row(buffer, title_row);
        if !is_title(&title) {
            if let Some(y) = (0..height).find(|&y| is_title(&row(buffer, y))) {
                title_row = y;
                title = row(buffer, y);
            }
        }
        let lost = (height.saturating_sub(2)..height).any(|y| row(buffer, y).contains("were lost"));
        let _ = frames.send(Msg::Frame {
            at: Instant::now(),
            title,
            lost,
        });
    }
}

/// The live dashboard's `Io` for the network (wiring.rs `LiveIo`): a
/// re-read packed, off the loop's thread; the host's sysctls on address
/// changes. No commands here. Counts the re-reads.
struct NetOnly(Arc<Counts>);

impl Io for NetOnly {
    fn read_snapshot(&self) -> BoxFuture<'static, Result<net::Snapshot, String>> {
        self.0.reads.fetch_add(1, Ordering::Relaxed);
        let read = net::packed::read_packed_on_thread(false);
        Box::pin(async { read.await.map_err(|e| e.to_string()) })
    }

    fn read_host(&self, snapshot: &mut net::Snapshot) {
        net::sysctl::read_host(snapshot);
    }

    fn run_command(&self, _: usize, _: RunSink, _: CancellationToken) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// The routes panel's title: the first route shown and the count
/// (` routes 39-76/1000012 `, ` routes (12) `); None while reading, or
/// on a row without it.
fn parse_title(row: &str) -> Option<(usize, usize)> {
    let number = |s: &str| -> Option<(usize, usize)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        Some((s[..digits].parse().ok()?, digits))
    };
    let parse = |rest: &str| -> Option<(usize, usize)> {
        if let Some(inner) = rest.strip_prefix('(') {
            return Some((1, number(inner)?.0));
        }
        let (first, n) = number(rest)?;
        let rest = rest[n..].strip_prefix('-')?;
        let (_, n) = number(rest)?;
        let (count, _) = number(rest[n..].strip_prefix('/')?)?;
        Some((first, count))
    };
    row.match_indices(" routes ")
        .find_map(|(i, m)| parse(&row[i + m.len()..]))
}

/// Whether `row` holds the routes panel's title.
fn is_title(row: &str) -> bool {
    row.contains(" routes: reading") || parse_title(row).is_some()
}

/// The process's peak RSS in KB (VmHWM), 0 if unreadable.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Args {
    final_count: usize,
    peak: Option<usize>,
    limit: Duration,
}

fn args() -> Result<Args, String> {
    let usage = "usage: route_flood FINAL [PEAK [LIMIT_S]]";
    let mut it = std::env::args().skip(1);
    let mut number = |what: &str| -> Result<Option<u64>, String> {
        it.next()
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("{what}: not a number: {s}; {usage}"))
            })
            .transpose()
    };
    let final_count = number("FINAL")?.ok_or(usage)? as usize;
    let peak = number("PEAK")?.map(|n| n as usize);
    let limit = Duration::from_secs(number("LIMIT_S")?.unwrap_or(120));
    Ok(Args {
        final_count,
        peak,
        limit,
    })
}

/// The counters the changes stream keeps (taken from `start` on).
struct Counts {
    overruns: AtomicUsize,
    changes: AtomicUsize,
    /// Whole-table reads the loop started (`Io::read_snapshot`).
    reads: AtomicUsize,
}

/// Watches the frames, presses the keys, and says how it went; returns
/// the exit code.
fn drive(
    args: &Args,
    msgs: &std_mpsc::Receiver<Msg>,
    keys: &tokio::sync::mpsc::UnboundedSender<Event>,
    counts: &Counts,
) -> i32 {
    // 1. Ready: the whole table on screen.
    let ready_by = Instant::now() + args.limit;
    loop {
        let left = ready_by.saturating_duration_since(Instant::now());
        match msgs.recv_timeout(left) {
            Ok(Msg::Frame { title, .. }) => match parse_title(&title) {
                Some((_, n)) if n == args.final_count => break,
                Some((_, n)) => {
                    eprintln!(
                        "route_flood: the routes panel shows {n} routes, not FINAL={}: {title:?}",
                        args.final_count
                    );
                    return 2;
                }
                None => {}
            },
            Ok(_) => {}
            Err(_) => {
                eprintln!(
                    "route_flood: no frame with the table within {:?}",
                    args.limit
                );
                return 2;
            }
        }
    }
    println!("ready");
    let _ = std::io::stdout().flush();

    // 2. The flood starts.
    let start = loop {
        match msgs.recv_timeout(args.limit) {
            Ok(Msg::Start(at)) => break at,
            Ok(_) => {}
            Err(_) => {
                eprintln!("route_flood: no `start` on stdin within {:?}", args.limit);
                return 2;
            }
        }
    };
    counts.overruns.store(0, Ordering::Relaxed);
    counts.changes.store(0, Ordering::Relaxed);
    counts.reads.store(0, Ordering::Relaxed);

    // 3. Keys and frames until caught up.
    let deadline = start + args.limit;
    let mut end: Option<Instant> = None;
    let mut peak_at: Option<Instant> = None;
    let mut shown: Option<usize> = Some(args.final_count);
    // Since when the frame shows FINAL, and whether it showed another count.
    let mut final_since: Option<Instant> = Some(start);
    let mut moved = false;
    // After the flood's end, the moment the dashboard is right again: the
    // first frame showing FINAL for good; or the end itself when the count
    // never moved (a flood too short to show, or one it missed whole).
    let caught_up_at = |end: Option<Instant>, since: Option<Instant>, moved: bool| {
        let (end, since) = (end?, since?);
        Some(if moved { since } else { end.max(since) })
    };
    // The longest the count stood still (a re-read in flight holds it).
    let mut last_move = start;
    let mut still = Duration::ZERO;
    let mut frames: Vec<Instant> = Vec::new();
    let mut lost_frames = 0usize;
    // (pressed at, PageDown?) of the key not shown yet.
    let mut pending: Option<(Instant, bool)> = None;
    let mut next_key = start;
    let mut down = true;
    // (pressed at, key -> frame)
    let mut latencies: Vec<(Instant, Duration)> = Vec::new();
    let caught_up = loop {
        let now = Instant::now();
        if let Some(at) = caught_up_at(end, final_since, moved) {
            if now.saturating_duration_since(at) >= SETTLE {
                break Some(at);
            }
        }
        if now >= deadline {
            break None;
        }
        if pending.is_none() && now >= next_key {
            let code = if down {
                KeyCode::PageDown
            } else {
                KeyCode::PageUp
            };
            let _ = keys.send(Event::key(code));
            pending = Some((now, down));
            next_key = now + KEY_EVERY;
            down = !down;
        }
        let mut wake = deadline;
        if pending.is_none() {
            wake = wake.min(next_key);
        }
        if let Some(at) = caught_up_at(end, final_since, moved) {
            wake = wake.min(at + SETTLE);
        }
        match msgs.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(Msg::Frame { at, title, lost }) => {
                frames.push(at);
                lost_frames += usize::from(lost);
                let parsed = parse_title(&title);
                if parsed.map(|(_, n)| n) != shown {
                    still = still.max(at.duration_since(last_move));
                    last_move = at;
                }
                shown = parsed.map(|(_, n)| n);
                if let (Some((pressed, was_down)), Some((first, _))) = (pending, parsed) {
                    if (first > 1) == was_down {
                        latencies.push((pressed, at.duration_since(pressed)));
                        pending = None;
                    }
                }
                if shown.is_some() && shown == args.peak && peak_at.is_none() {
                    peak_at = Some(at);
                }
                if shown == Some(args.final_count) {
                    final_since.get_or_insert(at);
                } else {
                    moved = true;
                    final_since = None;
                }
            }
            Ok(Msg::End(at)) => end = Some(at),
            Ok(Msg::Start(_)) | Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => break None,
        }
    };
    let overruns = counts.overruns.load(Ordering::Relaxed);
    let changes = counts.changes.load(Ordering::Relaxed);
    let reads = counts.reads.load(Ordering::Relaxed);
    let rss = peak_rss_kb();
    let flood_ms = end.map_or(-1.0, |e| ms(e.duration_since(start)));
    let peak_ms = peak_at.map_or(-1.0, |at| ms(at.duration_since(start)));
    // Keys pressed during the flood (until caught up); one still
    // unanswered counts as long as it has waited.
    let until = caught_up.unwrap_or(deadline);
    let still = still.max(until.saturating_duration_since(last_move));
    let mut during: Vec<f64> = latencies
        .iter()
        .filter(|(pressed, _)| *pressed < until)
        .map(|(_, d)| ms(*d))
        .collect();
    if let Some((pressed, _)) = pending.filter(|(p, _)| *p < until) {
        during.push(ms(Instant::now().duration_since(pressed)));
    }
    during.sort_by(f64::total_cmp);
    let (median, max) = match during.as_slice() {
        [] => (-1.0, -1.0),
        d => (d[d.len() / 2], d[d.len() - 1]),
    };
    let drawn = frames.iter().filter(|&&at| at <= until).count();
    let catch = caught_up.map_or(-1.0, |at| ms(at.duration_since(start)));
    let shown_now = shown.map_or(-1, |n| n as i64);
    match caught_up {
        Some(_) => eprintln!(
            "route_flood: caught up {catch:.0} ms after the flood's start (the flood took {flood_ms:.0} ms; {} routes first shown at {peak_ms:.0} ms)",
            args.peak.map_or("-".to_string(), |n| n.to_string()),
        ),
        None => eprintln!(
            "route_flood: NOT caught up within {:?} of the flood's start: the routes panel shows {shown_now} routes, not {} ({})",
            args.limit,
            args.final_count,
            if end.is_some() {
                format!("the flood took {flood_ms:.0} ms")
            } else {
                "the flood had not ended".to_string()
            }
        ),
    }
    eprintln!(
        "route_flood: key -> frame median {median:.1} ms, max {max:.1} ms over {} keys; the count stood still for up to {:.0} ms; {drawn} frames; {overruns} overruns, {changes} changes taken, {reads} whole-table reads, {lost_frames} frames saying changes were lost; peak RSS {} MB",
        during.len(),
        ms(still),
        rss / 1024
    );
    println!(
        "{catch:.0} {flood_ms:.0} {peak_ms:.0} {median:.1} {max:.1} {} {drawn} {overruns} {changes} {rss} {shown_now} {reads} {:.0}",
        during.len(),
        ms(still)
    );
    i32::from(caught_up.is_none())
}

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("route_flood: {e}");
            std::process::exit(2);
        }
    };
    let (msg_tx, msgs) = std_mpsc::channel();
    let (key_tx, mut key_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let counts = Arc::new(Counts {
        overruns: AtomicUsize::new(0),
        changes: AtomicUsize::new(0),
        reads: AtomicUsize::new(0),
    });

    // The caller's marks: `start` and `end` of the flood.
    let marks = msg_tx.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let at = Instant::now();
            let msg = match line.trim() {
                "start" => Msg::Start(at),
                "end" => Msg::End(at),
                _ => continue,
            };
            if marks.send(msg).is_err() {
                return;
            }
        }
    });

    // The driver ends the process once it has said how it went: a
    // dashboard far behind could take minutes to reach a `q`.
    let driver_counts = counts.clone();
    let reads = counts.clone();
    std::thread::spawn(move || {
        let code = drive(&args, &msgs, &key_tx, &driver_counts);
        let _ = std::io::stdout().flush();
        std::process::exit(code);
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ended = runtime.block_on(async {
        let backend = Watched::new(160, 40, frame_watcher(msg_tx));
        let mut terminal = Terminal::new(backend).expect("terminal");
        let mut app = App::new(NetView::default(), Vec::new(), "benchmark");
        // As the dashboard: subscribe, then read.
        let changes = net::watch().await.expect("netlink watch");
        let snapshot = net::packed::read_packed_blocking().map_err(|e| e.to_string());
        update(&mut app, Event::Snapshot(snapshot));
        app.focus = Focus::Routes;
        let changes = changes.inspect(move |change| {
            counts.changes.fetch_add(1, Ordering::Relaxed);
            if *change == net::Change::Overrun {
                counts.overruns.fetch_add(1, Ordering::Relaxed);
            }
        });
        let keys = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));
        run(
            &mut terminal,
            &mut app,
            &Theme::color(),
            keys,
            changes,
            Arc::new(NetOnly(reads)),
        )
        .await
    });
    // Only the driver ends the run; the loop stopping first is a failure.
    eprintln!("route_flood: the event loop ended on its own: {ended:?}");
    std::process::exit(2);
}
