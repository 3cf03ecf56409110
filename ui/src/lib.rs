//! inject's live dashboard (`inject-tui`). It draws what `inject-net` reads
//! and runs what `inject-errands` plans; nothing here talks to the kernel.

pub mod tui;
