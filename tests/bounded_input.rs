//! Input inject reads as root is bounded: the config's size, what the
//! config is (a FIFO, a device, a directory), how far YAML aliases expand
//! it, `--interval`, the networks' addresses, `env:` names, and the dry
//! run's size. Each test runs the real binary and asserts what an operator
//! sees: the exit code and the message, and for the alias bombs the peak
//! memory (`/usr/bin/time -f %M`).

mod common;
use common::{agent, INJECT};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn inject(args: &[&str]) -> Output {
    let child = Command::new(INJECT)
        .args(args)
        .env_remove("INJECT_CONFIG")
        .env_remove("INJECT_LOG_DIR")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hang is the failure some of these tests look for: kill it and say so
    // instead of hanging the test binary. The output is read meanwhile (on
    // a thread), so a long one cannot stall the child on a full pipe.
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(out) => out,
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("inject {args:?} still runs after 30 s");
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn check(path: &Path) -> Output {
    inject(&["check", "-c", path.to_str().unwrap()])
}

/// `inject check -c path` under `/usr/bin/time -f %M`: the output and the
/// peak resident set in KiB.
fn check_measured(path: &Path) -> (Output, u64) {
    let report = path.with_extension("rss");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .args([INJECT, "check", "-c"])
        .arg(path)
        .env_remove("INJECT_CONFIG")
        .output()
        .expect("/usr/bin/time runs (apt-get install time)");
    let rss = std::fs::read_to_string(&report).unwrap();
    let kib = rss
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS in {rss:?}"));
    (out, kib)
}

#[test]
fn a_config_past_16_mib_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yml");
    let mut text = String::from("commands: []\n");
    let comment = format!("# {}\n", "x".repeat(1022));
    while text.len() <= 16 * 1024 * 1024 {
        text.push_str(&comment);
    }
    std::fs::write(&path, &text).unwrap();
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the most inject reads is 16777216 bytes (16 MiB)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_fifo_a_device_and_a_directory_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    for (path, what) in [
        (fifo.as_path(), "it is a FIFO (named pipe)"),
        (Path::new("/dev/zero"), "it is a device"),
        (dir.path(), "it is a directory"),
    ] {
        let out = check(path);
        assert_eq!(out.status.code(), Some(2), "{path:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "cannot read the config: {what}; the config must be a regular file"
            )),
            "{path:?}: {}",
            stderr(&out)
        );
    }
}

/// The file: a 100 KB string aliased `n` times.
fn alias_bomb(dir: &Path, n: usize) -> PathBuf {
    let mut text = format!(
        "commands:\n  - name: a\n    run: &big {}\n    env:\n",
        "x".repeat(100_000)
    );
    for i in 0..n {
        text.push_str(&format!("      V{i}: *big\n"));
    }
    write(dir, &format!("bomb-{n}.yml"), &text)
}

#[test]
fn aliases_that_would_expand_to_gigabytes_are_refused_in_a_few_mb() {
    let dir = tempfile::tempdir().unwrap();
    for n in [20_000, 60_000] {
        let path = alias_bomb(dir.path(), n);
        let (out, rss_kib) = check_measured(&path);
        assert_eq!(out.status.code(), Some(2), "{n}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("aliases (`*name`) expand the config past 16 MiB"),
            "{n}: {}",
            stderr(&out)
        );
        // The file itself is 0.5 to 1.3 MB; the parser's events a few
        // times that. Before the bound: 1.97 GB, then an abort.
        assert!(rss_kib < 64 * 1024, "{n} aliases: peak RSS {rss_kib} KiB");
    }
}

#[test]
fn nested_aliases_the_billion_laughs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("commands: []\n");
    let path = write(dir.path(), "laughs.yml", &text);
    let (out, rss_kib) = check_measured(&path);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(rss_kib < 64 * 1024, "peak RSS {rss_kib} KiB");
}

#[test]
fn an_anchor_used_a_few_times_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "anchors.yml",
        "commands:\n  - name: a\n    run: echo a\n    env: &common {A: b}\n  - name: b\n    run: echo b\n    env: *common\n",
    );
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn ensure_interval_has_the_config_durations_lower_bound() {
    for interval in ["1ns", "999us", "0s"] {
        let out = inject(&["ensure", "--interval", interval, "-c", "/nonexistent"]);
        assert_eq!(out.status.code(), Some(2), "{interval}");
        assert!(
            stderr(&out).contains(&format!(
                "invalid value '{interval}' for '--interval <DURATION>': must be "
            )),
            "{interval}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("at least 1ms"), "{}", stderr(&out));
    }
}

fn network_error(network: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "n.yml",
        &format!("commands: []\nnetworks:\n  n: {network}\n"),
    );
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2), "{network}: {}", stderr(&out));
    stderr(&out)
}

#[test]
fn an_ip_equal_to_its_gateway_is_an_error() {
    assert!(network_error("{ip: 10.0.0.5, gateway: 10.0.0.5}").ends_with(
        "n.yml:3:3: networks: network `n`: ip and gateway are both 10.0.0.5; an instance is not its own gateway\n"
    ));
}

#[test]
fn multicast_unspecified_loopback_and_mapped_addresses_are_errors() {
    for (network, said) in [
        ("{ip: 224.0.0.1}", "ip 224.0.0.1 is a multicast address"),
        ("{ip: 'ff02::1'}", "ip ff02::1 is a multicast address"),
        (
            "{gateway: 0.0.0.0}",
            "gateway 0.0.0.0 is the unspecified address",
        ),
        ("{ip: '::'}", "ip :: is the unspecified address"),
        ("{ip: 127.0.0.1}", "ip 127.0.0.1 is a loopback address"),
        ("{gateway: '::1'}", "gateway ::1 is a loopback address"),
        (
            "{ip: 255.255.255.255}",
            "ip 255.255.255.255 is the broadcast address",
        ),
        (
            "{ip: '::ffff:10.0.0.1'}",
            "ip ::ffff:10.0.0.1 is an IPv4-mapped IPv6 address; write the IPv4 address 10.0.0.1",
        ),
    ] {
        let err = network_error(network);
        assert!(
            err.contains(&format!("network `n`: {said}")),
            "{network}: {err}"
        );
    }
}

#[test]
fn check_warns_of_a_gateway_outside_the_block_but_not_of_a_link_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "gw.yml",
        "commands: []\nnetworks:\n  \
         default: {ip: 10.0.0.5, gateway: 10.0.1.1, netmask: 255.255.255.0}\n  \
         public: {ip: '2001:db8::10', gateway: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::'}\n",
    );
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: ") && err.contains(
            "networks.default.gateway: 10.0.1.1 is outside 10.0.0.5/24; a route via it works only if the gateway is on-link by other means"
        ),
        "{err}"
    );
    assert_eq!(err.matches("warning").count(), 1, "{err}");
}

#[test]
fn check_warns_of_a_user_this_host_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "user.yml",
        "commands:\n  - {name: as-root, run: id, user: root}\n  - {name: ghost, run: id, user: no-such-user-here}\n",
    );
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "commands[1].user: no user `no-such-user-here` on this host; command `ghost` would not start here"
        ),
        "{err}"
    );
    assert_eq!(err.matches("warning").count(), 1, "{err}");
}

#[test]
fn env_may_not_set_a_name_inject_owns() {
    let dir = tempfile::tempdir().unwrap();
    for key in ["INJECT_IPV6_GATEWAY", "INJECT_SENSITIVE_COMMAND"] {
        let path = write(
            dir.path(),
            "env.yml",
            &format!("commands:\n  - name: hello\n    run: echo hi\n    env:\n      OK: yes\n      {key}: bad\n"),
        );
        for args in [
            vec!["check", "-c", path.to_str().unwrap()],
            vec!["run", "--dry-run", "-c", path.to_str().unwrap()],
        ] {
            let out = inject(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(&format!(
                    "command `hello`: env sets `{key}`, a name inject owns (INJECT_*)"
                )),
                "{}",
                stderr(&out)
            );
            assert!(out.stdout.is_empty(), "nothing planned or run");
        }
    }
}

/// What the BOSH agent's reply spends on `text` (Go's `json.Marshal` of a
/// string, quotes included), counted by tests/common/agent.rs, not by
/// inject's own code.
fn go_json_len(text: &str) -> usize {
    let mut encoded = Vec::new();
    agent::go_string(&mut encoded, text.as_bytes());
    encoded.len()
}

#[test]
fn a_dry_run_of_a_huge_command_stays_inside_the_agents_reply() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "huge.yml",
        &format!(
            "commands:\n  - name: huge\n    run: echo {}\n  - name: after\n    run: echo after\n",
            "<".repeat(300_000)
        ),
    );
    let path = path.to_str().unwrap();
    let out = inject(&["run", "--dry-run", "-c", path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let reply = go_json_len(&text) + go_json_len(&stderr(&out));
    assert!(reply <= 1024 * 1024 - 64 * 1024, "{reply} bytes encoded");
    assert!(
        text.starts_with("dry run: 2 of 2 commands"),
        "{}",
        &text[..200]
    );
    assert!(text.contains("[1/2] huge\n"), "the plan starts as always");
    assert!(
        text.ends_with(
            "dry run cut here: the plan passes the 960 KiB a BOSH errand can return \
             (0 of 2 commands shown in full); `inject check` lists them all\n"
        ),
        "{}",
        &text[text.len() - 300..]
    );

    let out = inject(&["run", "--dry-run", "--json", "-c", path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(go_json_len(&text) <= 1024 * 1024 - 64 * 1024);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "plan_cut");
    assert_eq!(last["shown"], 0);
    assert_eq!(last["total"], 2);
}

#[test]
fn the_dry_run_escapes_control_characters_in_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "esc.yml",
        "commands:\n  - name: paint\n    run: \"printf '\\e[31mred'\"\n    cwd: \"/tmp/\\e[2J\"\n",
    );
    let out = inject(&["run", "--dry-run", "-c", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("run:      printf '^[[31mred'"), "{text}");
    assert!(text.contains("cwd:      /tmp/^[[2J"), "{text}");
}
