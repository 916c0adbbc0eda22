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
