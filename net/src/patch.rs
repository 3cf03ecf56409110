//! Keeping a snapshot current from the change stream, without re-reading
//! it: a route or address change carries the same model value the dump
//! would hold (both come through `from_netlink`), so it can be inserted or
//! removed in place. With 100 000 routes a full re-read costs ~150 ms; this
//! costs a scan. Whatever cannot be applied exactly asks for a re-read.

use crate::findings::reads_route;
use crate::model::{Address, Route, Snapshot};
use crate::store::RouteStore;
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
