/*
 * consumer.c — a program outside the dlp_mpi tree, built against an installed
 * dlp_mpi (find_package or pkg-config) by the install tests.
 *
 * Runs dlp_split_managed over N items and checks on the master that every
 * item ran exactly once (counts summed over ranks with MPI on dlp_comm()),
 * that the run-time version matches the header, and that dlp_finalize works.
 * Exit status 0 and a line "consumer: OK ..." on success.
 *
 *     ./consumer [n]            (default 1000; 1 rank, no launcher)
 *     mpiexec -n 2 ./consumer
 */
#include <dlp_mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define FAIL(...)                                                         \
    do {                                                                  \
        fprintf(stderr, "consumer: FAILED at line %d: ", __LINE__);       \
        fprintf(stderr, __VA_ARGS__);                                     \
        fprintf(stderr, "\n");                                            \
        exit(1);                                                          \
    } while (0)

#define CHECK(call)                                                           \
    do {                                                                      \
        int rc_ = (call);                                                     \
        if (rc_ != DLP_OK)                                                    \
            FAIL("%s -> %d (%s): %s", #call, rc_, dlp_strerror(rc_), dlp_last_error()); \
    } while (0)

/* Each item writes only its own slot, so the team needs no locking. */
static int body(long i, void *ctx)
{
    int *hits = ctx;
    hits[i] += 1;
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    if (n < 1 || n > 10000000)
        FAIL("n must be in 1 .. 10000000");

    if (dlp_version() != DLP_VERSION)
        FAIL("dlp_version() = 0x%06x, header DLP_VERSION = 0x%06x (" DLP_VERSION_STRING ")",
             dlp_version(), (unsigned)DLP_VERSION);
    if (dlp_initialized())
        FAIL("dlp_initialized() before dlp_init()");
    CHECK(dlp_init(&argc, &argv));
    if (!dlp_initialized())
        FAIL("dlp_initialized() after dlp_init()");

    int rank = dlp_rank(), size = dlp_size();
    if (rank < 0 || size < 1 || rank >= size)
        FAIL("dlp_rank() = %d, dlp_size() = %d", rank, size);

    int *hits = calloc((size_t)n, sizeof *hits);
    int *total = calloc((size_t)n, sizeof *total);
    if (!hits || !total)
        FAIL("out of memory");

    dlp_opts opts = DLP_OPTS_INIT;
    CHECK(dlp_split_managed(n, body, hits, &opts));

    if (MPI_Reduce(hits, total, (int)n, MPI_INT, MPI_SUM, 0, dlp_comm()) != MPI_SUCCESS)
        FAIL("MPI_Reduce on dlp_comm()");
    if (dlp_is_master()) {
        for (long i = 0; i < n; i++)
            if (total[i] != 1)
                FAIL("item %ld ran %d times (expected once)", i, total[i]);
        printf("consumer: OK dlp_mpi %s, %ld items on %d ranks (%d nodes, %d threads on the master)\n",
               DLP_VERSION_STRING, n, size, dlp_nodes(), dlp_threads());
    }
    free(hits);
    free(total);

    CHECK(dlp_finalize());
    if (dlp_initialized())
        FAIL("dlp_initialized() after dlp_finalize()");
    return 0;
}
