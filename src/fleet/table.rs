//! The text of `inject fleet`: one row per instance under a line naming
//! each group's shared problem, then the totals line.
//!
//! ```text
//! INSTANCE         IDX/AZ  EXIT  COMMANDS                 IPV4     IPV6     ERRORS
//! ── 1 lacks an IPv6 default
//! haproxy/5e1f…    1/z2    0     1 ok                     present  missing  missing_default_route (ipv6)
//! ── 2 ok
//! haproxy/0a9b…    0/z1    0     1 ok                     present  present  —
//! 2 of 3 instances ok; 1 lacks an IPv6 default: haproxy/1 (z2)
//! ```

use std::fmt::Write as _;

use super::report::{Fleet, Instance};

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

const HEADER: [&str; 7] = [
    "INSTANCE", "IDX/AZ", "EXIT", "COMMANDS", "IPV4", "IPV6", "ERRORS",
];

/// The whole text; `only_failed` leaves the ok instances' rows out (not
/// from the totals).
pub fn render(fleet: &Fleet, color: bool, only_failed: bool) -> String {
    let shown: Vec<&Instance> = fleet
        .instances
        .iter()
        .filter(|i| !(only_failed && i.ok))
        .collect();
    let rows: Vec<[String; 7]> = shown.iter().map(|i| cells(i)).collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let header = line(&HEADER.map(str::to_string), &widths);
    let _ = writeln!(out, "{}", paint(BOLD, &header));
    let mut group: Option<String> = None;
    for (inst, row) in shown.iter().zip(&rows) {
        let problem = inst.pattern();
        if group.as_deref() != Some(problem.as_str()) {
            let heading = if inst.ok {
                format!("── {} ok", fleet.ok)
            } else {
                let count = fleet
                    .patterns
                    .iter()
                    .find(|p| p.problem == problem)
                    .map_or(0, |p| p.count);
                let problem = if count == 1 {
                    super::report::singular(&problem)
                } else {
                    problem.clone()
                };
                format!("── {count} {problem}")
            };
            let _ = writeln!(
                out,
                "{}",
                paint(if inst.ok { GREEN } else { RED }, &clean(&heading))
            );
            group = Some(problem);
        }
        let _ = writeln!(out, "{}", line(row, &widths));
    }
    let _ = writeln!(out, "{}", clean(&fleet.totals_line()));
    out
}

fn line(cells: &[String; 7], widths: &[usize; 7]) -> String {
    let mut text = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            text.push_str(cell);
        } else {
            let pad = width - cell.chars().count();
            let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
        }
    }
    text.trim_end().to_string()
}

fn cells(inst: &Instance) -> [String; 7] {
    let dash = || "—".to_string();
    let place = match (inst.index, &inst.az) {
        (Some(i), Some(az)) => format!("{i}/{az}"),
        (Some(i), None) => i.to_string(),
        (None, Some(az)) => format!("-/{az}"),
        (None, None) => dash(),
    };
    let exit = inst.exit_code.map_or_else(dash, |c| c.to_string());
    let commands = match &inst.commands {
        None => dash(),
        Some(c) if c.total == 0 => "none".into(),
        Some(c) => {
            let mut parts = Vec::new();
            for (n, what) in [
                (c.ok, "ok"),
                (c.skipped, "skipped"),
                (c.failed, "failed"),
                (c.timed_out, "timed out"),
                (c.not_run, "not run"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
            let mut text = parts.join(", ");
            if !inst.failed_commands.is_empty() {
                let _ = write!(text, ": {}", inst.failed_commands.join(", "));
            }
            text
        }
    };
    let family = |state: &Option<String>| state.clone().unwrap_or_else(dash);
    let errors = match (&inst.note, inst.errors.is_empty()) {
        (Some(note), true) => note.clone(),
        (Some(note), false) => format!("{}; {note}", inst.errors.join(", ")),
        (None, false) => inst.errors.join(", "),
        (None, true) => dash(),
    };
    [
        inst.instance.clone(),
        place,
        exit,
        commands,
        family(&inst.ipv4),
        family(&inst.ipv6),
        errors,
    ]
    .map(|c| clean(&c))
}

/// Input text with its control characters escaped (`\u{1b}`): another
/// VM's output must not move the cursor or forge lines.
pub fn clean(text: &str) -> String {
    if !text.contains(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
