/* The dispatcher's forecast of the nodes' requests.
 *
 * A remote node asks for its next chunk when its unclaimed items fall to
 * its low-water mark; with its rate (the higher of its own measure since
 * its first chunk and the one it consumed items at since its last answer:
 * an early forecast costs a few polls, a late one a slow answer), the
 * dispatcher knows about when that will be. It sleeps until shortly before (a guard of a
 * tenth of the forecast's horizon, at most GUARD_MAX, plus one fine
 * interval), halving the remaining time at most so that an early request
 * waits at most about half of what was left, then looks every FINE
 * microseconds (more rarely for long items, see forecast.h) until the
 * request arrives.
 * A late request (the node slowed down) is looked for less and less often,
 * down to every MAX microseconds. So the dispatcher wakes a few times per
 * request instead of polling at a fixed rate, and answers within about
 * FINE microseconds when the forecast holds.
 *
 * Each node's next look is kept in a min-heap (minheap.h): a wake-up takes
 * only the looks that are due and sets each node's next one from its own
 * forecast, so it costs O(log nodes) per due look, not a scan of every
 * node (bench/capacity_scan, docs/scale.md table 3). A node is looked for
 * as if it were alone; a wake-up for one node sees every node's request
 * that has arrived (the dispatcher tests for any source). Pure arithmetic,
 * no MPI. */
#include "forecast.h"

#include <stdlib.h>

static double next_look(const struct dlp__forecast *f, int k, double now);

int dlp__forecast_init(struct dlp__forecast *f, int nodes, double now)
{
    f->nodes = nodes;
    size_t cells = (size_t)(nodes > 0 ? nodes : 1);
    f->expect = malloc(sizeof *f->expect * cells);
    f->horizon = calloc(cells, sizeof *f->horizon);
    f->last = calloc(cells, sizeof *f->last);
    f->left = calloc(cells, sizeof *f->left);
    f->slack = calloc(cells, sizeof *f->slack);
    f->watched = malloc(cells);
    int heap = dlp__minheap_init(&f->looks, nodes);
    if (!f->expect || !f->horizon || !f->last || !f->left || !f->slack || !f->watched ||
        heap != 0) {
        dlp__forecast_free(f);
        return -1;
    }
    f->watching = 0;
    for (int k = 0; k < nodes; k++) {
        f->expect[k] = now;
        f->watched[k] = k > 0;
        if (k > 0) {
            dlp__minheap_set(&f->looks, k, now);
            f->watching++;
        }
    }
    return 0;
}

void dlp__forecast_free(struct dlp__forecast *f)
{
    free(f->expect);
    free(f->horizon);
    free(f->last);
    free(f->left);
    free(f->slack);
    free(f->watched);
    f->expect = f->horizon = f->last = f->left = f->slack = NULL;
    f->watched = NULL;
    dlp__minheap_free(&f->looks);
}

void dlp__forecast_answered(struct dlp__forecast *f, int k, double now, long count, double rate,
                            long unclaimed, long low)
{
    if (f->last[k] > 0 && now > f->last[k]) {
        double consumed = f->left[k] - (double)unclaimed;
        double recent = consumed > 0 ? consumed / (now - f->last[k]) : 0;
        rate = recent > rate ? recent : rate;
    }
    f->last[k] = now;
    f->left[k] = (double)unclaimed + (double)count;
    double wait = 0; /* unknown rate: it may ask again at once */
    f->slack[k] = 0;
    if (rate > 0) {
        double items = (double)unclaimed + (double)count - (double)low;
        wait = items > 0 ? items / rate : 0;
        f->slack[k] = low > 0 && (double)low / rate < 3600 ? (double)low / rate : 0;
    }
    if (wait > 3600)
        wait = 3600;
    f->expect[k] = now + wait;
    f->horizon[k] = wait;
    if (dlp__minheap_has(&f->looks, k))
        dlp__minheap_set(&f->looks, k, next_look(f, k, now));
}

void dlp__forecast_drop(struct dlp__forecast *f, int k)
{
    if (!dlp__minheap_has(&f->looks, k))
        return;
    f->watching -= f->watched[k];
    dlp__minheap_remove(&f->looks, k);
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Seconds until node k should be looked for next. */
static double node_nap(const struct dlp__forecast *f, int k, double now)
{
    const double max = 1e-6 * DLP__FORECAST_MAX_US;
    double fine = clamp(0.1 * f->slack[k], 1e-6 * DLP__FORECAST_FINE_US, max);
    double late_max = clamp(0.5 * f->slack[k], max, 1e-6 * DLP__FORECAST_IDLE_MAX_US);
    double guard = 0.1 * f->horizon[k];
    guard = (guard < DLP__FORECAST_GUARD_MAX ? guard : DLP__FORECAST_GUARD_MAX) + fine;
    double until = f->expect[k] - now;
    if (until > guard) { /* before its window */
        double nap = until - guard, half = 0.5 * until;
        return nap < (half > max ? half : max) ? nap : (half > max ? half : max);
    }
    double late = -until - guard; /* > 0: the request is overdue */
    if (late <= 0)
        return fine;
    double nap = fine + 0.5 * late;
    return nap < late_max ? nap : late_max;
}

/* When to look for node k next, seen at now: never sooner than 1 us on. */
static double next_look(const struct dlp__forecast *f, int k, double now)
{
    double nap = node_nap(f, k, now);
    return now + (nap > 1e-6 ? nap : 1e-6);
}

/* A look this close to now is due: naps are whole microseconds. */
#define DUE_EPS 0.5e-6

unsigned dlp__forecast_nap(struct dlp__forecast *f, double now, int (*skip)(int k),
                           unsigned idle_us)
{
    /* each look is taken at most once: its next one is at least 1 us on */
    for (int taken = f->looks.len; taken > 0; taken--) {
        int k = dlp__minheap_top(&f->looks);
        if (f->looks.key[k] > now + DUE_EPS)
            break;
        int watch = !skip || !skip(k);
        f->watching += watch - f->watched[k];
        f->watched[k] = (char)watch;
        dlp__minheap_set(&f->looks, k, watch ? next_look(f, k, now) : now + 1e-6 * idle_us);
    }
    double cap = 1e-6 * (f->watching > 0 ? DLP__FORECAST_IDLE_MAX_US : idle_us);
    int k = dlp__minheap_top(&f->looks);
    double nap = k < 0 ? cap : f->looks.key[k] - now;
    nap = nap < cap ? nap : cap;
    double us = 1e6 * nap + 0.5; /* to the nearest: a look is never missed by DUE_EPS */
    return us < 1 ? 1u : (unsigned)us;
}
