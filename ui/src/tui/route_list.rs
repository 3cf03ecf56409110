//! The routes panel's list: every route packed ([`RouteStore`]), each line
//! formatted only when it is drawn or a filter reads it, and the filter's
//! pass over the table ([`Pass`]), which goes in slices between frames so
//! that no key waits for a million lines to be read.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use inject_net::{route_line, Family, Patch, RouteStore, Snapshot};

/// How long one slice of a filter pass may take (one more chunk at most):
/// a key's frame waits for the slice under way, if any, and the new
/// query's first one (the update and the draw take under a ms more), and
/// the pass goes on between frames.
pub const SLICE: Duration = Duration::from_millis(4);

/// How many candidate routes are tested between two looks at the clock.
const CHUNK: usize = 1024;

/// The routes panel's list: 1 200 000 routes cost ~35 MB rather than a
/// `String` each.
#[derive(Clone, Debug, Default)]
pub struct RouteList {
    store: RouteStore,
    /// The links, whose names the lines give each route's device.
    names: Snapshot,
    /// The last query's pass: redrawing or scrolling under a filter
    /// reuses it, and a filter that grows (typed on) narrows it.
    pass: RefCell<Option<Pass>>,
}

/// What the routes panel lists: `4`/`6`, `d` and `/` as the operator set them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteQuery {
    /// "4" or "6": only that family.
    pub family: Option<&'static str>,
    /// Only default routes.
    pub defaults: bool,
    /// Only lines holding this text.
    pub text: Option<String>,
}

impl RouteQuery {
    fn family(&self) -> Option<Family> {
        self.family
            .map(|f| if f == "4" { Family::Ipv4 } else { Family::Ipv6 })
    }

    /// Whether every route `self` lists is also listed by `wider`: the
    /// same family and `d`, and the text typed on from `wider`'s.
    fn narrows(&self, wider: &RouteQuery) -> bool {
        wider.family == self.family
            && wider.defaults == self.defaults
            && match (&wider.text, &self.text) {
                (None, _) => true,
                (Some(old), Some(new)) => new.contains(old.as_str()),
                (Some(_), None) => false,
            }
    }
}

/// The positions a [`RouteQuery`] lists, in order.
#[derive(Clone, Debug)]
pub enum Shown {
    /// Every route: positions `0..n`.
    All(usize),
    Some(Arc<Vec<u32>>),
}

impl Shown {
    pub fn len(&self) -> usize {
        match self {
            Shown::All(n) => *n,
            Shown::Some(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store position of the `i`th line listed.
    pub fn get(&self, i: usize) -> usize {
        match self {
            Shown::All(_) => i,
            Shown::Some(v) => v[i] as usize,
        }
    }
}

/// One query's pass over the table, maybe under way. What it has found
/// is final: positions ascend, and a slice only adds positions past the
/// last (so the lines on screen do not move as the pass goes on).
#[derive(Clone, Debug)]
struct Pass {
    query: RouteQuery,
    found: Arc<Vec<u32>>,
    /// A wider query's matches to test first (the text was typed on),
    /// from index `.1`: they cover the store below `next`.
    from: Option<(Arc<Vec<u32>>, usize)>,
    /// Every candidate below this store position has been tested (after
    /// `from`, whose matches all lie below it).
    next: usize,
}

impl Pass {
    fn fresh(query: &RouteQuery) -> Pass {
        Pass {
            query: query.clone(),
            found: Arc::default(),
            from: None,
            next: 0,
        }
    }

    /// A pass for `query`, which narrows `wider`'s: what `wider` found is
    /// all that can match below the position it reached.
    fn narrowing(query: &RouteQuery, wider: &Pass) -> Pass {
        Pass {
            query: query.clone(),
            found: Arc::default(),
            from: Some((wider.found.clone(), 0)),
            next: wider.next,
        }
    }

    fn done(&self, len: usize) -> bool {
        self.from.is_none() && self.next >= len
    }
}

impl PartialEq for RouteList {
    /// The same routes named the same way (the pass is no part of it).
    fn eq(&self, other: &RouteList) -> bool {
        self.store == other.store && self.names.links == other.names.links
    }
}

impl Eq for RouteList {}

impl RouteList {
    pub fn new(store: RouteStore, links: Vec<inject_net::Link>) -> RouteList {
        RouteList {
            store,
            names: Snapshot {
                links,
                ..Snapshot::default()
            },
            pass: RefCell::default(),
        }
    }

    pub fn store(&self) -> &RouteStore {
        &self.store
    }

    /// The store, to change: the pass is dropped.
    pub fn store_mut(&mut self) -> &mut RouteStore {
        *self.pass.get_mut() = None;
        &mut self.store
    }

    /// Change the store by a batch of route changes: `change` says how
    /// positions moved (None: it changed nothing). The filter's pass keeps
    /// what it found, moved, and tests the routes added where it has
    /// been, so a flood of changes does not start the search over.
    pub fn patch(
        &mut self,
        change: impl FnOnce(&mut RouteStore) -> Option<Patch>,
    ) -> Option<Patch> {
        let patch = change(&mut self.store)?;
        let Some(mut pass) = self.pass.get_mut().take() else {
            return Some(patch);
        };
        if pass.from.is_some() {
            // Still narrowing a wider pass's matches (the operator is
            // typing): those moved too; simplest to start afresh.
            return Some(patch);
        }
        let next = patch.boundary(pass.next);
        let kept = patch
            .moved(pass.found.iter().map(|&at| at as usize))
            .map(|at| at as u32);
        let behind = patch.added().iter().copied().filter(|&at| at < next);
        let new = self.filter(behind, &pass.query);
        let mut found: Vec<u32> = kept.chain(new).collect();
        // Two ascending runs (an added route may fall between kept ones):
        // the stable sort merges them in one pass.
        found.sort();
        pass.found = Arc::new(found);
        pass.next = next;
        *self.pass.get_mut() = Some(pass);
        Some(patch)
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// The line of the route at store position `at`, as `ip route` prints it.
    pub fn line(&self, at: usize) -> Option<String> {
        self.store.get(at).map(|r| route_line(&r, &self.names))
    }

    /// Whether the route at store position `at` is a default route.
    pub fn is_default(&self, at: usize) -> bool {
        at < self.store.defaults()
    }

    /// The routes `query` lists, as far as its pass has got: every one
    /// without a query; a new query's pass starts here and runs one
    /// [`SLICE`] (a small table's is done in it); [`advance`](Self::advance)
    /// takes it on.
    pub fn shown(&self, query: &RouteQuery) -> Shown {
        self.shown_within(query, SLICE)
    }

    pub(crate) fn shown_within(&self, query: &RouteQuery, slice: Duration) -> Shown {
        if *query == RouteQuery::default() {
            return Shown::All(self.store.len());
        }
        let mut pass = self.pass.borrow_mut();
        match pass.as_ref() {
            Some(p) if p.query == *query => {}
            last => {
                // Narrow the last pass when the text was typed on, once it
                // has gone past its own narrowing.
                let mut started = match last {
                    Some(p) if query.narrows(&p.query) && p.from.is_none() => {
                        Pass::narrowing(query, p)
                    }
                    _ => Pass::fresh(query),
                };
                self.step(&mut started, slice);
                *pass = Some(started);
            }
        }
        Shown::Some(pass.as_ref().expect("set above").found.clone())
    }

    /// How far the pass for `query` has got, while it is under way (or
    /// not yet begun): the store positions tested and of how many. None
    /// once it is done, or when no pass is needed.
    pub fn searching(&self, query: &RouteQuery) -> Option<(usize, usize)> {
        if *query == RouteQuery::default() {
            return None;
        }
        let pass = self.pass.borrow();
        let len = self.store.len();
        let Some(p) = pass.as_ref().filter(|p| p.query == *query) else {
            return Some((0, len));
        };
        (!p.done(len)).then(|| {
            // While narrowing, the wider matches stand for the part below
            // `next`: count them as that part, in proportion.
            let below = match &p.from {
                Some((from, i)) if !from.is_empty() => p.next * i / from.len(),
                _ => p.next,
            };
            (below, len)
        })
    }

    /// Take the pass for `query` on by one [`SLICE`]; true while more is left.
    pub fn advance(&self, query: &RouteQuery) -> bool {
        self.advance_within(query, SLICE)
    }

    pub(crate) fn advance_within(&self, query: &RouteQuery, slice: Duration) -> bool {
        if *query == RouteQuery::default() {
            return false;
        }
        let mut pass = self.pass.borrow_mut();
        match pass.as_mut() {
            Some(p) if p.query == *query => {
                self.step(p, slice);
                !p.done(self.store.len())
            }
            _ => {
                drop(pass);
                self.shown_within(query, slice);
                self.searching(query).is_some()
            }
        }
    }

    /// Test candidates for up to `slice` (at least one chunk, so every
    /// step gets on).
    fn step(&self, pass: &mut Pass, slice: Duration) {
        let start = Instant::now();
        let candidates = self.candidates(&pass.query);
        loop {
            if let Some((from, at)) = &mut pass.from {
                let chunk = &from[*at..(*at + CHUNK).min(from.len())];
                let matches = self.filter(chunk.iter().map(|&p| p as usize), &pass.query);
                Arc::make_mut(&mut pass.found).extend(matches);
                *at += chunk.len();
                if *at >= from.len() {
                    pass.from = None;
                }
            } else {
                let end = (pass.next + CHUNK).min(self.store.len());
                let positions = candidates
                    .iter()
                    .flat_map(|r| r.start.max(pass.next)..r.end.min(end));
                let matches = self.filter(positions, &pass.query);
                Arc::make_mut(&mut pass.found).extend(matches);
                pass.next = end;
            }
            if pass.done(self.store.len()) || start.elapsed() >= slice {
                return;
            }
        }
    }

    /// The ranges of positions `query`'s family and `d` allow: no lines read.
    fn candidates(&self, query: &RouteQuery) -> Vec<Range<usize>> {
        let family = query.family();
        let mut ranges: Vec<Range<usize>> = (0..self.store.defaults())
            .filter(|&at| family.is_none_or(|f| self.store.family_at(at) == f))
            .map(|at| at..at + 1)
            .collect();
        if !query.defaults {
            ranges.extend(
                Family::BOTH
                    .into_iter()
                    .filter(|f| family.is_none_or(|want| want == *f))
                    .map(|f| self.store.others(f)),
            );
        }
        ranges
    }

    /// The positions among `positions` that `query` lists.
    fn filter(&self, positions: impl Iterator<Item = usize>, query: &RouteQuery) -> Vec<u32> {
        let family = query.family();
        let allowed = positions.filter(|&at| {
            (!query.defaults || self.is_default(at))
                && family.is_none_or(|f| self.store.family_at(at) == f)
        });
        match query.text.as_deref() {
            None => allowed.map(|at| at as u32).collect(),
            Some(text) => self
                .store
                .filter_lines(allowed, text, |r| route_line(r, &self.names)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v4: u32) -> RouteList {
        let snapshot = inject_net::fixtures::many_routes(3, v4);
        RouteList::new(RouteStore::of(&snapshot.routes), snapshot.links.clone())
    }

    /// What `q` lists, one line at a time, as an operator would check it.
    fn by_hand(list: &RouteList, q: &RouteQuery) -> Vec<usize> {
        (0..list.len())
            .filter(|&at| {
                let line = list.line(at).unwrap();
                (!q.defaults || list.is_default(at))
                    && q.family
                        .is_none_or(|f| (list.store().family_at(at) == Family::Ipv4) == (f == "4"))
                    && q.text.as_deref().is_none_or(|t| line.contains(t))
            })
            .collect()
    }

    fn positions(shown: &Shown) -> Vec<usize> {
        (0..shown.len()).map(|i| shown.get(i)).collect()
    }

    fn query(family: Option<&'static str>, defaults: bool, text: Option<&str>) -> RouteQuery {
        RouteQuery {
            family,
            defaults,
            text: text.map(String::from),
        }
    }

    #[test]
    fn a_filter_typed_on_narrows_to_what_a_fresh_pass_finds() {
        let list = list(2_000);
        // Typed on, cleared, switched family and `d`, typed again: each
        // from the last pass or narrowed from it (each to its end here:
        // passes under way are the next test's), each as a fresh pass.
        for q in [
            query(None, false, Some("1")),
            query(None, false, Some("17")),
            query(None, false, Some("172.16.1")),
            query(None, false, Some("172.16.")),
            query(Some("4"), false, Some("172.16.")),
            query(Some("6"), false, None),
            query(Some("6"), false, Some("::")),
            query(None, true, None),
            query(None, true, Some("eth1")),
            query(None, false, Some("dev eth2")),
            query(None, false, Some("no such text")),
        ] {
            while list.advance(&q) {}
            assert_eq!(list.searching(&q), None);
            assert_eq!(positions(&list.shown(&q)), by_hand(&list, &q), "{q:?}");
        }
    }

    /// A pass in slices (here the least slice: one chunk each) shows a
    /// beginning of the final list at every step, says how far it got,
    /// and ends on what one pass finds; typing on while it is under way
    /// narrows what it found so far and goes on from there.
    #[test]
    fn a_pass_in_slices_shows_a_growing_beginning_of_the_final_list() {
        let list = list(20_000);
        let typed = ["1", "17", "172.16.1", "172.16.1.1"];
        let mut reached = 0;
        for (i, text) in typed.iter().enumerate() {
            let q = query(None, false, Some(text));
            let want = by_hand(&list, &q);
            let mut last = Vec::new();
            let mut steps = 0;
            let mut got = positions(&list.shown_within(&q, Duration::ZERO));
            loop {
                assert!(got.starts_with(&last), "{text}: the lines found stay put");
                assert!(
                    want.starts_with(&got),
                    "{text}: only final matches, in order"
                );
                let searching = list.searching(&q);
                if let Some((tested, of)) = searching {
                    assert_eq!(of, list.len());
                    assert!(tested <= of);
                    reached = reached.max(tested);
                }
                // Two of the keys are typed while the pass is under way.
                if i < 2 && steps == 3 {
                    break;
                }
                if !list.advance_within(&q, Duration::ZERO) {
                    assert_eq!(list.searching(&q), None);
                    assert_eq!(positions(&list.shown(&q)), want, "{text}");
                    break;
                }
                steps += 1;
                last = got;
                got = positions(&list.shown_within(&q, Duration::ZERO));
            }
            if i == 2 {
                // Typed on from a pass under way: its matches so far, then
                // the rest of the table, in chunks.
                assert!(steps > 1, "{text}: 20 000 routes take more than one chunk");
            }
        }
        assert!(reached > 0);
    }

    /// A batch of route changes while a pass is under way, and once it is
    /// done: what it found moves with the routes, the routes added where
    /// it has been are tested, and it ends on what one pass over the
    /// changed table finds.
    #[test]
    fn a_batch_of_changes_moves_what_a_pass_found_and_tests_what_was_added() {
        use inject_net::{patch::apply_routes, Action};
        let snapshot = inject_net::fixtures::many_routes(3, 20_000);
        let q = query(None, false, Some("172.16.1"));
        for steps in [0, 3, 12, usize::MAX] {
            let mut list = RouteList::new(RouteStore::of(&snapshot.routes), snapshot.links.clone());
            let mut kept = Snapshot {
                routes: snapshot
                    .routes
                    .iter()
                    .filter(|r| inject_net::findings::reads_route(r))
                    .cloned()
                    .collect(),
                ..snapshot.clone()
            };
            list.shown_within(&q, Duration::ZERO);
            for _ in 0..steps {
                if !list.advance_within(&q, Duration::ZERO) {
                    break;
                }
            }
            // Gone: every 7th route, matching or not, before and past where
            // the pass got. Added: routes that match, IPv4 (before the
            // IPv6 ones the pass may be among) and IPv6, and some that don't.
            let gone: Vec<_> = snapshot.routes.iter().step_by(7).skip(1).collect();
            let of = |family| {
                snapshot
                    .routes
                    .iter()
                    .find(|r| r.family == family && !r.is_default())
                    .unwrap()
                    .clone()
            };
            let mut added = Vec::new();
            for i in 0..40u32 {
                let mut r = of(Family::Ipv4);
                // 172.16.100.i and .110.i match (none of these is in the
                // table yet); 198.18.1.i does not.
                r.destination = match i % 3 {
                    2 => format!("198.18.1.{i}/32"),
                    n => format!("172.16.1{n}0.{i}/32"),
                }
                .parse()
                .unwrap();
                added.push(r);
                let mut r = of(Family::Ipv6);
                r.destination = format!("2001:db8:172:16:1::{i:x}/128").parse().unwrap();
                added.push(r);
            }
            let mut changes: Vec<(Action, &inject_net::Route)> =
                gone.iter().map(|r| (Action::Deleted, *r)).collect();
            changes.extend(added.iter().map(|r| (Action::Added, r)));
            let patch = list.patch(|store| apply_routes(&mut kept, store, &changes));
            assert!(patch.is_some(), "a batch that applies");
            while list.advance(&q) {}
            let want = by_hand(&list, &q);
            assert!(want.len() > 40, "added routes match");
            assert_eq!(positions(&list.shown(&q)), want, "after {steps} steps");
        }
    }

    #[test]
    fn family_and_defaults_alone_are_listed_without_reading_a_line() {
        let list = list(5_000);
        for q in [
            query(Some("4"), false, None),
            query(Some("6"), true, None),
            query(None, true, None),
        ] {
            // No line is read, yet it goes in slices like any pass.
            let mut shown = positions(&list.shown_within(&q, Duration::ZERO));
            while list.advance_within(&q, Duration::ZERO) {
                shown = positions(&list.shown_within(&q, Duration::ZERO));
            }
            assert_eq!(shown, by_hand(&list, &q), "{q:?}");
        }
    }
}
