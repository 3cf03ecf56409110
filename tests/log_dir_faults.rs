//! A log dir that is full or read-only, made for real: a small tmpfs
//! mounted in a private mount namespace (`unshare --mount`, root only), so
//! nothing of the host is touched. What must hold there: one `inject run` at
//! a time (the lock is the flock, not the PID written into it), `inject
//! ensure` keeps its commands true without a log (its lock file made
//! before the dir went read-only; without one it refuses, see
//! tests/root_files.rs), and its state file comes back (and records the
//! stop) once the disk has room again.

// Only its root check is used here.
mod common;
use common::{netns, INJECT};

use std::process::Command;

/// Shell functions for the scenarios: `wait_for FILE TEXT` polls (20 s at
/// most) until FILE holds TEXT, else says so and exits 3.
const PRELUDE: &str = r#"
set -u
wait_for() {
    i=0
    until grep -qF -- "$2" "$1" 2>/dev/null; do
        i=$((i+1))
        if [ $i -gt 400 ]; then echo "TIMEOUT waiting for '$2' in $1:"; cat "$1" 2>/dev/null; exit 3; fi
        sleep 0.05
    done
}
"#;

/// Runs `script` (after [`PRELUDE`]) in a private mount namespace with
/// `$BIN` (inject), `$D` (a tmpfs of `size`, mounted over a fresh temporary
/// dir) and `$W` (a writable temporary dir outside it); returns its stdout
/// and stderr together.
fn in_mount_namespace(size: &str, script: &str) -> String {
    let d = tempfile::tempdir().unwrap();
    let w = tempfile::tempdir().unwrap();
    let full = format!(
        "{PRELUDE}\nmount -t tmpfs -o size={size},mode=0755 tmpfs \"$D\" || exit 4\n{script}"
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &full])
        .env("BIN", INJECT)
        .env("D", d.path())
        .env("W", w.path())
        .env_remove("INJECT_CONFIG")
        .env_remove("INJECT_LOG_DIR")
        .output()
        .expect("unshare runs");
    format!(
        "{}{}\n[exit {:?}]",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    )
}

/// A config in `$W` whose one command marks that it started, then sleeps.
const SLOW_RUN: &str = r#"
cat > "$W/slow.yml" <<EOF
commands:
  - {name: slow, run: "touch $W/started; sleep 3"}
EOF
cat > "$W/quick.yml" <<EOF
commands:
  - {name: quick, run: "echo quick ran"}
EOF
"#;

/// After `setup` (which makes `$D/log` what the test needs), a slow `inject
/// run` on `$D/log`, and while it runs a quick one on the same log dir;
/// prints both exit codes and the first one's output.
fn two_runs(size: &str, setup: &str) -> String {
    in_mount_namespace(
        size,
        &format!(
            r#"{SLOW_RUN}
{setup}
"$BIN" run -c "$W/slow.yml" --log-dir "$D/log" > "$W/first.out" 2>&1 &
first=$!
i=0; until [ -e "$W/started" ]; do i=$((i+1)); [ $i -gt 400 ] && exit 6; sleep 0.05; done
"$BIN" run -c "$W/quick.yml" --log-dir "$D/log"
echo "second exit $?"
wait $first
echo "first exit $?"
cat "$W/first.out"
"#
        ),
    )
}

#[test]
fn a_read_only_log_dir_still_keeps_to_one_run_at_a_time() {
    if !netns::can_run("a_read_only_log_dir_still_keeps_to_one_run_at_a_time") {
        return;
    }
    let out = two_runs(
        "1m",
        r#"mkdir "$D/log"
"$BIN" run -c "$W/quick.yml" --log-dir "$D/log" >/dev/null || exit 5
mount -o remount,ro "$D""#,
    );
    assert!(out.contains("second exit 1"), "{out}");
    assert!(
        out.contains("another inject run (pid unknown: pid ")
            && out.contains("in the lock file is stale, no live inject) holds"),
        "the PID in the file is an earlier run's, long gone: named stale, not as the holder\n{out}"
    );
    assert!(!out.contains("quick ran"), "{out}");
    assert!(out.contains("first exit 0"), "{out}");
    assert!(
        out.contains("cannot write the run log"),
        "the first run says its log cannot be written:\n{out}"
    );
}

#[test]
fn a_full_log_dir_still_keeps_to_one_run_at_a_time() {
    if !netns::can_run("a_full_log_dir_still_keeps_to_one_run_at_a_time") {
        return;
    }
    let out = two_runs(
        "64k",
        r#"mkdir "$D/log"
: > "$D/log/inject.lock"
dd if=/dev/zero of="$D/fill" bs=4k 2>/dev/null"#,
    );
    assert!(out.contains("second exit 1"), "{out}");
    assert!(
        out.contains("another inject run (pid unknown) is running and holds"),
        "{out}"
    );
    assert!(!out.contains("quick ran"), "{out}");
    assert!(out.contains("first exit 0"), "{out}");
}

#[test]
fn ensure_keeps_its_commands_true_on_a_read_only_log_dir() {
    if !netns::can_run("ensure_keeps_its_commands_true_on_a_read_only_log_dir") {
        return;
    }
    let out = in_mount_namespace(
        "1m",
        r#"
cat > "$W/keep.yml" <<EOF
commands:
  - {name: flag, run: "touch $W/flag", unless: "test -e $W/flag", phases: [ensure]}
EOF
mkdir "$D/log"
: > "$D/log/ensure.lock"
mount -o remount,ro "$D"
"$BIN" ensure -c "$W/keep.yml" --log-dir "$D/log" --interval 100ms > "$W/ensure.out" 2>&1 &
pid=$!
wait_for "$W/ensure.out" "flag: repaired at start"
rm "$W/flag"
wait_for "$W/ensure.out" "flag: repaired on the periodic re-check"
kill -TERM $pid
wait $pid
echo "ensure exit $?"
test -e "$W/flag" && echo "flag is there"
cat "$W/ensure.out"
"#,
    );
    assert!(out.contains("ensure exit 0"), "{out}");
    assert!(out.contains("flag is there"), "{out}");
    assert!(!out.contains("cannot take the lock"), "{out}");
    assert_eq!(
        out.matches("cannot write the state").count(),
        1,
        "said once:\n{out}"
    );
}

#[test]
fn ensure_state_is_written_again_when_the_disk_has_room_and_records_the_stop() {
    if !netns::can_run("ensure_state_is_written_again_when_the_disk_has_room_and_records_the_stop")
    {
        return;
    }
    let out = in_mount_namespace(
        "256k",
        r#"
cat > "$W/keep.yml" <<EOF
commands:
  - {name: flag, run: "touch $W/flag", unless: "test -e $W/flag", phases: [ensure]}
EOF
mkdir "$D/log"
"$BIN" ensure -c "$W/keep.yml" --log-dir "$D/log" --interval 100ms > "$W/ensure.out" 2>&1 &
pid=$!
wait_for "$W/ensure.out" "flag: repaired at start"
wait_for "$D/log/ensure-state.json" '"updated"'
dd if=/dev/zero of="$D/fill" bs=4k 2>/dev/null
rm "$W/flag"
wait_for "$W/ensure.out" "cannot write the state"
wait_for "$W/ensure.out" "flag: repaired on the periodic re-check"
rm "$D/fill"
wait_for "$W/ensure.out" "is written again"
kill -TERM $pid
wait $pid
echo "ensure exit $?"
cat "$W/ensure.out"
echo "--- state"
cat "$D/log/ensure-state.json"
"#,
    );
    assert!(out.contains("ensure exit 0"), "{out}");
    let state = out.split("--- state\n").nth(1).unwrap_or("");
    let state: serde_json::Value =
        serde_json::from_str(state.split("\n[exit").next().unwrap_or("")).unwrap_or_else(|e| {
            panic!("state file: {e}\n{out}");
        });
    assert!(
        state["stopped"].is_string(),
        "the stop is recorded once there is room again: {state}"
    );
    assert_eq!(
        out.matches("cannot write the state").count(),
        1,
        "said once:\n{out}"
    );
}

/// Issue 18: a lock that cannot be made let both runs go on unlocked.
/// Now `inject run` and `ensure` refuse (exit 1, why and what to do); a
/// stop-side hook runs anyway with a warning, as a stop must never fail.
#[test]
fn a_read_only_log_dir_without_a_lock_file_refuses_runs_but_not_stops() {
    if !netns::can_run("a_read_only_log_dir_without_a_lock_file_refuses_runs_but_not_stops") {
        return;
    }
    let out = in_mount_namespace(
        "1m",
        r#"
cat > "$W/c.yml" <<EOF
commands:
  - {name: work, run: "echo work ran", phases: [errand, post-stop]}
  - {name: flag, run: "touch $W/flag", unless: "test -e $W/flag", phases: [ensure]}
EOF
mkdir "$D/log"
mount -o remount,ro "$D"
"$BIN" run -c "$W/c.yml" --log-dir "$D/log"
echo "run exit $?"
"$BIN" ensure -c "$W/c.yml" --log-dir "$D/log"
echo "ensure exit $?"
test -e "$W/flag" && echo "ensure ran a command"
"$BIN" run -c "$W/c.yml" --log-dir "$D/log" --phase post-stop
echo "post-stop exit $?"
"#,
    );
    assert!(out.contains("run exit 1"), "{out}");
    assert!(out.contains("ensure exit 1"), "{out}");
    assert!(!out.contains("ensure ran a command"), "{out}");
    assert!(
        out.contains("inject: cannot take the lock")
            && out.contains("inject.lock: Read-only file system")
            && out.contains("refusing to run without it (two runs could overlap)"),
        "{out}"
    );
    assert!(
        out.contains("inject: cannot take the lock")
            && out.contains("ensure.lock: Read-only file system"),
        "{out}"
    );
    assert_eq!(
        out.matches("work ran").count(),
        1,
        "only post-stop ran:\n{out}"
    );
    assert!(out.contains("post-stop exit 0"), "{out}");
    assert!(
        out.contains("a post-stop hook must not fail the stop, so its commands run anyway"),
        "{out}"
    );
}

#[test]
fn a_log_dir_out_of_inodes_refuses_the_run() {
    if !netns::can_run("a_log_dir_out_of_inodes_refuses_the_run") {
        return;
    }
    let out = in_mount_namespace(
        "1m",
        r#"
cat > "$W/c.yml" <<EOF
commands:
  - {name: work, run: "echo work ran"}
EOF
umount "$D"
mount -t tmpfs -o size=1m,nr_inodes=8,mode=0755 tmpfs "$D" || exit 4
mkdir "$D/log"
i=0; while touch "$D/fill$i" 2>/dev/null; do i=$((i+1)); done
"$BIN" run -c "$W/c.yml" --log-dir "$D/log"
echo "run exit $?"
"#,
    );
    assert!(out.contains("run exit 1"), "{out}");
    assert!(
        out.contains("inject.lock: No space left on device")
            && out.contains("refusing to run without it"),
        "{out}"
    );
    assert!(!out.contains("work ran"), "{out}");
}
