# Installs the tools the tests use when they are missing. Sourced by
# scripts/test and .ci/run; safe to run again (each step checks first).

# Debian packages: iproute2 (ip, netns), tmux (dashboard end-to-end), ruby
# (bosh-cli's ERB renderer runs it), procps (ps/pgrep in process tests), time (GNU
# time's peak-memory figure in the 50 MB output test); for the real
# systemd-networkd of tests/networkd_netns.rs: systemd (systemd-networkd,
# networkctl, the systemd-network user), dbus (dbus-daemon and the system
# bus's config), util-linux (unshare, nsenter). `dpkg -S` names them.
ensure_debian_packages() {
    local missing=()
    command -v ip >/dev/null || missing+=(iproute2)
    command -v tmux >/dev/null || missing+=(tmux)
    command -v ruby >/dev/null || missing+=(ruby)
    command -v pgrep >/dev/null || missing+=(procps)
    { command -v unshare && command -v nsenter; } >/dev/null || missing+=(util-linux)
    { [ -x /usr/lib/systemd/systemd-networkd ] || [ -x /lib/systemd/systemd-networkd ]; } &&
        command -v networkctl >/dev/null || missing+=(systemd)
    { command -v dbus-daemon && [ -f /usr/share/dbus-1/system.conf ]; } >/dev/null || missing+=(dbus)
    [ -x /usr/bin/time ] || missing+=(time)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "tools: missing ${missing[*]} and not root; install them (apt-get install ${missing[*]})" >&2
        return 0
    fi
    echo "tools: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The bosh CLI, pinned, built from its Go module into a cache dir once and put
# on PATH. The module is built in place (`go mod download` + `go build`)
# rather than with `go install pkg@version`, which also asks the proxy for the
# module's version list, and some proxies refuse that.
# Under CI=true the CLI is required unless INJECT_BOSH_CLI=optional; elsewhere
# its absence is reported and the tests that need it skip.
BOSH_CLI_MODULE=github.com/cloudfoundry/bosh-cli/v7
BOSH_CLI_VERSION=v7.8.6
ensure_bosh_cli() {
    local bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/inject/bin"
    case ":$PATH:" in
        *":$bin_dir:"*) ;;
        *) export PATH="$bin_dir:$PATH" ;;
    esac
    command -v bosh >/dev/null 2>&1 && return 0
    local required=false
    if [ "${CI:-}" = true ] && [ "${INJECT_BOSH_CLI:-required}" != optional ]; then
        required=true
    fi
    if ! command -v go >/dev/null 2>&1; then
        echo "tools: no bosh CLI and no go to build it; tests that need bosh will skip" >&2
        [ "$required" = false ]
        return
    fi
    echo "tools: building bosh CLI $BOSH_CLI_VERSION from $BOSH_CLI_MODULE into $bin_dir" >&2
    local log dir
    log="$(mktemp)"
    mkdir -p "$bin_dir"
    if dir="$(go mod download -json "$BOSH_CLI_MODULE@$BOSH_CLI_VERSION" 2>>"$log" |
                sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" && [ -n "$dir" ] &&
        (cd "$dir" && GOFLAGS=-mod=readonly go build -trimpath \
            -ldflags "-X $BOSH_CLI_MODULE/cmd.VersionLabel=${BOSH_CLI_VERSION#v}" \
            -o "$bin_dir/bosh.tmp" .) >>"$log" 2>&1; then
        mv "$bin_dir/bosh.tmp" "$bin_dir/bosh"
        rm -f "$log"
        return 0
    fi
    rm -f "$bin_dir/bosh.tmp"
    echo "tools: could not build the bosh CLI (tests that need it will skip$([ "$required" = true ] && echo '; required under CI')):" >&2
    # One line per module the proxy refused, else the build's last lines.
    { sed -n 's/.*: \([^ ]*@v[^:]*\): reading .*: \([0-9][0-9][0-9] .*\)$/\1: \2/p' "$log" | sort -u | grep . ||
        tail -n 8 "$log"; } | sed 's/^/tools:   /' >&2
    rm -f "$log"
    [ "$required" = false ]
}

# The Go harness of the BOSH tests (tests/bosh: bosh-cli's renderer and
# release reader, bosh-agent's compiler, appliers and action dispatcher).
# The tests build it themselves (`go build`, GOFLAGS=-mod=mod, the exact
# versions tests/bosh/go.mod pins; the proxy is never asked for a version
# list); building it here first fetches its modules and fills Go's build
# cache, and reports a proxy that refuses a module once, up front.
ensure_bosh_harness() {
    local repo_dir required=false
    repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    if [ "${CI:-}" = true ] && [ "${INJECT_BOSH_CLI:-required}" != optional ]; then
        required=true
    fi
    if ! command -v go >/dev/null 2>&1; then
        echo "tools: no go: the BOSH harness (tests/bosh) cannot be built; its tests will skip" >&2
        [ "$required" = false ]
        return
    fi
    local log
    log="$(mktemp)"
    if (cd "$repo_dir/tests/bosh" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -o /dev/null .) >"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    echo "tools: could not build the BOSH harness in tests/bosh:" >&2
    tail -n 8 "$log" | sed 's/^/tools:   /' >&2
    rm -f "$log"
    [ "$required" = false ]
}

ensure_test_tools() {
    ensure_debian_packages
    ensure_bosh_cli
    ensure_bosh_harness
}
