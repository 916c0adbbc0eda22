#!/usr/bin/env bash
# A managed call resumed from its journal hands out only the items not done
# (lib/node/dispenser.h), on every node: examples/resume (items of MS ms, each
# writing <i>.txt with its rank) under mpiexec [LAUNCHER ARGS], stopped by
# SIGTERM once all but about LEFT of N items are done (items of 2 ms, so
# that this takes two seconds), then resumed with items of MS ms. Every
# rank must run at least half of its share of the resumed items (before the
# fix the master's node ran most of them: skipped items made its rate look
# huge, and its chunks with it), every item exactly once. The resumed
# call's time and that of an uninterrupted call of as many items are
# printed, not checked.
#
#   bash resume.sh EXE MPIEXEC [LAUNCHER ARGS] -n RANKS
. "$(dirname "$0")/cases.sh" "$@"
shift 2
# outputs and journal where every host sees them (not /tmp)
rm -rf "$tmp"
tmp=$(mktemp -d "$PWD/resume.XXXXXX")
launch=("$mpiexec" "$@")
n=${RESUME_N:-2000} left=${RESUME_LEFT:-300} ms=${RESUME_MS:-10}
ranks=${!#}
export DLP_JOURNAL=$tmp/run/journal.dlpj
mkdir -p "$tmp/run" "$tmp/fresh"

case=interrupt
"${launch[@]}" "$exe" "$tmp/run" "$n" 2 > "$tmp/log1" 2>&1 &
job=$!
for ((k = 0; k < 1000; k++)); do
    (($(find "$tmp/run" -name '*.txt' | wc -l) >= n - left)) && break
    sleep 0.01
done
kill -TERM "$job"
wait "$job"
# (hydra's status after a signal is its own, not the ranks' 76)
grep -q "DLP_ERR_INTERRUPTED" "$tmp/log1" || { cat "$tmp/log1"; fail "run 1 was not interrupted"; }
ls "$tmp/run" | grep '\.txt$' | sort > "$tmp/done1"
done1=$(wc -l < "$tmp/done1")
echo "run 1: $done1 of $n items done before SIGTERM"

case=resume
"${launch[@]}" "$exe" "$tmp/run" "$n" "$ms" > "$tmp/log2" 2>&1
status=$?
cat "$tmp/log2"
[ "$status" -eq 0 ] || fail "the resumed run: status $status"
resumed=$((n - done1))
grep -q "resumes: $done1 of $n items are done, $resumed to run" "$tmp/log2" ||
    fail "no \"resumes: $done1 of $n items are done, $resumed to run\""
ls "$tmp/run" | grep '\.txt$' | sort | comm -13 "$tmp/done1" - > "$tmp/new"
for ((r = 0; r < ranks; r++)); do
    got=$(cd "$tmp/run" && xargs cat < "$tmp/new" | grep -c ", rank $r\$")
    echo "rank $r ran $got of the $resumed resumed items"
    ((got * 2 * ranks >= resumed)) ||
        fail "rank $r ran $got of $resumed resumed items (less than half of its share)"
done
# every item has a file of at least one line: n files of n lines in all
total=$(ls "$tmp/run" | grep -c '\.txt$')
lines=$(cd "$tmp/run" && ls | grep '\.txt$' | xargs cat | wc -l)
[ "$total" -eq "$n" ] || fail "$total of $n items have an output"
[ "$lines" -eq "$total" ] || fail "$((lines - total)) runs of items more than once"

case=uninterrupted
export DLP_JOURNAL=$tmp/fresh/journal.dlpj
"${launch[@]}" "$exe" "$tmp/fresh" "$resumed" "$ms" > "$tmp/log3" 2>&1 || fail "the fresh run failed"
echo "resumed call of $resumed items: $(sed -n 's/^resume: .* in \([0-9.]* s\) on .*/\1/p' "$tmp/log2");" \
    "uninterrupted call of $resumed items: $(sed -n 's/^resume: .* in \([0-9.]* s\) on .*/\1/p' "$tmp/log3")"
finish resume.sh
