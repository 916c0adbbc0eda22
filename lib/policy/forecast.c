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
 * Instead of a scan of every node at every wake-up, the nodes wait for
 * their window in a min-heap by its start (minheap.h), and the due ones
 * (window started, request not yet answered) in a list: a wake-up moves
 * the windows that started to the list, O(log nodes) each, and takes the
 * shortest nap of the listed nodes and of the heap's first, whose halving
 * stands for all before their window (bench/capacity_scan, docs/scale.md
 * table 3). Pure arithmetic, no MPI. */
#include "forecast.h"

#include <stdlib.h>

static double window_start(const struct dlp__forecast *f, int k);

/* Take node k off the due list: 1 if it was on it. */
static int unlist(struct dlp__forecast *f, int k)
{
    int i = f->due_at[k];
    if (i < 0)
        return 0;
    int last = f->due[--f->ndue];
    f->due[i] = last;
    f->due_at[last] = i;
    f->due_at[k] = -1;
    return 1;
}

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
    f->due = malloc(sizeof *f->due * cells);
    f->due_at = malloc(sizeof *f->due_at * cells);
    int heap = dlp__minheap_init(&f->looks, nodes);
    if (!f->expect || !f->horizon || !f->last || !f->left || !f->slack || !f->watched ||
        !f->due || !f->due_at || heap != 0) {
        dlp__forecast_free(f);
        return -1;
    }
    f->watching = 0;
    f->ndue = 0;
    for (int k = 0; k < nodes; k++) {
        f->expect[k] = now;
        f->watched[k] = (char)(k > 0);
        f->due_at[k] = -1;
        if (k > 0) {
            dlp__minheap_set(&f->looks, k, window_start(f, k));
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
    free(f->due);
    free(f->due_at);
    f->expect = f->horizon = f->last = f->left = f->slack = NULL;
    f->watched = NULL;
    f->due = f->due_at = NULL;
    f->ndue = 0;
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
    if (unlist(f, k) || dlp__minheap_has(&f->looks, k))
        dlp__minheap_set(&f->looks, k, window_start(f, k));
}

void dlp__forecast_drop(struct dlp__forecast *f, int k)
{
    if (!unlist(f, k) && !dlp__minheap_has(&f->looks, k))
        return;
    f->watching -= f->watched[k];
    dlp__minheap_remove(&f->looks, k);
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Node k's look interval in its window. */
static double fine_of(const struct dlp__forecast *f, int k)
{
    return clamp(0.1 * f->slack[k], 1e-6 * DLP__FORECAST_FINE_US, 1e-6 * DLP__FORECAST_MAX_US);
}

/* How long before its forecast node k's window starts. */
static double guard_of(const struct dlp__forecast *f, int k)
{
    double guard = 0.1 * f->horizon[k];
    return (guard < DLP__FORECAST_GUARD_MAX ? guard : DLP__FORECAST_GUARD_MAX) + fine_of(f, k);
}

static double window_start(const struct dlp__forecast *f, int k)
{
    return f->expect[k] - guard_of(f, k);
}

/* Seconds until node k should be looked for next. */
static double node_nap(const struct dlp__forecast *f, int k, double now)
{
    const double max = 1e-6 * DLP__FORECAST_MAX_US;
    double fine = fine_of(f, k);
    double late_max = clamp(0.5 * f->slack[k], max, 1e-6 * DLP__FORECAST_IDLE_MAX_US);
    double guard = guard_of(f, k);
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

/* A look this close to now is due: naps are whole microseconds. */
#define DUE_EPS 0.5e-6

unsigned dlp__forecast_nap(struct dlp__forecast *f, double now, int (*skip)(int k),
                           unsigned idle_us)
{
    /* the windows that started go to the due list (a skipped node back to
     * the heap, to be checked again); each node at most once */
    for (int taken = f->looks.len; taken > 0; taken--) {
        int k = dlp__minheap_top(&f->looks);
        if (f->looks.key[k] > now + DUE_EPS)
            break;
        int watch = !skip || !skip(k);
        f->watching += watch - f->watched[k];
        f->watched[k] = (char)watch;
        if (!watch) {
            dlp__minheap_set(&f->looks, k, now + 1e-6 * idle_us);
            continue;
        }
        dlp__minheap_remove(&f->looks, k);
        f->due_at[k] = f->ndue;
        f->due[f->ndue++] = k;
    }
    double nap = 1e-6 * (f->watching > 0 ? DLP__FORECAST_IDLE_MAX_US : idle_us);
    for (int i = 0; i < f->ndue; i++) {
        double d = node_nap(f, f->due[i], now);
        nap = d < nap ? d : nap;
    }
    int k = dlp__minheap_top(&f->looks);
    if (k >= 0) { /* the next window: its node's halving, or a skipped one's check */
        double d = f->watched[k] ? node_nap(f, k, now) : f->looks.key[k] - now;
        nap = d < nap ? d : nap;
    }
    double us = 1e6 * nap + 0.5; /* to the nearest: a look is never missed by DUE_EPS */
    return us < 1 ? 1u : (unsigned)us;
}
