/*
 * loop_range.c — the range loop form, for many cheap items: each thread
 * gets batches of items and runs them in its own inner loop, so the
 * library costs something per batch, not per item (as fast as an OpenMP
 * `reduction(+:)` loop). Here: the sum of 1/(i+1)^2 over 10^7 items (it
 * tends to pi^2/6), as a reduction delivered to every rank.
 *
 *     dlp_loop_begin(&loop, n, &opts);          collective: all ranks
 *     #pragma omp parallel
 *     {
 *         long b, e, s;
 *         while (dlp_loop_next_range(loop, &b, &e, &s)) {
 *             double part = 0;
 *             for (long i = b; i < e; i += s) part += f(i);
 *             *(double *)dlp_reduce_acc(sum) += part;
 *         }
 *     }
 *     dlp_loop_end(&loop);                      collective: the sum
 *
 *     ./loop_range [n]             # managed splitting (default)
 *     ./loop_range [n] rr          # round robin: rank r takes r, r+S, ...
 *     OMP_NUM_THREADS=2 mpiexec.mpich -n 2 ./loop_range
 */
#include <dlp_mpi.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Status check: print dlp_last_error() and stop every rank on failure. */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "loop_range.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
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

#define PI2_6 1.6449340668482264 /* pi^2 / 6 */

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    long n = argc > 1 ? atol(argv[1]) : 10000000L;
    if (n < 0)
        n = 0;

    dlp_reduce *sum = NULL;
    CHECK(dlp_reduce_create(&sum, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 1));

    dlp_opts opts = DLP_OPTS_INIT;
    opts.reduce = sum;
    opts.on_all_ranks = 1; /* every rank gets the sum */
    if (argc > 2 && strcmp(argv[2], "rr") == 0)
        opts.split = DLP_SPLIT_ROUND_ROBIN;

    dlp_loop *loop = NULL;
    double t0 = omp_get_wtime();
    CHECK(dlp_loop_begin(&loop, n, &opts));

#pragma omp parallel
    {
        long b, e, s;
        while (dlp_loop_next_range(loop, &b, &e, &s)) {
            double part = 0; /* this batch: items b, b+s, ... < e */
            for (long i = b; i < e; i += s)
                part += 1.0 / ((double)(i + 1) * (double)(i + 1));
            *(double *)dlp_reduce_acc(sum) += part; /* valid until the next batch */
        }
    }

    CHECK(dlp_loop_end(&loop)); /* combines the threads' and ranks' sums */
    double dt = omp_get_wtime() - t0;

    const double *total = dlp_reduce_result(sum); /* on every rank (on_all_ranks) */
    if (CHECK(dlp_is_master()))
        printf("sum: %.12f over %ld items (pi^2/6 = %.12f) in %.3f s (%s, %d ranks x %d "
               "threads)\n",
               total ? *total : NAN, n, PI2_6, dt,
               opts.split == DLP_SPLIT_ROUND_ROBIN ? "round robin" : "managed", CHECK(dlp_size()),
               omp_get_max_threads());

    CHECK(dlp_reduce_destroy(&sum));
    CHECK(dlp_finalize());
    return 0;
}
