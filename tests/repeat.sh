#!/usr/bin/env bash
# repeat.sh N COMMAND...: runs COMMAND N times in a row (its output to
# /dev/null); fails at the first run that does not end with status 0.
set -u
n=$1
shift
for ((k = 1; k <= n; k++)); do
    "$@" > /dev/null 2>&1
    status=$?
    ((status == 0)) || { echo "repeat.sh: run $k of $n ended with status $status: $*"; exit 1; }
done
echo "repeat.sh: $n runs ended with status 0: $*"
