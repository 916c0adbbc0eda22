#!/usr/bin/env bash
# The examples under a launcher: each runs once in a directory of its own
# (under the current one, which every host must see) and must end with
# status 0 and print what it prints on one node.
#
#   bash run_examples.sh EXAMPLES_DIR LAUNCHER [ARGS ...]
#
# e.g. run_examples.sh build/examples mpiexec -hosts h1:2,h2:2 -n 4, or
# srun --mpi=pmi2 -N 2 -n 2. Used by the separate-hosts layout (hosts.sh)
# and the Slurm layout (slurm.sh).
set -u
dir=$1
shift
fails=0
check() { # NAME PATTERN ARGS...: run, then grep PATTERN in the output
    local name=$1 pattern=$2 t0=$EPOCHREALTIME out status
    shift 2
    mkdir -p "run_$name"
    out=$(cd "run_$name" && "$@" 2>&1)
    status=$?
    local took
    took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    if ((status != 0)); then
        printf '%s\n' "$out" | tail -20
        echo "FAIL [$name]: status $status after $took s"
        fails=$((fails + 1))
    elif ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
        printf '%s\n' "$out" | tail -20
        echo "FAIL [$name]: no \"$pattern\" in the output"
        fails=$((fails + 1))
    else
        echo "ok [$name] in $took s"
    fi
}
check split_managed "^sum: 45 " "$@" "$dir/split_managed"
check loop "^sum: " "$@" "$dir/loop"
check loop_range "^sum: 1.644" "$@" "$dir/loop_range"
check gather "^rank 0 on " "$@" "$dir/gather"
check map_unordered "" "$@" "$dir/map_unordered"
check mandelbrot "" "$@" "$dir/mandelbrot" 200 120 200
mkdir -p run_filestats/tree && cp "$(dirname "${BASH_SOURCE[0]}")"/*.sh run_filestats/tree/
check filestats "^filestats: .* files" "$@" "$dir/filestats" tree
if ((fails)); then
    echo "run_examples.sh: $fails example(s) failed"
    exit 1
fi
echo "run_examples.sh: every example passed"
