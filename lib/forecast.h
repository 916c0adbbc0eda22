/* When each remote node will ask the dispatcher next (forecast.c). */
#ifndef DLP_LIB_FORECAST_H
#define DLP_LIB_FORECAST_H

#include "minheap.h"

/** Poll intervals of the dispatcher, microseconds: FINE inside a node's
 *  window (its request is due), at most MAX while a request is late or its
 *  time unknown, at most IDLE_MAX in between. A node that will still hold
 *  s seconds of work when it asks is looked for every s/10 in its window
 *  (between FINE and MAX) and every s/2 at most when late (between MAX and
 *  IDLE_MAX): long items need no sub-millisecond answers. */
#define DLP__FORECAST_FINE_US 250u
#define DLP__FORECAST_MAX_US 1000u
#define DLP__FORECAST_IDLE_MAX_US 5000u

struct dlp__forecast {
    int nodes;
    double *expect;  /* [nodes] when node k should ask next (dlp__now() s) */
    double *horizon; /* [nodes] expect minus the time the forecast was made */
    double *last;    /* [nodes] when node k was last answered (0 = never) */
    double *left;    /* [nodes] its unclaimed items right after that answer */
    double *slack;   /* [nodes] seconds of work it holds when it asks (0 = unknown) */
    /* the next look at each remote node that may still ask, earliest first:
     * a wake-up takes the due ones and sets their next look, O(log nodes)
     * each, instead of scanning every node */
    struct dlp__minheap looks;
    char *watched;   /* [nodes] polled (not skipped) at its last look */
    int watching;    /* nodes in looks with watched set */
};

/** Longest guard before a due request, seconds (the guard is a tenth of the
 *  forecast's horizon, plus FINE). */
#define DLP__FORECAST_GUARD_MAX 0.002

/** Every remote node (1 .. nodes-1) may ask at once from `now` on (the
 *  start of a call). 0, or -1 when out of memory. */
int dlp__forecast_init(struct dlp__forecast *f, int nodes, double now);

void dlp__forecast_free(struct dlp__forecast *f);

/** Node k was answered at `now` with `count` new items. It reported `rate`
 *  (its items per second since its first chunk, 0 = unknown; the rate it
 *  consumed items at since its previous answer counts when higher),
 *  `unclaimed` items in hand besides the reply, and asks again once its
 *  unclaimed items fall to `low`. Its next look is set from that. */
void dlp__forecast_answered(struct dlp__forecast *f, int k, double now, long count, double rate,
                            long unclaimed, long low);

/** Node k will not ask again in this call: no more looks for it. */
void dlp__forecast_drop(struct dlp__forecast *f, int k);

/** Microseconds to sleep before looking for requests again, at `now`: until
 *  the earliest next look of a node that may still ask, at most IDLE_MAX.
 *  The looks that are due are taken, and each node's next one set as if it
 *  were alone (its own guard, halving and back-off, forecast.c). skip
 *  (NULL: none) names nodes not to poll, e.g. those with a doorbell: their
 *  look is put off by idle_us and counts only when every node left is
 *  skipped (then the nap is at most idle_us). O(log nodes) per due look. */
unsigned dlp__forecast_nap(struct dlp__forecast *f, double now, int (*skip)(int k),
                           unsigned idle_us);

#endif
