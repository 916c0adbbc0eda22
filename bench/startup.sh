#!/usr/bin/env bash
# bench/startup.sh — launch to exit of the README's sleep example.
#
#   bench/startup.sh [EXAMPLE [CSV]]
#
# EXAMPLE  the built examples/split_managed (10 items of 0.2 s sleep; default:
#          build/examples/split_managed, then build-*/examples/split_managed)
# CSV      where the CSV copy of the table goes (default: startup.csv)
#
# Every layout has 8 workers, so the items take two rounds: 0.400 s is the
# least any run can take. A run is timed from just before mpiexec starts to
# just after it exits (bash's $EPOCHREALTIME: no process of its own), and
# must print the example's "sum: 45" and exit 0, else it counts as failed
# and is left out of the figures.
#
# Layouts (STARTUP_LAYOUTS, default all four):
#   2x4   2 ranks x 4 threads            mpiexec -n 2
#   4x2   4 ranks x 2 threads            mpiexec -n 4
#   1x8   1 rank x 8 threads             mpiexec -n 1
#   2n4   2 emulated nodes x 4 threads   mpiexec -launcher fork -hosts n1:1,n2:1 -n 2
# Each layout also runs a baseline (STARTUP_BASELINE=1, the default; needs
# MPICC, default mpicc.mpich): MPI_Init_thread(MPI_THREAD_MULTIPLE), a 0.4 s
# sleep and MPI_Finalize, launched the same way: what MPI and the launcher
# cost on their own; and the same program as bare_noio, with hwloc told to
# skip PCI and I/O devices as dlp_init does it for the MPI_Init it calls
# (HWLOC_COMPONENTS=-pci,-linux:pci,-linux:io; lib/base/mpi_start.c): what MPI
# costs when started as dlp_init starts it. Runs of the example and the
# baselines alternate, so a change of the machine's load affects all alike.
#
# Knobs (environment): STARTUP_RUNS (10 per layout and program),
# STARTUP_LAYOUTS, STARTUP_BASELINE, MPICC, MPIEXEC (mpiexec.mpich),
# MPIEXEC_TIMEOUT (60 s per run).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
example=${1:-}
if [ -z "$example" ]; then
    for f in build/examples/split_managed "$here"/../build/examples/split_managed \
             "$here"/../build-*/examples/split_managed; do
        if [ -x "$f" ]; then example=$f; break; fi
    done
fi
if [ -z "$example" ] || [ ! -x "$example" ]; then
    echo "startup.sh: no built split_managed found; pass it (e.g. build/examples/split_managed)" >&2
    exit 2
fi
example=$(cd "$(dirname "$example")" && pwd)/$(basename "$example")
csv=${2:-startup.csv}

RUNS=${STARTUP_RUNS:-10}
LAYOUTS=${STARTUP_LAYOUTS:-"2x4 4x2 1x8 2n4"}
BASELINE=${STARTUP_BASELINE:-1}
MPICC=${MPICC:-mpicc.mpich}
MPIEXEC=${MPIEXEC:-mpiexec.mpich}
MPIEXEC_TIMEOUT=${MPIEXEC_TIMEOUT:-60}
export MPIEXEC_TIMEOUT
case $RUNS in '' | *[!0-9]* | 0) echo "startup.sh: STARTUP_RUNS must be a positive integer" >&2; exit 2 ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

programs="split_managed"
if [ "$BASELINE" != 0 ]; then
    cat > "$tmp/bare.c" <<'EOF'
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <time.h>
int main(int argc, char **argv)
{
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return 1;
    struct timespec ts = {0, 400000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0)
        printf("sum: 45 (baseline)\n");
    return MPI_Finalize() == MPI_SUCCESS ? 0 : 1;
}
EOF
    if command -v "$MPICC" >/dev/null 2>&1 && "$MPICC" -O2 -o "$tmp/bare" "$tmp/bare.c" 2>"$tmp/cc.err"; then
        programs="split_managed bare bare_noio"
    else
        echo "startup.sh: cannot build the baseline with $MPICC (STARTUP_BASELINE=0 skips it):" >&2
        cat "$tmp/cc.err" >&2 2>/dev/null || true
        exit 2
    fi
fi

# Times are read from bash's $EPOCHREALTIME (bash 5): no process of its own
# between the two readings and mpiexec, so only the run is timed.
if [ -z "${EPOCHREALTIME:-}" ]; then
    echo "startup.sh: needs bash 5 or later (\$EPOCHREALTIME)" >&2
    exit 2
fi
# bare_noio sets HWLOC_COMPONENTS; the others run with the caller's (if any)
user_hwloc=${HWLOC_COMPONENTS-}
user_hwloc_set=${HWLOC_COMPONENTS+1}

# layout -> ranks threads, and the launch command in "${launch[@]}"
layout_of() {
    case $1 in
    2x4) ranks=2 threads=4 launch=("$MPIEXEC" -n 2) ;;
    4x2) ranks=4 threads=2 launch=("$MPIEXEC" -n 4) ;;
    1x8) ranks=1 threads=8 launch=("$MPIEXEC" -n 1) ;;
    2n4) ranks=2 threads=4 launch=("$MPIEXEC" -launcher fork -hosts "n1:1,n2:1" -n 2) ;;
    *) echo "startup.sh: unknown layout $1 (2x4 4x2 1x8 2n4)" >&2; exit 2 ;;
    esac
}
for layout in $LAYOUTS; do layout_of "$layout"; done

# stats FILE: median min max of the numbers in FILE (one a line), seconds
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan nan"; exit }
        med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f %.3f %.3f\n", med, v[1], v[NR] }'
}

# minus MEDIAN FILE: MEDIAN - the median of FILE's runs (nan if either is)
minus() {
    local base
    read -r base _ < <(stats "$tmp/$2")
    awk -v m="$1" -v b="$base" \
        'BEGIN { if (m == "nan" || b == "nan") print "nan"; else printf "%.3f", m - b }'
}

load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
for layout in $LAYOUTS; do
    layout_of "$layout"
    for prog in $programs; do : > "$tmp/$layout.$prog"; : > "$tmp/$layout.$prog.failed"; done
    for _ in $(seq "$RUNS"); do
        for prog in $programs; do
            bin=$example
            [ "$prog" != split_managed ] && bin=$tmp/bare
            if [ "$prog" = bare_noio ]; then
                export HWLOC_COMPONENTS=-pci,-linux:pci,-linux:io
            elif [ -n "$user_hwloc_set" ]; then
                export HWLOC_COMPONENTS=$user_hwloc
            else
                unset HWLOC_COMPONENTS
            fi
            t0=${EPOCHREALTIME/,/.}
            status=0
            OMP_NUM_THREADS=$threads "${launch[@]}" "$bin" > "$tmp/out" 2> "$tmp/err" || status=$?
            t1=${EPOCHREALTIME/,/.}
            if [ "$status" -eq 0 ] && grep -q '^sum: 45' "$tmp/out"; then
                awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >> "$tmp/$layout.$prog"
            else
                echo x >> "$tmp/$layout.$prog.failed"
                { echo "startup.sh: $layout $prog failed:"; tail -n 5 "$tmp/err"; } >&2
            fi
        done
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)

{
    echo "# dlp_mpi startup: launch to exit of examples/split_managed (10 items x 0.2 s sleep,"
    echo "# 8 workers: two rounds, 0.400 s at least), $RUNS runs per layout and program"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown), load average $load0 before, $load1 after"
    echo "# $MPIEXEC ($($MPIEXEC --version 2>/dev/null | grep -m1 -i version | tr -s ' \t' ' ' | sed 's/^ //'))"
    [ "$BASELINE" != 0 ] &&
        echo "# bare: MPI_Init_thread(MULTIPLE), sleep 0.4 s, MPI_Finalize (what MPI and the launcher cost alone);" &&
        echo "# bare_noio: the same with HWLOC_COMPONENTS=-pci,-linux:pci,-linux:io (MPI_Init as dlp_init calls it)"
    echo "# times in s, from before mpiexec starts to after it exits; over_s = median - 0.400;"
    echo "# vs_bare_s, vs_noio_s = median - the layout's bare, bare_noio median"
    printf "# %-6s %-14s %5s %7s %5s %6s %9s %9s %9s %9s %9s %9s\n" layout program ranks threads runs \
        failed median_s min_s max_s over_s vs_bare_s vs_noio_s
} > "$tmp/table"
echo "layout,program,ranks,threads,runs,failed,median_s,min_s,max_s,over_s,vs_bare_s,vs_noio_s" > "$tmp/csv"
for layout in $LAYOUTS; do
    layout_of "$layout"
    for prog in $programs; do
        read -r med lo hi < <(stats "$tmp/$layout.$prog")
        ok=$(wc -l < "$tmp/$layout.$prog" | tr -d ' ')
        failed=$(wc -l < "$tmp/$layout.$prog.failed" | tr -d ' ')
        over=$(awk -v m="$med" 'BEGIN { if (m == "nan") print "nan"; else printf "%.3f", m - 0.4 }')
        vs=- vsnoio=-
        if [ "$prog" = split_managed ] && [ "$BASELINE" != 0 ]; then
            vs=$(minus "$med" "$layout.bare")
            vsnoio=$(minus "$med" "$layout.bare_noio")
        fi
        printf "  %-6s %-14s %5d %7d %5d %6d %9s %9s %9s %9s %9s %9s\n" "$layout" "$prog" \
            "$ranks" "$threads" "$ok" "$failed" "$med" "$lo" "$hi" "$over" "$vs" "$vsnoio" \
            >> "$tmp/table"
        echo "$layout,$prog,$ranks,$threads,$ok,$failed,$med,$lo,$hi,$over,$vs,$vsnoio" >> "$tmp/csv"
    done
done
cat "$tmp/table"
cp "$tmp/csv" "$csv"
status=0
for f in "$tmp"/*.failed; do [ -s "$f" ] && status=1; done
exit $status
