# Shared by bench/all.sh and bench/fleet.sh (sourced, not run).

# seed_vm VM PEER: two fresh network namespaces shaped like the seed's VM
# (tests/common/netns.rs `SeedVm`): in VM, eth0 10.0.250.10/24 with the IPv4
# default via 10.0.250.1, eth1 2001:db8:69f5::10/64 with no IPv6 default and
# accept_ra=0; in PEER, the gateways' ends (p0 10.0.250.1, p1 2001:db8:69f5::1).
# Each namespace goes on the caller's `namespaces` list (deleted on exit)
# only once `ip netns add` made it: a same-named one is never ours to delete.
seed_vm() {
    local vm=$1 peer=$2
    ip netns add "$vm" || return 1
    namespaces+=("$vm")
    ip netns add "$peer" || return 1
    namespaces+=("$peer")
    ip -n "$vm" link add eth0 type veth peer name p0 netns "$peer"
    ip -n "$vm" link add eth1 type veth peer name p1 netns "$peer"
    ip netns exec "$vm" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.eth1.accept_ra=0
    ip -n "$vm" -batch - <<EOF
link set lo up
link set eth0 up
link set eth1 up
addr add 10.0.250.10/24 dev eth0
addr add 2001:db8:69f5::10/64 dev eth1 nodad
route add default via 10.0.250.1 dev eth0
EOF
    ip -n "$peer" -batch - <<EOF
link set lo up
link set p0 up
link set p1 up
addr add 10.0.250.1/24 dev p0
addr add 2001:db8:69f5::1/64 dev p1 nodad
EOF
}

# unique_id: a random suffix for names (namespaces) that must not meet those
# of another run, even one with the same PID whose cleanup was killed.
unique_id() {
    od -An -N4 -tx1 /dev/urandom | tr -d ' \n'
}

# need_tools CMD...: installs the Debian packages of missing commands
# (hyperfine, GNU time) with apt-get.
need_tools() {
    local missing=() cmd
    for cmd in "$@"; do
        case $cmd in
            time) [[ -x /usr/bin/time ]] || missing+=(time) ;;
            *) command -v "$cmd" >/dev/null || missing+=("$cmd") ;;
        esac
    done
    ((${#missing[@]} == 0)) && return 0
    echo "installing ${missing[*]} with apt-get" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}
