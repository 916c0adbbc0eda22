#!/bin/sh
# bench/targets.sh — the performance targets, read off one bench/run.sh run.
#
#   bench/targets.sh RESULTS_DIR
#
# Reads the CSV files bench/run.sh wrote into RESULTS_DIR (workloads.csv,
# throughput.csv, dispatcher.csv, gather.csv, map.csv, reduce.csv,
# startup.csv; a missing one leaves its targets out) and prints one Markdown
# table: each target, the layout, what was measured (median, and min-max
# over the repetitions), the goal, and whether it is met. The same rows go
# to RESULTS_DIR/targets.csv.
#
# Spread: efficiency from the fastest and slowest repetition; throughput
# from the same; the dispatcher's p99 and CPU over its calls (each call's
# own p99); gather: the ratio (baseline median / median) at each size per
# rank, and the least and greatest of them; map and reduce ratios: the same
# ratio repetition by repetition (both variants of a pair ran in the same
# repetition); the managed 16-item call: p10-p90 of its single calls;
# startup over its runs. The layout 2n1off (the node doorbells off) is a
# baseline: its efficiency and dispatcher rows are marked "baseline"
# instead of met or not.
set -eu

dir=${1:-}
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    echo "usage: bench/targets.sh RESULTS_DIR (a directory written by bench/run.sh)" >&2
    exit 2
fi

# rows FILE FILTER-AWK PRINT-AWK: awk over FILE with c["name"] = column of
# that name in its header (CSV without quoted commas in the used columns).
rows() {
    [ -f "$1" ] || return 0
    awk -F, -v filter="$2" "
        NR == 1 { for (k = 1; k <= NF; k++) c[\$k] = k; next }
        $2 { $3 }" "$1"
}

{
    echo "target,layout,measured,min,max,goal,met"
    # Efficiency, auto, periodic and heavy tail: >= 0.98.
    rows "$dir/workloads.csv" \
        '($c["workload"] == "periodic" || $c["workload"] == "heavy_tail") && $c["variant"] == "managed:auto"' \
        'ideal = $c["serial_s"] / $c["workers"];
         printf "efficiency %s (auto),%s,%.3f,%.3f,%.3f,>= 0.98,%s\n", $c["workload"], $c["layout"],
                $c["efficiency"], ideal / $c["max_s"], ideal / $c["min_s"],
                ($c["layout"] == "2n1off" ? "baseline" : $c["efficiency"] >= 0.98 ? "yes" : "no")'
    # Empty items: managed >= OpenMP dynamic,1 in the same run (1x2, 2x1).
    if [ -f "$dir/throughput.csv" ]; then
        awk -F, '
            NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
            { l = $c["layout"]; v = $c["variant"]; n[l] = $c["n"]
              med[l, v] = $c["median_s"]; lo[l, v] = $c["min_s"]; hi[l, v] = $c["max_s"]; seen[l] = 1 }
            END {
              for (l in seen) {
                if (l == "2n1" || !((l, "managed") in med) || !((l, "omp_dynamic1") in med)) continue
                m = n[l] / med[l, "managed"]; o = n[l] / med[l, "omp_dynamic1"]
                printf "empty-item throughput / OpenMP dynamic1,%s,%.2f,%.2f,%.2f,>= 1,%s\n", l, m / o,
                       (n[l] / hi[l, "managed"]) / o, (n[l] / lo[l, "managed"]) / o, (m >= o ? "yes" : "no")
              }
            }' "$dir/throughput.csv" | sort
    fi
    # The dispatcher (two nodes): p99 answered latency while busy <= 1 ms;
    # CPU while idle <= 2 % of a core.
    if [ -f "$dir/dispatcher.csv" ]; then
        awk -F, '
            NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
            { l = $c["layout"]; s = $c["scenario"]
              if (!(l in seen)) { seen[l] = 1; lays[++nl] = l }
              if (s == "busy") p99[l, ++nb[l]] = $c["answered_p99_ms"]
              if (s == "idle") cpu[l, ++ni[l]] = $c["dispatcher_cpu_pct"] }
            # median of a[l, 1..n], sorting them; lo/hi: the extremes
            function med(a, l, n,   i, j, t) {
              for (i = 2; i <= n; i++) for (j = i; j > 1 && a[l, j - 1] > a[l, j]; j--) { t = a[l, j]; a[l, j] = a[l, j - 1]; a[l, j - 1] = t }
              lo = a[l, 1]; hi = a[l, n]
              return n % 2 ? a[l, (n + 1) / 2] : (a[l, n / 2] + a[l, n / 2 + 1]) / 2
            }
            function verdict(ok, l) { return l == "2n1off" ? "baseline" : ok ? "yes" : "no" }
            END {
              for (i = 1; i <= nl; i++) {
                l = lays[i]
                if (nb[l]) { m = med(p99, l, nb[l]); printf "dispatcher p99 latency busy (ms),%s,%.3f,%.3f,%.3f,<= 1,%s\n", l, m, lo, hi, verdict(m <= 1, l) }
                if (ni[l]) { m = med(cpu, l, ni[l]); printf "dispatcher CPU idle (%% of a core),%s,%.2f,%.2f,%.2f,<= 2,%s\n", l, m, lo, hi, verdict(m <= 2, l) }
              }
            }' "$dir/dispatcher.csv"
    fi
    # Gather: dlp against MPI_Gatherv of the same bytes >= 0.8, per size:
    # one row per (layout, series, baseline), the ratio at each size.
    if [ -f "$dir/gather.csv" ]; then
        awk -F, '
            NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
            function size(b) { return b >= 1048576 ? b / 1048576 "M" : b / 1024 "K" }
            { key = $c["layout"] "," $c["variant"] " / " $c["baseline"]
              if ($c["baseline"] == "" || $c["layout"] == "1x2") next
              if ($c["variant"] != "dense_managed_tail" && $c["variant"] != "dense_rr_tail" &&
                  $c["variant"] != "gather" && $c["variant"] != "gather_into") next
              r = $c["ratio"] + 0
              if (!(key in text)) { order[++n] = key; text[key] = "" } else text[key] = text[key] " "
              text[key] = text[key] size($c["bytes_per_rank"]) ":" sprintf("%.2f", r)
              if (!(key in lo) || r < lo[key]) lo[key] = r
              if (!(key in hi) || r > hi[key]) hi[key] = r
            }
            END {
              for (i = 1; i <= n; i++) {
                k = order[i]; split(k, f, ",")
                printf "gather vs MPI_Gatherv: %s,%s,%s,%.2f,%.2f,>= 0.8 at every size,%s\n", f[2], f[1], text[k],
                       lo[k], hi[k], (lo[k] >= 0.8 ? "yes" : "no")
              }
            }' "$dir/gather.csv"
    fi
    # dlp_map_unordered, 8-byte results: >= 0.8x the rate of dense results
    # (managed_8B) in the same run; pair_min / pair_max: rep by rep.
    rows "$dir/map.csv" '$c["variant"] == "map_8B"' \
        'printf "map_unordered 8-byte results / dense results (rate),%s,%.2f,%.2f,%.2f,>= 0.8,%s\n",
                $c["layout"], $c["ratio"], $c["pair_min"], $c["pair_max"],
                ($c["ratio"] >= 0.8 ? "yes" : "no")'
    # A call of 16 empty items summed to every rank: round robin <= 2x the
    # time of a hand-written omp for + MPI_Allreduce (mean per call of a
    # repetition; pairs rep by rep); managed <= 30 us per call (p50 of the
    # single calls; p10-p90) at two emulated nodes.
    rows "$dir/reduce.csv" '$c["variant"] == "round_robin_16"' \
        'printf "16-item call: round robin / omp for + MPI_Allreduce (time),%s,%.2f,%.2f,%.2f,<= 2,%s\n",
                $c["layout"], $c["time_ratio"], $c["pair_min"], $c["pair_max"],
                ($c["time_ratio"] <= 2 ? "yes" : "no")'
    rows "$dir/reduce.csv" '$c["variant"] == "managed_16"' \
        'l = $c["layout"]; p = $c["call_p50_s"] * 1e6
         printf "16-item call: managed us per call (p50; p10-p90),%s,%.1f,%.1f,%.1f,%s,%s\n", l, p,
                $c["call_p10_s"] * 1e6, $c["call_p90_s"] * 1e6, (l == "2n1" ? "<= 30 at 2n1" : "-"),
                (l != "2n1" ? "-" : p <= 30 ? "yes" : "no")'
    # A sum over N cheap items (range loop form, round robin) against OpenMP
    # reduction(+:) + MPI_Allreduce: throughput >= 0.9x at 1x2.
    rows "$dir/reduce.csv" '$c["variant"] == "reduce_sum_N"' \
        'l = $c["layout"]; r = 1 / $c["time_ratio"]
         printf "reduction over N cheap items / OpenMP reduction (rate),%s,%.2f,%.2f,%.2f,%s,%s\n", l,
                r, 1 / $c["pair_max"], 1 / $c["pair_min"], (l == "1x2" ? ">= 0.9 at 1x2" : "-"),
                (l != "1x2" ? "-" : r >= 0.9 ? "yes" : "no")'
    # The reproducible sum's cost: its time over the plain sum's (measured).
    rows "$dir/reduce.csv" '$c["variant"] == "reduce_repro_N"' \
        'printf "reproducible sum / plain sum (time; range form),%s,%.2f,%.2f,%.2f,measured,-\n",
                $c["layout"], $c["time_ratio"], $c["pair_min"], $c["pair_max"]'
    # The sleep example, 8 workers: launch to exit <= 0.45 s.
    rows "$dir/startup.csv" '$c["program"] == "split_managed"' \
        'printf "sleep example launch-to-exit (s),%s,%.3f,%.3f,%.3f,<= 0.45,%s\n", $c["layout"],
                $c["median_s"], $c["min_s"], $c["max_s"], ($c["median_s"] <= 0.45 ? "yes" : "no")'
} > "$dir/targets.csv"

echo "| target | layout | measured (median) | min–max | goal | met |"
echo "|---|---|---|---|---|---|"
tail -n +2 "$dir/targets.csv" | awk -F, '{
    printf "| %s | %s | %s | %s–%s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }'
