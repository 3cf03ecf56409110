//! From the engines' data to what the dashboard shows: a network snapshot
//! becomes banner lines, interface rows and a packed route list (whose
//! lines are formatted when drawn); the config becomes command rows. Done
//! once per snapshot or load, never per frame.

use std::time::SystemTime;

use inject_errands::config::{CommandSpec, Config};
use inject_errands::ensure::CommandState;

use super::display::{
    grouped, BannerFinding, BannerLine, CommandRow, FindingKey, Health, InterfaceRow, Kept, NetView,
};
use super::route_list::RouteList;
use inject_net::findings::{findings_of_summary, reads_route, Expected, GatewayUses};
use inject_net::follow::{on_change_with, Next, OnLinkMemo, Reads};
use inject_net::patch::apply_routes;
use inject_net::{
    family_status, Action, Applied, Change, Code, Family, FamilyState, Finding, Route, RouteStore,
    Severity, Snapshot,
};

/// What shows instead of a sensitive command's text (as in the dry run).
pub use inject_errands::runner::REDACTED;

/// The dashboard's view of `snapshot` (whole, or read packed). `gateways`
/// (from the config's `networks:`) complete the hint's command when one
/// fits an interface.
pub fn net_view(snapshot: &Snapshot, gateways: &Expected) -> NetView {
    let (kept, store) = split(snapshot.clone());
    view_of(&kept, store, gateways)
}

/// The view while the first read is still reading routes (`snapshot` has
/// [`Snapshot::reading_routes`]): interfaces and addresses now, and a
/// banner that says the routes are being read. No finding: with part of
/// the routes, "no default route" could be untrue.
pub fn reading_view(snapshot: &Snapshot) -> NetView {
    let count = snapshot.reading_routes.unwrap_or(0);
    NetView {
        banner: vec![BannerLine {
            health: Health::Info,
            text: format!(
                "reading routes… {} so far; findings when all are read",
                grouped(count)
            ),
        }],
        interfaces: interfaces(snapshot),
        routes: RouteList::new(RouteStore::default(), snapshot.links.clone()),
        findings: Vec::new(),
        reading: Some(count),
    }
}

/// A snapshot as the dashboard keeps it: the routes the findings read one
/// by one stay in it ([`reads_route`]), every route goes to the store
/// (the one it was read with, if it was read packed).
pub fn split(mut snapshot: Snapshot) -> (Snapshot, RouteStore) {
    let store = match snapshot.packed.take() {
        Some(store) => *store,
        None => {
            let store = RouteStore::of(&snapshot.routes);
            snapshot.routes.retain(reads_route);
            store
        }
    };
    (snapshot, store)
}

/// The view of a split snapshot: `kept` and the store of every route.
pub fn view_of(kept: &Snapshot, store: RouteStore, gateways: &Expected) -> NetView {
    let findings = findings_of_summary(kept, &gateway_uses(&store), gateways);
    let (banner, shown) = banner(kept, &findings);
    NetView {
        banner,
        interfaces: interfaces(kept),
        routes: RouteList::new(store, kept.links.clone()),
        findings: shown,
        reading: None,
    }
}

/// The gateways every route of `store` uses, counted, for the findings
/// ([`findings_of_summary`]): one pass over the table.
fn gateway_uses(store: &RouteStore) -> GatewayUses {
    let mut uses = GatewayUses::default();
    for route in store.iter() {
        uses.add(&route);
    }
    uses
}

/// How many routes just added the routes panel marks at most: a flood
/// adds thousands a frame, and each drawn line is looked up among them.
pub const FRESH_MAX: usize = 32;

/// What a batch of netlink changes did to the dashboard's view
/// ([`on_changes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Followed {
    /// A read must start now.
    pub read: bool,
    /// Something was applied in place: the view changed.
    pub applied: bool,
    /// The lines of the last routes added (at most [`FRESH_MAX`]), in the
    /// order they came.
    pub added: Vec<String>,
}

/// Netlink changes, in arrival order, for the dashboard: applied in place
/// to the split snapshot it keeps (`kept`, and the store in `view`) when
/// that is exact, and the view brought up to date; else a read, coalesced
/// by `reads` (as [`inject_net::follow::on_change`] rules). A run of route
/// changes is applied at once ([`apply_routes`]: two passes over the
/// table, not a scan per change), other changes one by one. The findings
/// (one pass over the table) are computed again once, at the end, and only
/// if some change may have changed them; route lines are formatted when
/// drawn.
pub fn on_changes(
    kept: &mut Option<Snapshot>,
    view: &mut NetView,
    reads: &mut Reads,
    gateways: &Expected,
    changes: &[Change],
) -> Followed {
    let mut out = Followed::default();
    let mut recount = false;
    let on_link = &mut OnLinkMemo::default();
    let mut rest = changes;
    // Once this batch starts a read, the rest of it is in that read (it
    // starts after the batch, and every change of it has happened).
    while !rest.is_empty() && !out.read {
        let run = rest
            .iter()
            .take_while(|c| matches!(c, Change::Route { .. }))
            .count();
        let (now, next) = rest.split_at(run.max(1));
        rest = next;
        if run == 0 {
            match on_change_with(kept, reads, &now[0], |s, c| s.apply(c)) {
                Next::Read => out.read = true,
                Next::Nothing => {}
                Next::Applied(applied) => {
                    if let (Applied::Addresses, Some(s)) = (applied, kept.as_ref()) {
                        view.interfaces = interfaces(s);
                    }
                    out.applied = true;
                    // No route is judged after this (so `on_link`, judged
                    // on the addresses before it, is never asked again).
                    recount = true;
                }
            }
            continue;
        }
        let routes: Vec<(Action, &Route)> = now
            .iter()
            .filter_map(|c| match c {
                Change::Route { action, route, .. } => Some((*action, route)),
                _ => None,
            })
            .collect();
        let applied = match kept.as_mut() {
            // All or nothing; the filter's pass is kept, moved.
            Some(s) if !reads.reading() => {
                view.routes.patch(|store| apply_routes(s, store, &routes))
            }
            _ => None,
        };
        let Some(patch) = applied else {
            out.read |= reads.changed();
            continue;
        };
        if patch.is_empty() {
            continue; // the snapshot already said all of it
        }
        out.applied = true;
        let fresh = patch.added().iter().rev().take(FRESH_MAX).rev();
        out.added
            .extend(fresh.filter_map(|&at| view.routes.line(at)));
        if let (false, Some(s)) = (recount, kept.as_ref()) {
            recount = routes
                .iter()
                .any(|(_, r)| !counted_only(s, view, gateways, r, on_link));
        }
    }
    let over = out.added.len().saturating_sub(FRESH_MAX);
    out.added.drain(..over);
    if let (true, Some(s)) = (recount, kept.as_ref()) {
        let findings = findings_of_summary(s, &gateway_uses(view.routes.store()), gateways);
        (view.banner, view.findings) = banner(s, &findings);
    }
    out
}

/// Whether `route` is one the findings only count, through gateways on a
/// link, while they report no gateway off a link: then no finding
/// changes, and the pass over the whole table (~40 ms at 1 200 000
/// routes) is skipped: a flood of such routes is what a BGP feed sends.
fn counted_only(
    kept: &Snapshot,
    view: &NetView,
    gateways: &Expected,
    route: &Route,
    on_link: &mut OnLinkMemo,
) -> bool {
    !reads_route(route)
        && !view
            .findings
            .iter()
            .any(|f| f.key.code == Code::GatewayNotOnLink)
        && on_link.all(kept, route, gateways)
}

fn finding_lines(f: &Finding, out: &mut Vec<BannerLine>, shown: &mut Vec<BannerFinding>) {
    shown.push(BannerFinding {
        line: out.len(),
        key: FindingKey {
            code: f.code,
            family: f.family,
            interface: f.interface.clone(),
            message: f.message.clone(),
        },
        fixes: f
            .fix
            .as_ref()
            .map(|x| x.commands.clone())
            .unwrap_or_default(),
    });
    let health = match f.severity {
        Severity::Error => Health::Error,
        Severity::Warning => Health::Warn,
        Severity::Info => Health::Info,
    };
    out.push(BannerLine {
        health,
        text: f.message.clone(),
    });
    // The configured command that fixes it is offered by the banner
    // itself (`f runs NAME`), not repeated in words.
    if let Some(hint) = f.advice() {
        out.push(BannerLine {
            health: Health::Hint,
            text: format!("hint: {hint}"),
        });
    }
}

/// One line per family (with the missing-route finding and its hint in
/// place of the bare status), then every other finding.
fn banner(snapshot: &Snapshot, findings: &[Finding]) -> (Vec<BannerLine>, Vec<BannerFinding>) {
    let mut out = Vec::new();
    let mut shown = Vec::new();
    for family in Family::BOTH {
        let status = family_status(snapshot, family);
        let missing = findings
            .iter()
            .find(|f| f.code == Code::MissingDefaultRoute && f.family == Some(family));
        match (status.state, missing) {
            // A default whose gateway cannot be used is no ✓ (the finding
            // below says why).
            (FamilyState::Ok, _) if default_unusable(findings, family) => out.push(BannerLine {
                health: Health::Error,
                text: format!("{}, not usable (below)", status.text),
            }),
            (FamilyState::Ok, _) => out.push(gateway_said(snapshot, family, status.text)),
            (FamilyState::Missing, Some(f)) => finding_lines(f, &mut out, &mut shown),
            (FamilyState::Missing, None) => out.push(BannerLine {
                health: Health::Error,
                text: status.text,
            }),
            // The default-via-down-interface finding below says why.
            (FamilyState::Down, _) => out.push(BannerLine {
                health: Health::Error,
                text: status.text,
            }),
            (FamilyState::Unconfigured, _) => out.push(BannerLine {
                health: Health::Info,
                text: status.text,
            }),
        }
    }
    for f in findings {
        if f.code != Code::MissingDefaultRoute {
            finding_lines(f, &mut out, &mut shown);
        }
    }
    // Errors first, in the order they are shown.
    shown.sort_by_key(|s: &BannerFinding| s.line);
    (out, shown)
}

/// Whether an error says the family's default route cannot carry traffic:
/// a reject route shadows it, or its gateway is on no link.
fn default_unusable(findings: &[Finding], family: Family) -> bool {
    findings.iter().any(|f| {
        f.family == Some(family)
            && f.severity == Severity::Error
            && (f.code == Code::DefaultRouteUnusable
                || f.code == Code::GatewayNotOnLink && f.message.contains(" of route default"))
    })
}

/// A family's good default, with what its gateway's neighbour entry says
/// when there is one (` · gateway REACHABLE`): a gateway that does not
/// answer (FAILED) makes the line an error, whose finding follows.
fn gateway_said(snapshot: &Snapshot, family: Family, text: String) -> BannerLine {
    let known = inject_net::neighbour::gateways(snapshot)
        .into_iter()
        .filter(|g| g.family == family)
        .find_map(|g| g.state);
    match known {
        Some(state) => BannerLine {
            health: if state == inject_net::model::NeighbourState::Failed {
                Health::Error
            } else {
                Health::Ok
            },
            text: format!("{text} · gateway {state}"),
        },
        None => BannerLine {
            health: Health::Ok,
            text,
        },
    }
}

fn interfaces(snapshot: &Snapshot) -> Vec<InterfaceRow> {
    snapshot
        .links
        .iter()
        .map(|link| {
            let mut addrs: Vec<_> = snapshot.addresses_of(link.index).collect();
            // IPv4 first, then IPv6, each in the kernel's order (stable sort).
            addrs.sort_by_key(|a| a.family == Family::Ipv6);
            InterfaceRow {
                name: link.name.clone(),
                state: link.state.as_str().to_string(),
                mtu: link.mtu.map_or_else(|| "-".to_string(), |m| m.to_string()),
                addresses: addrs
                    .iter()
                    .map(|a| format!("{}/{}", a.address, a.prefix_len))
                    .collect(),
            }
        })
        .collect()
}

/// How ensure keeps a command, from its entry in ensure's state file, at `now`.
pub fn kept(state: &CommandState, now: SystemTime) -> Kept {
    Kept {
        // A clock stepped back reads as just now.
        acted_ago: state
            .last_action
            .map(|t| now.duration_since(t).unwrap_or_default()),
        failures: state.failures,
    }
}

/// A command as the dashboard lists it; `plan` is its dry-run description.
pub fn command_row(config: &Config, spec: &CommandSpec, plan: Vec<String>) -> CommandRow {
    let hide = |text: &str| {
        if spec.sensitive {
            REDACTED.to_string()
        } else {
            text.to_string()
        }
    };
    let mut row = CommandRow::new(spec.name.clone(), hide(&spec.run));
    row.unless = spec.unless.as_deref().map(hide);
    row.only_if = spec.only_if.as_deref().map(hide);
    row.timeout = Some(config.timeout_of(spec));
    row.retries = spec.retries;
    row.retry_delay = spec.retry_delay;
    row.sensitive = spec.sensitive;
    if !spec.sensitive {
        let texts = [Some(&spec.run), spec.unless.as_ref(), spec.only_if.as_ref()];
        row.vars = config
            .network_env()
            .into_iter()
            .filter(|(k, _)| texts.iter().flatten().any(|t| t.contains(k.as_str())))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
    }
    row.plan = plan;
    row
}

/// A runner event as the dashboard shows it: output lines, the runner's own
/// notes, and the end. Run-level events (start, summary) say nothing here.
pub fn run_msgs(event: inject_errands::run_event::RunEvent) -> Vec<super::event::RunMsg> {
    use super::display::{CmdState, OutStream};
    use super::event::RunMsg;
    use inject_errands::run_event::{format_duration, Outcome, RunEvent as E, Stream};
    let info = |text: String| RunMsg::Line {
        stream: OutStream::Info,
        text,
    };
    match event {
        E::Started { attempt, .. } if attempt > 1 => vec![info(format!("attempt {attempt}"))],
        E::Output { stream, line, .. } => vec![RunMsg::Line {
            stream: match stream {
                Stream::Stdout => OutStream::Stdout,
                Stream::Stderr => OutStream::Stderr,
            },
            text: line,
        }],
        E::OutputCut {
            cut_bytes,
            full_log,
            ..
        } => vec![info(match full_log {
            Some(p) => format!(
                "{cut_bytes} more bytes not shown; all of it is in {}",
                p.display()
            ),
            None => format!("{cut_bytes} more bytes not shown (output limit)"),
        })],
        E::Retrying {
            attempt,
            outcome,
            delay,
            ..
        } => vec![info(format!(
            "attempt {attempt}: {outcome}; trying again in {}",
            format_duration(delay)
        ))],
        E::Notice { message } => vec![info(message)],
        E::Finished {
            outcome, duration, ..
        } => {
            let state = match &outcome {
                Outcome::Ok => CmdState::Ok,
                Outcome::Skipped { .. } => CmdState::Skipped,
                Outcome::Failed { .. } => CmdState::Failed,
                Outcome::TimedOut { .. } => CmdState::TimedOut,
                Outcome::NotRun | Outcome::Interrupted => CmdState::Cancelled,
            };
            let mut out = Vec::new();
            // The state word alone hides why: say the reason or exit status.
            if !matches!(outcome, Outcome::Ok) {
                out.push(info(outcome.to_string()));
            }
            out.push(RunMsg::Finished { state, duration });
            out
        }
        E::Started { .. } | E::RunStarted { .. } | E::RunFinished { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod gateway_tests {
    use crate::tui::display::Health;
    use inject_net::fixtures;
    use inject_net::model::{Neighbour, NeighbourState};

    use super::net_view;

    fn banner_with(state: Option<NeighbourState>) -> Vec<(Health, String)> {
        let mut s = fixtures::seed_vm_fixed();
        if let Some(state) = state {
            s.neighbours.push(Neighbour {
                link: 2,
                address: "10.0.250.1".parse().unwrap(),
                state,
                has_lladdr: true,
            });
        }
        net_view(&s, &Default::default())
            .banner
            .into_iter()
            .map(|l| (l.health, l.text))
            .collect()
    }

    #[test]
    fn the_banner_says_what_the_gateways_neighbour_entry_says() {
        let plain = banner_with(None);
        assert_eq!(
            plain[0],
            (Health::Ok, "IPv4: default via 10.0.250.1 dev eth0".into())
        );
        let reachable = banner_with(Some(NeighbourState::Reachable));
        assert_eq!(
            reachable[0],
            (
                Health::Ok,
                "IPv4: default via 10.0.250.1 dev eth0 · gateway REACHABLE".into()
            )
        );
        let failed = banner_with(Some(NeighbourState::Failed));
        assert_eq!(
            failed[0],
            (
                Health::Error,
                "IPv4: default via 10.0.250.1 dev eth0 · gateway FAILED".into()
            )
        );
        assert!(failed
            .iter()
            .any(|(h, t)| *h == Health::Error && t.contains("does not answer on eth0")));
    }
}

#[cfg(test)]
mod reading_tests {
    use crate::tui::app::{update, Effect};
    use crate::tui::event::Event;
    use crate::tui::fixtures::seed_vm_app;
    use crate::tui::view_tests::screen;
    use inject_net::{fixtures, Action, Change, Protocol, Snapshot};

    /// What `read_in_steps` sends first: links and addresses, no routes.
    fn reading(count: usize) -> Snapshot {
        let whole = fixtures::seed_vm();
        Snapshot {
            links: whole.links,
            addresses: whole.addresses,
            reading_routes: Some(count),
            ..Snapshot::default()
        }
    }

    #[test]
    fn while_the_routes_are_read_the_screen_says_so_and_claims_no_finding() {
        let mut app = seed_vm_app();
        app.reads.changed(); // the first read, in flight
        assert_eq!(
            update(&mut app, Event::Snapshot(Ok(reading(131_072)))),
            vec![]
        );
        let s = screen(&app, 120, 40);
        assert!(
            s.contains("reading routes… 131 072 so far; findings when all are read"),
            "{s}"
        );
        assert!(s.contains("routes: reading… 131 072"), "{s}");
        assert!(
            s.contains("2001:db8:69f5::10/64"),
            "the addresses at once: {s}"
        );
        assert!(!s.contains("no default route"), "{s}");
        assert!(app.net.findings.is_empty());
        // A change meanwhile: one more read after this one, none now.
        let change = Event::Net(vec![Change::Route {
            action: Action::Added,
            route: fixtures::default_route("2001:db8:69f5::1", 3, Protocol::STATIC, Some(1024)),
            line: String::new(),
        }]);
        assert_eq!(update(&mut app, change), vec![]);
        // The whole snapshot: the findings, then the read owed.
        assert_eq!(
            update(&mut app, Event::Snapshot(Ok(fixtures::seed_vm()))),
            vec![Effect::ReadSnapshot]
        );
        let s = screen(&app, 120, 40);
        assert!(s.contains("IPv6: no default route"), "{s}");
        assert!(!s.contains("reading"), "{s}");
    }

    #[test]
    fn a_first_read_that_fails_half_way_stops_saying_it_reads() {
        let mut app = seed_vm_app();
        app.reads.changed();
        update(&mut app, Event::Snapshot(Ok(reading(65_536))));
        update(
            &mut app,
            Event::Snapshot(Err("reading IPv4 routes over netlink failed: boom".into())),
        );
        let s = screen(&app, 120, 40);
        assert!(s.contains("boom"), "{s}");
        assert!(!s.contains("reading routes…"), "{s}");
    }
}
