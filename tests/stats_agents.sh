#!/usr/bin/env bash
# DLP_STATS and DLP_TRACE at more nodes (lib/parts/trace.c, lib/call/agent.c):
# test_scale (one rank per node, managed calls that check every item and
# result themselves) under DLP_STATS=1 on emulated nodes.
#
#   bash stats_agents.sh EXE MPIEXEC
#
# Cases:
#   lines.2   2 nodes: the node agent prints its own line per managed call
#             (node 1's agent), no aggregated line
#   one.4     4 nodes, DLP__TEST_AGENT_LINES=2 (the threshold lowered from
#             DLP__TRACE_AGENT_LINES): no agent prints its own line; the
#             master prints one per call with a dispatcher line, over the
#             3 remote nodes' agents: min (node), median, max (node) of each
#             figure
#   cap.2     2 nodes, DLP_TRACE and DLP_TRACE_MAX_SPANS=2: each call's trace keeps at most 2 spans, the master
#             says how many it dropped on stderr and in the trace; the stats
#             still count every item (the threads' sums, not the spans),
#             in the calls that run them all
. "$(dirname "$0")/cases.sh" "$@"

done_line="every check passed"

hosts4=n1:1,n2:1,n3:1,n4:1

launch lines.2 "$done_line" n1:1,n2:1 2 -- --calls=1 --nodes=2
served=$(grep -c "dispatcher served" "$tmp/$case.err")
[ "$served" -gt 0 ] || fail "no dispatcher line"
said "$case" "node 1's agent (rank 1" "$served"
said "$case" "node agents of call" 0

launch one.4 "$done_line" "$hosts4" 4 DLP__TEST_AGENT_LINES=2 -- --calls=1 --nodes=4
served=$(grep -c "dispatcher served" "$tmp/$case.err")
[ "$served" -gt 0 ] || fail "no dispatcher line"
said "$case" "'s agent (rank" 0
said "$case" "the 3 node agents of call #" "$served"
bad=$(grep "node agents of call" "$tmp/$case.err" |
      grep -cv "chunk requests [0-9]* (node [1-3]), [0-9.]*, [0-9]* (node [1-3]); reply latency median ms [0-9.]* (node [1-3]), [0-9.]*, [0-9.]* (node [1-3]); p99 ms .*; max ms ")
[ "$bad" -eq 0 ] || { fail "$bad aggregated lines not in the expected form:"
    grep "node agents of call" "$tmp/$case.err" | head -2; }

trace=$tmp/trace.json
launch cap.2 "$done_line" n1:1,n2:1 2 DLP_TRACE="$trace" DLP_TRACE_MAX_SPANS=2 -- \
    --calls=1 --nodes=2
calls=$(grep -c "dlp_mpi: stats of" "$tmp/$case.err")
[ "$calls" -gt 0 ] || fail "no stats"
said "$case" "spans: more than DLP_TRACE_MAX_SPANS" "$calls"
events=$(grep -c '"ph":"X"' "$trace")
[ "$events" -le $((2 * calls)) ] ||
    fail "$events spans in the trace of $calls calls, expected at most $((2 * calls))"
[ "$events" -gt 0 ] || fail "no span in the trace"
marks=$(grep -c 'spans dropped (DLP_TRACE_MAX_SPANS)' "$trace")
[ "$marks" -eq "$calls" ] || fail "$marks drop marks in the trace, expected $calls"
# the tables of the calls that run every item (not the last, on_error =
# abort): the threads' items add up to n
awk 'function check() { if (n != "" && sum != n) { print "items " sum ", n = " n; bad = 1 } }
     /dlp_mpi: stats of/ { check(); n = ""
       if ($0 ~ /call #[123],/) { match($0, /n = [0-9]+/); n = substr($0, RSTART + 4, RLENGTH - 4) }
       sum = 0; next }
     NF == 6 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { sum += $3 }
     END { check(); exit bad }' "$tmp/$case.err" || fail "the stats' items do not add up to n"

finish stats_agents
