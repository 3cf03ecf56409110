//! `inject ensure` run for real inside a network namespace that reproduces
//! the seed's VM: it adds the IPv6 default route at start, puts it back
//! after `ip -6 route del default` and after the NIC went down and up,
//! backs off a failing command, stops on SIGTERM, and keeps to one loop
//! per log dir.

mod common;
use common::{netns, wait_for, INJECT};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use netns::{can_run, SeedVm};

/// The seed's command, kept by ensure (`replace` and a gateway-specific
/// guard, as docs/ensure.md advises).
fn route_config() -> String {
    format!(
        "commands:\n\
         - name: ipv6-default-route\n\
         \x20 run: ip -6 route replace default via {0} dev eth1\n\
         \x20 unless: ip -6 route show default | grep -q 'via {0} '\n\
         \x20 phases: [ensure]\n\
         \x20 timeout: 10s\n",
        SeedVm::V6_GATEWAY
    )
}

/// An `inject ensure` running in the VM's namespace, its stdout in a file;
/// killed when dropped so a failing test leaves nothing behind.
struct Ensure {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Ensure {
    fn start(seed: &SeedVm, dir: &Path, config: &str, extra: &[&str]) -> Ensure {
        let cfg = dir.join("commands.yml");
        std::fs::write(&cfg, config).unwrap();
        let n = std::fs::read_dir(dir).unwrap().count();
        let stdout = dir.join(format!("ensure-{n}.stdout"));
        let stderr = dir.join(format!("ensure-{n}.stderr"));
        // `ip netns exec` execs the program: the child's PID is inject's.
        let child = seed
            .command(INJECT)
            .arg("ensure")
            .arg("-c")
            .arg(&cfg)
            .arg("--log-dir")
            .arg(dir.join("log"))
            .args(extra)
            .env_remove("INJECT_CONFIG")
            .env_remove("INJECT_LOG_DIR")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("start inject ensure");
        Ensure {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until stdout has a line containing `needle`.
    fn wait_for(&mut self, needle: &str) {
        self.wait_for_count(needle, 1);
    }

    /// Waits until stdout has `count` lines containing `needle`; on a
    /// timeout the panic shows what ensure said.
    fn wait_for_count(&mut self, needle: &str, count: usize) {
        let what = format!("{count} stdout line(s) with `{needle}`");
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "inject ensure exited ({status}) before {what}:\n{}{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if self.stdout().lines().filter(|l| l.contains(needle)).count() >= count {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out after 10s waiting for {what}; ensure said:\n{}{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the exit (at most `limit`) and returns it with the time taken.
    fn exit(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < limit,
                "inject ensure still runs {limit:?} after the signal:\n{}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Ensure {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn v6_default(seed: &SeedVm) -> String {
    seed.ip("-6 route show default")
}

fn has_v6_default(seed: &SeedVm) -> bool {
    v6_default(seed).contains(&format!("default via {} dev eth1", SeedVm::V6_GATEWAY))
}

#[test]
fn ensure_adds_the_ipv6_default_at_start_and_restores_it_after_a_deletion() {
    if !can_run("ensure_adds_the_ipv6_default_at_start_and_restores_it_after_a_deletion") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !has_v6_default(&seed),
        "the seed VM starts without an IPv6 default"
    );
    let mut ensure = Ensure::start(&seed, dir.path(), &route_config(), &[]);
    ensure.wait_for("ipv6-default-route: repaired at start");
    assert!(has_v6_default(&seed), "after start: {}", v6_default(&seed));

    // Take the route away a few times, each after the last repair's own
    // route notification has passed and a quiet second (change passes come
    // at most once a second; the first change after a quiet one at once).
    let mut delays = Vec::new();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(1300));
        seed.ip("-6 route del default");
        let delay = wait_for(
            "the IPv6 default to come back",
            Duration::from_secs(5),
            || has_v6_default(&seed),
        );
        delays.push(delay);
    }
    delays.sort();
    println!(
        "restore delay after `ip -6 route del default` (5 deletions, polled every ~2 ms): min {:?}, median {:?}, max {:?}",
        delays[0], delays[2], delays[4]
    );
    // The route is back before ensure prints its line about it: wait for
    // the fifth line itself, not for any earlier one that matches.
    ensure.wait_for_count(
        "ipv6-default-route: repaired after route deleted: default via 2001:db8:69f5::1 dev eth1",
        5,
    );
    let v4 = seed.ip("-4 route show default");
    assert!(
        v4.contains(&format!("default via {} dev eth0", SeedVm::V4_GATEWAY)),
        "IPv4 untouched: {v4}"
    );

    let out = ensure.stdout();
    assert!(
        out.contains("keeping 1 command true: ipv6-default-route; re-check every 1m"),
        "{out}"
    );
    assert!(
        !out.contains("nothing to do"),
        "the repairs' own route changes are checked quietly:\n{out}"
    );
    let repairs = out
        .lines()
        .filter(|l| l.contains("repaired after route deleted"))
        .count();
    assert_eq!(repairs, 5, "one line per repair:\n{out}");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("log/ensure-state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["pid"], ensure.child.id());
    assert_eq!(state["commands"][0]["name"], "ipv6-default-route");
    assert!(state["commands"][0]["last_action"].is_string(), "{state}");
}

/// A router whose advertisement adds its `proto ra` default beside the one
/// ensure made (the kernel merges them into one ECMP route) undoes a guard
/// that insists on the BOSH gateway: ensure says who and yields instead of
/// repairing; a plain deletion meanwhile is still repaired at once.
#[test]
fn a_routers_default_beside_the_repair_is_yielded_to_and_a_deletion_still_repaired() {
    if !can_run("a_routers_default_beside_the_repair_is_yielded_to_and_a_deletion_still_repaired") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let insisting = format!(
        "commands:\n\
         - name: ipv6-default-route\n\
         \x20 run: ip -6 route replace default via {0} dev eth1\n\
         \x20 unless: ip -6 route show default via {0} dev eth1 | grep -q .\n\
         \x20 phases: [ensure]\n",
        SeedVm::V6_GATEWAY
    );
    let mut ensure = Ensure::start(&seed, dir.path(), &insisting, &[]);
    ensure.wait_for("ipv6-default-route: repaired at start");
    // The advertisement comes later than the repair's own route change
    // has been checked (the guard holds then): were it in the same burst,
    // the router's change and ensure's own would be one check, and which
    // of them netlink reports first is the kernel's timing, not ensure's.
    let state = dir.path().join("log/ensure-state.json");
    wait_for(
        "the start repair's own change checked",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&state)
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .is_some_and(|v| v["commands"][0]["verdict"] == "holds")
        },
    );
    // What networkd (or the kernel with accept_ra) does on an advertisement.
    seed.ip("-6 route append default via fe80::1 dev eth1 proto ra metric 1024");
    ensure.wait_for("ipv6-default-route: not repaired after route added: default proto ra");
    let out = ensure.stdout();
    assert!(
        out.contains("a router advertisement (proto ra) changed it again"),
        "{out}"
    );
    assert!(
        v6_default(&seed).contains("nexthop via fe80::1"),
        "{}",
        v6_default(&seed)
    );
    assert_eq!(
        out.lines().filter(|l| l.contains(": repaired ")).count(),
        1,
        "{out}"
    );
    // A deletion names nobody: repaired at once, yield or not.
    std::thread::sleep(Duration::from_millis(1100));
    seed.ip("-6 route del default");
    wait_for("the deletion repaired", Duration::from_secs(5), || {
        has_v6_default(&seed)
    });
    ensure.wait_for("ipv6-default-route: repaired after route deleted");
}

/// A plain deletion of the default that lands in one burst with an
/// unrelated route of another maker (networkd's `proto static` IPv4 prefix)
/// is repaired at once: only a default route's protocol names who changed
/// the default. It used to yield for a minute, blaming networkd.
#[test]
fn a_deletion_beside_an_unrelated_named_route_is_repaired_at_once() {
    if !can_run("a_deletion_beside_an_unrelated_named_route_is_repaired_at_once") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let mut ensure = Ensure::start(&seed, dir.path(), &route_config(), &[]);
    ensure.wait_for("ipv6-default-route: repaired at start");
    let both = seed
        .command("sh")
        .arg("-c")
        .arg("ip -6 route del default && ip route add 198.51.100.0/24 dev eth0 proto static")
        .status()
        .unwrap();
    assert!(both.success());
    wait_for("the deletion repaired", Duration::from_secs(5), || {
        has_v6_default(&seed)
    });
    ensure.wait_for("ipv6-default-route: repaired after");
    let out = ensure.stdout();
    assert!(!out.contains("not repaired"), "{out}");
}

/// Issue 12: after someone deleted the route every 50 ms for a while, one
/// more deletion was repaired 23 s late (93 s after longer churn): the churn
/// had been taken for a guard that never holds. Churn by somebody else is
/// no evidence against the guard; the repair after it comes at once.
#[test]
fn a_deletion_after_route_churn_is_repaired_at_once() {
    if !can_run("a_deletion_after_route_churn_is_repaired_at_once") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let mut ensure = Ensure::start(&seed, dir.path(), &route_config(), &[]);
    ensure.wait_for("ipv6-default-route: repaired at start");

    // Churn: delete the default every 50 ms for 8 s (one `ip` call each,
    // inside the namespace; a deletion that finds no route is fine).
    let churn = seed
        .command("sh")
        .arg("-c")
        .arg("i=0; while [ $i -lt 160 ]; do ip -6 route del default 2>/dev/null; sleep 0.05; i=$((i+1)); done")
        .status()
        .unwrap();
    assert!(churn.success());
    wait_for(
        "the IPv6 default back after the churn",
        Duration::from_secs(10),
        || has_v6_default(&seed),
    );
    // A quiet spell, then one deletion.
    std::thread::sleep(Duration::from_secs(4));
    seed.ip("-6 route del default");
    let delay = wait_for(
        "the IPv6 default to come back after one deletion",
        Duration::from_secs(30),
        || has_v6_default(&seed),
    );
    println!("restore delay after churn then one deletion: {delay:?}");
    // The goal is a second; the margin is for a loaded CI machine (before
    // the fix: 23 s).
    assert!(
        delay < Duration::from_secs(2),
        "restored {delay:?} after the deletion:\n{}",
        ensure.stdout()
    );
}

#[test]
fn ensure_restores_the_default_after_the_nic_went_down_and_its_address_came_back() {
    if !can_run("ensure_restores_the_default_after_the_nic_went_down_and_its_address_came_back") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let mut ensure = Ensure::start(&seed, dir.path(), &route_config(), &[]);
    ensure.wait_for("repaired at start");

    seed.ip("link set eth1 down");
    wait_for(
        "routes flushed with the link",
        Duration::from_secs(5),
        || !has_v6_default(&seed),
    );
    seed.ip("link set eth1 up");
    // Without its address eth1 has no way to the gateway: the repair fails.
    ensure.wait_for("ipv6-default-route: FAILED");
    assert!(!has_v6_default(&seed));
    seed.ip(&format!(
        "-6 addr replace {}/64 dev eth1 nodad",
        SeedVm::V6_ADDRESS
    ));
    let delay = wait_for(
        "the IPv6 default after the address",
        Duration::from_secs(5),
        || has_v6_default(&seed),
    );
    println!("restore delay after the address came back: {delay:?}");
    let out = ensure.stdout();
    assert!(
        out.contains("next re-check in 1m, or on a network change, at the soonest in 100ms"),
        "{out}"
    );
    ensure.wait_for("ipv6-default-route: repaired after");
}

#[test]
fn a_failing_command_backs_off_without_flooding_the_log() {
    if !can_run("a_failing_command_backs_off_without_flooding_the_log") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let config = format!(
        "commands:\n- name: broken\n  run: echo >> {}; echo gateway unreachable >&2; exit 3\n  unless: 'false'\n  phases: [ensure]\n",
        runs.display()
    );
    let mut ensure = Ensure::start(&seed, dir.path(), &config, &["--interval", "100ms"]);
    ensure.wait_for("broken: FAILED exit 3 at start");
    std::thread::sleep(Duration::from_secs(3));
    ensure.signal("TERM");
    let (status, _) = ensure.exit(Duration::from_secs(5));
    assert!(status.success(), "{status}");

    let ran = std::fs::read_to_string(&runs).unwrap().lines().count();
    let out = ensure.stdout();
    let failures = out
        .lines()
        .filter(|l| l.contains("broken: FAILED exit 3"))
        .count();
    // Every 100 ms would be 30 runs; doubling gives 0, .1, .3, .7, 1.5, 3.1 s.
    assert!((3..=7).contains(&ran), "{ran} runs in 3 s:\n{out}");
    assert!(
        failures <= ran && failures >= 3,
        "{failures} failure lines for {ran} runs:\n{out}"
    );
    assert!(
        out.contains("failure 3 in a row; next re-check in 400ms"),
        "{out}"
    );
    assert!(
        out.contains("    | gateway unreachable"),
        "the command's stderr is shown:\n{out}"
    );
    assert!(
        out.lines().count() <= 2 * ran + 4,
        "no more than a line and its output per run:\n{out}"
    );
}

/// The reviewer's case: commands whose own netlink changes would start the
/// next check, with guards that never hold. Before change waits and the
/// change-pass rate, the first ran about 16 times a second, for ever.
#[test]
fn a_command_that_changes_the_network_but_never_its_guard_does_not_run_forever() {
    if !can_run("a_command_that_changes_the_network_but_never_its_guard_does_not_run_forever") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let config = format!(
        "commands:\n\
         - name: churn\n\
         \x20 run: ip -6 route replace 2001:db8:9::/64 dev lo metric 5\n\
         \x20 unless: ip -6 route show 2001:db8:9::/64 | grep -q 'metric 99'\n\
         \x20 phases: [ensure]\n\
         - name: churn-then-fail\n\
         \x20 run: echo >> {}; ip -6 route replace 2001:db8:8::/64 dev lo metric 5; exit 4\n\
         \x20 unless: 'false'\n\
         \x20 phases: [ensure]\n",
        runs.display()
    );
    let mut ensure = Ensure::start(&seed, dir.path(), &config, &[]);
    ensure.wait_for("churn: repaired at start");
    std::thread::sleep(Duration::from_secs(3));
    ensure.signal("TERM");
    let (status, _) = ensure.exit(Duration::from_secs(5));
    assert!(status.success(), "{status}");

    let out = ensure.stdout();
    let repairs = out
        .lines()
        .filter(|l| l.contains("churn: repaired"))
        .count();
    let failures = std::fs::read_to_string(&runs).unwrap().lines().count();
    println!("in ~3 s: churn ran {repairs} times, churn-then-fail {failures} times");
    // The guard is still false, so it did run again; but a handful of
    // times (5 here), not 48.
    assert!((2..=10).contains(&repairs), "{repairs} runs:\n{out}");
    assert!((2..=10).contains(&failures), "{failures} runs:\n{out}");
    assert!(
        out.contains("churn: repaired after route added: 2001:db8:")
            && out.contains("its guard, asked again at once, still does not hold"),
        "{out}"
    );
    // Each run after the second puts the next change-made check further
    // off: 100 ms, 200 ms, 400 ms … (the pass rate alone would allow one a
    // second for ever).
    let waits: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("churn: repaired"))
        .filter_map(|l| l.split("at the soonest in ").nth(1))
        .collect();
    assert_eq!(
        waits.get(..3),
        Some(&["100ms", "200ms", "400ms"][..]),
        "{out}"
    );
    assert!(out.lines().count() <= 40, "stdout stays readable:\n{out}");
}

#[test]
fn sigterm_stops_ensure_promptly_and_leaves_no_command_behind() {
    if !can_run("sigterm_stops_ensure_promptly_and_leaves_no_command_behind") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("command.pid");
    let config = format!(
        "commands:\n- name: slow\n  run: echo $$ > {}; sleep 30; sleep 30\n  unless: 'false'\n  phases: [ensure]\n",
        pidfile.display()
    );
    let mut ensure = Ensure::start(&seed, dir.path(), &config, &[]);
    wait_for("the command to start", Duration::from_secs(10), || {
        std::fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))
    });
    let leader: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !group_members(leader).is_empty(),
        "the command's process group runs"
    );

    ensure.signal("TERM");
    let (status, took) = ensure.exit(Duration::from_secs(3));
    println!("inject ensure exited {took:?} after SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit 0 after SIGTERM:\n{}",
        ensure.stdout()
    );
    let left = group_members(leader);
    assert!(
        left.is_empty(),
        "processes of the command left running: {left:?}"
    );
    let out = ensure.stdout();
    assert!(out.contains("stopping on SIGTERM"), "{out}");
    // Ended on SIGTERM, or (when this machine's init reaps the orphaned
    // `sleep` late, so its group lingers) killed after the grace period.
    assert!(
        out.contains("slow: interrupted by the shutdown")
            || out.contains("process group was not gone 700ms after SIGTERM"),
        "{out}"
    );
    assert!(out.trim_end().ends_with(" stopped"), "{out}");
    let state = std::fs::read_to_string(dir.path().join("log/ensure-state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert!(
        state["stopped"].is_string(),
        "a clean stop is written down: {state}"
    );
}

#[test]
fn a_second_ensure_on_the_same_log_dir_fails_naming_the_first() {
    if !can_run("a_second_ensure_on_the_same_log_dir_fails_naming_the_first") {
        return;
    }
    let seed = SeedVm::new();
    let dir = tempfile::tempdir().unwrap();
    let mut first = Ensure::start(&seed, dir.path(), &route_config(), &[]);
    first.wait_for("repaired at start");
    let mut second = Ensure::start(&seed, dir.path(), &route_config(), &[]);
    let (status, _) = second.exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(1));
    let err = second.stderr();
    assert!(
        err.contains(&format!("another inject ensure (pid {})", first.child.id())),
        "{err}"
    );
    assert!(err.contains("ensure.lock"), "{err}");
    assert!(
        second.stdout().is_empty(),
        "the second ran nothing: {}",
        second.stdout()
    );

    // An errand run is not an ensure: it takes its own lock and runs.
    let run = seed
        .command(INJECT)
        .args(["run", "--phase", "ensure", "-c"])
        .arg(dir.path().join("commands.yml"))
        .arg("--log-dir")
        .arg(dir.path().join("log"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Live (not zombie) processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …; comm may hold spaces, so split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            found.push(stat.split(')').next().unwrap_or("").to_string() + ")");
        }
    }
    found
}
