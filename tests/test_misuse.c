/* Misuse: calls before dlp_init and after dlp_finalize, bad arguments, bad
 * options (struct and DLP_* environment), ranks that disagree, nested calls,
 * dlp_strerror for every code. Every error must come with a message, and the
 * library must keep working after each refused call. */
#include "test_util.h"

#include <limits.h>
#include <omp.h>

static int noop_body(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    return 0;
}

static int noop_work(long i, void *ctx, dlp_buf *out)
{
    (void)ctx;
    return dlp_buf_append(out, &i, sizeof i);
}

static int root_fn(void *ctx, void *out, size_t len)
{
    (void)ctx;
    memset(out, 7, len);
    return 0;
}

/* An error code with a non-empty message. */
#define ASSERT_ERR(expr, code)                                                       \
    do {                                                                             \
        ASSERT_RC(expr, code);                                                       \
        ASSERT_LAST_ERROR_SET();                                                     \
    } while (0)

static void check_strerror(void)
{
    test_case("dlp_strerror: every code named, all distinct");
    const int codes[] = {DLP_OK,           DLP_ERR_NOT_INITIALIZED, DLP_ERR_FINALIZED,
                         DLP_ERR_ARG,      DLP_ERR_OPTION,          DLP_ERR_THREAD_LEVEL,
                         DLP_ERR_MPI,      DLP_ERR_NOMEM,           DLP_ERR_ITEM,
                         DLP_ERR_MISMATCH, DLP_ERR_STATE,           DLP_ERR_SYSTEM};
    const int n = (int)(sizeof codes / sizeof codes[0]);
    /* stable numbers */
    for (int k = 0; k < n; k++)
        ASSERT_EQ(codes[k], -k);
    for (int a = 0; a < n; a++) {
        const char *sa = dlp_strerror(codes[a]);
        ASSERT_NOT_NULL(sa);
        ASSERT_GT(strlen(sa), 0);
        for (int b = 0; b < a; b++)
            if (strcmp(sa, dlp_strerror(codes[b])) == 0)
                TEST_FAIL("dlp_strerror(%d) == dlp_strerror(%d) == \"%s\"", codes[a], codes[b],
                          sa);
    }
    /* DLP_SKIPPED: the one positive status, a completed call */
    ASSERT_EQ(DLP_SKIPPED, 1);
    ASSERT_STR_CONTAINS(dlp_strerror(DLP_SKIPPED), "DLP_SKIPPED: the call completed");
    /* unknown codes still give a string; -12 (the retired DLP_ERR_SKIPPED)
     * is not reused */
    const int unknown[] = {2, -12, -1000, INT_MIN, INT_MAX};
    for (int k = 0; k < 5; k++) {
        ASSERT_NOT_NULL(dlp_strerror(unknown[k]));
        ASSERT_GT(strlen(dlp_strerror(unknown[k])), 0);
        ASSERT_STR_CONTAINS(dlp_strerror(unknown[k]), "unknown dlp status code");
    }
    ASSERT_NOT_NULL(dlp_last_error());
}

/* Every library entry point refuses with `code` (not initialised / finalised). */
static void check_refused(int code)
{
    int buf[4] = {0};
    void *all = NULL;
    size_t lens[8];
    ASSERT_EQ(dlp_initialized(), 0);
    ASSERT_TRUE(dlp_comm() == MPI_COMM_NULL);
    ASSERT_ERR(dlp_rank(), code);
    ASSERT_ERR(dlp_size(), code);
    ASSERT_ERR(dlp_node(), code);
    ASSERT_ERR(dlp_nodes(), code);
    ASSERT_ERR(dlp_node_rank(), code);
    ASSERT_ERR(dlp_threads(), code);
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, NULL), code);
    ASSERT_ERR(dlp_split_round_robin(10, noop_body, NULL, NULL), code);
    dlp_loop *loop = NULL;
    ASSERT_ERR(dlp_loop_begin(&loop, 10, NULL), code);
    ASSERT_NULL(loop);
    dlp_results *r = NULL;
    ASSERT_ERR(dlp_results_create(&r, 10, 8), code);
    ASSERT_NULL(r);
    ASSERT_ERR(dlp_gather(buf, sizeof buf, &all, lens), code);
    ASSERT_ERR(dlp_bcast(buf, sizeof buf, 0), code);
    ASSERT_ERR(dlp_barrier(), code);
    ASSERT_ERR(dlp_call_on_root_and_bcast(root_fn, NULL, buf, sizeof buf), code);
    ASSERT_ERR(dlp_finalize(), code);
    ASSERT_EQ(dlp_version(), DLP_VERSION);
}

/* The library still works: a small managed call, counted on every rank. */
static void check_still_works(void)
{
    long n = 100;
    long local = 0;
    dlp_loop *loop = NULL;
    ASSERT_OK(dlp_loop_begin(&loop, n, NULL));
#pragma omp parallel reduction(+ : local)
    {
        long i;
        while (dlp_loop_next(loop, &i))
            local++;
    }
    ASSERT_OK(dlp_loop_end(&loop));
    long total = 0;
    ASSERT_MPI(MPI_Allreduce(&local, &total, 1, MPI_LONG, MPI_SUM, dlp_comm()));
    ASSERT_EQ(total, n);
    ASSERT_OK(dlp_barrier());
}

static void check_bad_arguments(void)
{
    int size = dlp_size();
    test_case("NULL body, n < 0");
    ASSERT_ERR(dlp_split_managed(10, NULL, NULL, NULL), DLP_ERR_ARG);
    ASSERT_ERR(dlp_split_round_robin(10, NULL, NULL, NULL), DLP_ERR_ARG);
    ASSERT_ERR(dlp_split_managed(-1, noop_body, NULL, NULL), DLP_ERR_ARG);
    ASSERT_ERR(dlp_split_round_robin(-5, noop_body, NULL, NULL), DLP_ERR_ARG);
    ASSERT_ERR(dlp_split_managed(LONG_MIN, noop_body, NULL, NULL), DLP_ERR_ARG);
    check_still_works();

    test_case("dlp_loop_begin: NULL handle, n < 0 (handle left NULL)");
    ASSERT_ERR(dlp_loop_begin(NULL, 10, NULL), DLP_ERR_ARG);
    dlp_loop *loop = (dlp_loop *)&size; /* not NULL: must be reset on error */
    ASSERT_ERR(dlp_loop_begin(&loop, -1, NULL), DLP_ERR_ARG);
    ASSERT_NULL(loop);

    test_case("dlp_loop_end / dlp_loop_next / dlp_loop_fail with NULL");
    ASSERT_ERR(dlp_loop_end(NULL), DLP_ERR_ARG);
    loop = NULL;
    ASSERT_ERR(dlp_loop_end(&loop), DLP_ERR_ARG);
    long i = -7;
    ASSERT_EQ(dlp_loop_next(NULL, &i), 0);
    ASSERT_EQ(dlp_loop_fail(NULL, 0, "x"), DLP_ERR_ARG);
    check_still_works();

    test_case("dlp_loop_next(loop, NULL) returns 0 and loses no item");
    {
        long n = 50;
        long local = 0, bad = 0;
        ASSERT_OK(dlp_loop_begin(&loop, n, NULL));
        ASSERT_NOT_NULL(loop);
        ASSERT_EQ(dlp_loop_next(loop, NULL), 0);
#pragma omp parallel reduction(+ : local, bad)
        {
            long j;
            while (dlp_loop_next(loop, &j)) {
                local++;
                bad += j < 0 || j >= n;
            }
        }
        ASSERT_EQ(dlp_loop_next(loop, &i), 0); /* exhausted stays exhausted */
        ASSERT_OK(dlp_loop_end(&loop));
        ASSERT_NULL(loop);
        long total = 0;
        ASSERT_MPI(MPI_Allreduce(&local, &total, 1, MPI_LONG, MPI_SUM, dlp_comm()));
        ASSERT_EQ(total, n);
        ASSERT_EQ(bad, 0);
    }

    test_case("dlp_results_create bad arguments");
    dlp_results *r = NULL;
    ASSERT_ERR(dlp_results_create(NULL, 10, 8), DLP_ERR_ARG);
    ASSERT_ERR(dlp_results_create(&r, -1, 8), DLP_ERR_ARG);
    ASSERT_ERR(dlp_results_create(&r, 10, 0), DLP_ERR_ARG);
    ASSERT_ERR(dlp_results_create(&r, LONG_MAX / 2, 1024), DLP_ERR_ARG); /* overflows */
    ASSERT_ERR(dlp_results_create(&r, 1L << 40, SIZE_MAX / 2), DLP_ERR_ARG);
    ASSERT_NULL(dlp_results_at(NULL, 0));
    ASSERT_NULL(dlp_results_data(NULL));
    ASSERT_OK(dlp_results_destroy(NULL));
    r = NULL;
    ASSERT_OK(dlp_results_destroy(&r));
    ASSERT_OK(dlp_results_create(&r, 10, 8));
    ASSERT_NOT_NULL(r);
    ASSERT_NOT_NULL(dlp_results_at(r, 0));
    ASSERT_NOT_NULL(dlp_results_at(r, 9));
    ASSERT_NULL(dlp_results_at(r, -1));
    ASSERT_NULL(dlp_results_at(r, 10));
    ASSERT_NULL(dlp_results_at(r, LONG_MAX));
    ASSERT_TRUE((char *)dlp_results_at(r, 9) - (char *)dlp_results_at(r, 0) == 72);
    ASSERT_OK(dlp_results_destroy(&r));
    ASSERT_NULL(r);
    check_still_works();

    test_case("collectives: bad arguments on every rank");
    int buf[16] = {0};
    size_t *lens = malloc(sizeof(size_t) * (size_t)size);
    ASSERT_ERR(dlp_gather(buf, sizeof buf, NULL, lens), DLP_ERR_ARG);
    void *all = NULL;
    ASSERT_ERR(dlp_gather(NULL, 8, &all, lens), DLP_ERR_ARG);
    ASSERT_NULL(all);
    ASSERT_ERR(dlp_bcast(buf, sizeof buf, -1), DLP_ERR_ARG);
    ASSERT_ERR(dlp_bcast(buf, sizeof buf, size), DLP_ERR_ARG);
    ASSERT_ERR(dlp_bcast(NULL, 8, 0), DLP_ERR_ARG);
    ASSERT_ERR(dlp_call_on_root_and_bcast(NULL, NULL, buf, sizeof buf), DLP_ERR_ARG);
    ASSERT_ERR(dlp_call_on_root_and_bcast(root_fn, NULL, NULL, 8), DLP_ERR_ARG);
    if (size > 1) {
        /* lengths whose sum exceeds SIZE_MAX (no byte is read: every rank
         * refuses before any transfer), the same message on every rank */
        test_case("dlp_gather: lengths that add up to more than SIZE_MAX");
        size_t huge = SIZE_MAX / 2 + 1;
        ASSERT_ERR(dlp_gather(buf, huge, &all, lens), DLP_ERR_ARG);
        char want[96];
        snprintf(want, sizeof want, "more than SIZE_MAX bytes (rank 1 passed len = %zu)", huge);
        ASSERT_STR_CONTAINS(dlp_last_error(), want);
        ASSERT_NULL(all);
    }
    free(lens);
    check_still_works();
}

static void check_bad_options(void)
{
    dlp_opts o;
    dlp_loop *loop;

    test_case("invalid opts.schedule / chunk / threads / split");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.schedule = 99;
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    loop = NULL;
    ASSERT_ERR(dlp_loop_begin(&loop, 10, &o), DLP_ERR_OPTION);
    ASSERT_NULL(loop);
    o.schedule = -1;
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    o = (dlp_opts)DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_FIXED;
    o.chunk = -3;
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    o = (dlp_opts)DLP_OPTS_INIT;
    o.threads = -1;
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    ASSERT_ERR(dlp_split_round_robin(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    o = (dlp_opts)DLP_OPTS_INIT;
    o.split = 7;
    loop = NULL;
    ASSERT_ERR(dlp_loop_begin(&loop, 10, &o), DLP_ERR_OPTION);
    ASSERT_NULL(loop);
    o.split = -1;
    ASSERT_ERR(dlp_loop_begin(&loop, 10, &o), DLP_ERR_OPTION);
    ASSERT_NULL(loop);
    check_still_works();

    test_case("opts.split that contradicts the call: DLP_ERR_OPTION (loop form only)");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.split = DLP_SPLIT_ROUND_ROBIN;
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(),
                        "opts.split = 1 (DLP_SPLIT_ROUND_ROBIN) contradicts dlp_split_managed");
    ASSERT_STR_CONTAINS(dlp_last_error(), "call dlp_split_round_robin()");
    ASSERT_ERR(dlp_map_unordered(10, noop_work, test_ignore_result, NULL, &o), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(), "contradicts dlp_map_unordered");
    dlp_map *map = NULL;
    ASSERT_ERR(dlp_map_begin(&map, 10, noop_work, NULL, &o), DLP_ERR_OPTION);
    ASSERT_NULL(map);
    /* the split the call makes anyway, and the loop form's choice, are fine */
    ASSERT_OK(dlp_split_round_robin(10, noop_body, NULL, &o));
    ASSERT_OK(dlp_loop_begin(&loop, 10, &o));
    long i;
    while (dlp_loop_next(loop, &i))
        ;
    ASSERT_OK(dlp_loop_end(&loop));
    o.split = DLP_SPLIT_MANAGED;
    ASSERT_OK(dlp_split_managed(10, noop_body, NULL, &o));
    ASSERT_OK(dlp_split_round_robin(10, noop_body, NULL, &o));
    check_still_works();

    test_case("invalid DLP_* environment values");
    o = (dlp_opts)DLP_OPTS_INIT;
    setenv("DLP_SCHEDULE", "bogus", 1);
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, NULL), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(), "DLP_SCHEDULE");
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    setenv("DLP_SCHEDULE", "fixed:0", 1);
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, NULL), DLP_ERR_OPTION);
    setenv("DLP_SCHEDULE", "fixed:-4", 1);
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, NULL), DLP_ERR_OPTION);
    unsetenv("DLP_SCHEDULE");
    setenv("DLP_CHUNK", "abc", 1);
    o.schedule = DLP_SCHEDULE_FIXED;
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(), "DLP_CHUNK");
    setenv("DLP_CHUNK", "0", 1);
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    unsetenv("DLP_CHUNK");
    setenv("DLP_HELPER_SLICE", "fast", 1);
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, NULL), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(), "DLP_HELPER_SLICE=\"fast\"");
    setenv("DLP_HELPER_SLICE", "100001", 1);
    ASSERT_ERR(dlp_split_round_robin(10, noop_body, NULL, NULL), DLP_ERR_OPTION);
    setenv("DLP_HELPER_SLICE", "0", 1); /* valid: do not ask */
    ASSERT_OK(dlp_split_managed(10, noop_body, NULL, NULL));
    unsetenv("DLP_HELPER_SLICE");
    /* an explicit valid option still works with the environment cleaned up */
    o.chunk = 3;
    ASSERT_OK(dlp_split_managed(10, noop_body, NULL, &o));
    check_still_works();
}

/* Ranks that disagree on a collective's scalar arguments. */
static void check_mismatch(void)
{
    int rank = dlp_rank(), size = dlp_size();
    if (size < 2)
        return;
    long n = rank == 0 ? 10 : 11;

    test_case("ranks disagree on n: managed");
    ASSERT_ERR(dlp_split_managed(n, noop_body, NULL, NULL), DLP_ERR_MISMATCH);
    check_still_works();

    test_case("ranks disagree on n: round robin");
    ASSERT_ERR(dlp_split_round_robin(n, noop_body, NULL, NULL), DLP_ERR_MISMATCH);
    check_still_works();

    test_case("ranks disagree on n: only the last rank differs");
    long n2 = rank == size - 1 ? 1000 : 999;
    ASSERT_ERR(dlp_split_managed(n2, noop_body, NULL, NULL), DLP_ERR_MISMATCH);
    check_still_works();

    test_case("ranks disagree on n: loop form");
    dlp_loop *loop = NULL;
    ASSERT_ERR(dlp_loop_begin(&loop, n, NULL), DLP_ERR_MISMATCH);
    ASSERT_NULL(loop);
    check_still_works();

    test_case("ranks disagree on opts.split: loop form");
    dlp_opts o = DLP_OPTS_INIT;
    o.split = rank == 0 ? DLP_SPLIT_MANAGED : DLP_SPLIT_ROUND_ROBIN;
    ASSERT_ERR(dlp_loop_begin(&loop, 10, &o), DLP_ERR_MISMATCH);
    ASSERT_NULL(loop);
    check_still_works();

    test_case("ranks disagree on n: dlp_results_create");
    dlp_results *r = NULL;
    ASSERT_ERR(dlp_results_create(&r, n, 8), DLP_ERR_MISMATCH);
    ASSERT_NULL(r);
    ASSERT_STR_CONTAINS(dlp_last_error(),
                        "rank 1 passed n = 11, elem_size = 8; rank 0 passed n = 10, elem_size = 8");
    ASSERT_ERR(dlp_results_create(&r, 10, rank == 0 ? 8 : 16), DLP_ERR_MISMATCH);
    ASSERT_NULL(r);
    /* the ranks and their values, not ranges */
    ASSERT_STR_CONTAINS(dlp_last_error(), "rank 1 passed elem_size = 16, rank 0 passed "
                                          "elem_size = 8 (n = 10)");
    if (strstr(dlp_last_error(), "ranges over"))
        TEST_FAIL("the message speaks of ranges: %s", dlp_last_error());
    if (size > 2) {
        char want[64];
        snprintf(want, sizeof want, "(and %d more rank%s)", size - 2, size == 3 ? "" : "s");
        ASSERT_STR_CONTAINS(dlp_last_error(), want);
    }
    ASSERT_ERR(dlp_results_create(&r, 10, rank == size - 1 ? 4 : 8), DLP_ERR_MISMATCH);
    char want[96];
    snprintf(want, sizeof want, "rank %d passed elem_size = 4, rank 0 passed elem_size = 8",
             size - 1);
    ASSERT_STR_CONTAINS(dlp_last_error(), want);
    check_still_works();

    test_case("ranks disagree on dlp_bcast length");
    char buf[64] = {0};
    ASSERT_ERR(dlp_bcast(buf, rank == 0 ? 64 : 32, 0), DLP_ERR_MISMATCH);
    check_still_works();

    test_case("ranks disagree on opts.schedule / opts.chunk: managed");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_FIXED;
    o.chunk = rank == 0 ? 3 : 4;
    ASSERT_ERR(dlp_split_managed(100, noop_body, NULL, &o), DLP_ERR_MISMATCH);
    o.chunk = 3;
    o.schedule = rank == 0 ? DLP_SCHEDULE_FIXED : DLP_SCHEDULE_AUTO;
    ASSERT_ERR(dlp_split_managed(100, noop_body, NULL, &o), DLP_ERR_MISMATCH);
    check_still_works();
}

/* A bad argument on one rank only: that rank's error, on every rank (no hang). */
static void check_one_rank_wrong(void)
{
    int rank = dlp_rank(), size = dlp_size();
    if (size < 2)
        return;
    int odd = size - 1; /* the rank that gets it wrong */

    test_case("NULL body on one rank only: DLP_ERR_ARG everywhere");
    ASSERT_ERR(dlp_split_managed(10, rank == odd ? NULL : noop_body, NULL, NULL), DLP_ERR_ARG);
    ASSERT_ERR(dlp_split_round_robin(10, rank == odd ? NULL : noop_body, NULL, NULL),
               DLP_ERR_ARG);
    check_still_works();

    test_case("invalid opts.schedule on one rank only: DLP_ERR_OPTION everywhere");
    dlp_opts o = DLP_OPTS_INIT;
    if (rank == odd)
        o.schedule = 99;
    ASSERT_ERR(dlp_split_managed(10, noop_body, NULL, &o), DLP_ERR_OPTION);
    check_still_works();

    test_case("invalid opts.split on one rank only: dlp_loop_begin fails everywhere");
    o = (dlp_opts)DLP_OPTS_INIT;
    if (rank == odd)
        o.split = 7;
    dlp_loop *loop = NULL;
    int rc = dlp_loop_begin(&loop, 10, &o);
    ASSERT_TRUE(rc == DLP_ERR_OPTION || rc == DLP_ERR_MISMATCH);
    ASSERT_LAST_ERROR_SET();
    ASSERT_NULL(loop);
    check_still_works();

    test_case("n < 0 on one rank only: DLP_ERR_ARG everywhere");
    ASSERT_ERR(dlp_split_managed(rank == odd ? -1 : 10, noop_body, NULL, NULL), DLP_ERR_ARG);
    loop = NULL;
    ASSERT_ERR(dlp_loop_begin(&loop, rank == odd ? -1 : 10, NULL), DLP_ERR_ARG);
    ASSERT_NULL(loop);
    check_still_works();

    test_case("collectives with a bad argument on one rank only: DLP_ERR_ARG everywhere");
    char buf[8] = {0};
    void *all = NULL;
    size_t *lens = malloc(sizeof(size_t) * (size_t)size);
    ASSERT_ERR(dlp_gather(buf, sizeof buf, rank == odd ? NULL : &all, lens), DLP_ERR_ARG);
    free(all);
    free(lens);
    ASSERT_ERR(dlp_bcast(buf, sizeof buf, rank == odd ? size : 0), DLP_ERR_ARG);
    dlp_results *r = NULL;
    ASSERT_ERR(dlp_results_create(rank == odd ? NULL : &r, 10, 8), DLP_ERR_ARG);
    ASSERT_NULL(r);
    ASSERT_ERR(dlp_results_create(&r, 10, rank == odd ? 0 : 8), DLP_ERR_ARG);
    ASSERT_NULL(r);
    ASSERT_ERR(dlp_call_on_root_and_bcast(rank == 0 ? NULL : root_fn, NULL, buf, sizeof buf),
               DLP_ERR_ARG);
    check_still_works();
}

/* n == 0 is valid and calls nothing. */
static int never_body(long i, void *ctx)
{
    (void)i;
    __atomic_fetch_add((int *)ctx, 1, __ATOMIC_RELAXED);
    return 1;
}

static void check_zero_items(void)
{
    test_case("n = 0 is a valid no-op in every form");
    int calls = 0;
    ASSERT_OK(dlp_split_managed(0, never_body, &calls, NULL));
    ASSERT_OK(dlp_split_round_robin(0, never_body, &calls, NULL));
    for (int split = 0; split < 2; split++) {
        dlp_opts o = DLP_OPTS_INIT;
        o.split = split;
        dlp_loop *loop = NULL;
        ASSERT_OK(dlp_loop_begin(&loop, 0, &o));
        ASSERT_NOT_NULL(loop);
#pragma omp parallel
        {
            long i;
            while (dlp_loop_next(loop, &i))
                __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
        }
        ASSERT_OK(dlp_loop_end(&loop));
        ASSERT_NULL(loop);
    }
    ASSERT_EQ(calls, 0);
}

/* Nested parallel calls are DLP_ERR_STATE, and do not disturb the outer call. */
struct nest_ctx {
    int wrong;   /* nested calls that did not return DLP_ERR_STATE */
    int tried;
    int items;
};

static int nesting_body(long i, void *vctx)
{
    struct nest_ctx *c = vctx;
    (void)i;
    if (__atomic_fetch_add(&c->items, 1, __ATOMIC_RELAXED) % 10 == 0) {
        int rc1 = dlp_split_managed(5, noop_body, NULL, NULL);
        int rc2 = dlp_split_round_robin(5, noop_body, NULL, NULL);
        dlp_loop *l = NULL;
        int rc3 = dlp_loop_begin(&l, 5, NULL);
        int x = 0;
        void *all = &x;
        int rc4 = dlp_barrier();
        int rc5 = dlp_bcast(&x, sizeof x, 0);
        int rc6 = dlp_gather(&x, sizeof x, &all, NULL);
        __atomic_fetch_add(&c->tried, 1, __ATOMIC_RELAXED);
        if (rc1 != DLP_ERR_STATE || rc2 != DLP_ERR_STATE || rc3 != DLP_ERR_STATE || l != NULL ||
            rc4 != DLP_ERR_STATE || rc5 != DLP_ERR_STATE || rc6 != DLP_ERR_STATE)
            __atomic_fetch_add(&c->wrong, 1, __ATOMIC_RELAXED);
    }
    return 0;
}

static void check_nesting(void)
{
    int size = dlp_size();
    test_case("nested calls from a body are DLP_ERR_STATE");
    struct nest_ctx c = {0, 0, 0};
    ASSERT_OK(dlp_split_round_robin(40L * size, nesting_body, &c, NULL));
    ASSERT_EQ(c.items, 40);
    ASSERT_EQ(c.tried, 4);
    ASSERT_EQ(c.wrong, 0);
    struct nest_ctx d = {0, 0, 0};
    ASSERT_OK(dlp_split_managed(200, nesting_body, &d, NULL));
    ASSERT_EQ(d.wrong, 0);
    int total = 0;
    ASSERT_MPI(MPI_Allreduce(&d.items, &total, 1, MPI_INT, MPI_SUM, dlp_comm()));
    ASSERT_EQ(total, 200);

    test_case("parallel calls inside an open loop are DLP_ERR_STATE");
    dlp_loop *loop = NULL, *inner = NULL;
    ASSERT_OK(dlp_loop_begin(&loop, 30, NULL));
    ASSERT_ERR(dlp_split_managed(5, noop_body, NULL, NULL), DLP_ERR_STATE);
    ASSERT_ERR(dlp_split_round_robin(5, noop_body, NULL, NULL), DLP_ERR_STATE);
    ASSERT_ERR(dlp_loop_begin(&inner, 5, NULL), DLP_ERR_STATE);
    ASSERT_NULL(inner);
    ASSERT_ERR(dlp_barrier(), DLP_ERR_STATE);
    dlp_results *res = NULL;
    ASSERT_ERR(dlp_results_create(&res, 5, 8), DLP_ERR_STATE);
    long local = 0;
#pragma omp parallel reduction(+ : local)
    {
        long i;
        while (dlp_loop_next(loop, &i))
            local++;
    }
    ASSERT_OK(dlp_loop_end(&loop));
    long t = 0;
    ASSERT_MPI(MPI_Allreduce(&local, &t, 1, MPI_LONG, MPI_SUM, dlp_comm()));
    ASSERT_EQ(t, 30);
    check_still_works();
}

int main(int argc, char **argv)
{
    test_clear_knobs();
    check_strerror();

    test_case("every call before dlp_init is DLP_ERR_NOT_INITIALIZED");
    check_refused(DLP_ERR_NOT_INITIALIZED);

    test_case("dlp_init");
    ASSERT_OK(dlp_init(&argc, &argv));
    ASSERT_ERR(dlp_init(&argc, &argv), DLP_ERR_STATE);
    check_still_works();

    check_bad_arguments();
    check_bad_options();
    check_mismatch();
    check_one_rank_wrong();
    check_zero_items();
    check_nesting();

    test_case("dlp_finalize");
    int rank = dlp_rank();
    ASSERT_OK(dlp_finalize());

    test_case("every call after dlp_finalize is DLP_ERR_FINALIZED");
    check_refused(DLP_ERR_FINALIZED);
    ASSERT_ERR(dlp_init(&argc, &argv), DLP_ERR_FINALIZED);
    check_strerror();
    if (rank == 0)
        printf("test_misuse: all cases passed\n");
    return 0;
}
