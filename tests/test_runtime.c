/* Runtime: dlp_init / dlp_finalize, identity queries, the node level, the
 * team size, the version. Optional argument --nodes=K: the layout the launcher
 * was asked for, checked against dlp_nodes(). */
#include "test_util.h"

#include <omp.h>

static int expect_nodes = -1;

static void check_version(void)
{
    test_case("version");
    ASSERT_EQ(dlp_version(), DLP_VERSION);
    ASSERT_EQ(DLP_VERSION,
              (DLP_VERSION_MAJOR << 16) | (DLP_VERSION_MINOR << 8) | DLP_VERSION_PATCH);
    char s[64];
    snprintf(s, sizeof s, "%d.%d.%d", DLP_VERSION_MAJOR, DLP_VERSION_MINOR, DLP_VERSION_PATCH);
    ASSERT_EQ(strcmp(s, DLP_VERSION_STRING), 0);
}

static void check_identity(void)
{
    test_case("rank, size, is_master against MPI_COMM_WORLD");
    int wrank, wsize, provided;
    ASSERT_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &wrank));
    ASSERT_MPI(MPI_Comm_size(MPI_COMM_WORLD, &wsize));
    ASSERT_EQ(dlp_rank(), wrank);
    ASSERT_EQ(dlp_size(), wsize);
    ASSERT_EQ(dlp_is_master(), wrank == 0);
    ASSERT_MPI(MPI_Query_thread(&provided));
    ASSERT_EQ(provided, MPI_THREAD_MULTIPLE);

    test_case("dlp_comm is a duplicate of MPI_COMM_WORLD");
    MPI_Comm c = dlp_comm();
    ASSERT_TRUE(c != MPI_COMM_NULL);
    int cmp = -1;
    ASSERT_MPI(MPI_Comm_compare(c, MPI_COMM_WORLD, &cmp));
    ASSERT_EQ(cmp, MPI_CONGRUENT);
    int r, s;
    ASSERT_MPI(MPI_Comm_rank(c, &r));
    ASSERT_MPI(MPI_Comm_size(c, &s));
    ASSERT_EQ(r, wrank);
    ASSERT_EQ(s, wsize);
    /* usable by the caller */
    int sum = 0, one = 1;
    ASSERT_MPI(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, c));
    ASSERT_EQ(sum, wsize);
}

/* dlp_node / dlp_nodes / dlp_node_rank agree with MPI_COMM_TYPE_SHARED. */
static void check_nodes(void)
{
    test_case("node level agrees with MPI_Comm_split_type(SHARED)");
    int wrank, wsize;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    MPI_Comm shared;
    ASSERT_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, wrank, MPI_INFO_NULL,
                                   &shared));
    int srank, ssize, leader = wrank;
    ASSERT_MPI(MPI_Comm_rank(shared, &srank));
    ASSERT_MPI(MPI_Comm_size(shared, &ssize));
    ASSERT_MPI(MPI_Bcast(&leader, 1, MPI_INT, 0, shared)); /* world rank of the node's rank 0 */

    int node = dlp_node(), nodes = dlp_nodes(), node_rank = dlp_node_rank();
    ASSERT_GE(nodes, 1);
    ASSERT_LE(nodes, wsize);
    ASSERT_GE(node, 0);
    ASSERT_LT(node, nodes);
    ASSERT_EQ(node_rank, srank);
    if (wrank == 0)
        ASSERT_EQ(node, 0);
    if (expect_nodes > 0)
        ASSERT_EQ(nodes, expect_nodes);

    int mine[4] = {node, nodes, leader, ssize};
    int *all = malloc(sizeof(int) * 4 * (size_t)wsize);
    ASSERT_NOT_NULL(all);
    ASSERT_MPI(MPI_Allgather(mine, 4, MPI_INT, all, 4, MPI_INT, MPI_COMM_WORLD));
    int distinct_leaders = 0;
    for (int a = 0; a < wsize; a++) {
        ASSERT_EQ(all[4 * a + 1], nodes); /* every rank has the same count */
        if (all[4 * a + 2] == a)
            distinct_leaders++;
        for (int b = 0; b < wsize; b++) {
            int same_node = all[4 * a] == all[4 * b];
            int same_shared = all[4 * a + 2] == all[4 * b + 2];
            if (same_node != same_shared)
                TEST_FAIL("ranks %d and %d: dlp_node %d vs %d, shared-memory leaders %d vs %d",
                          a, b, all[4 * a], all[4 * b], all[4 * a + 2], all[4 * b + 2]);
        }
    }
    ASSERT_EQ(distinct_leaders, nodes);
    /* every node index 0..nodes-1 is used */
    for (int k = 0; k < nodes; k++) {
        int used = 0;
        for (int a = 0; a < wsize; a++)
            used |= all[4 * a] == k;
        if (!used)
            TEST_FAIL("node index %d of %d is used by no rank", k, nodes);
    }
    free(all);
    MPI_Comm_free(&shared);
}

struct team_ctx {
    int limit;     /* thread ids must be < limit */
    int bad_tid;   /* a thread id seen out of range (-1 = none) */
    long items;
};

static int team_body(long i, void *vctx)
{
    struct team_ctx *c = vctx;
    (void)i;
    int t = omp_get_thread_num();
    if (t < 0 || t >= c->limit)
        __atomic_store_n(&c->bad_tid, t, __ATOMIC_RELAXED);
    if (omp_get_num_threads() > c->limit)
        __atomic_store_n(&c->bad_tid, 1000 + omp_get_num_threads(), __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->items, 1, __ATOMIC_RELAXED);
    return 0;
}

static void check_threads(void)
{
    test_case("dlp_threads follows OMP_NUM_THREADS and DLP_THREADS");
    const char *saved = getenv("DLP_THREADS");
    char *saved_copy = saved ? strdup(saved) : NULL;
    unsetenv("DLP_THREADS");
    ASSERT_EQ(dlp_threads(), omp_get_max_threads());
    const char *omp_env = getenv("OMP_NUM_THREADS");
    if (omp_env && *omp_env)
        ASSERT_EQ(dlp_threads(), atoi(omp_env));
    setenv("DLP_THREADS", "2", 1);
    ASSERT_EQ(dlp_threads(), 2);
    setenv("DLP_THREADS", "5", 1);
    ASSERT_EQ(dlp_threads(), 5);
    unsetenv("DLP_THREADS");

    test_case("callback team size is dlp_threads() or opts.threads");
    int size = dlp_size();
    struct team_ctx c = {dlp_threads(), -1, 0};
    ASSERT_OK(dlp_split_round_robin(100 * size, team_body, &c, NULL));
    ASSERT_EQ(c.bad_tid, -1);
    ASSERT_EQ(c.items, 100);
    for (int t = 1; t <= 4; t++) {
        dlp_opts o = DLP_OPTS_INIT;
        o.threads = t;
        struct team_ctx d = {t, -1, 0};
        ASSERT_OK(dlp_split_round_robin(50 * size, team_body, &d, &o));
        ASSERT_EQ(d.bad_tid, -1);
        ASSERT_EQ(d.items, 50);
        struct team_ctx e = {t, -1, 0};
        ASSERT_OK(dlp_split_managed(50 * size, team_body, &e, &o));
        ASSERT_EQ(e.bad_tid, -1);
        long total = 0;
        ASSERT_MPI(MPI_Allreduce(&e.items, &total, 1, MPI_LONG, MPI_SUM, dlp_comm()));
        ASSERT_EQ(total, 50 * size);
    }
    if (saved_copy) {
        setenv("DLP_THREADS", saved_copy, 1);
        free(saved_copy);
    }
}

/* Queries are "any thread": the same answers from inside a parallel region. */
static void check_queries_from_threads(void)
{
    test_case("queries from every thread of a parallel region");
    int rank = dlp_rank(), size = dlp_size(), node = dlp_node(), nodes = dlp_nodes();
    int nrank = dlp_node_rank(), master = dlp_is_master();
    MPI_Comm comm = dlp_comm();
    int bad = 0;
#pragma omp parallel num_threads(4) reduction(+ : bad)
    {
        for (int k = 0; k < 100; k++) {
            bad += dlp_rank() != rank;
            bad += dlp_size() != size;
            bad += dlp_node() != node;
            bad += dlp_nodes() != nodes;
            bad += dlp_node_rank() != nrank;
            bad += dlp_is_master() != master;
            bad += dlp_comm() != comm;
            bad += dlp_initialized() != 1;
        }
    }
    ASSERT_EQ(bad, 0);
}

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++)
        if (strncmp(argv[a], "--nodes=", 8) == 0)
            expect_nodes = atoi(argv[a] + 8);

    test_case("before dlp_init");
    ASSERT_EQ(dlp_initialized(), 0);
    ASSERT_TRUE(dlp_comm() == MPI_COMM_NULL);
    check_version();

    test_case("dlp_init");
    /* dlp_init sets HWLOC_COMPONENTS for MPI_Init only: afterwards the
     * process sees what it had (unset, or the user's value) */
    const char *hwloc_env = getenv("HWLOC_COMPONENTS");
    char *hwloc_before = hwloc_env ? strdup(hwloc_env) : NULL;
    ASSERT_TRUE(!hwloc_env || hwloc_before);
    ASSERT_OK(dlp_init(&argc, &argv));
    hwloc_env = getenv("HWLOC_COMPONENTS");
    if (!hwloc_before && hwloc_env)
        TEST_FAIL("HWLOC_COMPONENTS is \"%s\" after dlp_init, unset before", hwloc_env);
    if (hwloc_before && (!hwloc_env || strcmp(hwloc_env, hwloc_before) != 0))
        TEST_FAIL("HWLOC_COMPONENTS is \"%s\" after dlp_init, \"%s\" before",
                  hwloc_env ? hwloc_env : "(unset)", hwloc_before);
    free(hwloc_before);
    ASSERT_EQ(dlp_initialized(), 1);
    int up = 0;
    MPI_Initialized(&up);
    ASSERT_EQ(up, 1);

    check_identity();
    check_nodes();
    check_threads();
    check_queries_from_threads();
    check_version();

    test_case("dlp_init twice is DLP_ERR_STATE");
    ASSERT_RC(dlp_init(&argc, &argv), DLP_ERR_STATE);
    ASSERT_LAST_ERROR_SET();
    ASSERT_EQ(dlp_initialized(), 1);
    ASSERT_OK(dlp_barrier());

    test_case("dlp_finalize finalises the MPI it started");
    int rank = dlp_rank();
    ASSERT_OK(dlp_finalize());
    ASSERT_EQ(dlp_initialized(), 0);
    ASSERT_TRUE(dlp_comm() == MPI_COMM_NULL);
    int down = 0;
    MPI_Finalized(&down);
    ASSERT_EQ(down, 1);
    ASSERT_EQ(dlp_version(), DLP_VERSION);
    if (rank == 0)
        printf("test_runtime: all cases passed\n");
    return 0;
}
