//! Whole screens drawn with ratatui's TestBackend from fixture snapshots,
//! compared with reviewed insta snapshots (in `snapshots/`).

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::Terminal;

use super::app::{App, Focus, Overlay, Running};
use super::fixtures::{
    big_app, both_missing_app, long_addresses_app, seed_vm_app, seed_vm_fixed_app, seed_vm_kept_app,
};
use super::theme::Theme;
use super::views::render;

fn draw(app: &App, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(f, app, theme)).unwrap();
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row, trailing blanks kept so widths show.
fn text(buf: &Buffer) -> String {
    let w = buf.area.width as usize;
    buf.content()
        .chunks(w)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn screen(app: &App, w: u16, h: u16) -> String {
    text(&draw(app, &Theme::color(), w, h))
}

#[test]
fn seed_vm_before_fix_120x40() {
    let s = screen(&seed_vm_app(), 120, 40);
    assert!(s.contains("IPv4: default via 10.0.250.1 dev eth0"));
    assert!(s.contains("IPv6: no default route"));
    insta::assert_snapshot!(s);
}

#[test]
fn seed_vm_after_fix_120x40() {
    let s = screen(&seed_vm_fixed_app(), 120, 40);
    assert!(s.contains("IPv6: default via 2001:db8:69f5::1 dev eth1"));
    assert!(s.contains("default via 2001:db8:69f5::1 dev eth1 proto static metric 1024"));
    assert!(!s.contains("no default route"));
    insta::assert_snapshot!(s);
}

#[test]
fn seed_vm_before_fix_80x24() {
    let s = screen(&seed_vm_app(), 80, 24);
    assert!(s.contains("IPv6: no default route"));
    assert!(s.contains("eth1"));
    insta::assert_snapshot!(s);
}

#[test]
fn seed_vm_after_fix_80x24() {
    insta::assert_snapshot!(screen(&seed_vm_fixed_app(), 80, 24));
}

#[test]
fn too_small_says_so() {
    let s = screen(&seed_vm_app(), 30, 8);
    assert!(s.contains("window too small"));
    insta::assert_snapshot!(s);
}

#[test]
fn help_overlay_lists_every_binding() {
    let mut app = seed_vm_app();
    app.overlay = Some(Overlay::Help);
    let s = screen(&app, 120, 40);
    for (keys, what) in super::views::help::BINDINGS {
        assert!(s.contains(keys) && s.contains(what), "help lacks {keys}");
    }
    insta::assert_snapshot!(s);
}

#[test]
fn confirmation_shows_the_exact_command_and_guard() {
    let mut app = seed_vm_app();
    app.overlay = Some(Overlay::Confirm(0));
    let s = screen(&app, 120, 40);
    assert!(s.contains(r#"ip -6 route add default via "$INJECT_NET_IPV6_NET_GATEWAY" dev eth1"#));
    assert!(s.contains("ip -6 route show default | grep -q default"));
    assert!(
        s.contains("INJECT_NET_IPV6_NET_GATEWAY=2001:db8:69f5::1"),
        "{s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn confirmation_of_a_sensitive_command_is_redacted() {
    let mut app = seed_vm_app();
    app.overlay = Some(Overlay::Confirm(2));
    let s = screen(&app, 80, 24);
    assert!(s.contains(super::rows::REDACTED));
    assert!(s.contains("sensitive"));
    assert!(!s.contains("s3cr3t"), "{s}");
}

#[test]
fn plan_overlay_shows_the_dry_run() {
    let mut app = seed_vm_app();
    app.overlay = Some(Overlay::Plan {
        index: 0,
        scroll: 0,
    });
    let s = screen(&app, 120, 40);
    for line in &app.commands[0].plan {
        assert!(s.contains(line.trim()), "plan lacks {line}");
    }
    insta::assert_snapshot!(s);
}

#[test]
fn output_marks_stdout_stderr_and_the_runners_notes() {
    use super::display::{OutLine, OutStream};
    let mut app = seed_vm_app();
    app.commands[0].output = vec![
        OutLine {
            stream: OutStream::Stdout,
            text: "to stdout".into(),
        },
        OutLine {
            stream: OutStream::Stderr,
            text: "to stderr".into(),
        },
        OutLine {
            stream: OutStream::Info,
            text: "failed in 1.0s".into(),
        },
    ];
    let s = screen(&app, 120, 40);
    assert!(s.contains("out│to stdout"), "{s}");
    assert!(s.contains("err│to stderr"));
    assert!(s.contains("··· failed in 1.0s"));
}

#[test]
fn no_config_still_shows_the_network() {
    let mut app = seed_vm_app();
    app.commands.clear();
    app.config_note = "no config at /nonexistent.yml".into();
    let s = screen(&app, 80, 24);
    assert!(s.contains("no commands are configured"));
    assert!(s.contains("eth0") && s.contains("IPv6: no default route"));
}

#[test]
fn focused_panel_is_drawn_heavier() {
    let mut app = seed_vm_app();
    app.focus = Focus::Routes;
    let s = screen(&app, 120, 40);
    assert!(s.contains("┏ routes"), "{s}");
    assert!(s.contains("┌ commands"));
}

#[test]
fn no_color_uses_modifiers_only() {
    let mut app = seed_vm_fixed_app();
    app.overlay = None;
    let buf = draw(&app, &Theme::no_color(), 120, 40);
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "colour at {:?}", cell.symbol());
        assert_eq!(cell.bg, Color::Reset);
    }
    // Meaning survives without colour: the selected command is reversed.
    let marker = buf.content().iter().find(|c| c.symbol() == "▶").unwrap();
    assert!(marker.modifier.contains(ratatui::style::Modifier::REVERSED));
    insta::assert_debug_snapshot!(buf);
}

#[test]
fn ten_thousand_routes_draw_only_what_fits() {
    let mut app = big_app(100, 10_000);
    app.focus = Focus::Routes;
    app.scroll.routes = 5_000;
    let s = screen(&app, 120, 40);
    assert!(s.contains("routes 5001-"), "{s}");
    let total = format!("/{}", app.net.routes.len());
    assert!(app.net.routes.len() > 10_000);
    assert!(s.contains(&total), "{s}");
}

#[test]
fn a_default_only_through_a_down_link_is_not_shown_as_fine() {
    let mut app = seed_vm_app();
    app.net = super::rows::net_view(&inject_net::fixtures::down_interface(), &Default::default());
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("✗ IPv4: no usable default route (default via 10.0.251.1 dev eth1 is down)"),
        "{s}"
    );
    assert!(!s.contains("✓ IPv4"), "one family, ✓ and ✗ at once: {s}");
}

#[test]
fn huge_plans_and_commands_open_windows_without_overflow() {
    let mut app = seed_vm_app();
    // 65_534 lines + 2 borders overflowed a u16 (a panic in debug builds).
    app.commands[0].plan = (0..65_534).map(|i| format!("step {i}")).collect();
    app.overlay = Some(Overlay::Plan {
        index: 0,
        scroll: 0,
    });
    let s = screen(&app, 80, 24);
    assert!(s.contains("step 0"), "{s}");
    app.commands[0].vars = (0..65_534).map(|i| format!("V{i}=x")).collect();
    app.overlay = Some(Overlay::Confirm(0));
    let s = screen(&app, 80, 24);
    assert!(s.contains("V0=x"), "{s}");
}

#[test]
fn quitting_while_a_command_runs_asks_first() {
    let mut app = seed_vm_app();
    app.overlay = Some(Overlay::ConfirmQuit);
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("a command is running: quit and stop it? y/n"),
        "{s}"
    );
}

#[test]
fn the_footer_colours_a_message_by_its_level_not_its_words() {
    use super::app::Level;
    let theme = Theme::color();
    let colour_of = |level: Level| {
        let mut app = seed_vm_app();
        app.say(level, "netlink said no");
        let buf = draw(&app, &theme, 120, 40);
        let row = buf.area.height - 1;
        buf[(0, row)].fg
    };
    assert_eq!(colour_of(Level::Error), theme.error.fg.unwrap());
    assert_eq!(colour_of(Level::Warn), theme.warn.fg.unwrap());
    assert_eq!(colour_of(Level::Info), theme.info.fg.unwrap());
}

/// The commands panel alone, cut from a 120x40 screen.
fn commands_panel(app: &App) -> String {
    let (w, h) = (120, 40);
    let buf = draw(app, &Theme::color(), w, h);
    let area = super::views::layout(app, Rect::new(0, 0, w, h))
        .unwrap()
        .commands
        .unwrap();
    (area.y..area.bottom())
        .map(|y| {
            (area.x..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn commands_kept_by_ensure_say_so_and_when_it_acted() {
    let app = seed_vm_kept_app();
    let panel = commands_panel(&app);
    assert!(panel.contains("↳ kept by ensure"), "{panel}");
    insta::assert_snapshot!(panel);
}

#[test]
fn kept_commands_scroll_with_both_lines_in_view() {
    let mut app = seed_vm_kept_app();
    let w = 120;
    // The height at which the commands panel has room for 3 lines.
    let h = (14..60)
        .find(|&h| {
            super::views::layout(&app, Rect::new(0, 0, w, h))
                .and_then(|a| a.commands)
                .is_some_and(|area| super::layout::inner_rows(area, true) == 3)
        })
        .expect("a height with room for 3 lines");
    app.size = (w, h);
    // The last command is selected: both its lines show, with the one
    // above it; the first (two lines) scrolls off.
    app.selected = 2;
    let s = screen(&app, w, h);
    assert!(s.contains("  show-ipv6-routes"), "{s}");
    assert!(s.contains("▶ register-with-vault"), "{s}");
    assert!(
        s.lines()
            .any(|l| l.contains("failing") && l.contains("20s ago")),
        "{s}"
    );
    assert!(!s.contains("ipv6-default-route  "), "{s}");
}

/// What every size must show with both defaults missing: both families'
/// findings, the IPv6 hint's command whole, and the configured fix.
fn assert_findings_first(s: &str) {
    assert!(s.contains("✗ IPv4: no default route"), "{s}");
    assert!(s.contains("✗ IPv6: no default route"), "{s}");
    assert!(s.contains("f runs ipv6-default-route"), "{s}");
    // The hint wraps; its command is whole once the rows are joined.
    let joined: String = s
        .lines()
        .map(|l| l.trim_matches(['│', ' ']))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        joined.contains("ip -6 route add default via 2001:db8:69f5::1 dev eth1")
            || joined.contains("ip -6 route replace default via 2001:db8:69f5::1 dev eth1"),
        "{s}"
    );
    assert!(s.contains("ipv6-default-route"), "the fix's row: {s}");
}

#[test]
fn both_defaults_missing_120x40() {
    let s = screen(&both_missing_app(), 120, 40);
    assert_findings_first(&s);
    insta::assert_snapshot!(s);
}

#[test]
fn both_defaults_missing_80x24() {
    let s = screen(&both_missing_app(), 80, 24);
    assert_findings_first(&s);
    insta::assert_snapshot!(s);
}

#[test]
fn both_defaults_missing_60x15() {
    let s = screen(&both_missing_app(), 60, 15);
    assert_findings_first(&s);
    insta::assert_snapshot!(s);
}

#[test]
fn both_defaults_missing_50x14() {
    let s = screen(&both_missing_app(), 50, 14);
    assert_findings_first(&s);
    insta::assert_snapshot!(s);
}

#[test]
fn findings_stay_at_every_size_in_between() {
    let app = both_missing_app();
    for w in 50..=130 {
        for h in [14, 15, 18, 24, 30] {
            let s = screen(&app, w, h);
            assert!(s.contains("IPv4: no default"), "{w}x{h}: {s}");
            assert!(s.contains("IPv6: no default"), "{w}x{h}: {s}");
            assert!(s.contains("f runs ipv6-default-route"), "{w}x{h}: {s}");
        }
    }
}

/// Every value the tables show is whole or ends in `…`: never a shorter
/// value that reads as valid.
#[test]
fn long_addresses_are_elided_never_cut_to_another_value() {
    let app = long_addresses_app();
    for (w, h) in [(120, 40), (80, 24), (60, 15), (50, 14)] {
        let s = screen(&app, w, h);
        for word in s.split(|c: char| c.is_whitespace() || c == '│' || c == '┃') {
            let looks_like_address = word.contains('/') && word.contains(['.', ':']);
            // A cut address keeps its prefix whole: `192.168.10…/24`.
            if let Some((addr, prefix)) = word.split_once("…/") {
                assert!(
                    ["8", "128", "24", "64"].contains(&prefix) && !addr.is_empty(),
                    "{w}x{h}: `{word}`: {s}"
                );
                continue;
            }
            assert!(
                !word.contains("/2…") && !word.contains("/6…"),
                "{w}x{h}: {s}"
            );
            if looks_like_address && !word.ends_with('…') {
                assert!(
                    [
                        "127.0.0.1/8",
                        "::1/128",
                        "10.0.250.10/24",
                        "2001:db8:1234:5678:9abc:def0:1234:5678/64",
                        "fe80::2/64",
                        "192.168.100.200/24",
                        "fd12:3456:789a:bcde:f012:3456:789a:bcde/64",
                        "10.0.250.0/24",
                        "192.168.100.0/24",
                        "2001:db8:1234:5678::/64",
                        "fd12:3456:789a:bcde::/64",
                        "fe80::/64",
                    ]
                    .contains(&word),
                    "{w}x{h}: `{word}` is not a value of the fixture: {s}"
                );
            }
        }
        assert!(!s.contains(" 655 ") && !s.contains("6553 "), "{w}x{h}: {s}");
    }
}

#[test]
fn long_addresses_120x40() {
    insta::assert_snapshot!(screen(&long_addresses_app(), 120, 40));
}

#[test]
fn long_addresses_80x24() {
    insta::assert_snapshot!(screen(&long_addresses_app(), 80, 24));
}

#[test]
fn long_addresses_60x15() {
    insta::assert_snapshot!(screen(&long_addresses_app(), 60, 15));
}

#[test]
fn long_addresses_50x14() {
    insta::assert_snapshot!(screen(&long_addresses_app(), 50, 14));
}

#[test]
fn ascii_theme_draws_no_box_lines() {
    let s = text(&draw(
        &both_missing_app(),
        &Theme::no_color().ascii(),
        80,
        24,
    ));
    assert!(s.is_ascii(), "{s}");
    assert!(s.contains("no default route - eth0"), "{s}");
    assert!(s.contains("+ inject"), "{s}");
    assert!(s.contains("x IPv6: no default route"), "{s}");
}

#[test]
fn not_root_says_read_only_from_the_start() {
    let mut app = both_missing_app();
    app.is_root = false;
    let s = screen(&app, 80, 24);
    let footer = s.lines().last().unwrap();
    assert!(footer.starts_with("read-only (not root)"), "{footer}");
}

#[test]
fn a_running_command_shows_a_spinner_and_its_time_so_far() {
    use std::time::{Duration, Instant};
    let mut app = both_missing_app();
    let t0 = Instant::now();
    app.commands[0].state = super::display::CmdState::Running;
    app.running = Some(Running {
        since: Some(t0),
        ..Running::new(0)
    });
    app.clock = Some(t0 + Duration::from_secs(12));
    let s = screen(&app, 120, 40);
    assert!(s.contains("running 12s"), "{s}");
    assert!(
        s.contains("running for 12s, no output yet; x stops it"),
        "{s}"
    );
    assert!(s.contains("x stop"), "the footer names the key: {s}");
    // The spinner moves with the clock.
    let frame = |app: &App| {
        let s = screen(app, 80, 24);
        let at = s.find(" running").unwrap();
        s[..at].chars().last().unwrap()
    };
    let first = frame(&app);
    app.clock = Some(t0 + Duration::from_millis(12_100));
    assert_ne!(frame(&app), first);
    app.overlay = Some(Overlay::ConfirmStop);
    let s = screen(&app, 80, 24);
    assert!(s.contains("stop ipv6-default-route?"), "{s}");
    assert!(s.contains("(running for 12.1s)"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn history_from_the_run_log_says_what_when_and_who() {
    let app = super::fixtures::seed_vm_history_app();
    let s = screen(&app, 120, 40);
    assert!(!s.contains("pending"), "{s}");
    let row = |words: &[&str]| s.lines().any(|l| words.iter().all(|w| l.contains(w)));
    assert!(row(&["ipv6-default-route", " ok ", "3m ensure"]), "{s}");
    assert!(row(&["show-ipv6-routes", " failed ", "13m errand"]), "{s}");
    assert!(row(&["register-with-vault", " ok ", "1d pre-start"]), "{s}");
    assert!(s.contains("ensure ran it 2026-09-21T11:30:05Z"), "{s}");
    assert!(s.contains("ok in 12ms"), "{s}");
    insta::assert_snapshot!(s);
    let s = screen(&app, 80, 24);
    assert!(s.contains("3m ensure"), "{s}");
    insta::assert_snapshot!("history_80x24", s);
}

fn viewer_app() -> App {
    use super::display::{OutLine, OutStream};
    let mut app = seed_vm_app();
    let mut output: Vec<OutLine> = (1..=100)
        .map(|i| OutLine {
            stream: OutStream::Stdout,
            text: format!("line {i}"),
        })
        .collect();
    output.push(OutLine {
        stream: OutStream::Stdout,
        text: "\u{1b}[31mred\u{1b}[0m\tafter a tab".into(),
    });
    output.push(OutLine {
        stream: OutStream::Stderr,
        text: "the error at the end".into(),
    });
    app.commands[0].output = output;
    app.size = (80, 24);
    assert!(super::update(
        &mut app,
        super::Event::key(crossterm::event::KeyCode::Char('o'))
    )
    .is_empty());
    app
}

#[test]
fn the_output_viewer_follows_the_end_with_colours_and_tabs() {
    let app = viewer_app();
    let buf = draw(&app, &Theme::color(), 80, 24);
    let s = text(&buf);
    assert!(s.contains("the error at the end"), "{s}");
    assert!(
        s.contains("red     after a tab"),
        "tab to column 8, no escape codes: {s}"
    );
    assert!(!s.contains("[31m"), "{s}");
    assert!(
        s.contains("output: ipv6-default-route · never run · 82-102/102 · following"),
        "{s}"
    );
    // The colour is drawn: `red` in red.
    let row = s.lines().position(|l| l.contains("red     after")).unwrap() as u16;
    assert_eq!(buf[(1, row)].fg, ratatui::style::Color::Red);
    insta::assert_snapshot!(s);
    // Without colour, the same characters and no colour.
    let buf = draw(&app, &Theme::no_color(), 80, 24);
    assert_eq!(buf[(1, row)].fg, ratatui::style::Color::Reset);
    assert!(text(&buf).contains("red     after a tab"));
}

#[test]
fn the_output_viewer_goes_home_searches_and_wraps() {
    use crossterm::event::KeyCode;
    let mut app = viewer_app();
    // Each key, then the filter's search to its end, as the loop takes it
    // while no key waits.
    let key = |app: &mut App, code| {
        super::update(app, super::Event::key(code));
        while app.filtering() {
            app.advance_filter();
        }
    };
    key(&mut app, KeyCode::Char('g'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("│line 1 "), "{s}");
    assert!(!s.contains("following"), "{s}");
    key(&mut app, KeyCode::Char('/'));
    for c in "line 50".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let s = screen(&app, 80, 24);
    assert!(s.contains("/line 50  Enter searches"), "{s}");
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 80, 24);
    assert!(s.contains("│line 48 "), "the match near the top: {s}");
    key(&mut app, KeyCode::Char('G'));
    key(&mut app, KeyCode::Char('w'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("· wrap"), "{s}");
    key(&mut app, KeyCode::Esc);
    assert!(app.viewer.is_none(), "Esc closes the viewer");
    assert!(!app.quit, "and never quits");
}

#[test]
fn routes_filter_by_text_and_family_with_a_count() {
    use crossterm::event::KeyCode;
    let mut app = big_app(10, 2_000);
    // Each key, then the filter's search to its end, as the loop takes it
    // while no key waits.
    let key = |app: &mut App, code| {
        super::update(app, super::Event::key(code));
        while app.filtering() {
            app.advance_filter();
        }
    };
    key(&mut app, KeyCode::Char('/'));
    assert_eq!(app.focus, Focus::Routes);
    for c in "dev eth3 ".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let s = screen(&app, 120, 40);
    assert!(s.contains("/dev eth3   (Enter keeps, Esc clears)"), "{s}");
    // It filters as it is typed.
    let typed = app.routes_shown();
    assert!(typed < app.net.routes.len(), "{s}");
    assert!(s.contains("matching \"dev eth3 \""), "{s}");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.routes_shown(), typed);
    let s = screen(&app, 120, 40);
    let total = app.net.routes.len();
    let matching = app.routes_shown();
    assert!(matching > 0 && matching < total);
    assert!(
        s.contains(&format!("/{matching} matching \"dev eth3 \" of {total}")),
        "{s}"
    );
    for line in s
        .lines()
        .filter(|l| l.contains(" via ") && !l.contains("IPv"))
    {
        assert!(
            line.contains("dev eth3 ") || !line.contains("dev eth"),
            "{line}"
        );
    }
    key(&mut app, KeyCode::Char('6'));
    assert!(app.routes_shown() <= matching);
    assert!(screen(&app, 120, 40).contains(" IPv6 matching"));
    key(&mut app, KeyCode::Char('6'));
    assert_eq!(app.routes_shown(), matching, "6 again shows both");
    key(&mut app, KeyCode::Char('/'));
    for _ in 0.."dev eth3 ".len() {
        key(&mut app, KeyCode::Backspace);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.routes_shown(), total, "an empty filter shows all");
}

#[test]
fn the_confirmation_says_retries_and_the_plan_says_what_is_hidden() {
    let mut app = seed_vm_app();
    app.commands[0].retries = 2;
    app.commands[0].retry_delay = std::time::Duration::from_secs(2);
    app.overlay = Some(Overlay::Confirm(0));
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("retries  2 more times after a failure, 2s apart"),
        "{s}"
    );
    app.commands[0].plan = (0..100).map(|i| format!("step {i}")).collect();
    app.overlay = Some(Overlay::Plan {
        index: 0,
        scroll: 10,
    });
    let s = screen(&app, 80, 24);
    assert!(s.contains("· ↑ 10 more · ↓ 72 more ·"), "{s}");
}

#[test]
fn a_new_route_is_drawn_reversed_and_the_banner_says_when_it_changed() {
    let mut app = seed_vm_fixed_app();
    let line = "default via 2001:db8:69f5::1 dev eth1 proto static metric 1024";
    let t = humantime::parse_rfc3339("2026-12-03T04:19:19Z").unwrap();
    app.fresh = vec![(line.to_string(), t)];
    app.updated = Some(t);
    let buf = draw(&app, &Theme::color(), 120, 40);
    let s = text(&buf);
    assert!(s.contains("updated 04:19:19"), "{s}");
    let row = s.lines().position(|l| l.contains(line)).unwrap() as u16;
    let x = s
        .lines()
        .nth(row as usize)
        .unwrap()
        .chars()
        .take_while(|c| *c != 'd')
        .count() as u16;
    assert!(buf[(x, row)]
        .modifier
        .contains(ratatui::style::Modifier::REVERSED));
}

#[test]
fn d_shows_only_the_defaults_and_esc_clears_the_filters() {
    use crossterm::event::KeyCode;
    let mut app = big_app(10, 2_000);
    // Each key, then the filter's search to its end, as the loop takes it
    // while no key waits.
    let key = |app: &mut App, code| {
        super::update(app, super::Event::key(code));
        while app.filtering() {
            app.advance_filter();
        }
    };
    key(&mut app, KeyCode::Char('d'));
    let s = screen(&app, 120, 40);
    assert_eq!(app.routes_shown(), 2, "{s}");
    assert!(s.contains("routes (2) defaults"), "{s}");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.routes_shown(), app.net.routes.len());
    assert_eq!(app.message_text(), Some("routes: filters cleared"));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.message_text(), Some(super::app::ESC_SAYS));
}

#[test]
fn help_scrolls_on_a_small_screen_to_its_last_line() {
    use crossterm::event::KeyCode;
    let mut app = seed_vm_app();
    super::update(&mut app, super::Event::key(KeyCode::Char('?')));
    let s = screen(&app, 50, 14);
    assert!(s.contains("↑↓ scroll"), "{s}");
    assert!(s.contains("Enter"), "{s}");
    for _ in 0..3 {
        super::update(&mut app, super::Event::key(KeyCode::PageDown));
    }
    let s = screen(&app, 50, 14);
    assert!(s.contains("The view follows netlink"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn the_confirmation_keeps_its_answers_in_view_at_50x14_and_60x15() {
    for (w, h) in [(50, 14), (60, 15), (80, 24)] {
        let mut app = seed_vm_app();
        app.commands[0].run = format!("ip -6 route replace default {}", "via x ".repeat(60));
        app.overlay = Some(Overlay::Confirm(0));
        let s = screen(&app, w, h);
        assert!(s.contains("y run it"), "{w}x{h}:\n{s}");
        assert!(s.contains("Esc cancel"), "{w}x{h}:\n{s}");
        assert!(s.contains('…'), "{w}x{h}: a cut says so:\n{s}");
        if (w, h) == (50, 14) {
            insta::assert_snapshot!(s);
        }
    }
}

#[test]
fn a_broken_config_keeps_its_reason_in_view_at_50x14() {
    let mut app = seed_vm_app();
    app.commands.clear();
    app.config_error = Some(
        "/var/vcap/jobs/inject-commands/config/commands.yml:7:5: commands[1].fixes: unknown finding code `gateway_down`".into(),
    );
    let s = screen(&app, 50, 14);
    let flat: String = s
        .lines()
        .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("unknown finding code"), "{s}");
    assert!(flat.contains("`gateway_down`"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn the_viewer_says_whether_the_command_runs_or_how_it_ended() {
    let mut app = viewer_app();
    app.commands[0].state = super::display::CmdState::Failed;
    app.commands[0].last_duration = Some(std::time::Duration::from_secs(2));
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("output: ipv6-default-route · failed in 2s ·"),
        "{s}"
    );
    app.running = Some(Running::new(0));
    let s = screen(&app, 80, 24);
    assert!(s.contains("output: ipv6-default-route · running ·"), "{s}");
}

/// The bottom line of the screen, blanks trimmed.
fn footer(app: &App, w: u16, h: u16) -> String {
    let s = screen(app, w, h);
    s.lines().last().unwrap_or_default().trim_end().to_string()
}

fn press(app: &mut App, code: crossterm::event::KeyCode) {
    super::app::update(app, super::event::Event::key(code));
}

#[test]
fn the_footer_shows_the_focused_panels_keys_at_50x14() {
    use crossterm::event::KeyCode;
    // (panel, keys it must offer, keys of other panels it must not)
    let cases: [(Focus, &[&str], &[&str]); 4] = [
        (
            Focus::Commands,
            &["↑↓ select", "Enter run", "o output"],
            &["/ filter", "scroll"],
        ),
        (
            Focus::Output,
            &["↑↓ scroll", "o full screen"],
            &["Enter run", "/ filter"],
        ),
        (
            Focus::Interfaces,
            &["↑↓ scroll"],
            &["Enter run", "o ", "/ filter"],
        ),
        (
            Focus::Routes,
            &["/ filter", "4 6 family", "d defaults"],
            &["Enter run", "o "],
        ),
    ];
    let mut app = seed_vm_app();
    let mut seen = Vec::new();
    for (focus, offers, lacks) in cases {
        // Reached as the operator does: Tab from the commands.
        while app.focus != focus {
            press(&mut app, KeyCode::Tab);
        }
        let line = footer(&app, 50, 14);
        for want in offers {
            assert!(line.contains(want), "{focus:?}: {line:?} lacks {want:?}");
        }
        for other in lacks {
            assert!(
                !line.contains(other),
                "{focus:?}: {line:?} offers {other:?}"
            );
        }
        assert!(line.ends_with("? help"), "{focus:?}: {line:?}");
        assert!(line.chars().count() <= 50);
        seen.push(format!("{focus:?}: {line}"));
    }
    insta::assert_snapshot!(seen.join("\n"));
}

#[test]
fn the_footer_offers_esc_only_while_the_routes_are_filtered() {
    use crossterm::event::KeyCode;
    let mut app = seed_vm_app();
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(app.focus, Focus::Routes);
    let line = footer(&app, 80, 24);
    assert!(line.contains("Esc clear"), "{line:?}");
    press(&mut app, KeyCode::Esc);
    let line = footer(&app, 80, 24);
    assert!(!line.contains("Esc clear"), "{line:?}");
    assert!(line.contains("/ filter"), "{line:?}");
}

#[test]
fn the_footer_while_typing_a_filter_offers_what_ends_it_not_help() {
    use crossterm::event::KeyCode;
    let mut app = seed_vm_app();
    press(&mut app, KeyCode::Char('/'));
    let line = footer(&app, 50, 14);
    assert!(line.contains("Enter keep  Esc clear"), "{line:?}");
    // `?` would be typed into the filter here: not offered as help.
    assert!(!line.contains("help"), "{line:?}");
    press(&mut app, KeyCode::Enter);
    assert!(footer(&app, 50, 14).ends_with("? help"));
}

#[test]
fn a_long_message_is_cut_and_help_stays_in_the_footer_at_50x14() {
    use super::app::Level;
    let mut app = seed_vm_app();
    app.say(
        Level::Error,
        "ipv6-default-route not run: errand (pid 4242) holds the lock since 04:19:19",
    );
    let line = footer(&app, 50, 14);
    assert!(line.starts_with("ipv6-default-route not run"), "{line:?}");
    assert!(line.contains('…'), "{line:?}");
    assert!(line.ends_with("? help"), "{line:?}");
    assert!(line.chars().count() <= 50, "{line:?}");
}

#[test]
fn a_window_puts_its_own_keys_in_the_footer() {
    let cases = [
        (Overlay::Confirm(0), "y run it  n cancel"),
        (Overlay::ConfirmStop, "y stop it  n let it run"),
        (Overlay::ConfirmQuit, "y quit  n stay"),
        (Overlay::Help, "↑↓ scroll  Esc close"),
        (
            Overlay::Plan {
                index: 0,
                scroll: 0,
            },
            "↑↓ scroll  Esc close",
        ),
    ];
    for (overlay, keys) in cases {
        let mut app = seed_vm_app();
        app.overlay = Some(overlay);
        let line = footer(&app, 80, 24);
        assert_eq!(line, keys, "{overlay:?}");
    }
}

#[test]
fn without_commands_the_footer_offers_no_key_on_a_command() {
    let mut app = seed_vm_app();
    app.commands.clear();
    let line = footer(&app, 80, 24);
    for key in ["Enter run", "o output", "p plan", "↑↓ select"] {
        assert!(!line.contains(key), "{line:?} offers {key:?}");
    }
    assert!(
        line.contains("Tab focus") && line.contains("? help"),
        "{line:?}"
    );
}

/// The first frame of a full table, routes still being read: at every size
/// the banner says so (cut only with `…`), the routes panel too where it
/// has room, and no finding about routes is claimed while they are read.
#[test]
fn reading_routes_is_said_and_claims_nothing_at_every_size() {
    let mut app = seed_vm_app();
    let mut snapshot = inject_net::fixtures::seed_vm();
    snapshot.reading_routes = Some(412_000);
    app.net = super::rows::reading_view(&snapshot);
    for (w, h) in [(50, 14), (60, 15), (80, 24), (120, 40)] {
        let s = screen(&app, w, h);
        assert!(s.contains("reading routes…"), "{w}x{h}:\n{s}");
        assert!(
            s.contains("412 000 so far") || s.contains("412 0…") || s.contains("412…"),
            "{w}x{h}: the count, or a cut with …:\n{s}"
        );
        assert!(!s.contains("no default route"), "{w}x{h}:\n{s}");
        assert!(!s.contains("✓ IPv"), "{w}x{h}:\n{s}");
        if h >= 24 {
            assert!(s.contains("routes: reading… 412 000"), "{w}x{h}:\n{s}");
        }
    }
}
