/* The liveness watch (lib/cluster/liveness.h): a lost node ends the job, a busy one
 * does not. Run with DLP_LIVENESS_TIMEOUT set small (tests/CMakeLists.txt,
 * tests/hosts.cmake).
 *
 * test_liveness --long=S
 *   A managed call of 3 items per rank of S seconds each, item 0 of 3 S
 *   (whoever takes it keeps the others waiting at the end of the call),
 *   then rank 0 stays S seconds outside the library while the others wait
 *   in dlp_barrier, then the last rank does. With S longer than the
 *   liveness timeout nothing may be reported: every item must run exactly
 *   once and the job end with status 0. Rank 0 prints "liveness: call
 *   started" when its first item starts (tests/cutlink.sh cuts a host's
 *   link then).
 * test_liveness --stop=R
 *   A managed call of long items (20 s each) in which rank R stops itself
 *   (SIGSTOP) in its first item, as a frozen host would: the liveness watch
 *   must end the job (DLP_EXIT_NODE_LOST, checked by the shell). If the
 *   call returns, that is a failure. */
#include "test_util.h"

#include <signal.h>
#include <stdatomic.h>

static int g_rank, g_size;

struct long_ctx {
    double seconds;
    _Atomic long *runs; /* [n] times item i ran on this rank */
    _Atomic int said;
};

static int long_body(long i, void *arg)
{
    struct long_ctx *c = arg;
    if (g_rank == 0 && !atomic_exchange(&c->said, 1)) {
        printf("liveness: call started\n");
        fflush(stdout);
    }
    atomic_fetch_add(&c->runs[i], 1);
    test_sleep_us((long)(1e6 * c->seconds * (i == 0 ? 3 : 1)));
    return 0;
}

static int run_long(double seconds)
{
    test_case("--long: items longer than the liveness timeout, and waits for them");
    long n = 3L * g_size;
    struct long_ctx c = {seconds, calloc((size_t)n, sizeof(_Atomic long)), 0};
    ASSERT_NOT_NULL(c.runs);
    ASSERT_OK(dlp_split_managed(n, long_body, &c, NULL));
    long *local = malloc(sizeof(long) * (size_t)n), *all = malloc(sizeof(long) * (size_t)n);
    ASSERT_NOT_NULL(local);
    ASSERT_NOT_NULL(all);
    for (long i = 0; i < n; i++)
        local[i] = atomic_load(&c.runs[i]);
    ASSERT_MPI(MPI_Allreduce(local, all, (int)n, MPI_LONG, MPI_SUM, dlp_comm()));
    for (long i = 0; i < n; i++)
        if (all[i] != 1)
            TEST_FAIL("item %ld ran %ld times, expected 1", i, all[i]);
    /* outside the library: the others wait in dlp_barrier */
    if (g_rank == 0)
        test_sleep_us((long)(1e6 * seconds));
    ASSERT_OK(dlp_barrier());
    if (g_rank == g_size - 1)
        test_sleep_us((long)(1e6 * seconds));
    ASSERT_OK(dlp_barrier());
    free(local);
    free(all);
    free(c.runs);
    if (g_rank == 0)
        printf("liveness: %ld items, each once\n", n);
    return 0;
}

static int g_stop_rank;

static int stop_body(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    if (g_rank == g_stop_rank) {
        fprintf(stderr, "test_liveness: rank %d stops itself (SIGSTOP)\n", g_rank);
        fflush(stderr);
        raise(SIGSTOP);
    }
    test_sleep_us(20000000);
    return 0;
}

static int run_stop(int rank)
{
    test_case("--stop: a rank stops itself during a call");
    g_stop_rank = rank;
    double t0 = test_now();
    int rc = dlp_split_managed(4L * g_size, stop_body, NULL, NULL);
    TEST_FAIL("dlp_split_managed returned %d (%s) after %.1f s while rank %d was stopped: the "
              "liveness watch did not end the job",
              rc, dlp_strerror(rc), test_now() - t0, rank);
}

int main(int argc, char **argv)
{
    ASSERT_OK(dlp_init(&argc, &argv));
    g_rank = dlp_rank();
    g_size = dlp_size();
    if (argc != 2)
        TEST_FAIL("usage: test_liveness --long=SECONDS | --stop=RANK");
    int rc;
    if (strncmp(argv[1], "--long=", 7) == 0)
        rc = run_long(atof(argv[1] + 7));
    else if (strncmp(argv[1], "--stop=", 7) == 0)
        rc = run_stop(atoi(argv[1] + 7));
    else
        TEST_FAIL("unknown argument \"%s\"", argv[1]);
    ASSERT_OK(dlp_finalize());
    return rc;
}
