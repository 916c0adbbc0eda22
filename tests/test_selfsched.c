/* Unit test of the self-scheduling family (lib/policy/selfsched.c), without MPI:
 * the parser, whole chunk sequences of every policy over a grid of n and
 * worker counts (they sum to n, each chunk in [1, remaining], the expected
 * lengths), sequences worked out by hand for small cases, and auto / fixed
 * against dlp__schedule_chunk() (lib/policy/schedule.c, compiled in); DLP_SCHEDULE's
 * two levels (P, P1/P2), AWF's rate-sum estimate, and the thread level's
 * rounds on a cursor (lib/node/cursor.c, linked in). Every failed
 * check prints the case (policy, n, P, chunk index), the expected and the
 * actual value; no timing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_check.h"

#include "dlp_mpi.h" /* DLP_SCHEDULE_AUTO, DLP_SCHEDULE_FIXED for dlp__schedule_chunk */
#include "schedule.h"
#include "selfsched.h"

/* The thread level's rounds live in lib/node/cursor.c (no MPI, no OpenMP),
 * which tests/CMakeLists.txt builds into this test. */
#include "cursor.h"

static void set_case(const char *policy, long n, int p, long chunk)
{
    check_case("%s n=%ld P=%d chunk %ld", policy, n, p, chunk);
}

#define TWO_40 (1L << 40)
#define KEPT 64 /* chunks of a sequence kept for comparisons */
#define LEN(array) ((long)(sizeof(array) / sizeof *(array)))

static struct dlp__ss_spec spec_of(const char *text)
{
    struct dlp__ss_spec s = {0};
    char err[256];
    if (dlp__ss_parse(text, &s, err, sizeof err) != 0)
        CHECK_FAIL("spec_of(\"%s\"): %s", text, err);
    return s;
}

/* What the p workers know: weights 1, 2, 3, 1, 2, 3 ...; rates 1000 and
 * 2000 items/s alternately; 10 ms of work per auto chunk. */
static void workers_info(struct dlp__ss_worker *w, int p)
{
    double weight_sum = 0, rate_sum = 0;
    for (int i = 0; i < p; i++) {
        w[i] = (struct dlp__ss_worker){
            .weight = 1 + i % 3, .rate = 1000.0 * (1 + i % 2), .target = 0.01};
        weight_sum += w[i].weight;
        rate_sum += w[i].rate;
    }
    for (int i = 0; i < p; i++) {
        w[i].weight_sum = weight_sum;
        w[i].rate_sum = rate_sum;
    }
}

#define MAX_WORKERS 128

struct run {
    long count;      /* chunks */
    long sum;        /* items in them */
    long kept[KEPT]; /* the first KEPT chunks */
    int increases;   /* times a chunk was larger than the one before */
    int below_min;   /* chunks under the smallest chunk that were not the last */
};

/* The whole sequence of spec over n items and p workers asking in turn
 * (worker k mod p); informed (p <= MAX_WORKERS): each passes its
 * workers_info(), else NULL. Checks every chunk is in [1, remaining] and
 * that an empty state stays empty. */
static struct run run_policy(const char *text, long n, int p, int informed)
{
    struct dlp__ss_spec spec = spec_of(text);
    struct dlp__ss_state s;
    dlp__ss_init(&s, &spec, n, p);
    struct run r = {0};
    struct dlp__ss_worker info[MAX_WORKERS];
    if (informed && p > MAX_WORKERS) {
        fprintf(stderr, "run_policy: informed runs take at most %d workers\n", MAX_WORKERS);
        exit(2);
    }
    if (informed)
        workers_info(info, p);
    long min = dlp__schedule_min_chunk(n > 0 ? n : 0);
    long prev = 0;
    while (s.remaining > 0) {
        int worker = (int)(r.count % p);
        long before = s.remaining;
        long c = dlp__ss_next(&s, worker, informed ? &info[worker] : NULL);
        set_case(text, n, p, r.count);
        if (!CHECK(c >= 1 && c <= before, c, before) ||
            !CHECK_EQ(s.remaining, before - c))
            break;
        if (r.count < KEPT)
            r.kept[r.count] = c;
        if (r.count > 0 && c > prev)
            r.increases++;
        if (c < min && c != before)
            r.below_min++;
        prev = c;
        r.sum += c;
        r.count++;
    }
    set_case(text, n, p, r.count);
    CHECK_EQ(dlp__ss_next(&s, 0, NULL), 0);
    CHECK_EQ(dlp__ss_next(&s, p - 1, NULL), 0);
    CHECK_EQ(s.remaining, 0);
    return r;
}

static long ceil_div(long a, long b)
{
    return a / b + (a % b != 0);
}

static long max_long(long a, long b)
{
    return a > b ? a : b;
}

/* c raised to lo, cut to n: a first chunk */
static long first_chunk(long c, long lo, long n)
{
    c = max_long(c, lo);
    return c < n ? c : n;
}

/* The grid: every policy, n in {0, 1, 2, 7, 100, 1000, 1e6, 2^40}, P in
 * {1, 2, 3, 8, 64}, workers informed or not. */
static void test_grid(void)
{
    static const char *const policies[] = {"static", "fixed:1", "fixed:7", "fixed:1000",
                                           "gss",    "gss:5",   "tss",     "fac2",
                                           "wf",     "awf",     "auto"};
    static const long ns[] = {0, 1, 2, 7, 100, 1000, 1000000, TWO_40};
    static const int ps[] = {1, 2, 3, 8, 64};
    for (size_t a = 0; a < sizeof policies / sizeof *policies; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t c = 0; c < sizeof ps / sizeof *ps; c++)
                for (int informed = 0; informed < 2; informed++) {
                    const char *text = policies[a];
                    long n = ns[b];
                    int p = ps[c];
                    struct run r = run_policy(text, n, p, informed);
                    long min = dlp__schedule_min_chunk(n);
                    set_case(text, n, p, -1);
                    CHECK_EQ(r.sum, n);
                    /* every chunk but the last is at least the smallest,
                     * so a call never has more than DLP__MAX_CHUNKS */
                    CHECK_EQ(r.below_min, 0);
                    CHECK(r.count <= ceil_div(n, min), r.count, ceil_div(n, min));
                    CHECK(r.count <= DLP__MAX_CHUNKS, r.count, DLP__MAX_CHUNKS);
                    if (strcmp(text, "static") == 0) {
                        /* ceil(n/P) each (at least the smallest chunk) */
                        long want = n ? ceil_div(n, max_long(ceil_div(n, p), min)) : 0;
                        CHECK_EQ(r.count, want);
                        CHECK(r.count <= p, r.count, p);
                    } else if (strncmp(text, "fixed:", 6) == 0) {
                        long k = atol(text + 6);
                        CHECK_EQ(r.count, ceil_div(n, max_long(k, min)));
                    } else if (strncmp(text, "gss", 3) == 0 || strcmp(text, "tss") == 0 ||
                               strcmp(text, "fac2") == 0) {
                        /* ceil(R/P), the trapezoid and the fac2 batches
                         * never grow; wf / awf with unequal weights may */
                        CHECK_EQ(r.increases, 0);
                        /* first chunks: gss ceil(n/P), fac2 ceil(n/(2P)),
                         * tss f = ceil(n/(2P)) as well */
                        long lo = strcmp(text, "gss:5") == 0 ? max_long(5, min) : min;
                        long per = ceil_div(n, (strncmp(text, "gss", 3) == 0 ? 1L : 2L) * p);
                        if (n > 0)
                            CHECK_EQ(r.kept[0], first_chunk(per, lo, n));
                    }
                }
}

/* Compare a run's first chunks with a list worked out by hand. */
static void check_sequence(const char *what, const struct run *r, const long *want,
                           long count)
{
    check_case("%s: chunk count", what);
    CHECK_EQ(r->count, count);
    for (long i = 0; i < count && i < KEPT; i++) {
        check_case("%s: chunk %ld", what, i);
        CHECK_EQ(r->kept[i], want[i]);
    }
}

#define SEQUENCE(what, run, ...)                                                             \
    do {                                                                                     \
        static const long want_[] = {__VA_ARGS__};                                           \
        check_sequence(what, run, want_, LEN(want_));                                        \
    } while (0)

/* Known sequences, each worked out by hand below. */
static void test_sequences(void)
{
    struct run r;
    /* static: ceil(7/3) = 3, 3, then the 1 left; ceil(2/3) = 1: two chunks
     * for three workers (the third gets nothing). */
    r = run_policy("static", 7, 3, 0);
    SEQUENCE("static n=7 P=3", &r, 3, 3, 1);
    r = run_policy("static", 2, 3, 0);
    SEQUENCE("static n=2 P=3", &r, 1, 1);
    /* 2^40 items over 100000 workers: ceil(n/P) = 10995117 is below the
     * smallest chunk 2^40 / 65536 = 2^24, so 65536 chunks of 2^24. */
    r = run_policy("static", TWO_40, 100000, 0);
    check_case("static n=2^40 P=100000");
    CHECK_EQ(r.count, 65536);
    CHECK_EQ(r.kept[0], 1L << 24);
    /* tss there: f = ceil(n/(2P)) = 5497559 is below l = 2^24 too, so f = l,
     * d = 0 and again 65536 chunks of 2^24 */
    r = run_policy("tss", TWO_40, 100000, 0);
    check_case("tss n=2^40 P=100000");
    CHECK_EQ(r.count, 65536);
    CHECK_EQ(r.kept[0], 1L << 24);
    CHECK_EQ(r.kept[KEPT - 1], 1L << 24);
    CHECK_EQ(r.increases, 0);

    /* fixed:3 on 10: 3, 3, 3 and the 1 left. */
    r = run_policy("fixed:3", 10, 4, 0);
    SEQUENCE("fixed:3 n=10", &r, 3, 3, 3, 1);

    /* GSS n=100 P=4, ceil(R/4): R = 100 75 56 42 31 23 17 12 9 6 4 3 2 1
     * gives 25 19 14 11 8 6 5 3 3 2 1 1 1 1. */
    r = run_policy("gss", 100, 4, 0);
    SEQUENCE("gss n=100 P=4", &r, 25, 19, 14, 11, 8, 6, 5, 3, 3, 2, 1, 1, 1, 1);
    /* gss:5: the same until R = 12 (ceil 3, raised to 5), R = 7 (2 -> 5),
     * then the 2 left. */
    r = run_policy("gss:5", 100, 4, 0);
    SEQUENCE("gss:5 n=100 P=4", &r, 25, 19, 14, 11, 8, 6, 5, 5, 5, 2);
    /* a minimum above n: one chunk */
    r = run_policy("gss:500", 100, 4, 0);
    SEQUENCE("gss:500 n=100 P=4", &r, 100);

    /* TSS n=1000 P=4: f = ceil(1000/8) = 125, l = 1, C = ceil(2000/126) =
     * 16, d = 124/15 = 8.27; chunk k = 125 - floor(124k/15):
     * 125 117 109 101 92 84 76 68 59 51 43 35 26 18 10 1, running sums
     * 125 ... 960 986 1004: the 14th chunk is cut to the 14 left. (With d
     * rounded down to 8 it would be 125 117 109 101 93 ...; see
     * selfsched.h for why d is not rounded.) */
    r = run_policy("tss", 1000, 4, 0);
    SEQUENCE("tss n=1000 P=4", &r, 125, 117, 109, 101, 92, 84, 76, 68, 59, 51, 43, 35, 26,
             14);
    /* TSS n=100 P=4: f = 13, C = ceil(200/14) = 15, d = 12/14; chunk k =
     * 13 - floor(12k/14): 13 13 12 11 10 9 8 7 7 6 5 (sums 13 26 38 49 59
     * 68 76 83 90 96 101): the 11th cut to 4. */
    r = run_policy("tss", 100, 4, 0);
    SEQUENCE("tss n=100 P=4", &r, 13, 13, 12, 11, 10, 9, 8, 7, 7, 6, 4);
    /* P = 1, n = 2: f = 1, l = 1, C = 2, d = 0: 1 1. */
    r = run_policy("tss", 2, 1, 0);
    SEQUENCE("tss n=2 P=1", &r, 1, 1);

    /* FAC2 n=1000 P=4: batches of 4 chunks of ceil(R/8): R = 1000 -> 125,
     * 500 -> 63 (4 x 63 = 252), 248 -> 31, 124 -> 16, 60 -> 8, 28 -> 4,
     * 12 -> 2, 4 -> 1. */
    r = run_policy("fac2", 1000, 4, 0);
    SEQUENCE("fac2 n=1000 P=4", &r, 125, 125, 125, 125, 63, 63, 63, 63, 31, 31, 31, 31, 16,
             16, 16, 16, 8, 8, 8, 8, 4, 4, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1);
    /* FAC2 n=100 P=4: R = 100 -> 13 (52), 48 -> 6, 24 -> 3, 12 -> 2, 4 -> 1. */
    r = run_policy("fac2", 100, 4, 0);
    SEQUENCE("fac2 n=100 P=4", &r, 13, 13, 13, 13, 6, 6, 6, 6, 3, 3, 3, 3, 2, 2, 2, 2, 1, 1,
             1, 1);
}

/* One two-worker run of spec on 1000 items where worker i passes info[i]. */
static struct run run_two(const char *text, const struct dlp__ss_worker info[2])
{
    struct dlp__ss_spec spec = spec_of(text);
    struct dlp__ss_state s;
    dlp__ss_init(&s, &spec, 1000, 2);
    struct run r = {0};
    long c;
    while ((c = dlp__ss_next(&s, (int)(r.count % 2), &info[r.count % 2])) > 0) {
        if (r.count < KEPT)
            r.kept[r.count] = c;
        r.sum += c;
        r.count++;
    }
    return r;
}

/* WF with weights {1, 3} (sum 4), two workers on 1000 items: batch b hands
 * worker 0 ceil(R_b / 8) and worker 1 ceil(3 R_b / 8): R_b = 1000 -> 125,
 * 375; 500 -> 63 (62.5), 188 (187.5); 249 -> 32, 94; 123 -> 16, 47; 60 ->
 * 8, 23; 29 -> 4, 11; 14 -> 2, 6; 6 -> 1, 3; 2 -> 1, 1. AWF gives the same
 * with rates {100, 300} (sum 400), and the rates win over the weights. */
static void test_weighted(void)
{
    static const long wf[] = {125, 375, 63, 188, 32, 94, 16, 47, 8,
                              23,  4,   11, 2,  6,   1,  3,  1,  1};
    /* wf ignores rates, fac2 ignores both, awf knowing nothing is fac2:
     * batches of two ceil(R_b / 4): 1000 -> 250, 500 -> 125, 250 -> 63,
     * 124 -> 31, 62 -> 16, 30 -> 8, 14 -> 4, 6 -> 2, 2 -> 1 */
    static const long fac2[] = {250, 250, 125, 125, 63, 63, 31, 31, 16,
                                16,  8,   8,   4,   4,  2,  2,  1,  1};
    /* a sum below the requester's own value counts as that value: half of
     * what remained at the batch start, as if it were alone */
    static const long alone[] = {500, 500};
    static const struct dlp__ss_worker weights[2] = {{.weight = 1, .weight_sum = 4},
                                                     {.weight = 3, .weight_sum = 4}};
    static const struct dlp__ss_worker rates[2] = {{.rate = 100, .rate_sum = 400},
                                                   {.rate = 300, .rate_sum = 400}};
    static const struct dlp__ss_worker both[2] = {
        {.weight = 3, .weight_sum = 4, .rate = 100, .rate_sum = 400},
        {.weight = 1, .weight_sum = 4, .rate = 300, .rate_sum = 400}};
    static const struct dlp__ss_worker none[2] = {{.weight = 0}, {.weight = 0}};
    static const struct dlp__ss_worker over[2] = {{.weight = 2, .weight_sum = 1},
                                                  {.weight = 2, .weight_sum = 1}};
    static const struct {
        const char *what;
        const char *text;
        const struct dlp__ss_worker *info;
        const long *want;
        long count;
    } cases[] = {
        {"wf weights {1,3}", "wf", weights, wf, LEN(wf)},
        {"awf rates {100,300}", "awf", rates, wf, LEN(wf)},
        {"awf rates {100,300} over weights {3,1}", "awf", both, wf, LEN(wf)},
        {"awf weights {1,3}, no rates yet: wf", "awf", weights, wf, LEN(wf)},
        {"wf with rates only", "wf", rates, fac2, LEN(fac2)},
        {"fac2 with weights and rates", "fac2", both, fac2, LEN(fac2)},
        {"awf knowing nothing", "awf", none, fac2, LEN(fac2)},
        {"wf weight_sum below the weight", "wf", over, alone, LEN(alone)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct run r = run_two(cases[i].text, cases[i].info);
        check_sequence(cases[i].what, &r, cases[i].want, cases[i].count);
        if (cases[i].want != wf)
            continue;
        /* the heavier worker's chunk is 3 times the other's, up to rounding */
        for (long k = 0; k + 1 < r.count; k += 2) {
            check_case("%s: batch %ld", cases[i].what, k / 2);
            CHECK(labs(r.kept[k + 1] - 3 * r.kept[k]) <= 3, r.kept[k + 1], r.kept[k]);
        }
    }
}

/* wf and awf knowing nothing are fac2, chunk for chunk, on the whole grid. */
static void test_fallbacks(void)
{
    static const long ns[] = {1, 2, 7, 100, 1000, 1000000, TWO_40};
    static const int ps[] = {1, 2, 3, 8, 64};
    static const char *const texts[] = {"wf", "awf"};
    struct dlp__ss_spec fac2 = spec_of("fac2");
    for (size_t t = 0; t < 2; t++) {
        struct dlp__ss_spec spec = spec_of(texts[t]);
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
            for (size_t b = 0; b < sizeof ps / sizeof *ps; b++) {
                struct dlp__ss_state x, y;
                dlp__ss_init(&x, &spec, ns[a], ps[b]);
                dlp__ss_init(&y, &fac2, ns[a], ps[b]);
                for (long k = 0;; k++) {
                    long cx = dlp__ss_next(&x, (int)(k % ps[b]), NULL);
                    long cy = dlp__ss_next(&y, (int)(k % ps[b]), NULL);
                    set_case(texts[t], ns[a], ps[b], k);
                    if (!CHECK_EQ(cx, cy) || cx == 0)
                        break;
                }
            }
    }
}

/* auto and fixed:K against dlp__schedule_chunk() on a grid: node threads,
 * total threads (also below the node's: both take the node's), rates
 * (0 = unknown), chunk times, n; the state's remaining feeds the request.
 * total_threads <= 0 is left out: dlp__schedule_chunk() takes it as the
 * node alone, the state as P workers like the requester (the dispatcher
 * always passes the sum of all threads, >= 1). Last, a pass where the rate
 * changes from request to request, as measurements come in. */
static void test_auto_matches_schedule(void)
{
    static const long ns[] = {1, 2, 7, 100, 1000, 100000, TWO_40, 1L << 62};
    static const int nts[] = {1, 2, 3, 8};
    static const int tts[] = {1, 5, 24, 64};
    static const double rates[] = {0, 1, 37.5, 1e4, 1e9};
    static const double times[] = {0, 0.001, 0.01, 2};
    struct dlp__ss_spec spec = spec_of("auto");
    long compared = 0;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof nts / sizeof *nts; b++)
            for (size_t c = 0; c < sizeof tts / sizeof *tts; c++)
                for (size_t d = 0; d <= sizeof rates / sizeof *rates; d++)
                    for (size_t e = 0; e < sizeof times / sizeof *times; e++) {
                        long n = ns[a];
                        struct dlp__ss_state s;
                        dlp__ss_init(&s, &spec, n, 4);
                        for (long k = 0; s.remaining > 0; k++) {
                            /* d == the rate count: the rate changes every time */
                            double rate = d < sizeof rates / sizeof *rates
                                              ? rates[d]
                                              : rates[k % (long)(sizeof rates / sizeof *rates)];
                            struct dlp__sched_request q = {.remaining = s.remaining,
                                                           .n = n,
                                                           .node_threads = nts[b],
                                                           .total_threads = tts[c],
                                                           .rate = rate};
                            struct dlp__ss_worker w = {.weight = nts[b],
                                                       .weight_sum = tts[c],
                                                       .rate = rate,
                                                       .target = times[e]};
                            long want = dlp__schedule_chunk(DLP_SCHEDULE_AUTO, 0, times[e], &q);
                            long got = dlp__ss_next(&s, 0, &w);
                            compared++;
                            if (got != want) {
                                check_case("auto n=%ld threads %d of %d rate %g time %g "
                                           "chunk %ld",
                                           n, nts[b], tts[c], rate, times[e], k);
                                CHECK_EQ(got, want);
                                break;
                            }
                        }
                    }
    check_case("auto vs dlp__schedule_chunk: %ld chunks compared", compared);
    CHECK(compared > 100000, compared, 100000);
    check_counted(compared);

    static const long ks[] = {1, 3, 1000, 1L << 30};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof ks / sizeof *ks; b++) {
            char text[40];
            snprintf(text, sizeof text, "fixed:%ld", ks[b]);
            struct dlp__ss_spec fixed = spec_of(text);
            struct dlp__ss_state s;
            dlp__ss_init(&s, &fixed, ns[a], 3);
            for (long k = 0; s.remaining > 0; k++) {
                struct dlp__sched_request q = {
                    .remaining = s.remaining, .n = ns[a], .node_threads = 2, .total_threads = 6};
                long want = dlp__schedule_chunk(DLP_SCHEDULE_FIXED, ks[b], 0.01, &q);
                set_case(text, ns[a], 3, k);
                if (!CHECK_EQ(dlp__ss_next(&s, 0, NULL), want))
                    break;
            }
        }
}

/* auto's pieces one at a time, 1000 items, 4 workers. */
static void test_auto_cases(void)
{
    struct dlp__ss_spec spec = spec_of("auto");
    struct dlp__ss_state s;
    struct {
        const char *what;
        struct dlp__ss_worker w;
        long want;
    } cases[] = {
        /* rate unknown: one item per thread (weight 4 -> 4) */
        {"no rate, 4 threads", {.weight = 4, .weight_sum = 16}, 4},
        /* nothing known: weight 1, one item */
        {"nothing known", {.weight = 0}, 1},
        /* 4 of 16 threads, fast: half the share, ceil(1000 * 4 / 32) = 125 */
        {"fast, share 4/16", {.weight = 4, .weight_sum = 16, .rate = 1e9, .target = 0.01}, 125},
        /* the cap: 1000 items/s x 10 ms = 10 items */
        {"capped at 10 ms", {.weight = 4, .weight_sum = 16, .rate = 1000, .target = 0.01}, 10},
        /* weight_sum unknown: P = 4 workers like it, ceil(1000 / 8) = 125 */
        {"sum unknown", {.weight = 2, .rate = 1e9, .target = 1}, 125},
        /* weight_sum below the weight: alone, half of all = 500 */
        {"sum below weight", {.weight = 8, .weight_sum = 2, .rate = 1e9, .target = 1}, 500},
        /* a cap of 0 (target 0) is raised to one item */
        {"target 0", {.weight = 4, .weight_sum = 16, .rate = 1e9}, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dlp__ss_init(&s, &spec, 1000, 4);
        check_case("auto n=1000 P=4: %s", cases[i].what);
        CHECK_EQ(dlp__ss_next(&s, 0, &cases[i].w), cases[i].want);
        CHECK_EQ(s.remaining, 1000 - cases[i].want);
    }
}

/* Degenerate inputs: n <= 0, workers <= 0, a spec out of range. */
static void test_edges(void)
{
    struct dlp__ss_state s;
    struct dlp__ss_spec gss = spec_of("gss");
    dlp__ss_init(&s, &gss, -5, 3);
    check_case("gss n=-5");
    CHECK_EQ(s.remaining, 0);
    CHECK_EQ(dlp__ss_next(&s, 0, NULL), 0);
    dlp__ss_init(&s, &gss, 10, 0);
    check_case("gss n=10 workers=0 (taken as 1)");
    CHECK_EQ(s.workers, 1);
    CHECK_EQ(dlp__ss_next(&s, 0, NULL), 10);
    struct dlp__ss_spec odd = {.kind = 99};
    dlp__ss_init(&s, &odd, 10, 2);
    check_case("kind 99 (taken as auto)");
    CHECK_EQ(s.kind, DLP__SS_AUTO);
    /* ceil(n / 2^16) up to n = LONG_MAX (it was (n + 65535) / 65536: a
     * signed overflow, negative for n near LONG_MAX) */
    check_case("the smallest chunk near LONG_MAX");
    CHECK_EQ(dlp__schedule_min_chunk(LONG_MAX), 1L << 47);
    CHECK_EQ(dlp__schedule_min_chunk(LONG_MAX - 65534), 1L << 47);
    CHECK_EQ(dlp__schedule_min_chunk(LONG_MAX - 65535), (1L << 47) - 1);
    CHECK_EQ(dlp__schedule_min_chunk(LONG_MAX - 65536), (1L << 47) - 1);
    CHECK_EQ(dlp__schedule_min_chunk(DLP__MAX_CHUNKS + 1), 2);
    CHECK_EQ(dlp__schedule_min_chunk(DLP__MAX_CHUNKS), 1);
    /* every policy over n = LONG_MAX: the chunks add up to n, none below the
     * smallest but the last, so no more than DLP__MAX_CHUNKS */
    static const char *const all[] = {"static", "fixed:1", "gss", "gss:5", "tss",
                                      "fac2",   "wf",      "awf", "auto"};
    for (size_t a = 0; a < sizeof all / sizeof *all; a++)
        for (int informed = 0; informed < 2; informed++) {
            struct run r = run_policy(all[a], LONG_MAX, 8, informed);
            set_case(all[a], LONG_MAX, 8, -1);
            CHECK_EQ(r.sum, LONG_MAX);
            CHECK_EQ(r.below_min, 0);
            CHECK(r.count <= DLP__MAX_CHUNKS, r.count, DLP__MAX_CHUNKS);
        }
    struct dlp__ss_spec fixed0 = {.kind = DLP__SS_FIXED, .k = 0};
    dlp__ss_init(&s, &fixed0, 10, 2);
    check_case("fixed with k = 0 (taken as 1)");
    CHECK_EQ(dlp__ss_next(&s, 0, NULL), 1);
    /* the smallest chunk for n = 2^40 is 2^24: gss's tail (ceil(R/64)
     * falls below it once R < 2^30), auto's one item per thread and fixed:1
     * are raised to it, so it is the smallest chunk but the last; tss's
     * trapezoid ends at l = 2^24, its chunks stay above it */
    static const char *const texts[] = {"gss", "auto", "fixed:1", "tss"};
    for (size_t i = 0; i < 4; i++) {
        struct dlp__ss_spec spec = spec_of(texts[i]);
        dlp__ss_init(&s, &spec, TWO_40, 64);
        long c = 0, smallest = TWO_40;
        while ((c = dlp__ss_next(&s, 0, NULL)) > 0)
            if (s.remaining > 0 && c < smallest)
                smallest = c;
        set_case(texts[i], TWO_40, 64, -1);
        if (i < 3)
            CHECK_EQ(smallest, 1L << 24);
        else
            CHECK(smallest > 1L << 24, smallest, 1L << 24);
    }
}

static void test_parse(void)
{
    static const struct {
        const char *text;
        int kind;
        long k;
    } good[] = {
        {"static", DLP__SS_STATIC, 0}, {"fixed:1", DLP__SS_FIXED, 1},
        {"fixed:64", DLP__SS_FIXED, 64}, {"fixed:007", DLP__SS_FIXED, 7},
        {"fixed:9223372036854775807", DLP__SS_FIXED, 9223372036854775807L},
        {"gss", DLP__SS_GSS, 1},       {"gss:1", DLP__SS_GSS, 1},
        {"gss:16", DLP__SS_GSS, 16},   {"tss", DLP__SS_TSS, 0},
        {"fac2", DLP__SS_FAC2, 0},     {"wf", DLP__SS_WF, 0},
        {"awf", DLP__SS_AWF, 0},       {"auto", DLP__SS_AUTO, 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct dlp__ss_spec s = {.kind = -1, .k = -1};
        char err[256] = "";
        check_case("parse \"%s\"", good[i].text);
        CHECK_EQ(dlp__ss_parse(good[i].text, &s, err, sizeof err), 0);
        CHECK_EQ(s.kind, good[i].kind);
        CHECK_EQ(s.k, good[i].k);
        CHECK_EQ(strlen(err), 0);
    }
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"", "no policy given"},
        {"GSS", "unknown policy"},
        {"Auto", "unknown policy"},
        {"guided", "unknown policy"},
        {"fac", "unknown policy"},
        {"fac2x", "unknown policy"},
        {"gs", "unknown policy"},
        {":4", "unknown policy"},
        {" gss", "leading or trailing spaces"},
        {"gss ", "leading or trailing spaces"},
        {"\tauto", "leading or trailing spaces"},
        {"fixed", "fixed needs its chunk size, fixed:K"},
        {"fixed:", "K is not a decimal integer"},
        {"fixed:0", "K must be at least 1"},
        {"gss:0", "K must be at least 1"},
        {"fixed:-3", "K is not a decimal integer"},
        {"fixed:+3", "K is not a decimal integer"},
        {"fixed: 3", "K is not a decimal integer"},
        {"fixed:3 ", "leading or trailing spaces"},
        {"fixed:3x", "K is not a decimal integer"},
        {"fixed:1e3", "K is not a decimal integer"},
        {"gss:4:5", "K is not a decimal integer"},
        {"fixed:9223372036854775808", "K is too large"},
        {"static:4", "this policy takes no :K"},
        {"tss:2", "this policy takes no :K"},
        {"auto:1", "this policy takes no :K"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct dlp__ss_spec s = {.kind = 77, .k = 77};
        char err[512] = "";
        check_case("parse \"%s\"", bad[i].text);
        CHECK_EQ(dlp__ss_parse(bad[i].text, &s, err, sizeof err), -1);
        CHECK_EQ(s.kind, 77); /* untouched */
        CHECK_EQ(s.k, 77);
        char quoted[80];
        snprintf(quoted, sizeof quoted, "schedule \"%s\": ", bad[i].text);
        CHECK_HAS(err, quoted);
        CHECK_HAS(err, bad[i].why);
        CHECK_HAS(err, "accepted: static, fixed:K, gss, gss:K, tss, fac2, wf, awf, auto "
                       "(K an integer >= 1)");
    }
    struct dlp__ss_spec s = {0};
    char err[512];
    check_case("parse NULL");
    CHECK_EQ(dlp__ss_parse(NULL, &s, err, sizeof err), -1);
    CHECK_HAS(err, "schedule (null): no policy given");
    /* no room for a message, or a small one: no overflow, still -1 */
    check_case("parse with err NULL / errlen 8");
    CHECK_EQ(dlp__ss_parse("bogus", &s, NULL, 0), -1);
    char small[8] = "xxxxxxx";
    CHECK_EQ(dlp__ss_parse("bogus", &s, small, sizeof small), -1);
    CHECK_EQ(strlen(small), 7);
    /* a long text is quoted up to 64 bytes, then "..." */
    char longtext[200];
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    check_case("parse a 199-byte text");
    CHECK_EQ(dlp__ss_parse(longtext, &s, err, sizeof err), -1);
    CHECK_HAS(err, "aaaa...\": unknown policy");
    CHECK(strlen(err) < 250, strlen(err), 250);

    /* every name parses back to its kind (fixed with its :K) */
    for (int kind = 0; kind < DLP__SS_KINDS; kind++) {
        char text[32];
        snprintf(text, sizeof text, "%s%s", dlp__ss_name(kind), kind == DLP__SS_FIXED ? ":2" : "");
        check_case("name of kind %d: \"%s\"", kind, text);
        CHECK_EQ(dlp__ss_parse(text, &s, NULL, 0), 0);
        CHECK_EQ(s.kind, kind);
    }
    check_case("names out of range");
    CHECK_EQ(strcmp(dlp__ss_name(-1), "unknown"), 0);
    CHECK_EQ(strcmp(dlp__ss_name(DLP__SS_KINDS), "unknown"), 0);
}

/* DLP_SCHEDULE's two levels: P for both, P1/P2; bare fixed and gss give
 * k = 0 (the caller's default); errors name the level and quote its part,
 * and leave the specs untouched. */
static void test_parse_levels(void)
{
    static const struct {
        const char *text;
        int node, thread;
        long node_k, thread_k;
    } good[] = {
        {"fac2", DLP__SS_FAC2, DLP__SS_FAC2, 0, 0},
        {"fixed:64", DLP__SS_FIXED, DLP__SS_FIXED, 64, 64},
        {"fixed", DLP__SS_FIXED, DLP__SS_FIXED, 0, 0},
        {"gss", DLP__SS_GSS, DLP__SS_GSS, 0, 0},
        {"fac2/static", DLP__SS_FAC2, DLP__SS_STATIC, 0, 0},
        {"auto/gss:4", DLP__SS_AUTO, DLP__SS_GSS, 0, 4},
        {"fixed:64/fixed:1", DLP__SS_FIXED, DLP__SS_FIXED, 64, 1},
        {"gss:3/fixed", DLP__SS_GSS, DLP__SS_FIXED, 3, 0},
        {"static/auto", DLP__SS_STATIC, DLP__SS_AUTO, 0, 0},
        {"awf/awf", DLP__SS_AWF, DLP__SS_AWF, 0, 0},
        {"tss/wf", DLP__SS_TSS, DLP__SS_WF, 0, 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct dlp__ss_spec a = {77, 77}, b = {77, 77};
        char err[256] = "";
        check_case("parse levels \"%s\"", good[i].text);
        CHECK_EQ(dlp__ss_parse_levels(good[i].text, &a, &b, err, sizeof err), 0);
        CHECK_EQ(a.kind, good[i].node);
        CHECK_EQ(a.k, good[i].node_k);
        CHECK_EQ(b.kind, good[i].thread);
        CHECK_EQ(b.k, good[i].thread_k);
        CHECK_EQ(strlen(err), 0);
    }
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"bogus", "\"bogus\": unknown policy"},
        {"fixed:0", "\"fixed:0\": K must be at least 1"},
        {"fac2/", "the thread level \"\": no policy given"},
        {"/gss", "the node level \"\": no policy given"},
        {"/", "the node level \"\": no policy given"},
        {"fac2/gss:x", "the thread level \"gss:x\": K is not a decimal integer"},
        {"bogus/fac2", "the node level \"bogus\": unknown policy"},
        {"fac2/ gss", "the thread level \" gss\": leading or trailing spaces"},
        {"fac2 /gss", "the node level \"fac2 \": leading or trailing spaces"},
        {"static:2/auto", "the node level \"static:2\": this policy takes no :K"},
        {"auto/fixed:99999999999999999999", "the thread level \"fixed:99999999999999999999\": "
                                            "K is too large"},
        {"fac2/gss/tss", "more than one '/'"},
        {"AUTO/auto", "the node level \"AUTO\": unknown policy"},
        {"", "no policy given"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct dlp__ss_spec a = {77, 77}, b = {77, 77};
        char err[256] = "";
        check_case("parse levels \"%s\" is rejected", bad[i].text);
        CHECK_EQ(dlp__ss_parse_levels(bad[i].text, &a, &b, err, sizeof err), -1);
        CHECK_EQ(a.kind, 77);
        CHECK_EQ(a.k, 77);
        CHECK_EQ(b.kind, 77);
        CHECK_EQ(b.k, 77);
        CHECK_HAS(err, bad[i].why);
    }
    struct dlp__ss_spec a, b;
    check_case("parse levels NULL, err NULL");
    CHECK_EQ(dlp__ss_parse_levels(NULL, &a, &b, NULL, 0), -1);
    CHECK_EQ(dlp__ss_parse_levels("x/y", &a, &b, NULL, 0), -1);
    /* a long part is quoted up to 64 bytes, then "..." */
    char longtext[200] = "auto/";
    memset(longtext + 5, 'a', sizeof longtext - 6);
    longtext[sizeof longtext - 1] = '\0';
    char err[512];
    check_case("parse levels, a 194-byte thread part");
    CHECK_EQ(dlp__ss_parse_levels(longtext, &a, &b, err, sizeof err), -1);
    CHECK_HAS(err, "the thread level \"aaaa");
    CHECK_HAS(err, "aaa...\": unknown policy");
    CHECK(strlen(err) < 120, strlen(err), 120);
}

/* AWF's rate-sum estimate: running means up to P requests, then
 * exponential with weight 1/P; unknown rates change nothing. */
static void test_rate_sum(void)
{
    struct dlp__ss_rates e = {0};
    check_case("rate sum, P = 2, weights 1 of 2");
    CHECK_EQ(dlp__ss_rate_sum(&e, 2, 1, 2, 0), 0);  /* no rate: unknown */
    CHECK_EQ(e.seen, 0);
    CHECK_EQ(dlp__ss_rate_sum(&e, 2, 1, 2, 100), 200); /* one heard: 2 x 100 */
    CHECK_EQ(dlp__ss_rate_sum(&e, 2, 1, 2, 300), 400); /* mean 200, x 2 */
    /* seen stays at P = 2: the mean moves by half of the difference */
    CHECK_EQ(dlp__ss_rate_sum(&e, 2, 1, 2, 600), 2 * 400); /* 200 + (600-200)/2 */
    CHECK_EQ(e.seen, 2);
    /* weights 1 and 3 of 4 with rates 100 and 300: the sum 400 */
    struct dlp__ss_rates w = {0};
    check_case("rate sum, weights 1 and 3 of 4");
    CHECK_EQ(dlp__ss_rate_sum(&w, 2, 1, 4, 100), 400);   /* 4 x 100 / 1 */
    CHECK_EQ(dlp__ss_rate_sum(&w, 2, 3, 4, 300), 400);   /* 4 x 200 / 2 */
    /* unknown weight (1) and weight_sum (P x weight), workers <= 0 (1) */
    struct dlp__ss_rates u = {0};
    check_case("rate sum, nothing known but the rate");
    CHECK_EQ(dlp__ss_rate_sum(&u, 4, 0, 0, 50), 200);
    struct dlp__ss_rates v = {0};
    CHECK_EQ(dlp__ss_rate_sum(&v, 0, 0, 0, 50), 50);
    CHECK_EQ(v.seen, 1);
}

/* The thread level's rounds (lib/node/cursor.c): a round's n
 * is the cursor's backlog when the previous round is used up; chunks
 * appended during a round wait for the next; with no backlog a claim takes
 * one ticket. One thread plays all the workers. */
static long claim(struct dlp__cursor *c, const char *text, int p, double rate, long *first)
{
    struct dlp__ss_spec spec = spec_of(text);
    long count = 0;
    *first = dlp__cursor_claim(c, &spec, p, rate, &count);
    return count;
}

static void test_thread_rounds(void)
{
    struct dlp__cursor *c = malloc(dlp__cursor_bytes(8));
    if (!c) {
        fprintf(stderr, "test_thread_rounds: out of memory\n");
        exit(2);
    }
    long first, next = 0;
    /* gss over one chunk of 100, P = 4: the sequence of test_sequences */
    dlp__cursor_reset(c, 8, 1);
    dlp__cursor_append(c, 0, 100);
    static const long gss100[] = {25, 19, 14, 11, 8, 6, 5, 3, 3, 2, 1, 1, 1, 1};
    for (long k = 0; k < LEN(gss100); k++) {
        check_case("rounds: gss on 100, claim %ld", k);
        CHECK_EQ(claim(c, "gss", 4, 0, &first), gss100[k]);
        CHECK_EQ(first, next);
        next += gss100[k];
    }
    /* no backlog: one ticket (it waits for the next chunk) */
    check_case("rounds: gss, nothing backed");
    CHECK_EQ(claim(c, "gss", 4, 0, &first), 1);
    CHECK_EQ(first, 100);
    /* the next chunk: a round of its 50 minus the waiting ticket, 49 */
    dlp__cursor_append(c, 100, 50);
    check_case("rounds: gss, the next round of 49");
    CHECK_EQ(claim(c, "gss", 4, 0, &first), 13);
    CHECK_EQ(first, 101);
    CHECK_EQ(c->round.n, 49);

    /* static, P = 4: a chunk appended during a round waits for the next */
    dlp__cursor_reset(c, 8, 1);
    dlp__cursor_append(c, 0, 10);
    check_case("rounds: static, a chunk appended mid-round");
    CHECK_EQ(claim(c, "static", 4, 0, &first), 3);
    dlp__cursor_append(c, 10, 90);
    CHECK_EQ(claim(c, "static", 4, 0, &first), 3);
    CHECK_EQ(claim(c, "static", 4, 0, &first), 3);
    CHECK_EQ(claim(c, "static", 4, 0, &first), 1);
    CHECK_EQ(first, 9);
    CHECK_EQ(claim(c, "static", 4, 0, &first), 23); /* the round of 90: ceil(90/4) */
    CHECK_EQ(first, 10);
    CHECK_EQ(c->round.n, 90);

    /* fixed:7 across chunks: a round ends at its backlog */
    dlp__cursor_reset(c, 8, 1);
    dlp__cursor_append(c, 0, 10);
    check_case("rounds: fixed:7 on 10, then 5");
    CHECK_EQ(claim(c, "fixed:7", 2, 0, &first), 7);
    CHECK_EQ(claim(c, "fixed:7", 2, 0, &first), 3);
    dlp__cursor_append(c, 10, 5);
    CHECK_EQ(claim(c, "fixed:7", 2, 0, &first), 5);
    CHECK_EQ(first, 10);

    /* awf, P = 2: the first batch of two knows no rate (fac2: ceil(1000/4)
     * each); the second batch (R_b = 500) by the rates 100 and 300, sum
     * estimated 400: ceil(500 x 100 / 800) = 63, ceil(500 x 300 / 800) =
     * 188; wf at this level is fac2 */
    dlp__cursor_reset(c, 8, 1);
    dlp__cursor_append(c, 0, 1000);
    check_case("rounds: awf on 1000, P = 2");
    CHECK_EQ(claim(c, "awf", 2, 0, &first), 250);
    CHECK_EQ(claim(c, "awf", 2, 0, &first), 250);
    CHECK_EQ(claim(c, "awf", 2, 100, &first), 125); /* rate sum 2 x 100 so far */
    CHECK_EQ(claim(c, "awf", 2, 300, &first), 188);
    dlp__cursor_reset(c, 8, 1);
    dlp__cursor_append(c, 0, 1000);
    check_case("rounds: wf on 1000, P = 2 (fac2)");
    CHECK_EQ(claim(c, "wf", 2, 0, &first), 250);
    CHECK_EQ(claim(c, "wf", 2, 0, &first), 250);
    CHECK_EQ(claim(c, "wf", 2, 0, &first), 125);

    /* every policy: the claims of 3 chunks (one appended mid-round) cover
     * every ticket once, in order */
    static const char *const texts[] = {"static", "fixed:1", "fixed:7", "gss",  "gss:5",
                                        "tss",    "fac2",    "wf",      "awf"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        dlp__cursor_reset(c, 8, 1);
        dlp__cursor_append(c, 0, 1000);
        next = 0;
        for (long k = 0; next < 3000; k++) {
            if (k == 3)
                dlp__cursor_append(c, 1000, 1500);
            long avail = atomic_load(&c->avail);
            if (next == avail)
                dlp__cursor_append(c, avail, 3000 - avail);
            long count = claim(c, texts[t], 3, 100.0 * (1 + k % 3), &first);
            check_case("rounds: %s, claim %ld", texts[t], k);
            if (!CHECK_EQ(first, next) || !CHECK(count >= 1 && first + count <= 3000, count,
                                                 3000 - first))
                break;
            next += count;
        }
    }
    free(c);
}

/* The low-water mark (dlp__schedule_low_water): 2 ms of work at the rate;
 * a node without a doorbell keeps one item per thread besides; at the end
 * (at most DLP__END_ITEMS_PER_THREAD items per thread of the job left) a
 * prompt node asks only when a thread waits (-1). */
static void test_low_water(void)
{
    check_case("low water");
    /* prompt (a doorbell, or the master's own node) */
    const long e = DLP__END_ITEMS_PER_THREAD;
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 1, 100, 2), 0);     /* 9 ms items */
    CHECK_EQ(dlp__schedule_low_water(8, 800.0, 1, 100, 16), 1);    /* 1.6 items */
    CHECK_EQ(dlp__schedule_low_water(4, 1e6, 1, 1L << 30, 8), 2000);
    CHECK_EQ(dlp__schedule_low_water(4, 0.0, 1, 100, 8), 0);       /* rate unknown */
    /* polled: one item per thread at least, rounded up */
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 0, 100, 2), 1);
    CHECK_EQ(dlp__schedule_low_water(8, 800.0, 0, 100, 16), 8);
    CHECK_EQ(dlp__schedule_low_water(4, 1e6, 0, 1L << 30, 8), 2000);
    CHECK_EQ(dlp__schedule_low_water(4, 1e6 + 1, 0, 1L << 30, 8), 2001);
    CHECK_EQ(dlp__schedule_low_water(4, 1e300, 0, 1L << 30, 8), 1000000000000000L);
    /* the end of a call: e x total_threads left or fewer */
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 1, 2 * e, 2), -1);
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 1, 2 * e + 1, 2), 0);
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 1, 0, 2), -1);
    CHECK_EQ(dlp__schedule_low_water(4, 1e6, 1, 8 * e, 8), -1);
    CHECK_EQ(dlp__schedule_low_water(4, 1e6, 1, 8 * e + 1, 8), 2000);
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 1, e, 0), -1); /* 0 threads: taken as 1 */
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 1, e + 1, 0), 0);
    CHECK_EQ(dlp__schedule_low_water(1, 110.0, 0, 2 * e, 2), 1); /* polled: never -1 */
}

int main(void)
{
    test_parse_levels();
    test_rate_sum();
    test_thread_rounds();
    test_parse();
    test_sequences();
    test_weighted();
    test_auto_cases();
    test_edges();
    test_fallbacks();
    test_auto_matches_schedule();
    test_grid();
    test_low_water();
    return check_end("test_selfsched");
}
