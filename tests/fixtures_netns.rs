//! The hand-built fixtures the dashboard's and the inspector's snapshot
//! tests draw (`inject_net::fixtures`) against the kernel: the seed's VM is
//! built in a namespace and its routes, read by inject-net's own reader,
//! must be the fixture's, route for route. A fixture that lists a route the
//! kernel would not (it once listed each `fe80::/64` twice: `routes (7)`
//! where the kernel has 5) fails here instead of being accepted into a
//! snapshot.

mod common;
use common::netns;

use inject_net::{fixtures, Route, Snapshot};
use netns::{can_run, SeedVm};

/// The VM's snapshot, read inside its namespace by inject-net's reader.
fn read_in(seed: &SeedVm) -> Snapshot {
    let vm = seed.vm.clone();
    std::thread::spawn(move || {
        let ns = std::fs::File::open(format!("/var/run/netns/{vm}")).expect("netns file");
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        inject_net::read_snapshot_blocking().expect("read the VM's snapshot")
    })
    .join()
    .expect("the reader thread")
}

/// Each route with its interface named instead of numbered (the kernel
/// numbers links as it likes; the fixture names the same ones), one line
/// each, sorted: the kernel's dump order depends on when each link got its
/// carrier, and the fixtures keep the order their snapshots were accepted in.
fn routes(s: &Snapshot) -> Vec<String> {
    let mut lines: Vec<String> = s
        .routes
        .iter()
        .map(|r| {
            let name = |index: Option<u32>| {
                index.map(|i| {
                    s.links
                        .iter()
                        .find(|l| l.index == i)
                        .map_or(format!("#{i}"), |l| l.name.clone())
                })
            };
            let dev = name(r.oif);
            let hops: Vec<_> = r
                .nexthops
                .iter()
                .map(|h| (h.gateway, name(h.oif)))
                .collect();
            let r = Route {
                oif: None,
                nexthops: Vec::new(),
                ..r.clone()
            };
            format!("{r:?} dev {dev:?} nexthops {hops:?}")
        })
        .collect();
    lines.sort();
    lines
}

fn assert_same_routes(fixture: &Snapshot, kernel: &Snapshot) {
    let (want, got) = (routes(fixture), routes(kernel));
    assert_eq!(
        want,
        got,
        "the fixture's routes (left, {}) are not the kernel's (right, {})",
        want.len(),
        got.len()
    );
}

#[test]
fn the_seed_vm_fixture_has_the_routes_the_kernel_has() {
    if !can_run("the_seed_vm_fixture_has_the_routes_the_kernel_has") {
        return;
    }
    let seed = SeedVm::new();
    assert_same_routes(&fixtures::seed_vm(), &read_in(&seed));
}

#[test]
fn the_fixed_seed_vm_fixture_has_the_routes_the_kernel_has() {
    if !can_run("the_fixed_seed_vm_fixture_has_the_routes_the_kernel_has") {
        return;
    }
    let seed = SeedVm::new();
    seed.ip("-6 route add default via 2001:db8:69f5::1 dev eth1 proto static metric 1024");
    assert_same_routes(&fixtures::seed_vm_fixed(), &read_in(&seed));
}
