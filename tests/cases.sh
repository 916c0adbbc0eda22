# Shared by the shell tests that run a test program case by case
# (doorbell.sh, fdlimit.sh, hwloc_io.sh, netbell.sh): source it with the script's arguments
#
#   . "$(dirname "$0")/cases.sh" "$@"      # EXE MPIEXEC
#
# It sets exe and mpiexec, a temporary directory $tmp (removed at exit) and
# a failure count; fail MESSAGE counts one for the current $case, and
# finish NAME reports and exits (1 when any case failed); launch runs a
# case's job and said counts a message (fdlimit.sh, netbell.sh);
# expect_bells checks a case's DLP_STATS dispatcher lines (doorbell.sh,
# fdlimit.sh, netbell.sh).
set -u
exe=$1
mpiexec=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
case=

fail() {
    echo "FAIL [$case]: $*"
    failures=$((failures + 1))
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$1: $failures failures"
        exit 1
    fi
    echo "$1: every case passed"
    exit 0
}

# launch CASE DONE HOSTS RANKS [VAR=VALUE ...] -- ARGS...: $exe ARGS on
# RANKS ranks with the fork launcher on HOSTS, under DLP_STATS=1,
# OMP_NUM_THREADS=1 and the VAR=VALUEs; its stdout and stderr in
# $tmp/CASE.out and $tmp/CASE.err. A non-zero status, or no line DONE on
# its stdout, fails CASE.
launch() {
    case=$1
    local done=$2 hosts=$3 ranks=$4 vars=() status
    shift 4
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    shift
    env DLP_STATS=1 OMP_NUM_THREADS=1 "${vars[@]}" \
        "$mpiexec" -launcher fork -hosts "$hosts" -n "$ranks" "$exe" "$@" \
        >"$tmp/$case.out" 2>"$tmp/$case.err"
    status=$?
    if [ "$status" -ne 0 ]; then
        fail "exit status $status, expected 0; its stderr:"
        tail -20 "$tmp/$case.err"
    fi
    if ! grep -q "$done" "$tmp/$case.out"; then
        fail "$(basename "$exe") did not finish its calls (no line '$done')"
    fi
}

# said CASE TEXT COUNT: TEXT (a fixed string) on the case's stderr COUNT
# times
said() {
    local got
    got=$(grep -cF "$2" "$tmp/$1.err")
    if [ "$got" -ne "$3" ]; then
        fail "'$2' said $got times, expected $3; rank 0's messages:"
        grep "dlp_mpi: rank 0" "$tmp/$1.err" | head -3
    fi
}

# expect_bells CASE HAVE NODES: every dispatcher line says "HAVE of NODES"
expect_bells() {
    local have=$2 nodes=$3 lines good
    lines=$(grep -c "dispatcher served" "$tmp/$1.err")
    good=$(grep -c "($have of $nodes nodes have a doorbell)" "$tmp/$1.err")
    if [ "$lines" -eq 0 ] || [ "$good" -ne "$lines" ]; then
        fail "dispatcher lines saying '$have of $nodes nodes have a doorbell': $good of $lines"
        grep "dispatcher served" "$tmp/$1.err" | grep -v "($have of $nodes " | head -3
    fi
}
