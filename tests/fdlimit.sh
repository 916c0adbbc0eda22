#!/usr/bin/env bash
# The node doorbells against the open-file limit (lib/base/fdlimit.c,
# lib/cluster/netbell.c): test_fdlimit (which lowers rank 0's RLIMIT_NOFILE before
# dlp_init and checks every call's items and results itself) under
# DLP_STATS=1, at 2, 3 and 4 emulated nodes of one rank.
#
#   bash fdlimit.sh EXE MPIEXEC
#
# Cases, at each node count N:
#   raise    soft limit = open + 8, hard kept: the library raises the soft
#            limit (said under DLP_STATS), every remote node has a
#            doorbell, no warning
#   low      soft = hard = open + 8: one warning on rank 0 naming the limit
#            and "ulimit -n", no node has a doorbell (MPI polling), results
#            right
#   one      soft = hard = open + 147 (lib/cluster/netbell.c's BELL_OVERHEAD, 82,
#            plus lib/base/fdlimit.h's DLP__FDLIMIT_RESERVE, 64, plus one): one
#            remote node has a doorbell, the others are polled, one warning
#            (at N = 2 that one node is every node: no warning)
. "$(dirname "$0")/cases.sh" "$@"

# run CASE HOSTS RANKS ARGS...: test_fdlimit's status and stderr
run() {
    echo "== $1: hosts $2, $3 ranks, ${*:4}"
    launch "$1" "each exactly once" "$2" "$3" -- "${@:4}"
}

# warnings CASE COUNT: the open-file limit warning appears COUNT times
warnings() {
    said "$1" "open-file limit (RLIMIT_NOFILE: soft" "$2"
    if [ "$2" -gt 0 ] && ! grep "open-file limit (RLIMIT_NOFILE" "$tmp/$1.err" |
            grep -q "ulimit -n"; then
        fail "the warning does not name the fix (ulimit -n)"
    fi
}

for nodes in 2 3 4; do
    hosts=n1:1
    for k in $(seq 2 "$nodes"); do hosts="$hosts,n$k:1"; done
    remote=$((nodes - 1))

    run "raise.$nodes" "$hosts" "$nodes" --free=8 --hard=keep
    expect_bells "$case" "$remote" "$remote"
    warnings "$case" 0
    if ! grep -q "raised the soft open-file limit (RLIMIT_NOFILE) from" "$tmp/$case.err"; then
        fail "no line saying that the soft limit was raised"
    fi

    run "low.$nodes" "$hosts" "$nodes" --free=8 --hard=same
    expect_bells "$case" 0 "$remote"
    warnings "$case" 1
    if ! grep -q "leaves room for node doorbells to 0 of the $remote remote nodes" \
            "$tmp/$case.err"; then
        fail "the warning does not say 0 of $remote nodes"
    fi

    run "one.$nodes" "$hosts" "$nodes" --free=147 --hard=same
    expect_bells "$case" 1 "$remote"
    warnings "$case" $((remote > 1 ? 1 : 0))
done
finish fdlimit.sh
