//! What the dashboard shows, already in display form: the network as
//! banner lines, interface rows and iproute2 route lines, and the configured
//! commands with their state and output. Built once per snapshot (or per
//! config load), so drawing a frame only slices what is visible.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use inject_net::{route_line, Family, RouteStore, Snapshot};

/// How a banner line reads: fine, worth a look, or broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Nothing wrong, nothing to see (a family that is not configured).
    Info,
    /// What to do about the line above.
    Hint,
    Warn,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BannerLine {
    pub health: Health,
    pub text: String,
}

/// One row of the interfaces table, as `ip -br addr` would show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceRow {
    pub name: String,
    pub state: String,
    pub mtu: String,
    /// Addresses of both families, `addr/prefix`, IPv4 first.
    pub addresses: Vec<String>,
}

/// The routes panel's list: every route packed ([`RouteStore`]), each
/// line formatted only when it is drawn or a filter reads it, so 1 200 000
/// routes cost ~35 MB rather than a `String` each.
#[derive(Clone, Debug, Default)]
pub struct RouteList {
    store: RouteStore,
    /// The links, whose names the lines give each route's device.
    names: Snapshot,
    /// The last query's positions: redrawing or scrolling under a filter
    /// reuses them, and a filter that grows (typed on) narrows them.
    cache: RefCell<Option<(RouteQuery, Arc<Vec<u32>>)>>,
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

impl PartialEq for RouteList {
    /// The same routes named the same way (the cache is no part of it).
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
            cache: RefCell::default(),
        }
    }

    pub fn store(&self) -> &RouteStore {
        &self.store
    }

    /// The store, to change: the cached query is dropped.
    pub fn store_mut(&mut self) -> &mut RouteStore {
        *self.cache.get_mut() = None;
        &mut self.store
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

    /// The routes `query` lists: every one without a query; else from the
    /// cache when the query is the last one, or narrowed from it when only
    /// the text grew; else one pass over the store.
    pub fn shown(&self, query: &RouteQuery) -> Shown {
        if *query == RouteQuery::default() {
            return Shown::All(self.store.len());
        }
        let mut cache = self.cache.borrow_mut();
        if let Some((last, positions)) = cache.as_ref() {
            if last == query {
                return Shown::Some(positions.clone());
            }
        }
        let narrowed = cache.as_ref().and_then(|(last, positions)| {
            let grew = last.family == query.family
                && last.defaults == query.defaults
                && match (&last.text, &query.text) {
                    (None, _) => true,
                    (Some(old), Some(new)) => new.contains(old.as_str()),
                    (Some(_), None) => false,
                };
            grew.then(|| self.filter(positions.iter().map(|&p| p as usize), query))
        });
        let positions =
            Arc::new(narrowed.unwrap_or_else(|| self.filter(self.candidates(query), query)));
        *cache = Some((query.clone(), positions.clone()));
        Shown::Some(positions)
    }

    /// The positions `query`'s family and `d` allow: ranges, no lines read
    /// (concrete ranges, not a boxed iterator: the filter walks a million).
    fn candidates(
        &self,
        query: &RouteQuery,
    ) -> std::iter::Flatten<std::vec::IntoIter<Range<usize>>> {
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
        ranges.into_iter().flatten()
    }

    fn filter(&self, positions: impl Iterator<Item = usize>, query: &RouteQuery) -> Vec<u32> {
        let family = query.family();
        let Some(text) = query.text.as_deref() else {
            return positions
                .filter(|&at| {
                    (!query.defaults || self.is_default(at))
                        && family.is_none_or(|f| self.store.family_at(at) == f)
                })
                .map(|at| at as u32)
                .collect();
        };
        let allowed = positions.filter(|&at| {
            (!query.defaults || self.is_default(at))
                && family.is_none_or(|f| self.store.family_at(at) == f)
        });
        self.store
            .filter_lines(allowed, text, |r| route_line(r, &self.names))
    }

    /// The store changed as `patch` says: keep what the cache knows.
    pub fn patched(&mut self, _patch: &inject_net::Patch) {
        *self.cache.get_mut() = None;
    }
}

/// The network side of the screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetView {
    pub banner: Vec<BannerLine>,
    pub interfaces: Vec<InterfaceRow>,
    /// Default routes first, then the others; IPv4 before IPv6 in each group.
    pub routes: RouteList,
    /// The findings shown in `banner`, errors first, with the configured
    /// commands that fix each (from the finding's data, never its words).
    pub findings: Vec<BannerFinding>,
    /// The first read is still reading routes: this many so far. Until it
    /// ends the view has interfaces and no route and no finding.
    pub reading: Option<usize>,
}

/// A finding as the banner shows it: where, which, and its fixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BannerFinding {
    /// Index of its first line in `NetView::banner`.
    pub line: usize,
    pub key: FindingKey,
    /// The names of the configured commands that fix it.
    pub fixes: Vec<String>,
}

/// What a finding is about, to tell whether it is still there after a fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingKey {
    pub code: inject_net::Code,
    pub family: Option<inject_net::Family>,
    pub interface: Option<String>,
    /// Its message, to say which one cleared.
    pub message: String,
}

impl FindingKey {
    /// Whether `other` is the same finding (its message may change: a
    /// count of routes, an address).
    pub fn same(&self, other: &FindingKey) -> bool {
        self.code == other.code && self.family == other.family && self.interface == other.interface
    }
}

/// Where a command's run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdState {
    Pending,
    Running,
    Ok,
    Skipped,
    Failed,
    TimedOut,
    Cancelled,
}

impl CmdState {
    pub fn label(self) -> &'static str {
        match self {
            CmdState::Pending => "never run",
            CmdState::Running => "running",
            CmdState::Ok => "ok",
            CmdState::Skipped => "skipped",
            CmdState::Failed => "failed",
            CmdState::TimedOut => "timed out",
            CmdState::Cancelled => "cancelled",
        }
    }
}

/// Which stream an output line came from; `Info` is the runner's own word
/// (guard result, exit status, retries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutStream {
    Stdout,
    Stderr,
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutLine {
    pub stream: OutStream,
    pub text: String,
}

/// A configured command as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRow {
    pub name: String,
    /// The exact command, or a redaction when the command is sensitive.
    pub run: String,
    pub unless: Option<String>,
    pub only_if: Option<String>,
    pub timeout: Option<Duration>,
    /// Runs again this many times after a failure, this long apart.
    pub retries: u32,
    pub retry_delay: Duration,
    pub sensitive: bool,
    /// `NAME=value` of the network variables the command text uses, so the
    /// confirmation shows what `$INJECT_NET_…` will be.
    pub vars: Vec<String>,
    /// The dry-run description (`inject run --dry-run` lines for this command).
    pub plan: Vec<String>,
    pub state: CmdState,
    pub last_duration: Option<Duration>,
    pub output: Vec<OutLine>,
    /// Kept true by a running `inject ensure`, as its state file says.
    pub kept: Option<Kept>,
    /// Its last result in the run log (this dashboard's runs included).
    pub past: Option<super::history::Past>,
    /// Its last run's whole output, as the run log kept it.
    pub log_file: Option<std::path::PathBuf>,
    /// Another process runs it now (the errand, a hook, ensure, another
    /// dashboard), as the run log says.
    pub held: Option<super::history::Running>,
}

/// How a running `inject ensure` keeps a command (from its state file,
/// re-read every few seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// How long ago ensure last ran the command; none if it never needed to.
    pub acted_ago: Option<Duration>,
    /// Failures in a row (ensure backs off meanwhile).
    pub failures: u32,
}

impl Kept {
    /// The word the commands panel shows under the command's own state.
    pub fn label(&self) -> &'static str {
        if self.failures > 0 {
            "failing"
        } else if self.acted_ago.is_some() {
            "acted"
        } else {
            "watching"
        }
    }
}

/// `412 000`: a count grouped by thousands, as the docs write figures.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `5s`, `3m`, `2h`, `4d`: [`format_ago`] without the `ago`.
pub fn format_age(ago: Duration) -> String {
    let text = format_ago(ago);
    text.trim_end_matches(" ago").to_string()
}

/// `5s ago`, `3m ago`, `2h ago`, `4d ago`: how long ago, roughly.
pub fn format_ago(ago: Duration) -> String {
    let s = ago.as_secs();
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86400),
    }
}

impl CommandRow {
    /// A pending command with no output yet.
    pub fn new(name: impl Into<String>, run: impl Into<String>) -> CommandRow {
        CommandRow {
            name: name.into(),
            run: run.into(),
            unless: None,
            only_if: None,
            timeout: None,
            retries: 0,
            retry_delay: Duration::ZERO,
            sensitive: false,
            vars: Vec::new(),
            plan: Vec::new(),
            state: CmdState::Pending,
            last_duration: None,
            output: Vec::new(),
            kept: None,
            past: None,
            log_file: None,
            held: None,
        }
    }
}

/// A line as a terminal leaves it: each carriage return goes back to the
/// start and what follows overwrites (`50%\r100%` reads `100%`, the last
/// state of a progress line; `abc\rX` reads `Xbc`).
pub fn after_carriage_returns(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut screen: Vec<char> = Vec::new();
    for part in text.split('\r') {
        for (at, c) in part.chars().enumerate() {
            match screen.get_mut(at) {
                Some(slot) => *slot = c,
                None => screen.push(c),
            }
        }
    }
    std::borrow::Cow::Owned(screen.into_iter().collect())
}

/// `250ms`, `1.2s`, `30s`, `2m 3s`: as the errand runner says durations.
pub use inject_errands::run_event::format_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriage_returns_leave_the_last_state_of_the_line() {
        assert_eq!(after_carriage_returns(" 10%\r 50%\r100%"), "100%");
        assert_eq!(after_carriage_returns("abc\rX"), "Xbc");
        assert_eq!(after_carriage_returns("done\r"), "done");
        assert_eq!(after_carriage_returns("plain"), "plain");
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(123)), "2m 3s");
    }

    #[test]
    fn a_filter_typed_on_narrows_to_what_a_fresh_pass_finds() {
        let snapshot = inject_net::fixtures::many_routes(3, 2_000);
        let list = RouteList::new(RouteStore::of(&snapshot.routes), snapshot.links.clone());
        let fresh = |q: &RouteQuery| -> Vec<usize> {
            (0..list.len())
                .filter(|&at| {
                    let line = list.line(at).unwrap();
                    (!q.defaults || list.is_default(at))
                        && q.family.is_none_or(|f| {
                            (list.store().family_at(at) == Family::Ipv4) == (f == "4")
                        })
                        && q.text.as_deref().is_none_or(|t| line.contains(t))
                })
                .collect()
        };
        let query = |family, defaults, text: Option<&str>| RouteQuery {
            family,
            defaults,
            text: text.map(String::from),
        };
        // Typed on, cleared, switched family and `d`, typed again: each
        // from the cache or narrowed from it, each as a fresh pass.
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
            let shown = list.shown(&q);
            let got: Vec<usize> = (0..shown.len()).map(|i| shown.get(i)).collect();
            assert_eq!(got, fresh(&q), "{q:?}");
        }
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1 000");
        assert_eq!(grouped(412_000), "412 000");
        assert_eq!(grouped(1_200_006), "1 200 006");
    }

    #[test]
    fn ages_read_in_their_largest_unit() {
        let ago = |s| format_ago(Duration::from_secs(s));
        assert_eq!(ago(0), "0s ago");
        assert_eq!(ago(59), "59s ago");
        assert_eq!(ago(200), "3m ago");
        assert_eq!(ago(7300), "2h ago");
        assert_eq!(ago(4 * 86400 + 5), "4d ago");
    }
}
