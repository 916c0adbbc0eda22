#!/usr/bin/env bash
# An ssh for the emulated hosts of tests/hosts.sh: hydra calls it as it
# calls ssh (mpiexec -launcher ssh -launcher-exec hosts_ssh.sh):
#
#   hosts_ssh.sh [-x] [-q] [-o OPT] HOST COMMAND...
#
# and it runs COMMAND (the words joined by spaces, read by sh, as ssh does)
# inside the namespaces of HOST (network, UTS, mount, IPC, PID), in the
# working directory of the caller. DLP_HOSTS_DIR names the state directory of
# hosts.sh (HOST.pid: a process inside the host's namespaces).
set -u
while (($#)); do
    case $1 in
    -o | -l | -p | -i) shift 2 ;;
    -*) shift ;;
    *) break ;;
    esac
done
host=${1:?hosts_ssh.sh: no host}
shift
dir=${DLP_HOSTS_DIR:?hosts_ssh.sh: DLP_HOSTS_DIR is not set (run under tests/hosts.sh)}
if ! pid=$(cat "$dir/$host.pid" 2> /dev/null); then
    echo "hosts_ssh.sh: no emulated host '$host' (hosts of $dir: $(cd "$dir" && ls -- *.pid 2> /dev/null | sed 's/[.]pid$//' | tr '\n' ' '))" >&2
    exit 255
fi
exec nsenter -t "$pid" -n -u -m -i -p -- sh -c "cd '$PWD' 2>/dev/null || cd /; $*"
