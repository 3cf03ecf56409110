#!/usr/bin/env bash
# `inject fleet` on a large deployment's errand output: N instances (1000)
# whose stdout is SIZE bytes (64 KiB) of command output ending with the
# summary line, as `bosh run-errand --json` prints it (one indented JSON
# object, stdout JSON-escaped, every 10th instance failing and every 25th
# without a summary). Reports wall time and peak RSS (/usr/bin/time -v)
# against the input's size. Goal: <= 1 s and RSS <= input + 32 MB.
#
#   bench/fleet-report.sh            # N=1000 SIZE=65536
#   N=200 SIZE=16384 bench/fleet-report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
SIZE=${SIZE:-65536}
cargo build --release --quiet
INJECT=target/release/inject
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
INPUT=$WORK/run-errand.json

python3 - "$N" "$SIZE" > "$INPUT" <<'PY'
import json, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
line = "  10.0.250.1 dev eth0 lladdr 52:54:00:12:34:56 REACHABLE <probe ok> & more\n"
rows = []
for i in range(n):
    failed = i % 10 == 3
    summary = {
        "v": 1,
        "instance": {"name": "haproxy", "id": f"{i:08x}-0000-4000-8000-000000000000",
                     "index": i, "az": f"z{i % 3 + 1}", "deployment": "cf"},
        "phase": "errand",
        "counts": {"total": 2, "ok": 1 if failed else 2, "skipped": 0, "failed": 1 if failed else 0,
                   "timed_out": 0, "not_run": 0, "interrupted": False},
        "commands": [{"name": "ipv6-default-route", "result": "ok", "attempts": 1, "duration": 0.012},
                     {"name": "probe", "result": "failed" if failed else "ok",
                      "exit_code": 1 if failed else None, "attempts": 1, "duration": 0.2}],
        "commands_cut": 0,
        "network": {"ipv4": "present", "ipv6": "missing" if failed else "present",
                    "findings": [{"code": "missing_default_route", "severity": "error", "family": "ipv6"}] if failed else []},
        "failing_findings": [],
    }
    head = "[1/2] probe\n"
    tail = "\n2 commands\ninject-summary: " + json.dumps(summary, separators=(",", ":")) + "\n"
    body = (line * (size // len(line) + 1))[: max(0, size - len(head) - len(tail))]
    stdout = head + body + tail
    if i % 25 == 7:
        stdout = body
    rows.append({"exit_code": "1" if failed else "0", "instance": f"haproxy/{i:08x}-0000-4000-8000-000000000000",
                 "stderr": "", "stdout": stdout})
print(json.dumps({"Tables": [{"Content": "errand(s)", "Header": {"exit_code": "Exit Code", "instance": "Instance",
      "stderr": "Stderr", "stdout": "Stdout"}, "Rows": rows, "Notes": []}], "Blocks": None, "Lines": []}, indent=4))
PY

BYTES=$(stat -c %s "$INPUT")
$INJECT fleet "$INPUT" | tail -n 1 | cut -c1-160
for i in 1 2 3; do
  /usr/bin/time -v "$INJECT" fleet "$INPUT" > /dev/null 2> "$WORK/time.$i"
done
/usr/bin/time -v sh -c "$INJECT fleet < '$INPUT' > /dev/null" 2> "$WORK/time.stdin"
report() {
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$1" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$1" | awk '{print $NF}')
  printf '%-8s wall %s  peak RSS %d KiB = input + %d KiB\n' "$2" "$wall" "$rss" $((rss - BYTES / 1024))
}
echo "input: $N instances x $SIZE B stdout = $BYTES bytes ($((BYTES / 1024)) KiB)"
for i in 1 2 3; do report "$WORK/time.$i" "file #$i"; done
report "$WORK/time.stdin" "stdin"
