//! Dashboards built from the net fixtures, for snapshot tests, unit tests
//! and benchmarks: the seed's VM before and after its fix, and big tables.

use std::time::{Duration, SystemTime};

use super::app::App;
use inject_errands::config::{self, Phase};
use inject_errands::ensure::{CommandState, EnsureState};
use inject_errands::plan::describe;

use super::display::{CmdState, CommandRow, NetView, OutLine, OutStream};
use super::rows::{command_row, net_view};
use inject_net::findings::config_gateways;
use inject_net::fixtures;

/// The config the fixtures list: the seed's fix, a harmless look, and a
/// sensitive command (its text must never show).
pub const CONFIG: &str = r#"
commands:
  - name: ipv6-default-route
    run: ip -6 route add default via "$INJECT_NET_IPV6_NET_GATEWAY" dev eth1
    unless: ip -6 route show default | grep -q default
    timeout: 30s
  - name: show-ipv6-routes
    run: ip -6 route show
  - name: register-with-vault
    run: vault write auth/token secret=s3cr3t
    sensitive: true
networks:
  ipv6-net: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
"#;

fn config() -> config::Config {
    config::parse(CONFIG, "commands.yml").expect("fixture config is valid")
}

/// The rows of [`CONFIG`], with their real dry-run plans.
pub fn commands() -> Vec<CommandRow> {
    let config = config();
    let total = config.commands.len();
    config
        .commands
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let plan = describe(&config, spec, Phase::Errand, i + 1, total);
            command_row(&config, spec, plan)
        })
        .collect()
}

/// The seed's VM as first seen: IPv6 flagged, the fix pending.
pub fn seed_vm_app() -> App {
    let mut app = App::new(NetView::default(), commands(), "config: commands.yml");
    app.expected = config_gateways(&config());
    app.set_snapshot(fixtures::seed_vm());
    app
}

/// The seed's VM after the fix ran from the dashboard.
pub fn seed_vm_fixed_app() -> App {
    let mut app = seed_vm_app();
    app.set_snapshot(fixtures::seed_vm_fixed());
    let c = &mut app.commands[0];
    c.state = CmdState::Ok;
    c.last_duration = Some(Duration::from_millis(12));
    c.output = vec![OutLine {
        stream: OutStream::Info,
        text: "ok in 12ms".into(),
    }];
    app.say(super::app::Level::Info, "ipv6-default-route: ok in 12ms");
    app
}

/// `links` interfaces and `routes` routes, for the render benchmark.
pub fn big_app(links: u32, routes: u32) -> App {
    App::new(
        net_view(&fixtures::many_routes(links, routes), &Default::default()),
        commands(),
        "config: commands.yml",
    )
}

/// When the fixtures' ensure state was read.
pub fn ensure_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// A running `inject ensure` keeping two of [`CONFIG`]'s commands: the
/// IPv6 default route, restored 3 minutes before [`ensure_now`], and the
/// vault registration, failing twice in a row; it keeps one command the
/// config no longer has.
pub fn ensure_state() -> EnsureState {
    let now = ensure_now();
    let ago = |s| Some(now - Duration::from_secs(s));
    let command = |name: &str, acted: Option<SystemTime>, failures| CommandState {
        name: name.into(),
        verdict: None,
        last_check: ago(5),
        last_action: acted,
        last_outcome: None,
        failures,
        next_check: None,
    };
    EnsureState {
        pid: 4242,
        started: now - Duration::from_secs(3600),
        updated: now - Duration::from_secs(5),
        stopped: None,
        interval_secs: 60.0,
        commands: vec![
            command("ipv6-default-route", ago(185), 0),
            command("register-with-vault", ago(20), 2),
            command("gone-from-config", None, 0),
        ],
    }
}

/// The seed's VM while ensure keeps its commands ([`ensure_state`]).
pub fn seed_vm_kept_app() -> App {
    let mut app = seed_vm_app();
    super::app::update(
        &mut app,
        super::event::Event::Ensure {
            state: Some(ensure_state()),
            now: ensure_now(),
        },
    );
    app
}

/// The seed's VM with neither default route: both families flagged, the
/// IPv6 one with its configured fix.
pub fn both_missing_app() -> App {
    use inject_net::model::Scope;
    let (ll0, ll1) = (fixtures::link_local(2), fixtures::link_local(3));
    let snapshot = fixtures::build(
        vec![fixtures::ethernet(2, "eth0"), fixtures::ethernet(3, "eth1")],
        vec![
            fixtures::address(2, "10.0.250.10/24", Scope::GLOBAL),
            ll0,
            fixtures::address(3, "2001:db8:69f5::10/64", Scope::GLOBAL),
            ll1,
        ],
        vec![],
    );
    let mut app = App::new(
        NetView::default(),
        commands(),
        "config: /var/vcap/jobs/inject/config/commands.yml",
    );
    // The IPv4 gateway as BOSH would name it in `networks:` too.
    app.expected = config_gateways(&config());
    let v4 = inject_net::findings::Expected::with_gateways(&["10.0.250.1"
        .parse()
        .expect("fixture gateway")]);
    app.expected.networks.extend(v4.networks);
    app.set_snapshot(snapshot);
    app
}

/// The seed's VM with long addresses, several per interface, and a long
/// interface name: what tables must elide without changing a value.
pub fn long_addresses_app() -> App {
    use inject_net::model::Scope;
    let ll0 = fixtures::link_local(2);
    let snapshot = fixtures::build(
        vec![
            fixtures::ethernet(2, "eth0"),
            fixtures::ethernet(3, "enp0s31f6-uplnk"),
        ],
        vec![
            fixtures::address(2, "10.0.250.10/24", Scope::GLOBAL),
            fixtures::address(
                2,
                "2001:db8:1234:5678:9abc:def0:1234:5678/64",
                Scope::GLOBAL,
            ),
            ll0,
            fixtures::address(3, "192.168.100.200/24", Scope::GLOBAL),
            fixtures::address(
                3,
                "fd12:3456:789a:bcde:f012:3456:789a:bcde/64",
                Scope::GLOBAL,
            ),
        ],
        vec![
            fixtures::default_route("10.0.250.1", 2, inject_net::model::Protocol::BOOT, None),
            fixtures::default_route(
                "2001:db8:1234:5678::1",
                2,
                inject_net::model::Protocol::STATIC,
                Some(1024),
            ),
        ],
    );
    // No expected networks: the addresses here are not the config's, and
    // this fixture is about the tables, not a lost address.
    let mut app = App::new(NetView::default(), commands(), "config: commands.yml");
    app.set_snapshot(snapshot);
    app
}

/// A run log with a result for each of [`CONFIG`]'s commands, from three
/// sources: ensure, an errand, pre-start (and an older dashboard run).
pub const RUN_LOG: &str = r#"{"attempts":1,"command":"ipv6-default-route","duration":0.02,"event":"finished","index":1,"name":"ipv6-default-route","outcome":{"result":"ok"},"phase":"errand","source":"dashboard","run":"2026-09-21T10:00:00Z-77-1","time":"2026-09-21T10:00:00.020Z"}
{"attempts":1,"command":"ipv6-default-route","duration":0.012,"event":"finished","index":1,"name":"ipv6-default-route","outcome":{"result":"ok"},"phase":"ensure","source":"ensure","run":"2026-09-21T11:00:00Z-88","time":"2026-09-21T11:30:05.000Z"}
{"attempts":1,"command":"show-ipv6-routes","duration":0.4,"event":"finished","index":2,"name":"show-ipv6-routes","outcome":{"exit_code":1,"result":"failed","signal":null},"phase":"errand","source":"errand","run":"2026-09-21T11:20:00Z-99","time":"2026-09-21T11:20:00.400Z"}
{"attempts":1,"command":"register-with-vault","duration":2.5,"event":"finished","index":3,"name":"register-with-vault","outcome":{"result":"ok"},"phase":"pre-start","run":"2026-09-20T09:00:00Z-5","time":"2026-09-20T09:00:02.500Z"}
"#;

/// The seed's VM after a restart of the dashboard: every command's last
/// result from [`RUN_LOG`], read at 11:33:10.
pub fn seed_vm_history_app() -> App {
    let mut app = seed_vm_app();
    let history = super::history::parse(RUN_LOG)
        .into_iter()
        .map(|(name, (past, _, _))| (name, past))
        .collect();
    let now = humantime::parse_rfc3339("2026-09-21T11:33:10Z").expect("fixture time");
    app.set_history(history, now);
    app
}
