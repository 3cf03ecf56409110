//! `inject run` on the real binary: real shells, real process groups, real
//! signals. Each test writes its config into a temp dir and reads what a user
//! would see: stdout, stderr, the exit code, files the commands made.

mod common;
use common::{agent, alive, pipe, root_or_skip, wait_for, Run, INJECT};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(config: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        // Commands refer to the case's directory as $DIR.
        let config = config.replace("$DIR", dir.path().to_str().unwrap());
        std::fs::write(dir.path().join("commands.yml"), config).unwrap();
        Case { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(INJECT);
        cmd.arg("run")
            .arg("-c")
            .arg(self.path("commands.yml"))
            .args(args);
        cmd.env_remove("INJECT_LOG_DIR")
            .env_remove("INJECT_CONFIG")
            .env_remove("NO_COLOR");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().unwrap();
        Run::from(out)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

/// Far more than any of these runs needs: only a guard against a hang, so a
/// broken run fails as "hung" instead of blocking the suite. Not a timing
/// assertion: the tests prove their behaviour with processes and files.
const HANG: Duration = Duration::from_secs(60);

/// Waits for `child` and its output; kills it and fails as hung past [`HANG`].
fn wait_or_hang(child: Child) -> Run {
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let hung = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (done, hung) = (done.clone(), hung.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > HANG {
                    hung.store(true, Ordering::SeqCst);
                    let _ = Command::new("kill")
                        .arg("-KILL")
                        .arg(pid.to_string())
                        .status();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    assert!(
        !hung.load(Ordering::SeqCst),
        "hung: inject did not end within {HANG:?}"
    );
    Run::from(out)
}

/// Runs `cmd` to its end, or fails as hung.
fn run_or_hang(mut cmd: Command) -> Run {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_or_hang(child)
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[test]
fn commands_run_in_config_order_with_headers_results_and_summary() {
    let case = Case::new(
        "commands:
  - {name: first, run: 'echo first >> $DIR/order; echo out-1'}
  - {name: second, run: 'echo second >> $DIR/order; echo err-2 >&2'}
  - {name: third, run: 'echo third >> $DIR/order'}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(case.read("order"), "first\nsecond\nthird\n");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "[1/3] first");
    assert_eq!(lines[1], "  out-1");
    assert!(lines[2].starts_with("  => ok ("), "{run:?}");
    assert_eq!(lines[3], "[2/3] second");
    assert_eq!(lines[4], "! err-2", "stderr lines are marked: {run:?}");
    assert_eq!(lines[6], "[3/3] third");
    assert!(
        run.stdout
            .contains("\n3 commands: 3 ok, 0 skipped, 0 failed in "),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "no colours without a TTY: {run:?}"
    );
}

#[test]
fn unless_guard_exiting_zero_skips_the_command() {
    let case = Case::new(
        "commands:
  - name: route
    run: touch $DIR/ran
    unless: test -d /
  - name: other
    run: touch $DIR/other
    unless: test -e $DIR/nothing-here
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!case.path("ran").exists(), "a skipped command must not run");
    assert!(
        case.path("other").exists(),
        "a guard exiting non-zero lets the command run"
    );
    assert!(
        run.stdout
            .contains("  => skipped: unless guard exited 0 (test -d /)"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("2 commands: 1 ok, 1 skipped, 0 failed"),
        "{run:?}"
    );
}

#[test]
fn only_if_guard_must_exit_zero_for_the_command_to_run() {
    let case = Case::new(
        "commands:
  - {name: yes, run: touch $DIR/yes, only_if: 'true'}
  - {name: no, run: touch $DIR/no, only_if: 'exit 4'}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(case.path("yes").exists());
    assert!(!case.path("no").exists());
    assert!(
        run.stdout
            .contains("  => skipped: only_if guard exited 4 (exit 4)"),
        "{run:?}"
    );
}

#[test]
fn a_failure_stops_the_run_and_the_rest_are_not_run() {
    let case = Case::new(
        "commands:
  - {name: a, run: 'true'}
  - {name: b, run: 'echo broken >&2; exit 3'}
  - {name: c, run: touch $DIR/c}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("  => FAILED exit 3 ("), "{run:?}");
    assert!(run.stdout.contains("[3/3] c\n  => not run\n"), "{run:?}");
    assert!(!case.path("c").exists());
    assert!(
        run.stdout
            .contains("3 commands: 1 ok, 0 skipped, 1 failed, 1 not run"),
        "{run:?}"
    );
}

#[test]
fn continue_on_error_fails_without_stopping_the_run() {
    let case = Case::new(
        "commands:
  - {name: a, run: 'exit 5', continue_on_error: true}
  - {name: b, run: touch $DIR/b}
  - {name: c, run: 'exit 6'}
  - {name: d, run: touch $DIR/d}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "a failed command still fails the run: {run:?}");
    assert!(case.path("b").exists(), "{run:?}");
    assert!(
        !case.path("d").exists(),
        "c has no continue_on_error: {run:?}"
    );
    assert!(
        run.stdout
            .contains("4 commands: 1 ok, 0 skipped, 2 failed, 1 not run"),
        "{run:?}"
    );
}

#[test]
fn stop_on_error_false_runs_everything() {
    let case = Case::new(
        "stop_on_error: false
commands:
  - {name: a, run: 'exit 1'}
  - {name: b, run: touch $DIR/b}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(case.path("b").exists(), "{run:?}");
}

#[test]
fn retries_run_a_failing_command_again_until_it_succeeds() {
    // Fails on the first two attempts, succeeds on the third.
    let case = Case::new(
        "commands:
  - name: flaky
    run: 'echo x >> $DIR/tries; test $(wc -l < $DIR/tries) -ge 3'
    retries: 3
    retry_delay: 10ms
  - name: hopeless
    run: 'echo y >> $DIR/hopeless; exit 2'
    retries: 1
    retry_delay: 10ms
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(case.read("tries").lines().count(), 3);
    assert_eq!(
        case.read("hopeless").lines().count(),
        2,
        "retries: 1 means two attempts"
    );
    assert!(
        run.stdout
            .contains("  => FAILED exit 1; retrying in 10ms (attempt 2)"),
        "{run:?}"
    );
    assert!(run.stdout.contains("  => ok (3 attempts, "), "{run:?}");
    assert!(
        run.stdout.contains("  => FAILED exit 2 (2 attempts, "),
        "{run:?}"
    );
}

#[test]
fn a_timeout_kills_the_command_and_everything_it_started() {
    // The background child ignores SIGTERM and holds stdout open: only the
    // SIGKILL to the whole group ends it.
    let case = Case::new(
        "commands:
  - name: hangs
    run: |
      (trap '' TERM; exec sleep 300) &
      echo $! > $DIR/child.pid
      echo $$ > $DIR/leader.pid
      sleep 300
    timeout: 1s
  - name: next
    run: touch $DIR/next
",
    );
    // The run must not wait for the child's 300s sleep: no hang.
    let run = run_or_hang(case.command(&[]));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("  => TIMED OUT after 1s ("), "{run:?}");
    assert!(run.stdout.contains("[2/2] next\n  => not run"), "{run:?}");
    let child = read_pid(&case.path("child.pid")).expect("child pid");
    let leader = read_pid(&case.path("leader.pid")).expect("leader pid");
    assert!(
        !alive(child),
        "background child {child} survived the timeout"
    );
    assert!(!alive(leader), "leader {leader} survived the timeout");
}

fn spawn_and_wait_for_pid(case: &Case, args: &[&str], pidfile: &str) -> (Child, u32) {
    let child = case
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pid = None;
    wait_for("the command to start", Duration::from_secs(20), || {
        pid = read_pid(&case.path(pidfile));
        pid.is_some()
    });
    (child, pid.unwrap())
}

fn interrupt(signal: &str, code: i32) {
    let case = Case::new(
        "commands:
  - name: long
    run: |
      sleep 300 &
      echo $! > $DIR/child.pid
      wait
  - name: after
    run: touch $DIR/after
",
    );
    let (child, sleeper) = spawn_and_wait_for_pid(&case, &[], "child.pid");
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, code, "{run:?}");
    assert!(
        run.stdout.contains("[1/2] long\n  => interrupted ("),
        "{run:?}"
    );
    assert!(run.stdout.contains("[2/2] after\n  => not run"), "{run:?}");
    assert!(
        run.stdout
            .contains("2 commands: 0 ok, 0 skipped, 0 failed, 1 not run, interrupted"),
        "{run:?}"
    );
    assert!(!case.path("after").exists());
    assert!(
        !alive(sleeper),
        "the command's child {sleeper} survived {signal}"
    );
}

#[test]
fn sigterm_terminates_the_running_command_and_exits_143() {
    interrupt("TERM", 143);
}

#[test]
fn sigint_terminates_the_running_command_and_exits_130() {
    interrupt("INT", 130);
}

/// Issue 12: a hangup (the ssh session of a hand-started run dropping)
/// killed inject with its command's process group left running.
#[test]
fn sighup_terminates_the_running_command_and_exits_129() {
    interrupt("HUP", 129);
}

#[test]
fn output_beyond_the_limit_is_cut_and_the_run_log_keeps_all_of_it() {
    let case = Case::new(
        "output_limit: 1KiB
commands:
  - name: chatty
    run: seq 1 10000
",
    );
    let logs = case.path("logs");
    let run = case.run(&["--log-dir", logs.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("  1\n  2\n"), "{run:?}");
    assert!(!run.stdout.contains("  10000\n"), "{run:?}");
    let cut = run
        .stdout
        .lines()
        .find(|l| l.contains("bytes of output not shown"))
        .expect("a cut line");
    let full = cut
        .split("full output in ")
        .nth(1)
        .expect("names the full log");
    let kept = std::fs::read_to_string(full).unwrap();
    let expected: String = (1..=10000).map(|n| format!("{n}\n")).collect();
    assert_eq!(kept, expected, "the run log keeps all output");
    assert!(
        run.stdout.len() < 4096,
        "shown output stays near the limit: {} bytes",
        run.stdout.len()
    );
}

/// A run of one command printing one line of `len` bytes and its newline,
/// under `output_limit: 1KiB`.
fn one_line_under_a_1kib_limit(len: usize) -> Run {
    let case = Case::new(&format!(
        "output_limit: 1KiB\ncommands:\n  - {{name: line, run: \"head -c {len} /dev/zero | tr '\\\\0' x; echo\"}}\n"
    ));
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    run
}

#[test]
fn output_of_exactly_output_limit_bytes_is_shown_whole() {
    // 1023 bytes and the newline: 1024, the limit itself.
    let run = one_line_under_a_1kib_limit(1023);
    assert!(
        run.stdout.contains(&format!("\n  {}\n", "x".repeat(1023))),
        "{run:?}"
    );
    assert!(!run.stdout.contains("not shown"), "{run:?}");
}

#[test]
fn output_one_byte_over_output_limit_is_cut_and_says_so() {
    let run = one_line_under_a_1kib_limit(1024);
    assert!(!run.stdout.contains(&"x".repeat(1024)), "{run:?}");
    assert!(
        run.stdout
            .contains("  … 1025 bytes of output not shown (output_limit,"),
        "{run:?}"
    );
}

#[test]
fn fifty_megabytes_of_output_keep_memory_flat() {
    if !Path::new("/usr/bin/time").exists() {
        panic!("needs GNU time (/usr/bin/time) to measure peak memory");
    }
    let case = Case::new(
        "commands:
  - name: lines
    run: head -c 50000000 /dev/zero | tr '\\0' x | fold -w 99
  - name: one-endless-line
    run: head -c 50000000 /dev/zero | tr '\\0' x
",
    );
    let logs = case.path("logs");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v")
        .arg(INJECT)
        .arg("run")
        .arg("-c")
        .arg(case.path("commands.yml"));
    cmd.arg("--log-dir").arg(&logs);
    let run = Run::from(cmd.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let peak_kb: u64 = run
        .stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .expect("time -v reports the peak")
        .parse()
        .unwrap();
    assert!(
        peak_kb < 30 * 1024,
        "peak RSS {peak_kb} KiB for 100 MB of output"
    );
    let sizes: Vec<u64> = std::fs::read_dir(
        std::fs::read_dir(logs.join("runs"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap()
    .map(|e| e.unwrap().metadata().unwrap().len())
    .collect();
    // Issue 18: each file keeps the first 4 MiB and the last 1 MiB (and
    // a line saying what was dropped), not all 50 MB.
    let kept = inject_errands::runlog::OUTPUT_HEAD + inject_errands::runlog::OUTPUT_TAIL as u64;
    let files: Vec<u64> = sizes.into_iter().filter(|&s| s > 100).collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files.iter().all(|&s| s > kept && s < kept + 300),
        "each log keeps head and tail: {files:?}"
    );
}

#[test]
fn a_second_run_on_the_same_log_dir_fails_at_once_naming_the_holder() {
    let case = Case::new(
        "commands:
  - name: slow
    run: 'echo $$ > $DIR/started; sleep 300'
",
    );
    let logs = case.path("logs");
    let (mut first, _) =
        spawn_and_wait_for_pid(&case, &["--log-dir", logs.to_str().unwrap()], "started");
    // The first sleeps 300s: a second that waited for the lock would hang.
    let second = run_or_hang(case.command(&["--log-dir", logs.to_str().unwrap()]));
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        second.stderr.contains(&format!(
            "another inject run (pid {}) is running",
            first.id()
        )),
        "{second:?}"
    );
    assert!(second.stdout.is_empty(), "{second:?}");
    let _ = Command::new("kill").arg(first.id().to_string()).status();
    let _ = first.wait();
    // The lock goes with its holder: a third run gets it.
    let third = Case::new("commands:\n  - {name: quick, run: 'true'}\n");
    let after = third.run(&["--log-dir", logs.to_str().unwrap()]);
    assert_eq!(after.code, 0, "{after:?}");
}

#[test]
fn commands_see_their_env_network_variables_cwd_and_user() {
    let case = Case::new(
        "commands:
  - name: show
    run: 'echo \"$GREETING|$PORT|$INJECT_NET_IPV6_NET_GATEWAY|$INJECT_NET_IPV6_NET_IP|$INJECT_NET_V4_NETMASK|$(pwd)\"'
    env: {GREETING: hello, PORT: 8080}
    cwd: /usr
networks:
  ipv6-net: {ip: '2001:db8:69f5::10', gateway: '2001:db8:69f5::1'}
  v4: {netmask: 255.255.255.0}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("  hello|8080|2001:db8:69f5::1|2001:db8:69f5::10|255.255.255.0|/usr\n"),
        "{run:?}"
    );
}

#[test]
fn a_command_runs_as_its_user() {
    if !root_or_skip("a_command_runs_as_its_user", "to switch users") {
        return;
    }
    let case = Case::new(
        "commands:
  - {name: who, run: 'id -un; echo $HOME', user: nobody}
  - {name: ghost, run: 'true', user: no-such-user-here}
  - {name: nowhere, run: 'true', cwd: /no/such/dir}
",
    );
    let run = case.run(&["--only", "who"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("  nobody\n"), "{run:?}");
    let run = case.run(&["--only", "ghost"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "commands.yml:3:38: commands[1].user: no user `no-such-user-here` on this machine; nothing was run"
        ),
        "{run:?}"
    );
    let run = case.run(&["--only", "nowhere"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "commands.yml:4:39: commands[2].cwd: cwd /no/such/dir is not a directory; nothing was run"
        ),
        "{run:?}"
    );
}

#[test]
fn a_bad_user_or_cwd_later_in_the_plan_stops_it_before_anything_runs() {
    // "Nothing half-applied": the first command must not change the VM when
    // the third cannot even start.
    let case = Case::new(
        "commands:
  - {name: first, run: touch $DIR/first-ran}
  - {name: second, run: 'true', cwd: $DIR}
  - {name: third, run: 'true', user: no-such-user-here}
  - {name: fourth, run: 'true', cwd: $DIR/missing}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains(
            "commands[2].user: no user `no-such-user-here` on this machine; nothing was run"
        ),
        "{run:?}"
    );
    assert!(!case.path("first-ran").exists(), "the first command ran");
    let run = case.run(&["--only", "first", "--only", "fourth"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("commands[3].cwd: cwd "), "{run:?}");
    assert!(!case.path("first-ran").exists(), "the first command ran");
}

/// A user made for one test (`useradd`), with a primary group and two
/// supplementary ones (`groupadd`), all named for this process; deleted on
/// drop so no test leaves them on the machine.
struct UserInGroups {
    user: String,
    groups: [String; 3],
}

impl UserInGroups {
    fn new() -> UserInGroups {
        let id = std::process::id();
        let made = UserInGroups {
            user: format!("injt-u{id}"),
            groups: [0, 1, 2].map(|n| format!("injt-g{id}-{n}")),
        };
        // Another process may hold /etc/passwd's or /etc/group's lock a
        // moment (useradd then says "cannot lock"): tried again, a while.
        let sh = |program: &str, args: &[&str]| {
            for _ in 0..100 {
                let out = Command::new(program).args(args).output().unwrap();
                if out.status.success() {
                    return;
                }
                let why = String::from_utf8_lossy(&out.stderr);
                assert!(why.contains("lock"), "{program} {args:?}: {out:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("{program} {args:?}: the lock stayed taken");
        };
        for group in &made.groups {
            sh("groupadd", &[group]);
        }
        let supplementary = format!("{},{}", made.groups[1], made.groups[2]);
        sh(
            "useradd",
            &[
                "--no-create-home",
                "--shell",
                "/bin/sh",
                "--gid",
                &made.groups[0],
                "--groups",
                &supplementary,
                &made.user,
            ],
        );
        made
    }
}

impl Drop for UserInGroups {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.user).output();
        for group in &self.groups {
            let _ = Command::new("groupdel").arg(group).output();
        }
    }
}

#[test]
fn a_command_run_as_a_user_keeps_that_users_supplementary_groups() {
    let test = "a_command_run_as_a_user_keeps_that_users_supplementary_groups";
    if !root_or_skip(test, "to make a user and switch to it") {
        return;
    }
    // A user of the test's own, in two groups of its own (made here,
    // removed when the test ends, passed or failed).
    let made = UserInGroups::new();
    let user = made.user.as_str();
    let expected = Command::new("id").arg("-G").arg(user).output().unwrap();
    let expected = String::from_utf8_lossy(&expected.stdout).trim().to_string();
    assert_eq!(
        expected.split_whitespace().count(),
        3,
        "{user}: a primary and two supplementary groups: {expected}"
    );
    let case = Case::new(&format!(
        "commands:\n  - {{name: groups, run: 'id -G', user: {user}}}\n"
    ));
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut shown: Vec<&str> = run
        .stdout
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let mut wanted: Vec<&str> = expected.split_whitespace().collect();
    shown.sort();
    wanted.sort();
    assert_eq!(shown, wanted, "{user}'s groups under inject: {run:?}");
}

#[test]
fn exit_code_2_for_a_bad_config_or_usage_and_nothing_runs() {
    let case = Case::new(
        "commands:
  - {name: a, run: touch $DIR/ran}
  - {name: b, rn: 'true'}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 2, "{run:?}");
    let config = case.path("commands.yml");
    assert!(
        run.stderr.contains(&format!(
            "{}:3:15: commands[1]: unknown field `rn`",
            config.display()
        )),
        "{run:?}"
    );
    assert!(!case.path("ran").exists());

    let good = Case::new("commands:\n  - {name: a, run: touch $DIR/ran}\n");
    let run = good.run(&["--only", "nope"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("--only nope: no command of that name (the config has: a)"),
        "{run:?}"
    );
    let run = good.run(&["--phase", "reboot"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unknown phase `reboot`"), "{run:?}");
    assert!(!good.path("ran").exists());

    let missing = Command::new(INJECT)
        .args(["run", "-c", "/nonexistent/commands.yml"])
        .output()
        .unwrap();
    let run = Run::from(missing);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("/nonexistent/commands.yml: cannot read the config"),
        "{run:?}"
    );
}

#[test]
fn phase_selects_the_tagged_commands() {
    let case = Case::new(
        "commands:
  - {name: errand-only, run: touch $DIR/errand}
  - {name: boot, run: touch $DIR/boot, phases: [pre-start, errand]}
  - {name: keep, run: 'true', unless: 'true', phases: [ensure]}
",
    );
    let run = case.run(&["--phase", "pre-start"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("[1/1] boot\n"), "{run:?}");
    assert!(case.path("boot").exists() && !case.path("errand").exists());
}

#[test]
fn json_prints_one_parseable_event_per_line() {
    let case = Case::new(
        "commands:
  - {name: hello, run: 'echo hi; echo oops >&2'}
  - {name: bad, run: 'exit 7'}
",
    );
    let run = case.run(&["--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "started",
            "output",
            "output",
            "finished",
            "started",
            "finished",
            "run_finished",
            "inject_summary"
        ],
        "{run:?}"
    );
    let out = events
        .iter()
        .find(|e| e["line"] == "hi")
        .expect("stdout line");
    assert_eq!(out["stream"], "stdout");
    assert!(events
        .iter()
        .any(|e| e["line"] == "oops" && e["stream"] == "stderr"));
    let bad = &events[6];
    assert_eq!(bad["name"], "bad");
    assert_eq!(bad["outcome"]["result"], "failed");
    assert_eq!(bad["outcome"]["exit_code"], 7);
    assert_eq!(events[7]["summary"]["failed"], 1);
    assert_eq!(events[7]["summary"]["ok"], 1);
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let case = Case::new(
        "timeout: 2m
commands:
  - name: make-file
    run: touch $DIR/made
    unless: test -e $DIR/guard-ran || touch $DIR/guard-ran
    env: {SECRET_TOKEN: hunter2}
  - name: hidden
    run: echo password
    sensitive: true
networks:
  ipv6: {gateway: '2001:db8::1'}
",
    );
    let run = case.run(&["--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!case.path("made").exists(), "dry-run executed the command");
    assert!(
        !case.path("guard-ran").exists(),
        "dry-run executed the guard"
    );
    let dir = case.dir.path().display();
    let expected = format!(
        "dry run: 2 of 2 commands in phase errand, each run as: /bin/bash --noprofile --norc -eo pipefail -c <command>; nothing is executed
[1/2] make-file
    phase:    errand
    run:      touch {dir}/made
    unless:   test -e {dir}/guard-ran || touch {dir}/guard-ran   (skip when it exits 0)
    limits:   timeout 2m, no retries
    env:      SECRET_TOKEN
[2/2] hidden
    phase:    errand
    run:      <redacted>
    limits:   timeout 2m, no retries
"
    );
    assert_eq!(run.stdout, expected);
    assert!(!run.stdout.contains("hunter2"));
}

#[test]
fn dry_run_in_the_config_previews_as_the_flag_does() {
    let case = Case::new(
        "dry_run: true
commands:
  - {name: make-file, run: 'touch $DIR/made'}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("dry run: 1 of 1 commands in phase errand"),
        "{run:?}"
    );
    assert!(
        !case.path("made").exists(),
        "dry_run: true executed the command"
    );
}

#[test]
fn sensitive_commands_are_redacted_in_output_and_log() {
    let case = Case::new(
        "commands:
  - {name: secret, run: 'echo done', unless: 'test -n secret-guard-text', sensitive: true}
",
    );
    let logs = case.path("logs");
    let run = case.run(&["--log-dir", logs.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("  => skipped: unless guard exited 0 (<redacted>)"),
        "{run:?}"
    );
    let log = std::fs::read_to_string(logs.join("inject-run.jsonl")).unwrap();
    assert!(
        log.contains("<redacted>") && !log.contains("secret-guard-text"),
        "{log}"
    );
}

#[test]
fn the_run_log_has_a_json_line_per_event_and_each_commands_output() {
    let case = Case::new(
        "commands:
  - {name: one, run: 'echo to-stdout; echo to-stderr >&2'}
  - {name: two, run: 'exit 3'}
",
    );
    let logs = case.path("logs");
    let run = case.run(&["--log-dir", logs.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    let log = std::fs::read_to_string(logs.join("inject-run.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let finished: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["event"] == "finished").collect();
    assert_eq!(finished.len(), 2);
    assert_eq!(finished[1]["command"], "two");
    assert_eq!(finished[1]["phase"], "errand");
    assert_eq!(finished[1]["outcome"]["exit_code"], 3);
    assert!(finished[1]["duration"].is_number() && finished[1]["time"].is_string());
    let runs = logs.join("runs");
    let run_dir = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let output = std::fs::read_to_string(run_dir.join("01-one.log")).unwrap();
    assert_eq!(output, "to-stdout\nstderr| to-stderr\n");
    assert!(
        run.stdout.contains(&format!(
            "run log: {}",
            logs.join("inject-run.jsonl").display()
        )),
        "{run:?}"
    );
}

#[test]
fn a_log_that_cannot_be_written_is_reported_once_and_the_run_goes_on() {
    let case = Case::new(
        "commands:\n  - {name: a, run: touch $DIR/a}\n  - {name: b, run: touch $DIR/b}\n",
    );
    // The events file cannot be written (a dir in its place); the lock
    // can. (A log dir that is a file refuses the run since issue 18: see
    // tests/root_files.rs.)
    std::fs::create_dir_all(case.path("logs/inject-run.jsonl")).unwrap();
    let run = case.run(&["--log-dir", case.path("logs").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(case.path("a").exists() && case.path("b").exists());
    assert_eq!(
        run.stderr.matches("cannot write the run log").count(),
        1,
        "{run:?}"
    );
}

#[test]
fn stdout_and_stderr_lines_each_arrive_whole_and_in_order() {
    // Many lines on both pipes: each pipe's lines arrive whole and in order.
    let case = Case::new("commands:\n  - {name: both, run: 'for i in $(seq 1 500); do echo o$i; echo e$i >&2; done'}\n");
    let run = case.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let outs: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  o"))
        .collect();
    let errs: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("! e"))
        .collect();
    let expected: Vec<String> = (1..=500).map(|n| n.to_string()).collect();
    assert_eq!(outs, expected);
    assert_eq!(errs, expected);
}

#[test]
fn a_background_child_holding_stdout_does_not_hold_up_the_run() {
    // The documented choice: once the command's main process exits, its
    // output is read for at most a second more; the child is left alone.
    let case = Case::new(
        "commands:
  - name: starts-daemon
    run: 'sleep 120 & echo $! > $DIR/daemon.pid; echo started'
  - name: next
    run: echo next
",
    );
    // The daemon sleeps 120s: a run that waited for it would hang, and
    // the daemon being alive afterwards shows the run did not end it.
    let run = run_or_hang(case.command(&[]));
    let daemon = read_pid(&case.path("daemon.pid")).expect("daemon pid");
    let still_there = alive(daemon);
    let _ = Command::new("kill").arg(daemon.to_string()).status();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("  started\n  => ok ("), "{run:?}");
    assert!(run.stdout.contains("  next\n"), "{run:?}");
    assert!(
        still_there,
        "a command's deliberate background child is left running"
    );
}

/// Runs `cmd` with a reader that stops after one byte, as `| head -c1`
/// does; returns how it ended.
fn with_stdout_closed_early(mut cmd: Command) -> Run {
    wait_or_hang(pipe::spawn_with_stdout_closed_early(&mut cmd))
}

#[test]
fn a_dry_run_whose_reader_stops_early_ends_quietly() {
    // Far more plan than a pipe holds, so the writes meet the closed pipe.
    let mut config = String::from("commands:\n");
    for i in 0..3000 {
        config.push_str(&format!("  - {{name: c{i}, run: 'echo {i}'}}\n"));
    }
    let case = Case::new(&config);
    for args in [&["--dry-run"][..], &["--dry-run", "--json"]] {
        let run = with_stdout_closed_early(case.command(args));
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{args:?}: {run:?}");
    }
}

#[test]
fn a_run_whose_reader_stops_early_still_runs_and_logs_everything() {
    let mut config = String::from("commands:\n");
    for i in 0..20 {
        config.push_str(&format!("  - {{name: c{i}, run: 'seq 1 20000'}}\n"));
    }
    config.push_str("  - {name: last, run: 'touch $DIR/last-ran; echo bye'}\n");
    let case = Case::new(&config);
    let logs = case.path("logs");
    let run = with_stdout_closed_early(case.command(&["--log-dir", logs.to_str().unwrap()]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert!(
        case.path("last-ran").exists(),
        "the run stopped with its reader"
    );
    let events = std::fs::read_to_string(logs.join("inject-run.jsonl")).unwrap();
    assert!(events.contains("\"event\":\"run_finished\""), "{events}");
}

#[test]
fn shown_output_of_a_whole_run_stays_under_a_megabyte_and_the_log_keeps_all() {
    // BOSH fails an errand past 1 MB of output: 17 commands of ~70 kB each
    // under the default 64 KiB per-command cap made 1.14 MB.
    let mut config = String::from("commands:\n");
    for i in 0..17 {
        config.push_str(&format!(
            "  - {{name: big{i}, run: \"head -c 70000 /dev/zero | tr '\\\\0' x | fold -w 99\"}}\n"
        ));
    }
    let case = Case::new(&config);
    let logs = case.path("logs");
    let run = case.run(&["--log-dir", logs.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let reply = agent::errand_reply(run.stdout.as_bytes(), run.stderr.as_bytes(), run.code).len();
    assert!(
        reply <= agent::REPLY_LIMIT,
        "{reply} bytes in the agent's reply"
    );
    assert!(
        run.stdout.contains("17 commands: 17 ok"),
        "{}",
        &run.stdout[run.stdout.len() - 300..]
    );
    // The last command's output was cut by the run's budget: its cut line
    // names a log that has all of it.
    let last = &run.stdout[run.stdout.find("[17/17] big16").expect("last header")..];
    let cut = last
        .lines()
        .find(|l| l.contains("bytes of output not shown"))
        .expect("a cut line for the last command");
    let full = cut
        .split("full output in ")
        .nth(1)
        .expect("names the full log");
    let kept = std::fs::read_to_string(full).unwrap();
    assert_eq!(
        kept.len(),
        70000 + 70000_usize.div_ceil(99),
        "the log keeps all"
    );
}

/// The BOSH agent's reply for this run's output, as the agent encodes it
/// (counted by tests/common/agent.rs, not by inject's own code).
fn agent_reply_len(out: &Output) -> usize {
    let code = out.status.code().unwrap_or(-1);
    agent::errand_reply(&out.stdout, &out.stderr, code).len()
}

/// Runs `config` with a run log; checks that what it printed fits in the
/// BOSH agent's 1 MiB reply, that the run still ended with its summary, and
/// that the command's cut line names a log that has all of its output.
fn flood(config: &str, log_len: usize) -> Output {
    let case = Case::new(config);
    let logs = case.path("logs");
    let out = case
        .command(&["--log-dir", logs.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let last: Vec<&str> = text.lines().rev().take(4).collect();
    let tail = last.join("\n");
    let reply = agent_reply_len(&out);
    assert!(
        reply <= agent::REPLY_LIMIT,
        "{reply} bytes in the agent's reply; ends with {tail}"
    );
    assert!(tail.contains(" in "), "ends with its summary: {tail}");
    let cut = text
        .lines()
        .rev()
        .find(|l| l.contains("bytes of output not shown"))
        .unwrap_or_else(|| panic!("a cut line: {tail}"));
    let full = cut.split("full output in ").nth(1).expect("names the log");
    let kept = std::fs::metadata(full).unwrap().len();
    assert_eq!(kept as usize, log_len, "the log keeps all: {cut}");
    out
}

#[test]
fn html_characters_are_counted_as_the_agent_encodes_them() {
    // Issue 11: each `<` is six bytes in the agent's JSON; three commands of
    // 64 kB each made a 1.18 MB reply, and BOSH lost all of the output.
    let mut config = String::from("commands:\n");
    for i in 0..3 {
        config.push_str(&format!(
            "  - {{name: html{i}, run: \"head -c 64000 /dev/zero | tr '\\\\0' '<' | fold -w 99\"}}\n"
        ));
    }
    let out = flood(&config, 64000 + 64000_usize.div_ceil(99));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3 commands: 3 ok"),
        "{}",
        &text[text.len() - 300..]
    );
    assert!(text.contains(&format!("  {}\n", "<".repeat(99))));
}

#[test]
fn empty_lines_are_counted_with_their_prefix_and_newline() {
    // Issue 11: one byte each counted, `  \n` printed, `  \n` sent as
    // four bytes: 2.36 MB printed under a 1 MiB output_limit.
    let out = flood(
        "output_limit: 1MiB\ncommands:\n  - {name: blank, run: 'yes \"\" | head -n 900000'}\n",
        900000,
    );
    assert!(out.stdout.starts_with(b"[1/1] blank\n  \n  \n"));
}

#[test]
fn invalid_utf8_is_counted_as_printed() {
    // Issue 11: a 0xff byte counted one byte, printed as the three of
    // U+FFFD.
    let out = flood(
        "output_limit: 1MiB\ncommands:\n  - {name: bytes, run: \"head -c 1000000 /dev/zero | tr '\\\\0' '\\\\377' | fold -w 999\"}\n",
        1000000 + 1000000_usize.div_ceil(999),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("  {}\n", "\u{fffd}".repeat(999))));
}

#[test]
fn control_characters_in_output_are_shown_not_obeyed_and_logged_raw() {
    // Issue 12: a carriage return or an escape sequence in a command's
    // output could forge or erase inject's own lines on a terminal.
    let case = Case::new(
        r#"commands:
  - name: forger
    run: "printf 'x\\r  => ok (1ms)\\n'; printf '\\302\\233'"
  - name: eraser
    run: "printf '\\033[1A\\033[2K\\tend\\n' >&2"
"#,
    );
    let logs = case.path("logs");
    let out = case
        .command(&["--log-dir", logs.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("[1/2] forger\n  x^M  => ok (1ms)\n  M-^[\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[2/2] eraser\n! ^[[1A^[[2K\tend\n"),
        "{stdout}"
    );
    assert!(!stdout.contains(['\r', '\x1b', '\u{9b}']), "{stdout:?}");
    let runs = logs.join("runs");
    let run = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap();
    let log = |name: &str| std::fs::read(run.path().join(name)).unwrap();
    assert_eq!(log("01-forger.log"), b"x\r  => ok (1ms)\n\xc2\x9b\n");
    assert_eq!(log("02-eraser.log"), b"stderr| \x1b[1A\x1b[2K\tend\n");
}

#[test]
fn a_sensitive_commands_text_is_not_in_its_argv_nor_its_childrens_environment() {
    // Issue 12: the text was in `bash -c` argv, readable by every local user
    // in `ps` while it ran. The command waits for the test to look.
    let case = Case::new(
        "commands:
  - name: secret
    sensitive: true
    run: |
      token=hunter2-in-argv
      echo $$ > $DIR/pid
      env > $DIR/env
      while [ ! -e $DIR/go ]; do sleep 0.05; done
      echo \"ran with $token\" > $DIR/ran
",
    );
    let child = case.command(&[]).stdout(Stdio::piped()).spawn().unwrap();
    let pid_file = case.path("pid");
    wait_for("the command's pid", HANG, || {
        case.read("pid").ends_with('\n')
    });
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap();
    std::fs::write(case.path("go"), "").unwrap();
    let run = wait_or_hang(child);
    assert_eq!(run.code, 0, "{run:?}");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("eval"), "the shell ran: {cmdline}");
    assert!(!cmdline.contains("hunter2"), "{cmdline}");
    assert!(
        !case.read("env").contains("hunter2"),
        "{}",
        case.read("env")
    );
    assert_eq!(case.read("ran"), "ran with hunter2-in-argv\n");
}

#[test]
fn a_sensitive_command_fails_and_exits_as_with_bash_c() {
    // `-e`, `pipefail`, `exit` and a syntax error behave as without
    // `sensitive`: the same shell runs the text.
    let case = Case::new(
        "stop_on_error: false
commands:
  - {name: errexit, sensitive: true, run: 'false; echo not-reached'}
  - {name: pipefail, sensitive: true, run: 'false | true'}
  - {name: exits, sensitive: true, run: 'exit 7'}
  - {name: ok, sensitive: true, run: 'echo \"$0 fine\"'}
",
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains("not-reached"), "{run:?}");
    let results: Vec<&str> = run.stdout.lines().filter(|l| l.contains("=>")).collect();
    assert_eq!(results.len(), 4, "{run:?}");
    assert!(results[0].starts_with("  => FAILED exit 1 ("), "{run:?}");
    assert!(results[1].starts_with("  => FAILED exit 1 ("), "{run:?}");
    assert!(results[2].starts_with("  => FAILED exit 7 ("), "{run:?}");
    assert!(results[3].starts_with("  => ok ("), "{run:?}");
    assert!(run.stdout.contains("  /bin/bash fine\n"), "{run:?}");
}

#[test]
fn the_run_log_is_readable_by_its_owner_and_group_only() {
    use std::os::unix::fs::PermissionsExt;
    // Issue 12: output of sensitive commands went to 0644 files in a 0755
    // dir. Now 0750 and 0640 (less with a stricter umask).
    let case = Case::new("commands:\n  - {name: one, run: 'echo secret-output'}\n");
    let logs = case.path("logs");
    let run = case.run(&["--log-dir", logs.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let run_dir = std::fs::read_dir(logs.join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let paths = [
        logs.clone(),
        logs.join("runs"),
        run_dir.clone(),
        logs.join("inject-run.jsonl"),
        logs.join("inject.lock"),
        run_dir.join("01-one.log"),
    ];
    for path in paths {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o027, 0, "{} is {mode:o}", path.display());
    }
}

#[test]
fn a_cwd_removed_by_an_earlier_command_is_named_as_the_problem() {
    // Issue 12: this read `cannot start the command: /bin/bash: No such
    // file or directory`.
    let case = Case::new(
        "commands:
  - {name: cleanup, run: 'rm -r $DIR/work'}
  - {name: inside, run: 'true', cwd: $DIR/work}
",
    );
    std::fs::create_dir(case.path("work")).unwrap();
    let run = case.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    let work = case.path("work");
    let expected = format!(
        "[2/2] inside\n! inject: cannot start the command: its cwd {} is not a directory any more \
         (it was when the run started: did an earlier command remove it?)\n  => FAILED to start",
        work.display()
    );
    assert!(run.stdout.contains(&expected), "{run:?}");
}

#[test]
fn switching_users_without_root_is_refused_before_anything_runs() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if !root_or_skip(
        "switching_users_without_root_is_refused_before_anything_runs",
        "to run inject as `nobody`",
    ) {
        return;
    }
    // Issue 12: as non-root, `user: nobody` read `/bin/bash: Operation not
    // permitted`, after the commands before it had run. Here inject runs as
    // `nobody`: its own user needs no switch, root does.
    let case = Case::new(
        "commands:
  - {name: first, run: 'touch $DIR/first-ran'}
  - {name: as-myself, run: 'true', user: nobody}
  - {name: as-root, run: 'true', user: root}
",
    );
    std::fs::set_permissions(case.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let out = case
        .command(&[])
        .uid(nobody.uid.as_raw())
        .gid(nobody.gid.as_raw())
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.ends_with(
            "commands.yml:4:40: commands[2].user: running as user `root` needs root; \
             inject runs as `nobody` (run it as root, as BOSH does, or drop `user`); nothing was run\n"
        ),
        "{run:?}"
    );
    assert!(!case.path("first-ran").exists(), "{run:?}");

    // Its own user is no switch: that runs.
    let out = case
        .command(&["--only", "as-myself"])
        .uid(nobody.uid.as_raw())
        .gid(nobody.gid.as_raw())
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 0, "{run:?}");
}
