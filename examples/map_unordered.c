/*
 * map_unordered.c — a function run in parallel, its results handled on the
 * master as they arrive.
 *
 * The third column of the dlp_mpi README in C (the Python
 * `for result in dlp_mpi.map_unordered(workload, examples)`): workload()
 * runs on every rank and thread (the master hands out examples on request
 * and computes too), each result travels with its example's index to the
 * master, and there remember() runs once per example, one call at a time,
 * in arrival order, while the other ranks keep computing.
 *
 *     ./map_unordered                                     # 1 rank, its threads
 *     mpiexec.mpich -n 4 ./map_unordered                  # 4 ranks
 *     OMP_NUM_THREADS=1 mpiexec.mpich -launcher fork -hosts n1:1,n2:1 -n 2 ./map_unordered
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <dlp_mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_EXAMPLES 10

/* Status check: print dlp_last_error() and stop every rank on failure;
 * CHECK(call) returns the call's value (query functions return >= 0). */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "map_unordered.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
            msg && *msg ? msg : "(no further detail)");
    if (rc == DLP_ERR_INTERRUPTED) { /* SIGTERM/SIGINT: every rank's call returned it */
        dlp_finalize();
        exit(DLP_EXIT_INTERRUPTED); /* 76: not a failure, run again (to resume) */
    }
    int up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}
#define CHECK(call) check((call), #call, __LINE__)

/* The workload: any rank, any thread, concurrently. Its result is the bytes
 * appended to out; a non-zero return fails the example (and the call). */
static int workload(long example, void *ctx, dlp_buf *out)
{
    (void)ctx;
    /* Some heavy workload: CPU or IO. Here: sleep 0.2 s. */
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 200000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    long result = example;
    return dlp_buf_append(out, &result, sizeof result);
}

struct summary {
    long results[N_EXAMPLES]; /* in arrival order */
    long count;
};

/* On the master, one result at a time: remember it. */
static int remember(long example, const void *data, size_t len, void *ctx)
{
    struct summary *s = ctx;
    long result;
    if (len != sizeof result || s->count >= N_EXAMPLES)
        return 1; /* stops the map: DLP_ERR_ITEM on every rank */
    memcpy(&result, data, sizeof result);
    printf("example %ld done: result %ld\n", example, result);
    s->results[s->count++] = result;
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));

    struct summary summary = {{0}, 0};
    CHECK(dlp_map_unordered(N_EXAMPLES, workload, remember, &summary, NULL));

    if (CHECK(dlp_is_master())) {
        /* Summarize your experiment. */
        printf("results in arrival order:");
        for (long k = 0; k < summary.count; k++)
            printf(" %ld", summary.results[k]);
        printf("\n%ld results (%d ranks x %d threads)\n", summary.count, CHECK(dlp_size()),
               CHECK(dlp_threads()));
    }

    CHECK(dlp_finalize());
    return 0;
}
