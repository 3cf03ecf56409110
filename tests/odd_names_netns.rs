//! Interface names no one should have to see raw: bytes that are not UTF-8
//! (`a\x9bb`, 0x9b being the one-byte CSI) and ESC sequences. `inject
//! status`, its JSON, `--watch`, the dashboard and the dry run show them
//! escaped, inside network namespaces of the test's own. Also: `--watch`
//! whose reader goes away ends then, not at the next netlink event.

mod common;
use common::{
    lines_of, netns, tmux::Tmux, tool_or_skip, wait_ended, wait_for_line, Reaped, INJECT,
};

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use netns::{can_run, SeedVm};

/// The name as the kernel holds it, and as inject shows it.
const ODD: &[u8] = b"a\x9bb";
const ODD_SHOWN: &str = r"a\x9bb";

/// `ip -n <vm> <args…>` with `name` (any bytes) in place of `{}`.
fn ip_with_name(seed: &SeedVm, args: &[&str], name: &[u8]) {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", &seed.vm]);
    for arg in args {
        if *arg == "{}" {
            cmd.arg(OsStr::from_bytes(name));
        } else {
            cmd.arg(arg);
        }
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A veth end called `name` in the VM, up, with `address` on it.
fn odd_link(seed: &SeedVm, name: &[u8], peer: &str, address: &str) {
    ip_with_name(
        seed,
        &["link", "add", "{}", "type", "veth", "peer", "name", peer],
        name,
    );
    ip_with_name(seed, &["link", "set", "{}", "up"], name);
    ip_with_name(seed, &["addr", "add", address, "dev", "{}"], name);
}

fn status(seed: &SeedVm, args: &[&str]) -> Output {
    seed.command(INJECT)
        .arg("status")
        .args(args)
        .env_remove("INJECT_CONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn status_and_its_json_show_a_name_that_is_not_utf8_escaped() {
    if !can_run("status_and_its_json_show_a_name_that_is_not_utf8_escaped") {
        return;
    }
    let seed = SeedVm::new();
    odd_link(&seed, ODD, "q0", "10.0.251.10/24");

    let out = status(&seed, &[]);
    let text = String::from_utf8(out.stdout).expect("the report is UTF-8");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains('\u{9b}'), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("{ODD_SHOWN} ")) && l.contains("10.0.251.10/24")),
        "{text}"
    );
    assert!(
        text.contains(&format!("10.0.251.0/24 dev {ODD_SHOWN} proto kernel")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("eth0 ")), "{text}");

    let out = status(&seed, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&ODD_SHOWN), "{names:?}");
    assert!(names.contains(&"eth0"), "{names:?}");
}

#[test]
fn watch_follows_links_and_addresses_whose_names_are_not_utf8() {
    if !can_run("watch_follows_links_and_addresses_whose_names_are_not_utf8") {
        return;
    }
    let seed = SeedVm::new();
    odd_link(&seed, ODD, "q0", "10.0.251.10/24");
    let mut child = Reaped(
        seed.command(INJECT)
            .args(["status", "--watch"])
            .env_remove("INJECT_CONFIG")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let report = wait_for_line(&rx, |l| l.starts_with(ODD_SHOWN));
    assert!(report.is_ok(), "the first report lists it: {report:?}");
    wait_for_line(&rx, |l| l.starts_with("watching for changes")).expect("watch starts");

    ip_with_name(&seed, &["addr", "add", "10.0.252.1/24", "dev", "{}"], ODD);
    assert_eq!(
        wait_for_line(&rx, |l| l.starts_with("address added: 10.0.252.1")).as_deref(),
        Ok(format!("address added: 10.0.252.1/24 dev {ODD_SHOWN} scope global").as_str())
    );
    ip_with_name(
        &seed,
        &["link", "add", "{}", "type", "veth", "peer", "name", "q1"],
        b"c\xfe",
    );
    let added = wait_for_line(&rx, |l| l.starts_with(r"link added: c\xfe "));
    assert!(added.is_ok(), "{added:?}");
}

#[test]
fn watch_ends_when_its_reader_goes_away_on_a_quiet_host() {
    if !can_run("watch_ends_when_its_reader_goes_away_on_a_quiet_host") {
        return;
    }
    let seed = SeedVm::new();
    // Nothing changes from here on: no netlink event would wake the watch.
    seed.wait_for_dad();
    let mut child = Reaped(
        seed.command(INJECT)
            .args(["status", "--watch"])
            .env_remove("INJECT_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // `| head`: read up to the "watching" line, after which nothing is
    // written until something changes (and nothing will), then go: only
    // the reader's going can end it.
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("watching for changes") {
        line.clear();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "the watch ended early"
        );
    }
    drop(stdout);
    assert_eq!(
        wait_ended(
            &mut child.0,
            "status --watch to end after its reader went away"
        )
        .code(),
        Some(0)
    );
}

#[test]
fn the_dry_run_shows_an_interface_named_with_an_escape_sequence_escaped() {
    if !can_run("the_dry_run_shows_an_interface_named_with_an_escape_sequence_escaped") {
        return;
    }
    let seed = SeedVm::new();
    odd_link(&seed, b"e\x1b[31mX", "q0", "10.0.251.10/24");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("commands.yml");
    std::fs::write(
        &config,
        "commands:\n  - name: show\n    run: echo \"$INJECT_NET_ODD_INTERFACE\"\n\
         networks:\n  odd: {ip: 10.0.251.10, netmask: 255.255.255.0}\n",
    )
    .unwrap();
    let out = seed
        .command(INJECT)
        .args(["run", "--dry-run", "-c"])
        .arg(&config)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "an ESC reached the terminal: {text:?}"
    );
    assert!(
        text.contains("network:  INJECT_NET_ODD_INTERFACE=e^[[31mX"),
        "{text}"
    );
}

#[test]
fn the_dashboard_lists_an_interface_whose_name_is_not_utf8() {
    let test = "the_dashboard_lists_an_interface_whose_name_is_not_utf8";
    if !can_run(test) || !tool_or_skip(test, "tmux") {
        return;
    }
    let seed = SeedVm::new();
    odd_link(&seed, ODD, "q0", "10.0.251.10/24");
    let tmux = Tmux::start(
        "odd",
        120,
        40,
        &format!(
            "INJECT_CONFIG=/nonexistent ip netns exec {} {INJECT} tui; sleep 60",
            seed.vm
        ),
    );
    tmux.wait_for(
        &format!("the dashboard to list {ODD_SHOWN}"),
        Duration::from_secs(10),
        |screen| screen.contains(ODD_SHOWN) && screen.contains("eth0"),
    );
    tmux.keys(&["q"]);
}
