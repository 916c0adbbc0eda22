/* The master's supply of item indices (see dispenser.h). */
#include "dispenser.h"

#include "runtime.h"
#include "schedule.h"
#include "spinlock.h"

void dlp__dispenser_reset(struct dlp__dispenser *d, long n, long done, int schedule, long chunk,
                          double chunk_time)
{
    atomic_store(&d->lock, 0);
    d->next = 0;
    d->n = n;
    long rest = n - (done > 0 ? done : 0);
    d->left = rest > 0 ? rest : 0;
    d->hint = 0;
    d->stopped = 0;
    d->nodes = dlp__rt.nodes > 0 ? dlp__rt.nodes : 1;
    d->chunk_time = chunk_time;
    struct dlp__ss_spec spec = dlp__schedule_spec(schedule, chunk);
    dlp__ss_init(&d->ss, &spec, d->left, d->nodes);
    d->awf = (struct dlp__ss_rates){0, 0, 0};
}

/* The first item at or after `at` that is not done, and where the next
 * done range begins (n if none). */
static long skip_done(struct dlp__dispenser *d, const struct dlp__ranges *done, long at,
                      long *until)
{
    *until = d->n;
    if (!done)
        return at;
    while (at < d->n && dlp__ranges_contains(done, at, &d->hint))
        at = done->r[d->hint][1];
    if (d->hint < done->len && done->r[d->hint][0] > at)
        *until = done->r[d->hint][0] < d->n ? done->r[d->hint][0] : d->n;
    return at;
}

long dlp__dispenser_next(struct dlp__dispenser *d, const struct dlp__ranges *done,
                         int node_threads, int total_threads, double rate, long *start,
                         long *left)
{
    dlp__spin_lock(&d->lock);
    long count = 0;
    if (!d->stopped && d->left > 0) {
        struct dlp__ss_worker w = {.weight = node_threads,
                                   .weight_sum = total_threads,
                                   .rate = rate,
                                   .target = d->chunk_time};
        if (d->ss.kind == DLP__SS_AWF)
            w.rate_sum = dlp__ss_rate_sum(&d->awf, d->nodes, node_threads, total_threads, rate);
        /* the worker index is unknown here, and no policy uses it */
        count = dlp__ss_next(&d->ss, 0, &w);
        long until;
        *start = skip_done(d, done, d->next, &until);
        if (count > until - *start) { /* up to the done items; the rest goes back */
            d->ss.remaining += count - (until - *start);
            count = until - *start;
        }
        d->next = *start + count;
        d->left -= count;
    }
    *left = d->stopped ? 0 : d->left;
    dlp__spin_unlock(&d->lock);
    return count;
}

void dlp__dispenser_set_chunk_time(struct dlp__dispenser *d, double chunk_time)
{
    dlp__spin_lock(&d->lock);
    d->chunk_time = chunk_time;
    dlp__spin_unlock(&d->lock);
}

void dlp__dispenser_stop(struct dlp__dispenser *d)
{
    dlp__spin_lock(&d->lock);
    d->stopped = 1;
    dlp__spin_unlock(&d->lock);
}
