/* The master's supply of item indices for managed splitting. Lives in the
 * master node's shared memory: the master's dispatcher thread serves remote
 * nodes from it, and the threads of the master's node refill their own
 * cursor from it directly (no messages). */
#ifndef DLP_LIB_DISPENSER_H
#define DLP_LIB_DISPENSER_H

#include <stdatomic.h>

struct dlp__dispenser {
    _Alignas(64) _Atomic int lock;
    long next;          /* first item not handed out */
    long n;
    int stopped;        /* a failure somewhere: hand out nothing more */
    int schedule;       /* enum dlp_schedule */
    long fixed;         /* FIXED chunk size */
    double chunk_time;  /* AUTO target seconds per chunk */
};

void dlp__dispenser_reset(struct dlp__dispenser *d, long n, int schedule, long fixed,
                          double chunk_time);

/** Next chunk for a node with node_threads (of total_threads) threads
 *  running at rate items/s: returns its item count (0 when everything is
 *  handed out or stopped) and sets *start. Any thread of the master's node. */
long dlp__dispenser_next(struct dlp__dispenser *d, int node_threads, int total_threads,
                         double rate, long *start);

/** Hand out nothing more (after a failure). */
void dlp__dispenser_stop(struct dlp__dispenser *d);

#endif
