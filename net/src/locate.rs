//! The interface that holds an address, for the commands' `_INTERFACE`:
//! errands asks through its [`Interfaces`] seam when a command starts, and
//! this answers from the kernel's address table, read over netlink.

use std::net::IpAddr;
use std::path::Path;

use futures_util::{future, TryStreamExt};
use inject_errands::config::{self, Config, ConfigError};
use inject_errands::netenv::Interfaces;

use crate::from_netlink;
use crate::read::TaskGuard;

/// Every address of every interface now, with the interface's name.
/// Blocking: it runs its own small runtime on a thread of its own, so it
/// serves synchronous callers inside or outside a runtime alike.
pub fn holders() -> Result<Vec<(IpAddr, String)>, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?
                    .block_on(read())
            })
            .join()
            .unwrap_or_else(|_| Err("the address lookup failed".to_string()))
    })
}

async fn read() -> Result<Vec<(IpAddr, String)>, String> {
    let (connection, handle, _) =
        rtnetlink::new_connection().map_err(|e| format!("cannot open a netlink socket: {e}"))?;
    let _task = TaskGuard(tokio::spawn(connection));
    let links = handle
        .link()
        .get()
        .execute()
        .map_ok(|m| from_netlink::link(&m))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| format!("reading interfaces over netlink failed: {e}"))?;
    let addresses = handle
        .address()
        .get()
        .execute()
        .try_filter_map(|m| future::ready(Ok(from_netlink::address(&m))))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| format!("reading addresses over netlink failed: {e}"))?;
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
