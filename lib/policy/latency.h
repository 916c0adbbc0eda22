/* Latencies collected for DLP_STATS (the helper threads' request times),
 * summarised as median, p99 and max. Bounded memory whatever the number of
 * requests: a histogram of DLP__LATENCY_BINS log-scale bins, 2^(1/32)
 * wide, from 2^-30 s (about 1 ns) to 2^10 s, allocated on the first note
 * (10 KiB). A quantile is the geometric
 * middle of its bin (clamped to the minimum and maximum, kept exactly), within a
 * relative error of 2^(1/64) - 1 (1.1 %) of the exact one; below 1 ns,
 * within 1 ns; above 2^10 s, the maximum. Zero-initialised
 * ({NULL, 0, 0}) it is empty. */
#ifndef DLP_LIB_LATENCY_H
#define DLP_LIB_LATENCY_H

#define DLP__LATENCY_PER_OCTAVE 32
#define DLP__LATENCY_LOW_EXP (-30) /* the first bin starts at 2^-30 s */
#define DLP__LATENCY_OCTAVES 40
/* the bins, and one below the range and one above */
#define DLP__LATENCY_BINS (DLP__LATENCY_OCTAVES * DLP__LATENCY_PER_OCTAVE + 2)

struct dlp__latency_hist; /* the bins, the minimum and maximum (latency.c) */

struct dlp__latencies {
    struct dlp__latency_hist *h; /* NULL until the first note */
    long len;                    /* latencies noted */
    long lost;                   /* not noted: no memory for the bins */
};

/** Add one (out of memory for the bins: counted in lost). */
void dlp__latency_note(struct dlp__latencies *l, double seconds);

/** Summarise in milliseconds (median, p99 and max: the elements
 *  (len - 1) / 2, ceil(0.99 len) - 1 and len - 1 of the sorted
 *  latencies, the first two within the error above); returns the count
 *  (0: nothing). */
long dlp__latency_summary(const struct dlp__latencies *l, double *median_ms, double *p99_ms,
                          double *max_ms);

void dlp__latency_free(struct dlp__latencies *l);

/* The latency of requests from another host, on the receiver's clock: the
 * two hosts' monotonic clocks count from their own boots, so their times
 * cannot be subtracted. Estimated as NTP does, from one request and reply
 * (the sender's send time t1 and its receipt of the reply t4, on its
 * clock; the receiver's receipt t2 and reply t3, on its own): the offset
 * between the clocks is ((t2 - t1) + (t3 - t4)) / 2, within half the round
 * trip's network time (t4 - t1) - (t3 - t2); the exchange with the
 * shortest of those is kept. One per sender. */
struct dlp__clock_sync {
    double t2, t3; /* the receiver's times of the sender's last request (0: none) */
    double offset; /* receiver's clock - sender's clock */
    double best;   /* network time of the exchange behind offset (< 0: none yet) */
};

#define DLP__CLOCK_SYNC_INIT {0, 0, 0, -1}

/** A request arrived at t2 (receiver's clock), carrying the sender's send
 *  and receipt times of its previous exchange (0, 0: none): learn from
 *  that exchange. */
void dlp__clock_sync_request(struct dlp__clock_sync *s, double t2, double prev_sent,
                             double prev_taken);

/** Its reply went out at t3; sent: the request's send time on the sender's
 *  clock. The latency sent -> answered on the receiver's clock in
 *  *seconds, and 1; 0 while no offset is known (the sender's first
 *  request). */
int dlp__clock_sync_answered(struct dlp__clock_sync *s, double t3, double sent, double *seconds);

#endif
