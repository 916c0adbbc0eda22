/*
 * split_managed.c — the serial loop of serial.c, run in parallel.
 *
 * The second column of the dlp_mpi README in C: the loop body becomes a
 * callback, dlp_split_managed() hands the examples out (the master rank gives
 * chunks of indices to the ranks on request; an OpenMP team on each rank
 * shares them), and each result lands in a dense dlp_results array that the
 * master holds in example order when the call returns (the Python gather).
 *
 *     ./split_managed                                     # 1 rank, its threads
 *     mpiexec.mpich -n 4 ./split_managed                  # 4 ranks
 *     OMP_NUM_THREADS=1 mpiexec.mpich -launcher fork -hosts n1:1,n2:1 -n 2 ./split_managed
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <dlp_mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_EXAMPLES 10

/* Every dlp_* call returns DLP_OK (0), DLP_SKIPPED (1: it completed, but
 * items failed and were skipped under DLP_ON_ERROR=skip) or a negative
 * DLP_ERR_* code; query functions return a value >= 0. On failure (< 0)
 * print the full message and stop every rank. CHECK(call) returns the
 * call's value. */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "split_managed.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
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

/* Some heavy workload: CPU or IO. Here: sleep 0.2 s. */
static long heavy_work(long example)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 200000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return example;
}

/* The loop body: process example i and remember its result. Runs on any rank,
 * on any thread of its team, concurrently; returns non-zero on failure. */
static int body(long i, void *ctx)
{
    dlp_results *results = ctx;
    long *slot = DLP_RESULTS_AT(results, i, long);
    if (!slot)
        return 1; /* reported by dlp_split_managed as "item i failed" */
    *slot = heavy_work(i);
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));

    /* One long per example, gathered on the master in example order. */
    dlp_results *results = NULL;
    CHECK(dlp_results_create(&results, N_EXAMPLES, sizeof(long)));

    dlp_opts opts = DLP_OPTS_INIT; /* defaults, DLP_* environment respected */
    opts.results = results;
    if (CHECK(dlp_split_managed(N_EXAMPLES, body, results, &opts)) == DLP_SKIPPED &&
        CHECK(dlp_is_master()))
        fprintf(stderr, "%s\n", dlp_last_error()); /* dlp_failures() lists them */

    if (CHECK(dlp_is_master())) {
        /* Summarize your experiment. */
        const long *r = dlp_results_data(results);
        long sum = 0;
        printf("results:");
        for (long i = 0; i < N_EXAMPLES; i++) {
            printf(" %ld", r[i]);
            sum += r[i];
        }
        printf("\nsum: %ld (%d ranks x %d threads)\n", sum, CHECK(dlp_size()),
               CHECK(dlp_threads()));
    }

    CHECK(dlp_results_destroy(&results));
    CHECK(dlp_finalize());
    return 0;
}
