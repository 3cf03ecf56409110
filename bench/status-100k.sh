#!/usr/bin/env bash
# `inject status --json` against iproute2's own JSON dumps
# (`ip -j addr; ip -j -4 route; ip -j -6 route`) on a network namespace
# holding 100 000 routes (50 000 per family), side by side in one run.
#
#   sudo bench/status-100k.sh            # builds the release binary first
#   INJECT=path/to/inject RUNS=7 sudo -E bench/status-100k.sh
#
# Prints the median wall time and the peak RSS (largest process) of each,
# and the ratios (and a `RESULT` line that bench/all.sh reads). Goal: time ratio <= 1.0 and inject's peak RSS <= 64 MB.
# Needs root (to make the namespace), iproute2 and GNU time. Touches no
# host interface or route: everything lives in its own namespace.
set -euo pipefail

ROUTES_PER_FAMILY=${ROUTES_PER_FAMILY:-50000}
RUNS=${RUNS:-7}
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
        printf "route add 172.%d.%d.%d/32 via 10.0.0.2 dev dum0 proto static\n",
            16 + int(i / 65536), int(i / 256) % 256, i % 256
        printf "route add 2001:db8:1:%x::/64 via 2001:db8::2 dev dum0 proto static\n", i
    }
}' >"$work/routes.batch"
ip -n "$ns" -batch "$work/routes.batch"

v4=$(ip -n "$ns" -4 route | wc -l)
v6=$(ip -n "$ns" -6 route | wc -l)
echo "namespace $ns: $v4 IPv4 routes, $v6 IPv6 routes"

# Both commands run inside the namespace, alternately (so background load
# falls on both alike), RUNS times each. GNU time's %M is the peak RSS of the
# largest process: for the iproute2 side, the largest of its three `ip`s.
once() { # once NAME CMD... : appends "seconds peak_kb" to $work/NAME.times
    local name=$1
    shift
    ip netns exec "$ns" /usr/bin/time -f "%e %M" -o "$work/t" "$@" >"$work/$name.out"
    cat "$work/t" >>"$work/$name.times"
}
for ((i = 0; i < RUNS; i++)); do
    once inject "$INJECT" status --json
    once iproute2 sh -c 'ip -j addr; ip -j -4 route; ip -j -6 route'
done
# "median_seconds max_peak_kb" of a NAME.times file.
summary() {
    sort -n "$work/$1.times" | awk '{ t[NR] = $1; if ($2 > m) m = $2 } END { print t[int((NR + 1) / 2)], m }'
}
read -r inject_s inject_kb < <(summary inject)
read -r ip_s ip_kb < <(summary iproute2)
inject_bytes=$(wc -c <"$work/inject.out")
ip_bytes=$(wc -c <"$work/iproute2.out")

awk -v is="$inject_s" -v ik="$inject_kb" -v ib="$inject_bytes" \
    -v ps="$ip_s" -v pk="$ip_kb" -v pb="$ip_bytes" -v runs="$RUNS" 'BEGIN {
    printf "%-44s %9s %14s %12s\n", "command", "time (s)", "peak RSS (MB)", "output (MB)"
    printf "%-44s %9.2f %14.1f %12.1f\n", "inject status --json", is, ik / 1024, ib / 1048576
    printf "%-44s %9.2f %14.1f %12.1f\n", "ip -j addr; ip -j -4 route; ip -j -6 route", ps, pk / 1024, pb / 1048576
    printf "ratio inject/iproute2: time %.2f, peak RSS %.2f (median time of %d runs; RSS: largest process)\n", is / ps, ik / pk, runs
    printf "goal (time ratio <= 1.0, inject peak RSS <= 64 MB): %s\n", (is <= ps && ik <= 65536) ? "met" : "NOT met"
}'
# For bench/all.sh: seconds and peak KB of inject, then of iproute2.
echo "RESULT status $inject_s $ip_s $inject_kb $ip_kb"
