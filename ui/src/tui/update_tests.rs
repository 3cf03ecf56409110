//! `update` for every key binding and for net and runner events.

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;

use super::app::{
    update, App, Effect, Focus, Level, Overlay, ESC_SAYS, LIVE_STOPPED, NEEDS_ROOT,
    QUIT_WHILE_RUNNING,
};
use super::display::{CmdState, Kept, OutStream};
use super::event::{Event, RunMsg};
use super::fixtures::{big_app, ensure_now, ensure_state, seed_vm_app, seed_vm_kept_app};
use super::rows::net_view;
use inject_net::{fixtures, Action, Change, Protocol, Route};

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Event::key(code))
}

fn ch(app: &mut App, c: char) -> Vec<Effect> {
    key(app, KeyCode::Char(c))
}

#[test]
fn first_command_is_selected_at_start() {
    let app = seed_vm_app();
    assert_eq!(app.selected, 0);
    assert_eq!(app.selected_command().unwrap().name, "ipv6-default-route");
}

#[test]
fn arrows_and_jk_move_the_selection_within_bounds() {
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Up);
    assert_eq!(app.selected, 0, "up at the top stays");
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected, 1);
    ch(&mut app, 'j');
    assert_eq!(app.selected, 2);
    ch(&mut app, 'j');
    assert_eq!(app.selected, 2, "down at the bottom stays");
    ch(&mut app, 'k');
    assert_eq!(app.selected, 1);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.selected, 0);
}

#[test]
fn enter_asks_then_y_runs_the_selected_command() {
    let mut app = seed_vm_app();
    // Asking works out the values the command would get now.
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::ValuesNow(0)]);
    assert_eq!(app.overlay, Some(Overlay::Confirm(0)));
    // Other keys do nothing while asking.
    assert!(ch(&mut app, 'j').is_empty());
    assert_eq!(app.selected, 0);
    assert_eq!(ch(&mut app, 'y'), vec![Effect::Run(0)]);
    assert_eq!(app.overlay, None);
    assert_eq!(app.running_index(), Some(0));
    assert_eq!(app.commands[0].state, CmdState::Running);
}

#[test]
fn n_and_esc_cancel_the_confirmation_without_running() {
    for cancel in [KeyCode::Char('n'), KeyCode::Esc] {
        let mut app = seed_vm_app();
        key(&mut app, KeyCode::Enter);
        assert!(key(&mut app, cancel).is_empty());
        assert_eq!(app.overlay, None);
        assert!(!app.quit, "Esc in a window closes it, not the dashboard");
        assert_eq!(app.running_index(), None);
        assert_eq!(app.commands[0].state, CmdState::Pending);
    }
}

#[test]
fn enter_while_a_command_runs_says_one_at_a_time() {
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'y');
    ch(&mut app, 'j');
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.overlay, None);
    assert_eq!(
        app.message_text(),
        Some("ipv6-default-route is running: one command at a time")
    );
}

#[test]
fn enter_without_root_says_how_to_get_it() {
    let mut app = seed_vm_app();
    app.is_root = false;
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.overlay, None);
    assert_eq!(app.message_text(), Some(NEEDS_ROOT));
    assert_eq!(NEEDS_ROOT, "needs root: run sudo inject-tui");
}

#[test]
fn enter_and_p_with_no_commands_say_none_are_configured() {
    let mut app = App::new(
        net_view(&fixtures::seed_vm(), &Default::default()),
        vec![],
        "no config",
    );
    for k in [KeyCode::Enter, KeyCode::Char('p')] {
        app.message = None;
        assert!(key(&mut app, k).is_empty());
        assert_eq!(app.overlay, None);
        assert_eq!(app.message_text(), Some("no commands are configured"));
    }
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected, 0);
}

#[test]
fn p_shows_the_plan_and_closes_again() {
    let mut app = seed_vm_app();
    ch(&mut app, 'p');
    assert_eq!(
        app.overlay,
        Some(Overlay::Plan {
            index: 0,
            scroll: 0
        })
    );
    ch(&mut app, 'j');
    assert_eq!(
        app.overlay,
        Some(Overlay::Plan {
            index: 0,
            scroll: 1
        })
    );
    key(&mut app, KeyCode::PageUp);
    assert_eq!(
        app.overlay,
        Some(Overlay::Plan {
            index: 0,
            scroll: 0
        })
    );
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    assert!(!app.quit);
    ch(&mut app, 'p');
    ch(&mut app, 'p');
    assert_eq!(app.overlay, None);
}

#[test]
fn tab_cycles_focus_both_ways() {
    let mut app = seed_vm_app();
    assert_eq!(app.focus, Focus::Commands);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Output);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Interfaces);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Routes);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Focus::Interfaces);
}

#[test]
fn page_keys_scroll_the_focused_panel_only() {
    let mut app = big_app(100, 10_000);
    app.size = (120, 40);
    app.focus = Focus::Routes;
    key(&mut app, KeyCode::PageDown);
    let page = app.scroll.routes;
    assert!(page > 5, "a page is the panel's height, got {page}");
    assert_eq!(app.scroll.interfaces, 0);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.scroll.routes, 2 * page);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.scroll.routes, page);
    app.focus = Focus::Interfaces;
    key(&mut app, KeyCode::PageDown);
    let if_page = app.scroll.interfaces;
    assert!(if_page > 0);
    assert_eq!(app.scroll.routes, page);
    for _ in 0..100 {
        key(&mut app, KeyCode::PageDown);
    }
    assert_eq!(
        app.scroll.interfaces,
        app.net.interfaces.len() - if_page,
        "stops with the last page full"
    );
}

#[test]
fn page_up_in_output_goes_back_and_new_lines_keep_the_place() {
    let mut app = seed_vm_app();
    app.focus = Focus::Output;
    for i in 0..100 {
        let msg = RunMsg::Line {
            stream: OutStream::Stdout,
            text: format!("line {i}"),
        };
        update(&mut app, Event::Run { index: 0, msg });
    }
    key(&mut app, KeyCode::PageUp);
    let back = app.scroll.output_back;
    assert!(back > 0);
    let msg = RunMsg::Line {
        stream: OutStream::Stderr,
        text: "more".into(),
    };
    update(&mut app, Event::Run { index: 0, msg });
    assert_eq!(app.scroll.output_back, back + 1);
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.scroll.output_back, 0, "back to following the output");
}

#[test]
fn r_rereads_the_network() {
    let mut app = seed_vm_app();
    assert_eq!(ch(&mut app, 'r'), vec![Effect::ReadSnapshot]);
    assert!(app.reads.reading());
}

#[test]
fn question_mark_toggles_help_and_keys_do_nothing_under_it() {
    let mut app = seed_vm_app();
    ch(&mut app, '?');
    assert_eq!(app.overlay, Some(Overlay::Help));
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.overlay, None, "Enter closes help, runs nothing");
    ch(&mut app, '?');
    ch(&mut app, 'q');
    assert_eq!(app.overlay, None);
    assert!(!app.quit, "q closes help first");
    ch(&mut app, '?');
    ch(&mut app, '?');
    assert_eq!(app.overlay, None);
}

#[test]
fn q_ctrl_c_and_sigterm_quit() {
    for ev in [
        Event::key(KeyCode::Char('q')),
        Event::ctrl('c'),
        Event::Terminate,
    ] {
        let mut app = seed_vm_app();
        assert_eq!(update(&mut app, ev), vec![]);
        assert!(app.quit);
    }
    // Ctrl-C quits even from a window.
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    update(&mut app, Event::ctrl('c'));
    assert!(app.quit);
}

#[test]
fn esc_closes_a_window_and_never_quits() {
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Char('?'));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, None, "Esc closes the help");
    assert!(!app.quit, "closing a window does not quit");
    // An Esc too many (double Esc) says how to quit instead of quitting.
    key(&mut app, KeyCode::Esc);
    assert!(!app.quit);
    assert_eq!(app.message_text(), Some(ESC_SAYS));
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'y');
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, None);
    assert!(!app.quit);
    assert_eq!(app.running_index(), Some(0));
}

fn start(app: &mut App, at: Instant) {
    key(app, KeyCode::Enter);
    assert_eq!(ch(app, 'y'), vec![Effect::Run(0)]);
    update(
        app,
        Event::Run {
            index: 0,
            msg: RunMsg::Started(at),
        },
    );
}

#[test]
fn a_running_command_counts_its_time_with_the_clock() {
    let mut app = seed_vm_app();
    let t0 = Instant::now();
    start(&mut app, t0);
    assert_eq!(app.elapsed(), Some(Duration::ZERO));
    update(
        &mut app,
        Event::Tick(
            t0 + Duration::from_millis(2500),
            std::time::SystemTime::now(),
        ),
    );
    assert_eq!(app.elapsed(), Some(Duration::from_millis(2500)));
    update(
        &mut app,
        Event::Run {
            index: 0,
            msg: RunMsg::Finished {
                state: CmdState::Ok,
                duration: Duration::from_millis(2600),
            },
        },
    );
    assert_eq!(app.elapsed(), None, "nothing runs");
}

#[test]
fn x_asks_then_stops_the_running_command_and_the_dashboard_stays() {
    let mut app = seed_vm_app();
    ch(&mut app, 'x');
    assert_eq!(app.overlay, None);
    assert_eq!(app.message_text(), Some("nothing is running"));
    start(&mut app, Instant::now());
    assert!(ch(&mut app, 'x').is_empty(), "asks first");
    assert_eq!(app.overlay, Some(Overlay::ConfirmStop));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, None, "Esc lets it run");
    ch(&mut app, 'x');
    assert_eq!(ch(&mut app, 'y'), vec![Effect::Stop]);
    assert_eq!(app.overlay, None);
    assert!(!app.quit);
    assert_eq!(app.message_text(), Some("stopping ipv6-default-route…"));
}

#[test]
fn ctrl_l_redraws_the_screen() {
    let mut app = seed_vm_app();
    assert_eq!(update(&mut app, Event::ctrl('l')), vec![Effect::Redraw]);
    assert!(!app.quit);
}

#[test]
fn a_held_lock_says_who_and_leaves_the_command_as_it_was() {
    let mut app = seed_vm_app();
    app.commands[0].state = CmdState::Ok;
    app.commands[0].last_duration = Some(Duration::from_millis(12));
    app.commands[0].output = vec![super::display::OutLine {
        stream: OutStream::Info,
        text: "ok in 12ms".into(),
    }];
    let before = app.commands[0].clone();
    start(&mut app, Instant::now());
    update(
        &mut app,
        Event::Run {
            index: 0,
            msg: RunMsg::Busy("inject run (pid 4242, phase errand) holds the lock".into()),
        },
    );
    assert_eq!(app.commands[0], before, "not `cancelled`: nothing ran");
    assert_eq!(app.running_index(), None);
    assert_eq!(
        app.message_text(),
        Some("ipv6-default-route not run: inject run (pid 4242, phase errand) holds the lock")
    );
    assert_eq!(app.message.as_ref().unwrap().level, Level::Error);
}

#[test]
fn q_while_a_command_runs_asks_before_quitting() {
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'y');
    ch(&mut app, 'q');
    assert!(!app.quit, "q asks first while a command runs");
    assert_eq!(app.overlay, Some(Overlay::ConfirmQuit));
    for keep in [KeyCode::Char('n'), KeyCode::Esc] {
        key(&mut app, keep);
        assert_eq!(app.overlay, None);
        assert!(!app.quit);
        ch(&mut app, 'q');
    }
    ch(&mut app, 'y');
    assert!(app.quit);
    // Ctrl-C asks too, and a second Ctrl-C means it.
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'y');
    update(&mut app, Event::ctrl('c'));
    assert_eq!(app.overlay, Some(Overlay::ConfirmQuit));
    update(&mut app, Event::ctrl('c'));
    assert!(app.quit);
    // SIGTERM never asks.
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'y');
    update(&mut app, Event::Terminate);
    assert!(app.quit);
    assert_eq!(
        QUIT_WHILE_RUNNING,
        "a command is running: quit and stop it? y/n"
    );
}

#[test]
fn the_end_of_live_updates_is_said_as_a_warning() {
    let mut app = seed_vm_app();
    assert!(update(&mut app, Event::NetEnded).is_empty());
    let msg = app.message.clone().unwrap();
    assert_eq!(msg.text, LIVE_STOPPED);
    assert_eq!(msg.level, Level::Warn);
    assert_eq!(LIVE_STOPPED, "live updates stopped; r re-reads");
    // `r` still reads.
    assert_eq!(ch(&mut app, 'r'), vec![Effect::ReadSnapshot]);
}

#[test]
fn messages_carry_their_level() {
    let mut app = seed_vm_app();
    app.is_root = false;
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.message.as_ref().unwrap().level, Level::Error);
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'n');
    assert_eq!(app.message.as_ref().unwrap().level, Level::Info);
}

#[test]
fn resize_is_remembered_for_page_sizes() {
    let mut app = seed_vm_app();
    update(&mut app, Event::Resize(30, 8));
    assert_eq!(app.size, (30, 8));
}

#[test]
fn changes_that_need_a_read_read_at_once_and_coalesce_a_burst_into_one_more_read() {
    let mut app = seed_vm_app();
    assert_eq!(
        update(&mut app, Event::Net(vec![Change::Overrun])),
        vec![Effect::ReadSnapshot]
    );
    for _ in 0..50 {
        // Even a change that could be applied: the read in flight may or
        // may not hold it.
        assert!(update(&mut app, route_change(Action::Added, v6_default())).is_empty());
    }
    assert_eq!(
        update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm_fixed()))),
        vec![Effect::ReadSnapshot],
        "changes during the read cause exactly one more"
    );
    assert_eq!(
        update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm_fixed()))),
        vec![]
    );
    assert!(!app.reads.reading());
    assert_eq!(app.net, net_view(&fixtures::seed_vm_fixed(), &app.expected));
}

fn v6_default() -> Route {
    fixtures::default_route("2001:db8:69f5::1", 3, Protocol::STATIC, Some(1024))
}

fn route_change(action: Action, route: Route) -> Event {
    Event::Net(vec![Change::Route {
        action,
        line: String::new(),
        route,
    }])
}

#[test]
fn a_route_change_updates_the_view_in_place_as_a_fresh_read_would_show_it() {
    let mut app = seed_vm_app();
    let before = app.net.clone();
    assert_eq!(
        update(&mut app, route_change(Action::Added, v6_default())),
        vec![],
        "applied without a read"
    );
    let fixed = net_view(&fixtures::seed_vm_fixed(), &app.expected);
    assert_eq!(app.net, fixed);
    assert!(app
        .net
        .banner
        .iter()
        .any(|b| b.text == "IPv6: default via 2001:db8:69f5::1 dev eth1"));
    let routes = &app.net.routes;
    assert!((0..routes.len()).any(|at| routes.is_default(at)
        && routes.line(at).as_deref()
            == Some("default via 2001:db8:69f5::1 dev eth1 proto static metric 1024")));
    assert_eq!(
        update(&mut app, route_change(Action::Deleted, v6_default())),
        vec![]
    );
    assert_eq!(app.net, before);
}

#[test]
fn route_rows_stay_in_the_panels_order_through_adds_and_deletes() {
    // Each change in place gives the rows a full conversion of the same
    // snapshot gives: defaults first, IPv4 before IPv6, then dump order.
    let mut app = seed_vm_app();
    let big = fixtures::many_routes(2, 40);
    // Its defaults would share the seed's IPv4 default's key (a read).
    let mut added: Vec<Route> = big.routes.into_iter().filter(|r| !r.is_default()).collect();
    added.insert(added.len() / 2, v6_default());
    let mut changes: Vec<Event> = added
        .iter()
        .map(|r| route_change(Action::Added, r.clone()))
        .collect();
    changes.extend(
        added
            .iter()
            .step_by(3)
            .map(|r| route_change(Action::Deleted, r.clone())),
    );
    // The same changes applied to a whole snapshot: what a read would hold.
    let mut whole = fixtures::seed_vm();
    for change in changes {
        update(&mut app, change.clone());
        assert!(!app.reads.reading(), "{change:?} needed no read");
        if let Event::Net(changes) = &change {
            changes.iter().for_each(|c| _ = whole.apply(c));
        }
        assert_eq!(app.net, net_view(&whole, &app.expected), "after {change:?}");
    }
}

#[test]
fn changes_before_any_good_read_and_link_changes_read() {
    let mut app = seed_vm_app();
    app.snapshot = None;
    assert_eq!(
        update(&mut app, route_change(Action::Added, v6_default())),
        vec![Effect::ReadSnapshot]
    );
    let mut app = seed_vm_app();
    assert_eq!(
        update(
            &mut app,
            Event::Net(vec![Change::Link {
                action: Action::Changed,
                link: fixtures::ethernet_down(3, "eth1"),
            }])
        ),
        vec![Effect::ReadSnapshot]
    );
}

#[test]
fn a_snapshot_replaces_the_view_and_clears_the_ipv6_flag() {
    let mut app = seed_vm_app();
    assert!(app
        .net
        .banner
        .iter()
        .any(|b| b.text.starts_with("IPv6: no default route")));
    update(&mut app, Event::Net(vec![Change::Overrun]));
    update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm_fixed())));
    assert!(app
        .net
        .banner
        .iter()
        .any(|b| b.text == "IPv6: default via 2001:db8:69f5::1 dev eth1"));
    assert!(!app
        .net
        .banner
        .iter()
        .any(|b| b.text.contains("no default route")));
}

#[test]
fn a_failed_read_keeps_the_last_view_and_says_why() {
    let mut app = seed_vm_app();
    let before = app.net.clone();
    update(&mut app, Event::Net(vec![Change::Overrun]));
    update(
        &mut app,
        Event::Snapshot(Err("netlink: permission denied".into())),
    );
    assert_eq!(app.net, before);
    assert_eq!(app.net_error.as_deref(), Some("netlink: permission denied"));
    assert_eq!(app.banner_lines(), before.banner.len() + 1);
    // What changed since is unknown: the next change reads.
    assert_eq!(
        update(&mut app, route_change(Action::Added, v6_default())),
        vec![Effect::ReadSnapshot]
    );
}

#[test]
fn runner_lines_and_finish_update_the_command() {
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    ch(&mut app, 'y');
    let line = |stream, text: &str| Event::Run {
        index: 0,
        msg: RunMsg::Line {
            stream,
            text: text.into(),
        },
    };
    update(&mut app, line(OutStream::Stdout, "hello"));
    update(&mut app, line(OutStream::Stderr, "oops"));
    let effects = update(
        &mut app,
        Event::Run {
            index: 0,
            msg: RunMsg::Finished {
                state: CmdState::Failed,
                duration: Duration::from_millis(1500),
            },
        },
    );
    assert_eq!(effects, vec![Effect::ReadSnapshot], "re-read after a run");
    let c = &app.commands[0];
    assert_eq!(c.state, CmdState::Failed);
    assert_eq!(c.last_duration, Some(Duration::from_millis(1500)));
    assert_eq!(c.output[0].text, "hello");
    assert_eq!(c.output[1].stream, OutStream::Stderr);
    assert_eq!(c.output[2].text, "failed in 1.5s");
    assert_eq!(app.running_index(), None);
    assert_eq!(
        app.message_text(),
        Some("ipv6-default-route: failed in 1.5s")
    );
    assert_eq!(app.message.as_ref().unwrap().level, Level::Error);
    // And the next run may start.
    key(&mut app, KeyCode::Enter);
    assert_eq!(ch(&mut app, 'y'), vec![Effect::Run(0)]);
    assert!(
        app.commands[0].output.is_empty(),
        "a new run starts a clean pane"
    );
}

#[test]
fn moving_the_selection_resets_the_output_scroll() {
    let mut app = seed_vm_app();
    app.scroll.output_back = 5;
    ch(&mut app, 'j');
    assert_eq!(app.scroll.output_back, 0);
}

#[test]
fn a_running_ensure_marks_the_commands_it_keeps_and_when_it_acted() {
    let mut app = seed_vm_kept_app();
    let kept: Vec<_> = app.commands.iter().map(|c| c.kept.clone()).collect();
    assert_eq!(
        kept,
        vec![
            Some(Kept {
                acted_ago: Some(Duration::from_secs(185)),
                failures: 0
            }),
            None,
            Some(Kept {
                acted_ago: Some(Duration::from_secs(20)),
                failures: 2
            }),
        ]
    );
    assert_eq!(kept[0].as_ref().unwrap().label(), "acted");
    assert_eq!(kept[2].as_ref().unwrap().label(), "failing");
    // A later read moves the age on; ensure gone clears every mark.
    let later = ensure_now() + Duration::from_secs(60);
    assert!(update(
        &mut app,
        Event::Ensure {
            state: Some(ensure_state()),
            now: later
        }
    )
    .is_empty());
    assert_eq!(
        app.commands[0].kept.as_ref().unwrap().acted_ago,
        Some(Duration::from_secs(245))
    );
    update(
        &mut app,
        Event::Ensure {
            state: None,
            now: later,
        },
    );
    assert!(app.commands.iter().all(|c| c.kept.is_none()));
}

#[test]
fn o_opens_the_viewer_reading_the_log_file_when_there_is_one() {
    let mut app = seed_vm_app();
    assert!(ch(&mut app, 'o').is_empty(), "no file: the lines in memory");
    assert_eq!(app.viewer.as_ref().unwrap().index, 0);
    ch(&mut app, 'q');
    assert!(
        app.viewer.is_none() && !app.quit,
        "q closes the viewer only"
    );
    let path = std::path::PathBuf::from("/log/runs/r/01-ipv6-default-route.log");
    app.commands[0].log_file = Some(path.clone());
    assert_eq!(ch(&mut app, 'o'), vec![Effect::LoadOutput(0, path)]);
    let loaded = super::viewer_state::Loaded {
        lines: vec![super::display::OutLine {
            stream: OutStream::Stdout,
            text: "from the file".into(),
        }],
        ..Default::default()
    };
    update(
        &mut app,
        Event::OutputLoaded {
            index: 0,
            result: Ok(loaded),
        },
    );
    assert_eq!(app.viewer_lines()[0].text, "from the file");
}

#[test]
fn arrows_scroll_the_focused_output_instead_of_switching_command() {
    let mut app = big_app(3, 10);
    for i in 0..100 {
        app.commands[0].output.push(super::display::OutLine {
            stream: OutStream::Stdout,
            text: format!("{i}"),
        });
    }
    app.focus = Focus::Output;
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.selected, 0, "still the same command");
    assert_eq!(app.scroll.output_back, 2);
    key(&mut app, KeyCode::Down);
    assert_eq!(app.scroll.output_back, 1);
}

#[test]
fn a_new_route_is_marked_for_a_moment_and_r_says_when_it_read() {
    use std::time::SystemTime;
    let t0 = humantime::parse_rfc3339("2026-12-03T04:19:19Z").unwrap();
    let mut app = seed_vm_app();
    app.wall = Some(t0);
    update(&mut app, route_change(Action::Added, v6_default()));
    assert_eq!(
        app.fresh,
        vec![(
            "default via 2001:db8:69f5::1 dev eth1 proto static metric 1024".to_string(),
            t0
        )]
    );
    assert_eq!(app.updated, Some(t0));
    let tick = |app: &mut App, secs| {
        update(
            app,
            Event::Tick(Instant::now(), t0 + Duration::from_secs(secs)),
        )
    };
    tick(&mut app, 2);
    assert_eq!(app.fresh.len(), 1, "still marked");
    tick(&mut app, 3);
    assert!(app.fresh.is_empty(), "marked for 3 s");
    // r: refreshing, then when it was read.
    ch(&mut app, 'r');
    assert_eq!(app.message_text(), Some("refreshing"));
    app.wall = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(3600 + 61));
    update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm_fixed())));
    assert_eq!(app.message_text(), Some("re-read at 01:01:01"));
}

#[test]
fn a_banner_that_shrinks_keeps_its_rows_a_moment_so_panels_do_not_jump() {
    use ratatui::layout::Rect;
    let t0 = humantime::parse_rfc3339("2026-12-03T04:19:19Z").unwrap();
    let mut app = seed_vm_app();
    app.wall = Some(t0);
    let area = Rect::new(0, 0, 120, 40);
    let flagged = super::views::layout(&app, area).unwrap().banner.height;
    // The IPv6 default arrives: the finding and its hint go.
    update(&mut app, route_change(Action::Added, v6_default()));
    assert_eq!(
        super::views::layout(&app, area).unwrap().banner.height,
        flagged,
        "held"
    );
    update(
        &mut app,
        Event::Tick(Instant::now(), t0 + Duration::from_secs(5)),
    );
    assert!(app.banner_hold.is_none());
    assert!(super::views::layout(&app, area).unwrap().banner.height < flagged);
}

#[test]
fn with_both_defaults_missing_f_runs_the_fix_of_the_picked_finding() {
    let mut app = super::fixtures::both_missing_app();
    // Only the IPv6 command adds a default route: the IPv4 finding has
    // none, however much its words share with the config.
    let fixes = app.fixes();
    assert_eq!(fixes.len(), 1, "{fixes:?}");
    assert_eq!(app.commands[fixes[0].1].name, "ipv6-default-route");
    app.selected = 1;
    ch(&mut app, 'f');
    assert_eq!(app.overlay, Some(Overlay::Confirm(0)));
    assert_eq!(
        app.selected, 0,
        "the command f asks about is the selected one"
    );
}

#[test]
fn after_a_fix_the_dashboard_says_whether_its_finding_cleared() {
    let mut app = seed_vm_app();
    ch(&mut app, 'f');
    assert_eq!(ch(&mut app, 'y'), vec![Effect::Run(0)]);
    let done = RunMsg::Finished {
        state: CmdState::Ok,
        duration: Duration::from_millis(12),
    };
    update(
        &mut app,
        Event::Run {
            index: 0,
            msg: done.clone(),
        },
    );
    update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm())));
    let said = app.message_text().unwrap();
    assert!(said.contains("still there: IPv6"), "{said}");

    ch(&mut app, 'f');
    ch(&mut app, 'y');
    update(
        &mut app,
        Event::Run {
            index: 0,
            msg: done,
        },
    );
    update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm_fixed())));
    let said = app.message_text().unwrap();
    assert!(said.contains("ok in 12ms; cleared: IPv6"), "{said}");
    assert!(app.fixes().is_empty());
}

#[test]
fn a_run_log_that_cannot_be_read_is_said_and_no_command_reads_never_run() {
    let mut app = seed_vm_app();
    let denied = "cannot read the run log /var/vcap/sys/log/inject/inject-run.jsonl: Permission denied (os error 13)";
    update(
        &mut app,
        Event::RunLog {
            result: Err(denied.into()),
            now: ensure_now(),
        },
    );
    assert_eq!(app.message.as_ref().unwrap().level, Level::Warn);
    assert!(app.message_text().unwrap().contains("Permission denied"));
    let screen = super::view_tests::screen(&app, 120, 40);
    assert!(!screen.contains("never run"), "{screen}");
    assert!(screen.contains("unknown"), "{screen}");
}

#[test]
fn the_confirmation_shows_the_values_worked_out_when_it_opened_and_an_unset_one_with_why() {
    let mut app = seed_vm_app();
    key(&mut app, KeyCode::Enter);
    let values = vec![
        (
            "INJECT_NET_IPV6_NET_GATEWAY".to_string(),
            Ok("2001:db8:69f5::1".to_string()),
        ),
        (
            "INJECT_IPV6_INTERFACE".to_string(),
            Err(
                "2001:db8:69f5::10 (network `ipv6-net`) is on no interface of this host now"
                    .to_string(),
            ),
        ),
    ];
    update(&mut app, Event::Values { index: 0, values });
    let screen = super::view_tests::screen(&app, 120, 40);
    assert!(
        screen.contains("INJECT_NET_IPV6_NET_GATEWAY=2001:db8:69f5::1"),
        "{screen}"
    );
    assert!(
        screen.contains("INJECT_IPV6_INTERFACE unset: 2001:db8:69f5::10"),
        "{screen}"
    );
}

#[test]
fn keys_go_to_the_window_open_else_the_focused_panel() {
    use super::keys::Mode;
    let mut app = seed_vm_app();
    assert_eq!(app.mode(), Mode::Main(Focus::Commands));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Confirm);
    ch(&mut app, 'n');
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.mode(), Mode::Main(Focus::Output));
    ch(&mut app, '/');
    assert_eq!(app.mode(), Mode::Typing);
    // `?` is typed into the filter, not help.
    ch(&mut app, '?');
    assert_eq!(app.route_filter.text.as_deref(), Some("?"));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Main(Focus::Routes));
    ch(&mut app, '?');
    assert_eq!(app.mode(), Mode::Help);
    ch(&mut app, 'o');
    assert_eq!(app.mode(), Mode::Help, "o does nothing under help");
    key(&mut app, KeyCode::Esc);
    ch(&mut app, 'o');
    assert_eq!(app.mode(), Mode::Viewer);
}

#[test]
fn any_sequence_of_keys_leaves_a_state_every_view_can_draw() {
    use super::fixtures::both_missing_app;
    use super::views::render;
    use crossterm::event::{KeyEvent, KeyModifiers};
    use ratatui::{backend::TestBackend, Terminal};
    // Every key the table maps, and some it does not, with and without
    // Ctrl and Shift; the runner's answers come as the loop would give them.
    let mut keys: Vec<KeyCode> = "qjkyYnNopfgrx?/46d[]wGzZ"
        .chars()
        .map(KeyCode::Char)
        .collect();
    keys.extend([
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Backspace,
        KeyCode::Home,
        KeyCode::F(5),
    ]);
    let mut no_commands = seed_vm_app();
    no_commands.commands.clear();
    let mut terminal = Terminal::new(TestBackend::new(50, 14)).unwrap();
    let theme = super::theme::Theme::color();
    // A fixed xorshift: the same walk every run.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for mut app in [
        seed_vm_app(),
        both_missing_app(),
        two_fixes_app(),
        no_commands,
    ] {
        app.size = (50, 14);
        for step in 0..1500 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let code = keys[(seed % keys.len() as u64) as usize];
            let modifiers = match (seed >> 32) % 8 {
                0 => KeyModifiers::CONTROL,
                1 => KeyModifiers::SHIFT,
                _ => KeyModifiers::NONE,
            };
            for effect in update(&mut app, Event::Key(KeyEvent::new(code, modifiers))) {
                if let Effect::Run(i) = effect {
                    let msg = RunMsg::Finished {
                        state: CmdState::Ok,
                        duration: Duration::from_millis(5),
                    };
                    update(&mut app, Event::Run { index: i, msg });
                }
            }
            // Quitting is the loop's to do; keep walking.
            app.quit = false;
            assert!(app.commands.is_empty() || app.selected < app.commands.len());
            if step % 100 == 0 {
                terminal.draw(|f| render(f, &app, &theme)).unwrap();
            }
        }
    }
}

/// The seed's VM with two configured commands that each fix its missing
/// IPv6 default.
fn two_fixes_app() -> App {
    use inject_errands::config::{self, Phase};
    use inject_errands::plan::describe;
    let yaml = r#"
commands:
  - name: v6-add
    run: ip -6 route add default via "$INJECT_NET_IPV6_NET_GATEWAY" dev eth1
  - name: v6-replace
    run: ip -6 route replace default via "$INJECT_NET_IPV6_NET_GATEWAY" dev eth1
networks:
  ipv6-net: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
"#;
    let config = config::parse(yaml, "commands.yml").unwrap();
    let rows = config
        .commands
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let plan = describe(&config, spec, Phase::Errand, i + 1, 2);
            super::rows::command_row(&config, spec, plan)
        })
        .collect();
    let mut app = App::new(Default::default(), rows, "config: commands.yml");
    app.expected = inject_net::findings::config_gateways(&config);
    app.set_snapshot(fixtures::seed_vm());
    app
}

#[test]
fn brackets_pick_among_the_fixes_and_f_asks_to_run_the_picked_one() {
    let mut app = two_fixes_app();
    let names = |app: &App| {
        app.fixes()
            .iter()
            .map(|(_, c)| app.commands[*c].name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&app), ["v6-add", "v6-replace"]);
    let picked = |app: &App| app.commands[app.picked_fix().unwrap().1].name.clone();
    assert_eq!(picked(&app), "v6-add");
    ch(&mut app, ']');
    assert_eq!(picked(&app), "v6-replace");
    ch(&mut app, ']');
    assert_eq!(picked(&app), "v6-add", "] wraps around");
    ch(&mut app, '[');
    assert_eq!(picked(&app), "v6-replace", "[ wraps back");
    app.focus = Focus::Routes;
    assert_eq!(ch(&mut app, 'f'), vec![Effect::ValuesNow(1)]);
    assert_eq!(app.overlay, Some(Overlay::Confirm(1)));
    assert_eq!(
        app.focus,
        Focus::Commands,
        "f shows the command it asks about"
    );
    assert_eq!(app.selected, 1);
    // With one fix on offer there is nothing to pick.
    let mut one = seed_vm_app();
    ch(&mut one, ']');
    assert_eq!(one.message_text(), Some("no other fix to pick"));
}

fn change(action: Action, route: &Route) -> Change {
    Change::Route {
        action,
        line: String::new(),
        route: route.clone(),
    }
}

/// Changes of every kind on the seed VM: routes whose gateways are on no
/// link (a finding, with its count) and on one, a new default, an
/// address that puts gateways on a link, a route seen twice, deletes of
/// routes old and new, and routes added again.
fn mixed_changes() -> Vec<Change> {
    let mut out = Vec::new();
    let big = fixtures::many_routes(2, 60);
    // Via gateways on no link of the seed (its connected routes left out).
    let others: Vec<Route> = big
        .routes
        .iter()
        .filter(|r| !r.is_default() && r.gateway.is_some())
        .cloned()
        .collect();
    let seed = fixtures::seed_vm();
    out.extend(others[..30].iter().map(|r| change(Action::Added, r)));
    out.push(change(Action::Added, &v6_default()));
    out.push(change(Action::Added, &others[3]));
    out.extend(
        others[..30]
            .iter()
            .step_by(4)
            .map(|r| change(Action::Deleted, r)),
    );
    // A connected route of the seed (one the findings read) goes and comes back.
    let connected = seed
        .routes
        .iter()
        .find(|r| r.gateway.is_none() && !r.is_default())
        .unwrap();
    out.push(change(Action::Deleted, connected));
    out.push(change(Action::Added, connected));
    out.push(Change::Address {
        action: Action::Added,
        address: fixtures::address(2, "10.0.0.10/24", inject_net::Scope::GLOBAL),
        interface: "eth0".into(),
    });
    // Now on a link: a route the findings only count, then routes via a
    // gateway on none (IPv6).
    let mut counted = others[1].clone();
    counted.destination = "172.16.200.1/32".parse().unwrap();
    out.push(change(Action::Added, &counted));
    out.extend(others[30..].iter().map(|r| change(Action::Added, r)));
    out.extend(
        others[..30]
            .iter()
            .step_by(4)
            .map(|r| change(Action::Added, r)),
    );
    out.extend(others.iter().step_by(5).map(|r| change(Action::Deleted, r)));
    out
}

/// What the operator sees of the network: the view, and the screen with
/// and without a filter on the routes. The filtered screen as its cache
/// gives it is checked against a fresh pass over the routes.
fn seen(app: &mut App) -> (super::display::NetView, String, String) {
    let plain = super::view_tests::screen(app, 120, 40);
    app.route_filter.text = Some("172.16".into());
    // The pass to its end, as the loop takes it while no event waits (a
    // batch's added routes are tested there, not in the batch).
    while app.filtering() {
        app.advance_filter();
    }
    let filtered = super::view_tests::screen(app, 120, 40);
    let links = app.snapshot.as_ref().map(|s| s.links.clone()).unwrap();
    let cold = super::route_list::RouteList::new(app.net.routes.store().clone(), links);
    let warm = std::mem::replace(&mut app.net.routes, cold);
    assert_eq!(filtered, super::view_tests::screen(app, 120, 40), "cached");
    app.net.routes = warm;
    app.route_filter.text = None;
    (app.net.clone(), plain, filtered)
}

#[test]
fn a_batch_of_changes_shows_what_the_same_changes_one_event_each_show() {
    let changes = mixed_changes();
    let mut one_by_one = seed_vm_app();
    let before = seen(&mut one_by_one);
    for (i, c) in changes.iter().enumerate() {
        assert_eq!(update(&mut one_by_one, Event::Net(vec![c.clone()])), vec![]);
        // Half way, with the filter's cache warm.
        if i == changes.len() / 2 {
            seen(&mut one_by_one);
        }
    }
    let expected = seen(&mut one_by_one);
    assert_ne!(expected.0, before.0, "the changes change the view");
    assert_ne!(expected.2, before.2, "and what the filter finds");
    let said = |text: &str| expected.0.banner.iter().any(|b| b.text.contains(text));
    assert!(
        said("gateway 2001:db8:1::1 of route"),
        "{:#?}",
        expected.0.banner
    );
    assert!(
        !said("gateway 10.0.0.1 of route"),
        "on a link since the address came"
    );
    // Batches of every size, and two split right after the address.
    let address = changes
        .iter()
        .position(|c| matches!(c, Change::Address { .. }))
        .unwrap();
    let split = vec![&changes[..=address], &changes[address + 1..]];
    let sizes = [changes.len(), 1, 2, 7, 31];
    let splits = sizes
        .iter()
        .map(|&size| changes.chunks(size).collect::<Vec<_>>());
    for (case, batches) in splits.chain([split]).enumerate() {
        let mut batched = seed_vm_app();
        seen(&mut batched); // the filter's cache warm
        for batch in batches {
            assert_eq!(
                update(&mut batched, Event::Net(batch.to_vec())),
                vec![],
                "case {case}"
            );
            seen(&mut batched);
        }
        assert!(!batched.reads.reading());
        let got = seen(&mut batched);
        assert_eq!(got.0, expected.0, "case {case}");
        assert_eq!(got.1, expected.1, "case {case}");
        assert_eq!(got.2, expected.2, "case {case}");
    }
}

#[test]
fn a_batch_that_holds_a_change_needing_a_read_changes_nothing_and_reads_once() {
    let mut app = seed_vm_app();
    let before = app.net.clone();
    let mut other_gw = v6_default();
    other_gw.gateway = Some("2001:db8:69f5::2".parse().unwrap());
    let big = fixtures::many_routes(2, 20);
    let mut batch: Vec<Change> = big
        .routes
        .iter()
        .filter(|r| !r.is_default())
        .map(|r| change(Action::Added, r))
        .collect();
    // The same key as the first: a replace or an ECMP append.
    batch.insert(3, change(Action::Added, &v6_default()));
    batch.insert(7, change(Action::Added, &other_gw));
    // And after it, a change that needs a read on its own.
    batch.push(Change::Link {
        action: Action::Changed,
        link: fixtures::ethernet_down(3, "eth1"),
    });
    assert_eq!(
        update(&mut app, Event::Net(batch.clone())),
        vec![Effect::ReadSnapshot]
    );
    assert_eq!(app.net, before, "nothing applied");
    // The read started after every change of the batch: no other owed.
    assert_eq!(
        update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm_fixed()))),
        vec![]
    );
}

#[test]
fn a_flood_marks_only_the_last_routes_fresh_and_counts_every_one() {
    let t0 = humantime::parse_rfc3339("2026-12-03T04:19:19Z").unwrap();
    let mut app = seed_vm_app();
    app.wall = Some(t0);
    let n = app.net.routes.len();
    let big = fixtures::many_routes(2, 3000);
    let added: Vec<Route> = big.routes.into_iter().filter(|r| !r.is_default()).collect();
    let batch: Vec<Change> = added.iter().map(|r| change(Action::Added, r)).collect();
    assert_eq!(update(&mut app, Event::Net(batch)), vec![]);
    assert_eq!(app.net.routes.len(), n + added.len());
    assert_eq!(app.fresh.len(), super::rows::FRESH_MAX);
    let last = app.net.routes.line(app.net.routes.len() - 1).unwrap();
    assert_eq!(app.fresh.last(), Some(&(last, t0)));
    let s = super::view_tests::screen(&app, 120, 40);
    let title = format!("routes 1-17/{} ", n + added.len());
    assert!(s.contains(&title), "{title}: {s}");
}
