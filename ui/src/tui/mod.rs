//! The live dashboard: state, update, views, event loop.
