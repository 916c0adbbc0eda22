/* The master's supply of item indices for managed splitting. Lives in the
 * master node's shared memory: the master's dispatcher thread serves remote
 * nodes from it, and the threads of the master's node refill their own
 * cursor from it directly (no messages). Chunk sizes follow the call's
 * dlp_schedule through the self-scheduling family (selfsched.h), with the
 * nodes as its workers. */
#ifndef DLP_LIB_DISPENSER_H
#define DLP_LIB_DISPENSER_H

#include <stdatomic.h>

#include "ranges.h"
#include "selfsched.h"

struct dlp__dispenser {
    _Alignas(64) _Atomic int lock;
    long next;          /* first item not handed out */
    long n;
    long left;          /* items to hand out: not handed out, not done before */
    long hint;          /* position in the done ranges (dlp__ranges_contains) */
    int stopped;        /* a failure somewhere: hand out nothing more */
    int nodes;          /* the policy's workers P */
    double chunk_time;  /* AUTO target seconds per chunk (grown under load) */
    struct dlp__ss_state ss; /* the policy and its state */
    /* AWF: the nodes' rate sum, estimated from the requests, which name no
     * node (the dispatcher passes the requester's threads and rate,
     * refill_local its own): dlp__ss_rate_sum with P = nodes, a node's
     * weight its threads */
    struct dlp__ss_rates awf;
};

/** Start a call of n items, `done` of them done in an earlier run (a
 *  journal's), under the dlp_schedule value schedule (resolved: not
 *  DEFAULT) with opts.chunk `chunk` (FIXED: the chunk, GSS: the smallest
 *  chunk) and AUTO's chunk_time; the workers are dlp__rt.nodes. The policy
 *  sizes its chunks for the n - done items that are left to run. */
void dlp__dispenser_reset(struct dlp__dispenser *d, long n, long done, int schedule, long chunk,
                          double chunk_time);

/** Next chunk for a node with node_threads (of total_threads) threads
 *  running at rate items/s (0: not known yet): returns its item count (0
 *  when everything is handed out or stopped) and sets *start, and *left to
 *  the items still to hand out after it. `done`: the items done in an
 *  earlier run (the caller's copy of the journal's ranges, the same on
 *  every rank; NULL: none): a chunk holds none of them, so that every node
 *  gets only items to run (and measures its rate on them); it ends where
 *  done items begin, the rest of the policy's chunk going back to the
 *  policy. Any thread of the master's node. */
long dlp__dispenser_next(struct dlp__dispenser *d, const struct dlp__ranges *done,
                         int node_threads, int total_threads, double rate, long *start,
                         long *left);

/** AUTO's chunk time from now on: the dispatcher grows it when the remote
 *  nodes' requests load it (dlp__schedule_chunk_time). Any thread. */
void dlp__dispenser_set_chunk_time(struct dlp__dispenser *d, double chunk_time);

/** Hand out nothing more (after a failure). */
void dlp__dispenser_stop(struct dlp__dispenser *d);

#endif
