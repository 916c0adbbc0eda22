# Shared by the shell tests that run a test program case by case
# (doorbell.sh, hwloc_io.sh): source it with the script's arguments
#
#   . "$(dirname "$0")/cases.sh" "$@"      # EXE MPIEXEC
#
# It sets exe and mpiexec, a temporary directory $tmp (removed at exit) and
# a failure count; fail MESSAGE counts one for the current $case, and
# finish NAME reports and exits (1 when any case failed).
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
