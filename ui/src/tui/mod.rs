//! The live dashboard (`inject-tui`): state and its pure `update` (`app`),
//! events (`event`), the event loop (`event_loop`), its wiring to the real
//! world (`wiring`), views (one file per panel), theme, and the display form
//! (`display`) that `rows` builds from net snapshots and the config.

pub mod app;
pub mod display;
pub mod elide;
pub mod event;
pub mod event_loop;
pub mod history;
pub mod layout;
pub mod route_filter;
pub mod rows;
pub mod theme;
pub mod viewer;
pub mod views;
pub mod wiring;

pub use app::{update, App, Effect, Focus, Overlay};
pub use event::{Event, RunMsg};
pub use event_loop::{run, Io, RunSink};
pub use theme::Theme;
pub use wiring::{main, Options};

#[cfg(test)]
mod event_loop_tests;
pub mod fixtures;
#[cfg(test)]
mod update_tests;
#[cfg(test)]
mod view_tests;
