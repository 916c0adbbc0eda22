#!/usr/bin/env bash
# dlp_init's MPI_Init without hwloc's PCI and I/O discovery (lib/base/mpi_start.c):
# test_runtime (which also checks that HWLOC_COMPONENTS is as before after
# dlp_init) under HWLOC_COMPONENTS_VERBOSE=1, whose "Blacklisting component"
# lines say what hwloc left out while MPI_Init discovered the node.
#
#   bash hwloc_io.sh EXE MPIEXEC
#
# Cases (2 ranks):
#   skip     the default: hwloc leaves out the pci component and linux's
#            pci and io phases
#   keep     DLP_HWLOC_IO=keep: nothing left out
#   bogus    DLP_HWLOC_IO=bogus: a warning naming the value, then skip
#   user     HWLOC_COMPONENTS=-x86 (the user's choice): only x86 left out
#   xml      HWLOC_XMLFILE set (to a file that does not exist: hwloc falls
#            back to discovering): nothing left out
# Exit 77 (skipped) when MPI_Init does not use a verbose-capable hwloc at
# all (no "hwloc:" line under keep, which ran fine).
. "$(dirname "$0")/cases.sh" "$@"

# run CASE VAR=VALUE...: test_runtime on 2 ranks; its stderr in $tmp/CASE.err
run() {
    case=$1
    shift
    echo "== $case: $*"
    env HWLOC_COMPONENTS_VERBOSE=1 "$@" OMP_NUM_THREADS=1 \
        "$mpiexec" -n 2 "$exe" >"$tmp/$case.out" 2>"$tmp/$case.err"
    status=$?
    if [ "$status" -ne 0 ]; then
        fail "exit status $status, expected 0; its stderr:"
        grep -v '^hwloc: ' "$tmp/$case.err" | tail -20
    fi
}

# left_out CASE: hwloc's blacklisting lines, e.g. "pci ffffffff" (the
# component and its phases), sorted and unique (the processes print alike)
left_out() {
    sed -n 's/^hwloc: Blacklisting component `\([a-z0-9_]*\)` phases 0x\([0-9a-f]*\).*/\1 \2/p' \
        "$tmp/$1.err" | sort -u | tr '\n' ';'
}

expect_left_out() {
    local got
    got=$(left_out "$case")
    if [ "$got" != "$1" ]; then
        fail "hwloc left out '$got', expected '$1'"
    fi
}

run keep DLP_HWLOC_IO=keep
if [ "$failures" -eq 0 ] && ! grep -q '^hwloc: ' "$tmp/keep.err"; then
    echo "hwloc_io.sh: MPI_Init prints no hwloc lines under HWLOC_COMPONENTS_VERBOSE=1" \
         "(an MPI without hwloc?): skipped"
    exit 77
fi
expect_left_out ""

# linux's pci and io phases are 0x8 and 0x10 (hwloc's HWLOC_DISC_PHASE_*),
# a line each; the pci component with all of its phases
skipped="linux 10;linux 8;pci ffffffff;"
run skip A=1
expect_left_out "$skipped"

run bogus DLP_HWLOC_IO=bogus
if ! grep -q 'DLP_HWLOC_IO="bogus" is not skip or keep; using skip' "$tmp/bogus.err"; then
    fail "no warning naming DLP_HWLOC_IO=\"bogus\""
fi
expect_left_out "$skipped"

run user HWLOC_COMPONENTS=-x86
expect_left_out "x86 ffffffff;"

run xml HWLOC_XMLFILE="$tmp/none.xml"
if grep -q 'Blacklisting component `pci`' "$tmp/xml.err"; then
    fail "hwloc left out pci although HWLOC_XMLFILE was set"
fi

finish hwloc_io.sh
