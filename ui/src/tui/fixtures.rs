//! Dashboards built from the net fixtures, for snapshot tests, unit tests
//! and benchmarks: the seed's VM before and after its fix, and big tables.

use std::time::Duration;

use super::app::App;
use inject_errands::config::{self, Phase};
use inject_errands::plan::describe;

use super::convert::{command_row, net_view};
use super::model::{CmdState, CommandRow, OutLine, OutStream};
use crate::net::findings::config_gateways;
use crate::net::fixtures;

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
    App::new(
        net_view(&fixtures::seed_vm(), &config_gateways(&config())),
        commands(),
        "config: commands.yml",
    )
}

/// The seed's VM after the fix ran from the dashboard.
pub fn seed_vm_fixed_app() -> App {
    let mut app = seed_vm_app();
    app.net = net_view(&fixtures::seed_vm_fixed(), &config_gateways(&config()));
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
        net_view(&fixtures::many_routes(links, routes), &[]),
        commands(),
        "config: commands.yml",
    )
}
