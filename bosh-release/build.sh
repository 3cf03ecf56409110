#!/usr/bin/env bash
# Builds the inject binary and creates a dev release tarball with the bosh CLI.
#
#   bash bosh-release/build.sh [--tarball PATH]
#
# The binary is static (x86_64-unknown-linux-musl) when that target can be
# installed; otherwise a glibc build, refused when it needs a newer glibc than
# the Jammy stemcell's (2.35). The release is built in a temporary copy of
# this directory: `bosh add-blob` stages the binary there (editing that copy's
# config/blobs.yml) and `bosh create-release --force --tarball` writes PATH
# (default: <cargo target dir>/bosh-release/inject-VERSION.tgz), so the tree
# is left exactly as it was. VERSION is the crate's plus +dev.<UTC time>, so
# each build uploads as a new release version. Without the bosh CLI the
# release is not created (exit 0, or 1 under CI=true).
set -euo pipefail

release_dir="$(cd "$(dirname "$0")" && pwd)"
repo_dir="$(dirname "$release_dir")"
blob_path=inject/inject-linux-amd64
musl=x86_64-unknown-linux-musl
max_glibc=2.35

tarball=
while [ $# -gt 0 ]; do
    case "$1" in
        --tarball) tarball="${2:?--tarball needs a path}"; shift 2 ;;
        --tarball=*) tarball="${1#--tarball=}"; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$1' (usage: build.sh [--tarball PATH])" >&2; exit 64 ;;
    esac
done
if [ -n "$tarball" ]; then
    # bosh resolves a relative path against the release dir; keep the caller's.
    case "$tarball" in /*) ;; *) tarball="$PWD/$tarball" ;; esac
fi

cd "$repo_dir"
target_dir="${CARGO_TARGET_DIR:-$repo_dir/target}"

# Highest GLIBC_x.y symbol version the binary needs ("" when none).
max_glibc_needed() {
    objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1
}

if rustup target list --installed 2>/dev/null | grep -qx "$musl" ||
    rustup target add "$musl" >&2; then
    echo "build.sh: building a static binary ($musl)" >&2
    cargo build --release --locked -p inject --target "$musl"
    binary="$target_dir/$musl/release/inject"
else
    echo "build.sh: the $musl target cannot be installed; building against glibc" >&2
    cargo build --release --locked -p inject
    binary="$target_dir/release/inject"
    needed="$(max_glibc_needed "$binary")"
    if [ -n "$needed" ] && [ "$(printf '%s\n%s\n' "$needed" "$max_glibc" | sort -V | tail -n 1)" != "$max_glibc" ]; then
        echo "build.sh: $binary needs GLIBC_$needed but the Jammy stemcell has $max_glibc;" >&2
        echo "build.sh: build on an older distribution, install the $musl target, or compile on the stemcell (docs/deploy.md)" >&2
        exit 1
    fi
    echo "build.sh: glibc build needs at most GLIBC_${needed:-none} (stemcell: $max_glibc)" >&2
fi

# The bosh CLI: on PATH, or built and cached by the test tools.
# shellcheck source=../scripts/lib/tools.sh
. "$repo_dir/scripts/lib/tools.sh"
ensure_bosh_cli || true

if ! command -v bosh >/dev/null 2>&1; then
    echo "build.sh: built $binary" >&2
    echo "build.sh: the bosh CLI is not on PATH: the release was NOT created" >&2
    if [ "${CI:-}" = true ] && [ "${INJECT_BOSH_CLI:-required}" != optional ]; then
        echo "build.sh: the bosh CLI is required under CI" >&2
        exit 1
    fi
    exit 0
fi

crate_version="$(cargo pkgid -p inject | sed 's/.*[#@]//')"
version="$crate_version+dev.$(date -u +%Y%m%d%H%M%S)"
if [ -z "$tarball" ]; then
    mkdir -p "$target_dir/bosh-release"
    tarball="$target_dir/bosh-release/inject-$version.tgz"
fi

# A copy without anything an earlier bosh run left in the tree (a stale
# dev_releases index or blob would otherwise be picked up).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -R "$release_dir" "$work/release"
rm -rf "$work/release/blobs" "$work/release/.blobs" "$work/release/dev_releases" "$work/release/.dev_builds"

cd "$work/release"
bosh add-blob "$binary" "$blob_path"
bosh create-release --force --version "$version" --tarball "$tarball"
echo "build.sh: release tarball: $tarball ($(du -h "$tarball" | cut -f1))" >&2
