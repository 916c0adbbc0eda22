/* Chunk-size policies of managed splitting: pure functions, no MPI. */
#ifndef DLP_LIB_SCHEDULE_H
#define DLP_LIB_SCHEDULE_H

#include "selfsched.h"

/** Seconds of prefetch a node keeps in reserve before asking for more. */
#define DLP__PREFETCH_TIME 0.002
/* The end of a call (dlp__schedule_low_water): the master holds at most
 * this many items per thread of the job (chosen with bench/workloads,
 * heavy-tail items at 2 emulated nodes). */
#define DLP__END_ITEMS_PER_THREAD 5L

struct dlp__sched_request {
    long remaining;    /* items not handed out yet (> 0) */
    long n;            /* items of the call */
    int node_threads;  /* threads that will share the chunk */
    int total_threads; /* threads of all ranks */
    double rate;       /* the node's measured items per second, 0 = unknown */
};

/** Items of the next chunk, in [1, remaining]. The dispenser sizes chunks
 *  with selfsched.h, whose auto is this AUTO (tests/test_selfsched.c
 *  compares them); this stays as that reference.
 *  AUTO: rate-adaptive factoring — half of the node's share of what remains
 *  (FAC2), but never more than chunk_time seconds of work at the node's
 *  measured rate (one item per thread while the rate is unknown), so
 *  expensive leading items cannot be handed out in one big block.
 *  FIXED: `fixed` items. Both are raised to dlp__schedule_min_chunk(n). */
long dlp__schedule_chunk(int schedule, long fixed, double chunk_time,
                         const struct dlp__sched_request *q);

/** The dispatcher's target utilisation: AUTO's chunk time grows so that
 *  the remote nodes' requests keep the dispatcher at most this busy. */
#define DLP__LOAD_TARGET 0.5
/** Seconds of work per chunk the load may grow AUTO's chunk time to: a node
 *  that slows down holds up to this much work. */
#define DLP__CHUNK_TIME_GROWN_MAX 1.0

/** AUTO's chunk time under the dispatcher's load: at most one request per
 *  chunk time per remote node reaches the dispatcher, which spends
 *  `service` seconds on each (its CPU per request served, measured; <= 0:
 *  not known), so it is busy at most remote_nodes * service / chunk time.
 *  Returns max(chunk_time, min(GROWN_MAX, remote_nodes * service /
 *  LOAD_TARGET)): chunk_time (DLP_CHUNK_TIME's, or the default) while that
 *  keeps the dispatcher at most LOAD_TARGET busy, else the chunk time that
 *  does. Only the cap grows: FAC2's half share of what is left still bounds
 *  every chunk, so the end of a call keeps its small chunks. `fixed`
 *  (DLP_CHUNK_TIME set by the user), no remote node or an unknown service
 *  time: chunk_time. */
double dlp__schedule_chunk_time(double chunk_time, int fixed, int remote_nodes, double service);

/** The self-scheduling policy (selfsched.h) of a dlp_schedule value and
 *  the resolved opts.chunk: FIXED's chunk, GSS's smallest chunk (k = 0 for
 *  the others). DEFAULT and values out of range give auto. */
struct dlp__ss_spec dlp__schedule_spec(int schedule, long chunk);

/** The dlp_schedule value of a selfsched kind (enum dlp__ss_kind). */
int dlp__schedule_of_kind(int kind);

/** Unclaimed items at which a node asks for its next chunk: enough for
 *  DLP__PREFETCH_TIME at the measured rate. A node whose answers come
 *  slowly (polled, no doorbell: prompt = 0) keeps at least one per thread
 *  besides. At the end of a call (the master holds at most
 *  DLP__END_ITEMS_PER_THREAD items per thread of the job) a prompt node asks only
 *  when a thread waits (-1): whatever a node holds unclaimed then is work
 *  the others may stand idle for, and the last items go one at a time to
 *  whichever thread is free. */
long dlp__schedule_low_water(int node_threads, double rate, int prompt, long left,
                             int total_threads);

#endif
