/* The master's supply of item indices (see dispenser.h). */
#include "dispenser.h"

#include "schedule.h"
#include "spinlock.h"

void dlp__dispenser_reset(struct dlp__dispenser *d, long n, int schedule, long fixed,
                          double chunk_time)
{
    atomic_store(&d->lock, 0);
    d->next = 0;
    d->n = n;
    d->stopped = 0;
    d->schedule = schedule;
    d->fixed = fixed;
    d->chunk_time = chunk_time;
}

long dlp__dispenser_next(struct dlp__dispenser *d, int node_threads, int total_threads,
                         double rate, long *start)
{
    dlp__spin_lock(&d->lock);
    long count = 0;
    if (!d->stopped && d->next < d->n) {
        struct dlp__sched_request q = {.remaining = d->n - d->next,
                                       .n = d->n,
                                       .node_threads = node_threads,
                                       .total_threads = total_threads,
                                       .rate = rate};
        count = dlp__schedule_chunk(d->schedule, d->fixed, d->chunk_time, &q);
        *start = d->next;
        d->next += count;
    }
    dlp__spin_unlock(&d->lock);
    return count;
}

void dlp__dispenser_stop(struct dlp__dispenser *d)
{
    dlp__spin_lock(&d->lock);
    d->stopped = 1;
    dlp__spin_unlock(&d->lock);
}
