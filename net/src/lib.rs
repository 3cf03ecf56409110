//! Netlink snapshot, change stream, findings and their text/JSON views.
//!
//! `model` holds plain data, built from netlink messages by `from_netlink`;
//! `read` (over `dump`'s socket) and `watch` are the only parts that talk to
//! the kernel (plus `sysctl` for `accept_ra`); `patch` keeps a snapshot
//! current from the change stream and `follow` decides when to re-read;
//! `findings`, `text` and `json` are pure functions of a [`Snapshot`], and
//! `report` writes `inject status` while the routes arrive.

mod dump;
pub mod findings;
pub mod fixtures;
pub mod follow;
mod from_netlink;
pub mod json;
pub mod locate;
pub mod model;
pub mod names;
pub mod neighbour;
pub mod packed;
pub mod patch;
pub mod read;
pub mod report;
pub mod store;
pub mod sysctl;
#[cfg(test)]
mod tests;
pub mod text;
pub mod verdict;
pub mod watch;

pub use findings::{
    family_status, findings, findings_with, Code, FamilyState, FamilyStatus, Finding, Severity,
};
pub use model::{
    Address, Family, Link, NetworkdFile, NextHop, OperState, Protocol, Route, RouteKind, Scope,
    Snapshot, MAIN_TABLE,
};
pub use patch::Applied;
pub use read::{read_snapshot, read_snapshot_blocking, NetError};
pub use store::RouteStore;
pub use text::{interface_line, route_line};
pub use watch::{watch, Action, Change};
