//! The one rule for a test that cannot run here (not root, no iproute2,
//! no tmux, no bosh CLI, …): it prints `skipping <test>: <why>` and
//! returns, unless this is a CI run, where it fails instead. A test that
//! needs something calls one of these first: `if !root_or_skip(…) {
//! return; }`.
#![allow(dead_code)] // each includer uses part of it

use std::process::Command;

/// Whether this is a CI run: `CI` set to anything but empty, `false` or
/// `0` (GitHub Actions and GitLab set `CI=true`). Under CI no test skips.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The one rule for a test that cannot run here (not root, no tmux, no
/// bosh CLI, …): under CI it fails, naming `test` and `why`; elsewhere it
/// prints `skipping <test>: <why>` and returns false, for the test to
/// return at once.
pub fn skip(test: &str, why: &str) -> bool {
    if under_ci() {
        panic!("{test}: must run under CI, and cannot: {why}");
    }
    eprintln!("skipping {test}: {why}");
    false
}

/// Whether this process runs as root (`id -u`: no extra crate for it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// True when running as root; otherwise [`skip`]s `test`, saying root is
/// needed `for_what`.
pub fn root_or_skip(test: &str, for_what: &str) -> bool {
    is_root() || skip(test, &format!("needs root {for_what}"))
}

/// True when `tool` runs (`tool -V`); otherwise [`skip`]s `test`.
pub fn tool_or_skip(test: &str, tool: &str) -> bool {
    let runs = Command::new(tool)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    runs || skip(test, &format!("`{tool}` does not run here"))
}
