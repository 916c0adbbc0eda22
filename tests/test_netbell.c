/* The node doorbells on many emulated nodes of one rank (tests/netbell.sh
 * reads rank 0's DLP_STATS lines): the master's dispatcher sleeps on an
 * epoll set of every node's connection (lib/cluster/netbell.c, lib/base/waitset.c).
 *   hot    node 1's items take 0.1 ms, the others' 5 ms, chunks of one
 *          item: node 1 asks and rings all the time while the others stay
 *          quiet for long stretches; every item runs exactly once and every
 *          node runs some (none starved: a starved node's request would
 *          hang the call until the launcher's timeout)
 *   left   2 items per node, node 1's take --long seconds, the others'
 *          20 ms: every node's first request gets one item, node 1's too;
 *          the other nodes run the rest and leave the call, and while node
 *          1 works only their heartbeats (DLP_LIVENESS_TIMEOUT) come over
 *          their connections, which stay in the epoll set; exactly once,
 *          and node 1 ran one item or more
 * Both --calls times, alternating. */
#include "test_util.h"

struct ctx {
    int *count;   /* [n] runs of each item on this rank */
    long ran;     /* items run on this rank */
    double hot_s, quiet_s; /* an item's time on node 1, elsewhere */
};

static int body(long i, void *vctx)
{
    struct ctx *c = vctx;
    __atomic_fetch_add(&c->count[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->ran, 1, __ATOMIC_RELAXED);
    double s = dlp_node() == 1 ? c->hot_s : c->quiet_s;
    if (s > 0)
        test_sleep_us((long)(1e6 * s));
    return 0;
}

/* One managed call of n items in chunks of one; every item once, and the
 * items each node ran into ran[nodes]. */
static void call(long n, struct ctx *c, long *ran)
{
    int *sum = calloc((size_t)n, sizeof *sum);
    long *mine = calloc((size_t)dlp_nodes(), sizeof *mine);
    if (!sum || !mine)
        TEST_FAIL("allocations of %ld items", n);
    memset(c->count, 0, sizeof *c->count * (size_t)n);
    c->ran = 0;
    dlp_opts opts = DLP_OPTS_INIT;
    opts.schedule = DLP_SCHEDULE_FIXED;
    opts.chunk = 1;
    ASSERT_OK(dlp_split_managed(n, body, c, &opts));
    mine[dlp_node()] = c->ran;
    ASSERT_OK(dlp_barrier()); /* then the sums below do not spin long */
    ASSERT_MPI(MPI_Allreduce(c->count, sum, (int)n, MPI_INT, MPI_SUM, dlp_comm()));
    ASSERT_MPI(MPI_Allreduce(mine, ran, dlp_nodes(), MPI_LONG, MPI_SUM, dlp_comm()));
    for (long i = 0; i < n; i++)
        if (sum[i] != 1)
            TEST_FAIL("item %ld ran %d times, expected 1", i, sum[i]);
    free(sum);
    free(mine);
}

int main(int argc, char **argv)
{
    long calls = 2;
    double long_s = 2;
    test_begin(&argc, &argv);
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "--calls=", 8) == 0)
            calls = strtol(argv[a] + 8, NULL, 10);
        else if (strncmp(argv[a], "--long=", 7) == 0)
            long_s = strtod(argv[a] + 7, NULL);
    }
    int nodes = dlp_nodes();
    if (nodes < 3)
        TEST_FAIL("needs 3 or more nodes, has %d", nodes);
    long n = 100L * nodes;
    struct ctx c = {calloc((size_t)n, sizeof(int)), 0, 0, 0};
    long *ran = calloc((size_t)nodes, sizeof *ran);
    if (!c.count || !ran)
        TEST_FAIL("allocations of %ld items", n);
    for (long k = 0; k < calls; k++) {
        test_case("hot: node 1 rings all the time, the others seldom");
        c.hot_s = 1e-4;
        c.quiet_s = 5e-3;
        call(n, &c, ran);
        for (int node = 0; node < nodes; node++)
            if (ran[node] < 1)
                TEST_FAIL("node %d ran %ld items, expected 1 or more", node, ran[node]);
        test_case("left: node 1 works, the others left the call");
        c.hot_s = long_s;
        c.quiet_s = 2e-2;
        call(2L * nodes, &c, ran);
        if (ran[1] < 1)
            TEST_FAIL("node 1 ran %ld items, expected 1 or more", ran[1]);
    }
    if (dlp_is_master())
        printf("test_netbell: %d nodes, %ld rounds of hot and left calls, each item exactly "
               "once\n", nodes, calls);
    free(c.count);
    free(ran);
    return test_end("test_netbell");
}
