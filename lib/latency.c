/* Latencies for DLP_STATS (see latency.h). */
#include "latency.h"

#include <stdlib.h>

void dlp__latency_note(struct dlp__latencies *l, double seconds)
{
    if (l->len == l->cap) {
        long cap = l->cap ? 2 * l->cap : 256;
        double *p = realloc(l->v, (size_t)cap * sizeof *p);
        if (!p)
            return;
        l->v = p;
        l->cap = cap;
    }
    l->v[l->len++] = seconds;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

long dlp__latency_summary(struct dlp__latencies *l, double *median_ms, double *p99_ms,
                          double *max_ms)
{
    *median_ms = *p99_ms = *max_ms = 0;
    if (l->len == 0)
        return 0;
    qsort(l->v, (size_t)l->len, sizeof *l->v, by_value);
    long p99 = (l->len * 99 + 99) / 100 - 1;
    *median_ms = 1e3 * l->v[(l->len - 1) / 2];
    *p99_ms = 1e3 * l->v[p99];
    *max_ms = 1e3 * l->v[l->len - 1];
    return l->len;
}

void dlp__latency_free(struct dlp__latencies *l)
{
    free(l->v);
    l->v = NULL;
    l->len = l->cap = 0;
}
