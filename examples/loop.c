/*
 * loop.c — the loop form: your own OpenMP parallel region, the body stays
 * inline, as in the Python `for example in dlp_mpi.split_managed(examples)`.
 *
 *     dlp_loop_begin(&loop, n, &opts);          collective: all ranks
 *     #pragma omp parallel
 *     { long i; while (dlp_loop_next(loop, &i)) { ... body ... } }
 *     dlp_loop_end(&loop);                      collective: results, errors
 *
 * Same work as serial.c (10 examples of 0.2 s); the results go into a dense
 * dlp_results array that the master holds after dlp_loop_end().
 *
 *     ./loop                      # managed splitting (default)
 *     ./loop rr                   # round robin: rank r takes r, r+S, ...
 *     mpiexec.mpich -n 4 ./loop
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <dlp_mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_EXAMPLES 10

/* Status check: print dlp_last_error() and stop every rank on failure. */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "loop.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
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

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));

    dlp_results *results = NULL;
    CHECK(dlp_results_create(&results, N_EXAMPLES, sizeof(long)));

    dlp_opts opts = DLP_OPTS_INIT;
    opts.results = results;
    if (argc > 1 && strcmp(argv[1], "rr") == 0)
        opts.split = DLP_SPLIT_ROUND_ROBIN;

    dlp_loop *loop = NULL;
    CHECK(dlp_loop_begin(&loop, N_EXAMPLES, &opts));

#pragma omp parallel
    {
        long i;
        while (dlp_loop_next(loop, &i)) {
            long *slot = DLP_RESULTS_AT(results, i, long);
            if (!slot) {
                /* Stops the loop on every rank; dlp_loop_end reports it. */
                dlp_loop_fail(loop, i, "no result slot for example %ld", i);
                break;
            }
            *slot = heavy_work(i); /* remember the result */
        }
    }

    CHECK(dlp_loop_end(&loop)); /* gathers the results on the master */

    if (CHECK(dlp_is_master())) {
        const long *r = dlp_results_data(results);
        long sum = 0;
        printf("results:");
        for (long i = 0; i < N_EXAMPLES; i++) {
            printf(" %ld", r[i]);
            sum += r[i];
        }
        printf("\nsum: %ld (%s, %d ranks x %d threads)\n", sum,
               opts.split == DLP_SPLIT_ROUND_ROBIN ? "round robin" : "managed",
               CHECK(dlp_size()), omp_get_max_threads());
    }

    CHECK(dlp_results_destroy(&results));
    CHECK(dlp_finalize());
    return 0;
}
