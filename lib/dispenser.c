/* The master's supply of item indices (see dispenser.h). */
#include "dispenser.h"

#include "runtime.h"
#include "schedule.h"
#include "spinlock.h"

void dlp__dispenser_reset(struct dlp__dispenser *d, long n, int schedule, long chunk,
                          double chunk_time)
{
    atomic_store(&d->lock, 0);
    d->next = 0;
    d->n = n;
    d->stopped = 0;
    d->nodes = dlp__rt.nodes > 0 ? dlp__rt.nodes : 1;
    d->chunk_time = chunk_time;
    struct dlp__ss_spec spec = dlp__schedule_spec(schedule, chunk);
    dlp__ss_init(&d->ss, &spec, n, d->nodes);
    d->awf = (struct dlp__ss_rates){0, 0, 0};
}

long dlp__dispenser_next(struct dlp__dispenser *d, int node_threads, int total_threads,
                         double rate, long *start, long *left)
{
    dlp__spin_lock(&d->lock);
    long count = 0;
    if (!d->stopped && d->next < d->n) {
        struct dlp__ss_worker w = {.weight = node_threads,
                                   .weight_sum = total_threads,
                                   .rate = rate,
                                   .target = d->chunk_time};
        if (d->ss.kind == DLP__SS_AWF)
            w.rate_sum = dlp__ss_rate_sum(&d->awf, d->nodes, node_threads, total_threads, rate);
        /* the worker index is unknown here, and no policy uses it */
        count = dlp__ss_next(&d->ss, 0, &w);
        *start = d->next;
        d->next += count;
    }
    *left = d->stopped ? 0 : d->n - d->next;
    dlp__spin_unlock(&d->lock);
    return count;
}

void dlp__dispenser_stop(struct dlp__dispenser *d)
{
    dlp__spin_lock(&d->lock);
    d->stopped = 1;
    dlp__spin_unlock(&d->lock);
}
