#!/bin/sh
# bench/timeline.sh — draw a DLP_TRACE file as a timeline (PNG, gnuplot-nox).
#
#   DLP_TRACE=trace.json mpiexec ... ./app
#   bench/timeline.sh trace.json [timeline.png]
#
# One row per rank and thread (pid = rank, tid = thread), one box per chunk
# (or per item with DLP_TRACE_ITEMS=1), in ms since the traced calls began;
# boxes alternate in colour so that neighbouring chunks stay apart. The
# library writes one event per line, which is what the awk below reads.
set -eu
trace=${1:?usage: bench/timeline.sh trace.json [timeline.png]}
png=${2:-${trace%.json}.png}
command -v gnuplot >/dev/null 2>&1 || { echo "timeline.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 2; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# rank thread start_ms duration_ms first items
awk '/"ph":"X"/ {
    n = split($0, f, /[,{}:]+/)
    for (k = 1; k < n; k++) {
        key = f[k]; gsub(/"/, "", key)
        if (key == "ts") ts = f[k + 1]
        else if (key == "dur") dur = f[k + 1]
        else if (key == "pid") pid = f[k + 1]
        else if (key == "tid") tid = f[k + 1]
        else if (key == "first") first = f[k + 1]
        else if (key == "items") items = f[k + 1]
    }
    print pid, tid, ts / 1000, dur / 1000, first, items
}' "$trace" | sort -k1,1n -k2,2n -k3,3n |
    awk '{ key = $1 "." $2; if (key != last) { row++; last = key }; print row - 1, key, $0 }' > "$data"
# now: row label rank thread start_ms duration_ms first items
[ -s "$data" ] || { echo "timeline.sh: no events in $trace" >&2; exit 1; }
rows=$(tail -n 1 "$data" | awk '{print $1 + 1}')
tics=$(awk '{ if (!seen || $1 != last) { seen = 1; printf "%s\"%s\" %d", sep, $2, $1; sep = ", "; last = $1 } }' "$data")
gnuplot <<GP
set terminal pngcairo size 1200,$((120 + 28 * rows)) noenhanced
set output "$png"
set title "$trace: chunks per rank and thread"
set xlabel "ms since the first traced call began"
set ylabel "rank.thread"
set yrange [-0.6:$rows - 0.4]
set style fill solid 0.8 border -1
set key off
set palette defined (0 "#4477aa", 1 "#ee6677")
unset colorbox
set ytics ($tics)
plot "$data" using (\$5 + \$6 / 2):1:(\$6 / 2):(0.4):(int(\$0) % 2) with boxxyerror palette
GP
echo "timeline.sh: $png ($rows rows)"
