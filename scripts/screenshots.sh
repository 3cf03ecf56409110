#!/usr/bin/env bash
# Makes the dashboard's screenshots in screenshots/ from a real run: the
# seed's VM (a network namespace with eth0 = IPv4 + default route, eth1 =
# IPv6 without one), the real `inject-tui` in tmux, each screen captured with
# `tmux capture-pane -e`, turned into HTML by `aha`, and photographed by
# headless Chromium. Re-runnable; needs root (namespaces) and installs
# tmux, aha, chromium and a monospace font from Debian when missing.
#
#   scripts/screenshots.sh            # writes screenshots/*.png
set -euo pipefail
cd "$(dirname "$0")/.."
out=screenshots
mkdir -p "$out"

if [ "$(id -u)" -ne 0 ]; then
    echo "screenshots: needs root (it builds network namespaces)" >&2
    exit 1
fi
need=()
command -v tmux >/dev/null || need+=(tmux)
command -v aha >/dev/null || need+=(aha)
command -v chromium >/dev/null || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
    echo "screenshots: installing ${need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --quiet --bin inject
work=$(mktemp -d)
vm=injshot-vm-$$
peer=injshot-peer-$$
sock=injshot-$$
cleanup() {
    local socket_path
    socket_path=$(tmux -L "$sock" display-message -p '#{socket_path}' 2>/dev/null || true)
    tmux -L "$sock" kill-server 2>/dev/null || true
    if [ -n "$socket_path" ]; then rm -f "$socket_path"; fi
    ip netns del "$vm" 2>/dev/null || true
    ip netns del "$peer" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The seed's VM, as tests/common/netns.rs builds it.
ip netns add "$vm"
ip netns add "$peer"
ip -n "$vm" link add eth0 type veth peer name p0 netns "$peer"
ip -n "$vm" link add eth1 type veth peer name p1 netns "$peer"
ip netns exec "$vm" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth1.accept_dad=0 net.ipv6.conf.eth1.accept_ra=0
ip -n "$vm" link set lo up
ip -n "$vm" link set eth0 up
ip -n "$vm" link set eth1 up
ip -n "$vm" addr add 10.0.250.10/24 dev eth0
ip -n "$vm" -6 addr add 2001:db8:69f5::10/64 dev eth1 nodad
ip -n "$vm" route add default via 10.0.250.1 dev eth0
ip -n "$peer" link set lo up
ip -n "$peer" link set p0 up
ip -n "$peer" link set p1 up
ip -n "$peer" addr add 10.0.250.1/24 dev p0
ip -n "$peer" -6 addr add 2001:db8:69f5::1/64 dev p1 nodad

cp errands/examples/ipv6-default-route.yml "$work/commands.yml" 2>/dev/null || cat >"$work/commands.yml" <<'YAML'
commands:
  - name: ipv6-default-route
    run: ip -6 route add default via 2001:db8:69f5::1 dev eth1
    unless: ip -6 route show default | grep -q default
    timeout: 30s
YAML
# A second command, run once by the errand before the dashboard starts:
# the dashboard shows its last result (history) and its output (viewer).
sed -i '/^networks:/i\  - name: show-ipv6-routes\n    run: ip -6 route show; printf "table\\tmain\\n"\n' "$work/commands.yml"
grep -q show-ipv6-routes "$work/commands.yml" || cat >>"$work/commands.yml" <<'YAML'
  - name: show-ipv6-routes
    run: ip -6 route show
YAML
ip netns exec "$vm" target/debug/inject run -c "$work/commands.yml" --only show-ipv6-routes \
    --log-dir "$work/log" >/dev/null
ln -s "$PWD/target/debug/inject" "$work/inject-tui"

tmux -L "$sock" -f /dev/null new-session -d -s shot -x 120 -y 40 \
    "TERM=xterm-256color LANG=C.UTF-8 ip netns exec $vm $work/inject-tui -c $work/commands.yml --log-dir $work/log; sleep 30"

# Wait (up to 10 s) until the screen shows `$1`.
wait_for() {
    for _ in $(seq 1 200); do
        if tmux -L "$sock" capture-pane -p -t shot | grep -qF -- "$1"; then
            return 0
        fi
        sleep 0.05
    done
    echo "screenshots: the dashboard never showed: $1" >&2
    tmux -L "$sock" capture-pane -p -t shot >&2
    exit 1
}

# capture-pane -e (SGR colours) → aha (HTML) → Chromium (PNG); $2 is the
# window size in pixels (120x40 by default).
shoot() {
    local name=$1 size=${2:-1030,660}
    tmux -L "$sock" capture-pane -e -p -t shot >"$work/$name.ansi"
    aha --black --title "inject-tui" <"$work/$name.ansi" >"$work/$name.html"
    # A monospace font with box-drawing glyphs, lines packed so borders join.
    sed -i 's|</head>|<style>body{margin:8px;background:#000}pre{font-family:"DejaVu Sans Mono",monospace;font-size:14px;line-height:16px;margin:0}</style></head>|' "$work/$name.html"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$(mktemp -d -p "$work")" \
        --window-size="$size" --screenshot="$PWD/$out/$name.png" \
        "file://$work/$name.html" >/dev/null 2>&1
    echo "screenshots: wrote $out/$name.png"
}

wait_for "IPv6: no default route"
shoot seed-vm-ipv6-flagged
tmux -L "$sock" send-keys -t shot Enter
wait_for "run ipv6-default-route?"
shoot confirm
tmux -L "$sock" send-keys -t shot y
wait_for "IPv6: default via 2001:db8:69f5::1 dev eth1"
shoot seed-vm-fixed
tmux -L "$sock" send-keys -t shot '?'
wait_for "show or hide this help"
shoot help
tmux -L "$sock" send-keys -t shot '?'
# History: the errand's run of show-ipv6-routes, read from the run log.
tmux -L "$sock" send-keys -t shot Down
wait_for "errand ran it"
shoot history
tmux -L "$sock" send-keys -t shot o
wait_for "output: show-ipv6-routes"
shoot output-viewer
tmux -L "$sock" send-keys -t shot Escape
wait_for "inject · network"
tmux -L "$sock" send-keys -t shot Up
wait_for "▶ ipv6-default-route"
# Both defaults gone, at 80x24: both findings, the hint, the fix.
ip -n "$vm" route del default
ip -n "$vm" -6 route del default
tmux -L "$sock" resize-window -t shot -x 80 -y 24
wait_for "IPv4: no default route"
wait_for "IPv6: no default route"
shoot findings-80x24 690,400
tmux -L "$sock" resize-window -t shot -x 60 -y 15
wait_for "IPv4: no default route"
sleep 0.3
tmux -L "$sock" capture-pane -p -t shot >"$out/findings-60x15.txt"
shoot findings-60x15 530,260
echo "screenshots: wrote $out/findings-60x15.txt"
tmux -L "$sock" send-keys -t shot q
