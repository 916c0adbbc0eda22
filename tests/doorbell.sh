#!/usr/bin/env bash
# The node doorbells (lib/cluster/netbell.c) on emulated nodes: test_split (which
# checks every call's items and results itself) under DLP_STATS=1, whose
# dispatcher lines say how many nodes have a doorbell and how many rings it
# read.
#
#   bash doorbell.sh EXE MPIEXEC
#
# Cases:
#   tcp      2 nodes x 1 rank, DLP_NODE_DOORBELL=tcp: the node has one, the
#            dispatcher read rings, no warning
#   uneven   2 nodes of 1 and 3 ranks, 2 threads: the same
#   three    3 nodes: both remote nodes have one
#   off      DLP_NODE_DOORBELL=off: none, no rings; served by polling
#   bogus    DLP_NODE_DOORBELL=bogus: a warning naming the value, then auto
#   address  DLP_NODE_DOORBELL_HOST=127.0.0.1: the node has one
#   nohost   DLP_NODE_DOORBELL_HOST=nonexistent.invalid under tcp: rank 0
#            says it cannot resolve that name; no doorbell, no rings, the
#            node served by polling (test_split's checks still pass)
#   intruders  3 nodes, tcp, DLP__TEST_BELL_INTRUDERS=8 (an internal test
#            hook of lib/cluster/netbell.c: rank 0 opens 8 silent connections and one
#            with a wrong greeting to each of its doorbell addresses before
#            the leaders connect): both remote nodes still have a doorbell
#   crowded  4 nodes, tcp, DLP__TEST_BELL_PENDING=1 (an internal test hook
#            of lib/cluster/netbell_connect.c: rank 0 holds one pending
#            greeting at a time): all 3 remote nodes have a doorbell; every
#            leader connects to each of rank 0's addresses, and a full table
#            once pushed real greetings out (at 16-32 emulated nodes: most
#            nodes lost theirs)
#   clocks   2 nodes, DLP__TEST_CLOCK_SKEW=172800 (an internal test hook of
#            lib/call/agent.c: the agent's times for DLP_STATS run two days ahead,
#            as on a host booted two days earlier): the dispatcher's
#            "request sent -> answered" stays in 0 .. 100000 ms (subtracting
#            the two clocks gave -172800000 ms)
#   noname   the host's name does not resolve (unshare --uts, hostname
#            dlp-no-such-host.invalid): the doorbells need no name lookup,
#            the node has one (skipped, saying why, where unshare cannot be
#            used: not root)
. "$(dirname "$0")/cases.sh" "$@"
wrap= # a command that runs the case's command line (noname)

# run CASE HOSTS RANKS THREADS DOORBELL [DOORBELL_HOST]: test_split's status
# and stderr
run() {
    case=$1
    local hosts=$2 ranks=$3 threads=$4 bell=$5 bell_host=${6:-}
    echo "== $case: hosts $hosts, $ranks ranks, $threads threads, DLP_NODE_DOORBELL=$bell" \
         "DLP_NODE_DOORBELL_HOST=$bell_host"
    $wrap env DLP_STATS=1 DLP_NODE_DOORBELL="$bell" DLP_NODE_DOORBELL_HOST="$bell_host" \
        OMP_NUM_THREADS="$threads" \
        "$mpiexec" -launcher fork -hosts "$hosts" -n "$ranks" "$exe" --calls=20 \
        >"$tmp/$case.out" 2>"$tmp/$case.err"
    status=$?
    if [ "$status" -ne 0 ]; then
        fail "exit status $status, expected 0; its stderr:"
        tail -20 "$tmp/$case.err"
    fi
}

# rings CASE: the doorbell rings the dispatcher read, summed over its calls
rings() {
    sed -n 's/.* polls and \([0-9]*\) doorbell rings .*/\1/p' "$tmp/$1.err" |
        awk '{ s += $1 } END { print s + 0 }'
}

no_warning() {
    if grep -q "no node doorbell\|doorbell did not arrive" "$tmp/$1.err"; then
        fail "a doorbell warning:"
        grep "no node doorbell\|doorbell did not arrive" "$tmp/$1.err" | head -3
    fi
}

for spec in "tcp n1:1,n2:1 2 1 1" "uneven n1:1,n2:3 4 2 1" "three n1:1,n2:1,n3:1 3 1 2"; do
    set -- $spec
    run "$1" "$2" "$3" "$4" tcp
    expect_bells "$1" "$5" "$5"
    no_warning "$1"
    r=$(rings "$1")
    if [ "$r" -le 0 ]; then
        fail "doorbell rings read by the dispatcher: $r, expected > 0"
    fi
done

run off n1:1,n2:1 2 1 off
expect_bells off 0 1
r=$(rings off)
if [ "$r" -ne 0 ]; then
    fail "doorbell rings with DLP_NODE_DOORBELL=off: $r, expected 0"
fi

run bogus n1:1,n2:1 2 1 bogus
if ! grep -q 'DLP_NODE_DOORBELL="bogus" is not auto, tcp or off; using auto' "$tmp/bogus.err"; then
    fail "no warning naming DLP_NODE_DOORBELL=\"bogus\""
fi
expect_bells bogus 1 1

run address n1:1,n2:1 2 1 tcp 127.0.0.1
expect_bells address 1 1
no_warning address

run nohost n1:1,n2:1 2 1 tcp nonexistent.invalid
expect_bells nohost 0 1
want="no node doorbell (DLP_NODE_DOORBELL=tcp): cannot resolve DLP_NODE_DOORBELL_HOST=nonexistent.invalid"
if ! grep -qF "$want" "$tmp/nohost.err"; then
    fail "no warning '$want'"
fi
r=$(rings nohost)
if [ "$r" -ne 0 ]; then
    fail "doorbell rings without a doorbell: $r, expected 0"
fi

export DLP__TEST_BELL_INTRUDERS=8
run intruders n1:1,n2:1,n3:1 3 1 tcp
unset DLP__TEST_BELL_INTRUDERS
expect_bells intruders 2 2
no_warning intruders

# every leader connects to each of rank 0's addresses: with room for one
# pending greeting, the connections queue in the kernel instead of pushing
# one another out (before: 1 to 3 of the 3 nodes lost their doorbell)
export DLP__TEST_BELL_PENDING=1
run crowded n1:1,n2:1,n3:1,n4:1 4 1 tcp
unset DLP__TEST_BELL_PENDING
expect_bells crowded 3 3
no_warning crowded

export DLP__TEST_CLOCK_SKEW=172800
run clocks n1:1,n2:1 2 1 tcp
unset DLP__TEST_CLOCK_SKEW
n=$(grep -c "request sent -> answered" "$tmp/clocks.err")
bad=$(sed -n 's/.*request sent -> answered.* median \([-0-9.]*\) ms, p99 \([-0-9.]*\) ms, max \([-0-9.]*\) ms.*/\1 \2 \3/p' \
          "$tmp/clocks.err" | awk '$1 < 0 || $1 >= 100000 || $3 >= 100000' | head -3)
if [ "$n" -eq 0 ] || [ -n "$bad" ]; then
    fail "dispatcher latencies with the agent's clock two days ahead ($n lines), median p99 max in ms: $bad"
fi

# noname: run the case in a UTS namespace of its own whose host name has
# no address (hydra and MPICH do not need one with -launcher fork)
noname=dlp-no-such-host.invalid
if unshare --uts sh -c "hostname $noname && ! getent hosts $noname" >/dev/null 2>&1; then
    run_noname() {
        unshare --uts sh -c 'hostname "$1" && shift && exec "$@"' sh "$noname" "$@"
    }
    wrap=run_noname
    run noname n1:1,n2:1 2 1 tcp
    wrap=
    expect_bells noname 1 1
    no_warning noname
else
    echo "== noname: skipped: cannot make a host name that does not resolve (unshare --uts" \
         "needs root)"
fi

finish doorbell.sh
