# Installs the tools the tests use when they are missing. Sourced by
# scripts/test and .ci/run; safe to run again (each step checks first).

# Debian packages: iproute2 (ip, netns), tmux (dashboard end-to-end), ruby
# (BOSH template rendering), procps (ps/pgrep in process tests).
ensure_debian_packages() {
    local missing=()
    command -v ip >/dev/null || missing+=(iproute2)
    command -v tmux >/dev/null || missing+=(tmux)
    command -v ruby >/dev/null || missing+=(ruby)
    command -v pgrep >/dev/null || missing+=(procps)
    command -v unshare >/dev/null || missing+=(util-linux)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "tools: missing ${missing[*]} and not root; install them (apt-get install ${missing[*]})" >&2
        return 0
    fi
    echo "tools: installing ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_test_tools() {
    ensure_debian_packages
}
