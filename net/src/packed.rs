//! Reads for the dashboard, with every route packed ([`RouteStore`]) as it
//! arrives and only the routes the findings read one by one kept whole
//! (see [`Snapshot::packed`]): ~35 MB instead of ~170 MB for the full
//! Internet table. The first read goes in steps, so the first frame need
//! not wait for a dump that takes seconds.

use crate::findings::reads_route;
use crate::model::Snapshot;
use crate::neighbour;
use crate::read::{on_thread, read_with, NetError};
use crate::store::RouteStore;

/// The whole state, routes packed.
pub fn read_packed_blocking() -> Result<Snapshot, NetError> {
    read_packed_reporting(|_, _| {})
}

/// [`read_packed_blocking`] on a thread of its own ([`on_thread`]). With
/// `probe`, each default's gateway is checked first ([`neighbour::probe`],
/// up to 5 s).
pub fn read_packed_on_thread(
    probe: bool,
) -> impl std::future::Future<Output = Result<Snapshot, NetError>> + Send + 'static {
    on_thread(move || {
        let mut s = read_packed_blocking()?;
        if probe {
            neighbour::probe(&mut s)?;
        }
        Ok(s)
    })
}

/// [`read_packed_blocking`] on a thread of its own (started now, in the
/// calling thread's network namespace), in steps: first the links and
/// addresses (a snapshot with [`Snapshot::reading_routes`] set), then the
/// same with the count of routes read every [`STEP`](crate::read::STEP) routes, then the
/// whole snapshot (or the error), after which the channel closes. The full
/// Internet table takes seconds to dump; links and addresses milliseconds.
pub fn read_in_steps() -> tokio::sync::mpsc::UnboundedReceiver<Result<Snapshot, NetError>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let thread_tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("netlink-read".into())
        .spawn(move || {
            let result = read_packed_reporting(|base, count| {
                let _ = thread_tx.send(Ok(Snapshot {
                    links: base.links.clone(),
                    addresses: base.addresses.clone(),
                    accept_ra: base.accept_ra.clone(),
                    reading_routes: Some(count),
                    ..Snapshot::default()
                }));
            });
            let _ = thread_tx.send(result);
        });
    if let Err(e) = spawned {
        let _ = tx.send(Err(NetError::Open(e)));
    }
    rx
}

/// [`read_packed_blocking`], calling `report` with the links and addresses
/// and the count of routes read so far: before the first route, then
/// every [`STEP`](crate::read::STEP) routes.
fn read_packed_reporting(report: impl FnMut(&Snapshot, usize)) -> Result<Snapshot, NetError> {
    let (mut snapshot, (kept, store)) = read_with(
        || (Vec::new(), RouteStore::default()),
        |(kept, store): &mut (Vec<_>, RouteStore), route| {
            store.push(&route);
            if reads_route(&route) {
                kept.push(route);
            }
        },
        report,
    )?;
    snapshot.routes = kept;
    snapshot.packed = Some(Box::new(store));
    Ok(snapshot)
}
