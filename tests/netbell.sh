#!/usr/bin/env bash
# The master's wait on the node doorbells (lib/cluster/netbell.c, an epoll set of
# lib/base/waitset.c) on emulated nodes of one rank: test_netbell (which checks
# every call's items itself) under DLP_STATS=1 and DLP_LIVENESS_TIMEOUT=1,
# whose dispatcher lines say how many nodes have a doorbell, how many rings
# and polls it took.
#
#   bash netbell.sh EXE MPIEXEC [NODES]
#
# Cases:
#   many     NODES (default 16) nodes: node 1 rings all the time while the
#            others stay quiet, then only node 1 works while the others,
#            out of the call, send heartbeats. Every call ends with each
#            item once; the dispatcher read rings; in the calls where the
#            others left, it did not spin on their connections: polls
#            under POLLS_MAX per call, and rank 0's DLP_STATS line at
#            dlp_finalize counts at most one wait on the epoll set per poll
#            plus one per connection of a node out of the call read (a wait
#            that left their heartbeats unread in the level-triggered set
#            would return at once, again and again, within one poll)
#   addfail  3 nodes, DLP__TEST_BELL_EPOLL_FAIL=2 (an internal test hook of
#            lib/cluster/netbell.c: node 2's epoll_ctl ADD fails): rank 0 says so
#            once, naming the node and the error; node 2 is polled, node 1
#            keeps its doorbell; items right
#   waitfail 3 nodes, DLP__TEST_BELL_EPOLL_FAIL=wait (the first wait on the
#            set fails): said once, every node polled from then on, no
#            rings after it; items right
. "$(dirname "$0")/cases.sh" "$1" "$2"
nodes=${3:-16}
POLLS_MAX=2000

# run CASE NODES ARGS...: test_netbell on NODES emulated nodes of one rank
run() {
    local n=$2 hosts= k
    for k in $(seq 1 "$n"); do hosts=$hosts${hosts:+,}n$k:1; done
    echo "== $1: $n nodes of one rank, ${*:3}"
    launch "$1" "each item exactly once" "$hosts" "$n" DLP_LIVENESS_TIMEOUT=1 \
        DLP_NODE_DOORBELL=tcp -- "${@:3}"
}

# field CASE N SED: the N-th dispatcher line's number that SED picks
field() {
    grep "dispatcher served" "$tmp/$1.err" | sed -n "$2{s/$3/\\1/p}"
}

run many "$nodes" --calls=2 --long=2
# the dispatcher lines alternate: hot, left, hot, left
for line in 1 3; do
    r=$(field many "$line" '.* polls and \([0-9]*\) doorbell rings .*')
    if [ -z "$r" ] || [ "$r" -le 0 ]; then
        fail "hot call (dispatcher line $line): rings read ${r:-none}, expected > 0"
    fi
done
for line in 2 4; do
    p=$(field many "$line" '.* with \([0-9]*\) polls and .*')
    if [ -z "$p" ] || [ "$p" -ge "$POLLS_MAX" ]; then
        fail "left call (dispatcher line $line): polls ${p:-none}, expected under $POLLS_MAX"
        grep "dispatcher served" "$tmp/many.err" | sed -n "${line}p"
    fi
done
polls=$(sed -n 's/.*dispatcher served .* with \([0-9]*\) polls and .*/\1/p' "$tmp/many.err" |
        awk '{ s += $1 } END { print s + 0 }')
set -- $(sed -n 's/.*node doorbells: \([0-9]*\) waits on the epoll set, [0-9]* connections read, \([0-9]*\) of them of nodes out.*/\1 \2/p' \
             "$tmp/many.err")
if [ $# -ne 2 ] || [ "$1" -gt $((polls + $2)) ]; then
    fail "waits on the epoll set: ${1:-none}, expected at most the polls, $polls, plus the" \
         "connections of nodes out of the call read, ${2:-none}"
fi
have=$(field many 1 '.*(\([0-9]*\) of [0-9]* nodes have a doorbell).*')
echo "   $have of $((nodes - 1)) remote nodes have a doorbell"
if [ -z "$have" ] || [ "$have" -le 0 ]; then
    fail "no node has a doorbell"
fi

export DLP__TEST_BELL_EPOLL_FAIL=2
run addfail 3 --calls=1 --long=0.2
unset DLP__TEST_BELL_EPOLL_FAIL
said addfail "cannot add node 2's doorbell to the epoll set (epoll_ctl: " 1
expect_bells addfail 1 2

export DLP__TEST_BELL_EPOLL_FAIL=wait
run waitfail 3 --calls=1 --long=0.2
unset DLP__TEST_BELL_EPOLL_FAIL
said waitfail "the epoll set the node doorbells are waited on failed (epoll wait: " 1
# the first call's line counts the nodes it started with; the next has none
expect_lines=$(grep -c "dispatcher served" "$tmp/waitfail.err")
last=$(field waitfail "$expect_lines" '.*(\([0-9]*\) of [0-9]* nodes have a doorbell).*')
if [ "$last" != 0 ]; then
    fail "after the set failed: ${last:-no} nodes with a doorbell in the last call, expected 0"
fi

finish netbell.sh
