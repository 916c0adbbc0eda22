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

void dlp__clock_sync_request(struct dlp__clock_sync *s, double t2, double prev_sent,
                             double prev_taken)
{
    if (s->t3 > 0 && prev_taken > 0) {
        double net = (prev_taken - prev_sent) - (s->t3 - s->t2);
        if (net >= 0 && (s->best < 0 || net < s->best)) {
            s->best = net;
            s->offset = ((s->t2 - prev_sent) + (s->t3 - prev_taken)) / 2;
        }
    }
    s->t2 = t2;
}

int dlp__clock_sync_answered(struct dlp__clock_sync *s, double t3, double sent, double *seconds)
{
    s->t3 = t3;
    if (s->best < 0)
        return 0;
    double t = t3 - (sent + s->offset);
    *seconds = t > 0 ? t : 0; /* (the offset's error can exceed a short answer) */
    return 1;
}
