# Shared by the shell tests that run a test program case by case
# (doorbell.sh, fdlimit.sh, hwloc_io.sh): source it with the script's arguments
#
#   . "$(dirname "$0")/cases.sh" "$@"      # EXE MPIEXEC
#
# It sets exe and mpiexec, a temporary directory $tmp (removed at exit) and
# a failure count; fail MESSAGE counts one for the current $case, and
# finish NAME reports and exits (1 when any case failed); expect_bells
# checks a case's DLP_STATS dispatcher lines (doorbell.sh, fdlimit.sh).
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
