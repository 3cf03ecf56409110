//! Interface names no one should have to see raw: bytes that are not UTF-8
//! (`a\x9bb`, 0x9b being the one-byte CSI) and ESC sequences. `inject
//! status`, its JSON, `--watch`, the dashboard and the dry run show them
//! escaped, inside network namespaces of the test's own. Also: `--watch`
//! whose reader goes away ends then, not at the next netlink event.

#[allow(dead_code)] // shared helpers; this test uses some of them
#[path = "common/netns.rs"]
mod netns;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netns::{can_run, SeedVm};

const BIN: &str = env!("CARGO_BIN_EXE_inject");
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
    seed.command(BIN)
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

/// A child killed (and reaped) when the test ends, passed or failed.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(
    rx: &mpsc::Receiver<String>,
    want: impl Fn(&str) -> bool,
) -> Result<String, Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if want(&line) => return Ok(line),
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    Err(seen)
}

#[test]
fn watch_follows_links_and_addresses_whose_names_are_not_utf8() {
    if !can_run("watch_follows_links_and_addresses_whose_names_are_not_utf8") {
        return;
    }
    let seed = SeedVm::new();
    odd_link(&seed, ODD, "q0", "10.0.251.10/24");
    let mut child = Reaped(
        seed.command(BIN)
            .args(["status", "--watch"])
            .env_remove("INJECT_CONFIG")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(&mut child.0);
    let report = wait_for(&rx, |l| l.starts_with(ODD_SHOWN));
    assert!(report.is_ok(), "the first report lists it: {report:?}");
    wait_for(&rx, |l| l.starts_with("watching for changes")).expect("watch starts");

    ip_with_name(&seed, &["addr", "add", "10.0.252.1/24", "dev", "{}"], ODD);
    assert_eq!(
        wait_for(&rx, |l| l.starts_with("address added: 10.0.252.1")).as_deref(),
        Ok(format!("address added: 10.0.252.1/24 dev {ODD_SHOWN} scope global").as_str())
    );
    ip_with_name(
        &seed,
        &["link", "add", "{}", "type", "veth", "peer", "name", "q1"],
        b"c\xfe",
    );
    let added = wait_for(&rx, |l| l.starts_with(r"link added: c\xfe "));
    assert!(added.is_ok(), "{added:?}");
}

fn wait_ended(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "status --watch still runs 20 s after its reader went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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
        seed.command(BIN)
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
    assert_eq!(wait_ended(&mut child.0).code(), Some(0));
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
        .command(BIN)
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
    if !can_run("the_dashboard_lists_an_interface_whose_name_is_not_utf8") {
        return;
    }
    let seed = SeedVm::new();
    odd_link(&seed, ODD, "q0", "10.0.251.10/24");
    let socket = format!("inject-odd-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_CTYPE")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    };
    struct Server<F: Fn(&[&str]) -> Output>(F);
    impl<F: Fn(&[&str]) -> Output> Drop for Server<F> {
        fn drop(&mut self) {
            (self.0)(&["kill-server"]);
        }
    }
    let script = format!(
        "INJECT_CONFIG=/nonexistent ip netns exec {} {BIN} tui; sleep 60",
        seed.vm
    );
    let server = Server(tmux);
    let out = (server.0)(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        "40",
        &script,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let screen =
            String::from_utf8_lossy(&(server.0)(&["capture-pane", "-p", "-t", "t"]).stdout)
                .into_owned();
        if screen.contains(ODD_SHOWN) && screen.contains("eth0") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dashboard never listed {ODD_SHOWN}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server.0)(&["send-keys", "-t", "t", "q"]);
}
