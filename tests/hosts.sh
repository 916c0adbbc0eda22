#!/usr/bin/env bash
# Separate hosts on one machine: runs a command while NHOSTS emulated hosts
# exist, each a set of Linux namespaces of its own, and tears them down
# afterwards, also when the command fails or the script is killed (trap).
#
#   bash hosts.sh NHOSTS -- COMMAND ARGS...
#
# Host hK (K = 1 .. NHOSTS) has
#   - a network namespace with one veth on a bridge of this machine and its
#     own address on a private subnet that exists only on that bridge
#     (10.R.S.1 the bridge, 10.R.S.(10+K) host K; no route leaves it);
#   - its own host name (UTS namespace) and /etc/hosts naming every host;
#   - a mount namespace with private /dev/shm and /tmp, its own /proc (PID
#     namespace) and its own boot_id (a file bound over
#     /proc/sys/kernel/random/boot_id), and an IPC namespace: MPICH and UCX
#     then see separate machines and talk TCP between them, not shared memory.
# Every argument {hosts} of COMMAND is replaced by the hydra options that
# start the proxies on these hosts:
#   -launcher ssh -launcher-exec tests/hosts_ssh.sh -iface <bridge>
# so that e.g.  hosts.sh 2 -- mpiexec {hosts} -hosts h1:2,h2:2 -n 4 ./app
# runs 4 ranks on two hosts. DLP_HOSTS_SSH (the launcher script) and
# DLP_HOSTS_DIR (its state) are exported to COMMAND as well.
# DLP_HOSTS_TIMEOUT=S stops COMMAND after S seconds (status 124).
#
# Exit status: COMMAND's; 77 (skipped) with the reason when the namespaces
# cannot be made here (not root, no unshare/nsenter/ip).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
nhosts=${1:?usage: hosts.sh NHOSTS -- COMMAND ARGS...}
shift
[ "${1:-}" = -- ] && shift
(($#)) || { echo "usage: hosts.sh NHOSTS -- COMMAND ARGS..." >&2; exit 2; }

skip() {
    echo "hosts.sh: skipped: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "emulated hosts need root (network, mount and PID namespaces)"
for tool in unshare nsenter ip mount; do
    command -v "$tool" > /dev/null || skip "no $tool (util-linux, iproute2)"
done

tag=$$
bridge=dlpbr$tag
# (not under /tmp, which each host replaces by its own)
state=$(mktemp -d /var/tmp/dlp_hosts.XXXXXX)
export DLP_HOSTS_DIR=$state DLP_HOSTS_SSH=$here/hosts_ssh.sh
holders=()

teardown() {
    trap '' PIPE
    local p
    # PID 1 of each host's PID namespace: its end kills everything left in
    # the host; the network namespace (and its veth) goes with it
    for p in ${holders[@]+"${holders[@]}"}; do
        kill -9 "$p" 2> /dev/null
    done
    for p in ${holders[@]+"${holders[@]}"}; do
        while kill -0 "$p" 2> /dev/null; do sleep 0.05; done
    done
    ip link del "$bridge" 2> /dev/null
    local k
    for ((k = 1; k <= nhosts; k++)); do ip link del "dlp${tag}h$k" 2> /dev/null; done
    rm -rf "$state"
}
trap teardown EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'exit 141' PIPE

# A private /24 that no interface of this machine uses yet.
net=
for ((try = 0; try < 50; try++)); do
    cand="10.$((200 + (tag + try) % 50)).$(((tag / 50 + try) % 250 + 1))"
    if ! ip -o -4 addr show | grep -q " $cand\."; then
        net=$cand
        break
    fi
done
[ -n "$net" ] || skip "no free private subnet for the bridge"

ip link add "$bridge" type bridge || skip "cannot create a bridge (ip link add type bridge)"
ip addr add "$net.1/24" dev "$bridge"
ip link set "$bridge" up

{
    echo "127.0.0.1 localhost"
    echo "$net.1 dlp-gateway"
    for ((k = 1; k <= nhosts; k++)); do echo "$net.$((10 + k)) h$k"; done
} > "$state/hosts"

# Each host gets an empty /tmp of its own; the directories under /tmp that
# the job needs (the working directory, this script's tree, the command's
# files: a build or a clone under /tmp) are bound back in at their paths.
keeps=()
for path in "$PWD" "$here" "$@"; do
    case $path in
    /tmp/?*)
        rest=${path#/tmp/}
        top=/tmp/${rest%%/*}
        [ -d "$top" ] || continue
        case " ${keeps[*]-} " in *" $top "*) ;; *) keeps+=("$top") ;; esac
        ;;
    esac
done
keep_before= keep_after=
for ((i = 0; i < ${#keeps[@]}; i++)); do
    mkdir -p "$state/keep$i"
    keep_before="$keep_before mount --bind '${keeps[i]}' '$state/keep$i' &&"
    keep_after="$keep_after mkdir -p '${keeps[i]}' && mount --bind '$state/keep$i' '${keeps[i]}' &&"
done

for ((k = 1; k <= nhosts; k++)); do
    h=h$k
    cat /proc/sys/kernel/random/uuid > "$state/$h.boot_id"
    # The host's PID 1 sets up its mounts and name, then sleeps until the
    # teardown kills it.
    unshare --net --uts --mount --ipc --pid --fork --mount-proc --propagation private \
        sh -c "hostname $h && mount -t tmpfs tmpfs /dev/shm &&$keep_before
               mount -t tmpfs tmpfs /tmp &&$keep_after
               mount --bind '$state/hosts' /etc/hosts &&
               mount --bind '$state/$h.boot_id' /proc/sys/kernel/random/boot_id &&
               ip link set lo up && echo ok > '$state/$h.ready' && exec sleep infinity
               echo failed > '$state/$h.ready'" 2> "$state/$h.err" &
    upid=$!
    for ((w = 0; w < 200; w++)); do
        [ -s "$state/$h.ready" ] || ! kill -0 "$upid" 2> /dev/null && break
        sleep 0.05
    done
    [ "$(cat "$state/$h.ready" 2> /dev/null)" = ok ] ||
        skip "cannot set up the namespaces of host $h here: $(tr '\n' ' ' < "$state/$h.err")"
    hpid=$(cat "/proc/$upid/task/$upid/children" 2> /dev/null | awk '{ print $1 }')
    [ -n "$hpid" ] || skip "host $h: no process in its namespaces"
    holders+=("$hpid")
    echo "$hpid" > "$state/$h.pid"
    veth=dlp${tag}h$k
    ip link add "$veth" type veth peer name "eth0" netns "/proc/$hpid/ns/net" ||
        skip "cannot create a veth into host $h"
    ip link set "$veth" master "$bridge" up
    nsenter -t "$hpid" -n ip addr add "$net.$((10 + k))/24" dev eth0
    nsenter -t "$hpid" -n ip link set eth0 up
done
# every host reaches every other one (and the bridge, where mpiexec is)
for ((k = 1; k <= nhosts; k++)); do
    nsenter -t "$(cat "$state/h$k.pid")" -n ping -c 1 -W 2 "$net.1" > /dev/null 2>&1 ||
        { command -v ping > /dev/null && skip "host h$k cannot reach the bridge"; }
done
echo "hosts.sh: $nhosts hosts (h1..h$nhosts on $net.0/24, bridge $bridge)"

args=()
for a in "$@"; do
    if [ "$a" = "{hosts}" ]; then
        args+=(-launcher ssh -launcher-exec "$DLP_HOSTS_SSH" -iface "$bridge")
    else
        args+=("$a")
    fi
done
t0=$EPOCHREALTIME
# (DLP_HOSTS_TIMEOUT=S: the command is stopped after S seconds, so that the teardown
# runs before a CTest timeout would kill this script)
bound=()
[ -n "${DLP_HOSTS_TIMEOUT:-}" ] && bound=(timeout -k 5 "$DLP_HOSTS_TIMEOUT")
${bound[@]+"${bound[@]}"} "${args[@]}"
status=$?
echo "hosts.sh: status $status after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
exit "$status"
