//! The phases a command runs in: the errand, BOSH's lifecycle hooks and
//! the `ensure` loop. A leaf: the config, the events and the run log name
//! them.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When a command runs: the errand, one of BOSH's lifecycle hooks (each has
/// its `bin/` script in the job), or the `ensure` loop.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Errand,
    PreStart,
    PostStart,
    PostDeploy,
    PreStop,
    Drain,
    PostStop,
    Ensure,
}

impl Phase {
    /// In the order BOSH runs them on a deploy (the errand first, `ensure`
    /// last: it is no hook).
    pub const ALL: [Phase; 8] = [
        Phase::Errand,
        Phase::PreStart,
        Phase::PostStart,
        Phase::PostDeploy,
        Phase::PreStop,
        Phase::Drain,
        Phase::PostStop,
        Phase::Ensure,
    ];

    /// Every phase's name, for messages: `errand, pre-start, …, ensure`.
    pub const NAMES: &'static str =
        "errand, pre-start, post-start, post-deploy, pre-stop, drain, post-stop, ensure";

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Errand => "errand",
            Phase::PreStart => "pre-start",
            Phase::PostStart => "post-start",
            Phase::PostDeploy => "post-deploy",
            Phase::PreStop => "pre-stop",
            Phase::Drain => "drain",
            Phase::PostStop => "post-stop",
            Phase::Ensure => "ensure",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = String;

    fn from_str(s: &str) -> Result<Phase, String> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown phase `{s}`, expected one of {}", Phase::NAMES))
    }
}
