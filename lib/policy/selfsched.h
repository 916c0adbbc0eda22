/* The self-scheduling family as pure chunk-size functions: no MPI, no
 * OpenMP, no globals, no allocation. One state per call and per level: the
 * master handing chunks to nodes (workers = nodes, weight = a node's
 * threads) and a rank handing chunks to its threads (workers = threads)
 * use the same functions. The state only sizes chunks; where a chunk starts
 * is the caller's running offset (n - remaining before the call).
 *
 * Policies (P workers, R items remaining, m the smallest chunk: at least
 * dlp__schedule_min_chunk(n), so no call has more than DLP__MAX_CHUNKS
 * chunks; every chunk is then cut to R):
 *
 *   static   ceil(n/P) per request: at most P chunks, in request order.
 *   fixed:K  K per request.
 *   gss      guided self-scheduling: ceil(R/P); gss:K raises m to K.
 *   tss      trapezoid self-scheduling: first f = ceil(n/(2P)), last l = m,
 *            C = ceil(2n/(f+l)) chunks, decrement d = (f-l)/(C-1), chunk
 *            k (from 0) = ceil(f - k*d) = f - floor(k*(f-l)/(C-1)), l once
 *            k >= C. Rounding up keeps every chunk at or above the exact
 *            trapezoid, whose C chunks sum to C(f+l)/2 >= n; unlike a d
 *            rounded down to an integer, small n (f-l < C-1, d < 1) still
 *            decreases instead of degenerating to fixed chunks of f.
 *   fac2     factoring: batches of P chunks (counted in requests); the
 *            batch that starts with R_b items remaining hands out
 *            ceil(R_b/(2P)) per chunk, about half of R_b in all.
 *   wf       weighted factoring: fac2 batches, each chunk scaled by the
 *            requester's weight relative to the mean weight:
 *            ceil(R_b * weight / (2 * weight_sum)); fac2 while either is
 *            unknown.
 *   awf      adaptive weighted factoring: wf with the measured rates as
 *            the weights (rate / rate_sum); wf while either is unknown.
 *   auto     rate-adaptive factoring, the policy of dlp__schedule_chunk():
 *            min(ceil(R * weight / (2 * weight_sum)), cap), cap =
 *            ceil(rate * target) items, ceil(weight) while the rate is
 *            unknown (one item per thread when the weight is the thread
 *            count). The default: factoring's chunks shrink geometrically
 *            (O(P log n) requests when the cap does not bind) and the call
 *            still ends with small chunks that even out the finish; the
 *            cap bounds every chunk to `target` seconds of work at the
 *            requester's measured rate (so at most about one request per
 *            target seconds per worker beyond that), and nothing is handed
 *            out in bulk before a rate is known, so expensive leading
 *            items never sit in one big block (gss's first chunk is n/P,
 *            static's is n/P for good); the thread share adapts it to
 *            uneven nodes; and it needs no parameter and nothing about the
 *            other workers but the thread total (wf needs every weight,
 *            awf every rate).
 *
 * Unknown (<= 0) inputs: weight 1; weight_sum P * weight; rate and
 * rate_sum: none (see the fallbacks above). A weight_sum below the weight
 * counts as the weight (the requester is all there is), a rate_sum below
 * the rate as the rate, as dlp__schedule_chunk() does with total_threads.
 * With weight = node threads and weight_sum = total threads, auto returns
 * exactly dlp__schedule_chunk(DLP_SCHEDULE_AUTO, ..) for the same remaining,
 * n, rate and chunk_time = target (tests/test_selfsched.c compares them).
 *
 * The thread level (a node's threads claiming from the node's cursor,
 * lib/node/cursor.h) runs these policies over rounds: a round's n is the node's
 * backlog (items the node was given and no thread has claimed) when the
 * previous round's items are all claimed, P the node's threads; there wf
 * is fac2 (threads weigh alike) and auto is not used (the thread level's
 * auto is the batched claims of lib/call/take.c).
 *
 * Threads: one thread at a time per state (the caller's lock). */
#ifndef DLP_LIB_SELFSCHED_H
#define DLP_LIB_SELFSCHED_H

/** Upper bound on chunks per call: chunks are never smaller than
 *  ceil(n / DLP__MAX_CHUNKS) items, so per-node chunk tables are bounded. */
#define DLP__MAX_CHUNKS 65536L

/** Smallest chunk any policy may return for n items. */
long dlp__schedule_min_chunk(long n);

#include <stddef.h>

/** Policies; 0 is auto, so a zeroed spec is the default. */
enum dlp__ss_kind {
    DLP__SS_AUTO = 0,
    DLP__SS_STATIC,
    DLP__SS_FIXED,
    DLP__SS_GSS,
    DLP__SS_TSS,
    DLP__SS_FAC2,
    DLP__SS_WF,
    DLP__SS_AWF,
    DLP__SS_KINDS /* number of kinds */
};

/** A policy as parsed from DLP_SCHEDULE or the options. */
struct dlp__ss_spec {
    int kind; /* enum dlp__ss_kind */
    long k;   /* fixed: chunk size; gss: minimum chunk (1 without :K); else 0 */
};

/** What a requester knows when it asks for a chunk (NULL: nothing). */
struct dlp__ss_worker {
    double weight;     /* relative speed, e.g. its threads; <= 0: unknown (1) */
    double weight_sum; /* all workers' weights; <= 0: unknown (P * weight) */
    double rate;       /* its measured items per second; <= 0: unknown */
    double rate_sum;   /* all workers' measured rates; <= 0: unknown */
    double target;     /* auto: seconds of work per chunk at `rate` */
};

/** Scheduler state of one call at one level; plain struct, caller's memory. */
struct dlp__ss_state {
    int kind;         /* enum dlp__ss_kind */
    int workers;      /* P >= 1 */
    long n;           /* items of the call */
    long remaining;   /* items not handed out yet */
    long min;         /* smallest chunk (m above) */
    long chunk;       /* static, fixed: the chunk; tss: the first chunk f */
    long count;       /* tss: the chunk count C */
    long step;        /* tss: (f-l) / (C-1), rounded down ... */
    long step_rem;    /* ... and its remainder */
    long dec;         /* tss: floor(k*(f-l)/(C-1)) for the next chunk k ... */
    long dec_rem;     /* ... and its remainder (no product that overflows) */
    long handed;      /* chunks handed out so far */
    long batch_left;  /* fac2, wf, awf: chunks left in the current batch */
    long batch_start; /* fac2, wf, awf: remaining when the batch began */
};

/** Parse text into *out: exactly one of static, fixed:K, gss, gss:K, tss,
 *  fac2, wf, awf, auto (lower case; K a decimal integer >= 1, digits only;
 *  no spaces anywhere: leading or trailing spaces are rejected, not
 *  trimmed). 0 on success; -1 with a message naming the text and the
 *  accepted forms in err (if err and errlen > 0), *out untouched. */
int dlp__ss_parse(const char *text, struct dlp__ss_spec *out, char *err, size_t errlen);

/** Parse DLP_SCHEDULE's two-level text: P (both levels) or P1/P2 (node
 *  level / thread level, one '/'), each part as dlp__ss_parse() accepts it
 *  plus bare `fixed`, and with k = 0 where the part has no :K (bare fixed,
 *  gss): the caller's default chunk applies there. 0 on success with both
 *  specs set (the same spec twice for P); -1 with the reason in err (if err
 *  and errlen > 0), naming the level and quoting its part, e.g. `the thread
 *  level "gss:x": K is not a decimal integer`; the specs untouched. The
 *  caller quotes the whole text and lists the forms. */
int dlp__ss_parse_levels(const char *text, struct dlp__ss_spec *node,
                         struct dlp__ss_spec *thread, char *err, size_t errlen);

/** AWF's estimate of the workers' rate sum when the requesters are not
 *  named (no table of every worker's last rate): running means of the rate
 *  and the weight of the requests that bring a rate (over all of them up
 *  to P = workers, then exponentially with weight 1/P). The estimate is
 *  weight_sum * mean rate / mean weight: the sum of the rates when the
 *  workers ask in turn (factoring's steady state, one request per worker
 *  and batch). Unknown (<= 0) weight: 1; weight_sum: P * weight. Returns 0
 *  (unknown: AWF falls back to WF) when rate <= 0, without updating. */
struct dlp__ss_rates {
    double rate;   /* mean rate of the requests with a rate */
    double weight; /* their mean weight */
    int seen;      /* such requests, counted up to P */
};
double dlp__ss_rate_sum(struct dlp__ss_rates *e, int workers, double weight,
                        double weight_sum, double rate);

/** Name of a kind as dlp__ss_parse accepts it ("fixed" for fixed:K),
 *  "unknown" for anything else. */
const char *dlp__ss_name(int kind);

/** Start a call of n items (<= 0: none) shared by workers (<= 0: 1). */
void dlp__ss_init(struct dlp__ss_state *s, const struct dlp__ss_spec *spec, long n,
                  int workers);

/** Size of the next chunk for worker (its index in [0, workers); no policy
 *  depends on it yet), in [1, remaining], and remaining drops by it;
 *  0 once nothing remains. */
long dlp__ss_next(struct dlp__ss_state *s, int worker, const struct dlp__ss_worker *w);

#endif
