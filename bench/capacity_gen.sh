#!/usr/bin/env bash
# bench/capacity_gen.sh — bench/capacity_gen (the real dispatcher on rank 0,
# a request generator in place of every other node's agent) at 2, 4, 8, 16
# and 32 emulated nodes (one rank each, fork launcher); each run alternates
# bells and polling round by round. One CSV and one log per node count in
# OUT (default bench_capacity_gen/), then the table of docs/scale.md
# (table 5) on stdout, from the runs' summary lines.
#
#   bash bench/capacity_gen.sh [BUILD_DIR [SECONDS [ROUNDS [OUT]]]]
#
# Environment: NODES (default "2 4 8 16 32"), POOL_NODES (default "8 16
# 32": node counts run again with POOL=1, one generator rank speaking for
# every node, polling only; empty: none), MPIEXEC (default
# mpiexec.mpich), ITEM_US and CHUNK (capacity_gen's, defaults 1000 and 1),
# THREADS (rank 0's team, default 1).
set -eu
build=${1:-build}
seconds=${2:-1}
rounds=${3:-3}
out=${4:-bench_capacity_gen}
mpiexec=${MPIEXEC:-mpiexec.mpich}
exe=$build/bench/capacity_gen
mkdir -p "$out"

hosts() { # hosts N: n1:1,...,nN:1
    local h=n1:1 k
    for k in $(seq 2 "$1"); do h="$h,n$k:1"; done
    echo "$h"
}

echo "# bench/capacity_gen.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg), $seconds s calls, $rounds rounds"
for nodes in ${NODES-2 4 8 16 32}; do
    echo "## $nodes nodes"
    OMP_NUM_THREADS=${THREADS:-1} MPIEXEC_TIMEOUT=600 \
        nice "$mpiexec" -launcher fork -hosts "$(hosts "$nodes")" -n "$nodes" "$exe" \
        "$seconds" "$rounds" "$out/capacity_gen_n$nodes.csv" 2>"$out/capacity_gen_n$nodes.err" |
        tee "$out/capacity_gen_n$nodes.log" | grep -v '^summary,'
    grep -c "doorbell did not arrive" "$out/capacity_gen_n$nodes.err" |
        sed 's/^/# doorbells that did not arrive at dlp_init, all bells sessions: /'
done
# The same dispatcher with one generator rank speaking for every node
# (POOL=1, polling only): the generators' cost out of the way.
for nodes in ${POOL_NODES-8 16 32}; do
    echo "## $nodes nodes, POOL=1"
    POOL=1 OMP_NUM_THREADS=${THREADS:-1} MPIEXEC_TIMEOUT=600 \
        nice "$mpiexec" -launcher fork -hosts "$(hosts "$nodes")" -n "$nodes" "$exe" \
        "$seconds" "$rounds" "$out/capacity_gen_n${nodes}_pool1.csv" \
        2>"$out/capacity_gen_n${nodes}_pool1.err" |
        tee "$out/capacity_gen_n${nodes}_pool1.log" | grep -v '^summary,'
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

# The table: median (min-max) over the rounds, from each run's summary lines
# (fields: summary,nodes,variant, then median,min,max per column of
# capacity_gen's print_summary, then the exactly-once verdict).
echo
echo "| nodes | variant | nodes with a doorbell | requests/s | dispatcher CPU µs/request" \
     "| dispatcher % of a core | answered median / p99 ms | generator reply median / p99 ms" \
     "| generator CPU µs/request | machine busy % | exactly once |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
cat "$out"/capacity_gen_n*.log | grep '^summary,' | sort -t, -k2,2n -k3,3 | awk -F, '
    function f(k, fmt) { return sprintf(fmt, $(4 + 3 * k)) }
    function mm(k, fmt) { return sprintf(fmt " (" fmt "–" fmt ")", $(4 + 3 * k), $(5 + 3 * k), $(6 + 3 * k)) }
    { printf "| %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s | %s |\n", $2, $3,
      mm(11, "%.0f"), mm(0, "%.0f"), mm(1, "%.1f"), f(2, "%.0f"), f(3, "%.3f"), f(4, "%.2f"), f(5, "%.3f"),
      f(6, "%.2f"), f(7, "%.1f"), sprintf("%.0f", $(4 + 3 * 9) / 2), $NF }'
