/* Many emulated nodes (tests/CMakeLists.txt: 32 nodes of one rank,
 * label scale): a few light calls, each check printing both values.
 *   exactly once  dlp_split_managed, every item run once (counted on each
 *                 rank, summed over the ranks), --calls times
 *   results       dense results (opts.results): every item's value on the
 *                 master
 *   failures      on_error = skip, the items i % 97 == 5 fail: the call
 *                 returns DLP_SKIPPED on every rank and dlp_failures() lists
 *                 exactly those items; abort: DLP_ERR_ITEM on every rank
 *   nodes         --nodes=K: dlp_nodes() is K
 *   --item-us=U   every item sleeps U microseconds (default 0), so that the
 *                 nodes' rates, and with them AUTO's chunk-time cap, bind
 *                 (scale.n8.grown: the cap grown by the load) */
#include "test_util.h"

struct ctx {
    int *count;
    dlp_results *res;
};

static long item_us;

static int count_body(long i, void *vctx)
{
    struct ctx *c = vctx;
    if (item_us > 0)
        test_sleep_us(item_us);
    __atomic_fetch_add(&c->count[i], 1, __ATOMIC_RELAXED);
    if (c->res)
        *(long *)dlp_results_at(c->res, i) = 3 * i + 1;
    return 0;
}

static int failing_body(long i, void *vctx)
{
    (void)vctx;
    if (item_us > 0)
        test_sleep_us(item_us);
    return i % 97 == 5 ? 7 : 0;
}

/* MPI_Allreduce (sum of ints) that sleeps while it waits: 32 ranks
 * spinning in a blocking MPI call on 2 cores would crawl. */
static void quiet_sum(const int *in, int *out, long n)
{
    MPI_Request req;
    ASSERT_MPI(MPI_Iallreduce(in, out, (int)n, MPI_INT, MPI_SUM, dlp_comm(), &req));
    int done = 0;
    while (!done) {
        ASSERT_MPI(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
        if (!done)
            test_sleep_us(200);
    }
}

static void exactly_once(long n, long calls, dlp_results *res)
{
    int *count = calloc((size_t)n, sizeof *count), *sum = calloc((size_t)n, sizeof *sum);
    if (!count || !sum)
        TEST_FAIL("allocations of %ld items", n);
    struct ctx c = {count, res};
    dlp_opts opts = DLP_OPTS_INIT;
    opts.results = res;
    for (long k = 0; k < calls; k++) {
        memset(count, 0, sizeof *count * (size_t)n);
        ASSERT_OK(dlp_split_managed(n, count_body, &c, &opts));
        quiet_sum(count, sum, n);
        for (long i = 0; i < n; i++)
            if (sum[i] != 1)
                TEST_FAIL("call %ld: item %ld ran %d times, expected 1", k, i, sum[i]);
        if (res && dlp_is_master())
            for (long i = 0; i < n; i++) {
                long got = *(const long *)dlp_results_at(res, i);
                if (got != 3 * i + 1)
                    TEST_FAIL("call %ld: item %ld's result %ld, expected %ld", k, i, got,
                              3 * i + 1);
            }
    }
    free(count);
    free(sum);
}

static void failures(long n)
{
    long expected = 0;
    for (long i = 0; i < n; i++)
        expected += i % 97 == 5;
    dlp_opts opts = DLP_OPTS_INIT;
    opts.on_error = DLP_ON_ERROR_SKIP;
    test_case("failures: on_error = skip");
    ASSERT_RC(dlp_split_managed(n, failing_body, NULL, &opts), DLP_SKIPPED);
    const dlp_failure *list = NULL;
    long count = dlp_failures(&list);
    ASSERT_EQ(count, expected);
    ASSERT_EQ(dlp_failures_listed(), expected);
    for (long k = 0; k < count; k++) {
        if (list[k].item % 97 != 5)
            TEST_FAIL("failure %ld is item %ld, which did not fail", k, list[k].item);
        ASSERT_EQ(list[k].value, 7);
    }
    test_case("failures: on_error = abort");
    opts.on_error = DLP_ON_ERROR_ABORT;
    ASSERT_RC(dlp_split_managed(n, failing_body, NULL, &opts), DLP_ERR_ITEM);
    /* items already running when the stop reaches a node may fail too: the
     * count is every failure, the list the first one only */
    ASSERT_GE(dlp_failures(&list), 1);
    ASSERT_EQ(dlp_failures_listed(), 1);
    ASSERT_EQ(list[0].item % 97, 5);
}

int main(int argc, char **argv)
{
    long calls = 3, n = 20000, nodes = -1;
    ASSERT_OK(dlp_init(&argc, &argv));
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "--calls=", 8) == 0)
            calls = strtol(argv[a] + 8, NULL, 10);
        else if (strncmp(argv[a], "--nodes=", 8) == 0)
            nodes = strtol(argv[a] + 8, NULL, 10);
        else if (strncmp(argv[a], "--item-us=", 10) == 0)
            item_us = strtol(argv[a] + 10, NULL, 10);
    }
    if (nodes >= 0)
        ASSERT_EQ(dlp_nodes(), nodes);
    double t0 = test_now();
    test_case("exactly once");
    exactly_once(n, calls, NULL);
    test_case("dense results");
    dlp_results *res = NULL;
    ASSERT_OK(dlp_results_create(&res, n, sizeof(long)));
    exactly_once(n, calls, res);
    ASSERT_OK(dlp_results_destroy(&res));
    failures(n);
    if (dlp_is_master())
        printf("test_scale: %d ranks on %d nodes, %ld items, every check passed (%.1f s)\n",
               dlp_size(), dlp_nodes(), n, test_now() - t0);
    ASSERT_OK(dlp_finalize());
    return 0;
}
