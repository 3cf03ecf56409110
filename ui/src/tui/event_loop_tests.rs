//! The event loop driven end to end in-process: scripted keys, a fake
//! network change, fixture snapshots and a scripted run, on a TestBackend.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::KeyCode;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use inject_errands::CancellationToken;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::{mpsc, Notify};
use tokio_stream_shim::receiver_stream;

use super::display::{CmdState, OutStream};
use super::event::{Event, RunMsg};
use super::event_loop::{run, Io, RunSink};
use super::fixtures::seed_vm_app;
use super::theme::Theme;
use inject_net::{fixtures, Change, Snapshot};

/// Snapshot reads return the fixed VM; the run prints a line and succeeds.
/// `read` is notified as a read completes: the loop's task sends the result
/// on in the same poll, so once a waiter wakes, the snapshot is queued for
/// the loop ahead of anything the waiter sends next.
struct FakeIo {
    ran: Arc<Notify>,
    read: Arc<Notify>,
}

impl Io for FakeIo {
    fn read_snapshot(&self) -> BoxFuture<'static, Result<Snapshot, String>> {
        let read = self.read.clone();
        Box::pin(async move {
            read.notify_one();
            Ok(fixtures::seed_vm_fixed())
        })
    }

    fn run_command(
        &self,
        _index: usize,
        sink: RunSink,
        _cancel: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        let ran = self.ran.clone();
        Box::pin(async move {
            sink.send(RunMsg::Line {
                stream: OutStream::Stdout,
                text: "route added".into(),
            });
            sink.send(RunMsg::Finished {
                state: CmdState::Ok,
                duration: Duration::from_millis(5),
            });
            ran.notify_one();
        })
    }
}

mod tokio_stream_shim {
    use futures_util::Stream;
    use tokio::sync::mpsc;

    pub fn receiver_stream<T>(mut rx: mpsc::UnboundedReceiver<T>) -> impl Stream<Item = T> + Unpin {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}

#[tokio::test]
async fn keys_run_a_command_and_a_net_change_redraws_the_fixed_network() {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut app = seed_vm_app();
    let (keys_tx, keys_rx) = mpsc::unbounded_channel();
    let (net_tx, net_rx) = mpsc::unbounded_channel();
    let ran = Arc::new(Notify::new());
    let read = Arc::new(Notify::new());
    let io = Arc::new(FakeIo {
        ran: ran.clone(),
        read: read.clone(),
    });
    let driver = async move {
        keys_tx.send(Event::key(KeyCode::Enter)).unwrap();
        keys_tx.send(Event::key(KeyCode::Char('y'))).unwrap();
        ran.notified().await;
        // The run's end asks for one read; lost netlink changes for another.
        read.notified().await;
        net_tx.send(Change::Overrun).unwrap();
        read.notified().await;
        // The snapshot is queued now (see FakeIo). The loop takes at most one
        // terminal event per turn and every queued runner/snapshot event with
        // it, so it is applied before `q`, whichever source the loop picks.
        keys_tx.send(Event::Resize(120, 40)).unwrap();
        keys_tx.send(Event::key(KeyCode::Char('q'))).unwrap();
        (keys_tx, net_tx)
    };
    let theme = Theme::color();
    let (result, _) = tokio::join!(
        run(
            &mut terminal,
            &mut app,
            &theme,
            receiver_stream(keys_rx),
            receiver_stream(net_rx),
            io
        ),
        driver
    );
    result.unwrap();
    assert!(app.quit);
    assert_eq!(app.commands[0].state, CmdState::Ok);
    assert_eq!(app.commands[0].output[0].text, "route added");
    let screen = screen_of(&terminal);
    assert!(screen.contains("IPv6: default via 2001:db8:69f5::1 dev eth1"));
    assert!(screen.contains("out│route added"));
    assert!(screen.contains("ok in 5ms"));
}

fn screen_of(terminal: &Terminal<TestBackend>) -> String {
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect()
}

fn fake_io() -> Arc<FakeIo> {
    Arc::new(FakeIo {
        ran: Arc::new(Notify::new()),
        read: Arc::new(Notify::new()),
    })
}

/// A hang guard, not a timing: the loop must end on its own.
const HANG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn the_loop_quits_when_terminal_events_end() {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut app = seed_vm_app();
    let theme = Theme::color();
    let ended = tokio::time::timeout(
        HANG,
        run(
            &mut terminal,
            &mut app,
            &theme,
            futures_util::stream::empty(),
            futures_util::stream::pending(),
            fake_io(),
        ),
    )
    .await;
    assert!(
        ended.is_ok(),
        "the loop kept running with no terminal to read keys from"
    );
    assert!(app.quit);
}

/// A stream that ends at once and says when it has been seen to end.
fn ending(seen: Arc<Notify>) -> impl futures_util::Stream<Item = Change> + Unpin {
    futures_util::stream::poll_fn(move |_| {
        seen.notify_one();
        std::task::Poll::Ready(None)
    })
}

#[tokio::test]
async fn the_end_of_net_changes_is_shown_and_the_loop_goes_on() {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut app = seed_vm_app();
    let (keys_tx, keys_rx) = mpsc::unbounded_channel();
    let io = fake_io();
    let read = io.read.clone();
    let seen = Arc::new(Notify::new());
    let driver = {
        let seen = seen.clone();
        async move {
            // Once the loop has seen the end it handles it in the same turn.
            seen.notified().await;
            // Still alive: `r` reads.
            keys_tx.send(Event::key(KeyCode::Char('r'))).unwrap();
            read.notified().await;
            keys_tx.send(Event::key(KeyCode::Char('q'))).unwrap();
            keys_tx
        }
    };
    let theme = Theme::color();
    let (result, _) = tokio::time::timeout(HANG, async {
        tokio::join!(
            run(
                &mut terminal,
                &mut app,
                &theme,
                receiver_stream(keys_rx),
                ending(seen),
                io
            ),
            driver
        )
    })
    .await
    .expect("the loop ends on q");
    result.unwrap();
    assert!(app.quit);
    assert!(screen_of(&terminal).contains("IPv6: default via 2001:db8:69f5::1 dev eth1"));
    let screen = screen_of(&terminal);
    assert!(
        screen.contains("live updates stopped; r re-reads"),
        "{screen}"
    );
}

/// The routes filter over a table too big for one slice: the keys typed
/// are each drawn while its pass is under way (the title says so), and,
/// with no key waiting, the loop takes the pass to its end on its own.
#[tokio::test]
async fn a_filter_over_a_big_table_goes_on_between_keys_to_its_end() {
    let (frames, mut watch) = tokio::sync::watch::channel(String::new());
    // Each frame's screen, for the driver to wait on.
    let mut terminal = Terminal::new(super::watched::Watched::new(160, 40, move |buffer| {
        frames.send_replace(buffer.content().iter().map(|c| c.symbol()).collect());
    }))
    .unwrap();
    let mut app = super::fixtures::big_app(3, 60_000);
    app.focus = super::app::Focus::Routes;
    let text = "172.16.1";
    let want = (0..app.net.routes.len())
        .filter(|&at| app.net.routes.line(at).unwrap().contains(text))
        .count();
    let total = app.net.routes.len();
    let (keys_tx, keys_rx) = mpsc::unbounded_channel();
    let driver = async move {
        for c in format!("/{text}").chars() {
            keys_tx.send(Event::key(KeyCode::Char(c))).unwrap();
        }
        keys_tx.send(Event::key(KeyCode::Enter)).unwrap();
        let mut searching = false;
        let done = watch
            .wait_for(|screen| {
                searching |= screen.contains(", searching ");
                screen.contains(&format!("matching \"{text}\" of {total}"))
                    && !screen.contains("searching")
            })
            .await
            .expect("frames")
            .clone();
        keys_tx.send(Event::key(KeyCode::Char('q'))).unwrap();
        (done, searching, keys_tx)
    };
    let theme = Theme::color();
    let (result, (done, searching, _)) = tokio::time::timeout(HANG, async {
        tokio::join!(
            run(
                &mut terminal,
                &mut app,
                &theme,
                receiver_stream(keys_rx),
                futures_util::stream::pending(),
                fake_io()
            ),
            driver
        )
    })
    .await
    .expect("the pass ends with no key pressed, and the loop on q");
    result.unwrap();
    assert!(searching, "60 000 routes take more than one slice");
    assert!(
        done.contains(&format!("/{want} matching \"{text}\" of {total}")),
        "{done}"
    );
}

#[tokio::test]
async fn a_burst_of_changes_shows_up_whole_in_one_frame_and_then_the_end_of_changes() {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut app = seed_vm_app();
    let before = app.net.routes.len();
    let (keys_tx, keys_rx) = mpsc::unbounded_channel();
    let (net_tx, net_rx) = mpsc::unbounded_channel();
    // A flood queued before the loop looks, then the subscription's end.
    let flood = fixtures::many_routes(2, 2000);
    let added: Vec<_> = flood.routes.iter().filter(|r| !r.is_default()).collect();
    for route in &added {
        net_tx
            .send(Change::Route {
                action: inject_net::Action::Added,
                line: String::new(),
                route: (*route).clone(),
            })
            .unwrap();
    }
    drop(net_tx);
    let seen = Arc::new(Notify::new());
    let net = receiver_stream(net_rx).chain(ending(seen.clone()));
    let driver = async move {
        // Once the loop has seen the end it handles it in the same turn.
        seen.notified().await;
        keys_tx.send(Event::key(KeyCode::Char('q'))).unwrap();
        keys_tx
    };
    let theme = Theme::color();
    let (result, _) = tokio::time::timeout(HANG, async {
        tokio::join!(
            run(
                &mut terminal,
                &mut app,
                &theme,
                receiver_stream(keys_rx),
                net,
                fake_io()
            ),
            driver
        )
    })
    .await
    .expect("the loop ends on q");
    result.unwrap();
    let screen = screen_of(&terminal);
    let total = before + added.len();
    assert!(
        screen.contains(&format!("routes 1-17/{total} ")),
        "{screen}"
    );
    assert!(
        screen.contains("live updates stopped; r re-reads"),
        "{screen}"
    );
    // The first frame, the flood's, and the marks of new routes fading:
    // not a frame per change.
    let frames = terminal.get_frame().count();
    assert!(frames < 40, "{frames} frames for {} changes", added.len());
}
