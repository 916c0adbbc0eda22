/* Latencies collected for DLP_STATS (the helper threads' request times):
 * a growing list, summarised as median, p99 and max. */
#ifndef DLP_LIB_LATENCY_H
#define DLP_LIB_LATENCY_H

struct dlp__latencies {
    double *v; /* seconds */
    long len, cap;
};

/** Add one (out of memory: dropped). */
void dlp__latency_note(struct dlp__latencies *l, double seconds);

/** Sort and summarise in milliseconds; returns the count (0: nothing). */
long dlp__latency_summary(struct dlp__latencies *l, double *median_ms, double *p99_ms,
                          double *max_ms);

void dlp__latency_free(struct dlp__latencies *l);

#endif
