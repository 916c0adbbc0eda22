/* Splitting: every item exactly once for dlp_split_managed,
 * dlp_split_round_robin and the loop form (both opts.split values), for
 * n = 0, 1, fewer items than threads, medium uneven work and large n, with the
 * AUTO and FIXED schedules (opts and DLP_SCHEDULE / DLP_CHUNK); every
 * dlp_schedule policy (opts and DLP_SCHEDULE, managed with dense results and
 * the loop form; STATIC's and FIXED's chunks seen as whole blocks per node),
 * DLP_SCHEDULE values rejected, opts.schedule out of range; every policy at
 * the thread level (opts.thread_schedule, DLP_SCHEDULE=P1/P2 and =P; round
 * robin's claims seen as whole blocks per thread), thread-level values
 * rejected and ranks that disagree on them; body failures;
 * 64-bit n; thousands of back-to-back calls without leaks. */
#include "test_forms.h"

#include <omp.h>
#include <time.h>


struct count_ctx {
    int *cnt;       /* per-item counter on this rank */
    long n;
    int round_robin; /* check i % size == rank */
    int busy;       /* work scale per item (0 = empty items, < 0: see slow_item) */
    long bad;       /* 1 + first index outside the rules, 0 = none */
    long items;     /* items run on this rank */
};

/* Cost profiles with a few long items (sleeps: they hold a thread, not a core):
 * 1 = the first 6 items take 40 ms, 2 = the last 6 items take 40 ms. */
static void slow_item(long i, long n, int profile)
{
    int slow = profile == 1 ? i < 6 : i >= n - 6;
    if (slow) {
        struct timespec ts = {0, 40 * 1000 * 1000};
        nanosleep(&ts, NULL);
    } else {
        test_busy(i, 5);
    }
}

static int count_body(long i, void *vctx)
{
    struct count_ctx *c = vctx;
    if (i < 0 || i >= c->n || (c->round_robin && i % g_size != g_rank)) {
        long zero = 0;
        __atomic_compare_exchange_n(&c->bad, &zero, i + 1, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
        return 0;
    }
    if (c->busy > 0)
        test_busy(i, c->busy);
    else if (c->busy < 0)
        slow_item(i, c->n, -c->busy);
    __atomic_fetch_add(&c->cnt[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->items, 1, __ATOMIC_RELAXED);
    return 0;
}

/* Counters for one call of n items under form (round robin checks which
 * items reach this rank); free c->cnt after check_once(). */
static void count_init(struct count_ctx *c, int form, long n, int busy)
{
    *c = (struct count_ctx){NULL, n, test_form_round_robin(form), busy, 0, 0};
    c->cnt = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    ASSERT_NOT_NULL(c->cnt);
}

/* After the call: every item's count, summed over the ranks, must be 1. */
static void check_once(const struct count_ctx *c, const char *name)
{
    long n = c->n;
    if (c->bad)
        TEST_FAIL("item %ld delivered to rank %d of %d (n = %ld)", c->bad - 1, g_rank, g_size, n);
    if (c->round_robin) {
        long want = n > g_rank ? (n - g_rank + g_size - 1) / g_size : 0;
        ASSERT_EQ(c->items, want);
    }
    /* MPI_Allreduce, not MPI_Reduce: MPICH 4.0.2's MPI_Reduce loses data for
     * counts >= ~1000 when the root is alone on its node (n1:1,n2:3). */
    int *sum = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    ASSERT_NOT_NULL(sum);
    if (n > 0)
        ASSERT_MPI(MPI_Allreduce(c->cnt, sum, (int)n, MPI_INT, MPI_SUM, dlp_comm()));
    if (g_rank == 0)
        for (long i = 0; i < n; i++)
            if (sum[i] != 1)
                TEST_FAIL("item %ld of %ld ran %d times (%s)", i, n, sum[i], name);
    long total = 0;
    ASSERT_MPI(MPI_Allreduce(&c->items, &total, 1, MPI_LONG, MPI_SUM, dlp_comm()));
    ASSERT_EQ(total, n);
    free(sum);
}

/* One call; then every item ran exactly once. */
static void exactly_once(int form, long n, const dlp_opts *opts, int busy, int region_threads,
                         const char *what)
{
    char name[256];
    snprintf(name, sizeof name, "%s, n = %ld, %s", test_form_name(form), n, what);
    test_case(name);
    struct count_ctx c;
    count_init(&c, form, n, busy);
    ASSERT_OK(test_run_form(form, n, count_body, &c, opts, region_threads));
    check_once(&c, name);
    free(c.cnt);
}

static void check_sizes(void)
{
    int threads = dlp_threads();
    const long small[] = {0, 1, 2, threads - 1 > 0 ? threads - 1 : 1, (long)g_size * threads - 1,
                          (long)g_size * threads + 1};
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        for (size_t k = 0; k < sizeof small / sizeof small[0]; k++)
            exactly_once(f, small[k], NULL, 0, 0, "defaults");
        exactly_once(f, 1000, NULL, 50, 0, "uneven work, defaults");
        exactly_once(f, 2000000, NULL, 0, 0, "empty items, defaults");
    }
}

static void check_schedules(void)
{
    dlp_opts o = DLP_OPTS_INIT;
    const int forms[] = {TEST_MANAGED, TEST_LOOP_MANAGED};
    for (int k = 0; k < 2; k++) {
        int f = forms[k];
        o = (dlp_opts)DLP_OPTS_INIT;
        o.schedule = DLP_SCHEDULE_AUTO;
        exactly_once(f, 1000, &o, 50, 0, "AUTO");
        exactly_once(f, 3, &o, 0, 0, "AUTO");
        o.schedule = DLP_SCHEDULE_FIXED;
        o.chunk = 7;
        exactly_once(f, 1000, &o, 50, 0, "FIXED chunk 7");
        exactly_once(f, 5, &o, 0, 0, "FIXED chunk 7");
        o.chunk = 1;
        exactly_once(f, 1000, &o, 0, 0, "FIXED chunk 1");
        o.chunk = 1000000000000L;
        exactly_once(f, 1000, &o, 0, 0, "FIXED chunk 10^12 (> n)");
        o.chunk = 0; /* 0 = DLP_CHUNK, else 1 */
        exactly_once(f, 500, &o, 0, 0, "FIXED chunk 0 (default)");
        o.chunk = 64;
        exactly_once(f, 2000000, &o, 0, 0, "FIXED chunk 64");

        o = (dlp_opts)DLP_OPTS_INIT; /* DLP_SCHEDULE_DEFAULT: from the environment */
        setenv("DLP_SCHEDULE", "fixed:13", 1);
        exactly_once(f, 1000, &o, 50, 0, "DLP_SCHEDULE=fixed:13");
        exactly_once(f, 1000, NULL, 0, 0, "DLP_SCHEDULE=fixed:13, opts NULL");
        setenv("DLP_SCHEDULE", "fixed", 1);
        setenv("DLP_CHUNK", "5", 1);
        exactly_once(f, 1000, NULL, 0, 0, "DLP_SCHEDULE=fixed DLP_CHUNK=5");
        unsetenv("DLP_CHUNK");
        exactly_once(f, 300, NULL, 0, 0, "DLP_SCHEDULE=fixed");
        setenv("DLP_SCHEDULE", "auto", 1);
        exactly_once(f, 1000, NULL, 50, 0, "DLP_SCHEDULE=auto");
        unsetenv("DLP_SCHEDULE");
    }
    /* schedule options are accepted (and harmless) with round robin */
    o = (dlp_opts)DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_FIXED;
    o.chunk = 7;
    exactly_once(TEST_ROUND_ROBIN, 1000, &o, 0, 0, "FIXED chunk 7");
    exactly_once(TEST_LOOP_ROUND_ROBIN, 1000, &o, 0, 0, "FIXED chunk 7");
}

/* --------------------------------------------------------------- policies -- */

/* Every dlp_schedule policy, as opts.schedule (+ opts.chunk) and as the
 * DLP_SCHEDULE text. */
struct policy {
    int schedule;
    long chunk;
    const char *env;
};
static const struct policy policies[] = {
    {DLP_SCHEDULE_AUTO, 0, "auto"}, {DLP_SCHEDULE_FIXED, 7, "fixed:7"},
    {DLP_SCHEDULE_STATIC, 0, "static"}, {DLP_SCHEDULE_GSS, 0, "gss"},
    {DLP_SCHEDULE_GSS, 5, "gss:5"}, {DLP_SCHEDULE_TSS, 0, "tss"},
    {DLP_SCHEDULE_FAC2, 0, "fac2"}, {DLP_SCHEDULE_WF, 0, "wf"},
    {DLP_SCHEDULE_AWF, 0, "awf"},
};
#define POLICIES ((int)(sizeof policies / sizeof policies[0]))

/* The policy's chunks of n items on P nodes are whole aligned blocks of this
 * many items (static: ceil(n/P), at most P chunks; fixed: K); 0 = no such
 * blocks to check. */
static long policy_block(const struct policy *p, long n)
{
    long nodes = dlp_nodes();
    if (p->schedule == DLP_SCHEDULE_STATIC)
        return (n + nodes - 1) / nodes;
    return p->schedule == DLP_SCHEDULE_FIXED ? p->chunk : 0;
}

struct policy_ctx {
    struct count_ctx count; /* exactly once */
    dlp_results *r;         /* slot i = i * 3 + salt, or NULL */
    long salt;
    int *node;              /* [n] 1 + dlp_node() where item i ran, 0 elsewhere */
    int my_node;
    long sleep_us;          /* per item on the master's node: else cheap items would
                               all run there before another node's first request */
};

static int policy_body(long i, void *vctx)
{
    struct policy_ctx *c = vctx;
    count_body(i, &c->count);
    if (c->sleep_us > 0)
        test_sleep_us(c->sleep_us);
    if (i >= 0 && i < c->count.n) {
        c->node[i] = c->my_node;
        if (c->r)
            *(long *)dlp_results_at(c->r, i) = i * 3 + c->salt;
    }
    return 0;
}

/* One managed call (form TEST_MANAGED or TEST_LOOP_MANAGED) of n items with
 * opts, dense results in r (NULL: none): every item exactly once, the
 * master's results complete, and with block > 0 every aligned block of
 * `block` items ran on one node (the dispenser hands out whole chunks). */
static void policy_once(int form, long n, const dlp_opts *opts, dlp_results *r, long block,
                        const char *what)
{
    static long salt = 1;
    char name[256];
    snprintf(name, sizeof name, "%s, n = %ld, %s%s", test_form_name(form), n, what,
             r ? ", dense results" : "");
    test_case(name);
    struct policy_ctx c = {.r = r, .salt = ++salt, .my_node = dlp_node() + 1};
    if (dlp_node() == 0 && dlp_nodes() > 1 && n <= 1000)
        c.sleep_us = 100;
    count_init(&c.count, form, n, 0);
    c.node = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    ASSERT_NOT_NULL(c.node);
    dlp_opts o = opts ? *opts : (dlp_opts)DLP_OPTS_INIT;
    o.results = r;
    ASSERT_OK(test_run_form(form, n, policy_body, &c, &o, 0));
    check_once(&c.count, name);
    int *where = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    ASSERT_NOT_NULL(where);
    if (n > 0)
        ASSERT_MPI(MPI_Allreduce(c.node, where, (int)n, MPI_INT, MPI_MAX, dlp_comm()));
    if (g_rank == 0) {
        const long *res = r ? dlp_results_data(r) : NULL;
        for (long i = 0; i < n; i++) {
            if (res && res[i] != i * 3 + c.salt)
                TEST_FAIL("result of item %ld is %ld, not %ld (%s)", i, res[i], i * 3 + c.salt,
                          name);
            if (block > 0 && where[i] != where[i - i % block])
                TEST_FAIL("item %ld ran on node %d, item %ld of its chunk of %ld on node %d "
                          "(%s)",
                          i, where[i] - 1, i - i % block, block, where[i - i % block] - 1, name);
        }
    }
    free(where);
    free(c.node);
    free(c.count.cnt);
}

/* Every policy: a managed call of 300 items with dense results
 * (opts.schedule) and a loop form call (DLP_SCHEDULE) of 300 items (dense
 * results), 3 (fewer than the threads) or 70000 (above DLP__MAX_CHUNKS: the
 * smallest chunk is 2), in turn. */
static void check_policies(void)
{
    const long n = 300, loop_n[3] = {n, 3, 70000};
    dlp_results *r = NULL;
    ASSERT_OK(dlp_results_create(&r, n, sizeof(long)));
    for (int k = 0; k < POLICIES; k++) {
        const struct policy *p = &policies[k];
        dlp_opts o = DLP_OPTS_INIT;
        o.schedule = p->schedule;
        o.chunk = p->chunk;
        char what[96];
        snprintf(what, sizeof what, "opts.schedule = %d, opts.chunk = %ld", p->schedule,
                 p->chunk);
        policy_once(TEST_MANAGED, n, &o, r, policy_block(p, n), what);
        long m = loop_n[k % 3];
        snprintf(what, sizeof what, "DLP_SCHEDULE=%s", p->env);
        setenv("DLP_SCHEDULE", p->env, 1);
        policy_once(TEST_LOOP_MANAGED, m, NULL, m == n ? r : NULL, policy_block(p, m), what);
        unsetenv("DLP_SCHEDULE");
    }
    /* bare fixed: the chunk of DLP_CHUNK */
    setenv("DLP_SCHEDULE", "fixed", 1);
    setenv("DLP_CHUNK", "9", 1);
    policy_once(TEST_MANAGED, n, NULL, r, 9, "DLP_SCHEDULE=fixed DLP_CHUNK=9");
    unsetenv("DLP_CHUNK");
    unsetenv("DLP_SCHEDULE");
    ASSERT_OK(dlp_results_destroy(&r));
}

/* A call that must fail with DLP_ERR_OPTION, its message naming `what`
 * and `more` (NULL: nothing more). */
static void expect_option_error(int form, const dlp_opts *opts, const char *what,
                                const char *more)
{
    struct count_ctx c;
    count_init(&c, form, 10, 0);
    ASSERT_RC(test_run_form(form, 10, count_body, &c, opts, 0), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(), what);
    if (more)
        ASSERT_STR_CONTAINS(dlp_last_error(), more);
    ASSERT_EQ(c.items, 0);
    free(c.cnt);
}

static void check_policy_options(void)
{
    /* good texts are above; these are not, for managed and round robin
     * alike (a typo is caught whatever the split) */
    static const char *const bad[] = {"bogus", "fixed:0", "fixed:", "gss:0", "gss:x",
                                      "static:4", "tss:2", "awf:1", "AUTO", " auto",
                                      "fixed:99999999999999999999"};
    const char *forms = "auto, static, fixed, fixed:N, gss, gss:N, tss, fac2, wf, awf";
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char name[96], quoted[64];
        snprintf(name, sizeof name, "DLP_SCHEDULE=\"%s\" is rejected", bad[k]);
        snprintf(quoted, sizeof quoted, "DLP_SCHEDULE=\"%s\"", bad[k]);
        test_case(name);
        setenv("DLP_SCHEDULE", bad[k], 1);
        expect_option_error(k % 2 ? TEST_MANAGED : TEST_LOOP_MANAGED, NULL, quoted, forms);
        expect_option_error(k % 2 ? TEST_ROUND_ROBIN : TEST_LOOP_ROUND_ROBIN, NULL, quoted, forms);
    }
    test_case("opts.schedule set: DLP_SCHEDULE is not read");
    setenv("DLP_SCHEDULE", "bogus", 1);
    dlp_opts o = DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_TSS;
    exactly_once(TEST_MANAGED, 100, &o, 0, 0, "TSS, DLP_SCHEDULE=bogus");
    setenv("DLP_SCHEDULE", "", 1);
    exactly_once(TEST_MANAGED, 100, NULL, 0, 0, "DLP_SCHEDULE empty: auto");
    unsetenv("DLP_SCHEDULE");

    static const int out_of_range[] = {-1, DLP_SCHEDULE_AWF + 1, -2147483647 - 1};
    for (size_t k = 0; k < sizeof out_of_range / sizeof out_of_range[0]; k++) {
        char name[64], field[48];
        snprintf(name, sizeof name, "opts.schedule = %d is rejected", out_of_range[k]);
        snprintf(field, sizeof field, "opts.schedule = %d", out_of_range[k]);
        test_case(name);
        o = (dlp_opts)DLP_OPTS_INIT;
        o.schedule = out_of_range[k];
        expect_option_error(TEST_MANAGED, &o, field, NULL);
        expect_option_error(TEST_LOOP_ROUND_ROBIN, &o, field, NULL);
    }

    if (g_size > 1) {
        test_case("ranks disagree on the policy: DLP_ERR_MISMATCH everywhere");
        o = (dlp_opts)DLP_OPTS_INIT;
        o.schedule = g_rank == 0 ? DLP_SCHEDULE_FAC2 : DLP_SCHEDULE_WF;
        struct count_ctx c;
        count_init(&c, TEST_MANAGED, 10, 0);
        ASSERT_RC(dlp_split_managed(10, count_body, &c, &o), DLP_ERR_MISMATCH);
        ASSERT_STR_CONTAINS(dlp_last_error(), "schedule");
        free(c.cnt);
    }
    exactly_once(TEST_MANAGED, 1000, NULL, 0, 0, "after rejected policies");
}

/* ------------------------------------------------ thread-level policies -- */

struct thread_ctx {
    struct count_ctx count; /* exactly once */
    int *who;               /* [n] 1 + rank * 4096 + thread that ran item i, 0 elsewhere */
};

static int thread_body(long i, void *vctx)
{
    struct thread_ctx *c = vctx;
    count_body(i, &c->count);
    if (i >= 0 && i < c->count.n)
        c->who[i] = 1 + g_rank * 4096 + omp_get_thread_num();
    return 0;
}

/* The thread-level claims of a round-robin rank of m items over P threads
 * are aligned blocks of this many of its items (in its item order): static
 * ceil(m/P), fixed K; 0 = no such blocks. */
static long thread_block(int schedule, long chunk, long m, int p)
{
    if (schedule == DLP_SCHEDULE_STATIC)
        return m > 0 ? (m + p - 1) / p : 0;
    return schedule == DLP_SCHEDULE_FIXED ? chunk : 0;
}

/* One call of n items: every item exactly once; for round robin, with
 * block > 0, every aligned block of `block` of this rank's items ran on
 * one thread (the policy's claims: the rank's team shares one round). */
static void thread_once(int form, long n, const dlp_opts *opts, long block, int region_threads,
                        const char *what)
{
    char name[256];
    snprintf(name, sizeof name, "%s, n = %ld, %s", test_form_name(form), n, what);
    test_case(name);
    struct thread_ctx c;
    count_init(&c.count, form, n, 2);
    c.who = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    ASSERT_NOT_NULL(c.who);
    ASSERT_OK(test_run_form(form, n, thread_body, &c, opts, region_threads));
    check_once(&c.count, name);
    int rr = test_form_round_robin(form);
    for (long i = g_rank; rr && block > 0 && i < n; i += g_size) {
        long j = (i - g_rank) / g_size, first = g_rank + (j - j % block) * g_size;
        if (c.who[i] != c.who[first])
            TEST_FAIL("item %ld (the rank's %ld-th) ran on thread %d, item %ld of its block of "
                      "%ld on thread %d (%s)",
                      i, j, (c.who[i] - 1) % 4096, first, block, (c.who[first] - 1) % 4096, name);
    }
    free(c.who);
    free(c.count.cnt);
}

/* Every policy at the thread level: as opts.thread_schedule (+
 * opts.thread_chunk) for the callback forms, as DLP_SCHEDULE=auto/P for
 * the loop forms; P1/P2 with both levels set; the P of DLP_SCHEDULE=P at
 * both levels. */
static void check_thread_policies(void)
{
    const long n = 1000, loop_n[3] = {300, 3, 70000};
    int threads = dlp_threads();
    for (int k = 0; k < POLICIES; k++) {
        const struct policy *p = &policies[k];
        dlp_opts o = DLP_OPTS_INIT;
        o.thread_schedule = p->schedule;
        o.thread_chunk = p->chunk;
        char what[128];
        snprintf(what, sizeof what, "opts.thread_schedule = %d, opts.thread_chunk = %ld",
                 p->schedule, p->chunk);
        thread_once(TEST_MANAGED, n, &o, 0, 0, what);
        long m = n > g_rank ? (n - g_rank + g_size - 1) / g_size : 0;
        thread_once(TEST_ROUND_ROBIN, n, &o, thread_block(p->schedule, p->chunk, m, threads), 0,
                    what);
        /* the loop forms through DLP_SCHEDULE=auto/P */
        long ln = loop_n[k % 3];
        char env[64];
        snprintf(env, sizeof env, "auto/%s", p->env);
        snprintf(what, sizeof what, "DLP_SCHEDULE=%s", env);
        setenv("DLP_SCHEDULE", env, 1);
        thread_once(TEST_LOOP_MANAGED, ln, NULL, 0, 0, what);
        m = ln > g_rank ? (ln - g_rank + g_size - 1) / g_size : 0;
        thread_once(TEST_LOOP_ROUND_ROBIN, ln, NULL, thread_block(p->schedule, p->chunk, m, threads),
                    0, what);
        unsetenv("DLP_SCHEDULE");
    }
    /* P1/P2 with a policy at both levels: managed with dense results, the
     * node level's fixed blocks still whole per node */
    static const struct {
        const char *env;
        long node_block;
    } pairs[] = {{"fixed:64/fixed:1", 64}, {"fac2/static", 0}, {"gss/gss", 0},
                 {"static/tss", -1},       {"awf/awf", 0},     {"tss/fixed:3", 0}};
    dlp_results *r = NULL;
    ASSERT_OK(dlp_results_create(&r, 300, sizeof(long)));
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        char what[96];
        snprintf(what, sizeof what, "DLP_SCHEDULE=%s", pairs[k].env);
        setenv("DLP_SCHEDULE", pairs[k].env, 1);
        long block = pairs[k].node_block < 0 ? (300 + dlp_nodes() - 1) / dlp_nodes()
                                             : pairs[k].node_block;
        policy_once(k % 2 ? TEST_LOOP_MANAGED : TEST_MANAGED, 300, NULL, r, block, what);
        thread_once(TEST_ROUND_ROBIN, 2000, NULL, 0, 0, what);
        unsetenv("DLP_SCHEDULE");
    }
    ASSERT_OK(dlp_results_destroy(&r));
    /* DLP_SCHEDULE=P: P at the thread level too (round robin's blocks) */
    setenv("DLP_SCHEDULE", "fixed:5", 1);
    thread_once(TEST_ROUND_ROBIN, 1000, NULL, 5, 0, "DLP_SCHEDULE=fixed:5 (both levels)");
    setenv("DLP_SCHEDULE", "static", 1);
    long m = 1000 > g_rank ? (1000 - g_rank + g_size - 1) / g_size : 0;
    thread_once(TEST_ROUND_ROBIN, 1000, NULL, thread_block(DLP_SCHEDULE_STATIC, 0, m, threads), 0,
                "DLP_SCHEDULE=static (both levels)");
    /* bare fixed at the thread level: DLP_CHUNK; opts.thread_chunk wins
     * over the :K of DLP_SCHEDULE's thread part */
    setenv("DLP_SCHEDULE", "auto/fixed", 1);
    setenv("DLP_CHUNK", "6", 1);
    thread_once(TEST_ROUND_ROBIN, 1000, NULL, 6, 0, "DLP_SCHEDULE=auto/fixed DLP_CHUNK=6");
    unsetenv("DLP_CHUNK");
    setenv("DLP_SCHEDULE", "gss:3/fixed:9", 1);
    dlp_opts o = DLP_OPTS_INIT;
    o.thread_chunk = 4;
    thread_once(TEST_ROUND_ROBIN, 1000, &o, 4, 0, "DLP_SCHEDULE=gss:3/fixed:9, opts.thread_chunk 4");
    thread_once(TEST_MANAGED, 1000, &o, 0, 0, "DLP_SCHEDULE=gss:3/fixed:9, opts.thread_chunk 4");
    /* opts.thread_schedule wins over DLP_SCHEDULE's thread part */
    o = (dlp_opts)DLP_OPTS_INIT;
    o.thread_schedule = DLP_SCHEDULE_FIXED;
    o.thread_chunk = 11;
    thread_once(TEST_ROUND_ROBIN, 1000, &o, 11, 0, "DLP_SCHEDULE=gss:3/fixed:9, opts FIXED 11");
    unsetenv("DLP_SCHEDULE");
    /* a thread policy with few items, none, and teams of another size
     * than the threads counted (P): loop forms with 1 and 5 threads, and
     * the main thread alone */
    static const char *const few[] = {"auto/static", "auto/fac2", "gss/gss:2", "auto/awf",
                                      "auto/tss"};
    for (size_t k = 0; k < sizeof few / sizeof *few; k++) {
        char what[64];
        snprintf(what, sizeof what, "DLP_SCHEDULE=%s", few[k]);
        setenv("DLP_SCHEDULE", few[k], 1);
        for (int f = 0; f < TEST_BODY_FORMS; f++) {
            thread_once(f, 0, NULL, 0, 0, what);
            thread_once(f, 1, NULL, 0, 0, what);
            thread_once(f, (long)g_size * threads + 1, NULL, 0, 0, what);
        }
        thread_once(TEST_LOOP_MANAGED, 500, NULL, 0, 1, what);
        thread_once(TEST_LOOP_ROUND_ROBIN, 500, NULL, 0, 5, what);
        thread_once(TEST_LOOP_MANAGED, 200, NULL, 0, -1, what);
        unsetenv("DLP_SCHEDULE");
    }
}

/* Thread-level values rejected, on every form, with the value quoted. */
static void check_thread_policy_options(void)
{
    static const struct {
        const char *env;
        const char *why;
    } bad[] = {
        {"fac2/gss:x", "the thread level \"gss:x\": K is not a decimal integer"},
        {"fac2/", "the thread level \"\": no policy given"},
        {"/gss", "the node level \"\": no policy given"},
        {"auto/bogus", "the thread level \"bogus\": unknown policy"},
        {"fixed:0/auto", "the node level \"fixed:0\": K must be at least 1"},
        {"fac2/gss/tss", "more than one '/'"},
        {"auto/static:4", "the thread level \"static:4\": this policy takes no :K"},
    };
    const char *forms = "auto, static, fixed, fixed:N, gss, gss:N, tss, fac2, wf, awf";
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char name[96], quoted[64];
        snprintf(name, sizeof name, "DLP_SCHEDULE=\"%s\" is rejected", bad[k].env);
        snprintf(quoted, sizeof quoted, "DLP_SCHEDULE=\"%s\"", bad[k].env);
        test_case(name);
        setenv("DLP_SCHEDULE", bad[k].env, 1);
        expect_option_error(k % 2 ? TEST_MANAGED : TEST_LOOP_MANAGED, NULL, quoted, bad[k].why);
        expect_option_error(k % 2 ? TEST_ROUND_ROBIN : TEST_LOOP_ROUND_ROBIN, NULL, quoted, forms);
    }
    test_case("opts.thread_schedule set: DLP_SCHEDULE still gives the node level, checked");
    setenv("DLP_SCHEDULE", "fac2/bogus", 1);
    dlp_opts o = DLP_OPTS_INIT;
    o.thread_schedule = DLP_SCHEDULE_GSS;
    expect_option_error(TEST_MANAGED, &o, "DLP_SCHEDULE=\"fac2/bogus\"", "unknown policy");
    test_case("opts.schedule set: DLP_SCHEDULE is not read, the thread level is auto");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_FAC2;
    thread_once(TEST_MANAGED, 100, &o, 0, 0, "FAC2, DLP_SCHEDULE=fac2/bogus");
    thread_once(TEST_ROUND_ROBIN, 100, &o, 0, 0, "FAC2, DLP_SCHEDULE=fac2/bogus");
    unsetenv("DLP_SCHEDULE");

    static const int out_of_range[] = {-1, DLP_SCHEDULE_AWF + 1, 2147483647};
    for (size_t k = 0; k < sizeof out_of_range / sizeof out_of_range[0]; k++) {
        char name[80], field[48];
        snprintf(name, sizeof name, "opts.thread_schedule = %d is rejected", out_of_range[k]);
        snprintf(field, sizeof field, "opts.thread_schedule = %d", out_of_range[k]);
        test_case(name);
        o = (dlp_opts)DLP_OPTS_INIT;
        o.thread_schedule = out_of_range[k];
        expect_option_error(TEST_MANAGED, &o, field, "not a dlp_schedule value");
        expect_option_error(TEST_LOOP_ROUND_ROBIN, &o, field, NULL);
    }
    test_case("opts.thread_chunk = -2 is rejected");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.thread_schedule = DLP_SCHEDULE_FIXED;
    o.thread_chunk = -2;
    expect_option_error(TEST_ROUND_ROBIN, &o, "opts.thread_chunk = -2", "must be >= 0");

    if (g_size > 1) {
        test_case("ranks disagree on the thread-level policy: DLP_ERR_MISMATCH everywhere");
        o = (dlp_opts)DLP_OPTS_INIT;
        o.thread_schedule = g_rank == 0 ? DLP_SCHEDULE_FAC2 : DLP_SCHEDULE_GSS;
        struct count_ctx c;
        count_init(&c, TEST_MANAGED, 10, 0);
        ASSERT_RC(dlp_split_managed(10, count_body, &c, &o), DLP_ERR_MISMATCH);
        ASSERT_STR_CONTAINS(dlp_last_error(), "thread_schedule");
        test_case("ranks disagree on the thread-level chunk: DLP_ERR_MISMATCH everywhere");
        o.thread_schedule = DLP_SCHEDULE_FIXED;
        o.thread_chunk = g_rank == 0 ? 3 : 4;
        ASSERT_RC(dlp_split_round_robin(10, count_body, &c, &o), DLP_ERR_MISMATCH);
        ASSERT_STR_CONTAINS(dlp_last_error(), "thread_chunk");
        ASSERT_EQ(c.items, 0);
        free(c.cnt);
    }
    exactly_once(TEST_MANAGED, 1000, NULL, 0, 0, "after rejected thread-level policies");
}

static void check_teams(void)
{
    /* loop form: the user's region may have any size, or be absent */
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        if (!test_form_loop(f))
            continue;
        exactly_once(f, 1000, NULL, 20, 1, "region of 1 thread");
        exactly_once(f, 1000, NULL, 20, 5, "region of 5 threads");
        exactly_once(f, 1000, NULL, 0, -1, "no parallel region");
        exactly_once(f, 0, NULL, 0, -1, "no parallel region");
    }
    /* a few long items first or last: the master's threads are all busy while
     * other ranks ask for chunks */
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        exactly_once(f, 400, NULL, -1, 0, "6 long items first");
        exactly_once(f, 400, NULL, -2, 0, "6 long items last");
    }
    /* callback form: opts.threads */
    for (int t = 1; t <= 5; t += 2) {
        dlp_opts o = DLP_OPTS_INIT;
        o.threads = t;
        char what[64];
        snprintf(what, sizeof what, "opts.threads = %d", t);
        exactly_once(TEST_MANAGED, 1000, &o, 20, 0, what);
        exactly_once(TEST_ROUND_ROBIN, 1000, &o, 20, 0, what);
    }
}

/* --------------------------------------------------------------- failures -- */

struct fail_ctx {
    long fail_at;   /* this item fails (-1: none) */
    long fail_from; /* items >= this fail (-1: none) */
    long n;
    long bad;       /* 1 + an index outside [0, n) */
    long items;
};

static int fail_body(long i, void *vctx)
{
    struct fail_ctx *c = vctx;
    __atomic_fetch_add(&c->items, 1, __ATOMIC_RELAXED);
    if (i < 0 || i >= c->n)
        __atomic_store_n(&c->bad, i + 1, __ATOMIC_RELAXED);
    if (i == c->fail_at)
        return 3;
    if (c->fail_from >= 0 && i >= c->fail_from)
        return -1;
    return 0;
}

static void expect_item_error(int rc, long item)
{
    ASSERT_RC(rc, DLP_ERR_ITEM);
    ASSERT_LAST_ERROR_SET();
    if (item >= 0) {
        char idx[32];
        snprintf(idx, sizeof idx, "%ld", item);
        ASSERT_STR_CONTAINS(dlp_last_error(), idx);
    }
    /* every rank got the error (each asserted it); show the report once */
    if (g_rank == 0)
        printf("    report: %s\n", dlp_last_error());
    ASSERT_OK(dlp_barrier());
}

static void check_failures(void)
{
    test_case("managed: body fails on item 4321 of 5000");
    struct fail_ctx c = {4321, -1, 5000, 0, 0};
    expect_item_error(dlp_split_managed(5000, fail_body, &c, NULL), 4321);
    ASSERT_EQ(c.bad, 0);
    exactly_once(TEST_MANAGED, 1000, NULL, 0, 0, "after a failure");

    test_case("round robin: body fails on an item of the last rank");
    long item = 3L * g_size - 1 + 1000L * g_size; /* on rank size-1 */
    c = (struct fail_ctx){item, -1, 5000L * g_size, 0, 0};
    expect_item_error(dlp_split_round_robin(c.n, fail_body, &c, NULL), item);
    ASSERT_EQ(c.bad, 0);
    exactly_once(TEST_ROUND_ROBIN, 1000, NULL, 0, 0, "after a failure");

    test_case("managed: every item from 100 on fails");
    c = (struct fail_ctx){-1, 100, 10000, 0, 0};
    expect_item_error(dlp_split_managed(c.n, fail_body, &c, NULL), -1);
    ASSERT_STR_CONTAINS(dlp_last_error(), "item");
    test_case("round robin: every item fails");
    c = (struct fail_ctx){-1, 0, 10000, 0, 0};
    expect_item_error(dlp_split_round_robin(c.n, fail_body, &c, NULL), -1);
    ASSERT_STR_CONTAINS(dlp_last_error(), "item");

    for (int split = 0; split < 2; split++) {
        test_case(split ? "loop form, round robin: dlp_loop_fail on item 777"
                        : "loop form, managed: dlp_loop_fail on item 777");
        dlp_opts o = DLP_OPTS_INIT;
        o.split = split;
        dlp_loop *loop = NULL;
        ASSERT_OK(dlp_loop_begin(&loop, 2000, &o));
        int fail_rc = 1;
#pragma omp parallel
        {
            long i;
            while (dlp_loop_next(loop, &i))
                if (i == 777)
                    fail_rc = dlp_loop_fail(loop, i, "custom failure %d", 99);
        }
        int rc = dlp_loop_end(&loop);
        ASSERT_NULL(loop);
        expect_item_error(rc, 777);
        ASSERT_STR_CONTAINS(dlp_last_error(), "custom failure 99");
        /* the rank that failed the item got DLP_OK from dlp_loop_fail */
        int r = fail_rc == 1 ? 0 : (fail_rc == DLP_OK ? 1 : 1000);
        int sum = 0;
        ASSERT_MPI(MPI_Allreduce(&r, &sum, 1, MPI_INT, MPI_SUM, dlp_comm()));
        ASSERT_EQ(sum, 1);
    }
    exactly_once(TEST_LOOP_MANAGED, 1000, NULL, 0, 0, "after a failure");
    exactly_once(TEST_LOOP_ROUND_ROBIN, 1000, NULL, 0, 0, "after a failure");
}

/* n = 2^40: accepted (64-bit indices), and a failure stops the call promptly
 * (the items cannot all be run; each form stops on its first items). */
static void check_huge_n(void)
{
    const long huge = 1L << 40;
    test_case("managed, n = 2^40: every item fails; the call stops everywhere");
    struct fail_ctx c = {-1, 0, huge, 0, 0};
    expect_item_error(dlp_split_managed(huge, fail_body, &c, NULL), -1);
    ASSERT_EQ(c.bad, 0);

    test_case("round robin, n = 2^40: every item fails; the call stops everywhere");
    c = (struct fail_ctx){-1, 0, huge, 0, 0};
    expect_item_error(dlp_split_round_robin(huge, fail_body, &c, NULL), -1);
    ASSERT_EQ(c.bad, 0);

    dlp_opts o = DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_FIXED;
    o.chunk = 1L << 33; /* a chunk size above 2^32 */
    test_case("managed FIXED chunk 2^33, n = 2^40: every item fails");
    c = (struct fail_ctx){-1, 0, huge, 0, 0};
    expect_item_error(dlp_split_managed(huge, fail_body, &c, &o), -1);
    ASSERT_EQ(c.bad, 0);

    for (int split = 0; split < 2; split++) {
        test_case(split ? "loop form, round robin, n = 2^40 + 3: each thread fails its first item"
                        : "loop form, managed, n = 2^40 + 3: each thread fails its first item");
        o = (dlp_opts)DLP_OPTS_INIT;
        o.split = split;
        dlp_loop *loop = NULL;
        long n = huge + 3, bad = 0;
        ASSERT_OK(dlp_loop_begin(&loop, n, &o));
#pragma omp parallel reduction(+ : bad)
        {
            long i;
            int failed = 0;
            while (dlp_loop_next(loop, &i)) {
                bad += i < 0 || i >= n;
                if (!failed) {
                    failed = 1;
                    dlp_loop_fail(loop, i, "stop the huge loop");
                }
            }
        }
        int rc = dlp_loop_end(&loop);
        ASSERT_EQ(bad, 0);
        expect_item_error(rc, -1);
        ASSERT_STR_CONTAINS(dlp_last_error(), "stop the huge loop");
    }
}

/* ------------------------------------------------------- back to back -- */

struct small_ctx {
    long *cnt; /* [5] counts over all calls */
};

static int small_body(long i, void *vctx)
{
    struct small_ctx *c = vctx;
    if (i >= 0 && i < 5)
        __atomic_fetch_add(&c->cnt[i], 1, __ATOMIC_RELAXED);
    return 0;
}

static void small_call(int k, struct small_ctx *c)
{
    ASSERT_OK(test_run_form(k % TEST_BODY_FORMS, 5, small_body, c, NULL, 0));
}

/* `total` calls: the first sixth warms up, VmRSS may then grow by 2 MiB at most.
 * Above ~2048 calls a leaked communicator per call would also exhaust
 * MPICH's context ids. */
static void check_back_to_back(int total)
{
    char name[128];
    snprintf(name, sizeof name, "%d back-to-back calls of n = 5 (all forms): no leak", total);
    test_case(name);
    long cnt[5] = {0};
    struct small_ctx c = {cnt};
    const int warm = total / 6, calls = total - warm;
    for (int k = 0; k < warm; k++)
        small_call(k, &c);
    long rss0 = test_rss_kib(), heap0 = test_heap_bytes(), maps0 = test_map_count();
    for (int k = 0; k < calls; k++)
        small_call(k, &c);
    long rss1 = test_rss_kib(), heap1 = test_heap_bytes(), maps1 = test_map_count();
    long sum[5];
    ASSERT_MPI(MPI_Allreduce(cnt, sum, 5, MPI_LONG, MPI_SUM, dlp_comm()));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(sum[i], warm + calls);
    char what[64];
    snprintf(what, sizeof what, "%d calls", calls);
    ASSERT_RSS_GROWTH(rss1 - rss0, 2048, what);
    ASSERT_HEAP_GROWTH(heap1 - heap0, 256 * 1024, what);
    if (maps1 > maps0 + 4)
        TEST_FAIL("memory mappings grew from %ld to %ld over %d calls", maps0, maps1, calls);

    test_case("MPI still works after the back-to-back calls");
    MPI_Comm dup;
    ASSERT_MPI(MPI_Comm_dup(dlp_comm(), &dup));
    int one = 1, ranks = 0;
    ASSERT_MPI(MPI_Allreduce(&one, &ranks, 1, MPI_INT, MPI_SUM, dup));
    ASSERT_EQ(ranks, g_size);
    ASSERT_MPI(MPI_Comm_free(&dup));
    exactly_once(TEST_MANAGED, 1000, NULL, 0, 0, "after back-to-back calls");
}

/* Argument --calls=N: back-to-back calls (default 2400; fewer keeps
 * oversubscribed runs short, where every collective costs milliseconds). */
int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    int calls = 2400;
    for (int a = 1; a < argc; a++)
        if (strncmp(argv[a], "--calls=", 8) == 0)
            calls = atoi(argv[a] + 8);
    ASSERT_GE(calls, 12);
    check_sizes();
    check_schedules();
    check_policies();
    check_policy_options();
    check_thread_policies();
    check_thread_policy_options();
    check_teams();
    check_failures();
    check_huge_n();
    check_back_to_back(calls);
    return test_end("test_split");
}
