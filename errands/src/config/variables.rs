//! Which network variables a config provides and which its commands use:
//! the check, at load, that no command needs one the networks cannot give
//! (a typo is a config error, not an empty string at 3 a.m.), and the
//! words that say why one is unset. Names only: nothing is looked up here;
//! the values are `netenv`'s.

use std::collections::BTreeMap;

use super::{env_name, CommandSpec, Config};
use crate::family::Family;

/// The fields every network gives (when its config has the value).
pub const FIELDS: [&str; 6] = ["IP", "GATEWAY", "NETMASK", "PREFIX", "FAMILY", "INTERFACE"];

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

pub(crate) fn why_unprovided(config: &Config, var: &str) -> String {
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

pub(crate) fn network_prefix(name: &str) -> String {
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
