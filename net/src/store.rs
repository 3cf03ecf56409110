//! Every route of a big table in little memory: the full Internet table
//! (1 000 000 IPv4 + 200 000 IPv6 routes) as [`Route`]s takes ~170 MB; as
//! packed records 24 bytes per IPv4 route and 48 per IPv6 one (~35 MB).
//!
//! A route packs when it has only the common fields: main table, no source
//! prefix, no TOS, no `src`, one path. Default routes (a handful, which the
//! findings read) and routes with rare fields (connected routes' `src`,
//! multipath, other tables' defaults) stay whole beside the records.
//!
//! Positions follow the dashboard's order: default routes first (IPv4,
//! then IPv6), then the other IPv4 routes, then the other IPv6 ones, each
//! group in the kernel's dump order, with routes added later at its end.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

use crate::model::{Family, Protocol, Route, RouteKind, Scope, MAIN_TABLE};

const HAS_GATEWAY: u8 = 1;
const HAS_OIF: u8 = 2;
const HAS_METRIC: u8 = 4;
const ONLINK: u8 = 8;
/// The route is kept whole in `RouteStore::whole`, at the index the
/// record's `gateway` holds.
const WHOLE: u8 = 16;

/// One route in `N`-byte addresses (4 for IPv4, 16 for IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Packed<const N: usize> {
    destination: [u8; N],
    gateway: [u8; N],
    oif: u32,
    metric: u32,
    prefix_len: u8,
    protocol: u8,
    scope: u8,
    kind: u8,
    flags: u8,
}

/// Every route of a snapshot, packed. See the module's notes.
#[derive(Clone, Debug, Default)]
pub struct RouteStore {
    /// Default routes whole: IPv4 ones, then IPv6 ones.
    defaults: Vec<Route>,
    v4: Vec<Packed<4>>,
    v6: Vec<Packed<16>>,
    /// Routes that do not pack, each at the index its record names; a
    /// removed one leaves a free slot (listed in `free`) for the next.
    whole: Vec<Option<Route>>,
    free: Vec<u32>,
}

impl PartialEq for RouteStore {
    /// The same routes in the same order (however the slots are laid out).
    fn eq(&self, other: &RouteStore) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for RouteStore {}

fn packs(route: &Route) -> bool {
    route.table == MAIN_TABLE
        && route.source.is_none()
        && route.tos == 0
        && route.prefsrc.is_none()
        && route.nexthops.is_empty()
        // An IPv4 route via an IPv6 gateway (`via inet6`, RFC 5549) does
        // not fit an IPv4 record.
        && route.gateway.is_none_or(|g| Family::of(&g) == route.family)
}

fn octets<const N: usize>(ip: IpAddr) -> [u8; N] {
    let mut out = [0; N];
    match ip {
        IpAddr::V4(a) => out.copy_from_slice(&a.octets()[..N.min(4)]),
        IpAddr::V6(a) => out.copy_from_slice(&a.octets()[..N.min(16)]),
    }
    out
}

fn address<const N: usize>(octets: [u8; N]) -> IpAddr {
    if N == 4 {
        let mut a = [0; 4];
        a.copy_from_slice(&octets[..4]);
        IpAddr::V4(Ipv4Addr::from(a))
    } else {
        let mut a = [0; 16];
        a.copy_from_slice(&octets[..16]);
        IpAddr::V6(Ipv6Addr::from(a))
    }
}

impl<const N: usize> Packed<N> {
    /// The record of a route that packs; `whole` names the slot of one
    /// that does not.
    fn of(route: &Route, whole: Option<u32>) -> Packed<N> {
        let mut flags = 0;
        let mut gateway = [0; N];
        if let Some(i) = whole {
            flags |= WHOLE;
            gateway[..4].copy_from_slice(&i.to_le_bytes());
        } else if let Some(gw) = route.gateway {
            flags |= HAS_GATEWAY;
            gateway = octets(gw);
        }
        if route.oif.is_some() {
            flags |= HAS_OIF;
        }
        if route.metric.is_some() {
            flags |= HAS_METRIC;
        }
        if route.onlink {
            flags |= ONLINK;
        }
        Packed {
            destination: octets(route.destination.ip()),
            gateway,
            oif: route.oif.unwrap_or(0),
            metric: route.metric.unwrap_or(0),
            prefix_len: route.destination.prefix(),
            protocol: route.protocol.0,
            scope: route.scope.0,
            kind: route.kind.0,
            flags,
        }
    }

    fn whole_index(&self) -> Option<u32> {
        (self.flags & WHOLE != 0).then(|| {
            u32::from_le_bytes([
                self.gateway[0],
                self.gateway[1],
                self.gateway[2],
                self.gateway[3],
            ])
        })
    }

    fn route(&self, whole: &[Option<Route>]) -> Route {
        if let Some(i) = self.whole_index() {
            if let Some(Some(r)) = whole.get(i as usize) {
                return r.clone();
            }
        }
        let flag = |f: u8| self.flags & f != 0;
        let destination = IpNetwork::new(address(self.destination), self.prefix_len)
            .expect("packed from a valid prefix");
        Route {
            family: if N == 4 { Family::Ipv4 } else { Family::Ipv6 },
            destination,
            source: None,
            tos: 0,
            gateway: flag(HAS_GATEWAY).then(|| address(self.gateway)),
            oif: flag(HAS_OIF).then_some(self.oif),
            metric: flag(HAS_METRIC).then_some(self.metric),
            protocol: Protocol(self.protocol),
            scope: Scope(self.scope),
            kind: RouteKind(self.kind),
            table: MAIN_TABLE,
            prefsrc: None,
            onlink: flag(ONLINK),
            nexthops: Vec::new(),
        }
    }
}

/// The words around the destination of the last run of routes that
/// [`RouteStore::filter_lines`] met, and whether they hold the text.
struct Run<const N: usize> {
    /// The record with its destination zeroed: what the run shares.
    key: Packed<N>,
    /// Before the destination (`unreachable `) and after it.
    before: String,
    after: String,
    /// The text is in `before` or `after`: every route of the run matches.
    all: bool,
}

#[derive(Default)]
struct Runs<const N: usize> {
    last: Option<Run<N>>,
    /// The key of the last route that was not in the last run: a run is
    /// set up only when a second route shares it (a table whose routes
    /// each have their own metric has no runs, and pays for none).
    missed: Option<Packed<N>>,
}

impl<const N: usize> Runs<N> {
    fn holds(
        &mut self,
        p: &Packed<N>,
        whole: &[Option<Route>],
        text: &str,
        line: &impl Fn(&Route) -> String,
        destination: &mut String,
    ) -> bool {
        if p.flags & WHOLE != 0 {
            return line(&p.route(whole)).contains(text);
        }
        let key = Packed {
            destination: [0; N],
            prefix_len: 0,
            ..*p
        };
        let run = match &mut self.last {
            Some(run) if run.key == key => run,
            _ if self.missed != Some(key) => {
                self.missed = Some(key);
                return line(&p.route(whole)).contains(text);
            }
            last => {
                let route = p.route(whole);
                let full = line(&route);
                destination.clear();
                write_destination(destination, &route);
                // The kind's word comes first and holds no digit, so the
                // first occurrence is the destination.
                let Some(at) = full.find(destination.as_str()) else {
                    return full.contains(text);
                };
                let (before, after) = (&full[..at], &full[at + destination.len()..]);
                last.insert(Run {
                    key,
                    all: before.contains(text) || after.contains(text),
                    before: before.to_string(),
                    after: after.to_string(),
                })
            }
        };
        if run.all {
            return true;
        }
        // The text may also straddle the destination's edges: the
        // destination with as much of its neighbours as could take part,
        // written into the one buffer (no allocation per route).
        let width = text.len().saturating_sub(1);
        destination.clear();
        destination.push_str(tail(&run.before, width));
        write_packed_destination(destination, p);
        destination.push_str(head(&run.after, width));
        holds(destination.as_bytes(), text.as_bytes())
    }
}

/// Whether `needle` is in `hay`: for haystacks of a few dozen bytes, a
/// plain scan beats setting up `str::contains`' searcher once per route.
fn holds(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    hay.windows(needle.len())
        .any(|w| w[0] == first && w == needle)
}

/// The last `n` bytes of `s` or a little more (to a character boundary).
fn tail(s: &str, n: usize) -> &str {
    let mut at = s.len().saturating_sub(n);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    &s[at..]
}

/// The first `n` bytes of `s` or a little more (to a character boundary).
fn head(s: &str, n: usize) -> &str {
    let mut at = n.min(s.len());
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[..at]
}

/// The destination as `ip route` prints it: a host prefix as the bare
/// address (as `text::route_line` writes it).
fn write_destination(s: &mut String, route: &Route) {
    use std::fmt::Write;
    let host = match route.family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    let (ip, len) = (route.destination.ip(), route.destination.prefix());
    if len == host {
        let _ = write!(s, "{ip}");
    } else {
        let _ = write!(s, "{ip}/{len}");
    }
}

/// [`write_destination`] of a packed route, IPv4 written by hand (the
/// filter writes a million of them).
fn write_packed_destination<const N: usize>(s: &mut String, p: &Packed<N>) {
    use std::fmt::Write;
    if N != 4 {
        match address(p.destination) {
            IpAddr::V6(ip) => push_ipv6(s, ip),
            ip => _ = write!(s, "{ip}"),
        }
        if p.prefix_len != 128 {
            s.push('/');
            push_number(s, u32::from(p.prefix_len));
        }
        return;
    }
    for (i, octet) in p.destination.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        push_number(s, u32::from(*octet));
    }
    if p.prefix_len != 32 {
        s.push('/');
        push_number(s, u32::from(p.prefix_len));
    }
}

/// An IPv6 address as `Ipv6Addr`'s Display writes it (RFC 5952: the
/// first longest run of two or more zero groups as `::`), without the
/// formatting machinery; IPv4-mapped ones by Display itself.
fn push_ipv6(s: &mut String, ip: Ipv6Addr) {
    use std::fmt::Write;
    let g = ip.segments();
    if g[..5] == [0; 5] && g[5] == 0xffff {
        let _ = write!(s, "{ip}");
        return;
    }
    // The longest run of zero groups (the first of equal ones).
    let (mut best, mut best_len, mut run) = (0, 0, 0);
    for (i, group) in g.iter().enumerate() {
        if *group == 0 {
            run += 1;
            if run > best_len {
                (best, best_len) = (i + 1 - run, run);
            }
        } else {
            run = 0;
        }
    }
    let hex = |s: &mut String, group: u16| {
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let digit = (group >> shift) & 0xf;
            if digit != 0 || started || shift == 0 {
                started = true;
                s.push(char::from(b"0123456789abcdef"[digit as usize]));
            }
        }
    };
    if best_len < 2 {
        for (i, group) in g.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            hex(s, *group);
        }
        return;
    }
    for (i, group) in g[..best].iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        hex(s, *group);
    }
    s.push_str("::");
    for (i, group) in g[best + best_len..].iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        hex(s, *group);
    }
}

fn push_number(s: &mut String, n: u32) {
    if n >= 100 {
        s.push(char::from(b'0' + (n / 100) as u8));
    }
    if n >= 10 {
        s.push(char::from(b'0' + (n / 10 % 10) as u8));
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

impl RouteStore {
    /// Every route of `routes`, in their order within each group.
    pub fn of<'a>(routes: impl IntoIterator<Item = &'a Route>) -> RouteStore {
        let mut store = RouteStore::default();
        routes.into_iter().for_each(|r| store.push(r));
        store
    }

    /// Add `route` at the end of its group.
    pub fn push(&mut self, route: &Route) {
        if route.is_default() {
            let at = match route.family {
                Family::Ipv4 => self.defaults_of(Family::Ipv4),
                Family::Ipv6 => self.defaults.len(),
            };
            self.defaults.insert(at, route.clone());
            return;
        }
        let whole = (!packs(route)).then(|| self.keep_whole(route));
        match route.family {
            Family::Ipv4 => self.v4.push(Packed::of(route, whole)),
            Family::Ipv6 => self.v6.push(Packed::of(route, whole)),
        }
    }

    fn keep_whole(&mut self, route: &Route) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.whole[i as usize] = Some(route.clone());
                i
            }
            None => {
                self.whole.push(Some(route.clone()));
                (self.whole.len() - 1) as u32
            }
        }
    }

    /// How many routes.
    pub fn len(&self) -> usize {
        self.defaults.len() + self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many default routes of `family`.
    fn defaults_of(&self, family: Family) -> usize {
        self.defaults.iter().filter(|r| r.family == family).count()
    }

    /// How many default routes (they come first).
    pub fn defaults(&self) -> usize {
        self.defaults.len()
    }

    /// The positions of `family`'s routes that are not defaults.
    pub fn others(&self, family: Family) -> std::ops::Range<usize> {
        let start = self.defaults.len();
        match family {
            Family::Ipv4 => start..start + self.v4.len(),
            Family::Ipv6 => start + self.v4.len()..self.len(),
        }
    }

    /// The family of the route at `at` (a position below [`len`](Self::len)).
    pub fn family_at(&self, at: usize) -> Family {
        if at < self.defaults.len() {
            self.defaults[at].family
        } else if at < self.defaults.len() + self.v4.len() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }
    }

    /// The route at `at`, whole; `None` past the end.
    pub fn get(&self, at: usize) -> Option<Route> {
        let d = self.defaults.len();
        if at < d {
            return Some(self.defaults[at].clone());
        }
        if at < d + self.v4.len() {
            return Some(self.v4[at - d].route(&self.whole));
        }
        self.v6
            .get(at - d - self.v4.len())
            .map(|p| p.route(&self.whole))
    }

    /// Every route, whole, one at a time, in position order.
    pub fn iter(&self) -> impl Iterator<Item = Route> + '_ {
        self.defaults.iter().cloned().chain(
            self.v4
                .iter()
                .map(|p| p.route(&self.whole))
                .chain(self.v6.iter().map(|p| p.route(&self.whole))),
        )
    }

    /// Where `route` is (equal in every field), if it is here.
    pub fn position(&self, route: &Route) -> Option<usize> {
        self.find(route, |r| r == route)
    }

    /// A route the kernel takes for the same one as `route` (family, table,
    /// destination, source prefix, TOS and metric: `replace` swaps it).
    pub fn same_key(&self, route: &Route) -> Option<(usize, Route)> {
        let at = self.find(route, |r| {
            r.table == route.table
                && r.destination == route.destination
                && r.source == route.source
                && r.tos == route.tos
                && r.metric == route.metric
        })?;
        Some((at, self.get(at)?))
    }

    /// The first position of `route`'s group whose route passes `test`;
    /// the records are compared on destination first, so only routes to
    /// the same prefix are unpacked.
    fn find(&self, route: &Route, test: impl Fn(&Route) -> bool) -> Option<usize> {
        if route.is_default() {
            return self.defaults.iter().position(test);
        }
        let d = self.defaults.len();
        let (dest, len) = (route.destination.ip(), route.destination.prefix());
        match route.family {
            Family::Ipv4 => {
                let want: [u8; 4] = octets(dest);
                self.v4
                    .iter()
                    .position(|p| {
                        p.destination == want && p.prefix_len == len && test(&p.route(&self.whole))
                    })
                    .map(|i| d + i)
            }
            Family::Ipv6 => {
                let want: [u8; 16] = octets(dest);
                self.v6
                    .iter()
                    .position(|p| {
                        p.destination == want && p.prefix_len == len && test(&p.route(&self.whole))
                    })
                    .map(|i| d + self.v4.len() + i)
            }
        }
    }

    /// Take the route at `at` out; later positions move up by one.
    pub fn remove(&mut self, at: usize) {
        let d = self.defaults.len();
        let packed = if at < d {
            self.defaults.remove(at);
            return;
        } else if at < d + self.v4.len() {
            self.v4.remove(at - d).whole_index()
        } else {
            self.v6.remove(at - d - self.v4.len()).whole_index()
        };
        if let Some(i) = packed {
            self.whole[i as usize] = None;
            self.free.push(i);
        }
    }

    /// The positions among `positions` whose line (as `line` writes a
    /// route: `text::route_line`) holds `text`, in their order.
    ///
    /// A line is the same words around its destination for every route of
    /// a run that shares gateway, device, metric, protocol, scope and kind
    /// (a BGP feed's routes do): those words are written once per run, and
    /// a route of the run is tested on its destination alone, written
    /// into a small buffer. So 1 200 000 routes are tested in milliseconds
    /// rather than formatted one by one.
    pub fn filter_lines(
        &self,
        positions: impl Iterator<Item = usize>,
        text: &str,
        line: impl Fn(&Route) -> String,
    ) -> Vec<u32> {
        let d = self.defaults.len();
        let mut v4 = Runs::default();
        let mut v6 = Runs::default();
        let mut destination = String::with_capacity(48);
        positions
            .filter(|&at| {
                if at < d {
                    return line(&self.defaults[at]).contains(text);
                }
                if at < d + self.v4.len() {
                    v4.holds(&self.v4[at - d], &self.whole, text, &line, &mut destination)
                } else {
                    let p = &self.v6[at - d - self.v4.len()];
                    v6.holds(p, &self.whole, text, &line, &mut destination)
                }
            })
            .map(|at| at as u32)
            .collect()
    }

    /// Every route whose destination (prefix and length) is that of one
    /// of `named` in the same group, with its position, ascending; every
    /// default route if a default is named. One pass over the records,
    /// unpacking only those candidates: what a batch of changes needs
    /// to know of the table (see `patch::apply_routes`).
    pub fn named<'a>(&self, named: impl IntoIterator<Item = &'a Route>) -> Vec<(usize, Route)> {
        let mut defaults = false;
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for r in named {
            let (dest, len) = (r.destination.ip(), r.destination.prefix());
            if r.is_default() {
                defaults = true;
            } else if r.family == Family::Ipv4 {
                v4.push((octets::<4>(dest), len));
            } else {
                v6.push((octets::<16>(dest), len));
            }
        }
        let (v4, v6) = (Keys::of(v4), Keys::of(v6));
        let d = self.defaults.len();
        let mut out: Vec<(usize, Route)> = Vec::new();
        if defaults {
            out.extend(self.defaults.iter().cloned().enumerate());
        }
        if !v4.is_empty() {
            out.extend(
                self.v4
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| v4.contains(&(p.destination, p.prefix_len)))
                    .map(|(i, p)| (d + i, p.route(&self.whole))),
            );
        }
        if !v6.is_empty() {
            let at = d + self.v4.len();
            out.extend(
                self.v6
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| v6.contains(&(p.destination, p.prefix_len)))
                    .map(|(i, p)| (at + i, p.route(&self.whole))),
            );
        }
        out
    }

    /// Take out the routes at `removed` (positions, ascending) in one
    /// pass, then add `added` in their order (each at the end of its
    /// group, as [`push`](Self::push)): what a batch of changes does, at
    /// the cost of one compaction rather than a memmove per route. Says
    /// how positions moved.
    pub fn splice<'a>(
        &mut self,
        removed: &[usize],
        added: impl IntoIterator<Item = &'a Route>,
    ) -> Patch {
        let d4 = self.defaults_of(Family::Ipv4);
        let d = self.defaults.len();
        let ends = [d4, d, d + self.v4.len(), self.len()];
        let mut removed: Vec<usize> = removed.iter().copied().filter(|&at| at < ends[3]).collect();
        removed.sort_unstable();
        removed.dedup();
        // Each group compacted once, and only if it loses a route.
        let cut = |end: usize| removed.partition_point(|&r| r < end);
        let (in_v4, in_v6) = (cut(ends[1]), cut(ends[2]));
        compact(&mut self.defaults, 0, &removed[..in_v4], |_| {});
        let (whole, free) = (&mut self.whole, &mut self.free);
        let mut free_slot = |slot: Option<u32>| {
            if let Some(i) = slot {
                if let Some(w) = whole.get_mut(i as usize) {
                    *w = None;
                    free.push(i);
                }
            }
        };
        compact(&mut self.v4, ends[1], &removed[in_v4..in_v6], |p| {
            free_slot(p.whole_index())
        });
        compact(&mut self.v6, ends[2], &removed[in_v6..], |p| {
            free_slot(p.whole_index())
        });
        let mut added_in = [0; 4];
        for route in added {
            let group = match (route.is_default(), route.family) {
                (true, Family::Ipv4) => 0,
                (true, Family::Ipv6) => 1,
                (false, Family::Ipv4) => 2,
                (false, Family::Ipv6) => 3,
            };
            added_in[group] += 1;
            self.push(route);
        }
        Patch::new(removed, ends, added_in)
    }

    /// Bytes held (records, whole routes, the vectors' spare room): what
    /// the benchmark reports beside the process's RSS.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.defaults.capacity() * size_of::<Route>()
            + self.v4.capacity() * size_of::<Packed<4>>()
            + self.v6.capacity() * size_of::<Packed<16>>()
            + self.whole.capacity() * size_of::<Option<Route>>()
            + self.free.capacity() * 4
    }
}

/// How positions moved when a batch of changes was applied
/// ([`RouteStore::splice`]): the routes removed, and how many were added
/// at the end of each group (IPv4 defaults, IPv6 defaults, other IPv4
/// routes, other IPv6 ones). So a view that knew positions before (a
/// filter's matches, a scan's progress) can carry them over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patch {
    /// Old positions, ascending.
    removed: Vec<usize>,
    /// Where each group ended before.
    ends: [usize; 4],
    /// How many were added to each group.
    added_in: [usize; 4],
    /// The new positions of the added routes, ascending.
    added: Vec<usize>,
}

impl Patch {
    fn new(removed: Vec<usize>, ends: [usize; 4], added_in: [usize; 4]) -> Patch {
        let mut added = Vec::with_capacity(added_in.iter().sum());
        let (mut start, mut old_start) = (0, 0);
        for g in 0..4 {
            let gone = removed.partition_point(|&r| r < ends[g])
                - removed.partition_point(|&r| r < old_start);
            let kept = ends[g] - old_start - gone;
            added.extend(start + kept..start + kept + added_in[g]);
            start += kept + added_in[g];
            old_start = ends[g];
        }
        Patch {
            removed,
            ends,
            added_in,
            added,
        }
    }

    /// The new positions of the routes that were at `olds` (ascending),
    /// of those that stay (a removed one, or one past the end, gives
    /// none), in one walk along the removed positions: a filter's million
    /// matches are carried over a batch in milliseconds, not a search each.
    pub fn moved<'a>(
        &'a self,
        olds: impl Iterator<Item = usize> + 'a,
    ) -> impl Iterator<Item = usize> + 'a {
        let mut gone = 0;
        olds.filter_map(move |old| {
            while self.removed.get(gone).is_some_and(|&r| r < old) {
                gone += 1;
            }
            if old >= self.ends[3] || self.removed.get(gone) == Some(&old) {
                return None;
            }
            // Routes added to the groups before `old`'s went in before it.
            let before: usize = (0..4)
                .filter(|&g| self.ends[g] <= old)
                .map(|g| self.added_in[g])
                .sum();
            Some(old - gone + before)
        })
    }

    /// For a scan that had looked at every position below `old` (0..=old
    /// len): the new position with every surviving route that was below
    /// `old` below it, and every surviving route at or above `old` at or
    /// above it. Routes added at the end of a group that ends right at
    /// `old` fall at or above it: a scan going on from there meets them.
    pub fn boundary(&self, old: usize) -> usize {
        let old = old.min(self.ends[3]);
        let before: usize = (0..4)
            .filter(|&g| self.ends[g] < old)
            .map(|g| self.added_in[g])
            .sum();
        old - self.removed.partition_point(|&r| r < old) + before
    }

    /// The new positions of the routes added, ascending.
    pub fn added(&self) -> &[usize] {
        &self.added
    }

    /// Nothing moved: no route removed or added.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// Take the items at `gone` (positions counted from `start`, ascending)
/// out of `items` in one pass, each shown to `removed` as it goes.
fn compact<T>(items: &mut Vec<T>, start: usize, gone: &[usize], mut removed: impl FnMut(&T)) {
    if gone.is_empty() {
        return;
    }
    let mut at = start;
    let mut gone = gone.iter().peekable();
    items.retain(|item| {
        let hit = gone.peek() == Some(&&at);
        at += 1;
        if hit {
            gone.next();
            removed(item);
        }
        !hit
    });
}

/// The destinations (address and length) a batch names: a few are
/// compared in turn (a lone change costs what one scan did), more are
/// hashed.
enum Keys<K> {
    Few(Vec<K>),
    Many(HashSet<K, Quick>),
}

impl<K: Eq + std::hash::Hash> Keys<K> {
    fn of(mut keys: Vec<K>) -> Keys<K> {
        if keys.len() <= 2 {
            keys.dedup();
            Keys::Few(keys)
        } else {
            Keys::Many(keys.into_iter().collect())
        }
    }

    fn contains(&self, key: &K) -> bool {
        match self {
            Keys::Few(keys) => keys.contains(key),
            Keys::Many(keys) => keys.contains(key),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Keys::Few(keys) => keys.is_empty(),
            Keys::Many(keys) => keys.is_empty(),
        }
    }
}

/// The hasher for the keys of a batch (a destination and its length):
/// `named` hashes every record of the table, a million of them, where
/// SipHash would cost more than the pass itself. foldhash is seeded per
/// process, so the prefixes a BGP peer announces cannot be picked to
/// collide.
pub(crate) type Quick = foldhash::fast::RandomState;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, default_route, many_routes};
    use crate::model::NextHop;

    /// Routes of every shape: packed, whole, defaults of both families.
    fn routes() -> Vec<Route> {
        let mut routes = fixtures::seed_vm_fixed().routes;
        routes.extend(many_routes(2, 50).routes);
        let mut ecmp = default_route("10.0.250.1", 2, Protocol::STATIC, Some(7));
        ecmp.destination = "172.17.0.0/16".parse().unwrap();
        ecmp.gateway = None;
        ecmp.oif = None;
        ecmp.nexthops = vec![
            NextHop {
                gateway: Some("10.0.250.1".parse().unwrap()),
                oif: Some(2),
                weight: 1,
                onlink: false,
            },
            NextHop {
                gateway: Some("10.0.250.2".parse().unwrap()),
                oif: Some(2),
                weight: 2,
                onlink: true,
            },
        ];
        routes.push(ecmp);
        let mut sourced = default_route("2001:db8:69f5::1", 3, Protocol::RA, None);
        sourced.destination = "2001:db8:1::/48".parse().unwrap();
        sourced.source = Some("2001:db8:69f5::/64".parse().unwrap());
        sourced.onlink = true;
        routes.push(sourced);
        // An IPv4 route via an IPv6 gateway (`via inet6`).
        let mut via_inet6 = default_route("fe80::1", 2, Protocol::STATIC, None);
        via_inet6.family = Family::Ipv4;
        via_inet6.destination = "198.18.0.0/15".parse().unwrap();
        routes.push(via_inet6);
        let mut other_table = default_route("192.0.2.1", 2, Protocol::STATIC, None);
        other_table.table = 100;
        routes.push(other_table);
        // Each once: a position names one route.
        let mut once: Vec<Route> = Vec::new();
        for r in routes {
            if !once.contains(&r) {
                once.push(r);
            }
        }
        once
    }

    /// The dashboard's order: defaults (IPv4, IPv6), then the others per
    /// family, each in the order given.
    fn in_order(routes: &[Route]) -> Vec<Route> {
        let mut out = Vec::new();
        for defaults in [true, false] {
            for family in Family::BOTH {
                out.extend(
                    routes
                        .iter()
                        .filter(|r| r.family == family && r.is_default() == defaults)
                        .cloned(),
                );
            }
        }
        out
    }

    #[test]
    fn every_route_comes_back_whole_in_the_panels_order() {
        let routes = routes();
        let store = RouteStore::of(&routes);
        assert_eq!(store.len(), routes.len());
        let back: Vec<Route> = store.iter().collect();
        assert_eq!(back, in_order(&routes));
        for (i, r) in back.iter().enumerate() {
            assert_eq!(store.get(i).as_ref(), Some(r));
            assert_eq!(store.family_at(i), r.family);
            assert_eq!(store.position(r), Some(i));
        }
        assert_eq!(store.get(routes.len()), None);
    }

    #[test]
    fn removed_routes_are_gone_and_their_slots_serve_the_next() {
        let routes = routes();
        let mut store = RouteStore::of(&routes);
        let mut expected = in_order(&routes);
        // Remove every third route, the whole ones among them.
        for r in routes.iter().step_by(3) {
            let at = store.position(r).expect("there");
            store.remove(at);
            expected.retain(|e| e != r);
            assert_eq!(store.position(r), None);
        }
        assert_eq!(store.iter().collect::<Vec<_>>(), expected);
        for r in routes.iter().step_by(3) {
            store.push(r);
        }
        let mut again = expected.clone();
        again.extend(routes.iter().step_by(3).cloned());
        assert_eq!(store.iter().collect::<Vec<_>>(), in_order(&again));
    }

    #[test]
    fn the_same_key_finds_a_route_with_another_gateway() {
        let routes = routes();
        let store = RouteStore::of(&routes);
        let mut other = routes[routes.len() / 2].clone();
        other.gateway = Some("10.9.9.9".parse().unwrap());
        let (at, found) = store.same_key(&other).expect("same key");
        assert_eq!(Some(found.clone()), store.get(at));
        assert_ne!(found, other);
        other.metric = Some(4242);
        assert!(store.same_key(&other).is_none());
    }

    #[test]
    fn the_filter_finds_the_lines_that_hold_the_text_as_formatting_each_would() {
        let mut routes = routes();
        // Runs of routes sharing their words, host routes among them.
        for i in 0..300u32 {
            let mut r = default_route("10.0.250.2", 2, Protocol(186), None);
            r.destination = format!("{}.{}.{}.0/{}", 1 + i / 100, i % 7, i % 256, 16 + i % 17)
                .parse()
                .unwrap();
            routes.push(r);
            let mut r = default_route("2001:db8:69f5::2", 3, Protocol(186), Some(1024));
            r.destination = format!("2001:{:x}::/{}", 0x1000 + i, 48 + i % 81)
                .parse()
                .unwrap();
            routes.push(r);
        }
        let store = RouteStore::of(&routes);
        let names = fixtures::seed_vm();
        let line = |r: &Route| crate::text::route_line(r, &names);
        for text in [
            "1",
            "10",
            "10.",
            "1.2",
            "2.0/",
            "0/2",
            "0/24 via",
            "4 via 1",
            "dev eth0",
            "bgp",
            "::/4",
            "2001:10",
            "1f::/",
            "/128",
            "9 via",
            "unreachable",
            "",
            "zzz",
            "0.0.0.0",
            "default",
            ".5.",
            "/3",
        ] {
            let slow: Vec<u32> = (0..store.len())
                .filter(|&at| line(&store.get(at).unwrap()).contains(text))
                .map(|at| at as u32)
                .collect();
            assert_eq!(
                store.filter_lines(0..store.len(), text, line),
                slow,
                "{text:?}"
            );
        }
    }

    #[test]
    fn ipv6_addresses_are_written_as_display_writes_them() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut s = String::new();
        for i in 0..20_000 {
            let mut g = [0u16; 8];
            for group in &mut g {
                // Mostly zeros, so that runs of every length and place occur.
                let r = next();
                *group = if r % 3 == 0 {
                    (r >> 8) as u16 >> (r % 16)
                } else {
                    0
                };
            }
            if i % 500 == 0 {
                g = [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304];
            }
            let ip = Ipv6Addr::from(g);
            s.clear();
            push_ipv6(&mut s, ip);
            assert_eq!(s, ip.to_string(), "{g:x?}");
        }
    }

    #[test]
    fn records_are_small() {
        assert_eq!(std::mem::size_of::<Packed<4>>(), 24);
        assert_eq!(std::mem::size_of::<Packed<16>>(), 48);
    }
}
