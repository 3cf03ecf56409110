#!/usr/bin/env bash
# Overhead of `inject run` on 300 trivial commands against a bash loop that
# runs each of them under `bash -c` (the same shell and flags inject uses),
# on the same machine in the same run.
#
#   bench/run-overhead.sh                 # builds the release binary first
#   INJECT=path/to/inject N=300 RUNS=10 bench/run-overhead.sh
#
# Prints both mean times and the ratio inject/bash. Uses hyperfine when it is
# installed (apt-get install hyperfine), else a loop timed with date +%s.%N.
set -euo pipefail

N=${N:-300}
RUNS=${RUNS:-10}
here=$(cd "$(dirname "$0")/.." && pwd)

if [[ -z ${INJECT:-} ]]; then
    (cd "$here" && cargo build --release --quiet --bin inject)
    INJECT=${CARGO_TARGET_DIR:-$here/target}/release/inject
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
config=$work/commands.yml
{
    echo "commands:"
    for i in $(seq 1 "$N"); do
        echo "  - {name: c$i, run: 'true'}"
    done
} >"$config"
cat >"$work/loop.sh" <<LOOP
for i in \$(seq 1 $N); do
    /bin/bash --noprofile --norc -eo pipefail -c true
done
LOOP

inject_cmd="$INJECT run -c $config"
bash_cmd="bash $work/loop.sh"
# No log dir: the BOSH default only applies on a BOSH VM.
export INJECT_LOG_DIR=

if command -v hyperfine >/dev/null; then
    hyperfine --warmup 2 --runs "$RUNS" --export-json "$work/result.json" \
        -n "inject run ($N commands)" "$inject_cmd" \
        -n "bash loop ($N x bash -c)" "$bash_cmd" >&2
    read -r inject_s bash_s < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(r[0]["mean"], r[1]["mean"])' "$work/result.json")
else
    mean() {
        local start end
        $1 >/dev/null # warm-up
        start=$(date +%s.%N)
        for _ in $(seq 1 "$RUNS"); do $1 >/dev/null; done
        end=$(date +%s.%N)
        echo "($end - $start) / $RUNS" | bc -l
    }
    inject_s=$(mean "$inject_cmd")
    bash_s=$(mean "$bash_cmd")
fi

awk -v i="$inject_s" -v b="$bash_s" -v n="$N" 'BEGIN {
    printf "inject run, %d commands: %.3f s (%.2f ms per command)\n", n, i, 1000 * i / n
    printf "bash loop,  %d commands: %.3f s (%.2f ms per command)\n", n, b, 1000 * b / n
    printf "ratio inject/bash: %.2f\n", i / b
}'
# For bench/all.sh: mean seconds of inject, then of the bash loop.
echo "RESULT run $inject_s $bash_s"
