//! inject's errand engine: config (schema, load, validate), plan (dry-run),
//! runner and run log. Knows nothing of terminals or netlink.

pub mod agent;
pub mod config;
pub mod ensure;
pub mod event;
pub mod family;
pub mod netenv;
pub mod plan;
pub mod runlog;
pub mod runner;
pub mod summary;

/// Re-exported so callers (the CLI, the dashboard) need no direct dependency
/// on tokio-util to cancel a run.
pub use tokio_util::sync::CancellationToken;
