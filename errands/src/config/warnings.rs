//! What `inject check` warns about without refusing the config: things
//! that are legal, or that depend on the host the check runs on.
//!
//! - A gateway outside the block of the network's ip/netmask: some clouds
//!   give a /32 (or /128) with an on-link gateway beyond it on purpose, so
//!   this is no error; elsewhere it is a typo that leaves the route
//!   unreachable. An IPv6 link-local gateway (`fe80::…`, what router
//!   advertisements give) is always reachable on the link and not warned.
//! - A `user:` with no account on this host: the run would refuse to start
//!   here. On a workstation checking a config for a VM it may be expected,
//!   hence a warning, not an error.

use std::net::IpAddr;

use super::addresses::{prefix_len, same_block};
use super::Config;

/// One line per warning, led by the field path
/// (`networks.public.gateway: …`, `commands[2].user: …`).
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, network) in &config.networks {
        let parse = |v: &Option<String>| v.as_deref().and_then(|t| t.parse::<IpAddr>().ok());
        let (Some(ip), Some(gateway), Some(mask)) = (
            parse(&network.ip),
            parse(&network.gateway),
            parse(&network.netmask),
        ) else {
            continue;
        };
        let link_local = matches!(gateway, IpAddr::V6(g) if g.segments()[0] & 0xffc0 == 0xfe80);
        let len = prefix_len(mask);
        if !link_local && !same_block(ip, gateway, len) {
            out.push(format!(
                "networks.{name}.gateway: {gateway} is outside {ip}/{len}; \
                 a route via it works only if the gateway is on-link by other means"
            ));
        }
    }
    for (i, command) in config.commands.iter().enumerate() {
        let Some(user) = &command.user else { continue };
        match nix::unistd::User::from_name(user) {
            Ok(Some(_)) => {}
            Ok(None) => out.push(format!(
                "commands[{i}].user: no user `{user}` on this host; command `{}` would not start here",
                command.name
            )),
            Err(err) => out.push(format!(
                "commands[{i}].user: cannot look up `{user}` on this host: {err}"
            )),
        }
    }
    out
}
