//! One verdict per instance, the problems they share, and how they print:
//! the table (failures first, identical problems side by side), the totals
//! line, and `--json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::input::{Found, Row};

/// One instance's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    /// `group/id` as BOSH gave it.
    pub instance: String,
    pub index: Option<u64>,
    pub az: Option<String>,
    /// `run-errand`, `task-result` or `ssh-status`.
    pub source: &'static str,
    pub exit_code: Option<i64>,
    /// Whether inject's summary (or status) was found in stdout.
    pub summary: bool,
    /// Counts of the commands' results; `None` without a summary.
    pub commands: Option<inject_errands::summary::Counts>,
    pub failed_commands: Vec<String>,
    /// `present`, `missing`, `unusable`, `unconfigured`; `None` unknown.
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    /// Error findings, `code` or `code (family)`.
    pub errors: Vec<String>,
    /// What is wrong, in the words of the totals line; empty when ok.
    pub problems: Vec<String>,
    /// Why there is no summary, and stderr's last lines.
    pub note: Option<String>,
    pub ok: bool,
}

impl Instance {
    /// Its problems as one text: instances with the same one form a group.
    pub fn pattern(&self) -> String {
        self.problems.join(" and ")
    }

    /// `haproxy/3 (z2)` when BOSH's index is known, else `group/id (z2)`.
    pub fn short(&self) -> String {
        let name = match (self.index, self.instance.split_once('/')) {
            (Some(index), Some((group, _))) => format!("{group}/{index}"),
            _ => self.instance.clone(),
        };
        match &self.az {
            Some(az) => format!("{name} ({az})"),
            None => name,
        }
    }
}

/// Verdict of one row.
pub fn judge(row: Row) -> Instance {
    let mut problems = Vec::new();
    let mut out = Instance {
        instance: row.instance,
        index: None,
        az: None,
        source: row.source.as_str(),
        exit_code: row.exit_code,
        summary: false,
        commands: None,
        failed_commands: Vec::new(),
        ipv4: None,
        ipv6: None,
        errors: Vec::new(),
        problems: Vec::new(),
        note: None,
        ok: false,
    };
    let network = match row.found {
        Found::Summary(s) => {
            out.summary = true;
            out.index = s.instance.index;
            out.az = s.instance.az.clone();
            out.failed_commands = s
                .commands
                .iter()
                .filter(|c| c.is_failure())
                .map(|c| c.name.clone())
                .collect();
            let unlisted = s.counts.failed + s.counts.timed_out > out.failed_commands.len();
            if !out.failed_commands.is_empty() {
                let noun = if out.failed_commands.len() == 1 {
                    "command"
                } else {
                    "commands"
                };
                problems.push(format!("failed {noun} {}", out.failed_commands.join(", ")));
            } else if unlisted || s.counts.interrupted {
                problems.push("failed a command".into());
            }
            out.commands = Some(s.counts.clone());
            if let Some(err) = &s.network_error {
                problems.push("could not read the network".into());
                out.note = Some(err.clone());
            }
            s.network
        }
        Found::Status(network) => {
            out.summary = true;
            Some(network)
        }
        Found::Nothing(why) => {
            problems.push("have no inject summary".into());
            out.note = Some(match row.stderr_tail.as_str() {
                "" => format!("{why}; stderr empty"),
                tail => format!("{why}; stderr: {tail}"),
            });
            None
        }
    };
    if let Some(net) = network {
        for (family, state) in [("IPv4", &net.ipv4), ("IPv6", &net.ipv6)] {
            match state.as_str() {
                "missing" => problems.push(format!("lack an {family} default")),
                "unusable" => problems.push(format!("have no usable {family} default")),
                _ => {}
            }
        }
        for f in net.findings.iter().filter(|f| f.severity == "error") {
            let text = match &f.family {
                Some(family) => format!("{} ({family})", f.code),
                None => f.code.clone(),
            };
            if !out.errors.contains(&text) {
                out.errors.push(text);
            }
        }
        // The defaults above say the missing/unusable ones; others by code.
        let told = ["missing_default_route", "default_route_unusable"];
        for f in net.findings.iter().filter(|f| f.severity == "error") {
            let p = format!("have {}", f.code);
            if !told.contains(&f.code.as_str()) && !problems.contains(&p) {
                problems.push(p);
            }
        }
        out.ipv4 = Some(net.ipv4);
        out.ipv6 = Some(net.ipv6);
    }
    // An errand's non-zero exit with no failed command to explain it
    // (fail_on_findings' 3, a crash after the line).
    match out.exit_code {
        Some(0) => {}
        Some(code) if problems.is_empty() => problems.push(format!("exited {code}")),
        None if problems.is_empty() => problems.push("gave no exit code".into()),
        _ => {}
    }
    out.ok = problems.is_empty();
    out.problems = problems;
    out
}

/// Instances that share the same problems.
#[derive(Debug, Clone, Serialize)]
pub struct Pattern {
    /// The problems, joined: `lack an IPv6 default`.
    pub problem: String,
    pub count: usize,
    /// Their short names (`haproxy/3 (z2)`).
    pub instances: Vec<String>,
}

/// Everything `inject fleet` says.
#[derive(Debug, Serialize)]
pub struct Fleet {
    /// The version of this JSON's shape.
    pub v: u32,
    pub total: usize,
    pub ok: usize,
    /// Failures first, grouped by pattern (largest first), then by name.
    pub instances: Vec<Instance>,
    pub patterns: Vec<Pattern>,
}

impl Fleet {
    pub fn new(mut instances: Vec<Instance>) -> Fleet {
        // How many instances share each set of problems; larger groups first.
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for inst in instances.iter().filter(|i| !i.ok) {
            *counts.entry(inst.pattern()).or_default() += 1;
        }
        let mut patterns: Vec<Pattern> = counts
            .into_iter()
            .map(|(problem, count)| Pattern {
                problem,
                count,
                instances: Vec::with_capacity(count),
            })
            .collect();
        patterns.sort_by(|a, b| b.count.cmp(&a.count).then(a.problem.cmp(&b.problem)));
        let rank: BTreeMap<String, usize> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (p.problem.clone(), i))
            .collect();
        // Failures by group, the ok last; within a group by instance group,
        // index, then name.
        let group_of = |inst: &Instance| {
            if inst.ok {
                usize::MAX
            } else {
                rank[&inst.pattern()]
            }
        };
        instances.sort_by_cached_key(|inst| {
            let group = inst
                .instance
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            (group_of(inst), group, inst.index, inst.instance.clone())
        });
        for inst in instances.iter().filter(|i| !i.ok) {
            patterns[rank[&inst.pattern()]].instances.push(inst.short());
        }
        Fleet {
            v: 1,
            total: instances.len(),
            ok: instances.iter().filter(|i| i.ok).count(),
            instances,
            patterns,
        }
    }

    /// `48 of 50 instances ok; 2 lack an IPv6 default: haproxy/3 (z2), haproxy/7 (z1)`.
    pub fn totals_line(&self) -> String {
        let noun = if self.total == 1 {
            "instance"
        } else {
            "instances"
        };
        let mut line = format!("{} of {} {noun} ok", self.ok, self.total);
        for p in &self.patterns {
            let shown = p.instances.len().min(5);
            let mut names = p.instances[..shown].join(", ");
            if p.instances.len() > shown {
                let _ = write!(names, " and {} more", p.instances.len() - shown);
            }
            let problem = if p.count == 1 {
                singular(&p.problem)
            } else {
                p.problem.clone()
            };
            let _ = write!(line, "; {} {problem}: {names}", p.count);
        }
        line
    }
}

/// `lack …` → `lacks …`, `have …` → `has …`: each problem's verb, for
/// one instance.
pub fn singular(problem: &str) -> String {
    problem
        .split(" and ")
        .map(|p| {
            if let Some(rest) = p.strip_prefix("lack ") {
                format!("lacks {rest}")
            } else if let Some(rest) = p.strip_prefix("have ") {
                format!("has {rest}")
            } else {
                p.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" and ")
}
