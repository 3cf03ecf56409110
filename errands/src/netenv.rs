//! The networks' variables: what every command (run, guards, ensure, the
//! dashboard, the dry run) finds in its environment. Which names a config
//! provides, and the load-time check that a command uses none it does not,
//! are `config::variables`' (re-exported here).
//!
//! Per network `INJECT_NET_<NAME>_{IP,GATEWAY,NETMASK,PREFIX,FAMILY,INTERFACE}`;
//! per family with exactly one network the same values as
//! `INJECT_IPV4_*` / `INJECT_IPV6_*` plus `_NETWORK` (its name), so a
//! command works whatever the network is called. `_INTERFACE` is the
//! interface that holds the network's IP when the command starts: errands
//! knows nothing of netlink, so the caller hands in an [`Interfaces`]
//! lookup (the binary's reads the kernel's address table).

use std::collections::BTreeMap;

use crate::config::variables::{network_prefix, why_unprovided};
use crate::config::{env_name, CommandSpec, Config, Network};

pub use crate::config::variables::{
    by_family, first_unprovided, references, used_by, Reference, Unprovided, FIELDS,
};
pub use crate::family::Family;
pub use crate::interfaces::{HolderLookup, Interfaces};

impl Config {
    /// The networks' variables as they are now (`_INTERFACE` looked up):
    /// `INJECT_NET_<NAME>_*` per network, then the family aliases
    /// `INJECT_IPV4_*` / `INJECT_IPV6_*`.
    pub fn network_env(&self) -> Vec<(String, String)> {
        env(self)
    }
}

/// One variable of the networks: its value now, or why it is unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetVar {
    pub name: String,
    pub value: Result<String, String>,
}

/// A field of a network (`IP`, `INTERFACE`…) and its value or why it is unset.
type Field = (&'static str, Result<String, String>);

/// Every network variable, set or not, in a stable order: each network's
/// (name order), then the family aliases. `_INTERFACE` is looked up now,
/// once for all networks.
pub fn variables(config: &Config) -> Vec<NetVar> {
    let needs_lookup = config
        .networks
        .values()
        .any(|n| n.address().is_some() && !n.is_delegated_prefix());
    let holders = if needs_lookup {
        Some(config.interfaces.holders())
    } else {
        None
    };
    let interface_of = |name: &str, net: &Network| -> Option<Result<String, String>> {
        let ip = net.address()?;
        if net.is_delegated_prefix() {
            return Some(Err(format!(
                "{ip}/{} of network `{name}` is a delegated prefix, not an address of an interface",
                net.prefix.unwrap_or_default()
            )));
        }
        Some(match holders.as_ref()? {
            Err(why) => Err(format!("cannot tell which interface holds {ip}: {why}")),
            Ok(list) => match list.iter().find(|(a, _)| *a == ip) {
                Some((_, iface)) => Ok(iface.clone()),
                None => Err(format!(
                    "{ip} (network `{name}`) is on no interface of this host now"
                )),
            },
        })
    };
    let mut vars = Vec::new();
    let mut per_network: BTreeMap<&str, Vec<Field>> = BTreeMap::new();
    for (name, net) in &config.networks {
        let prefix = format!("INJECT_NET_{}", env_name(name));
        let mut fields: Vec<Field> = net.fields().into_iter().map(|(f, v)| (f, Ok(v))).collect();
        if let Some(iface) = interface_of(name, net) {
            fields.push(("INTERFACE", iface));
        }
        for (field, value) in &fields {
            vars.push(NetVar {
                name: format!("{prefix}_{field}"),
                value: value.clone(),
            });
        }
        per_network.insert(name.as_str(), fields);
    }
    for (family, names) in by_family(config) {
        let alias = family.alias();
        if let [only] = names[..] {
            vars.push(NetVar {
                name: format!("{alias}_NETWORK"),
                value: Ok(only.to_string()),
            });
            for (field, value) in &per_network[only] {
                vars.push(NetVar {
                    name: format!("{alias}_{field}"),
                    value: value.clone(),
                });
            }
        }
    }
    vars
}

/// For one command, from one lookup: the networks' variables it gets, and
/// those it uses that are unset now, with why (the runner says so before
/// the command runs, since the shell would just expand them to nothing).
pub fn for_command(config: &Config, command: &CommandSpec) -> ForCommand {
    let vars = variables(config);
    let used = used_by(command);
    let mut unset = Vec::new();
    for r in used.iter().filter(|r| !r.optional) {
        if let Some(NetVar {
            value: Err(why), ..
        }) = vars.iter().find(|v| v.name == r.name)
        {
            unset.push((r.name.clone(), why.clone()));
        }
    }
    let env = vars
        .into_iter()
        .filter_map(|v| Some((v.name, v.value.ok()?)))
        .collect();
    ForCommand { env, unset }
}

/// [`for_command`]'s answer.
pub struct ForCommand {
    /// The set variables (name, value).
    pub env: Vec<(String, String)>,
    /// The unset variables the command uses (name, why).
    pub unset: Vec<(String, String)>,
}

/// What a command's environment gets from the networks: the set variables.
pub fn env(config: &Config) -> Vec<(String, String)> {
    variables(config)
        .into_iter()
        .filter_map(|v| Some((v.name, v.value.ok()?)))
        .collect()
}

/// Notes for `inject check`: a family with two networks has no alias.
pub fn notes(config: &Config) -> Vec<String> {
    by_family(config)
        .into_iter()
        .filter(|(_, nets)| nets.len() > 1)
        .map(|(family, nets)| {
            let instead: Vec<String> = nets
                .iter()
                .map(|n| format!("{}_*", network_prefix(n)))
                .collect();
            format!(
                "note: {} {family} networks ({}): {}_* is unset; use {}",
                nets.len(),
                nets.join(", "),
                family.alias(),
                instead.join(" or ")
            )
        })
        .collect()
}

/// What the plan shows of a command's network variables: those it uses,
/// with their values now, and why any of them is unset.
pub fn used_values(config: &Config, command: &CommandSpec) -> Vec<NetVar> {
    let used = used_by(command);
    if used.is_empty() {
        return Vec::new();
    }
    let all = variables(config);
    used.into_iter()
        .map(|r| {
            all.iter()
                .find(|v| v.name == r.name)
                .cloned()
                .unwrap_or_else(|| NetVar {
                    value: Err(why_unprovided(config, &r.name)),
                    name: r.name,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn config(yaml: &str) -> Config {
        parse(yaml, "t.yml").unwrap()
    }

    #[test]
    fn references_find_network_variables_and_optional_uses() {
        let refs = references(
            r#"ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev ${INJECT_IPV6_INTERFACE:-eth1}; echo $INJECT_NET_X_IP/$INJECT_NET_; env | grep INJECT_NET_ ; echo $MY_INJECT_NET_A_IP $INJECT_CONFIG"#,
        );
        assert_eq!(
            refs,
            [
                Reference {
                    name: "INJECT_IPV6_GATEWAY".into(),
                    optional: false
                },
                Reference {
                    name: "INJECT_IPV6_INTERFACE".into(),
                    optional: true
                },
                Reference {
                    name: "INJECT_NET_X_IP".into(),
                    optional: false
                },
            ]
        );
    }

    #[test]
    fn aliases_exist_for_a_family_with_one_network_only() {
        let c = config(
            r#"
commands: [{name: a, run: 'true'}]
networks:
  default: {ip: 10.0.0.5, gateway: 10.0.0.1, netmask: 255.255.255.0}
  public: {ip: "2001:db8::10", gateway: "2001:db8::1", netmask: "ffff:ffff:ffff:ffff::"}
  public2: {ip: "2001:db8:1::10"}
"#,
        );
        let env: BTreeMap<String, String> = env(&c).into_iter().collect();
        assert_eq!(env["INJECT_IPV4_NETWORK"], "default");
        assert_eq!(env["INJECT_IPV4_GATEWAY"], "10.0.0.1");
        assert_eq!(env["INJECT_IPV4_PREFIX"], "24");
        assert_eq!(env["INJECT_NET_PUBLIC_PREFIX"], "64");
        assert_eq!(env["INJECT_NET_PUBLIC_FAMILY"], "ipv6");
        assert!(
            !env.keys().any(|k| k.starts_with("INJECT_IPV6_")),
            "{env:?}"
        );
        assert_eq!(
            notes(&c),
            ["note: 2 IPv6 networks (public, public2): INJECT_IPV6_* is unset; use INJECT_NET_PUBLIC_* or INJECT_NET_PUBLIC2_*"]
        );
    }

    #[test]
    fn interface_comes_from_the_lookup_when_asked() {
        let mut c = config(
            "commands: [{name: a, run: 'true'}]\nnetworks:\n  default: {ip: 10.0.0.5}\n  public: {ip: '2001:db8::10'}\n",
        );
        let vars = variables(&c);
        let iface = vars
            .iter()
            .find(|v| v.name == "INJECT_IPV4_INTERFACE")
            .unwrap();
        assert!(iface.value.is_err());
        c.interfaces = Interfaces::new(|| Ok(vec![("10.0.0.5".parse().unwrap(), "eth0".into())]));
        let vars = variables(&c);
        let get = |n: &str| vars.iter().find(|v| v.name == n).unwrap().value.clone();
        assert_eq!(get("INJECT_NET_DEFAULT_INTERFACE"), Ok("eth0".into()));
        assert_eq!(get("INJECT_IPV4_INTERFACE"), Ok("eth0".into()));
        assert_eq!(
            get("INJECT_IPV6_INTERFACE"),
            Err("2001:db8::10 (network `public`) is on no interface of this host now".into())
        );
    }
}
