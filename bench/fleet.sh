#!/usr/bin/env bash
# A simulated fleet: N copies of the seed's VM (each a network namespace with
# eth0 10.0.250.10/24 + IPv4 default via 10.0.250.1, eth1
# 2001:db8:69f5::10/64 with no IPv6 default and accept_ra=0; its gateways in
# a peer namespace of its own), and the errand run in all of them at once, as
# `bosh run-errand inject-commands` does across a colocated instance group.
#
#   sudo bench/fleet.sh            # N=50
#   sudo N=10 INJECT=path/to/inject bench/fleet.sh
#
# What runs on each VM is the BOSH job's own `bin/run`, made by BOSH's own
# code as tests/bosh_release.rs makes it: the bosh CLI builds the release
# tarball (`bosh create-release`, this build's inject as its blob) and reads
# the ops file's properties (`bosh int` of manifests/
# colocate-inject-commands.yml over test/fixtures/haproxy.yml); the Go
# harness in tests/bosh renders the job with bosh-cli's renderer for the
# VM's networks and installs package and job with bosh-agent's compiler and
# appliers into a /var/vcap, copied per VM (bind-mounted in a private mount
# namespace), where the errand runs as the agent runs it: root, only
# PATH=/usr/sbin:/usr/bin:/sbin:/bin. Needs the bosh CLI (on PATH or where
# scripts/lib/tools.sh caches it), Go and ruby (bosh-cli's ERB renderer);
# without them it says which is missing and runs `inject run -c` with the
# ops file's properties and a per-VM --log-dir instead.
#
# Reports N, the wall time of the N runs against a single run (median of 5 on
# a VM of its own), failures; checks every VM ends with exactly one IPv6
# default, `default via 2001:db8:69f5::1 dev eth1`, and its own log of the
# run; then runs the errand everywhere again, which must skip. Exit 1 when
# any check fails. All namespaces are removed on exit (traps included).
set -euo pipefail

N=${N:-50}
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
release=$here/bosh-release
agent_path=PATH=/usr/sbin:/usr/bin:/sbin:/bin

if [[ $(id -u) != 0 ]]; then
    echo "fleet: needs root to build network namespaces (sudo bench/fleet.sh)" >&2
    exit 2
fi
if [[ -z ${INJECT:-} ]]; then
    (cd "$here" && cargo build --release --quiet --bin inject)
    INJECT=${CARGO_TARGET_DIR:-$here/target}/release/inject
fi

prefix=injf-$(unique_id)-
work=$(mktemp -d)
namespaces=() # made by this run (seed_vm adds them once made)
pids=()       # the fleet's errands in flight, each its own process group
made_vcap=
cleanup() {
    local ns pid
    # Our own background runs, if a signal came mid-fleet: each errand's
    # whole process group (the subshell, unshare, inject and its command).
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
    # The mount point, if this run made it (every mount was private).
    if [[ -n $made_vcap ]]; then rmdir /var/vcap 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bosh_cli=$(command -v bosh || echo "${XDG_CACHE_HOME:-$HOME/.cache}/inject/bin/bosh")
missing=()
[[ -x $bosh_cli ]] || missing+=("the bosh CLI (scripts/lib/tools.sh builds it)")
command -v go >/dev/null || missing+=(go)
command -v ruby >/dev/null || missing+=(ruby)
if ((${#missing[@]} == 0)); then
    mode=bosh
else
    mode=inject
    echo "fleet: no ${missing[*]}: running \`inject run -c\` instead of the job's bin/run" >&2
fi

cat >"$work/networks.json" <<'EOF'
{"default": {"ip": "10.0.250.10", "gateway": "10.0.250.1", "netmask": "255.255.255.0", "default": ["dns", "gateway"]},
 "ipv6": {"ip": "2001:db8:69f5::10", "gateway": "2001:db8:69f5::1", "netmask": "ffff:ffff:ffff:ffff::"}}
EOF

# in_vcap DIR CMD...: CMD with DIR as /var/vcap, an empty /usr/local/bin and
# an /etc/group that has vcap (the agent's appliers chown root:vcap), in a
# private mount namespace: the host's own are left alone.
in_vcap() {
    local dir=$1
    shift
    unshare --mount --propagation private sh -c \
        'mount --bind "$1" /var/vcap && mount --bind "$2" /usr/local/bin && mount --bind "$3" /etc/group && shift 3 && exec "$@"' \
        sh "$dir" "$work/local-bin" "$work/group" "$@"
}

if [[ $mode == bosh ]]; then
    # /var/vcap is the mount point (empty unless on a BOSH VM); removed on
    # exit when this run made it.
    if [[ ! -e /var/vcap ]]; then
        mkdir /var/vcap
        made_vcap=1
    fi
    mkdir -p "$work/local-bin"
    cp /etc/group "$work/group"
    if ! grep -q '^vcap:' "$work/group"; then
        gid=$(awk -F: '{ taken[$3] = 1 } END { for (g = 60000; g in taken; g++); print g }' /etc/group)
        echo "vcap:x:$gid:" >>"$work/group"
    fi
    echo "fleet: building the harness, the release and the job with BOSH's code" >&2
    (cd "$here/tests/bosh" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -trimpath -o "$work/harness" .)
    # The ops file's properties as the director would give them.
    (cd "$release/manifests" && "$bosh_cli" int ../test/fixtures/haproxy.yml \
        -o colocate-inject-commands.yml \
        --path /instance_groups/name=haproxy/jobs/name=inject-commands/properties) |
        ruby -ryaml -rjson -e 'puts JSON.generate(YAML.safe_load($stdin.read))' >"$work/properties.json"
    # The release, with this inject (without its debug info) as the blob.
    cp -r "$release" "$work/release"
    rm -rf "$work/release/"{blobs,.blobs,dev_releases,.dev_builds}
    strip -o "$work/inject-blob" "$INJECT" 2>/dev/null || cp "$INJECT" "$work/inject-blob"
    (cd "$work/release" && "$bosh_cli" add-blob "$work/inject-blob" inject/inject-linux-amd64 >/dev/null &&
        "$bosh_cli" create-release --force --tarball "$work/inject.tgz" >/dev/null)
    "$work/harness" render -release "$work/inject.tgz" -job inject-commands \
        -properties "$work/properties.json" -networks "$work/networks.json" -out "$work/rendered"
    # Installed once (every VM is a copy of the seed's, networks alike),
    # then copied per VM, files hard-linked: the agent's links are absolute
    # /var/vcap paths, so each copy's resolve inside it.
    mkdir -p "$work/vcap"
    in_vcap "$work/vcap" env -i "$agent_path" "$work/harness" install -release "$work/inject.tgz" \
        -job inject-commands -rendered "$work/rendered" >/dev/null
else
    # The config the job would render: the ops file's properties and the
    # same networks.
    python3 - "$release/manifests/colocate-inject-commands.yml" "$work/networks.json" >"$work/commands.yml" <<'PY'
import json, sys, yaml
ops = yaml.safe_load(open(sys.argv[1]))
job = next(op["value"] for op in ops if op["path"].startswith("/instance_groups/name=haproxy/jobs/name=inject-commands"))
# As the job's template writes them: address, gateway and netmask only.
networks = {name: {k: v for k, v in net.items() if k in ("ip", "gateway", "netmask")}
            for name, net in json.load(open(sys.argv[2])).items()}
print(json.dumps({**job["properties"], "networks": networks}))
PY
fi

# make_vm I: VM I, and its own /var/vcap (the installed one, hard-linked).
make_vm() {
    local i=$1 vm=${prefix}vm$1 peer=${prefix}gw$1
    seed_vm "$vm" "$peer"
    mkdir -p "$work/vm$i/log"
    if [[ $mode == bosh ]]; then
        cp -al "$work/vcap" "$work/vm$i/vcap"
    fi
}

# errand I: the errand on VM I; output, exit code and milliseconds in $work/vmI.*
errand() {
    local i=$1 vm=${prefix}vm$1 start=$EPOCHREALTIME rc=0
    if [[ $mode == bosh ]]; then
        in_vcap "$work/vm$i/vcap" ip netns exec "$vm" env -i "$agent_path" \
            /var/vcap/jobs/inject-commands/bin/run >"$work/vm$i.out" 2>&1 || rc=$?
    else
        ip netns exec "$vm" env -i "$agent_path" "$INJECT" run -c "$work/commands.yml" \
            --phase errand --log-dir "$work/vm$i/log" >"$work/vm$i.out" 2>&1 || rc=$?
    fi
    echo "$rc" >"$work/vm$i.rc"
    awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }' >"$work/vm$i.ms"
}

# fleet: the errand on VMs 1..N at once; the wall time in ms goes to
# $work/wall. Run directly (not in $(…)), so cleanup sees the pids; job
# control gives each errand its own process group for cleanup to end.
fleet() {
    local i start=$EPOCHREALTIME
    pids=()
    set -m
    for ((i = 1; i <= N; i++)); do
        errand "$i" &
        pids+=("$!")
    done
    set +m
    wait
    pids=()
    awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }' >"$work/wall"
}

log_of() { # log_of I: VM I's run logs, concatenated
    if [[ $mode == bosh ]]; then
        # Read as the VM sees it: the agent's /var/vcap/sys is a link to
        # /var/vcap/data/sys, which only resolves inside its mount.
        in_vcap "$work/vm$1/vcap" sh -c 'cat /var/vcap/sys/log/inject-commands/*' 2>/dev/null || true
    else
        cat "$work/vm$1/log/"* 2>/dev/null || true
    fi
}

echo "fleet: making $N VMs (+1 for the single run), $mode mode" >&2
for ((i = 0; i <= N; i++)); do make_vm "$i"; done

# A single run, on VM 0: median of 5, the route removed between runs.
singles=()
for _ in 1 2 3 4 5; do
    errand 0
    [[ $(cat "$work/vm0.rc") == 0 ]] || { cat "$work/vm0.out" >&2; exit 1; }
    singles+=("$(cat "$work/vm0.ms")")
    ip -n "${prefix}vm0" -6 route del default
done
single=$(printf '%s\n' "${singles[@]}" | sort -n | sed -n 3p)

fleet
wall=$(cat "$work/wall")
failures=0
for ((i = 1; i <= N; i++)); do
    problem=
    routes=$(ip -n "${prefix}vm$i" -6 route show default)
    if [[ $(cat "$work/vm$i.rc") != 0 ]]; then
        problem="errand exited $(cat "$work/vm$i.rc")"
    elif [[ $routes != "default via 2001:db8:69f5::1 dev eth1 "* || $(wc -l <<<"$routes") != 1 ]]; then
        problem="IPv6 default routes: ${routes:-none}"
    elif [[ $(log_of "$i" | grep -c ipv6-default-route) == 0 ]]; then
        problem="no run log of its own"
    fi
    if [[ -n $problem ]]; then
        failures=$((failures + 1))
        echo "vm$i: $problem" >&2
        sed 's/^/    /' "$work/vm$i.out" >&2
    fi
done
per_vm=$(cat "$work"/vm[1-9]*.ms | sort -n | awk '{ t[NR] = $1 } END { printf "median %.0f ms, max %.0f ms", t[int((NR + 1) / 2)], t[NR] }')

# Again, everywhere at once: converged VMs must skip and keep their route.
fleet
again=$(cat "$work/wall")
not_skipped=0
for ((i = 1; i <= N; i++)); do
    if [[ $(cat "$work/vm$i.rc") != 0 ]] || ! grep -q skipped "$work/vm$i.out" ||
        [[ $(ip -n "${prefix}vm$i" -6 route show default | wc -l) != 1 ]]; then
        not_skipped=$((not_skipped + 1))
        echo "vm$i: second errand did not skip cleanly" >&2
        sed 's/^/    /' "$work/vm$i.out" >&2
    fi
done

cores=$(nproc)
awk -v n="$N" -v single="$single" -v wall="$wall" -v again="$again" -v cores="$cores" \
    -v failures="$failures" -v skipped=$((N - not_skipped)) -v per_vm="$per_vm" -v mode="$mode" 'BEGIN {
    printf "fleet: %d VMs (%s), %d cores\n", n, mode == "bosh" ? "the job'\''s rendered bin/run" : "inject run -c", cores
    printf "single run (median of 5): %.0f ms\n", single
    printf "all %d at once: wall %.0f ms = %.1f x a single run (per VM: %s)\n", n, wall, wall / single, per_vm
    printf "  CPU-bound floor on %d cores, %d runs x single / cores: %.0f ms; wall / floor = %.2f\n", cores, n, n * single / cores, wall / (n * single / cores)
    printf "failures: %d of %d (each VM: exit 0, one IPv6 default via 2001:db8:69f5::1 dev eth1, its own log)\n", failures, n
    printf "second errand, all at once: %.0f ms, %d of %d skipped with the route kept\n", again, skipped, n
}'
echo "RESULT fleet $N $single $wall $failures $again $((N - not_skipped))"
((failures == 0 && not_skipped == 0))
