/* The team cursor: how the threads of a node (managed) or of a rank (round
 * robin) take items one at a time without locks. Every claim takes a ticket
 * (one atomic add); ticket k is the k-th item of the chunks appended so far,
 * in order. A ticket beyond the appended chunks waits for the next chunk or
 * for close (then it is void). The cursor may live in node-shared memory.
 * Claims take one ticket or a batch (lib/call/take.c), or a thread-level
 * policy's chunk (dlp__cursor_claim). */
#ifndef DLP_LIB_CURSOR_H
#define DLP_LIB_CURSOR_H

#include <stdatomic.h>
#include <stddef.h>

#include "schedule.h"

struct dlp__chunk {
    long start; /* first item */
    long count; /* items */
    long first; /* ticket of the first item */
};

struct dlp__cursor {
    _Alignas(64) _Atomic long ticket; /* next ticket to claim */
    _Alignas(64) _Atomic long avail;  /* tickets below are backed by chunks */
    _Atomic long low;                 /* low-water mark: ask for more below it */
    _Atomic int closed;               /* no more chunks will be appended */
    _Atomic int stop;                 /* a failure: take nothing more */
    _Alignas(64) _Atomic int refill_lock; /* one refiller at a time */
    _Atomic int want;                 /* a thread waits for a chunk */
    _Atomic int bell;                 /* the node agent sleeps (doorbell.h) */
    _Atomic int gate;                 /* waiting team threads sleep (doorbell.h) */
    _Atomic int sleepers;             /* ... this many */
    _Atomic int nchunks;
    _Atomic int ended;                /* ranks sharing it that reached the end */
    long stride;                      /* item distance inside a chunk */
    double t0;                        /* start of the call (monotonic s) */
    int capacity;                     /* entries of chunk[] */
    /* thread-level policy (dlp__cursor_claim): the current round, AWF's
     * rate estimate; one claimer at a time; lines of their own */
    _Alignas(64) _Atomic int claim_lock;
    struct dlp__ss_state round;
    struct dlp__ss_rates rates;
    _Alignas(64) struct dlp__chunk chunk[];
};

/** Bytes for a cursor with room for capacity chunks. */
size_t dlp__cursor_bytes(int capacity);

/** Prepare for a new call (single thread, before anyone takes). */
void dlp__cursor_reset(struct dlp__cursor *c, int capacity, long stride);

/** Append a chunk (single writer at a time); -1 if the table is full. */
int dlp__cursor_append(struct dlp__cursor *c, long start, long count);

/** No more chunks: waiting tickets beyond the last chunk become void. */
void dlp__cursor_close(struct dlp__cursor *c);

/** Measured items per second of the threads (how many) on this cursor
 *  (0 = unknown). */
double dlp__cursor_rate(const struct dlp__cursor *c, int threads, double now);

/** Items finished, as far as one can tell without a counter per item:
 *  claimed minus one in flight per thread (for progress). */
long dlp__cursor_done(const struct dlp__cursor *c, int threads);

/** Unclaimed backed items. */
long dlp__cursor_unclaimed(const struct dlp__cursor *c);

/** Claim the next tickets under a thread-level policy (spec not auto): the
 *  policy's next chunk of the current round for one of `workers` threads
 *  (P) running at rate items/s (AWF; 0 = unknown). A round starts when a
 *  claim finds the previous one used up: its n is the backlog then, the
 *  unclaimed tickets that chunks back (avail - ticket), so chunks appended
 *  during a round wait for the next one. With no backlog the claim is one
 *  ticket, which waits for the next chunk like any ticket beyond avail.
 *  Returns the first ticket and sets *count (>= 1). Any thread; every
 *  claimer of the cursor must come through here (the round counts the
 *  tickets). */
long dlp__cursor_claim(struct dlp__cursor *c, const struct dlp__ss_spec *spec, int workers,
                       double rate, long *count);

/** Item of ticket k (k < avail, read with acquire ordering); *j is the
 *  caller's position in the chunk table, only moving forward. */
static inline long dlp__cursor_item(const struct dlp__cursor *c, int *j, long k)
{
    int x = *j;
    while (c->chunk[x].first + c->chunk[x].count <= k)
        x++;
    *j = x;
    return c->chunk[x].start + (k - c->chunk[x].first) * c->stride;
}

#endif
