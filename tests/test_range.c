/* The range loop form (dlp_loop_next_range): every item exactly once,
 * managed and round robin, under every thread-level schedule and for n
 * from 0 to 100000; the batches' shape (step 1 managed, step S round
 * robin, items of this rank); dense results written from a batch; failures
 * inside a batch under skip (exactly the failed items listed, the rest
 * done) and abort; dlp_loop_next and dlp_loop_next_range mixed in one loop
 * (refused, DLP_ERR_STATE on every rank); dlp_item_fail() in a batch
 * (refused); a time limit under skip, reported by batch (the report
 * names the batch's first and last items). Reductions in the range form: tests/test_reduce.c; the journal:
 * tests/test_journal.c. */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdatomic.h>
#include <unistd.h>

static int g_rank, g_size;

struct ctx {
    long n;
    int split;
    _Atomic int *runs;    /* [n] runs of each item on this rank */
    _Atomic long batches; /* batches handed out on this rank */
    _Atomic long bad;     /* batches of the wrong shape (the first is printed) */
    int fail_mod;         /* items i % fail_mod == 3 fail (0: none) */
    dlp_results *results; /* or NULL: item i writes 3i + 1 */
};

static void bad_batch(struct ctx *c, long b, long e, long s)
{
    if (atomic_fetch_add(&c->bad, 1) == 0)
        fprintf(stderr, "rank %d: bad batch begin %ld end %ld step %ld (n = %ld, %s)\n",
                g_rank, b, e, s, c->n,
                c->split == DLP_SPLIT_MANAGED ? "managed" : "round robin");
}

/* One thread's loop over its batches. */
static void thread_loop(struct ctx *c, dlp_loop *loop)
{
    long b, e, s;
    while (dlp_loop_next_range(loop, &b, &e, &s)) {
        atomic_fetch_add(&c->batches, 1);
        long want_step = c->split == DLP_SPLIT_MANAGED ? 1 : g_size;
        if (s != want_step || b < 0 || b >= e || e > c->n || (e - 1 - b) % s != 0 ||
            (c->split != DLP_SPLIT_MANAGED && b % g_size != g_rank))
            bad_batch(c, b, e, s);
        if (s < 1)
            break;
        for (long i = b; i < e; i += s) {
            if (i < 0 || i >= c->n)
                break;
            atomic_fetch_add_explicit(&c->runs[i], 1, memory_order_relaxed);
            if (c->fail_mod && i % c->fail_mod == 3) {
                ASSERT_OK(dlp_loop_fail(loop, i, "item %ld fails on purpose", i));
                continue;
            }
            if (c->results)
                *DLP_RESULTS_AT(c->results, i, long) = 3 * i + 1;
        }
    }
}

/* A range loop over c; returns dlp_loop_end's status. */
static int run(struct ctx *c, dlp_opts o)
{
    o.split = c->split;
    o.progress = DLP_PROGRESS_OFF;
    o.results = c->results;
    dlp_loop *loop = NULL;
    int rc = dlp_loop_begin(&loop, c->n, &o);
    if (rc != DLP_OK)
        return rc;
#pragma omp parallel
    thread_loop(c, loop);
    return dlp_loop_end(&loop);
}

static struct ctx *ctx_new(long n, int split)
{
    struct ctx *c = calloc(1, sizeof *c);
    ASSERT_NOT_NULL(c);
    c->n = n;
    c->split = split;
    c->runs = calloc((size_t)n + 1, sizeof *c->runs);
    ASSERT_NOT_NULL(c->runs);
    return c;
}

static void ctx_free(struct ctx *c)
{
    free((void *)c->runs);
    free(c);
}

/* Every rank: each item ran once over the ranks; no batch was misshapen. */
static void check_runs(struct ctx *c)
{
    int *mine = malloc(sizeof(int) * ((size_t)c->n + 1));
    int *all = malloc(sizeof(int) * ((size_t)c->n + 1));
    ASSERT_TRUE(mine && all);
    for (long i = 0; i < c->n; i++)
        mine[i] = atomic_load(&c->runs[i]);
    if (c->n > 0)
        ASSERT_MPI(MPI_Allreduce(mine, all, (int)c->n, MPI_INT, MPI_SUM, dlp_comm()));
    for (long i = 0; i < c->n; i++)
        if (all[i] != 1)
            TEST_FAIL("item %ld ran %d times over the ranks, expected once (n = %ld)", i, all[i],
                      c->n);
    ASSERT_EQ(atomic_load(&c->bad), 0);
    free(mine);
    free(all);
}

/* Every item once, for several n, both splits and every thread policy. */
static void check_exactly_once(void)
{
    static const long ns[] = {0, 1, 7, 1000, 100000};
    for (int split = DLP_SPLIT_MANAGED; split <= DLP_SPLIT_ROUND_ROBIN; split++) {
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            for (int pol = DLP_SCHEDULE_AUTO; pol <= DLP_SCHEDULE_AWF; pol++) {
                if (ns[k] < 1000 && pol != DLP_SCHEDULE_AUTO)
                    continue;
                char name[160];
                snprintf(name, sizeof name, "exactly once: n = %ld, %s, thread schedule %d",
                         ns[k], split == DLP_SPLIT_MANAGED ? "managed" : "round robin", pol);
                test_case(name);
                struct ctx *c = ctx_new(ns[k], split);
                dlp_opts o = DLP_OPTS_INIT;
                o.thread_schedule = pol;
                o.thread_chunk = 17;
                ASSERT_OK(run(c, o));
                check_runs(c);
                long batches = atomic_load(&c->batches), all = 0;
                ASSERT_MPI(MPI_Allreduce(&batches, &all, 1, MPI_LONG, MPI_SUM, dlp_comm()));
                if (g_rank == 0 && pol == DLP_SCHEDULE_AUTO && ns[k] == 100000)
                    printf("    %ld items in %ld batches over %d ranks\n", ns[k], all, g_size);
                ctx_free(c);
            }
        }
    }
}

/* Dense results written from the batches reach the master complete. */
static void check_results(void)
{
    for (int split = DLP_SPLIT_MANAGED; split <= DLP_SPLIT_ROUND_ROBIN; split++) {
        test_case(split == DLP_SPLIT_MANAGED ? "dense results, managed"
                                             : "dense results, round robin");
        const long n = 50000;
        struct ctx *c = ctx_new(n, split);
        ASSERT_OK(dlp_results_create(&c->results, n, sizeof(long)));
        dlp_opts o = DLP_OPTS_INIT;
        o.on_all_ranks = 1;
        ASSERT_OK(run(c, o));
        check_runs(c);
        const long *r = dlp_results_data(c->results);
        ASSERT_NOT_NULL(r);
        for (long i = 0; i < n; i++)
            if (r[i] != 3 * i + 1)
                TEST_FAIL("result %ld holds %ld, expected %ld", i, r[i], 3 * i + 1);
        ASSERT_OK(dlp_results_destroy(&c->results));
        ctx_free(c);
    }
}

/* Items i % 7 == 3 fail inside their batches: under skip exactly those are
 * listed and the rest are done; under abort the call fails everywhere. */
static void check_failures(void)
{
    for (int split = DLP_SPLIT_MANAGED; split <= DLP_SPLIT_ROUND_ROBIN; split++) {
        const char *how = split == DLP_SPLIT_MANAGED ? "managed" : "round robin";
        char name[128];
        snprintf(name, sizeof name, "failures inside batches under skip, %s", how);
        test_case(name);
        const long n = 20000;
        struct ctx *c = ctx_new(n, split);
        c->fail_mod = 7;
        dlp_opts o = DLP_OPTS_INIT;
        o.on_error = DLP_ON_ERROR_SKIP;
        ASSERT_RC(run(c, o), DLP_SKIPPED);
        check_runs(c);
        const dlp_failure *list = NULL;
        long want = 0;
        for (long i = 0; i < n; i++)
            want += i % 7 == 3;
        ASSERT_EQ(dlp_failures(&list), want);
        char *seen = calloc((size_t)n, 1);
        ASSERT_NOT_NULL(seen);
        long listed = dlp_failures_listed();
        for (long k = 0; k < listed; k++) {
            long i = list[k].item;
            if (i < 0 || i >= n || i % 7 != 3 || seen[i])
                TEST_FAIL("failure %ld names item %ld (%s)", k, i, list[k].message);
            seen[i] = 1;
            ASSERT_EQ(list[k].code, DLP_ERR_ITEM);
        }
        free(seen);
        ctx_free(c);

        snprintf(name, sizeof name, "a failure inside a batch under abort, %s", how);
        test_case(name);
        c = ctx_new(n, split);
        c->fail_mod = 7;
        o.on_error = DLP_ON_ERROR_ABORT;
        ASSERT_RC(run(c, o), DLP_ERR_ITEM);
        ASSERT_STR_CONTAINS(dlp_last_error(), "fails on purpose");
        /* the threads finish their batches: more items may fail */
        ASSERT_GE(dlp_failures(&list), 1);
        ASSERT_EQ(dlp_failures_listed(), 1);
        ASSERT_EQ(list[0].item % 7, 3);
        ctx_free(c);
    }
}

/* dlp_loop_next and dlp_loop_next_range in one loop: refused on every
 * rank, by thread (one thread each way) or within one thread. */
static void check_mixed(void)
{
    for (int within = 0; within <= 1; within++) {
        test_case(within ? "one thread takes a range, then an item: refused"
                         : "one thread takes items, another ranges: refused");
        dlp_opts o = DLP_OPTS_INIT;
        o.progress = DLP_PROGRESS_OFF;
        dlp_loop *loop = NULL;
        ASSERT_OK(dlp_loop_begin(&loop, 1000, &o));
#pragma omp parallel num_threads(2)
        {
            long i, b, e, s;
            if (within || omp_get_thread_num() == 0) {
                if (dlp_loop_next_range(loop, &b, &e, &s))
                    while (dlp_loop_next(loop, &i))
                        ;
            }
            if (!within && omp_get_thread_num() == 1) {
                test_sleep_us(20000); /* thread 0 takes first (either order fails) */
                while (dlp_loop_next(loop, &i))
                    ;
            }
            while (dlp_loop_next_range(loop, &b, &e, &s))
                ;
        }
        int rc = dlp_loop_end(&loop);
        if (omp_get_max_threads() < 2 && !within) {
            ASSERT_TRUE(rc == DLP_OK || rc == DLP_ERR_STATE);
            continue;
        }
        ASSERT_RC(rc, DLP_ERR_STATE);
        ASSERT_STR_CONTAINS(dlp_last_error(), "a loop takes its items one way");
    }
}

/* dlp_item_fail() from a batch: DLP_ERR_STATE, nothing recorded. */
static void check_item_fail(void)
{
    test_case("dlp_item_fail in a batch: refused, pointing at dlp_loop_fail");
    dlp_opts o = DLP_OPTS_INIT;
    o.progress = DLP_PROGRESS_OFF;
    dlp_loop *loop = NULL;
    ASSERT_OK(dlp_loop_begin(&loop, 100, &o));
    _Atomic int refused = 0, tried = 0;
#pragma omp parallel
    {
        long b, e, s;
        while (dlp_loop_next_range(loop, &b, &e, &s)) {
            atomic_fetch_add(&tried, 1);
            if (dlp_item_fail("no single item") == DLP_ERR_STATE &&
                strstr(dlp_last_error(), "dlp_loop_fail(loop, i"))
                atomic_fetch_add(&refused, 1);
        }
    }
    ASSERT_OK(dlp_loop_end(&loop));
    ASSERT_EQ(atomic_load(&refused), atomic_load(&tried));
}

/* opts.time_limit under skip: a batch of 8 items of 20 ms (thread schedule
 * fixed:8) runs over a limit of 50 ms; rank 0's report names the batch. */
static void check_time_limit(void)
{
    test_case("time limit: a batch over the limit is reported as a batch");
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_range_stderr.%ld", (long)getpid());
    int saved = -1;
    if (g_rank == 0) {
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (saved < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0)
            TEST_FAIL("cannot send stderr to %s: %s", path, strerror(errno));
        close(fd);
    }
    dlp_opts o = DLP_OPTS_INIT;
    o.progress = DLP_PROGRESS_OFF;
    o.on_error = DLP_ON_ERROR_SKIP;
    o.time_limit = 0.05;
    o.thread_schedule = DLP_SCHEDULE_FIXED;
    o.thread_chunk = 8;
    o.split = DLP_SPLIT_ROUND_ROBIN;
    dlp_loop *loop = NULL;
    ASSERT_OK(dlp_loop_begin(&loop, 8L * g_size, &o));
#pragma omp parallel num_threads(1)
    {
        long b, e, s;
        while (dlp_loop_next_range(loop, &b, &e, &s))
            for (long i = b; i < e; i += s)
                test_sleep_us(20000);
    }
    ASSERT_OK(dlp_loop_end(&loop));
    if (g_rank != 0)
        return;
    fflush(stderr);
    ASSERT_GE(dup2(saved, STDERR_FILENO), 0);
    close(saved);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    char text[4096];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    unlink(path);
    printf("    stderr: %s", text);
    char want[160];
    snprintf(want, sizeof want, "the batch of items 0..%ld (dlp_loop_next_range) has been running",
             7L * g_size);
    ASSERT_STR_CONTAINS(text, want);
}

int main(int argc, char **argv)
{
    unsetenv("DLP_SCHEDULE");
    unsetenv("DLP_ON_ERROR");
    ASSERT_OK(dlp_init(&argc, &argv));
    g_rank = dlp_rank();
    g_size = dlp_size();
    check_exactly_once();
    check_results();
    check_failures();
    check_mixed();
    check_item_fail();
    check_time_limit();
    ASSERT_OK(dlp_finalize());
    if (g_rank == 0)
        printf("test_range: all cases passed\n");
    return 0;
}
