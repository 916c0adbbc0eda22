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

#include <dlp_mpi.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ helpers -- */

static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "efficiency.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
            msg && *msg ? msg : "(no further detail)");
    int up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}
#define CHECK(call) check((call), #call, __LINE__)

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of the calling thread: blind to time spent descheduled. */
static double cpu_now(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static long arg_long(int argc, char **argv, int k, long def, long lo, long hi)
{
    if (argc <= k)
        return def;
    char *end = NULL;
    long v = strtol(argv[k], &end, 10);
    if (*argv[k] == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "efficiency: argument %d (\"%s\") must be in %ld..%ld\n", k, argv[k], lo,
                hi);
        exit(EXIT_FAILURE);
    }
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n-1] (sorts v). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* First line of MPI_Get_library_version, tabs as spaces. */
static void mpi_library(char *out, size_t cap)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    size_t k = 0;
    for (int j = 0; j < len && v[j] && v[j] != '\n' && k + 1 < cap; j++)
        out[k++] = v[j] == '\t' ? ' ' : v[j];
    out[k] = '\0';
}

/* The three load averages, from /proc/loadavg ("?" elsewhere), with '\n'. */
static const char *loadavg(void)
{
    static char buf[64] = "?\n";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        double a = 0, b = 0, c = 0;
        if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
            snprintf(buf, sizeof buf, "%.2f %.2f %.2f\n", a, b, c);
        fclose(f);
    }
    return buf;
}

/* ------------------------------------------------------------ workload -- */

/* The busy loop: a dependent floating-point chain the compiler can neither
 * drop nor fold (its start value is read from a volatile). */
static volatile double sink, seed = 0.5;
static void spin(long iters)
{
    double x = seed;
    for (long k = 0; k < iters; k++)
        x = x * 0.999999999 + 1e-9;
    sink = x;
}

/* u(i) in [0, 1): splitmix64 of i. */
static double unit_hash(long i)
{
    uint64_t z = (uint64_t)i + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static double cost_ms(long i) { return 1.0 + 29.0 * unit_hash(i); }

/* Busy-loop iterations per millisecond of CPU: the fastest of several ~20 ms
 * runs, timed on the thread's CPU clock so that other processes sharing the
 * cores cannot skew it. */
static double calibrate(void)
{
    long iters = 100000;
    double t;
    do { /* grow until one run takes >= 20 ms */
        iters *= 2;
        double t0 = cpu_now();
        spin(iters);
        t = cpu_now() - t0;
    } while (t < 0.02 && iters < (1L << 40));
    double best = t;
    for (int k = 0; k < 7; k++) {
        double t0 = cpu_now();
        spin(iters);
        t = cpu_now() - t0;
        if (t < best)
            best = t;
    }
    return (double)iters / (best * 1e3);
}

struct work {
    double iters_per_ms;
    atomic_long done; /* items run by this rank in the current call */
};

static int body(long i, void *ctx)
{
    struct work *w = ctx;
    spin((long)(cost_ms(i) * w->iters_per_ms));
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
    const long n = arg_long(argc, argv, 1, 200, 1, 100000000L);
    const int reps = (int)arg_long(argc, argv, 2, 5, 1, 1000);
    const char *csv_path = argc > 3 ? argv[3] : "bench_efficiency.csv";
    const int master = CHECK(dlp_is_master());
    const int ranks = CHECK(dlp_size()), nodes = CHECK(dlp_nodes());
    MPI_Comm comm = dlp_comm();

    /* Workers = sum of team sizes; also the smallest and largest team. */
    int threads = CHECK(dlp_threads()), workers = 0, tmin = 0, tmax = 0;
    MPI_Allreduce(&threads, &workers, 1, MPI_INT, MPI_SUM, comm);
    MPI_Allreduce(&threads, &tmin, 1, MPI_INT, MPI_MIN, comm);
    MPI_Allreduce(&threads, &tmax, 1, MPI_INT, MPI_MAX, comm);

    char load0[64];
    snprintf(load0, sizeof load0, "%s", loadavg());
    load0[strcspn(load0, "\n")] = '\0';

    /* Calibrate on the master, every rank uses its number. */
    struct work w = {0};
    if (master)
        w.iters_per_ms = calibrate();
    CHECK(dlp_bcast(&w.iters_per_ms, sizeof w.iters_per_ms, 0));

    /* Serial baseline: the master alone, one thread, a plain loop; the
     * median of up to 3 runs, on the wall clock and on the CPU clock (they
     * differ when other processes take the cores). */
    const int serial_reps = reps < 3 ? reps : 3;
    double serial = 0.0, serial_cpu = 0.0, nominal = 0.0;
    for (long i = 0; i < n; i++)
        nominal += cost_ms(i) * 1e-3;
    if (master) {
        double wall[3], cpu[3];
        for (int r = 0; r < serial_reps; r++) {
            double t0 = now(), c0 = cpu_now();
            for (long i = 0; i < n; i++)
                body(i, &w);
            wall[r] = now() - t0;
            cpu[r] = cpu_now() - c0;
        }
        serial = median(wall, serial_reps);
        serial_cpu = median(cpu, serial_reps);
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
        MPI_Abort(comm, 1);
    }
    int bad = 0;
    for (int r = 0; r < reps; r++) {
        for (int v = 0; v < N_VARIANTS; v++) {
            atomic_store(&w.done, 0);
            CHECK(dlp_barrier());
            double t0 = now();
            run_variant(v, n, &w);
            t[v * reps + r] = now() - t0; /* the master's clock */
            long mine = atomic_load(&w.done), total = 0;
            MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, comm);
            share[v * reps + r] = (double)mine / (double)n;
            if (master && total != n) {
                fprintf(stderr, "efficiency: %s rep %d ran %ld items, expected %ld\n",
                        variant_name[v], r, total, n);
                bad = 1;
            }
        }
    }

    if (master) {
        char lib[256];
        mpi_library(lib, sizeof lib);
        const char *sched = getenv("DLP_SCHEDULE");
        char tpr[32];
        if (tmin == tmax)
            snprintf(tpr, sizeof tpr, "%d", tmin);
        else
            snprintf(tpr, sizeof tpr, "%d-%d", tmin, tmax);
        FILE *csv = fopen(csv_path, "w");
        if (!csv)
            perror(csv_path);
        else
            fprintf(csv, "variant,ranks,nodes,threads_per_rank,workers,n,reps,schedule,"
                         "serial_s,median_s,min_s,max_s,efficiency,master_share\n");

        printf("# dlp_mpi efficiency: %ld uneven CPU items of 1-30 ms (busy loop)\n", n);
        printf("# ranks %d, nodes %d, threads/rank %s, workers %d, N %ld, reps %d, "
               "schedule %s, dlp_mpi %s, %s\n",
               ranks, nodes, tpr, workers, n, reps, sched && *sched ? sched : "auto(default)",
               DLP_VERSION_STRING, lib);
        printf("# serial %.3f s wall, %.3f s CPU (master rank alone, 1 thread, median of %d, "
               "before the parallel runs); nominal %.3f s; calibration %.0f iterations/ms\n",
               serial, serial_cpu, serial_reps, nominal, w.iters_per_ms);
        if (serial > 1.05 * serial_cpu)
            printf("# WARNING: serial wall time exceeds its CPU time by %.0f%%: other processes "
                   "were using the cores; load average %s",
                   100.0 * (serial / serial_cpu - 1.0), loadavg());
        printf("# efficiency = (serial / workers) / median; times in s, master's clock; "
               "load average at start %s, at end %s",
               load0, loadavg());
        printf("# %-14s %10s %10s %10s %11s %13s\n", "variant", "median_s", "min_s", "max_s",
               "efficiency", "master_share");
        for (int v = 0; v < N_VARIANTS; v++) {
            double *tv = t + v * reps;
            double med = median(tv, reps); /* sorts tv: min first, max last */
            double sh = median(share + v * reps, reps);
            double eff = serial / (double)workers / med;
            printf("  %-14s %10.4f %10.4f %10.4f %11.4f %13.3f\n", variant_name[v], med, tv[0],
                   tv[reps - 1], eff, sh);
            if (csv)
                fprintf(csv, "%s,%d,%d,%s,%d,%ld,%d,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n",
                        variant_name[v], ranks, nodes, tpr, workers, n, reps,
                        sched && *sched ? sched : "auto", serial, med, tv[0], tv[reps - 1], eff,
                        sh);
        }
        if (bad)
            printf("# WARNING: some runs did not process every item exactly once (see stderr)\n");
        if (csv && fclose(csv) != 0)
            perror(csv_path);
        fflush(stdout);
    }
    CHECK(dlp_bcast(&bad, sizeof bad, 0));
    free(t);
    free(share);
    CHECK(dlp_finalize());
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
