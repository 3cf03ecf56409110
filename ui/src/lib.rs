//! inject's inspector (`net`: netlink snapshot, change stream, findings) and
//! dashboard (`tui`). Dependencies point one way: `tui` uses `net` and
//! `inject-errands`; `net` knows nothing of ratatui.

pub mod net;
pub mod tui;
