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

#include <dlp_mpi.h>
#include <omp.h>
#include <stdatomic.h>
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
    fprintf(stderr, "throughput.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
            msg && *msg ? msg : "(no further detail)");
    int up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}
#define CHECK(call) check((call), #call, __LINE__)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long arg_long(int argc, char **argv, int k, long def, long lo, long hi)
{
    if (argc <= k)
        return def;
    char *end = NULL;
    long v = strtol(argv[k], &end, 10);
    if (*argv[k] == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "throughput: argument %d (\"%s\") must be in %ld..%ld\n", k, argv[k], lo,
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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

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

/* The three load averages, from /proc/loadavg ("?" elsewhere). */
static const char *loadavg(void)
{
    static char buf[64] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        double a = 0, b = 0, c = 0;
        if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
            snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
        fclose(f);
    }
    return buf;
}

/* ------------------------------------------------------------ counters -- */

/* One counter per thread, each on its own cache line. */
struct counter {
    _Alignas(64) atomic_long v;
};

static struct counter *counters;
static int n_counters;

static inline void count_item(void)
{
    int tid = omp_get_thread_num();
    atomic_fetch_add_explicit(&counters[tid % n_counters].v, 1, memory_order_relaxed);
}

static long counted(void)
{
    long s = 0;
    for (int k = 0; k < n_counters; k++)
        s += atomic_load(&counters[k].v);
    return s;
}

static void reset_counters(void)
{
    for (int k = 0; k < n_counters; k++)
        atomic_store(&counters[k].v, 0);
}

static int empty_body(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    count_item();
    return 0;
}

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
            count_item();
    }
    CHECK(dlp_loop_end(&loop));
}

static void run_variant(int v, long n, int master)
{
    switch (v) {
    case V_MANAGED: CHECK(dlp_split_managed(n, empty_body, NULL, NULL)); break;
    case V_ROUND_ROBIN: CHECK(dlp_split_round_robin(n, empty_body, NULL, NULL)); break;
    case V_LOOP_MANAGED: run_loop(n, DLP_SPLIT_MANAGED); break;
    case V_LOOP_RR: run_loop(n, DLP_SPLIT_ROUND_ROBIN); break;
    default:
        if (master) {
#pragma omp parallel for schedule(dynamic, 1)
            for (long i = 0; i < n; i++)
                count_item();
        }
        break;
    }
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    const long n = arg_long(argc, argv, 1, 10000000L, 1, 1L << 40);
    const int reps = (int)arg_long(argc, argv, 2, 5, 1, 1000);
    const char *csv_path = argc > 3 ? argv[3] : "bench_throughput.csv";
    const int master = CHECK(dlp_is_master());
    const int ranks = CHECK(dlp_size()), nodes = CHECK(dlp_nodes());
    MPI_Comm comm = dlp_comm();

    int threads = CHECK(dlp_threads()), workers = 0, tmin = 0, tmax = 0;
    MPI_Allreduce(&threads, &workers, 1, MPI_INT, MPI_SUM, comm);
    MPI_Allreduce(&threads, &tmin, 1, MPI_INT, MPI_MIN, comm);
    MPI_Allreduce(&threads, &tmax, 1, MPI_INT, MPI_MAX, comm);
    const int omp_threads = omp_get_max_threads(); /* team of the loop form */

    n_counters = threads > omp_threads ? threads : omp_threads;
    counters = aligned_alloc(64, sizeof *counters * (size_t)n_counters);
    double *t = malloc(sizeof *t * (size_t)N_VARIANTS * (size_t)reps);
    if (!counters || !t) {
        fprintf(stderr, "throughput: out of memory\n");
        MPI_Abort(comm, 1);
    }

    char load0[64];
    snprintf(load0, sizeof load0, "%s", loadavg());

    /* Warm-up: one untimed call of each variant on n/10 items. */
    for (int v = 0; v < N_VARIANTS; v++)
        run_variant(v, n / 10 > 0 ? n / 10 : 1, master);

    int bad = 0;
    for (int r = 0; r < reps; r++) {
        for (int v = 0; v < N_VARIANTS; v++) {
            reset_counters();
            CHECK(dlp_barrier());
            double t0 = now();
            run_variant(v, n, master);
            t[v * reps + r] = now() - t0;
            long mine = counted(), total = 0;
            MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, comm);
            if (master && total != n) {
                fprintf(stderr, "throughput: %s rep %d counted %ld items, expected %ld\n",
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
                         "median_s,min_s,max_s,items_per_s\n");

        printf("# dlp_mpi throughput: %ld empty items (relaxed atomic add per item)\n", n);
        printf("# ranks %d, nodes %d, threads/rank %s, workers %d, N %ld, reps %d, "
               "schedule %s, dlp_mpi %s, %s\n",
               ranks, nodes, tpr, workers, n, reps, sched && *sched ? sched : "auto(default)",
               DLP_VERSION_STRING, lib);
        printf("# omp_dynamic1: master rank alone with its %d threads, other ranks in a "
               "barrier; loop_*: teams of omp_get_max_threads() = %d on the master\n",
               omp_threads, omp_threads);
        printf("# times in s, master's clock; load average at start %s, ", load0);
        printf("at end %s\n", loadavg());
        printf("# %-16s %10s %10s %10s %14s\n", "variant", "median_s", "min_s", "max_s",
               "items_per_s");
        for (int v = 0; v < N_VARIANTS; v++) {
            double *tv = t + v * reps;
            double med = median(tv, reps);
            double ips = (double)n / med;
            printf("  %-16s %10.4f %10.4f %10.4f %14.4g\n", variant_name[v], med, tv[0],
                   tv[reps - 1], ips);
            if (csv && v == V_OMP) /* one rank, its own team */
                fprintf(csv, "%s,1,1,%d,%d,%ld,%d,none,%.6f,%.6f,%.6f,%.6g\n", variant_name[v],
                        omp_threads, omp_threads, n, reps, med, tv[0], tv[reps - 1], ips);
            else if (csv)
                fprintf(csv, "%s,%d,%d,%s,%d,%ld,%d,%s,%.6f,%.6f,%.6f,%.6g\n", variant_name[v],
                        ranks, nodes, tpr, workers, n, reps, sched && *sched ? sched : "auto",
                        med, tv[0], tv[reps - 1], ips);
        }
        if (bad)
            printf("# WARNING: some runs did not count every item exactly once (see stderr)\n");
        if (csv && fclose(csv) != 0)
            perror(csv_path);
        fflush(stdout);
    }
    CHECK(dlp_bcast(&bad, sizeof bad, 0));
    free(t);
    free(counters);
    CHECK(dlp_finalize());
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
