//! inject's errand engine: config (schema, load, validate), plan (dry-run),
//! runner and run log. Knows nothing of terminals or netlink.
//!
//! Module order: each module uses only modules before it in this list (read
//! left to right, top to bottom); `tests/module_order.rs` checks the imports
//! against it. A module's own files (`config/*.rs`) count as the module.
//!
//! ```text
//! agent family interfaces phase   (leaves: the agent's budget, words, the _INTERFACE seam)
//! run_event summary               (what a run reports, and its one-line summary)
//! config netenv                   (the file, checked; the networks' variables)
//! plan runlog runner ensure       (what runs, its log, running it, keeping it applied)
//! ```

pub mod agent;
pub mod config;
pub mod ensure;
pub mod family;
pub mod interfaces;
pub mod netenv;
pub mod phase;
pub mod plan;
pub mod run_event;
pub mod runlog;
pub mod runner;
pub mod summary;

/// Re-exported so callers (the CLI, the dashboard) need no direct dependency
/// on tokio-util to cancel a run.
pub use tokio_util::sync::CancellationToken;
