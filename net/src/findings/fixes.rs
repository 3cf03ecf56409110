//! Which configured command fixes which finding. Decided from what the
//! command does, not from words the finding happens to share with it: a
//! command that adds (or replaces) a default route of family F fixes
//! `missing_default_route` of F and nothing else, unless its `fixes:` list
//! names more codes. So an off-link gateway, a lost address, a NIC without
//! carrier or an `unreachable default` that shadows a good one is never
//! offered a command that cannot help (the dashboard's `f`, status's
//! hints).

use std::ops::Range;

use super::{Code, Expected, ExpectedNetwork, Finding, FixCommand};
use crate::model::{Family, Snapshot};

/// The configured commands that fix a finding, and where its hint names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// The commands' names, in config order.
    pub commands: Vec<String>,
    /// The part of `hint` that names them (`The config's command X does
    /// this; run: …`), which views that offer the command themselves drop.
    pub range: Range<usize>,
}

/// The family of the default route that `run` adds or replaces with `ip
/// route add|replace|append default …` (any spelling `ip` accepts: `-6`,
/// `-family inet6`, `r a`, `::/0`), if it does. Without a family flag the
/// gateway says it: an address literal, or a network variable of a known
/// family (`$INJECT_IPV6_GATEWAY`, `$INJECT_NET_<NAME>_GATEWAY`).
pub fn default_route_family(run: &str, networks: &[ExpectedNetwork]) -> Option<Family> {
    // Split into simple commands: `a && b`, `a; b`, `a | b`, lines.
    let cleaned: String = run
        .chars()
        .filter(|c| !matches!(c, '"' | '\'' | '{' | '}'))
        .map(|c| match c {
            ';' | '&' | '|' | '\n' | '(' | ')' => '\n',
            c => c,
        })
        .collect();
    cleaned
        .split('\n')
        .find_map(|part| one_command(part, networks))
}

fn one_command(text: &str, networks: &[ExpectedNetwork]) -> Option<Family> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "ip" || w.ends_with("/ip"))?;
    // `ip` must be what runs (`echo ip route add default` adds nothing).
    let runners = ["sudo", "exec", "command", "then", "do", "else", "!"];
    if !words[..at].iter().all(|w| runners.contains(w)) {
        return None;
    }
    let mut rest = words[at + 1..].iter().peekable();
    let mut family = None;
    // Options before the object: -6, -4, -family inet6, -f inet.
    while let Some(w) = rest.peek().copied() {
        if !w.starts_with('-') {
            break;
        }
        rest.next();
        match *w {
            "-6" => family = Some(Family::Ipv6),
            "-4" => family = Some(Family::Ipv4),
            "-f" | "-family" | "--family" => match rest.next().copied() {
                Some("inet6") => family = Some(Family::Ipv6),
                Some("inet") => family = Some(Family::Ipv4),
                _ => {}
            },
            _ => {}
        }
    }
    let object = rest.next()?;
    if !"route".starts_with(*object) || object.is_empty() {
        return None;
    }
    let verb = rest.next()?;
    let adds = ["add", "replace", "append", "prepend"]
        .iter()
        .any(|v| v.starts_with(*verb));
    if !adds {
        return None;
    }
    let args: Vec<&str> = rest.copied().collect();
    // The destination: the first word that is no keyword of `ip route add`
    // (`unreachable default` is no fix for a missing default either).
    let dest = args.first()?;
    match *dest {
        "default" | "all" | "any" => {}
        "0.0.0.0/0" | "0/0" => family = family.or(Some(Family::Ipv4)),
        "::/0" => family = family.or(Some(Family::Ipv6)),
        _ => return None,
    }
    if family.is_some() {
        return family;
    }
    let via = args
        .iter()
        .position(|w| *w == "via")
        .and_then(|i| args.get(i + 1))?;
    value_family(via, networks)
}

/// The family of a gateway as written: an address, or a variable.
fn value_family(word: &str, networks: &[ExpectedNetwork]) -> Option<Family> {
    let word = word.trim_start_matches('$');
    if let Ok(ip) = word.parse::<std::net::IpAddr>() {
        return Some(Family::of(&ip));
    }
    if word.starts_with("INJECT_IPV6_") {
        return Some(Family::Ipv6);
    }
    if word.starts_with("INJECT_IPV4_") {
        return Some(Family::Ipv4);
    }
    let name = word.strip_prefix("INJECT_NET_")?;
    networks.iter().find_map(|n| {
        let own = inject_errands::config::env_name(&n.name);
        name.strip_prefix(own.as_str())
            .filter(|r| r.starts_with('_'))
            .and(n.family)
    })
}

/// The families of the networks a command's variables belong to.
fn families_used(command: &FixCommand, networks: &[ExpectedNetwork]) -> Vec<Family> {
    let mut out: Vec<Family> = command
        .uses
        .iter()
        .filter_map(|u| value_family(u, networks))
        .collect();
    out.extend(command.adds_default);
    out.sort_by_key(|f| *f == Family::Ipv6);
    out.dedup();
    out
}

impl Expected {
    /// The configured commands that fix `finding` on `snapshot`: those
    /// that add a default route of its family for a missing one (when the
    /// NIC it names is up: a route via a NIC without carrier carries
    /// nothing), and those whose `fixes:` name its code (and whose
    /// networks, when they use any, are of its family).
    pub fn fixers_of(&self, finding: &Finding, snapshot: &Snapshot) -> Vec<&FixCommand> {
        let link_up = finding
            .interface
            .as_deref()
            .and_then(|n| snapshot.link_by_name(n))
            .is_none_or(|l| l.is_up());
        self.commands
            .iter()
            .filter(|c| {
                let derived = finding.code == Code::MissingDefaultRoute
                    && c.adds_default.is_some()
                    && c.adds_default == finding.family
                    && link_up;
                let declared = c.fixes.iter().any(|code| code == finding.code.as_str()) && {
                    let families = families_used(c, &self.networks);
                    finding
                        .family
                        .is_none_or(|f| families.is_empty() || families.contains(&f))
                };
                derived || declared
            })
            .collect()
    }
}

/// Name in each finding's hint the commands that fix it (see
/// [`Expected::fixers_of`]) and keep that link as data (`Finding.fix`).
pub fn name_fixes(findings: &mut [Finding], expected: &Expected, snapshot: &Snapshot) {
    if expected.commands.is_empty() {
        return;
    }
    for finding in findings.iter_mut() {
        let fixers = expected.fixers_of(finding, snapshot);
        let Some(first) = fixers.first() else {
            continue;
        };
        let names: Vec<String> = fixers.iter().map(|c| c.name.clone()).collect();
        let text = if fixers.len() == 1 {
            format!(
                " The config's command {} does this; run: {}",
                first.name,
                first.invocation()
            )
        } else {
            format!(
                " The config's commands {} do this; run one: {}",
                names.join(", "),
                fixers
                    .iter()
                    .map(|c| c.invocation())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
        let mut hint = finding.hint.take().unwrap_or_default();
        let start = hint.len();
        if !hint.is_empty() && !hint.ends_with('.') {
            hint.push('.');
        }
        hint.push_str(if hint.is_empty() {
            text.trim_start()
        } else {
            &text
        });
        finding.fix = Some(Fix {
            commands: names,
            range: start..hint.len(),
        });
        finding.hint = Some(hint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_adds_a_default_route_is_known_by_its_family() {
        let none: &[ExpectedNetwork] = &[];
        let v6 = Some(Family::Ipv6);
        let v4 = Some(Family::Ipv4);
        for (run, want) in [
            (
                r#"ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE""#,
                v6,
            ),
            ("ip route add default via 10.0.0.1", v4),
            ("ip route add default via 2001:db8::1 dev eth1", v6),
            ("ip -family inet6 r a default via fe80::1 dev eth1", v6),
            ("ip route replace ::/0 via $GW", v6),
            ("ip route replace default via ${INJECT_IPV6_GATEWAY}", v6),
            ("set -e; /sbin/ip -4 route append default via $X", v4),
            ("ip -6 route del default", None),
            ("ip -6 route add 2001:db8::/64 dev eth1", None),
            ("ip -6 route add unreachable default metric 1", None),
            ("ip -6 route show default | grep -q .", None),
            ("ip -6 addr add 2001:db8::10/64 dev eth1", None),
            ("echo ip route add default via 10.0.0.1", None),
            (
                "if true; then ip -6 route add default via fe80::1 dev eth1; fi",
                v6,
            ),
        ] {
            assert_eq!(default_route_family(run, none), want, "{run}");
        }
    }

    #[test]
    fn a_network_variable_gives_the_family_of_its_network() {
        let nets = [ExpectedNetwork {
            name: "public-v6".into(),
            family: Some(Family::Ipv6),
            ip: None,
            prefix_len: None,
            gateway: None,
            delegated: false,
            aliased: false,
        }];
        assert_eq!(
            default_route_family(
                "ip route replace default via $INJECT_NET_PUBLIC_V6_GATEWAY",
                &nets
            ),
            Some(Family::Ipv6)
        );
    }
}
