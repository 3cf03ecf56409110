//! `inject status` writes routes while the dump arrives, read straight off
//! the kernel's buffers: its report must be the one the snapshot reader of
//! rtnetlink's parsed messages gives, byte for byte, on a namespace holding
//! every kind of route the model knows and 100 000 more.

mod common;
use common::{netns, INJECT};

use std::process::{Command, Output};

use inject_net::{self as net, findings_with, json, text};
use netns::{can_run, SeedVm};

/// Routes of every shape beside the seed VM's: multipath, TOS, source
/// address, blackhole/unreachable/prohibit, onlink off-link gateways,
/// defaults in other tables (one above 255), a connected prefix, IPv6 ECMP
/// over link-local routers; and an interface named with an ESC.
const VARIED: &[&str] = &[
    "link add name a\u{1b}[31mb type veth peer name x2",
    "route add 198.51.100.0/24 via 10.0.250.1 dev eth0 metric 5 src 10.0.250.10",
    "route add 198.51.101.0/24 tos 0x10 via 10.0.250.1 dev eth0",
    "route add 198.51.102.0/24 nexthop via 10.0.250.1 dev eth0 weight 2 nexthop via 10.0.250.2 dev eth0",
    "route add blackhole 198.51.103.0/24",
    "route add unreachable 198.51.104.0/24",
    "route add prohibit 198.51.105.0/24",
    "route add 203.0.113.0/24 via 192.0.2.1 dev eth0 onlink",
    "route add 203.0.114.0/24 via 192.0.2.1 dev eth0 onlink",
    "route add 192.0.2.128/25 dev eth0 scope link",
    "route add table 100 default via 10.0.250.1 dev eth0",
    "route add table 1000 default via 10.0.250.1 dev eth0 metric 3",
    "-6 route add 2001:db8:2::/48 via 2001:db8:69f5::1 dev eth1 metric 7",
    "-6 route add 2001:db8:3::/48 nexthop via fe80::1 dev eth1 nexthop via fe80::2 dev eth1",
    "-6 route add unreachable 2001:db8:4::/48",
    "-6 route add table 300 default via 2001:db8:69f5::1 dev eth1 metric 2048",
];

/// `inject status ARGS` inside the VM, with no config.
fn status(seed: &SeedVm, args: &[&str]) -> Output {
    let out = seed
        .command(INJECT)
        .arg("status")
        .args(args)
        .env("INJECT_CONFIG", "/nonexistent/inject-test/commands.yml")
        .env_remove("NO_COLOR")
        .output()
        .expect("run inject status");
    assert!(
        out.status.success(),
        "inject status {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The reference: rtnetlink's reader, read inside the VM's namespace, and
/// the views of the whole snapshot (JSON, text); plus whether the direct
/// reader's snapshot is the same.
fn reference(seed: &SeedVm) -> (String, String, bool) {
    let vm = seed.vm.clone();
    std::thread::spawn(move || {
        let ns = std::fs::File::open(format!("/var/run/netns/{vm}")).expect("netns file");
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let s = runtime
            .block_on(net::read::read_snapshot_rtnetlink())
            .expect("rtnetlink read");
        let direct = net::read_snapshot_blocking().expect("direct read");
        let found = findings_with(&s, &Default::default());
        (
            json::to_string(&s, &found),
            text::render(&s, &found, false),
            direct == s,
        )
    })
    .join()
    .expect("the reader thread")
}

fn batch(seed: &SeedVm, lines: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines).unwrap();
    let out = Command::new("ip")
        .args(["-n", &seed.vm, "-batch"])
        .arg(file.path())
        .output()
        .expect("ip -batch");
    assert!(
        out.status.success(),
        "ip -batch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_streamed_report_is_the_snapshot_readers_on_varied_and_100k_route_tables() {
    if !can_run("the_streamed_report_is_the_snapshot_readers_on_varied_and_100k_route_tables") {
        return;
    }
    let seed = SeedVm::new();
    // `ip -batch` takes no `-6`: those go one by one.
    let (v6, rest): (Vec<&str>, Vec<&str>) = VARIED.iter().partition(|l| l.starts_with("-6 "));
    batch(&seed, &(rest.join("\n") + "\n"));
    for line in v6 {
        seed.ip(line);
    }
    for size in ["varied", "100k"] {
        if size == "100k" {
            let mut lines = String::new();
            for i in 0..50_000u32 {
                lines += &format!(
                    "route add 172.{}.{}.{}/32 via 10.0.250.1 dev eth0 proto static\n",
                    16 + (i >> 16),
                    (i >> 8) & 0xff,
                    i & 0xff
                );
                lines += &format!(
                    "route add 2001:db8:1:{i:x}::/64 via 2001:db8:69f5::1 dev eth1 proto static\n"
                );
            }
            batch(&seed, &lines);
        }
        let (want_json, want_text, same_snapshot) = reference(&seed);
        assert!(
            same_snapshot,
            "{size}: the direct reader's snapshot differs"
        );
        let json = String::from_utf8(status(&seed, &["--json"]).stdout).unwrap();
        let text = String::from_utf8(status(&seed, &[]).stdout).unwrap();
        if size == "varied" {
            // The table holds what it should, so the comparison means something.
            for needle in [
                "blackhole 198.51.103.0/24",
                "nexthop via fe80::2 dev eth1",
                "table 1000",
            ] {
                assert!(text.contains(needle), "{needle} in {text}");
            }
            assert!(text.contains("a\\u{1b}[31mb "), "{text}");
            assert!(
                !text.contains('\u{1b}'),
                "no raw ESC reaches the terminal: {text}"
            );
            assert!(json.contains(r#""name":"a\u001b[31mb""#), "{json}");
        } else {
            assert!(json.len() > 10_000_000, "{size}: {} bytes", json.len());
        }
        // Not assert_eq!: a mismatch of 19 MB would drown the log.
        if json != want_json || text != want_text {
            let first = |a: &str, b: &str| {
                let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
                let near = |s: &str| {
                    String::from_utf8_lossy(
                        &s.as_bytes()[at.saturating_sub(150)..(at + 150).min(s.len())],
                    )
                    .into_owned()
                };
                format!(
                    "byte {at} of {}/{}\nours: {}\nwant: {}",
                    a.len(),
                    b.len(),
                    near(a),
                    near(b)
                )
            };
            panic!(
                "{size}: the streamed report differs\nJSON: {}\ntext: {}",
                first(&json, &want_json),
                first(&text, &want_text)
            );
        }
    }
}
