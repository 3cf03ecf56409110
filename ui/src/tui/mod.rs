//! The live dashboard (`inject-tui`): state and its pure `update` (app),
//! events (event), the event loop (run), views (one file per panel), theme,
//! and the conversion of net snapshots and config into display rows.

pub mod app;
pub mod convert;
pub mod event;
pub mod fit;
pub mod history;
pub mod layout;
pub mod live;
pub mod model;
pub mod run;
pub mod theme;
pub mod viewer;
pub mod views;

pub use app::{update, App, Effect, Focus, Overlay};
pub use event::{Event, RunMsg};
pub use live::{main, Options};
pub use run::{run, Io, RunSink};
pub use theme::Theme;

pub mod fixtures;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod update_tests;
#[cfg(test)]
mod view_tests;
