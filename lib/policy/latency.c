/* Latencies for DLP_STATS (see latency.h). */
#include "latency.h"

#include <math.h>
#include <stdlib.h>

struct dlp__latency_hist {
    unsigned long bin[DLP__LATENCY_BINS];
    double min, max; /* seconds, exact */
};

/* The bin of a latency: 0 below the range, DLP__LATENCY_BINS - 1 above. */
static long bin_of(double seconds)
{
    if (!(seconds >= ldexp(1.0, DLP__LATENCY_LOW_EXP)))
        return 0;
    double x = (log2(seconds) - DLP__LATENCY_LOW_EXP) * DLP__LATENCY_PER_OCTAVE;
    if (x >= (double)(DLP__LATENCY_BINS - 2))
        return DLP__LATENCY_BINS - 1;
    return 1 + (long)x;
}

/* The geometric middle of bin b (1 ... DLP__LATENCY_BINS - 2). */
static double middle_of(long b)
{
    return exp2(DLP__LATENCY_LOW_EXP + ((double)b - 0.5) / DLP__LATENCY_PER_OCTAVE);
}

void dlp__latency_note(struct dlp__latencies *l, double seconds)
{
    struct dlp__latency_hist *h = l->h;
    if (!h && (h = l->h = calloc(1, sizeof *h)) == NULL) {
        l->lost++;
        return;
    }
    if (l->len == 0 || seconds < h->min)
        h->min = seconds;
    if (l->len == 0 || seconds > h->max)
        h->max = seconds;
    h->bin[bin_of(seconds)]++;
    l->len++;
}

/* The k-th smallest latency (0-based), from its bin. */
static double quantile(const struct dlp__latency_hist *h, long k)
{
    long b = 0;
    unsigned long below = 0;
    while (b < DLP__LATENCY_BINS - 1 && below + h->bin[b] <= (unsigned long)k)
        below += h->bin[b++];
    double v = b == 0                       ? h->min
               : b == DLP__LATENCY_BINS - 1 ? h->max
                                            : middle_of(b);
    return v < h->min ? h->min : v > h->max ? h->max : v;
}

long dlp__latency_summary(const struct dlp__latencies *l, double *median_ms, double *p99_ms,
                          double *max_ms)
{
    *median_ms = *p99_ms = *max_ms = 0;
    if (l->len == 0 || !l->h)
        return 0;
    long p99 = (l->len * 99 + 99) / 100 - 1;
    *median_ms = 1e3 * quantile(l->h, (l->len - 1) / 2);
    *p99_ms = 1e3 * quantile(l->h, p99);
    *max_ms = 1e3 * l->h->max;
    return l->len;
}

void dlp__latency_free(struct dlp__latencies *l)
{
    free(l->h);
    *l = (struct dlp__latencies){NULL, 0, 0};
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
