//! The live dashboard (`inject-tui`): state (`app`) and its pure `update`
//! (keys in `update`, the key table in `keys`; the network in
//! `net_updates`, a run in `run_progress`, the run log in `history_rows`),
//! events (`event`), the event loop (`event_loop`), its wiring to the real
//! world (`wiring`), views (one file per panel), theme, and the display form
//! (`display`) that `rows` builds from net snapshots and the config.

pub mod app;
pub mod display;
pub mod elide;
pub mod event;
pub mod event_loop;
pub mod history;
mod history_rows;
pub mod keys;
pub mod layout;
mod net_updates;
pub mod route_filter;
pub mod route_list;
pub mod rows;
mod run_progress;
pub mod theme;
pub mod update;
pub mod viewer_state;
pub mod views;
pub mod watched;
pub mod wiring;

pub use app::{App, Effect, Focus, Overlay};
pub use event::{Event, RunMsg};
pub use event_loop::{run, Io, RunSink};
pub use theme::Theme;
pub use update::update;
pub use wiring::{main, Options};

#[cfg(test)]
mod event_loop_tests;
pub mod fixtures;
#[cfg(test)]
mod update_tests;
#[cfg(test)]
mod view_tests;
