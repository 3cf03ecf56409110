//! Network namespaces for integration tests. Every test builds its own
//! namespaces (never touching the host's interfaces or routes) and they are
//! deleted when the guard drops.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use super::skip;

/// Whether namespace tests can run here (root and iproute2); otherwise
/// the test skips, or fails under CI (see `skip.rs`).
pub fn can_run(test: &str) -> bool {
    skip::root_or_skip(test, "to build network namespaces") && skip::tool_or_skip(test, "ip")
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A pair of namespaces reproducing the seed's VM: `vm` has eth0
/// (10.0.250.10/24, default via 10.0.250.1) and eth1 (2001:db8:69f5::10/64,
/// no IPv6 default route, accept_ra=0 as on a BOSH stemcell); `peer` holds the
/// other ends of both veth pairs, with the gateways' addresses.
pub struct SeedVm {
    pub vm: String,
    pub peer: String,
}

#[allow(dead_code)] // each test crate compiles this file; not all use every constant
impl SeedVm {
    pub const V4_GATEWAY: &'static str = "10.0.250.1";
    pub const V6_GATEWAY: &'static str = "2001:db8:69f5::1";
    pub const V6_ADDRESS: &'static str = "2001:db8:69f5::10";

    pub fn new() -> SeedVm {
        let seed = SeedVm::empty();
        for (nic, peer_nic) in [("eth0", "p0"), ("eth1", "p1")] {
            sh(&[
                "ip", "-n", &seed.vm, "link", "add", nic, "type", "veth", "peer", "name", peer_nic,
                "netns", &seed.peer,
            ]);
        }
        seed.sysctl("net.ipv6.conf.eth1.accept_ra=0");
        for args in [
            "link set lo up",
            "link set eth0 up",
            "link set eth1 up",
            "addr add 10.0.250.10/24 dev eth0",
            "-6 addr add 2001:db8:69f5::10/64 dev eth1 nodad",
            "route add default via 10.0.250.1 dev eth0",
        ] {
            seed.ip(args);
        }
        for args in [
            "link set lo up",
            "link set p0 up",
            "link set p1 up",
            "addr add 10.0.250.1/24 dev p0",
            "-6 addr add 2001:db8:69f5::1/64 dev p1 nodad",
        ] {
            sh(&split(&format!("ip -n {} {args}", seed.peer)));
        }
        seed.settle(&["eth0", "eth1"]);
        seed
    }

    /// Waits (up to 10 s) until each of `nics` has its link-local address,
    /// and none is tentative. The kernel adds it when the link gets
    /// carrier, which it learns up to a second late (and later under load):
    /// a test that starts watching netlink at once would see that address
    /// arrive (or finish its duplicate address detection) in the middle of
    /// what it does.
    fn settle(&self, nics: &[&str]) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        for nic in nics {
            while self
                .ip(&format!("-6 addr show dev {nic} scope link"))
                .trim()
                .is_empty()
                || !self.ip("-6 addr show tentative").trim().is_empty()
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{nic} got no link-local address: {}",
                    self.ip("addr")
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }

    /// The two namespaces, with nothing in them yet.
    fn empty() -> SeedVm {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}-{n}", std::process::id());
        let seed = SeedVm {
            vm: format!("injt-vm-{id}"),
            peer: format!("injt-peer-{id}"),
        };
        sh(&["ip", "netns", "add", &seed.vm]);
        sh(&["ip", "netns", "add", &seed.peer]);
        // Before the NICs exist: `default` applies to NICs made after it.
        seed.sysctl("net.ipv6.conf.all.accept_dad=0");
        seed.sysctl("net.ipv6.conf.default.accept_dad=0");
        seed
    }

    /// The seed's VM as a newer director lays it out with `nic_group`:
    /// IPv4 and IPv6 on one NIC, eth0 (10.0.250.10/24 with the IPv4
    /// default, 2001:db8:69f5::10/64 without an IPv6 one); the peer's p0
    /// holds both gateways.
    #[allow(dead_code)] // each test crate compiles this file; not all call it
    pub fn one_nic() -> SeedVm {
        let seed = SeedVm::empty();
        sh(&[
            "ip", "-n", &seed.vm, "link", "add", "eth0", "type", "veth", "peer", "name", "p0",
            "netns", &seed.peer,
        ]);
        seed.sysctl("net.ipv6.conf.eth0.accept_ra=0");
        for args in [
            "link set lo up",
            "link set eth0 up",
            "addr add 10.0.250.10/24 dev eth0",
            "-6 addr add 2001:db8:69f5::10/64 dev eth0 nodad",
            "route add default via 10.0.250.1 dev eth0",
        ] {
            seed.ip(args);
        }
        for args in [
            "link set lo up",
            "link set p0 up",
            "addr add 10.0.250.1/24 dev p0",
            "-6 addr add 2001:db8:69f5::1/64 dev p0 nodad",
        ] {
            seed.peer_ip(args);
        }
        seed.settle(&["eth0"]);
        seed
    }

    /// The seed's VM before anything configured it: eth0 and eth1 exist,
    /// down and without addresses (for systemd-networkd to configure from
    /// the agent's files, see common/networkd.rs); the peer is as in
    /// [`SeedVm::new`].
    #[allow(dead_code)] // each test crate compiles this file; not all call it
    pub fn unconfigured() -> SeedVm {
        let seed = SeedVm::empty();
        for (nic, peer_nic) in [("eth0", "p0"), ("eth1", "p1")] {
            sh(&[
                "ip", "-n", &seed.vm, "link", "add", nic, "type", "veth", "peer", "name", peer_nic,
                "netns", &seed.peer,
            ]);
        }
        // As on a stemcell: the kernel does not take RAs, networkd does.
        seed.sysctl("net.ipv6.conf.eth1.accept_ra=0");
        seed.ip("link set lo up");
        for args in [
            "link set lo up",
            "link set p0 up",
            "link set p1 up",
            "addr add 10.0.250.1/24 dev p0",
            "-6 addr add 2001:db8:69f5::1/64 dev p1 nodad",
        ] {
            seed.peer_ip(args);
        }
        seed
    }

    /// `ip -n <peer> <args>` (the routers' side); panics when it fails.
    #[allow(dead_code)] // each test crate compiles this file; not all call it
    pub fn peer_ip(&self, args: &str) -> String {
        let out = sh(&split(&format!("ip -n {} {args}", self.peer)));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ip -n <vm> <args>`; panics with ip's stderr when it fails.
    pub fn ip(&self, args: &str) -> String {
        let out = sh(&split(&format!("ip -n {} {args}", self.vm)));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait (up to 10 s) until no IPv6 address in the VM is tentative:
    /// link-local addresses run duplicate address detection for a second or
    /// two after the links come up, and `inject status` reports them meanwhile.
    #[allow(dead_code)] // each test crate compiles this file; not all call it
    pub fn wait_for_dad(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.ip("-6 addr show tentative").trim().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "addresses still tentative: {}",
                self.ip("-6 addr show tentative")
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// `ip netns exec <vm> sysctl -qw <setting>`.
    pub fn sysctl(&self, setting: &str) {
        sh(&["ip", "netns", "exec", &self.vm, "sysctl", "-qw", setting]);
    }

    /// A command that runs `program` inside the VM's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.vm, program]);
        cmd
    }
}

impl Default for SeedVm {
    fn default() -> Self {
        SeedVm::new()
    }
}

impl Drop for SeedVm {
    fn drop(&mut self) {
        for ns in [&self.vm, &self.peer] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn split(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

fn sh<S: AsRef<str>>(argv: &[S]) -> Output {
    let argv: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", argv.join(" ")));
    assert!(
        out.status.success(),
        "{} failed: {}",
        argv.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
