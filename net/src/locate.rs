//! The interface that holds an address, for the commands' `_INTERFACE`:
//! errands asks through its [`Interfaces`] seam when a command starts, and
//! this answers from the kernel's address table, read over netlink.

use std::net::IpAddr;
use std::path::Path;

use inject_errands::config::{self, Config, ConfigError};
use inject_errands::netenv::Interfaces;

use crate::read::Reader;

/// Every address of every interface now, with the interface's name, read
/// over the same netlink path as `inject status` ([`Reader`]): blocking, on
/// the calling thread, so it serves synchronous callers inside or outside a
/// runtime alike and reads the caller's network namespace.
pub fn holders() -> Result<Vec<(IpAddr, String)>, String> {
    let read = || {
        let mut reader = Reader::open()?;
        Ok::<_, crate::read::NetError>((reader.links()?, reader.addresses()?))
    };
    let (links, addresses) = read().map_err(|e| e.to_string())?;
    Ok(addresses
        .into_iter()
        .filter_map(|a| {
            let link = links.iter().find(|l| l.index == a.link)?;
            Some((a.address, link.name.clone()))
        })
        .collect())
}

/// The lookup errands uses for `_INTERFACE`.
pub fn interfaces() -> Interfaces {
    Interfaces::new(holders)
}

/// [`config::load`], with `_INTERFACE` looked up through netlink when each
/// command starts: what `inject run`, `ensure` and the dashboard run with.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let mut config = config::load(path)?;
    config.interfaces = interfaces();
    Ok(config)
}
