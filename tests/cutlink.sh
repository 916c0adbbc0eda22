#!/usr/bin/env bash
# A cut network link (lib/cluster/liveness.h), across the emulated hosts of
# tests/hosts.sh: test_liveness --long=60 (items of a minute) runs on every
# host; once rank 0's first item started, host HOST's link is cut, and the
# job must end with DLP_EXIT_NODE_LOST (73) and rank 0's message naming
# the node of HOST, long before the items would end. The time from the
# cut to the job's end is printed (not checked: the launcher's timeout
# bounds it).
#
#   bash cutlink.sh HOW HOST EXE LAUNCH...
#
# HOW: down   - the host's interface is set down inside its network
#               namespace (the host's kernel knows);
#      detach - outside, the host's veth leaves the bridge: both ends stay
#               up and nothing is told to anyone, the packets just go
#               nowhere (a cable pulled beyond a switch).
# DLP_LIVENESS_TIMEOUT is 3 unless set.
set -u
how=$1 host=$2 exe=$3
shift 3
dir=${DLP_HOSTS_DIR:?cutlink.sh: run under tests/hosts.sh}
export DLP_LIVENESS_TIMEOUT=${DLP_LIVENESS_TIMEOUT:-3}
pid=$(cat "$dir/$host.pid") || exit 1
out=$(mktemp /var/tmp/dlp_cutlink.XXXXXX)
trap 'rm -f "$out"' EXIT

"$@" "$exe" --long=60 > "$out" 2>&1 &
job=$!
for ((w = 0; w < 600; w++)); do
    grep -q "liveness: call started" "$out" && break
    kill -0 "$job" 2> /dev/null || break
    sleep 0.05
done
grep -q "liveness: call started" "$out" || {
    cat "$out"
    echo "cutlink.sh: the call did not start" >&2
    exit 1
}
sleep 1
case $how in
down) nsenter -t "$pid" -n ip link set eth0 down ;;
detach)
    # the veth's other end: eth0@ifN inside, N its index out here
    peer=$(nsenter -t "$pid" -n ip -o link show eth0 | sed -n 's/^[0-9]*: eth0@if\([0-9]*\):.*/\1/p')
    name=$(ip -o link show | sed -n "s/^$peer: \([^:@]*\)[:@].*/\1/p")
    [ -n "$name" ] && ip link set "$name" nomaster
    ;;
*)
    echo "cutlink.sh: HOW is down or detach, not '$how'" >&2
    exit 2
    ;;
esac || {
    echo "cutlink.sh: cannot cut the link of $host ($how)" >&2
    exit 1
}
t0=$EPOCHREALTIME
echo "cutlink.sh: cut the link of $host ($how), DLP_LIVENESS_TIMEOUT=$DLP_LIVENESS_TIMEOUT"
wait "$job"
status=$?
cat "$out"
echo "cutlink.sh: the job ended with status $status, $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after the cut"
fail() {
    echo "cutlink.sh: $*" >&2
    exit 1
}
[ "$status" -eq 73 ] || fail "status $status, expected 73 (DLP_EXIT_NODE_LOST)"
grep -q "rank 0 (host h1): no sign of life from node [0-9]* (host $host, " "$out" ||
    fail "no message of rank 0 naming host $host"
grep -q "DLP_LIVENESS_TIMEOUT=$DLP_LIVENESS_TIMEOUT s" "$out" ||
    fail "the message does not name DLP_LIVENESS_TIMEOUT=$DLP_LIVENESS_TIMEOUT"
exit 0
