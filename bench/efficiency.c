/*
 * efficiency.c — parallel efficiency of dlp_mpi on an uneven CPU workload.
 *
 * N items (default 200) of busy CPU work, item i costing 1 + 29 u(i) ms with
 * u(i) in [0,1) a hash of i (a calibrated busy loop, not a sleep; calibrated
 * once on the master on its CPU clock, broadcast with dlp_bcast). First the
 * master runs all items alone with one thread (the serial baseline, in this
 * process, before any parallel run, median of 3; the other ranks wait in a
 * barrier). Then, after one short untimed warm-up call of each, each variant
 * runs R times (default 5), interleaved rep by rep:
 *
 *   managed         dlp_split_managed, default options (DLP_SCHEDULE or auto)
 *   managed_fixed1  dlp_split_managed, DLP_SCHEDULE_FIXED with chunk 1
 *   round_robin     dlp_split_round_robin
 *
 * efficiency = (serial_time / workers) / median_time, workers = the sum over
 * ranks of their team sizes (dlp_threads()). 1.0 is perfect; the master
 * computes too, so it counts as a worker. master_share = median fraction of
 * the items the master rank ran itself.
 *
 *     efficiency [N [R [csv]]]            csv default: bench_efficiency.csv
 *     OMP_NUM_THREADS=1 mpiexec.mpich -n 2 ./efficiency 200 5 eff_2x1.csv
 *
 * Output in the style of the OSU micro-benchmarks: '#' lines with the title
 * and the configuration, then aligned columns that gnuplot reads directly.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#define BENCH_NAME "efficiency"

#include "bench_util.h"

/* ------------------------------------------------------------ workload -- */

static double cost_ms(long i) { return 1.0 + 29.0 * bench_unit_hash(i); }

struct work {
    double iters_per_ms;
    atomic_long done; /* items run by this rank in the current call */
};

static int body(long i, void *ctx)
{
    struct work *w = ctx;
    bench_spin((long)(cost_ms(i) * w->iters_per_ms));
    atomic_fetch_add_explicit(&w->done, 1, memory_order_relaxed);
    return 0;
}

/* ------------------------------------------------------------- variants -- */

enum { V_MANAGED, V_MANAGED_FIXED1, V_ROUND_ROBIN, N_VARIANTS };
static const char *const variant_name[N_VARIANTS] = {"managed", "managed_fixed1",
                                                     "round_robin"};

static void run_variant(int v, long n, struct work *w)
{
    dlp_opts opts = DLP_OPTS_INIT;
    switch (v) {
    case V_MANAGED: CHECK(dlp_split_managed(n, body, w, &opts)); break;
    case V_MANAGED_FIXED1:
        opts.schedule = DLP_SCHEDULE_FIXED;
        opts.chunk = 1;
        CHECK(dlp_split_managed(n, body, w, &opts));
        break;
    default: CHECK(dlp_split_round_robin(n, body, w, &opts)); break;
    }
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    const long n = bench_arg_long(argc, argv, 1, 200, 1, 100000000L);
    const int reps = (int)bench_arg_long(argc, argv, 2, 5, 1, 1000);
    const char *csv_path = argc > 3 ? argv[3] : "bench_efficiency.csv";
    struct bench_config c; /* workers = sum of team sizes; the load average at start */
    bench_config_init(&c);

    /* Calibrate on the master, every rank uses its number. */
    struct work w = {0};
    if (c.master)
        w.iters_per_ms = bench_calibrate();
    CHECK(dlp_bcast(&w.iters_per_ms, sizeof w.iters_per_ms, 0));

    /* Serial baseline: the master alone, one thread, a plain loop; the
     * median of up to 3 runs, on the wall clock and on the CPU clock (they
     * differ when other processes take the cores). */
    const int serial_reps = reps < 3 ? reps : 3;
    double serial = 0.0, serial_cpu = 0.0, nominal = 0.0;
    for (long i = 0; i < n; i++)
        nominal += cost_ms(i) * 1e-3;
    if (c.master) {
        double wall[3], cpu[3];
        for (int r = 0; r < serial_reps; r++) {
            double t0 = bench_now(), c0 = bench_cpu_now();
            for (long i = 0; i < n; i++)
                body(i, &w);
            wall[r] = bench_now() - t0;
            cpu[r] = bench_cpu_now() - c0;
        }
        serial = bench_median(wall, serial_reps);
        serial_cpu = bench_median(cpu, serial_reps);
    }
    CHECK(dlp_bcast(&serial, sizeof serial, 0));

    /* Warm-up: one short untimed call of each variant (OSU's "skip"). */
    for (int v = 0; v < N_VARIANTS; v++)
        run_variant(v, n < 20 ? n : 20, &w);

    /* Parallel runs, interleaved so that drift hits every variant alike. */
    double *t = malloc(sizeof *t * (size_t)N_VARIANTS * (size_t)reps);
    double *share = malloc(sizeof *share * (size_t)N_VARIANTS * (size_t)reps);
    if (!t || !share) {
        fprintf(stderr, "efficiency: out of memory\n");
        MPI_Abort(c.comm, 1);
    }
    int bad = 0;
    for (int r = 0; r < reps; r++) {
        for (int v = 0; v < N_VARIANTS; v++) {
            atomic_store(&w.done, 0);
            CHECK(dlp_barrier());
            double t0 = bench_now();
            run_variant(v, n, &w);
            t[v * reps + r] = bench_now() - t0; /* the master's clock */
            long mine = atomic_load(&w.done), total = 0;
            MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, c.comm);
            share[v * reps + r] = (double)mine / (double)n;
            if (c.master && total != n) {
                fprintf(stderr, "efficiency: %s rep %d ran %ld items, expected %ld\n",
                        variant_name[v], r, total, n);
                bad = 1;
            }
        }
    }

    if (c.master) {
        FILE *csv = bench_csv_open(csv_path, "schedule,serial_s,median_s,min_s,max_s,"
                                             "efficiency,master_share");

        printf("# dlp_mpi efficiency: %ld uneven CPU items of 1-30 ms (busy loop)\n", n);
        bench_print_config(&c, n, "", reps, "");
        printf("# serial %.3f s wall, %.3f s CPU (master rank alone, 1 thread, median of %d, "
               "before the parallel runs); nominal %.3f s; calibration %.0f iterations/ms\n",
               serial, serial_cpu, serial_reps, nominal, w.iters_per_ms);
        if (serial > 1.05 * serial_cpu)
            printf("# WARNING: serial wall time exceeds its CPU time by %.0f%%: other processes "
                   "were using the cores; load average %s\n",
                   100.0 * (serial / serial_cpu - 1.0), bench_loadavg());
        printf("# efficiency = (serial / workers) / median; times in s, master's clock; ");
        bench_print_load(&c);
        printf("# %-14s %10s %10s %10s %11s %13s\n", "variant", "median_s", "min_s", "max_s",
               "efficiency", "master_share");
        for (int v = 0; v < N_VARIANTS; v++) {
            double med, lo, hi;
            bench_spread(t + v * reps, reps, &med, &lo, &hi);
            double sh = bench_median(share + v * reps, reps);
            double eff = serial / (double)c.workers / med;
            printf("  %-14s %10.4f %10.4f %10.4f %11.4f %13.3f\n", variant_name[v], med, lo, hi,
                   eff, sh);
            if (csv) {
                bench_csv_row(csv, &c, variant_name[v], n, reps);
                fprintf(csv, ",%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n",
                        bench_env("DLP_SCHEDULE", "auto"), serial, med, lo, hi, eff, sh);
            }
        }
        if (bad)
            printf("# WARNING: some runs did not process every item exactly once (see stderr)\n");
        bench_csv_close(csv, csv_path);
        fflush(stdout);
    }
    free(t);
    free(share);
    return bench_finish(bad);
}
