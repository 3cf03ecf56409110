//! What BOSH gives back across a deployment, in the three shapes `inject
//! fleet` reads, each reduced to one [`Row`] per instance as it is parsed:
//! an instance's stdout (up to 1 MiB) lives only while its row is read, so
//! memory stays near the input's size.
//!
//! - the bosh CLI's `--json` of `run-errand` (bosh-cli v7 `cmd/run_errand.go`
//!   builds the table, `ui/json_ui.go` prints it): `{"Tables":[{"Content":
//!   "errand(s)","Rows":[{"instance":"group/id","exit_code":"0","stdout",
//!   "stderr"}]}],"Blocks":…,"Lines":…}`, every value a string;
//! - the director's task result (`bosh task N --result`, decoded by
//!   bosh-cli's `director/errands.go` `ErrandRunResp`): one object per line,
//!   `{"instance":{"group","id"},"errand_name","exit_code":0,"stdout",
//!   "stderr","logs":{…}}`;
//! - `bosh ssh -r --json -c '… inject status --json'` (bosh-cli
//!   `ssh/results_writer.go`): a `results` table whose rows hold
//!   `instance`, `stdout`, `stderr`, `exit_code` and `error`.

use inject_errands::summary::{self, Network, RunSummary};
use serde::{Deserialize, Deserializer};

/// Where a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    RunErrand,
    TaskResult,
    SshStatus,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::RunErrand => "run-errand",
            Source::TaskResult => "task-result",
            Source::SshStatus => "ssh-status",
        }
    }
}

/// What an instance's stdout held.
#[derive(Debug, Clone)]
pub enum Found {
    /// `inject run`'s summary line.
    Summary(Box<RunSummary>),
    /// `inject status --json`'s findings (bosh ssh).
    Status(Network),
    /// Nothing inject wrote, or nothing readable: why.
    Nothing(String),
}

/// One instance, as reduced from its output.
#[derive(Debug, Clone)]
pub struct Row {
    /// `group/id` as BOSH names it.
    pub instance: String,
    pub source: Source,
    /// The errand's exit code (the remote command's for bosh ssh); `None`
    /// when BOSH gave none that reads as a number.
    pub exit_code: Option<i64>,
    pub found: Found,
    /// The last lines of stderr (bosh ssh: and its `error`), for rows
    /// without a summary.
    pub stderr_tail: String,
}

/// Input that is none of the three shapes: where, what was wrong, and the
/// shapes `inject fleet` reads.
#[derive(Debug, thiserror::Error)]
#[error(
    "{origin}: {detail}; expected one of: the bosh CLI's `bosh run-errand NAME --json` \
     ({{\"Tables\":[{{\"Rows\":[{{\"instance\",\"exit_code\",\"stdout\",\"stderr\"}}]}}]}}), \
     the director's `bosh task N --result` (one {{\"instance\":{{\"group\",\"id\"}},\"exit_code\":N,\"stdout\",\"stderr\"}} per line), \
     or `bosh ssh -r --json -c '… inject status --json'` (its `results` table)"
)]
pub struct NotBosh {
    pub origin: String,
    pub detail: String,
}

/// The rows of a whole-document input (the CLI's `--json` of run-errand
/// or bosh ssh); task results are read line by line ([`task_line`]).
pub fn document(text: &str, origin: &str) -> Result<Vec<Row>, NotBosh> {
    let not = |detail: String| NotBosh {
        origin: origin.to_string(),
        detail,
    };
    let output: CliOutput = serde_json::from_str(text)
        .map_err(|e| not(format!("not JSON the bosh CLI writes ({e})")))?;
    let rows: Vec<Row> = output.tables.into_iter().flat_map(|t| t.rows).collect();
    if rows.is_empty() {
        return Err(not(
            "the bosh CLI's JSON has no table of instances with `stdout` (no instance ran?)".into(),
        ));
    }
    Ok(rows)
}

/// Whether the first line of an input starts the task result (one object
/// per line) rather than the CLI's JSON (indented: `{` alone on its first
/// line; or on one line, `jq -c`, with a `Tables` key).
pub fn is_task_line(first: &str) -> bool {
    let first = first.trim();
    first.starts_with('{') && first.ends_with('}') && first.len() > 1 && !one_line_cli(first)
}

/// Whether `text` is the CLI's JSON on one line (`jq -c`, keys in any
/// order): a single object with a `Tables` key. A task result line has none.
fn one_line_cli(text: &str) -> bool {
    #[derive(Deserialize)]
    struct HasTables {
        #[serde(rename = "Tables")]
        _tables: serde::de::IgnoredAny,
    }
    text.trim().lines().nth(1).is_none() && serde_json::from_str::<HasTables>(text).is_ok()
}

/// One line of `bosh task N --result` (`n` counts from 1): one instance.
pub fn task_line(line: &str, origin: &str, n: usize) -> Result<Row, NotBosh> {
    let raw: TaskLine = serde_json::from_str(line).map_err(|e| NotBosh {
        origin: format!("{origin}:{n}:{}", e.column()),
        detail: format!("not a task result line ({e})"),
    })?;
    let instance = format!("{}/{}", raw.instance.group, raw.instance.id);
    Ok(reduce(
        instance,
        Source::TaskResult,
        Some(raw.exit_code),
        &raw.stdout,
        &raw.stderr,
    ))
}

#[derive(Deserialize)]
struct CliOutput {
    #[serde(rename = "Tables")]
    tables: Vec<Table>,
}

#[derive(Deserialize)]
struct Table {
    /// Tables without instances' output (none in run-errand's or ssh's
    /// output, but `bosh … --json` of other commands) are read as empty.
    #[serde(rename = "Rows", default, deserialize_with = "instance_rows")]
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct TaskInstance {
    group: String,
    id: String,
}

#[derive(Deserialize)]
struct TaskLine {
    instance: TaskInstance,
    exit_code: i64,
    #[serde(default)]
    stdout: String,
    #[serde(default)]
    stderr: String,
}

/// A table row as the JSON UI writes it: every value a string.
#[derive(Deserialize)]
struct RawRow {
    instance: Option<String>,
    exit_code: Option<String>,
    stdout: Option<String>,
    stderr: Option<String>,
    /// Only in bosh ssh's `results`.
    error: Option<String>,
}

/// A table's rows, each reduced while it is read; rows without `instance`
/// and `stdout` (another command's table) are left out.
fn instance_rows<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Row>, D::Error> {
    struct One(Option<Row>);
    impl<'de> Deserialize<'de> for One {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<One, D::Error> {
            let raw = RawRow::deserialize(d)?;
            let (Some(instance), Some(stdout)) = (raw.instance, raw.stdout) else {
                return Ok(One(None));
            };
            let stderr = raw.stderr.unwrap_or_default();
            let exit_code = raw.exit_code.and_then(|c| c.trim().parse().ok());
            Ok(One(Some(match raw.error {
                Some(error) => ssh_row(instance, exit_code, &stdout, &stderr, &error),
                None => reduce(instance, Source::RunErrand, exit_code, &stdout, &stderr),
            })))
        }
    }
    let rows: Option<Vec<One>> = Option::deserialize(d)?;
    Ok(rows
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.0)
        .collect())
}

fn reduce(
    instance: String,
    source: Source,
    exit_code: Option<i64>,
    stdout: &str,
    stderr: &str,
) -> Row {
    let found = match summary::find(stdout) {
        Some(Ok(summary)) => Found::Summary(Box::new(summary)),
        Some(Err(why)) => Found::Nothing(why),
        None if stdout.trim().is_empty() => Found::Nothing("no stdout".into()),
        None if is_dry_run(stdout) => Found::Nothing(
            "a dry run (dry_run: true): nothing ran, so there is no inject-summary line".into(),
        ),
        None => Found::Nothing(
            "no inject-summary line (older release, crashed errand or output cut)".into(),
        ),
    };
    Row {
        instance,
        source,
        exit_code,
        found,
        stderr_tail: tail(stderr),
    }
}

/// Whether `stdout` is `inject run`'s dry run (text or `--json`), which
/// prints the plan and no summary: its first line says so.
fn is_dry_run(stdout: &str) -> bool {
    let first = stdout.trim_start().lines().next().unwrap_or_default();
    first.starts_with("dry run: ")
        || (first.starts_with('{') && first.contains("\"event\":\"planned\""))
}

/// A bosh ssh row whose stdout is `inject status --json`.
fn ssh_row(
    instance: String,
    exit_code: Option<i64>,
    stdout: &str,
    stderr: &str,
    error: &str,
) -> Row {
    #[derive(Deserialize)]
    struct Status {
        routes: Vec<StatusRoute>,
        findings: Vec<summary::FindingRef>,
    }
    #[derive(Deserialize)]
    struct StatusRoute {
        family: String,
        destination: String,
        #[serde(default)]
        table: Option<serde_json::Value>,
    }
    let found = match serde_json::from_str::<Status>(stdout.trim()) {
        Ok(status) => {
            let state = |family: &str| {
                let has = |code: &str| {
                    status
                        .findings
                        .iter()
                        .any(|f| f.code == code && f.family.as_deref() == Some(family))
                };
                let default = status.routes.iter().any(|r| {
                    r.family == family
                        && r.destination == "default"
                        && r.table.as_ref().is_none_or(|t| t == "main" || t == 254)
                });
                if has("missing_default_route") {
                    "missing"
                } else if has("default_route_unusable") || has("default_route_via_down_interface") {
                    "unusable"
                } else if default {
                    "present"
                } else {
                    "unconfigured"
                }
                .to_string()
            };
            Found::Status(Network {
                ipv4: state("ipv4"),
                ipv6: state("ipv6"),
                findings: status.findings,
            })
        }
        Err(_) if stdout.trim().is_empty() => Found::Nothing("no stdout".into()),
        Err(e) => Found::Nothing(format!("stdout is not `inject status --json` ({e})")),
    };
    let stderr = match error.trim() {
        "" => stderr.to_string(),
        error => format!("{stderr}\n{error}"),
    };
    Row {
        instance,
        source: Source::SshStatus,
        exit_code,
        found,
        stderr_tail: tail(&stderr),
    }
}

/// The last three non-blank lines of `text`, at most 400 characters.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(3);
    let joined = lines[from..].join(" | ");
    let count = joined.chars().count();
    if count <= 400 {
        joined
    } else {
        let start = joined.char_indices().nth(count - 400).map_or(0, |(i, _)| i);
        format!("…{}", &joined[start..])
    }
}
