/* Which collective each rank is in: ranks that call different collectives
 * (or one of them dlp_finalize) get DLP_ERR_MISMATCH on every rank, naming
 * both calls and the ranks, and the library goes on working; collectives
 * from a thread other than the main thread are DLP_ERR_STATE. Run with an
 * argument, it checks one misuse that ends the process instead:
 *   --is-master-before-init   dlp_is_master() before dlp_init()
 *   --stay-out-of-finalize    the last rank skips dlp_finalize() for 10 s
 *                             (with DLP_COLLECTIVE_TIMEOUT the others end
 *                             the job, saying where they wait) */
#include "test_util.h"

#include <omp.h>
#include <pthread.h>

static int noop_body(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    return 0;
}

static int root_fn(void *ctx, void *out, size_t len)
{
    (void)ctx;
    memset(out, 7, len);
    return 0;
}

static int noop_work(long i, void *ctx, dlp_buf *out)
{
    (void)ctx;
    return dlp_buf_append(out, &i, sizeof i);
}

static int noop_result(long i, const void *data, size_t len, void *ctx)
{
    (void)i;
    (void)data;
    (void)len;
    (void)ctx;
    return 0;
}

/* The collectives, each called the way a user would with valid arguments. */
enum call {
    BARRIER,
    BCAST,
    GATHER,
    GATHER_INTO,
    CALL_ON_ROOT,
    SPLIT_MANAGED,
    SPLIT_ROUND_ROBIN,
    LOOP_BEGIN,
    MAP_UNORDERED,
    RESULTS_CREATE,
    COLLECTOR_CREATE,
    FINALIZE,
    CALLS
};

static const char *const names[CALLS] = {
    "dlp_barrier",       "dlp_bcast",          "dlp_gather",
    "dlp_gather_into",   "dlp_call_on_root_and_bcast", "dlp_split_managed",
    "dlp_split_round_robin", "dlp_loop_begin", "dlp_map_unordered",
    "dlp_results_create", "dlp_collector_create", "dlp_finalize"};

/* Call c; returns its status (and frees whatever it made on success). */
static int call(enum call c)
{
    char buf[64] = {0};
    char into[4096];
    size_t lens[64];
    void *all = NULL;
    int rc = DLP_OK;
    switch (c) {
    case BARRIER: rc = dlp_barrier(); break;
    case BCAST: rc = dlp_bcast(buf, sizeof buf, 0); break;
    case GATHER:
        rc = dlp_gather(buf, 8, &all, dlp_is_master() ? lens : NULL);
        free(all);
        break;
    case GATHER_INTO:
        rc = dlp_gather_into(buf, 8, into, sizeof into, dlp_is_master() ? lens : NULL);
        break;
    case CALL_ON_ROOT: rc = dlp_call_on_root_and_bcast(root_fn, NULL, buf, sizeof buf); break;
    case SPLIT_MANAGED: rc = dlp_split_managed(20, noop_body, NULL, NULL); break;
    case SPLIT_ROUND_ROBIN: rc = dlp_split_round_robin(20, noop_body, NULL, NULL); break;
    case LOOP_BEGIN: {
        dlp_loop *loop = NULL;
        rc = dlp_loop_begin(&loop, 20, NULL);
        if (rc == DLP_OK) {
#pragma omp parallel
            {
                long i;
                while (dlp_loop_next(loop, &i))
                    ;
            }
            rc = dlp_loop_end(&loop);
        }
        break;
    }
    case MAP_UNORDERED: rc = dlp_map_unordered(20, noop_work, noop_result, NULL, NULL); break;
    case RESULTS_CREATE: {
        dlp_results *r = NULL;
        rc = dlp_results_create(&r, 20, 8);
        if (rc == DLP_OK)
            ASSERT_OK(dlp_results_destroy(&r));
        ASSERT_NULL(r);
        break;
    }
    case COLLECTOR_CREATE: {
        dlp_collector *col = NULL;
        rc = dlp_collector_create(&col);
        if (rc == DLP_OK)
            ASSERT_OK(dlp_collector_destroy(&col));
        ASSERT_NULL(col);
        break;
    }
    case FINALIZE: rc = dlp_finalize(); break;
    case CALLS: break;
    }
    return rc;
}

/* Every collective works after a refused call: one of each, all ranks. */
static void check_still_works(void)
{
    for (int c = 0; c < CALLS; c++)
        if (c != FINALIZE)
            ASSERT_OK(call((enum call)c));
    ASSERT_EQ(dlp_initialized(), 1);
}

/* Rank `odd` calls b, every other rank a: DLP_ERR_MISMATCH on every rank,
 * with both names and the odd rank in the message. */
static void check_pair(enum call a, enum call b, int odd)
{
    char name[160];
    snprintf(name, sizeof name, "%s on rank %d, %s on the others", names[b], odd, names[a]);
    test_case(name);
    int rank = dlp_rank();
    ASSERT_RC(call(rank == odd ? b : a), DLP_ERR_MISMATCH);
    const char *msg = dlp_last_error();
    ASSERT_STR_CONTAINS(msg, "different collective calls");
    ASSERT_STR_CONTAINS(msg, names[a]);
    ASSERT_STR_CONTAINS(msg, names[b]);
    char ranks[32];
    snprintf(ranks, sizeof ranks, " on rank %d", odd);
    ASSERT_STR_CONTAINS(msg, ranks);
    ASSERT_EQ(dlp_initialized(), 1);
}

static void check_mismatches(void)
{
    int size = dlp_size();
    if (size < 2)
        return;
    /* the pairs the issue found, and each kind of collective against the
     * parallel calls and dlp_finalize */
    check_pair(BARRIER, SPLIT_MANAGED, 1);
    check_pair(SPLIT_MANAGED, BARRIER, size - 1);
    check_pair(BCAST, FINALIZE, 0);
    check_pair(FINALIZE, BCAST, 0);
    check_pair(BCAST, BARRIER, size - 1);
    check_pair(GATHER, GATHER_INTO, 0);
    check_pair(CALL_ON_ROOT, BCAST, size - 1);
    check_pair(SPLIT_MANAGED, SPLIT_ROUND_ROBIN, 0);
    check_pair(LOOP_BEGIN, MAP_UNORDERED, size - 1);
    check_pair(RESULTS_CREATE, COLLECTOR_CREATE, 0);
    check_pair(GATHER, FINALIZE, size - 1);
    check_pair(SPLIT_ROUND_ROBIN, RESULTS_CREATE, 1);
    check_still_works();

    test_case("every rank in a collective call of its own (at most 4 named)");
    enum call mine = (enum call)(dlp_rank() % 4 == 0   ? BARRIER
                                 : dlp_rank() % 4 == 1 ? BCAST
                                 : dlp_rank() % 4 == 2 ? GATHER
                                                       : SPLIT_MANAGED);
    ASSERT_RC(call(mine), DLP_ERR_MISMATCH);
    ASSERT_STR_CONTAINS(dlp_last_error(), "dlp_barrier (collective #");
    ASSERT_STR_CONTAINS(dlp_last_error(), "dlp_bcast (collective #");
    check_still_works();
}

/* dlp_bcast with arguments that differ between ranks (the entry's
 * reduction sees it, its allgather names the rank): DLP_ERR_MISMATCH on
 * every rank, then a bcast with the same arguments works. */
static void check_bcast_arguments(void)
{
    int size = dlp_size(), rank = dlp_rank();
    if (size < 2)
        return;
    char buf[16] = {0};
    test_case("dlp_bcast: the last rank passes another len");
    ASSERT_RC(dlp_bcast(buf, rank == size - 1 ? 8 : 16, 0), DLP_ERR_MISMATCH);
    char want[96];
    snprintf(want, sizeof want, "rank %d passed len = 8, rank 0 passed len = 16", size - 1);
    ASSERT_STR_CONTAINS(dlp_last_error(), want);
    test_case("dlp_bcast: rank 1 passes another root");
    ASSERT_RC(dlp_bcast(buf, sizeof buf, rank == 1 ? 1 : 0), DLP_ERR_MISMATCH);
    ASSERT_STR_CONTAINS(dlp_last_error(), "rank 1 passed root = 1, rank 0 passed root = 0");
    test_case("dlp_bcast: the same arguments again");
    if (rank == 0)
        memset(buf, 5, sizeof buf);
    ASSERT_OK(dlp_bcast(buf, sizeof buf, 0));
    ASSERT_EQ(buf[sizeof buf - 1], 5);
}

/* A thread other than the main thread calls a collective. */
struct side {
    enum call c;
    int rc;
    char msg[1024];
};

static void *side_thread(void *arg)
{
    struct side *s = arg;
    s->rc = call(s->c);
    snprintf(s->msg, sizeof s->msg, "%s", dlp_last_error());
    return NULL;
}

static void check_threads(void)
{
    test_case("dlp_bcast from two threads while the main thread waits: both DLP_ERR_STATE");
    struct side s[2] = {{BCAST, 0, ""}, {BCAST, 0, ""}};
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        ASSERT_EQ(pthread_create(&t[k], NULL, side_thread, &s[k]), 0);
    for (int k = 0; k < 2; k++) {
        ASSERT_EQ(pthread_join(t[k], NULL), 0);
        ASSERT_RC(s[k].rc, DLP_ERR_STATE);
        ASSERT_STR_CONTAINS(s[k].msg, "other than the main thread");
    }
    check_still_works();

    test_case("every collective from another thread: DLP_ERR_STATE");
    for (int c = 0; c < CALLS; c++) {
        struct side one = {(enum call)c, 0, ""};
        pthread_t th;
        ASSERT_EQ(pthread_create(&th, NULL, side_thread, &one), 0);
        ASSERT_EQ(pthread_join(th, NULL), 0);
        if (one.rc != DLP_ERR_STATE)
            TEST_FAIL("%s from another thread returned %d (%s), expected DLP_ERR_STATE",
                      names[c], one.rc, dlp_strerror(one.rc));
        ASSERT_STR_CONTAINS(one.msg, names[c]);
    }
    check_still_works();

    test_case("dlp_bcast from both threads of an OpenMP team: the main thread's goes through");
    int rc[2] = {1, 1};
    char buf[2][16];
#pragma omp parallel num_threads(2)
    {
        int k = omp_get_thread_num();
        if (omp_get_num_threads() == 2) {
            memset(buf[k], dlp_is_master() ? 5 : 0, sizeof buf[k]);
            rc[k] = dlp_bcast(buf[k], sizeof buf[k], 0);
        }
    }
    if (rc[1] != 1) { /* the team had two threads */
        ASSERT_OK(rc[0]);
        ASSERT_RC(rc[1], DLP_ERR_STATE);
        ASSERT_EQ(buf[0][15], 5);
    }
    check_still_works();
}

int main(int argc, char **argv)
{
    test_clear_knobs();
    if (argc > 1 && strcmp(argv[1], "--is-master-before-init") == 0) {
        printf("before dlp_init, dlp_is_master() = %d\n", dlp_is_master());
        return 0; /* not reached: the process ends in dlp_is_master() */
    }
    test_case("queries before dlp_init: negative codes, and a line on stderr");
    ASSERT_RC(dlp_rank(), DLP_ERR_NOT_INITIALIZED);
    ASSERT_RC(dlp_size(), DLP_ERR_NOT_INITIALIZED);
    ASSERT_RC(dlp_node(), DLP_ERR_NOT_INITIALIZED);
    ASSERT_RC(dlp_nodes(), DLP_ERR_NOT_INITIALIZED);
    ASSERT_RC(dlp_threads(), DLP_ERR_NOT_INITIALIZED);

    test_case("dlp_init");
    ASSERT_OK(dlp_init(&argc, &argv));
    if (argc > 1 && strcmp(argv[1], "--stay-out-of-finalize") == 0) {
        if (dlp_rank() == dlp_size() - 1)
            test_sleep_us(10000000);
        dlp_finalize();
        return 0;
    }
    check_mismatches();
    check_bcast_arguments();
    check_threads();
    test_case("dlp_finalize");
    int rank = dlp_rank();
    ASSERT_OK(dlp_finalize());
    ASSERT_EQ(dlp_initialized(), 0);
    if (rank == 0)
        printf("test_collectives: all cases passed\n");
    return 0;
}
