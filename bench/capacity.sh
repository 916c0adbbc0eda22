#!/usr/bin/env bash
# bench/capacity.sh — bench/capacity at 2, 4, 8, 16 and 32 emulated nodes
# (one rank each, fork launcher), then a load sweep at 4 nodes (threads
# per node, item time); each run alternates bells and polling round by
# round. One CSV per run in OUT (default bench_capacity/), the tables on
# stdout.
#
#   bash bench/capacity.sh [BUILD_DIR [SECONDS [ROUNDS [OUT]]]]
#
# Environment: NODES (default "2 4 8 16 32"), SWEEP (default
# "1:1000 4:1000 16:1000 16:250 32:100", threads:item_us at 4 nodes; empty:
# none), MPIEXEC (default mpiexec.mpich), CHUNK (capacity's, default 1;
# 0: AUTO), SERVICE_US (default none): at each node count a second run
# right after, with DLP__TEST_SERVICE_US=SERVICE_US, the dispatcher's
# service time as the chunk-time growth sees it (docs/scale.md table 4).
set -eu
build=${1:-build}
seconds=${2:-1}
rounds=${3:-5}
out=${4:-bench_capacity}
mpiexec=${MPIEXEC:-mpiexec.mpich}
exe=$build/bench/capacity
mkdir -p "$out"

hosts() { # hosts N: n1:1,...,nN:1
    local h=n1:1 k
    for k in $(seq 2 "$1"); do h="$h,n$k:1"; done
    echo "$h"
}

run() { # run NODES THREADS ITEM_US [SERVICE_US]
    echo "## $1 nodes x $2 threads, items of $3 us${4:+, service time taken as $4 us}"
    DLP__TEST_SERVICE_US=${4:-} OMP_NUM_THREADS=$2 ITEM_US=$3 MPIEXEC_TIMEOUT=600 \
        nice "$mpiexec" -launcher fork -hosts "$(hosts "$1")" -n "$1" "$exe" "$seconds" \
        "$rounds" "$out/capacity_n$1_t$2_i$3${4:+_s$4}.csv"
}

for nodes in ${NODES-2 4 8 16 32}; do
    run "$nodes" 1 1000
    if [ -n "${SERVICE_US:-}" ]; then run "$nodes" 1 1000 "$SERVICE_US"; fi
done
for spec in ${SWEEP-1:1000 4:1000 16:1000 16:250 32:100}; do
    run 4 "${spec%%:*}" "${spec##*:}"
done
