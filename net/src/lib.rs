//! Netlink snapshot, change stream, findings and their text/JSON views.
//!
//! `model` holds plain data, built from netlink messages by `from_netlink`;
//! `read` (over `dump`'s socket) and `watch` are the only parts that talk to
//! the kernel (plus `sysctl` for `accept_ra`); `patch` keeps a snapshot
//! current from the change stream and `follow` decides when to re-read;
//! `findings`, `lines`, `text` and `json` are pure functions of a
//! [`Snapshot`], and `report` writes `inject status` while the routes
//! arrive (`streaming` holds what it shares with `text` and `json`).
//! `store` packs routes for the dashboard (24 bytes an IPv4 route), and
//! `packed` reads straight into it, in steps, so a first frame needs no
//! route.
//!
//! Module order: each module uses only modules before it in this list (read
//! left to right, top to bottom; `a+b` is a knot of two that use each
//! other); `tests/module_order.rs` checks the imports against it.
//!
//! ```text
//! model+store names dump from_netlink sysctl  (plain data, routes packed, the socket, host files)
//! lines fixtures                         (a route or interface as a line; test data)
//! read neighbour                         (the dumps; a gateway's neighbour entry, probed)
//! findings                               (what is wrong: pure, on a snapshot)
//! packed                                 (the dashboard's read: routes packed as they arrive)
//! streaming                              (routes one at a time, what findings keep of them)
//! text json                              (the report's two formats)
//! report verdict locate                  (inject status, the run's summary line, _INTERFACE)
//! watch patch follow                     (the change stream, applied, followed)
//! ```

mod dump;
pub mod findings;
pub mod fixtures;
pub mod follow;
mod from_netlink;
pub mod json;
pub mod lines;
pub mod locate;
pub mod model;
pub mod names;
pub mod neighbour;
pub mod packed;
pub mod patch;
pub mod read;
pub mod report;
pub mod store;
pub mod streaming;
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
pub use store::{Patch, RouteStore};
pub use text::{interface_line, route_line};
pub use watch::{watch, Action, Change};
