//! The event loop driven end to end in-process: scripted keys, a fake
//! network change, fixture snapshots and a scripted run, on a TestBackend.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::KeyCode;
use futures_util::future::BoxFuture;
use inject_errands::CancellationToken;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::{mpsc, Notify};
use tokio_stream_shim::receiver_stream;

use super::convert::net_view;
use super::event::{Event, RunMsg};
use super::fixtures::seed_vm_app;
use super::model::{CmdState, NetView, OutStream};
use super::run::{run, Io, RunSink};
use super::theme::Theme;
use crate::net::fixtures;

/// Snapshot reads return the fixed VM; the run prints a line and succeeds.
struct FakeIo {
    ran: Arc<Notify>,
    read: Arc<Notify>,
}

impl Io for FakeIo {
    fn read_snapshot(&self) -> BoxFuture<'static, Result<NetView, String>> {
        let read = self.read.clone();
        Box::pin(async move {
            read.notify_one();
            Ok(net_view(&fixtures::seed_vm_fixed(), &[]))
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
        // The run's end asks for one read; the netlink change for another.
        read.notified().await;
        net_tx.send(()).unwrap();
        read.notified().await;
        // Let the loop take the snapshot before the keys that end it (the
        // loop picks among ready sources at random).
        tokio::time::sleep(Duration::from_millis(100)).await;
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
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("IPv6: default via 2001:db8:69f5::1 dev eth1"));
    assert!(screen.contains("out│route added"));
    assert!(screen.contains("ok in 5ms"));
}
