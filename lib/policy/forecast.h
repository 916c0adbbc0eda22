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
    /* the remote nodes that may still ask: before their request's window,
     * in a heap keyed by the window's start (a node with a doorbell: by
     * when to check again that it still has one); once it starts, in the
     * due list, looked for as forecast.c says until the request comes */
    struct dlp__minheap looks;
    int *due;        /* [nodes] the due list */
    int *due_at;     /* [nodes] where node k is in it, -1: not */
    int ndue;        /* its length */
    char *watched;   /* [nodes] polled (not skipped) */
    int watching;    /* tracked nodes with watched set */
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

/** Microseconds to sleep before looking for requests again, at `now`: the
 *  shortest nap of the nodes whose request is due (its window started),
 *  and of the node whose window starts next, at most IDLE_MAX (forecast.c).
 *  skip (NULL: none) names nodes not to poll, e.g. those with a doorbell:
 *  they are checked again every idle_us, and the nap is at most idle_us
 *  when every node left is skipped. O(log nodes) per window that starts,
 *  plus O(due nodes). */
unsigned dlp__forecast_nap(struct dlp__forecast *f, double now, int (*skip)(int k),
                           unsigned idle_us);

#endif
