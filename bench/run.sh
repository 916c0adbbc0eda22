#!/bin/sh
# bench/run.sh — run the dlp_mpi benchmarks on the layouts of one 2-core box.
#
#   bench/run.sh [BIN_DIR [RESULTS_DIR]]
#
# BIN_DIR      directory holding the built `efficiency`, `throughput`, `map`,
#              `reduce`, `workloads`, `journal`, `gather` and `dispatcher` (default:
#              build/bench, then the directory of this script)
# RESULTS_DIR  where everything goes (default: bench_results/YYYYmmdd-HHMMSS)
#
# Layouts: 1 rank x 2 threads, 2 ranks x 1 thread, 2 emulated nodes x 1 thread
# (`mpiexec -launcher fork -hosts n1:1,n2:1`: MPICH sees two nodes), and the
# same two nodes with DLP_NODE_DOORBELL=off (2n1off: the dispatcher and the
# agent poll; the baseline of the node doorbells, run by the workloads (its
# WL_OFF_WORKLOADS) and dispatcher benchmarks only).
# Knobs (environment): EFF_N (200), EFF_REPS (5), TP_N (10000000), TP_REPS (5),
# MAP_N (5000000: map_unordered with 8-byte and empty results, and its
# managed baseline), MAP_REPS (5), MAP_N_1K (MAP_N / 10: 1 KiB results),
# MAP_N_EMPTY (5 x MAP_N: managed empty items, progress off / on), RED_N
# (10000000: reductions over cheap items), RED_REPS (9), RED_CALLS (300: calls
# of 16 empty items per repetition, the per-call cost), WL_WORKLOADS (all: "empty uniform linear periodic heavy_tail sleep"), WL_N
# (the program's: 200 items, empty 10^6), WL_REPS (5), BENCH_POLICIES (the
# managed policies of workloads, "auto fixed:1"), JR_N (TP_N: empty items with
# and without a journal), JR_REPS (TP_REPS), GATHER_SIZES (the program's:
# "64K 1M 16M 128M", bytes per rank, suffix K/M/G: dense results and dlp_gather
# against MPI_Gatherv of the same bytes), GATHER_REPS (7),
# DISP_SECONDS (2: seconds of the other node's work per dispatcher call),
# DISP_REPS (5; the dispatcher runs on the layouts with two nodes only),
# STARTUP_EXAMPLE (BIN_DIR/../examples/split_managed: bench/startup.sh's
# program; it runs once, on its own layouts, with STARTUP_RUNS),
# WL_OFF_WORKLOADS ("periodic heavy_tail": the workloads at 2n1off),
# MPIEXEC (mpiexec.mpich), MPIEXEC_TIMEOUT (900 s per run), LAYOUTS (all four:
# "1x2 2x1 2n1 2n1off"), BENCHES (all nine: "efficiency throughput map reduce
# workloads journal gather dispatcher startup").
#
# At the end: plots (bench/plot.gp, when gnuplot is installed) and the table of
# the performance targets (bench/targets.sh) in RESULTS_DIR/targets.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
    for d in build/bench "$here"; do
        if [ -x "$d/efficiency" ] && [ -x "$d/throughput" ]; then bin=$d; break; fi
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin/efficiency" ] || [ ! -x "$bin/throughput" ]; then
    echo "run.sh: no built efficiency/throughput found; pass BIN_DIR (e.g. build/bench)" >&2
    exit 2
fi
bin=$(cd "$bin" && pwd)
out=${2:-bench_results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

MPIEXEC=${MPIEXEC:-mpiexec.mpich}
MPIEXEC_TIMEOUT=${MPIEXEC_TIMEOUT:-900}
export MPIEXEC_TIMEOUT
EFF_N=${EFF_N:-200}
EFF_REPS=${EFF_REPS:-5}
TP_N=${TP_N:-10000000}
TP_REPS=${TP_REPS:-5}
JR_N=${JR_N:-$TP_N}
JR_REPS=${JR_REPS:-$TP_REPS}
MAP_N=${MAP_N:-5000000}
MAP_REPS=${MAP_REPS:-5}
MAP_N_1K=${MAP_N_1K:-$((MAP_N / 10 > 0 ? MAP_N / 10 : 1))}
MAP_N_EMPTY=${MAP_N_EMPTY:-$((5 * MAP_N))}
RED_N=${RED_N:-10000000}
RED_REPS=${RED_REPS:-9}
RED_CALLS=${RED_CALLS:-300}
WL_WORKLOADS=${WL_WORKLOADS:-all}
WL_OFF_WORKLOADS=${WL_OFF_WORKLOADS:-"periodic heavy_tail"}
WL_N=${WL_N:-}
WL_REPS=${WL_REPS:-5}
GATHER_REPS=${GATHER_REPS:-7}
if [ -n "${GATHER_SIZES:-}" ]; then export GATHER_SIZES; fi
LAYOUTS=${LAYOUTS:-"1x2 2x1 2n1 2n1off"}
DISP_SECONDS=${DISP_SECONDS:-2}
DISP_REPS=${DISP_REPS:-5}
STARTUP_EXAMPLE=${STARTUP_EXAMPLE:-$bin/../examples/split_managed}
BENCHES=${BENCHES:-"efficiency throughput map reduce workloads journal gather dispatcher startup"}
for prog in $BENCHES; do
    if [ "$prog" = startup ]; then
        if [ ! -x "$STARTUP_EXAMPLE" ]; then
            echo "run.sh: $STARTUP_EXAMPLE is not built (set STARTUP_EXAMPLE)" >&2
            exit 2
        fi
    elif [ ! -x "$bin/$prog" ]; then
        echo "run.sh: $bin/$prog is not built (BENCHES=\"$BENCHES\")" >&2
        exit 2
    fi
done

# What was measured, where.
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -n) $(uname -srm)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
    echo "commit: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "mpiexec: $MPIEXEC ($($MPIEXEC --version 2>/dev/null | grep -m1 -i version | tr -s ' \t' ' '))"
    echo "bin: $bin"
    echo "load average: $(cat /proc/loadavg 2>/dev/null)"
    echo "EFF_N=$EFF_N EFF_REPS=$EFF_REPS TP_N=$TP_N TP_REPS=$TP_REPS MPIEXEC_TIMEOUT=$MPIEXEC_TIMEOUT"
    echo "JR_N=$JR_N JR_REPS=$JR_REPS"
    echo "GATHER_SIZES=${GATHER_SIZES:-default} GATHER_REPS=$GATHER_REPS"
    echo "MAP_N=$MAP_N MAP_REPS=$MAP_REPS MAP_N_1K=$MAP_N_1K MAP_N_EMPTY=$MAP_N_EMPTY"
    echo "RED_N=$RED_N RED_REPS=$RED_REPS RED_CALLS=$RED_CALLS"
    echo "WL_WORKLOADS=$WL_WORKLOADS WL_OFF_WORKLOADS=$WL_OFF_WORKLOADS WL_N=${WL_N:-default} WL_REPS=$WL_REPS BENCH_POLICIES=${BENCH_POLICIES:-default}"
    echo "DISP_SECONDS=$DISP_SECONDS DISP_REPS=$DISP_REPS STARTUP_EXAMPLE=$STARTUP_EXAMPLE STARTUP_RUNS=${STARTUP_RUNS:-default}"
    echo "BENCHES=$BENCHES LAYOUTS=$LAYOUTS"
    env | grep '^DLP_' || true
} > "$out/config.txt"

# run LAYOUT PROGRAM ARGS...: one benchmark on one layout, output to
# $out/PROGRAM_LAYOUT.txt (and the terminal), CSV to $out/PROGRAM_LAYOUT.csv
# (its path is the last argument; the layout's name is BENCH_LAYOUT).
status=0
run() {
    layout=$1; prog=$2; shift 2
    case $layout in
    1x2) set -- env OMP_NUM_THREADS=2 BENCH_LAYOUT=1x2 "$MPIEXEC" -n 1 "$bin/$prog" "$@" ;;
    2x1) set -- env OMP_NUM_THREADS=1 BENCH_LAYOUT=2x1 "$MPIEXEC" -n 2 "$bin/$prog" "$@" ;;
    2n1) set -- env OMP_NUM_THREADS=1 BENCH_LAYOUT=2n1 "$MPIEXEC" -launcher fork \
             -hosts n1:1,n2:1 -n 2 "$bin/$prog" "$@" ;;
    2n1off) set -- env OMP_NUM_THREADS=1 BENCH_LAYOUT=2n1off DLP_NODE_DOORBELL=off "$MPIEXEC" \
             -launcher fork -hosts n1:1,n2:1 -n 2 "$bin/$prog" "$@" ;;
    *) echo "run.sh: unknown layout $layout" >&2; return 2 ;;
    esac
    echo "## $layout: $*" | tee "$out/${prog}_$layout.txt"
    if ! "$@" "$out/${prog}_$layout.csv" >> "$out/${prog}_$layout.txt" 2>&1; then
        echo "## FAILED (exit status $?)" >> "$out/${prog}_$layout.txt"
        status=1
    fi
    tail -n +2 "$out/${prog}_$layout.txt"
    echo
}

for layout in $LAYOUTS; do
    for prog in $BENCHES; do
        if [ "$layout" = 2n1off ] && [ "$prog" != workloads ] && [ "$prog" != dispatcher ]; then
            continue
        fi
        case $prog in
        efficiency) run "$layout" efficiency "$EFF_N" "$EFF_REPS" ;;
        throughput) run "$layout" throughput "$TP_N" "$TP_REPS" ;;
        map) run "$layout" map "$MAP_N" "$MAP_REPS" "$MAP_N_1K" "$MAP_N_EMPTY" ;;
        reduce) run "$layout" reduce "$RED_N" "$RED_REPS" "$RED_CALLS" ;;
        journal) run "$layout" journal "$JR_N" "$JR_REPS" ;;
        gather) run "$layout" gather "$GATHER_REPS" ;;
        dispatcher)
            case $layout in 2n1*) run "$layout" dispatcher "$DISP_SECONDS" "$DISP_REPS" ;; esac ;;
        startup) ;; # once, below
        workloads)
            wl=$WL_WORKLOADS
            if [ "$layout" = 2n1off ]; then wl=$WL_OFF_WORKLOADS; fi
            # shellcheck disable=SC2086 # one word per workload
            run "$layout" workloads $wl ${WL_N:+--n "$WL_N"} --reps "$WL_REPS" --csv ;;
        *) echo "run.sh: unknown benchmark $prog" >&2; status=1 ;;
        esac
    done
done

case " $BENCHES " in
*" startup "*)
    echo "## startup: $here/startup.sh $STARTUP_EXAMPLE" | tee "$out/startup.txt"
    if ! MPIEXEC=$MPIEXEC "$here/startup.sh" "$STARTUP_EXAMPLE" "$out/startup.csv" \
            >> "$out/startup.txt" 2>&1; then
        echo "## FAILED (exit status $?)" >> "$out/startup.txt"
        status=1
    fi
    tail -n +2 "$out/startup.txt"
    echo ;;
esac

# One CSV per benchmark with every layout, header once; a layout column is
# added unless the program writes one (workloads does).
for prog in $BENCHES; do
    [ "$prog" = startup ] && continue # one file, with its own layout column
    first=1
    for layout in $LAYOUTS; do
        f="$out/${prog}_$layout.csv"
        [ -f "$f" ] || continue
        prefix="$layout,"
        if head -n 1 "$f" | grep -q '^layout,'; then prefix=; fi
        if [ $first = 1 ]; then head -n 1 "$f" | sed "s/^/${prefix:+layout,}/"; first=0; fi
        tail -n +2 "$f" | sed "s/^/$prefix/"
    done > "$out/$prog.csv"
done

if command -v gnuplot > /dev/null 2>&1; then
    gnuplot -e "dir='$out'; layouts='$LAYOUTS'" "$here/plot.gp" || echo "run.sh: gnuplot failed (plots skipped)" >&2
fi
"$here/targets.sh" "$out" > "$out/targets.md" || status=1
cat "$out/targets.md"
echo "results in $out"
exit $status
