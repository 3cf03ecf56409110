#!/usr/bin/env bash
# The full Internet table (issue 19): 1 000 000 IPv4 and 200 000 IPv6 routes
# in a network namespace, and
#   - the dashboard's first frame (ui/examples/first_frame: subscribe,
#     read in steps, draw a 160x40 frame: the first one with interfaces
#     while the routes are read, the complete one with every route and the
#     findings): wall time of both, peak RSS;
#   - key -> frame in the routes panel (ui/examples/route_keys: scrolling,
#     the / filter typed key by key, 4, 6, d): the slowest key of each;
#   - `inject status --watch` while 200 000 IPv6 routes are added (a flood
#     of route events): its peak RSS;
#   - the dashboard itself under the same flood (ui/examples/route_flood:
#     its real event loop fed by the real netlink subscription, the routes
#     panel focused, PageDown/PageUp pressed every 100 ms): how long after
#     the flood's start the frame shows the final count (beside how long
#     the flood itself took: the difference is the lag), the longest the
#     count stood still meanwhile (a re-read in flight holds the view),
#     key -> frame during the flood, the overruns (changes the kernel
#     dropped because the loop did not take them in time), peak RSS.
# Goals: first frame <= 500 ms, RSS <= 64 MB, key -> frame <= 16 ms;
# --watch flat (as at rest).
#
#   sudo bench/full-table.sh
#   V4=100000 V6=20000 RUNS=3 sudo -E bench/full-table.sh     # smaller
#   DISTINCT=1 V6=0 sudo -E bench/full-table.sh    # each route its own metric
#   ONLY=flood V4=200000 V6=50000 sudo -E bench/full-table.sh  # the flood alone
#
# ONLY=flood fills the IPv4 table and runs the dashboard's flood figure
# alone (the other figures print `-` in the RESULT line). FLOOD_LIMIT
# (seconds, 120) is how long the dashboard may take to catch up; past it
# the figure says what the routes panel showed instead.
#
# DISTINCT=1 gives every route a metric of its own, so no two routes share
# the words around their destination: the route filter's worst case.
#
# Prints one line per figure and `RESULT full-table ...` (its fields: see
# the last line).
# Needs root, iproute2, GNU time. Touches no host interface or route.
set -euo pipefail

V4=${V4:-1000000}
V6=${V6:-200000}
DISTINCT=${DISTINCT:-}
RUNS=${RUNS:-5}
ONLY=${ONLY:-}
FLOOD_LIMIT=${FLOOD_LIMIT:-120}
case $ONLY in
    '' | flood) ;;
    *)
        echo "full-table: ONLY=$ONLY: only ONLY=flood is known" >&2
        exit 2
        ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ $(id -u) != 0 ]]; then
    echo "full-table: needs root to build a network namespace" >&2
    exit 2
fi
[[ -x /usr/bin/time ]] || { echo "full-table: needs GNU time (apt-get install time)" >&2; exit 2; }
target=${CARGO_TARGET_DIR:-$here/target}
(cd "$here" && cargo build --release --quiet --bin inject &&
    cargo build --release --quiet -p inject-ui --example first_frame --example route_keys \
        --example route_flood)
INJECT=$target/release/inject
FIRST_FRAME=$target/release/examples/first_frame
ROUTE_KEYS=$target/release/examples/route_keys
ROUTE_FLOOD=$target/release/examples/route_flood

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
ns=inject-full-$(unique_id)
work=$(mktemp -d)
made_ns=
watcher=
flood=
cleanup() {
    if [[ -n $watcher ]]; then kill "$watcher" 2>/dev/null || true; fi
    if [[ -n $flood ]]; then kill "$flood" 2>/dev/null || true; fi
    if [[ -n $made_ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
made_ns=1
# 200 000 IPv6 routes are past the default route cache limit.
ip netns exec "$ns" sysctl -qw net.ipv6.route.max_size=2000000
ip -n "$ns" link set lo up
ip -n "$ns" link add dum0 type veth peer name dum1
ip -n "$ns" link set dum1 up
ip -n "$ns" link set dum0 up
ip -n "$ns" addr add 10.0.0.1/16 dev dum0
ip -n "$ns" -6 addr add 2001:db8::1/64 dev dum0 nodad
ip -n "$ns" route add default via 10.0.0.254 dev dum0
ip -n "$ns" -6 route add default via 2001:db8::fe dev dum0

# batch FAMILY FROM COUNT: `route add` lines for ip -batch.
batch() {
    awk -v fam="$1" -v from="$2" -v n="$3" -v distinct="$DISTINCT" 'BEGIN {
        for (i = from; i < from + n; i++) {
            metric = distinct ? sprintf(" metric %d", i + 1) : ""
            if (fam == 4)
                printf "route add %d.%d.%d.0/24 via 10.0.0.2 dev dum0 proto bgp%s\n",
                    1 + int(i / 65536), int(i / 256) % 256, i % 256, metric
            else
                printf "route add 2001:%x:%x::/48 via 2001:db8::2 dev dum0 proto bgp%s\n",
                    4096 + int(i / 65536), i % 65536, metric
        }
    }'
}
echo "== filling $ns: $V4 IPv4 and $([[ $ONLY == flood ]] && echo 0 || echo "$V6") IPv6 routes" >&2
batch 4 0 "$V4" >"$work/v4.batch"
batch 6 0 "$V6" >"$work/v6.batch"
sed 's/^route add/route del/' "$work/v6.batch" >"$work/v6-del.batch"
ip -n "$ns" -batch "$work/v4.batch"
# ONLY=flood: the IPv6 routes come with the flood.
if [[ $ONLY != flood ]]; then ip -n "$ns" -batch "$work/v6.batch"; fi
echo "namespace $ns: $(ip -n "$ns" -4 route | wc -l) IPv4, $(ip -n "$ns" -6 route | wc -l) IPv6 routes" >&2

ff_routes=- ff_total=- ff_read=- ff_rows=- ff_draw=- ff_rss=- ff_first=-
k_scroll=- k_filter=- k_slice=- k_done=- k_rss=- w_rest=- w_flood=-
if [[ $ONLY != flood ]]; then
    # First frame: RUNS runs, median wall time and the largest peak RSS.
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%M' -o "$work/rss" ip netns exec "$ns" "$FIRST_FRAME" >>"$work/ff"
        cat "$work/rss" >>"$work/ff-rss"
    done
    read -r ff_total ff_read ff_rows ff_draw ff_routes _ < <(sort -n "$work/ff" | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')
    ff_first=$(awk '{ print $6 }' "$work/ff" | sort -n | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')
    ff_rss=$(sort -n "$work/ff-rss" | tail -1)
    echo "first frame (interfaces, routes being read): ${ff_first} ms" >&2
    echo "complete frame ($ff_routes routes): ${ff_total} ms (read $ff_read, rows+findings $ff_rows, draw $ff_draw), peak RSS $((ff_rss / 1024)) MB" >&2

    # Key -> frame: RUNS runs, the median of each run's slowest scroll key and
    # slowest filter key.
    # Its peak RSS is the dashboard's in use: the table read, filters cached.
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%M' -o "$work/keys-rss" ip netns exec "$ns" "$ROUTE_KEYS" >"$work/keys-last"
        tail -1 "$work/keys-last" >>"$work/keys"
        cat "$work/keys-rss" >>"$work/keys-rss-all"
    done
    sed 's/^/  /' "$work/keys-last" >&2
    k_scroll=$(awk '{ print $1 }' "$work/keys" | sort -n | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')
    k_filter=$(awk '{ print $2 }' "$work/keys" | sort -n | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')
    k_slice=$(awk '{ print $4 }' "$work/keys" | sort -n | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')
    k_done=$(awk '{ print $5 }' "$work/keys" | sort -n | awk -v m=$(((RUNS + 1) / 2)) 'NR == m')
    k_rss=$(sort -n "$work/keys-rss-all" | tail -1)
    echo "key -> frame: slowest scroll key ${k_scroll} ms, slowest filter key ${k_filter} ms; peak RSS with the filters $((k_rss / 1024)) MB" >&2
    echo "filter: slowest slice after a key ${k_slice} ms (a key pressed during one waits for it), slowest key to a finished search ${k_done} ms" >&2

    # --watch: peak RSS over 2 s at rest (the IPv6 routes gone), and while
    # the IPv6 routes are added and deleted again (400 000 route events).
    # `ip netns exec` execs inject, so it is GNU time's child.
    ip -n "$ns" -batch "$work/v6-del.batch"
    # watch_rss FLOOD: peak RSS (KB) of one --watch run.
    watch_rss() {
        /usr/bin/time -f '%M' -o "$work/watch-rss" ip netns exec "$ns" "$INJECT" status --watch >/dev/null 2>&1 &
        watcher=$!
        sleep 2
        if [[ $1 == flood ]]; then
            ip -n "$ns" -batch "$work/v6.batch"
            ip -n "$ns" -batch "$work/v6-del.batch"
            sleep 2
        fi
        pkill -INT -P "$watcher" || true
        wait "$watcher" 2>/dev/null || true
        watcher=
        grep -Eo '^[0-9]+$' "$work/watch-rss" | tail -1
    }
    w_rest=$(watch_rss rest)
    w_flood=$(watch_rss flood)
    echo "status --watch: peak RSS at rest $((w_rest / 1024)) MB, under $((2 * V6)) route events $((w_flood / 1024)) MB" >&2
fi

# The dashboard under the flood, RUNS runs: route_flood (its own event
# loop, fed by netlink) says `ready` once its frame shows the table; then
# the 200 000 IPv6 routes are added and deleted again (400 000 route
# events, as for --watch), between a `start` and an `end` on its stdin. It
# answers with one line (see ui/examples/route_flood.rs) once its frame
# shows the table as it was again, or after FLOOD_LIMIT seconds.
# The count the routes panel shows: the main table of both families.
base=$(($(ip -n "$ns" -4 route show table main | wc -l) + $(ip -n "$ns" -6 route show table main | wc -l)))
mkfifo "$work/flood-in"
# mark start|end: a line for route_flood, which may have given up (exit 1
# past FLOOD_LIMIT) and closed its end of the pipe.
mark() { (trap '' PIPE && echo "$1" >&3) 2>/dev/null || true; }
# flood_run: one run; appends `caught_up_ms flood_ms key_median_ms
# key_max_ms rss_kb overruns still_ms` to $work/flood (caught_up_ms `-`
# when not caught up within FLOOD_LIMIT).
flood_run() {
    ip netns exec "$ns" "$ROUTE_FLOOD" "$base" "$((base + V6))" "$FLOOD_LIMIT" \
        <"$work/flood-in" >"$work/flood-out" 2>"$work/flood-err" &
    flood=$!
    exec 3>"$work/flood-in"
    until grep -qx ready "$work/flood-out"; do
        if ! kill -0 "$flood" 2>/dev/null; then
            cat "$work/flood-err" >&2
            echo "full-table: route_flood ended before it was ready" >&2
            exit 1
        fi
        sleep 0.1
    done
    mark start
    local start rc=0 took
    start=$(date +%s%N)
    ip -n "$ns" -batch "$work/v6.batch"
    ip -n "$ns" -batch "$work/v6-del.batch"
    took=$((($(date +%s%N) - start) / 1000000))
    mark end
    wait "$flood" || rc=$?
    flood=
    exec 3>&-
    sed 's/^route_flood: /  /' "$work/flood-err" >&2
    if ((rc > 1)); then
        echo "full-table: route_flood failed (exit $rc)" >&2
        exit 1
    fi
    local catchup flood_ms key_median key_max rss overruns shown still
    read -r catchup flood_ms _ key_median key_max _ _ overruns _ rss shown _ still < <(grep -vx ready "$work/flood-out")
    if ((rc == 1)); then
        # It gave up before the flood's end: the flood's duration by our clock.
        if [[ $flood_ms == -1 ]]; then flood_ms=$took; fi
        echo "  (the routes panel showed $shown of $base routes after ${FLOOD_LIMIT} s)" >&2
        catchup=-
    fi
    echo "$catchup $flood_ms $key_median $key_max $rss $overruns $still" >>"$work/flood"
}
fl_catchup=- fl_flood=- fl_key_median=- fl_key_max=- fl_rss=- fl_overruns=- fl_still=-
if ((V6 == 0)); then
    echo "dashboard under a flood: not measured (V6=0: no routes to flood with)" >&2
else
    for _ in $(seq "$RUNS"); do flood_run; done
    # median COLUMN: the median run's value (`-`, not caught up, sorts last).
    median() {
        awk -v c="$1" '{ print ($c == "-" ? 1e18 : $c) }' "$work/flood" | sort -g |
            awk -v m=$(((RUNS + 1) / 2)) 'NR == m { print ($1 == 1e18 ? "-" : $1) }'
    }
    fl_catchup=$(median 1) fl_flood=$(median 2) fl_key_median=$(median 3) fl_key_max=$(median 4)
    fl_overruns=$(median 6) fl_still=$(median 7)
    fl_rss=$(awk '{ print $5 }' "$work/flood" | sort -n | tail -1)
    if [[ $fl_catchup == - ]]; then
        fl_said="NOT caught up within ${FLOOD_LIMIT} s"
    else
        fl_said="caught up ${fl_catchup} ms after the flood's start"
    fi
    echo "dashboard under $((2 * V6)) route events (median of $RUNS runs): $fl_said (the flood took ${fl_flood} ms); the routes count stood still for up to ${fl_still} ms meanwhile; key -> frame during the flood: median ${fl_key_median} ms, slowest ${fl_key_max} ms; $fl_overruns overruns; peak RSS $((fl_rss / 1024)) MB" >&2
fi

# After `RESULT full-table`: routes, complete frame ms, read ms, rows ms,
# draw ms, first frame's peak RSS KB, --watch RSS KB at rest and in the
# flood, first frame ms, slowest scroll and filter key ms, keys' RSS KB;
# then the dashboard in the flood: caught up ms (`-`: not within
# FLOOD_LIMIT), flood ms, key -> frame median and slowest ms, peak RSS KB,
# overruns, longest standstill of the count ms; then the filter's slowest
# slice and slowest key to a finished search, ms.
result=(full-table "$ff_routes" "$ff_total" "$ff_read" "$ff_rows" "$ff_draw" "$ff_rss" "$w_rest" "$w_flood"
    "$ff_first" "$k_scroll" "$k_filter" "$k_rss"
    "$fl_catchup" "$fl_flood" "$fl_key_median" "$fl_key_max" "$fl_rss" "$fl_overruns" "$fl_still"
    "$k_slice" "$k_done")
echo "RESULT ${result[*]}"
