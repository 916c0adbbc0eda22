/*
 * throughput.c — scheduling overhead of dlp_mpi: items per second on empty
 * items (the body only adds 1 to its thread's counter, a relaxed atomic).
 *
 *   managed          dlp_split_managed, default options (DLP_SCHEDULE or auto)
 *   round_robin      dlp_split_round_robin
 *   loop_managed     dlp_loop_begin / #pragma omp parallel / dlp_loop_next
 *   loop_round_robin the same with opts.split = DLP_SPLIT_ROUND_ROBIN
 *   omp_dynamic1     baseline: plain `#pragma omp parallel for
 *                    schedule(dynamic,1)` over the same N, measured on the
 *                    master rank alone with its own threads while the other
 *                    ranks wait in a barrier (so: one rank's team, no MPI)
 *
 * After one untimed warm-up call of each variant on N/10 items, each
 * variant runs R times (default 5), interleaved rep by rep; the table
 * gives median, min and max time on the master's clock and N / median.
 * Every run checks that the counters add up to N over all ranks.
 *
 *     throughput [N [R [csv]]]        N default 10^7, csv bench_throughput.csv
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#define BENCH_NAME "throughput"

#include "bench_util.h"

/* Items counted by the bodies: one counter per thread (threads of the
 * callback forms or of an OpenMP team, whichever is larger). */
static struct bench_counters counters;


/* ------------------------------------------------------------- variants -- */

enum { V_MANAGED, V_ROUND_ROBIN, V_LOOP_MANAGED, V_LOOP_RR, V_OMP, N_VARIANTS };
static const char *const variant_name[N_VARIANTS] = {
    "managed", "round_robin", "loop_managed", "loop_round_robin", "omp_dynamic1"};

static void run_loop(long n, int split)
{
    dlp_opts opts = DLP_OPTS_INIT;
    opts.split = split;
    dlp_loop *loop = NULL;
    CHECK(dlp_loop_begin(&loop, n, &opts));
#pragma omp parallel
    {
        long i;
        while (dlp_loop_next(loop, &i))
            bench_count(&counters);
    }
    CHECK(dlp_loop_end(&loop));
}

static void run_variant(int v, long n, int master)
{
    switch (v) {
    case V_MANAGED: CHECK(dlp_split_managed(n, bench_count_body, &counters, NULL)); break;
    case V_ROUND_ROBIN: CHECK(dlp_split_round_robin(n, bench_count_body, &counters, NULL));
        break;
    case V_LOOP_MANAGED: run_loop(n, DLP_SPLIT_MANAGED); break;
    case V_LOOP_RR: run_loop(n, DLP_SPLIT_ROUND_ROBIN); break;
    default:
        if (master) {
#pragma omp parallel for schedule(dynamic, 1)
            for (long i = 0; i < n; i++)
                bench_count(&counters);
        }
        break;
    }
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    const long n = bench_arg_long(argc, argv, 1, 10000000L, 1, 1L << 40);
    const int reps = (int)bench_arg_long(argc, argv, 2, 5, 1, 1000);
    const char *csv_path = argc > 3 ? argv[3] : "bench_throughput.csv";
    struct bench_config c;
    bench_config_init(&c);
    const int omp_threads = omp_get_max_threads(); /* team of the loop form */

    double *t = malloc(sizeof *t * (size_t)N_VARIANTS * (size_t)reps);
    if (!bench_counters_init(&counters, c.threads > omp_threads ? c.threads : omp_threads) ||
        !t) {
        fprintf(stderr, "throughput: out of memory\n");
        MPI_Abort(c.comm, 1);
    }

    /* Warm-up: one untimed call of each variant on n/10 items. */
    for (int v = 0; v < N_VARIANTS; v++)
        run_variant(v, n / 10 > 0 ? n / 10 : 1, c.master);

    int bad = 0;
    for (int r = 0; r < reps; r++) {
        for (int v = 0; v < N_VARIANTS; v++) {
            bench_counters_reset(&counters);
            CHECK(dlp_barrier());
            double t0 = bench_now();
            run_variant(v, n, c.master);
            t[v * reps + r] = bench_now() - t0;
            long mine = bench_counted(&counters), total = 0;
            MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, c.comm);
            if (c.master && total != n) {
                fprintf(stderr, "throughput: %s rep %d counted %ld items, expected %ld\n",
                        variant_name[v], r, total, n);
                bad = 1;
            }
        }
    }

    if (c.master) {
        const char *sched = bench_env("DLP_SCHEDULE", "auto");
        FILE *csv = bench_csv_open(csv_path, "schedule,median_s,min_s,max_s,items_per_s");

        printf("# dlp_mpi throughput: %ld empty items (relaxed atomic add per item)\n", n);
        bench_print_config(&c, n, "", reps, "");
        printf("# omp_dynamic1: master rank alone with its %d threads, other ranks in a "
               "barrier; loop_*: teams of omp_get_max_threads() = %d on the master\n",
               omp_threads, omp_threads);
        printf("# times in s, master's clock; ");
        bench_print_load(&c);
        printf("# %-16s %10s %10s %10s %14s\n", "variant", "median_s", "min_s", "max_s",
               "items_per_s");
        for (int v = 0; v < N_VARIANTS; v++) {
            double med, lo, hi;
            bench_spread(t + v * reps, reps, &med, &lo, &hi);
            double ips = (double)n / med;
            printf("  %-16s %10.4f %10.4f %10.4f %14.4g\n", variant_name[v], med, lo, hi, ips);
            if (csv && v == V_OMP) /* one rank, its own team */
                fprintf(csv, "%s,1,1,%d,%d,%ld,%d,none,%.6f,%.6f,%.6f,%.6g\n", variant_name[v],
                        omp_threads, omp_threads, n, reps, med, lo, hi, ips);
            else if (csv) {
                bench_csv_row(csv, &c, variant_name[v], n, reps);
                fprintf(csv, ",%s,%.6f,%.6f,%.6f,%.6g\n", sched, med, lo, hi, ips);
            }
        }
        if (bad)
            printf("# WARNING: some runs did not count every item exactly once (see stderr)\n");
        bench_csv_close(csv, csv_path);
        fflush(stdout);
    }
    free(t);
    bench_counters_free(&counters);
    return bench_finish(bad);
}
