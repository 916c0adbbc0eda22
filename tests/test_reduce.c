/* Reductions (dlp_reduce_*): sum, min and max of doubles and int64, an
 * element-wise histogram and a user operation, in every call form (managed,
 * round robin, both loop forms, the range loop form, map); skip, abort and retry with failing
 * items that contributed before they failed; the reproducible sum, bitwise
 * equal to an exact reference under every schedule policy and retry
 * history; on_all_ranks (reductions and dense results on every rank); shape
 * mismatches across ranks; misuse. */
#include "test_forms.h"

#include <math.h>
#include <stdatomic.h>

__extension__ typedef __int128 i128;


static uint64_t test_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* Doubles equal bit for bit, both printed (%a and %.17g) when not. */
#define ASSERT_DEQ(a, b)                                                             \
    do {                                                                             \
        double test__x = (a), test__y = (b);                                         \
        if (test_bits(test__x) != test_bits(test__y))                                \
            TEST_FAIL("ASSERT_DEQ(%s, %s): %s = %a (%.17g), %s = %a (%.17g)", #a, #b, #a, \
                      test__x, test__x, #b, test__y, test__y);                       \
    } while (0)

#define BINS 16
#define ATTEMPTS_MAX 4096

/* What an item contributes to, one reduction per call. */
enum kind { K_DSUM, K_DMIN, K_DMAX, K_ISUM, K_IMIN, K_IMAX, K_HIST, K_USER, K_REPRO, K_COUNT };
static const char *kind_name[K_COUNT] = {"sum double", "min double", "max double",
                                         "sum int64",  "min int64",  "max int64",
                                         "histogram",  "user op",    "sum repro"};

struct ctx {
    dlp_reduce *r;
    int kind;
    long n;
    int fail_mod;           /* items with i % fail_mod == 3 fail (0: none) */
    int fail_once_per_rank; /* ... only on their first run on each rank */
    int use_item_fail;      /* fail with dlp_item_fail instead of a return value */
    _Atomic int attempts[ATTEMPTS_MAX];
};

/* Item i's value: exact in binary, so any order sums to the same double. */
static double value(long i) { return (double)((i * 37) % 101) * 0.25 - 7.0; }

/* Repro values: k * 2^e with 30-bit k and e in -40..40, plus two huge ones
 * that cancel (a plain sum loses everything below them). */
static void repro_parts(long i, long *k, int *e)
{
    uint64_t h = test_mix((uint64_t)i * 0x9e3779b97f4a7c15ULL);
    *k = (long)(h & 0x3fffffff) - (1L << 29);
    *e = (int)((h >> 32) % 81) - 40;
}
static double repro_value(long i)
{
    if (i == 5)
        return 1e300;
    if (i == 11)
        return -1e300;
    long k;
    int e;
    repro_parts(i, &k, &e);
    return ldexp((double)k, e);
}

/* The exact sum of repro_value over the items that count, rounded once. */
static double repro_reference(long n, int fail_mod)
{
    i128 s = 0;
    for (long i = 0; i < n; i++) {
        if ((fail_mod && i % fail_mod == 3) || i == 5 || i == 11)
            continue;
        long k;
        int e;
        repro_parts(i, &k, &e);
        s += (i128)k * ((i128)1 << (e + 40));
    }
    return ldexp((double)s, -40);
}

static int fails(struct ctx *c, long i)
{
    if (!c->fail_mod || i % c->fail_mod != 3)
        return 0;
    if (!c->fail_once_per_rank)
        return 1;
    return atomic_fetch_add(&c->attempts[i % ATTEMPTS_MAX], 1) == 0;
}

/* Item i's contribution. */
static void add(struct ctx *c, long i)
{
    double v = value(i);
    if (c->kind == K_REPRO) {
        ASSERT_OK(dlp_reduce_add(c->r, repro_value(i)));
    } else {
        void *acc = dlp_reduce_acc(c->r);
        ASSERT_NOT_NULL(acc);
        double *d = acc;
        int64_t *q = acc;
        switch (c->kind) {
        case K_DSUM: *d += v; break;
        case K_DMIN: *d = v < *d ? v : *d; break;
        case K_DMAX: *d = v > *d ? v : *d; break;
        case K_ISUM: *q += i; break;
        case K_IMIN: *q = i < *q ? i : *q; break;
        case K_IMAX: *q = i > *q ? i : *q; break;
        case K_HIST: q[i % BINS]++; break;
        default: d[0] += v; d[1] += 1; break; /* K_USER */
        }
    }
}

/* Contribute item i, then perhaps fail. */
static int contribute(struct ctx *c, long i)
{
    add(c, i);
    if (fails(c, i)) {
        if (c->use_item_fail) {
            dlp_item_fail("item %ld fails on purpose", i);
            return 0;
        }
        return 7;
    }
    return 0;
}

static int body(long i, void *vc) { return contribute(vc, i); }

/* The range form's: a failed item contributes nothing. */
static int range_body(long i, void *vc)
{
    struct ctx *c = vc;
    if (fails(c, i))
        return 7;
    add(c, i);
    return 0;
}

/* The user reduction: {sum, count} of doubles. */
static void user_init(void *acc, void *ctx)
{
    (void)ctx;
    memset(acc, 0, 2 * sizeof(double));
}
static void user_combine(void *into, const void *from, void *ctx)
{
    (void)ctx;
    double *a = into;
    const double *b = from;
    a[0] += b[0];
    a[1] += b[1];
}

static int run(int form, struct ctx *c, dlp_opts o)
{
    /* the range form: a failed item adds nothing (dlp_loop_next_range) */
    return test_run_form(form, c->n, test_forms[form].loop == 2 ? range_body : body, c, &o, 0);
}

static dlp_reduce *make(int kind)
{
    dlp_reduce *r = NULL;
    static const int op[K_COUNT] = {DLP_REDUCE_SUM, DLP_REDUCE_MIN, DLP_REDUCE_MAX,
                                    DLP_REDUCE_SUM, DLP_REDUCE_MIN, DLP_REDUCE_MAX,
                                    DLP_REDUCE_SUM, 0,              DLP_REDUCE_SUM_REPRO};
    if (kind == K_USER)
        ASSERT_OK(dlp_reduce_create_user(&r, 2 * sizeof(double), user_init, user_combine, NULL));
    else
        ASSERT_OK(dlp_reduce_create(&r, op[kind],
                                    kind >= K_ISUM && kind <= K_HIST ? DLP_REDUCE_INT64
                                                                     : DLP_REDUCE_DOUBLE,
                                    kind == K_HIST ? BINS : 1));
    ASSERT_NOT_NULL(r);
    return r;
}

/* Every kind in form with on_error and failing items (fail_mod); the
 * result checked on the master, and on every rank with on_all. */
static void check_kinds(int form, int on_all, int fail_mod, int on_error)
{
    const long n = 1000;
    int skipped = fail_mod && on_error == DLP_ON_ERROR_SKIP;
    double esum = 0, emin = INFINITY, emax = -INFINITY, ecount = 0;
    int64_t eisum = 0, eimin = INT64_MAX, eimax = INT64_MIN, ehist[BINS] = {0};
    for (long i = 0; i < n; i++) {
        if (skipped && i % fail_mod == 3)
            continue;
        double v = value(i);
        esum += v;
        ecount += 1;
        emin = v < emin ? v : emin;
        emax = v > emax ? v : emax;
        eisum += i;
        eimin = i < eimin ? i : eimin;
        eimax = i > eimax ? i : eimax;
        ehist[i % BINS]++;
    }
    double erepro = repro_reference(n, skipped ? fail_mod : 0);
    for (int kind = 0; kind < K_COUNT; kind++) {
        if (test_form_loop(form)) {
            if (on_error == DLP_ON_ERROR_RETRY)
                continue; /* the loop forms cannot retry */
        }
        char name[160];
        snprintf(name, sizeof name, "%s, %s, on_all_ranks %d, fail_mod %d, on_error %d",
                 test_form_name(form), kind_name[kind], on_all, fail_mod, on_error);
        test_case(name);
        struct ctx *c = calloc(1, sizeof *c);
        ASSERT_NOT_NULL(c);
        c->r = make(kind);
        c->kind = kind;
        c->n = n;
        c->fail_mod = fail_mod;
        c->fail_once_per_rank = on_error == DLP_ON_ERROR_RETRY;
        c->use_item_fail = kind % 2;
        dlp_opts o = DLP_OPTS_INIT;
        o.reduce = c->r;
        o.on_all_ranks = on_all;
        o.on_error = on_error;
        o.retries = on_error == DLP_ON_ERROR_RETRY ? g_size : 0;
        o.progress = DLP_PROGRESS_OFF;
        int rc = run(form, c, o);
        const void *res = dlp_reduce_result(c->r);
        if (fail_mod && on_error == DLP_ON_ERROR_ABORT) {
            ASSERT_EQ(rc, DLP_ERR_ITEM);
            ASSERT_NULL(res);
        } else {
            ASSERT_EQ(rc, skipped ? DLP_SKIPPED : DLP_OK);
            if (g_rank != 0 && !on_all) {
                ASSERT_NULL(res);
            } else {
                ASSERT_NOT_NULL(res);
                const double *d = res;
                const int64_t *q = res;
                switch (kind) {
                case K_DSUM: ASSERT_DEQ(d[0], esum); break;
                case K_DMIN: ASSERT_DEQ(d[0], emin); break;
                case K_DMAX: ASSERT_DEQ(d[0], emax); break;
                case K_ISUM: ASSERT_EQ(q[0], eisum); break;
                case K_IMIN: ASSERT_EQ(q[0], eimin); break;
                case K_IMAX: ASSERT_EQ(q[0], eimax); break;
                case K_HIST:
                    for (int b = 0; b < BINS; b++)
                        ASSERT_EQ(q[b], ehist[b]);
                    break;
                case K_USER:
                    ASSERT_DEQ(d[0], esum);
                    ASSERT_DEQ(d[1], ecount);
                    break;
                default: ASSERT_DEQ(d[0], erepro); break;
                }
            }
        }
        ASSERT_OK(dlp_reduce_destroy(&c->r));
        ASSERT_NULL(c->r);
        free(c);
    }
}

/* The reproducible sum under every node-level and thread-level policy, in
 * every form: bitwise the exact reference (which no layout changes). The
 * master prints it in hex. */
static void check_repro_schedules(void)
{
    const long n = 5000;
    double want = repro_reference(n, 0);
    for (int form = 0; form < TEST_ALL_FORMS; form++) {
        for (int pol = DLP_SCHEDULE_AUTO; pol <= DLP_SCHEDULE_AWF; pol++) {
            char name[128];
            snprintf(name, sizeof name, "sum repro, %s, schedule %d", test_form_name(form), pol);
            test_case(name);
            struct ctx *c = calloc(1, sizeof *c);
            ASSERT_NOT_NULL(c);
            c->r = make(K_REPRO);
            c->kind = K_REPRO;
            c->n = n;
            dlp_opts o = DLP_OPTS_INIT;
            o.reduce = c->r;
            o.on_all_ranks = 1;
            o.progress = DLP_PROGRESS_OFF;
            o.thread_schedule = pol;
            o.thread_chunk = 7;
            if (!test_form_round_robin(form)) {
                o.schedule = pol;
                o.chunk = 13;
            }
            ASSERT_OK(run(form, c, o));
            const double *d = dlp_reduce_result(c->r);
            ASSERT_NOT_NULL(d);
            ASSERT_DEQ(d[0], want);
            ASSERT_OK(dlp_reduce_destroy(&c->r));
            free(c);
        }
    }
    if (g_rank == 0)
        printf("sum repro of %ld items: %a\n", n, want);
}

/* opts.on_all_ranks with dense results: the complete array on every rank. */
static int dense_body(long i, void *vr)
{
    *DLP_RESULTS_AT((dlp_results *)vr, i, long) = 3 * i + 1;
    return 0;
}

static void check_dense_on_all_ranks(void)
{
    const long n = 777;
    for (int managed = 0; managed < 2; managed++) {
        test_case(managed ? "dense results on every rank, managed"
                          : "dense results on every rank, round robin");
        dlp_results *res = NULL;
        ASSERT_OK(dlp_results_create(&res, n, sizeof(long)));
        dlp_opts o = DLP_OPTS_INIT;
        o.results = res;
        o.on_all_ranks = 1;
        o.progress = DLP_PROGRESS_OFF;
        ASSERT_OK(managed ? dlp_split_managed(n, dense_body, res, &o)
                          : dlp_split_round_robin(n, dense_body, res, &o));
        const long *all = dlp_results_data(res);
        for (long i = 0; i < n; i++)
            ASSERT_EQ(all[i], 3 * i + 1);
        ASSERT_OK(dlp_results_destroy(&res));
    }
}

/* Ranks that disagree on the reduction's shape, or on on_all_ranks:
 * DLP_ERR_MISMATCH on every rank, and the library goes on. */
static void check_mismatch(void)
{
    if (g_size < 2)
        return;
    for (int variant = 0; variant < 4; variant++) {
        static const char *names[4] = {"mismatch: count", "mismatch: op", "mismatch: no reduce",
                                       "mismatch: on_all_ranks"};
        test_case(names[variant]);
        dlp_reduce *r = NULL;
        int odd = g_rank == 1;
        long count = variant == 0 && odd ? 2 : 1;
        int op = variant == 1 && odd ? DLP_REDUCE_MAX : DLP_REDUCE_SUM;
        ASSERT_OK(dlp_reduce_create(&r, op, DLP_REDUCE_DOUBLE, count));
        struct ctx *c = calloc(1, sizeof *c);
        ASSERT_NOT_NULL(c);
        c->r = r;
        c->kind = K_DSUM;
        c->n = 10;
        dlp_opts o = DLP_OPTS_INIT;
        o.reduce = variant == 2 && odd ? NULL : r;
        o.on_all_ranks = variant == 3 && odd;
        o.progress = DLP_PROGRESS_OFF;
        ASSERT_RC(dlp_split_managed(c->n, body, c, &o), DLP_ERR_MISMATCH);
        ASSERT_STR_CONTAINS(dlp_last_error(), variant == 3 ? "on_all_ranks" : "opts.reduce");
        ASSERT_NULL(dlp_reduce_result(r));
        o.reduce = r;
        o.on_all_ranks = 0;
        ASSERT_OK(dlp_reduce_destroy(&r));
        ASSERT_OK(dlp_reduce_create(&r, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 1));
        c->r = r;
        o.reduce = r;
        ASSERT_OK(dlp_split_managed(c->n, body, c, &o)); /* usable again */
        if (g_rank == 0) {
            double want = 0;
            for (long i = 0; i < c->n; i++)
                want += value(i);
            ASSERT_DEQ(*(const double *)dlp_reduce_result(r), want);
        }
        ASSERT_OK(dlp_reduce_destroy(&r));
        free(c);
    }
}

/* A body that contributes to a reduction that is not the call's. */
static int stray_body(long i, void *vr)
{
    (void)i;
    void *acc = dlp_reduce_acc(vr);
    ASSERT_NOT_NULL(acc); /* writable scratch, the call fails */
    *(double *)acc += 1;
    return 0;
}

static void check_misuse(void)
{
    test_case("misuse");
    dlp_reduce *r = NULL, *other = NULL;
    ASSERT_RC(dlp_reduce_create(&r, 9, DLP_REDUCE_DOUBLE, 1), DLP_ERR_ARG);
    ASSERT_NULL(r);
    ASSERT_RC(dlp_reduce_create(&r, DLP_REDUCE_SUM, 5, 1), DLP_ERR_ARG);
    ASSERT_RC(dlp_reduce_create(&r, DLP_REDUCE_SUM_REPRO, DLP_REDUCE_INT64, 1), DLP_ERR_ARG);
    ASSERT_RC(dlp_reduce_create(&r, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 0), DLP_ERR_ARG);
    ASSERT_RC(dlp_reduce_create_user(&r, 0, user_init, user_combine, NULL), DLP_ERR_ARG);
    ASSERT_RC(dlp_reduce_create_user(&r, 8, NULL, user_combine, NULL), DLP_ERR_ARG);
    ASSERT_OK(dlp_reduce_create(&r, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 1));
    ASSERT_OK(dlp_reduce_create(&other, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 1));
    /* outside a call */
    ASSERT_NULL(dlp_reduce_acc(r));
    ASSERT_STR_CONTAINS(dlp_last_error(), "no parallel call runs");
    ASSERT_RC(dlp_reduce_add(r, 1.0), DLP_ERR_STATE);
    ASSERT_NULL(dlp_reduce_result(r));
    /* during a call with another reduction: the call fails everywhere */
    dlp_opts o = DLP_OPTS_INIT;
    o.reduce = r;
    o.progress = DLP_PROGRESS_OFF;
    ASSERT_RC(dlp_split_managed(20, stray_body, other, &o), DLP_ERR_STATE);
    ASSERT_STR_CONTAINS(dlp_last_error(), "is not the reduction of the running call");
    ASSERT_NULL(dlp_reduce_result(r));
    /* SUM_REPRO has no accumulator of the user's */
    dlp_reduce *repro = NULL;
    ASSERT_OK(dlp_reduce_create(&repro, DLP_REDUCE_SUM_REPRO, DLP_REDUCE_DOUBLE, 1));
    ASSERT_NULL(dlp_reduce_acc(repro));
    ASSERT_STR_CONTAINS(dlp_last_error(), "dlp_reduce_add");
    ASSERT_OK(dlp_reduce_destroy(&repro));
    /* a journal cannot resume a reduction */
    o.journal = "/tmp/dlp_test_reduce.journal";
    ASSERT_RC(dlp_split_managed(20, stray_body, r, &o), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(), "opts.reduce");
    o.journal = NULL;
    o.on_all_ranks = 2;
    ASSERT_RC(dlp_split_managed(20, stray_body, r, &o), DLP_ERR_OPTION);
    ASSERT_OK(dlp_reduce_destroy(&r));
    ASSERT_OK(dlp_reduce_destroy(&other));
    ASSERT_OK(dlp_reduce_destroy(&r)); /* NULL is fine */
}

/* A small built-in reduction travels in the end-of-call agreement, every
 * rank combining all ranks' values; a large one goes by messages through
 * the node leaders. Both combine in the same order (node by node, ranks in
 * order within a node), so their sums of the same inexact contributions
 * are the same bits (a different order, e.g. rank order across nodes,
 * rounds differently: items 0..3 add 1, 1, 1e17, -1e17, one per rank on
 * four ranks; on two nodes of two ranks (1 + 1) + (1e17 - 1e17) is 2,
 * ((1 + 1) + 1e17) - 1e17 is 0). One thread per rank and
 * round robin: every rank's own value is the same in both calls. */
static int inexact_body(long i, void *r)
{
    *(double *)dlp_reduce_acc(r) += i == 2 ? 1e17 : i == 3 ? -1e17 : 1.0;
    return 0;
}

static void check_packed_order(void)
{
    dlp_reduce *small = NULL, *large = NULL;
    ASSERT_OK(dlp_reduce_create(&small, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 1));
    ASSERT_OK(dlp_reduce_create(&large, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 16384));
    for (int all = 0; all <= 1; all++) {
        test_case(all ? "small and large sums, same bits, on every rank"
                      : "small and large sums, same bits, on the master");
        dlp_opts o = DLP_OPTS_INIT;
        o.threads = 1;
        o.on_all_ranks = all;
        o.progress = DLP_PROGRESS_OFF;
        o.reduce = small;
        ASSERT_OK(dlp_split_round_robin(4, inexact_body, small, &o));
        o.reduce = large;
        ASSERT_OK(dlp_split_round_robin(4, inexact_body, large, &o));
        const double *a = dlp_reduce_result(small), *b = dlp_reduce_result(large);
        if (all || g_rank == 0) {
            ASSERT_NOT_NULL(a);
            ASSERT_NOT_NULL(b);
            ASSERT_DEQ(a[0], b[0]);
        } else {
            ASSERT_NULL(a);
            ASSERT_NULL(b);
        }
    }
    ASSERT_OK(dlp_reduce_destroy(&small));
    ASSERT_OK(dlp_reduce_destroy(&large));
}

int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    for (int form = 0; form < TEST_ALL_FORMS; form++) {
        check_kinds(form, form % 2, 0, DLP_ON_ERROR_ABORT);
        check_kinds(form, 1, 7, DLP_ON_ERROR_SKIP);
        check_kinds(form, 0, 7, DLP_ON_ERROR_RETRY);
        check_kinds(form, 1, 7, DLP_ON_ERROR_ABORT);
    }
    check_repro_schedules();
    check_dense_on_all_ranks();
    check_packed_order();
    check_mismatch();
    check_misuse();
    return test_end("test_reduce");
}
