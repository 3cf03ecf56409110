//! Keeping a snapshot current from the change stream, without re-reading
//! it: a route or address change carries the same model value the dump
//! would hold (both come through `from_netlink`), so it can be inserted or
//! removed in place. With 100 000 routes a full re-read costs ~150 ms; this
//! costs a scan. Whatever cannot be applied exactly asks for a re-read.
//! A flood of route changes is applied a run at a time
//! ([`apply_routes`]): two passes over the table for the whole run.

use std::collections::HashMap;

use ipnetwork::IpNetwork;

use crate::findings::reads_route;
use crate::model::{Address, Family, Route, Snapshot};
use crate::store::{Patch, Quick, RouteStore};
use crate::watch::{Action, Change};

/// What [`Snapshot::apply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The snapshot already said this (a change that a read had caught).
    Unchanged,
    /// The route is now at this index of `routes` (appended: new routes go
    /// last, so until the next full read they list after the kernel's).
    RouteAdded(usize),
    /// The route that was at this index of `routes` is gone.
    RouteRemoved(usize),
    /// `addresses` changed.
    Addresses,
    /// The change cannot be applied exactly: read the whole state again.
    NeedsRead,
}

impl Snapshot {
    /// Apply one change from [`watch`](super::watch::watch). Exact or
    /// nothing: the snapshot is left untouched when this says `NeedsRead`.
    ///
    /// - Links and overruns need a read: a link going down takes its IPv4
    ///   routes along without a message for each, and renames touch names.
    /// - A deleted address needs a read: the kernel then drops IPv4 routes
    ///   (the last address of a device) and IPv6 `src` hints silently.
    /// - A new route that shares the kernel's identity of a route (family,
    ///   table, destination, source prefix, TOS and metric) with another (a
    ///   `replace`, an ECMP `append`) needs a read: the message alone does
    ///   not say whether it replaced or joined the other.
    /// - A deleted route must match one exactly (one next hop leaving a
    ///   multipath route does not), else a read.
    pub fn apply(&mut self, change: &Change) -> Applied {
        match change {
            Change::Link { .. } | Change::Overrun => Applied::NeedsRead,
            Change::Address {
                action: Action::Deleted,
                ..
            } => Applied::NeedsRead,
            Change::Address { address, .. } => self.put_address(address),
            Change::Route {
                action: Action::Deleted,
                route,
                ..
            } => match self.routes.iter().position(|r| r == route) {
                Some(i) => {
                    self.routes.remove(i);
                    Applied::RouteRemoved(i)
                }
                None => Applied::NeedsRead,
            },
            Change::Route { route, .. } => self.add_route(route),
        }
    }

    fn add_route(&mut self, route: &Route) -> Applied {
        // What makes two routes one for the kernel: `default via X` and
        // `default from P via X` (or `tos 0x10`) are two, and both stay.
        let same_key = |r: &&Route| {
            r.family == route.family
                && r.table == route.table
                && r.destination == route.destination
                && r.source == route.source
                && r.tos == route.tos
                && r.metric == route.metric
        };
        match self.routes.iter().find(same_key) {
            Some(r) if r == route => Applied::Unchanged,
            Some(_) => Applied::NeedsRead,
            None => {
                self.routes.push(route.clone());
                Applied::RouteAdded(self.routes.len() - 1)
            }
        }
    }

    /// A new address, or new flags for one (DAD finishing clears
    /// `tentative`): the kernel announces both as a new address.
    fn put_address(&mut self, address: &Address) -> Applied {
        let same = |a: &Address| {
            a.link == address.link
                && a.address == address.address
                && a.prefix_len == address.prefix_len
        };
        if let Some(a) = self.addresses.iter_mut().find(|a| same(a)) {
            if a == address {
                return Applied::Unchanged;
            }
            *a = address.clone();
            return Applied::Addresses;
        }
        // The dump lists IPv4 addresses before IPv6, each by interface:
        // keep that grouping.
        let key = |a: &Address| (a.family, a.link);
        let at = self
            .addresses
            .iter()
            .rposition(|a| key(a) <= key(address))
            .map_or(0, |i| i + 1);
        self.addresses.insert(at, address.clone());
        Applied::Addresses
    }
}

/// [`Snapshot::apply`] for a snapshot split as the dashboard keeps it:
/// `kept` holds the routes the findings read one by one
/// ([`reads_route`]), `store` every route. Positions are the store's.
pub fn apply_split(kept: &mut Snapshot, store: &mut RouteStore, change: &Change) -> Applied {
    let Change::Route { action, route, .. } = change else {
        return kept.apply(change);
    };
    if *action == Action::Deleted {
        let Some(at) = store.position(route) else {
            return Applied::NeedsRead;
        };
        if reads_route(route) {
            match kept.routes.iter().position(|r| r == route) {
                Some(i) => _ = kept.routes.remove(i),
                None => return Applied::NeedsRead,
            }
        }
        store.remove(at);
        return Applied::RouteRemoved(at);
    }
    match store.same_key(route) {
        Some((_, r)) if r == *route => Applied::Unchanged,
        Some(_) => Applied::NeedsRead,
        None => {
            store.push(route);
            if reads_route(route) {
                kept.routes.push(route.clone());
            }
            match store.position(route) {
                Some(at) => Applied::RouteAdded(at),
                None => Applied::NeedsRead,
            }
        }
    }
}

/// Where a route is looked for: among the defaults (the store scans them
/// all), or among its family's other routes to the same destination.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Bucket {
    Defaults,
    Other(Family, IpNetwork),
}

impl Bucket {
    fn of(route: &Route) -> Bucket {
        if route.is_default() {
            Bucket::Defaults
        } else {
            Bucket::Other(route.family, route.destination)
        }
    }
}

/// A route of a bucket, in store order: one the store held (at `old`) or
/// one the batch added (the `added` index).
struct Entry<'a> {
    route: &'a Route,
    old: Option<usize>,
    added: Option<usize>,
    alive: bool,
}

/// A run of route changes (in arrival order) applied to the split
/// snapshot at once, with the result of [`apply_split`] on each in turn:
/// the same store in the same order, the same `kept`. All or nothing:
/// `None` (and nothing changed) when any of them would need a read.
///
/// One pass over the table finds the routes the batch names
/// ([`RouteStore::named`]); the changes are played on those, per
/// destination; then the store changes once ([`RouteStore::splice`]).
/// So 400 000 changes to a 1 200 000-route table cost two passes, not a
/// scan each.
pub fn apply_routes(
    kept: &mut Snapshot,
    store: &mut RouteStore,
    changes: &[(Action, &Route)],
) -> Option<Patch> {
    let named = store.named(changes.iter().map(|(_, r)| *r));
    let mut buckets: HashMap<Bucket, Vec<Entry>, Quick> = HashMap::default();
    for (at, route) in &named {
        buckets.entry(Bucket::of(route)).or_default().push(Entry {
            route,
            old: Some(*at),
            added: None,
            alive: true,
        });
    }
    let mut kept_routes = kept.routes.clone();
    let mut removed = Vec::new();
    let mut added: Vec<(&Route, bool)> = Vec::new();
    for &(action, route) in changes {
        let bucket = buckets.entry(Bucket::of(route)).or_default();
        if action == Action::Deleted {
            // The first route equal in every field, as `position` finds it.
            let entry = bucket.iter_mut().find(|e| e.alive && e.route == route)?;
            if reads_route(route) {
                let i = kept_routes.iter().position(|r| r == route)?;
                kept_routes.remove(i);
            }
            entry.alive = false;
            match (entry.old, entry.added) {
                (Some(at), _) => removed.push(at),
                (None, Some(i)) => added[i].1 = false,
                (None, None) => {}
            }
            continue;
        }
        // As `same_key` rules, on the first route with the kernel's key.
        let same_key = |r: &Route| {
            r.table == route.table
                && r.destination == route.destination
                && r.source == route.source
                && r.tos == route.tos
                && r.metric == route.metric
        };
        match bucket.iter().find(|e| e.alive && same_key(e.route)) {
            Some(e) if e.route == route => continue,
            Some(_) => return None,
            None => {}
        }
        // At the end of its group: among the defaults, IPv4 ones come
        // before IPv6 ones (as `push` keeps them).
        let at = match (route.is_default(), route.family) {
            (true, Family::Ipv4) => bucket
                .iter()
                .take_while(|e| e.route.family == Family::Ipv4)
                .count(),
            _ => bucket.len(),
        };
        bucket.insert(
            at,
            Entry {
                route,
                old: None,
                added: Some(added.len()),
                alive: true,
            },
        );
        added.push((route, true));
        if reads_route(route) {
            kept_routes.push(route.clone());
        }
    }
    removed.sort_unstable();
    kept.routes = kept_routes;
    let added = added
        .into_iter()
        .filter(|(_, alive)| *alive)
        .map(|(r, _)| r);
    Some(store.splice(&removed, added))
}

/// The snapshot's routes and addresses in one order whatever order they
/// came in: for comparing a snapshot kept by [`Snapshot::apply`] with a
/// fresh dump (new routes are appended, the kernel lists them in its own
/// order).
pub fn sorted(snapshot: &Snapshot) -> Snapshot {
    let mut s = snapshot.clone();
    let route_key = |r: &Route| format!("{r:?}");
    s.routes.sort_by_cached_key(route_key);
    s.addresses.sort_by_cached_key(|a| format!("{a:?}"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{address, default_route, ethernet, many_routes, seed_vm, seed_vm_fixed};
    use crate::model::{Protocol, Scope};

    fn route(action: Action, route: Route) -> Change {
        Change::Route {
            action,
            line: String::new(),
            route,
        }
    }

    fn v6_default() -> Route {
        default_route("2001:db8:69f5::1", 3, Protocol::STATIC, Some(1024))
    }

    /// xorshift: the same sequences on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A route from a small key space, so that a batch names the same
    /// routes again: defaults of both families, prefixes sharing an
    /// address, two gateways and metrics, and whole routes (multipath,
    /// another table, `via inet6`, a source prefix, a connected route).
    fn random_route(rng: &mut Rng) -> Route {
        let v6 = rng.pick(2) == 1;
        let (dests, gws, metrics): (&[&str], [&str; 2], [Option<u32>; 2]) = if v6 {
            (
                &[
                    "::/0",
                    "2001:db8:1::/48",
                    "2001:db8:1::/64",
                    "2001:db8:2::/64",
                ],
                ["2001:db8:69f5::1", "fe80::1"],
                [Some(1024), Some(512)],
            )
        } else {
            (
                &["0.0.0.0/0", "10.1.0.0/16", "10.1.0.0/24", "10.2.0.0/24"],
                ["10.0.250.1", "10.0.250.2"],
                [None, Some(100)],
            )
        };
        let mut r = default_route(
            gws[rng.pick(2)],
            2 + rng.pick(2) as u32,
            Protocol::STATIC,
            None,
        );
        r.metric = metrics[rng.pick(2)];
        r.destination = dests[rng.pick(dests.len())].parse().unwrap();
        match rng.pick(8) {
            0 => {
                r.nexthops = ["10.0.250.1", "10.0.250.2", "fe80::1", "fe80::2"]
                    .iter()
                    .skip(if v6 { 2 } else { 0 })
                    .take(2)
                    .map(|gw| crate::model::NextHop {
                        gateway: Some(gw.parse().unwrap()),
                        oif: Some(2),
                        weight: 1,
                        onlink: false,
                    })
                    .collect();
                (r.gateway, r.oif) = (None, None);
            }
            1 => r.table = 100,
            2 if v6 => r.source = Some("2001:db8:69f5::/64".parse().unwrap()),
            2 => r.gateway = Some("fe80::1".parse().unwrap()),
            3 => {
                (r.gateway, r.scope, r.protocol) = (None, Scope::LINK, Protocol::KERNEL);
                r.prefsrc = Some(
                    if v6 {
                        "2001:db8:69f5::10"
                    } else {
                        "10.0.250.10"
                    }
                    .parse()
                    .unwrap(),
                );
            }
            _ => {}
        }
        r
    }

    #[test]
    fn a_batch_of_route_changes_gives_what_applying_them_one_by_one_gives() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut applied, mut read) = (0, 0);
        for case in 0..6000 {
            let mut routes: Vec<Route> =
                (0..rng.pick(14)).map(|_| random_route(&mut rng)).collect();
            if case % 5 == 0 {
                routes.dedup(); // a real table: no route twice in a row at least
            }
            let store = RouteStore::of(&routes);
            let mut kept = Snapshot {
                routes: routes.iter().filter(|r| reads_route(r)).cloned().collect(),
                ..Snapshot::default()
            };
            if case % 7 == 0 {
                // Kept out of step with the store: a delete must then read.
                kept.routes.pop();
            }
            let before: Vec<Route> = store.iter().collect();
            let mut batch: Vec<(Action, Route)> = Vec::new();
            for _ in 0..1 + rng.pick(16) {
                let known = batch
                    .iter()
                    .map(|(_, r)| r)
                    .chain(&before)
                    .cloned()
                    .collect::<Vec<_>>();
                let route = if !known.is_empty() && rng.pick(3) > 0 {
                    known[rng.pick(known.len())].clone()
                } else {
                    random_route(&mut rng)
                };
                let action = if rng.pick(5) < 3 {
                    Action::Added
                } else {
                    Action::Deleted
                };
                batch.push((action, route));
            }

            // One by one, following where each route goes: `ids` holds,
            // per position, the old position or `n + k` for the k-th add.
            let (mut s_kept, mut s_store) = (kept.clone(), store.clone());
            let mut ids: Vec<usize> = (0..before.len()).collect();
            let mut needs_read = false;
            for (k, (action, r)) in batch.iter().enumerate() {
                match apply_split(&mut s_kept, &mut s_store, &route(*action, r.clone())) {
                    Applied::NeedsRead => {
                        needs_read = true;
                        break;
                    }
                    Applied::RouteRemoved(at) => _ = ids.remove(at),
                    Applied::RouteAdded(at) => ids.insert(at, before.len() + k),
                    _ => {}
                }
            }

            let (mut b_kept, mut b_store) = (kept.clone(), store.clone());
            let changes: Vec<(Action, &Route)> = batch.iter().map(|(a, r)| (*a, r)).collect();
            let patch = apply_routes(&mut b_kept, &mut b_store, &changes);
            let what = format!("case {case}: {before:#?}\n{batch:#?}");
            let Some(patch) = patch else {
                assert!(needs_read, "a batch that one by one applies: {what}");
                assert_eq!(
                    b_store.iter().collect::<Vec<_>>(),
                    before,
                    "untouched: {what}"
                );
                assert_eq!(b_kept, kept, "untouched: {what}");
                read += 1;
                continue;
            };
            assert!(!needs_read, "one by one needs a read: {what}");
            applied += 1;
            assert_eq!(
                b_store.iter().collect::<Vec<_>>(),
                s_store.iter().collect::<Vec<_>>(),
                "{what}"
            );
            assert_eq!(b_kept, s_kept, "{what}");
            // Each route alone, then all in one walk.
            // (Ids from `before.len()` on are the routes added.)
            let traced = |old: usize| {
                (old < before.len())
                    .then(|| ids.iter().position(|&id| id == old))
                    .flatten()
            };
            for old in 0..=before.len() {
                assert_eq!(
                    patch.moved(std::iter::once(old)).next(),
                    traced(old),
                    "moved({old}): {what}"
                );
            }
            assert_eq!(
                patch.moved(0..=before.len()).collect::<Vec<_>>(),
                (0..=before.len()).filter_map(traced).collect::<Vec<_>>(),
                "moved in one walk: {what}"
            );
            let added: Vec<usize> = (0..ids.len())
                .filter(|&at| ids[at] >= before.len())
                .collect();
            assert_eq!(patch.added(), added, "{what}");
            for old in 0..=before.len() {
                let at = patch.boundary(old);
                for (new, &id) in ids.iter().enumerate().filter(|(_, &id)| id < before.len()) {
                    assert_eq!(
                        new < at,
                        id < old,
                        "boundary({old}) = {at}, route {id} now at {new}: {what}"
                    );
                }
                assert!(at <= ids.len());
            }
        }
        // Both outcomes, many times each: the test says something of both.
        assert!(
            applied > 1000 && read > 1000,
            "{applied} applied, {read} read"
        );
    }

    #[test]
    fn adding_then_deleting_a_default_route_matches_the_snapshots_with_and_without_it() {
        let mut s = seed_vm();
        let added = route(Action::Added, v6_default());
        assert_eq!(s.apply(&added), Applied::RouteAdded(s.routes.len() - 1));
        assert_eq!(sorted(&s), sorted(&seed_vm_fixed()));
        assert_eq!(s.apply(&added), Applied::Unchanged, "seen twice: no-op");
        let i = s.routes.len() - 1;
        assert_eq!(
            s.apply(&route(Action::Deleted, v6_default())),
            Applied::RouteRemoved(i)
        );
        assert_eq!(sorted(&s), sorted(&seed_vm()));
    }

    #[test]
    fn routes_differing_only_by_source_or_tos_stay_two_and_go_one_by_one() {
        let mut s = seed_vm();
        let plain = v6_default();
        let mut from = v6_default();
        from.source = Some("2001:db8:69f5::/64".parse().unwrap());
        assert!(matches!(
            s.apply(&route(Action::Added, plain.clone())),
            Applied::RouteAdded(_)
        ));
        assert!(matches!(
            s.apply(&route(Action::Added, from.clone())),
            Applied::RouteAdded(_)
        ));
        let defaults = |s: &Snapshot| -> Vec<Route> {
            s.routes_of(crate::Family::Ipv6)
                .filter(|r| r.is_default())
                .cloned()
                .collect()
        };
        assert_eq!(defaults(&s), vec![plain.clone(), from.clone()]);
        assert!(matches!(
            s.apply(&route(Action::Deleted, plain.clone())),
            Applied::RouteRemoved(_)
        ));
        assert_eq!(defaults(&s), vec![from.clone()], "the source route stays");
        assert!(matches!(
            s.apply(&route(Action::Deleted, from)),
            Applied::RouteRemoved(_)
        ));
        assert_eq!(sorted(&s), sorted(&seed_vm()));

        // IPv4: the same for a route with a TOS selector.
        let v4 = default_route("10.0.250.1", 2, Protocol::STATIC, Some(5));
        let mut tos = v4.clone();
        tos.tos = 0x10;
        assert!(matches!(
            s.apply(&route(Action::Added, v4.clone())),
            Applied::RouteAdded(_)
        ));
        assert!(matches!(
            s.apply(&route(Action::Added, tos.clone())),
            Applied::RouteAdded(_)
        ));
        assert!(matches!(
            s.apply(&route(Action::Deleted, v4.clone())),
            Applied::RouteRemoved(_)
        ));
        assert!(s.routes.contains(&tos) && !s.routes.contains(&v4));
    }

    #[test]
    fn what_cannot_be_applied_exactly_asks_for_a_read_and_leaves_the_snapshot() {
        let s = seed_vm_fixed();
        let mut other_gw = v6_default();
        other_gw.gateway = Some("2001:db8:69f5::2".parse().unwrap());
        let cases = [
            Change::Overrun,
            Change::Link {
                action: Action::Changed,
                link: ethernet(3, "eth1"),
            },
            Change::Address {
                action: Action::Deleted,
                address: s.addresses[0].clone(),
                interface: "lo".into(),
            },
            // Same destination and metric: a replace or an ECMP append.
            route(Action::Added, other_gw.clone()),
            // Not in the snapshot: a next hop of a multipath route, or gone.
            route(Action::Deleted, other_gw),
        ];
        for change in cases {
            let mut t = s.clone();
            assert_eq!(t.apply(&change), Applied::NeedsRead, "{change:?}");
            assert_eq!(t, s, "{change:?} left the snapshot alone");
        }
    }

    #[test]
    fn addresses_are_added_in_the_dumps_grouping_and_updated_in_place() {
        let mut s = seed_vm();
        let v4 = address(3, "192.0.2.7/24", Scope::GLOBAL);
        let change = |address: &Address| Change::Address {
            action: Action::Added,
            address: address.clone(),
            interface: "eth1".into(),
        };
        assert_eq!(s.apply(&change(&v4)), Applied::Addresses);
        let at = s.addresses.iter().position(|a| *a == v4).unwrap();
        assert_eq!(
            s.addresses[at - 1].address.to_string(),
            "10.0.250.10",
            "after the last IPv4 address of an interface before it"
        );
        let mut tentative = v4.clone();
        tentative.flags.push("tentative".into());
        let n = s.addresses.len();
        assert_eq!(s.apply(&change(&tentative)), Applied::Addresses);
        assert_eq!(s.addresses.len(), n, "replaced, not added");
        assert_eq!(s.addresses[at], tentative);
        assert_eq!(s.apply(&change(&tentative)), Applied::Unchanged);
    }

    #[test]
    fn a_sequence_of_changes_on_a_big_table_gives_the_table_built_directly() {
        // The routes many_routes(4, 1000) has beyond many_routes(4, 900),
        // added one by one, then some removed: the same as building it.
        let target = many_routes(4, 1000);
        let mut s = many_routes(4, 900);
        for r in target
            .routes
            .iter()
            .filter(|r| !s.routes.contains(r))
            .cloned()
            .collect::<Vec<_>>()
        {
            assert!(matches!(
                s.apply(&route(Action::Added, r)),
                Applied::RouteAdded(_)
            ));
        }
        assert_eq!(sorted(&s), sorted(&target));
        let gone: Vec<Route> = target.routes.iter().step_by(7).cloned().collect();
        for r in &gone {
            assert!(matches!(
                s.apply(&route(Action::Deleted, r.clone())),
                Applied::RouteRemoved(_)
            ));
        }
        let mut expected = target.clone();
        expected.routes.retain(|r| !gone.contains(r));
        assert_eq!(sorted(&s), sorted(&expected));
    }
}
