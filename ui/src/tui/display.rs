//! What the dashboard shows, already in display form: the network as
//! banner lines, interface rows and iproute2 route lines, and the configured
//! commands with their state and output. Built once per snapshot (or per
//! config load), so drawing a frame only slices what is visible.

use std::time::Duration;

use super::route_list::RouteList;

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
