//! The networks' variables: what every command (run, guards, ensure, the
//! dashboard, the dry run) finds in its environment, and the check that a
//! command uses none the networks do not provide.
//!
//! Per network `INJECT_NET_<NAME>_{IP,GATEWAY,NETMASK,PREFIX,FAMILY,INTERFACE}`;
//! per family with exactly one network the same values as
//! `INJECT_IPV4_*` / `INJECT_IPV6_*` plus `_NETWORK` (its name), so a
//! command works whatever the network is called. `_INTERFACE` is the
//! interface that holds the network's IP when the command starts: errands
//! knows nothing of netlink, so the caller hands in an [`Interfaces`]
//! lookup (the binary's reads the kernel's address table).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::config::{env_name, CommandSpec, Config, Network};

/// The fields every network gives (when its config has the value).
pub const FIELDS: [&str; 6] = ["IP", "GATEWAY", "NETMASK", "PREFIX", "FAMILY", "INTERFACE"];

pub use crate::family::Family;

/// Which addresses the host's interfaces hold right now: (address,
/// interface name) pairs, or why they could not be read.
pub type HolderLookup = dyn Fn() -> Result<Vec<(IpAddr, String)>, String> + Send + Sync;

/// The seam through which `_INTERFACE` is found when a command starts. The
/// default looks nothing up (`_INTERFACE` is then unset, and the plan says
/// so); the binary hands in one that reads the kernel's address table.
#[derive(Clone, Default)]
pub struct Interfaces(Option<Arc<HolderLookup>>);

impl Interfaces {
    pub fn new(
        lookup: impl Fn() -> Result<Vec<(IpAddr, String)>, String> + Send + Sync + 'static,
    ) -> Interfaces {
        Interfaces(Some(Arc::new(lookup)))
    }

    fn holders(&self) -> Result<Vec<(IpAddr, String)>, String> {
        match &self.0 {
            Some(lookup) => lookup(),
            None => Err("interfaces are not looked up here".to_string()),
        }
    }
}

impl fmt::Debug for Interfaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Interfaces(lookup)"
        } else {
            "Interfaces(none)"
        })
    }
}

/// A lookup is no part of a config's value: two configs read from the same
/// text are equal whoever looks their interfaces up.
impl PartialEq for Interfaces {
    fn eq(&self, _: &Interfaces) -> bool {
        true
    }
}

impl Network {
    /// The network's family: that of its IP, else its gateway, else its
    /// netmask; none when the config gives none of them (`bosh
    /// create-env`'s placeholder `{ip: "", gateway: "", netmask: ""}`).
    pub fn family(&self) -> Option<Family> {
        [&self.ip, &self.gateway, &self.netmask]
            .into_iter()
            .flatten()
            .find_map(|text| text.parse::<IpAddr>().ok())
            .map(|ip| Family::of(&ip))
    }

    /// The prefix length its netmask stands for (`ffff:ffff:ffff:ffff::` → 64).
    pub fn prefix_len(&self) -> Option<u8> {
        let mask: IpAddr = self.netmask.as_deref()?.parse().ok()?;
        Some(match mask {
            IpAddr::V4(a) => u32::from(a).count_ones() as u8,
            IpAddr::V6(a) => u128::from(a).count_ones() as u8,
        })
    }

    /// The IP, parsed.
    pub fn address(&self) -> Option<IpAddr> {
        self.ip.as_deref()?.parse().ok()
    }

    /// The gateway, parsed.
    pub fn gateway_address(&self) -> Option<IpAddr> {
        self.gateway.as_deref()?.parse().ok()
    }

    /// Whether the director reserved a whole prefix for the instance (its
    /// `prefix` shorter than an address), not one address: such an IP is
    /// the base of a delegated block, not an address on an interface.
    pub fn is_delegated_prefix(&self) -> bool {
        match (self.prefix, self.family()) {
            (Some(p), Some(f)) => p < f.bits(),
            _ => false,
        }
    }

    /// The values the network gives, by field, without `_INTERFACE`.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (field, value) in [
            ("IP", &self.ip),
            ("GATEWAY", &self.gateway),
            ("NETMASK", &self.netmask),
        ] {
            if let Some(v) = value {
                out.push((field, v.clone()));
            }
        }
        if let Some(p) = self.prefix_len() {
            out.push(("PREFIX", p.to_string()));
        }
        if let Some(f) = self.family() {
            out.push(("FAMILY", f.as_str().to_string()));
        }
        out
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

/// The networks of each family, in name order.
pub fn by_family(config: &Config) -> BTreeMap<Family, Vec<&str>> {
    let mut out: BTreeMap<Family, Vec<&str>> = BTreeMap::new();
    for (name, net) in &config.networks {
        if let Some(f) = net.family() {
            out.entry(f).or_default().push(name.as_str());
        }
    }
    out
}

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

/// A network variable a command's text names: `$INJECT_NET_…`,
/// `${INJECT_IPV6_…}`, or the bare name (`printenv INJECT_IPV4_IP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    /// Written `${NAME:-…}`, `${NAME-…}`, `${NAME:+…}`, `${NAME+…}`,
    /// `${NAME:=…}` or `${NAME=…}`: the command copes with it being unset.
    pub optional: bool,
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The network variables `text` refers to, in order, each once (an
/// optional use does not hide a required one).
pub fn references(text: &str) -> Vec<Reference> {
    let bytes = text.as_bytes();
    let mut out: Vec<Reference> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if !bytes[i].is_ascii_alphabetic() || (i > 0 && is_ident(bytes[i - 1])) {
            i += 1;
            continue;
        }
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let word = &text[start..i];
        let is_network = ["INJECT_NET_", "INJECT_IPV4_", "INJECT_IPV6_"]
            .iter()
            .any(|p| word.len() > p.len() && word.starts_with(p));
        if !is_network {
            continue;
        }
        let braced = start >= 2 && &text[start - 2..start] == "${";
        let rest = &text[i..];
        let optional = braced
            && [":-", ":+", ":=", "-", "+", "="]
                .iter()
                .any(|op| rest.starts_with(op));
        match out.iter_mut().find(|r| r.name == word) {
            Some(r) => r.optional &= optional,
            None => out.push(Reference {
                name: word.to_string(),
                optional,
            }),
        }
    }
    out
}

/// The command's texts that run with the networks' variables, by field.
fn texts(command: &CommandSpec) -> Vec<(&'static str, &str)> {
    let mut out = vec![("run", command.run.as_str())];
    if let Some(g) = &command.unless {
        out.push(("unless", g.as_str()));
    }
    if let Some(g) = &command.only_if {
        out.push(("only_if", g.as_str()));
    }
    out
}

/// The network variables `command` refers to (run and guards), each once.
pub fn used_by(command: &CommandSpec) -> Vec<Reference> {
    let mut out: Vec<Reference> = Vec::new();
    for (_, text) in texts(command) {
        for r in references(text) {
            match out.iter_mut().find(|o| o.name == r.name) {
                Some(o) => o.optional &= r.optional,
                None => out.push(r),
            }
        }
    }
    out
}

/// A command that needs a network variable the networks do not provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprovided {
    /// Index of the command in the config.
    pub index: usize,
    /// `run`, `unless` or `only_if`.
    pub field: &'static str,
    pub variable: String,
    /// The whole sentence: command, variable, why, what exists instead.
    pub message: String,
}

/// The first command (config order) whose run or guard needs a network
/// variable the config's networks cannot provide. `_INTERFACE` counts as
/// provided for a network with an IP (it is looked up when the command
/// starts); a use written `${NAME:-…}` copes with it unset and is fine.
pub fn first_unprovided(config: &Config) -> Option<Unprovided> {
    let provided: Vec<String> = provided_names(config);
    for (index, command) in config.commands.iter().enumerate() {
        for (field, text) in texts(command) {
            for r in references(text) {
                if r.optional || provided.contains(&r.name) {
                    continue;
                }
                let why = why_unprovided(config, &r.name);
                return Some(Unprovided {
                    index,
                    field,
                    message: format!(
                        "command `{}` uses ${}, which the networks do not provide: {why}",
                        command.name, r.name
                    ),
                    variable: r.name,
                });
            }
        }
    }
    None
}

/// Names the config's networks can provide (`_INTERFACE` included where
/// there is an IP to look for).
fn provided_names(config: &Config) -> Vec<String> {
    // Names only: never look anything up for this.
    let mut names = Vec::new();
    let mut per_network: BTreeMap<&str, Vec<&'static str>> = BTreeMap::new();
    for (name, net) in &config.networks {
        let mut fields: Vec<&'static str> = net.fields().into_iter().map(|(f, _)| f).collect();
        if net.address().is_some() && !net.is_delegated_prefix() {
            fields.push("INTERFACE");
        }
        for f in &fields {
            names.push(format!("INJECT_NET_{}_{f}", env_name(name)));
        }
        per_network.insert(name, fields);
    }
    for (family, nets) in by_family(config) {
        if let [only] = nets[..] {
            names.push(format!("{}_NETWORK", family.alias()));
            for f in &per_network[only] {
                names.push(format!("{}_{f}", family.alias()));
            }
        }
    }
    names
}

/// The networks as a list for messages: `default (IPv4), public (IPv6)`.
fn listing(config: &Config) -> String {
    if config.networks.is_empty() {
        return "the config has no `networks:`".to_string();
    }
    let items: Vec<String> = config
        .networks
        .iter()
        .map(|(name, net)| match net.family() {
            Some(f) => format!("{name} ({f})"),
            None => format!("{name} (no values)"),
        })
        .collect();
    format!("networks: {}", items.join(", "))
}

/// Splits `INJECT_NET_<NAME>_<FIELD>` by the known network names (longest
/// first), else by the known fields.
fn split_network_var<'a>(config: &'a Config, rest: &'a str) -> (Option<&'a str>, &'a str) {
    let mut best: Option<(&str, &str)> = None;
    for name in config.networks.keys() {
        let var = env_name(name);
        if let Some(field) = rest
            .strip_prefix(var.as_str())
            .and_then(|f| f.strip_prefix('_'))
        {
            if best.is_none_or(|(b, _)| env_name(b).len() < var.len()) {
                best = Some((name.as_str(), field));
            }
        }
    }
    match best {
        Some((name, field)) => (Some(name), field),
        None => {
            let field = FIELDS
                .iter()
                .find(|f| {
                    rest.len() > f.len() + 1
                        && rest.ends_with(*f)
                        && rest.as_bytes()[rest.len() - f.len() - 1] == b'_'
                })
                .map_or("", |f| &rest[rest.len() - f.len()..]);
            (None, field)
        }
    }
}

fn why_unprovided(config: &Config, var: &str) -> String {
    let families = by_family(config);
    let listing = listing(config);
    for family in Family::BOTH {
        let Some(field) = var
            .strip_prefix(family.alias())
            .and_then(|f| f.strip_prefix('_'))
        else {
            continue;
        };
        let nets = families.get(&family).cloned().unwrap_or_default();
        return match nets.len() {
            0 => format!("no network of the config is {family} ({listing})"),
            1 => format!(
                "network `{}` gives no {} ({listing}); each gives _{}",
                nets[0],
                field_words(field),
                FIELDS.join(", _")
            ),
            _ => {
                let instead: Vec<String> = nets
                    .iter()
                    .map(|n| format!("${}_{field}", network_prefix(n)))
                    .collect();
                format!(
                    "{} networks are {family} ({}), so {}_* is unset; use {} instead",
                    nets.len(),
                    nets.join(", "),
                    family.alias(),
                    instead.join(" or ")
                )
            }
        };
    }
    let rest = var.strip_prefix("INJECT_NET_").unwrap_or(var);
    match split_network_var(config, rest) {
        (Some(name), field) => {
            let net = &config.networks[name];
            if FIELDS.contains(&field) {
                let how = if field == "INTERFACE" {
                    "no ip to look for".to_string()
                } else if net.family().is_none() {
                    "no values (empty or absent in the config, as `bosh create-env` renders its placeholder network)".to_string()
                } else {
                    format!("no {}", field_words(field))
                };
                format!("network `{name}` has {how} ({listing})")
            } else {
                format!(
                    "network `{name}` gives _{} only, no _{field} ({listing})",
                    FIELDS.join(", _")
                )
            }
        }
        (None, field) => {
            let mut text = format!("no network of that name ({listing})");
            let guess = if rest.contains("IPV6") || rest.contains("V6") {
                Some(Family::Ipv6)
            } else if rest.contains("IPV4") || rest.contains("V4") {
                Some(Family::Ipv4)
            } else {
                None
            };
            if let (Some(f), false) = (guess, field.is_empty()) {
                if families.get(&f).is_some_and(|n| n.len() == 1) {
                    text.push_str(&format!(
                        "; for the {f} network's value, whatever it is called, use ${}_{field}",
                        f.alias()
                    ));
                }
            }
            text
        }
    }
}

fn network_prefix(name: &str) -> String {
    format!("INJECT_NET_{}", env_name(name))
}

fn field_words(field: &str) -> String {
    match field {
        "IP" => "ip".into(),
        "GATEWAY" => "gateway".into(),
        "NETMASK" => "netmask".into(),
        "PREFIX" => "netmask (for the prefix length)".into(),
        "FAMILY" => "value to tell its family".into(),
        "INTERFACE" => "ip (to find its interface)".into(),
        other => format!("_{other}"),
    }
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
