//! inject beside a real systemd-networkd (Debian's, from the files the
//! bosh-agent writes for the seed's VM; see common/networkd.rs): the
//! errand adds the IPv6 default, `networkctl reconfigure eth1` removes it
//! (networkd removes routes it did not make), `inject ensure` puts it back;
//! a router advertisement's default is left alone by the example command
//! and not fought by ensure, even with a guard that insists on the BOSH
//! gateway. Skips with a reason where networkd cannot run, except under
//! CI=true.
//!
//! Figures (restore time, repairs per minute under an RA every second) are
//! printed: `cargo test --test networkd_netns -- --nocapture`.

mod common;
use common::{netns, networkd, wait_for, INJECT};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use netns::SeedVm;
use networkd::{Advertiser, Networkd};

/// The example config (errands/examples, as the README shows it), unchanged.
fn example() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("errands/examples/ipv6-default-route.yml");
    std::fs::read_to_string(path).unwrap()
}

/// The example with `ensure` added to its command's phases.
fn example_kept() -> String {
    let text = example();
    let kept = text.replace(
        "phases: [errand, post-deploy]",
        "phases: [errand, post-deploy, ensure]",
    );
    assert_ne!(
        kept, text,
        "the example's phases line moved: update this test"
    );
    kept
}

/// The example with the guard that insists on the BOSH gateway (the
/// variant in docs/ensure.md): a router's default does not count.
fn example_insisting() -> String {
    let text = example_kept();
    let guard = "unless: ip -6 route get 2000::1 >/dev/null 2>&1";
    assert!(
        text.contains(guard),
        "the example's guard changed: update this test"
    );
    text.replace(
        guard,
        r#"unless: ip -6 route show default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE" | grep -q ."#,
    )
}

/// Starts networkd or says why this test skips (a failure under CI=true).
fn networkd_or_skip(test: &str) -> Option<Networkd> {
    if !networkd::can_run(test) {
        return None;
    }
    match Networkd::start() {
        Ok(nd) => Some(nd),
        Err(why) => {
            common::skip(test, &format!("systemd-networkd does not run here: {why}"));
            None
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `inject run -c CONFIG` in networkd's world; its output, or a panic with it.
fn inject_run(nd: &Networkd, config: &Path) -> String {
    let out = nd
        .command(INJECT)
        .args(["run", "-c"])
        .arg(config)
        .arg("--log-dir")
        .arg(nd.dir.path().join("run-log"))
        .env_remove("INJECT_CONFIG")
        .env_remove("INJECT_LOG_DIR")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inject run failed:\n{text}");
    text
}

fn v6_default(nd: &Networkd) -> String {
    nd.seed.ip("-6 route show default")
}

fn has_bosh_default(nd: &Networkd) -> bool {
    v6_default(nd).contains(&format!("via {} dev eth1", SeedVm::V6_GATEWAY))
}

/// An `inject ensure` in networkd's world, stdout in a file; killed when
/// dropped so a failing test leaves nothing behind.
struct Ensure {
    child: Child,
    stdout: PathBuf,
}

impl Ensure {
    fn start(nd: &Networkd, config: &Path) -> Ensure {
        Ensure::start_bin(nd, config, INJECT)
    }

    /// With another build of inject (to measure a change against the one
    /// before it).
    fn start_bin(nd: &Networkd, config: &Path, bin: &str) -> Ensure {
        let stdout = nd.dir.path().join("ensure.stdout");
        let child = nd
            .command(bin)
            .args(["ensure", "-c"])
            .arg(config)
            .arg("--log-dir")
            .arg(nd.dir.path().join("ensure-log"))
            .env_remove("INJECT_CONFIG")
            .env_remove("INJECT_LOG_DIR")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(nd.dir.path().join("ensure.stderr")).unwrap())
            .spawn()
            .expect("start inject ensure");
        Ensure { child, stdout }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn lines_with(&self, needle: &str) -> usize {
        self.stdout().lines().filter(|l| l.contains(needle)).count()
    }

    fn wait_for(&mut self, needle: &str) {
        self.wait_for_count(needle, 1);
    }

    fn wait_for_count(&mut self, needle: &str, count: usize) {
        let start = Instant::now();
        while self.lines_with(needle) < count {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("inject ensure exited ({status}):\n{}", self.stdout());
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "not {count} lines with `{needle}` in 15s; ensure said:\n{}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Ensure {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn networkctl_reconfigure_removes_the_errands_default_and_ensure_puts_it_back() {
    let test = "networkctl_reconfigure_removes_the_errands_default_and_ensure_puts_it_back";
    let Some(nd) = networkd_or_skip(test) else {
        return;
    };
    assert!(!v6_default(&nd).contains("default"), "{}", v6_default(&nd));
    let config = write(nd.dir.path(), "commands.yml", &example_kept());

    let run = inject_run(&nd, &config);
    assert!(run.contains("=> ok"), "{run}");
    assert!(has_bosh_default(&nd), "{}", v6_default(&nd));

    let mut ensure = Ensure::start(&nd, &config);
    ensure.wait_for("ipv6-default-route: holds");

    let out = nd.networkctl(&["reconfigure", "eth1"]);
    assert!(out.status.success(), "{out:?}");
    let before = Instant::now();
    let gone = before
        + wait_for(
            "networkd to remove the route",
            Duration::from_secs(10),
            || !has_bosh_default(&nd),
        );
    // networkd removes the address too and adds it back; the route can
    // only come back after it. The last poll that saw no address tells
    // when networkd was done.
    let mut address_back = gone;
    let before = Instant::now();
    let back = before
        + wait_for(
            "ensure to put the route back",
            Duration::from_secs(10),
            || {
                let now = Instant::now();
                if !nd
                    .seed
                    .ip("-6 addr show dev eth1 scope global")
                    .contains("2001:db8:69f5::10/64")
                {
                    address_back = now;
                }
                has_bosh_default(&nd)
            },
        );
    eprintln!(
        "{test}: the IPv6 default was back {} ms after networkctl reconfigure eth1 removed it, \
         at most {} ms after networkd put the address back",
        (back - gone).as_millis(),
        (back - address_back).as_millis()
    );
    ensure.wait_for("ipv6-default-route: repaired after");
    for line in ensure
        .stdout()
        .lines()
        .filter(|l| l.contains("repaired after"))
    {
        eprintln!("{test}: ensure said: {line}");
    }
    assert!(
        nd.log().contains("Removing foreign route"),
        "networkd did not say it removed the foreign route:\n{}",
        nd.log()
    );
    assert_eq!(
        ensure.lines_with("not repaired"),
        0,
        "one reconfigure is drift, not a fight:\n{}",
        ensure.stdout()
    );
    // The kernel routes IPv6 off-link again, through the BOSH gateway.
    let get = nd.seed.ip("-6 route get 2001:db8:ffff::1");
    assert!(get.contains("via 2001:db8:69f5::1 dev eth1"), "{get}");

    // A second reconfigure soon after: networkd's removal is a deletion,
    // and a deletion names nobody (netlink does not say who deleted a
    // route): repaired again, not taken for a fight.
    let out = nd.networkctl(&["reconfigure", "eth1"]);
    assert!(out.status.success(), "{out:?}");
    ensure.wait_for_count("ipv6-default-route: repaired after", 2);
    wait_for("the route back again", Duration::from_secs(10), || {
        has_bosh_default(&nd)
    });
    assert_eq!(ensure.lines_with("not repaired"), 0, "{}", ensure.stdout());
}

/// After the link goes down and up networkd puts the address back, not the
/// route; ensure puts the route back, each time: a NIC restart is drift,
/// not networkd undoing ensure's repair, however soon it comes again.
#[test]
fn after_a_nic_restart_networkd_restores_the_address_and_ensure_the_route() {
    let test = "after_a_nic_restart_networkd_restores_the_address_and_ensure_the_route";
    let Some(nd) = networkd_or_skip(test) else {
        return;
    };
    let config = write(nd.dir.path(), "commands.yml", &example_kept());
    inject_run(&nd, &config);
    let mut ensure = Ensure::start(&nd, &config);
    ensure.wait_for("ipv6-default-route: holds");
    for round in 1..=2 {
        nd.seed.ip("link set eth1 down");
        wait_for(
            "the route gone with the link",
            Duration::from_secs(10),
            || !has_bosh_default(&nd),
        );
        nd.seed.ip("link set eth1 up");
        wait_for(
            "networkd to put the address back",
            Duration::from_secs(15),
            || {
                nd.seed
                    .ip("-6 addr show dev eth1 scope global")
                    .contains("2001:db8:69f5::10/64")
            },
        );
        wait_for(
            "ensure to put the route back",
            Duration::from_secs(10),
            || has_bosh_default(&nd),
        );
        eprintln!("{test}: round {round}: the route is back");
    }
    // The route is back before ensure writes its line about it.
    ensure.wait_for_count(": repaired after", 2);
    let said = ensure.stdout();
    assert_eq!(ensure.lines_with("not repaired"), 0, "{said}");
}

#[test]
fn a_router_advertisements_default_is_left_alone_by_the_example_and_by_ensure() {
    let test = "a_router_advertisements_default_is_left_alone_by_the_example_and_by_ensure";
    let Some(nd) = networkd_or_skip(test) else {
        return;
    };
    let _ra = Advertiser::start(&nd.seed, Duration::from_secs(1));
    wait_for(
        "networkd to add the RA's default",
        Duration::from_secs(15),
        || v6_default(&nd).contains("proto ra"),
    );
    let before = v6_default(&nd);
    assert!(before.contains("default via fe80::"), "{before}");

    let config = write(nd.dir.path(), "commands.yml", &example_kept());
    let run = inject_run(&nd, &config);
    assert!(run.contains("skipped: unless guard exited 0"), "{run}");

    let mut ensure = Ensure::start(&nd, &config);
    ensure.wait_for("ipv6-default-route: holds");
    // Five more advertisements (INJECT_OBSERVE_SECS=60: a minute's).
    let observe = observe_secs(5);
    std::thread::sleep(Duration::from_secs(observe));
    let after = v6_default(&nd);
    assert!(
        after.contains("proto ra") && !after.contains(SeedVm::V6_GATEWAY),
        "the router's default was replaced: {after}"
    );
    let repairs = ensure.lines_with("repaired");
    eprintln!("{test}: {repairs} repairs in {observe} s with an advertisement every second");
    assert_eq!(repairs, 0, "{}", ensure.stdout());
}

/// How long to watch: INJECT_OBSERVE_SECS, else `default` seconds.
fn observe_secs(default: u64) -> u64 {
    std::env::var("INJECT_OBSERVE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The variant that insists on the BOSH gateway fights a router that sends
/// an advertisement every second: ensure repairs once, sees the router undo
/// it (`proto ra`) and yields instead of repairing each second.
#[test]
fn ensure_with_a_guard_insisting_on_the_gateway_yields_to_the_router() {
    let test = "ensure_with_a_guard_insisting_on_the_gateway_yields_to_the_router";
    let Some(nd) = networkd_or_skip(test) else {
        return;
    };
    let ra = Advertiser::start(&nd.seed, Duration::from_secs(1));
    wait_for(
        "networkd to add the RA's default",
        Duration::from_secs(15),
        || v6_default(&nd).contains("proto ra"),
    );
    let config = write(nd.dir.path(), "commands.yml", &example_insisting());
    // INJECT_OBSERVE_SECS=60 measures a full minute.
    let observe = observe_secs(15);
    // INJECT_ENSURE_BIN=<an older build> measures that one instead (its
    // figure is printed before the asserts fail).
    let bin = std::env::var("INJECT_ENSURE_BIN").unwrap_or_else(|_| INJECT.to_string());
    let mut ensure = Ensure::start_bin(&nd, &config, &bin);
    ensure.wait_for("ipv6-default-route: repaired at start");
    let sent_before = ra.sent.load(std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(observe));
    let sent = ra.sent.load(std::sync::atomic::Ordering::SeqCst) - sent_before;
    let repairs = ensure.lines_with(": repaired ");
    eprintln!(
        "{test}: {repairs} repairs in the first {observe} s of ensure ({sent} advertisements meanwhile, one a second), the one at start included"
    );
    let yielded = ensure.lines_with("ipv6-default-route: not repaired");
    for line in ensure
        .stdout()
        .lines()
        .filter(|l| l.contains("not repaired"))
    {
        eprintln!("{test}: ensure said: {line}");
    }
    assert!(
        ensure
            .stdout()
            .contains("a router advertisement (proto ra) changed it again"),
        "ensure did not say who undid its repair:\n{}",
        ensure.stdout()
    );
    assert_eq!(yielded, 1, "{}", ensure.stdout());
    assert_eq!(repairs, 1, "ensure fought the router:\n{}", ensure.stdout());
}
