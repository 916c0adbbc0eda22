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
 * FINE microseconds when the forecast holds. Pure arithmetic, no MPI. */
#include "forecast.h"

#include <stdlib.h>

int dlp__forecast_init(struct dlp__forecast *f, int nodes, double now)
{
    f->nodes = nodes;
    size_t cells = (size_t)(nodes > 0 ? nodes : 1);
    f->expect = malloc(sizeof *f->expect * cells);
    f->horizon = calloc(cells, sizeof *f->horizon);
    f->last = calloc(cells, sizeof *f->last);
    f->left = calloc(cells, sizeof *f->left);
    f->slack = calloc(cells, sizeof *f->slack);
    if (!f->expect || !f->horizon || !f->last || !f->left || !f->slack) {
        dlp__forecast_free(f);
        return -1;
    }
    for (int k = 0; k < nodes; k++)
        f->expect[k] = now;
    return 0;
}

void dlp__forecast_free(struct dlp__forecast *f)
{
    free(f->expect);
    free(f->horizon);
    free(f->last);
    free(f->left);
    free(f->slack);
    f->expect = f->horizon = f->last = f->left = f->slack = NULL;
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

unsigned dlp__forecast_nap(const struct dlp__forecast *f, const char *active, double now)
{
    double nap = 1e-6 * DLP__FORECAST_IDLE_MAX_US;
    for (int k = 1; k < f->nodes; k++)
        if (active[k]) {
            double d = node_nap(f, k, now);
            nap = d < nap ? d : nap;
        }
    double us = 1e6 * nap;
    return us < 1 ? 1u : (unsigned)us;
}
