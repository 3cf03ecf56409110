//! The one machine-readable line `inject run` ends with, for `inject fleet`
//! to read back out of BOSH's errand output across a deployment:
//!
//! ```text
//! inject-summary: {"v":1,"instance":{…},"phase":"errand","commands":[…],…}
//! ```
//!
//! (with `--json`, the same object as an event line: `{"event":"inject_summary","v":1,…}`).
//! Version 1; a reader refuses other versions by name rather than guessing.
//! The line is bounded ([`RESERVE`]): the run's print budget keeps that much
//! back, so the line is there even when the rest of the output was cut, and
//! the agent's reply stays under its 1 MiB. This crate holds the data type
//! only; the network half is filled in by the caller, which has netlink.

use serde::{Deserialize, Serialize};

use crate::agent::json_len;
use crate::run_event::{Outcome, Summary};

/// The version of the line's format.
pub const VERSION: u32 = 1;

/// What starts the line in text output. Nothing a command prints can start
/// a line with it: inject indents command output (`  `, `! `).
pub const PREFIX: &str = "inject-summary: ";

/// The `event` of the line with `--json`.
pub const EVENT: &str = "inject_summary";

/// Bytes of the print budget kept for the line, as the agent encodes it.
pub const RESERVE: u64 = 16 * 1024;

/// The longest text kept of a name or identity field in the line.
const TEXT_LIMIT: usize = 256;

/// The finding codes of the network inspector (its `Code`), for
/// `fail_on_findings`; a test on the inspector's side keeps them equal.
pub const FINDING_CODES: [&str; 11] = [
    "missing_default_route",
    "default_route_via_down_interface",
    "gateway_not_on_link",
    "duplicate_default_routes",
    "address_dadfailed",
    "address_tentative",
    "expected_address_missing",
    "default_route_unusable",
    "default_route_from_ra",
    "default_gateway_unreachable",
    "dump_interrupted",
];

/// The VM as BOSH names it (the job renders it from `spec`); any field
/// may be missing (`bosh create-env`, an older director).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub az: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

/// How one command ended, in the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResult {
    pub name: String,
    /// `ok`, `skipped`, `failed`, `timed_out`, `not_run` or `interrupted`.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub attempts: u32,
    /// Seconds.
    pub duration: f64,
}

impl CommandResult {
    pub fn new(name: &str, outcome: &Outcome, attempts: u32, duration: f64) -> CommandResult {
        let (result, exit_code) = match outcome {
            Outcome::Ok => ("ok", None),
            Outcome::Skipped { .. } => ("skipped", None),
            Outcome::Failed { exit_code, .. } => ("failed", *exit_code),
            Outcome::TimedOut { .. } => ("timed_out", None),
            Outcome::NotRun => ("not_run", None),
            Outcome::Interrupted => ("interrupted", None),
        };
        CommandResult {
            name: cut_str(name),
            result: result.into(),
            exit_code,
            attempts,
            duration: (duration * 1000.0).round() / 1000.0,
        }
    }

    /// Failed, timed out or interrupted: what the operator must look at.
    pub fn is_failure(&self) -> bool {
        matches!(self.result.as_str(), "failed" | "timed_out" | "interrupted")
    }
}

/// Counts of the run, as [`Summary`] has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: usize,
    pub ok: usize,
    pub skipped: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub not_run: usize,
    pub interrupted: bool,
}

impl From<&Summary> for Counts {
    fn from(s: &Summary) -> Counts {
        Counts {
            total: s.total,
            ok: s.ok,
            skipped: s.skipped,
            failed: s.failed,
            timed_out: s.timed_out,
            not_run: s.not_run,
            interrupted: s.interrupted,
        }
    }
}

/// A family's default route after the commands ran: `present`, `missing`
/// (global addresses, no default), `unusable` (defaults, none usable) or
/// `unconfigured` (no global address: nothing to route).
pub type DefaultState = String;

/// One finding, by code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRef {
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// The VM's network after the commands ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub ipv4: DefaultState,
    pub ipv6: DefaultState,
    pub findings: Vec<FindingRef>,
}

/// The whole line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub v: u32,
    #[serde(default)]
    pub instance: Instance,
    pub phase: String,
    pub counts: Counts,
    /// Each command's result, failures kept first when the line had to be
    /// cut to [`RESERVE`]; `commands_cut` says how many are not listed.
    pub commands: Vec<CommandResult>,
    #[serde(default)]
    pub commands_cut: usize,
    /// `None` when the network could not be read (`network_error` says why).
    #[serde(default)]
    pub network: Option<Network>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_error: Option<String>,
    /// The config's `fail_on_findings` codes found after the run: the
    /// errand exits [`FINDINGS_EXIT`] for them.
    #[serde(default)]
    pub failing_findings: Vec<String>,
}

/// `inject run`'s exit code when every command succeeded but a finding
/// listed in `fail_on_findings` remains.
pub const FINDINGS_EXIT: u8 = 3;

impl RunSummary {
    /// The text line, without its newline, cut to fit [`RESERVE`].
    pub fn text_line(&self) -> String {
        self.fitted(|s| format!("{PREFIX}{}", json_object(s, None)))
    }

    /// The `--json` event line.
    pub fn json_line(&self) -> String {
        self.fitted(|s| json_object(s, Some(EVENT)))
    }

    /// `render(self)`, with commands left out (successes first, then from
    /// the end) until the line and its newline fit [`RESERVE`] as the
    /// agent encodes them.
    fn fitted(&self, render: impl Fn(&RunSummary) -> String) -> String {
        let fits = |line: &str| json_len(line.as_bytes()) + 2 <= RESERVE;
        let line = render(self);
        if fits(&line) {
            return line;
        }
        let mut cut = self.clone();
        cut.instance = Instance {
            name: self.instance.name.as_deref().map(cut_str),
            id: self.instance.id.as_deref().map(cut_str),
            index: self.instance.index,
            az: self.instance.az.as_deref().map(cut_str),
            deployment: self.instance.deployment.as_deref().map(cut_str),
        };
        cut.network_error = self.network_error.as_deref().map(cut_str);
        cut.commands.retain(CommandResult::is_failure);
        loop {
            cut.commands_cut = self.commands_cut + self.commands.len() - cut.commands.len();
            let line = render(&cut);
            if fits(&line) || cut.commands.is_empty() {
                return line;
            }
            // Halve what is left: a few passes even for thousands.
            let keep = cut.commands.len() / 2;
            cut.commands.truncate(keep);
        }
    }
}

fn json_object(summary: &RunSummary, event: Option<&str>) -> String {
    #[derive(Serialize)]
    struct Tagged<'a> {
        event: &'a str,
        #[serde(flatten)]
        summary: &'a RunSummary,
    }
    match event {
        Some(event) => serde_json::to_string(&Tagged { event, summary }),
        None => serde_json::to_string(summary),
    }
    .expect("a summary serializes")
}

fn cut_str(text: &str) -> String {
    match text.char_indices().nth(TEXT_LIMIT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The summary in `stdout` (an errand's output): the last line that starts
/// with [`PREFIX`], or the last `--json` event line of [`EVENT`]. `Err`
/// when there is such a line but it cannot be read (another version, cut).
pub fn find(stdout: &str) -> Option<Result<RunSummary, String>> {
    let tag = format!("{{\"event\":\"{EVENT}\"");
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with(PREFIX) || l.starts_with(&tag))?;
    let json = line.strip_prefix(PREFIX).unwrap_or(line);
    Some(parse(json))
}

fn parse(json: &str) -> Result<RunSummary, String> {
    #[derive(Deserialize)]
    struct Versioned {
        v: u32,
    }
    let version: Versioned = serde_json::from_str(json)
        .map_err(|e| format!("its inject-summary line is not readable: {e}"))?;
    if version.v != VERSION {
        return Err(format!(
            "its inject-summary line is version {}; this inject reads version {VERSION}",
            version.v
        ));
    }
    serde_json::from_str(json).map_err(|e| format!("its inject-summary line is not readable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(commands: usize) -> RunSummary {
        RunSummary {
            v: VERSION,
            instance: Instance {
                name: Some("haproxy".into()),
                id: Some("0f1e2d3c".into()),
                index: Some(3),
                az: Some("z2".into()),
                deployment: Some("cf".into()),
            },
            phase: "errand".into(),
            counts: Counts {
                total: commands,
                ok: commands,
                ..Counts::default()
            },
            commands: (0..commands)
                .map(|i| CommandResult::new(&format!("c{i}"), &Outcome::Ok, 1, 0.0123))
                .collect(),
            commands_cut: 0,
            network: Some(Network {
                ipv4: "present".into(),
                ipv6: "missing".into(),
                findings: vec![FindingRef {
                    code: "missing_default_route".into(),
                    severity: "error".into(),
                    family: Some("ipv6".into()),
                }],
            }),
            network_error: None,
            failing_findings: vec![],
        }
    }

    #[test]
    fn the_text_line_reads_back() {
        let s = summary(2);
        let line = s.text_line();
        assert!(line.starts_with("inject-summary: {\"v\":1,"), "{line}");
        let stdout = format!("[1/1] x\n  {line}\n  => ok\n\n{line}\n");
        assert_eq!(find(&stdout).unwrap().unwrap(), s);
        assert_eq!(s.commands[0].duration, 0.012);
    }

    #[test]
    fn the_json_line_is_an_event_and_reads_back() {
        let s = summary(1);
        let line = s.json_line();
        assert!(
            line.starts_with("{\"event\":\"inject_summary\",\"v\":1"),
            "{line}"
        );
        assert_eq!(
            find(&format!("{{\"event\":\"x\"}}\n{line}\n"))
                .unwrap()
                .unwrap(),
            s
        );
    }

    #[test]
    fn an_indented_line_is_command_output_not_the_summary() {
        assert!(find("  inject-summary: {\"v\":1}\n").is_none());
    }

    #[test]
    fn another_version_is_named() {
        let err = find("inject-summary: {\"v\":2,\"x\":1}")
            .unwrap()
            .unwrap_err();
        assert!(err.contains("version 2"), "{err}");
    }

    #[test]
    fn thousands_of_commands_fit_the_reserve_failures_first() {
        let mut s = summary(5000);
        s.commands[4000] = CommandResult::new(
            "broken",
            &Outcome::Failed {
                exit_code: Some(7),
                signal: None,
            },
            3,
            1.0,
        );
        let line = s.text_line();
        assert!(json_len(line.as_bytes()) + 2 <= RESERVE);
        let back = find(&line).unwrap().unwrap();
        assert_eq!(back.commands.len(), 1);
        assert_eq!(back.commands[0].name, "broken");
        assert_eq!(back.commands_cut, 4999);
    }

    #[test]
    fn long_names_are_cut() {
        let mut s = summary(0);
        s.instance.id = Some("<".repeat(100_000));
        let line = s.json_line();
        assert!(json_len(line.as_bytes()) + 2 <= RESERVE);
    }
}
