#!/usr/bin/env bash
# `inject status --json` and `inject status` against iproute2's own JSON
# dumps (`ip -j addr; ip -j -4 route; ip -j -6 route`) and against the
# kernel floor (`ip -4 route save table main; ip -6 route save table main;
# ip -j addr`: binary dumps, no formatting), on a network namespace holding
# 100 000 routes (50 000 per family), side by side in one run, every output
# piped to `cat >/dev/null`.
#
#   sudo bench/status-100k.sh            # builds the release binary first
#   INJECT=path/to/inject RUNS=11 ROUTES_PER_FAMILY=150000 sudo -E bench/status-100k.sh
#   FIRST_FRAME=target/release/examples/first_frame sudo -E bench/status-100k.sh
#
# Prints the median wall time and the peak RSS (largest process) of each,
# the ratios, and `RESULT` lines that bench/all.sh reads. Goals (issue 14):
# both inject commands <= 0.6x iproute2 and <= 2x the kernel floor, peak
# RSS <= 16 MB. With FIRST_FRAME (ui/examples/first_frame), also the
# dashboard's first frame, with the rtnetlink reader as reference.
# Needs root (to make the namespace), iproute2 and GNU time. Touches no
# host interface or route: everything lives in its own namespace.
set -euo pipefail

ROUTES_PER_FAMILY=${ROUTES_PER_FAMILY:-50000}
RUNS=${RUNS:-11}
here=$(cd "$(dirname "$0")/.." && pwd)

if [[ $(id -u) != 0 ]]; then
    echo "status-100k: needs root to build a network namespace" >&2
    exit 2
fi
[[ -x /usr/bin/time ]] || { echo "status-100k: needs GNU time (apt-get install time)" >&2; exit 2; }

if [[ -z ${INJECT:-} ]]; then
    (cd "$here" && cargo build --release --quiet --bin inject)
    INJECT=${CARGO_TARGET_DIR:-$here/target}/release/inject
fi

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
ns=inject-bench-$(unique_id)
work=$(mktemp -d)
made_ns= # deleted on exit only once made: a same-named one is not ours
cleanup() {
    if [[ -n $made_ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
made_ns=1
ip -n "$ns" link set lo up
# A veth pair (both ends here): dummy devices are not in every kernel.
ip -n "$ns" link add dum0 type veth peer name dum1
ip -n "$ns" link set dum1 up
ip -n "$ns" link set dum0 up
ip -n "$ns" addr add 10.0.0.1/16 dev dum0
ip -n "$ns" -6 addr add 2001:db8::1/64 dev dum0 nodad
ip -n "$ns" route add default via 10.0.0.254 dev dum0
ip -n "$ns" -6 route add default via 2001:db8::fe dev dum0

# One batch of `route add` lines, so 100 000 routes take seconds, not minutes.
awk -v n="$ROUTES_PER_FAMILY" 'BEGIN {
    for (i = 0; i < n; i++) {
        printf "route add %d.%d.%d.%d/32 via 10.0.0.2 dev dum0 proto static\n",
            172 + int(i / 1048576), 16 + int(i / 65536) % 16, int(i / 256) % 256, i % 256
        printf "route add 2001:db8:%x:%x::/64 via 2001:db8::2 dev dum0 proto static\n", 1 + int(i / 65536), i % 65536
    }
}' >"$work/routes.batch"
ip -n "$ns" -batch "$work/routes.batch"

v4=$(ip -n "$ns" -4 route | wc -l)
v6=$(ip -n "$ns" -6 route | wc -l)
echo "namespace $ns: $v4 IPv4 routes, $v6 IPv6 routes"

# Every command runs inside the namespace, in turn (so background load
# falls on all alike), RUNS times each. The wall time is taken around the
# whole pipeline (date +%s%N); GNU time's %M is the peak RSS of the largest
# process (for iproute2, the largest of its `ip`s).
declare -A cmds=(
    [json]="'$INJECT' status --json | cat >/dev/null"
    [text]="'$INJECT' status | cat >/dev/null"
    [iproute2]="ip -j addr | cat >/dev/null; ip -j -4 route | cat >/dev/null; ip -j -6 route | cat >/dev/null"
    [floor]="ip -4 route save table main | cat >/dev/null; ip -6 route save table main | cat >/dev/null; ip -j addr | cat >/dev/null"
)
order=(json iproute2 text floor)
once() { # once NAME: appends "seconds peak_kb" to $work/NAME.times
    local name=$1 t0 t1
    t0=$(date +%s%N)
    ip netns exec "$ns" /usr/bin/time -f "%M" -o "$work/rss" sh -c "${cmds[$name]}"
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000)) $(cat "$work/rss")" >>"$work/$name.times"
}
for ((i = 0; i < RUNS; i++)); do
    for name in "${order[@]}"; do once "$name"; done
done
# "median_seconds max_peak_kb" of a NAME.times file (microseconds inside).
summary() {
    sort -n "$work/$1.times" | awk '{ t[NR] = $1; if ($2 > m) m = $2 } END { printf "%.4f %d\n", t[int((NR + 1) / 2)] / 1e6, m }'
}
declare -A s kb
for name in "${order[@]}"; do read -r "s[$name]" "kb[$name]" < <(summary "$name"); done

awk -v js="${s[json]}" -v jk="${kb[json]}" -v ts="${s[text]}" -v tk="${kb[text]}" \
    -v ps="${s[iproute2]}" -v pk="${kb[iproute2]}" -v fs="${s[floor]}" -v fk="${kb[floor]}" \
    -v runs="$RUNS" -v n=$((v4 + v6)) 'BEGIN {
    printf "%d routes; median of %d runs each, in turn; RSS: largest process\n", n, runs
    printf "%-48s %9s %14s %10s %10s\n", "command", "time (ms)", "peak RSS (MB)", "/iproute2", "/floor"
    printf "%-48s %9.0f %14.1f %10.2f %10.2f\n", "inject status --json", js * 1000, jk / 1024, js / ps, js / fs
    printf "%-48s %9.0f %14.1f %10.2f %10.2f\n", "inject status", ts * 1000, tk / 1024, ts / ps, ts / fs
    printf "%-48s %9.0f %14.1f\n", "ip -j addr; ip -j -4 route; ip -j -6 route", ps * 1000, pk / 1024
    printf "%-48s %9.0f %14.1f\n", "floor: ip -4/-6 route save table main; ip -j addr", fs * 1000, fk / 1024
    ok = js <= 0.6 * ps && ts <= 0.6 * ps && js <= 2 * fs && ts <= 2 * fs && jk <= 16384 && tk <= 16384
    printf "goals of issue 14, set for 100 000 routes (<= 0.6x iproute2, <= 2x floor, peak RSS <= 16 MB): %s\n", ok ? "met" : "NOT met"
}'
# For bench/all.sh: seconds of json, text, iproute2, floor; then their peak KB.
echo "RESULT status ${s[json]} ${s[text]} ${s[iproute2]} ${s[floor]} ${kb[json]} ${kb[text]} ${kb[iproute2]} ${kb[floor]}"

if [[ -n ${FIRST_FRAME:-} ]]; then
    # The dashboard's first frame: ours, and with the rtnetlink reader.
    for ((i = 0; i < RUNS; i++)); do
        ip netns exec "$ns" "$FIRST_FRAME" | awk '{ print $1 }' >>"$work/frame.ms"
        ip netns exec "$ns" "$FIRST_FRAME" --rtnetlink | awk '{ print $1 }' >>"$work/frame_ref.ms"
    done
    median() { sort -n "$1" | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
    frame=$(median "$work/frame.ms")
    frame_ref=$(median "$work/frame_ref.ms")
    echo "dashboard first frame: $frame ms (rtnetlink reader: $frame_ref ms), median of $RUNS"
    echo "RESULT first_frame $frame $frame_ref"
fi
