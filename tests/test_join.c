/* Joining an MPI the user initialised.
 *   test_join            user: MPI_Init_thread(MULTIPLE); dlp_init joins it,
 *                        dlp_finalize leaves it running (twice), user finalises.
 *   test_join serialized user: MPI_Init_thread(SERIALIZED) (also: single,
 *                        funneled): dlp_init fails with DLP_ERR_THREAD_LEVEL and a
 *                        message; the user's MPI still works. */
#include "test_util.h"

static int count_body(long i, void *ctx)
{
    __atomic_fetch_add(&((int *)ctx)[i], 1, __ATOMIC_RELAXED);
    return 0;
}

/* A managed call over n items, checked exactly once on the master. */
static void run_and_check(long n)
{
    int *cnt = calloc((size_t)n, sizeof(int)), *sum = calloc((size_t)n, sizeof(int));
    ASSERT_TRUE(cnt && sum);
    ASSERT_OK(dlp_split_managed(n, count_body, cnt, NULL));
    /* not MPI_Reduce: MPICH 4.0.2 loses data when the root is alone on its node */
    ASSERT_MPI(MPI_Allreduce(cnt, sum, (int)n, MPI_INT, MPI_SUM, dlp_comm()));
    if (dlp_is_master())
        for (long i = 0; i < n; i++)
            if (sum[i] != 1)
                TEST_FAIL("item %ld ran %d times", i, sum[i]);
    free(cnt);
    free(sum);
}

static void user_mpi_works(MPI_Comm user)
{
    int size, sum = 0, one = 1;
    ASSERT_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size));
    ASSERT_MPI(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    ASSERT_EQ(sum, size);
    sum = 0;
    ASSERT_MPI(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, user));
    ASSERT_EQ(sum, size);
}

static int join_multiple(int argc, char **argv)
{
    test_case("user MPI_Init_thread(MULTIPLE)");
    int provided = -1;
    ASSERT_MPI(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    ASSERT_EQ(provided, MPI_THREAD_MULTIPLE);
    MPI_Comm user;
    ASSERT_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &user));
    int wrank, wsize;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);

    for (int round = 0; round < 2; round++) {
        test_case(round == 0 ? "dlp_init joins the user's MPI"
                             : "dlp_init joins again after dlp_finalize");
        ASSERT_EQ(dlp_initialized(), 0);
        ASSERT_OK(dlp_init(&argc, &argv));
        ASSERT_EQ(dlp_initialized(), 1);
        ASSERT_EQ(dlp_rank(), wrank);
        ASSERT_EQ(dlp_size(), wsize);
        int cmp = -1;
        ASSERT_MPI(MPI_Comm_compare(dlp_comm(), MPI_COMM_WORLD, &cmp));
        ASSERT_EQ(cmp, MPI_CONGRUENT);
        run_and_check(1000);
        user_mpi_works(user);
        run_and_check(37);

        test_case("dlp_finalize leaves the user's MPI running");
        ASSERT_OK(dlp_finalize());
        ASSERT_EQ(dlp_initialized(), 0);
        int down = 1;
        ASSERT_MPI(MPI_Finalized(&down));
        ASSERT_EQ(down, 0);
        ASSERT_RC(dlp_rank(), DLP_ERR_FINALIZED);
        user_mpi_works(user);
    }

    test_case("user MPI_Finalize; then dlp_init is DLP_ERR_FINALIZED");
    ASSERT_MPI(MPI_Comm_free(&user));
    ASSERT_MPI(MPI_Finalize());
    ASSERT_RC(dlp_init(&argc, &argv), DLP_ERR_FINALIZED);
    ASSERT_LAST_ERROR_SET();
    ASSERT_EQ(dlp_initialized(), 0);
    if (wrank == 0)
        printf("test_join: all cases passed\n");
    return 0;
}

static int join_low_level(int argc, char **argv, int level, const char *name)
{
    test_case("user MPI_Init_thread below MULTIPLE");
    int provided = -1;
    ASSERT_MPI(MPI_Init_thread(&argc, &argv, level, &provided));
    int wrank;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    if (provided >= MPI_THREAD_MULTIPLE) {
        /* MPI upgraded the level: nothing to test (not an error of the library). */
        if (wrank == 0)
            printf("test_join: MPI gave MULTIPLE for %s; skipping\n", name);
        MPI_Finalize();
        return 0;
    }
    test_case("dlp_init reports DLP_ERR_THREAD_LEVEL");
    ASSERT_RC(dlp_init(&argc, &argv), DLP_ERR_THREAD_LEVEL);
    ASSERT_LAST_ERROR_SET();
    ASSERT_STR_CONTAINS(dlp_last_error(), "MPI_THREAD_MULTIPLE");
    ASSERT_EQ(dlp_initialized(), 0);
    ASSERT_TRUE(dlp_comm() == MPI_COMM_NULL);
    ASSERT_RC(dlp_rank(), DLP_ERR_NOT_INITIALIZED);
    ASSERT_RC(dlp_split_managed(10, count_body, NULL, NULL), DLP_ERR_NOT_INITIALIZED);

    test_case("the user's MPI still works after the refusal");
    user_mpi_works(MPI_COMM_WORLD);
    ASSERT_MPI(MPI_Finalize());
    if (wrank == 0)
        printf("test_join %s: all cases passed\n", name);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "multiple";
    if (strcmp(mode, "multiple") == 0)
        return join_multiple(argc, argv);
    if (strcmp(mode, "serialized") == 0)
        return join_low_level(argc, argv, MPI_THREAD_SERIALIZED, mode);
    if (strcmp(mode, "funneled") == 0)
        return join_low_level(argc, argv, MPI_THREAD_FUNNELED, mode);
    if (strcmp(mode, "single") == 0)
        return join_low_level(argc, argv, MPI_THREAD_SINGLE, mode);
    fprintf(stderr, "usage: %s [multiple|serialized|funneled|single]\n", argv[0]);
    return 2;
}
