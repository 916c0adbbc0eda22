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
    d->awf_rate = 0;
    d->awf_threads = 0;
    d->awf_seen = 0;
}

/* AWF's sum of the nodes' rates. The callers name no node (the dispatcher
 * passes the requester's threads and rate, refill_local its own), so there
 * is no table of each node's last rate. Instead the dispenser keeps the mean
 * rate and the mean thread count of the requests that brought a rate (over
 * all of them up to P, then exponentially with weight 1/P) and estimates
 * the sum as total_threads * mean rate / mean threads: the nodes' sum when
 * the requests come from the nodes in turn, as in factoring's steady state
 * where every node asks once per batch; with fewer nodes heard, weighted
 * factoring's thread shares scaled by the node's per-thread speed against
 * the mean of those heard. 0 (unknown: AWF falls back to WF) without a rate. */
static double awf_rate_sum(struct dlp__dispenser *d, int node_threads, int total_threads,
                           double rate)
{
    if (!(rate > 0))
        return 0;
    double nt = node_threads > 0 ? node_threads : 1;
    double tt = total_threads > nt ? total_threads : nt;
    if (d->awf_seen < d->nodes)
        d->awf_seen++;
    double w = 1.0 / d->awf_seen;
    d->awf_rate += w * (rate - d->awf_rate);
    d->awf_threads += w * (nt - d->awf_threads);
    return tt * d->awf_rate / d->awf_threads;
}

long dlp__dispenser_next(struct dlp__dispenser *d, int node_threads, int total_threads,
                         double rate, long *start)
{
    dlp__spin_lock(&d->lock);
    long count = 0;
    if (!d->stopped && d->next < d->n) {
        struct dlp__ss_worker w = {.weight = node_threads,
                                   .weight_sum = total_threads,
                                   .rate = rate,
                                   .target = d->chunk_time};
        if (d->ss.kind == DLP__SS_AWF)
            w.rate_sum = awf_rate_sum(d, node_threads, total_threads, rate);
        /* the worker index is unknown here, and no policy uses it */
        count = dlp__ss_next(&d->ss, 0, &w);
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
