/* Team cursor (see cursor.h). */
#include "cursor.h"

#include <stddef.h>
#include <string.h>

#include "spinlock.h"

size_t dlp__cursor_bytes(int capacity)
{
    return sizeof(struct dlp__cursor) + (size_t)capacity * sizeof(struct dlp__chunk);
}

void dlp__cursor_reset(struct dlp__cursor *c, int capacity, long stride)
{
    /* No thread uses c during a reset (a call's set-up, or a node's
     * before its ranks meet): relaxed stores, then one fence for what the
     * others see when they start, instead of a full barrier per field. */
    atomic_store_explicit(&c->ticket, 0, memory_order_relaxed);
    atomic_store_explicit(&c->avail, 0, memory_order_relaxed);
    atomic_store_explicit(&c->low, 1, memory_order_relaxed);
    atomic_store_explicit(&c->closed, 0, memory_order_relaxed);
    atomic_store_explicit(&c->stop, 0, memory_order_relaxed);
    atomic_store_explicit(&c->refill_lock, 0, memory_order_relaxed);
    atomic_store_explicit(&c->want, 0, memory_order_relaxed);
    atomic_store_explicit(&c->bell, 0, memory_order_relaxed);
    atomic_store_explicit(&c->sleepers, 0, memory_order_relaxed); /* (the gate's number goes on) */
    atomic_store_explicit(&c->nchunks, 0, memory_order_relaxed);
    atomic_store_explicit(&c->ended, 0, memory_order_relaxed);
    atomic_store_explicit(&c->claim_lock, 0, memory_order_relaxed);
    memset(&c->round, 0, sizeof c->round);
    memset(&c->rates, 0, sizeof c->rates);
    c->stride = stride;
    c->capacity = capacity;
    c->t0 = 0;
    atomic_thread_fence(memory_order_seq_cst);
}

int dlp__cursor_append(struct dlp__cursor *c, long start, long count)
{
    int n = atomic_load_explicit(&c->nchunks, memory_order_relaxed);
    if (n >= c->capacity)
        return -1;
    long first = atomic_load_explicit(&c->avail, memory_order_relaxed);
    c->chunk[n] = (struct dlp__chunk){.start = start, .count = count, .first = first};
    atomic_store_explicit(&c->nchunks, n + 1, memory_order_relaxed);
    atomic_store_explicit(&c->avail, first + count, memory_order_release);
    return 0;
}

void dlp__cursor_close(struct dlp__cursor *c)
{
    atomic_store_explicit(&c->closed, 1, memory_order_release);
}

double dlp__cursor_rate(const struct dlp__cursor *c, int threads, double now)
{
    long started = atomic_load_explicit(&c->ticket, memory_order_relaxed);
    long avail = atomic_load_explicit(&c->avail, memory_order_relaxed);
    long done = (started < avail ? started : avail) - threads; /* minus those in flight */
    double dt = now - c->t0;
    return done > 0 && dt > 0 ? (double)done / dt : 0.0;
}

long dlp__cursor_unclaimed(const struct dlp__cursor *c)
{
    long a = atomic_load_explicit(&c->avail, memory_order_relaxed);
    long t = atomic_load_explicit(&c->ticket, memory_order_relaxed);
    return a > t ? a - t : 0;
}

long dlp__cursor_done(const struct dlp__cursor *c, int threads)
{
    long t = atomic_load_explicit(&c->ticket, memory_order_relaxed);
    long a = atomic_load_explicit(&c->avail, memory_order_relaxed);
    long done = (t < a ? t : a) - threads;
    return done > 0 ? done : 0;
}

long dlp__cursor_claim(struct dlp__cursor *c, const struct dlp__ss_spec *spec, int workers,
                       double rate, long *count)
{
    dlp__spin_lock(&c->claim_lock);
    long t = atomic_load_explicit(&c->ticket, memory_order_relaxed);
    if (c->round.remaining <= 0) {
        long a = atomic_load_explicit(&c->avail, memory_order_acquire);
        if (a > t)
            dlp__ss_init(&c->round, spec, a - t, workers);
    }
    long b = 1;
    if (c->round.remaining > 0) {
        /* the node's threads weigh alike: wf is fac2 here */
        struct dlp__ss_worker w = {.weight = 1, .weight_sum = c->round.workers};
        if (spec->kind == DLP__SS_AWF && rate > 0) {
            w.rate = rate;
            w.rate_sum = dlp__ss_rate_sum(&c->rates, c->round.workers, 1, 0, rate);
        }
        b = dlp__ss_next(&c->round, 0, &w);
    }
    /* seq_cst: the agent's doorbell re-check must see this claim */
    long k = atomic_fetch_add_explicit(&c->ticket, b, memory_order_seq_cst);
    dlp__spin_unlock(&c->claim_lock);
    *count = b;
    return k;
}
