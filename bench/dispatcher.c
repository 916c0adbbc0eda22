/*
 * dispatcher.c — how promptly the master's dispatcher answers the chunk
 * requests of other nodes while every thread of the master is inside a
 * long item, and what it costs the master.
 *
 * Rank 0's items are CPU work of MASTER_MS (default 100 ms) each. Two
 * scenarios, each REPS calls of SECONDS of the other ranks' work:
 *
 *   busy  every other rank's items are WORKER_US (default 200 us) of CPU,
 *         so the other nodes ask for chunks all the time while the master
 *         computes: the request latency
 *   idle  their items are IDLE_WORKER_MS (default 100 ms): a request now
 *         and then, the dispatcher mostly waits: its CPU use while idle
 *
 * The library measures (DLP_STATS=1, set by this program): each node
 * agent's reply latency (request sent -> reply seen, median, p99, max), the
 * dispatcher's (request sent -> answered) and its CPU time. This program
 * captures those lines (stderr of each rank goes through a temporary file
 * during the call), prints them in one table with a row per call, then per
 * scenario the median and min-max over the calls, and writes a CSV row per
 * call.
 *
 *     dispatcher [SECONDS [REPS [csv]]]   defaults 2 s of work per call, 3 reps
 *
 * Run it with several nodes, e.g.
 *     mpiexec -launcher fork -hosts n1:1,n2:1 -n 2 build/bench/dispatcher
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, fileno, mkstemp */
#define BENCH_NAME "dispatcher"

#include <stddef.h>
#include <unistd.h>

#include "bench_util.h"

static long master_iters, worker_iters;

static int body(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    bench_spin(dlp_rank() == 0 ? master_iters : worker_iters);
    return 0;
}

/* What one call measured (the master's view; -1 = not reported). */
struct sample {
    double wall, requests, seen_med, seen_p99, seen_max, ans_med, ans_p99, ans_max, cpu;
};

/* One call of n items; every rank takes part, the master gets the sample. */
static struct sample measure(long n, MPI_Comm comm)
{
    struct sample m;
    double t0 = bench_now();
    char *text = bench_stderr_of_call(n, body, NULL);
    m.wall = bench_now() - t0;
    /* the other ranks' agent lines: requests, median, p99, max */
    double mine[4] = {-1, bench_number_after(text, "latency median "),
                      bench_number_after(text, ", p99 "), bench_number_after(text, ", max ")};
    const char *req = text ? strstr(text, " chunk requests") : NULL;
    if (req) { /* the count stands just before " chunk requests" */
        const char *p = req;
        while (p > text && p[-1] == ' ')
            p--;
        while (p > text && p[-1] >= '0' && p[-1] <= '9')
            p--;
        mine[0] = strtod(p, NULL);
    }
    double worst[4];
    MPI_Allreduce(mine, worst, 4, MPI_DOUBLE, MPI_MAX, comm);
    m.requests = worst[0];
    m.seen_med = worst[1];
    m.seen_p99 = worst[2];
    m.seen_max = worst[3];
    const char *host = text ? strstr(text, "(rank 0's clock)") : NULL;
    m.cpu = bench_number_after(text, "CPU (");
    m.ans_med = bench_number_after(text, "(rank 0's clock) median ");
    m.ans_p99 = bench_number_after(text, "ms, p99 ");
    m.ans_max = bench_number_after(host, "ms, max ");
    free(text);
    return m;
}

int main(int argc, char **argv)
{
    setenv("DLP_STATS", "1", 1);
    setenv("DLP_PROGRESS", "0", 1);
    CHECK(dlp_init(&argc, &argv));
    const double seconds = (double)bench_arg_long(argc, argv, 1, 2, 1, 3600);
    const int reps = (int)bench_arg_long(argc, argv, 2, 3, 1, 100);
    const char *csv_path = argc > 3 ? argv[3] : "bench_dispatcher.csv";
    const double master_ms = atof(bench_env("MASTER_MS", "100"));
    const double worker_ms[2] = {1e-3 * atof(bench_env("WORKER_US", "200")),
                                 atof(bench_env("IDLE_WORKER_MS", "100"))};
    const char *scenario[2] = {"busy", "idle"};
    struct bench_config c;
    bench_config_init(&c);
    if (c.nodes < 2) {
        if (c.master)
            fprintf(stderr, "dispatcher: needs two nodes or more (e.g. mpiexec -launcher fork "
                            "-hosts n1:1,n2:1 -n 2)\n");
        return bench_finish(1);
    }
    if (!(master_ms > 0) || !(worker_ms[0] > 0) || !(worker_ms[1] > 0)) {
        if (c.master)
            fprintf(stderr, "dispatcher: MASTER_MS, WORKER_US and IDLE_WORKER_MS must be > 0\n");
        return bench_finish(1);
    }
    /* the master's calibration, on every rank: the same work everywhere */
    double per_ms = bench_calibrate(); /* spin iterations per millisecond */
    MPI_Bcast(&per_ms, 1, MPI_DOUBLE, 0, c.comm);
    master_iters = (long)(per_ms * master_ms);
    FILE *csv = c.master ? bench_csv_open(csv_path, "scenario,worker_ms,rep,wall_s,requests,"
                                                    "seen_median_ms,seen_p99_ms,seen_max_ms,"
                                                    "answered_median_ms,answered_p99_ms,"
                                                    "answered_max_ms,dispatcher_cpu_pct")
                         : NULL;
    if (c.master) {
        printf("# dlp_mpi dispatcher: master items %.0f ms; other ranks' items %.3f ms (busy), "
               "%.0f ms (idle); %.0f s of their work per call\n",
               master_ms, worker_ms[0], worker_ms[1], seconds);
        bench_print_config(&c, 0, "", reps, "");
        printf("# %-8s %-4s %8s %9s %9s %9s %9s %9s %9s %9s %8s\n", "scenario", "rep", "wall_s",
               "requests", "seen_med", "seen_p99", "seen_max", "ans_med", "ans_p99", "ans_max",
               "cpu_pct");
    }
    struct sample *all = malloc(sizeof *all * (size_t)reps * 2);
    if (!all)
        bench_die("dispatcher: out of memory");
    for (int s = 0; s < 2; s++) {
        worker_iters = (long)(per_ms * worker_ms[s]);
        /* enough items for `seconds` of the other ranks' work */
        long n = (long)(seconds / (worker_ms[s] * 1e-3)) * (c.workers - c.threads);
        for (int r = 0; r < reps; r++) {
            struct sample m = measure(n, c.comm);
            all[s * reps + r] = m;
            if (!c.master)
                continue;
            printf("  %-8s %-4d %8.3f %9.0f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %8.2f\n",
                   scenario[s], r, m.wall, m.requests, m.seen_med, m.seen_p99, m.seen_max,
                   m.ans_med, m.ans_p99, m.ans_max, m.cpu);
            if (csv) {
                bench_csv_row(csv, &c, "managed", n, reps);
                fprintf(csv, ",%s,%.4f,%d,%.6f,%.0f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.3f\n",
                        scenario[s], worker_ms[s], r, m.wall, m.requests, m.seen_med,
                        m.seen_p99, m.seen_max, m.ans_med, m.ans_p99, m.ans_max, m.cpu);
            }
        }
    }
    if (c.master) {
        printf("# per scenario over %d calls: median (min-max)\n", reps);
        double *v = malloc(sizeof *v * (size_t)reps);
        if (!v)
            bench_die("dispatcher: out of memory");
        for (int s = 0; s < 2; s++) {
            const struct { const char *name; size_t off; } col[] = {
                {"answered median ms", offsetof(struct sample, ans_med)},
                {"answered p99 ms", offsetof(struct sample, ans_p99)},
                {"seen p99 ms", offsetof(struct sample, seen_p99)},
                {"dispatcher CPU %", offsetof(struct sample, cpu)},
            };
            printf("#   %-5s", scenario[s]);
            for (size_t k = 0; k < sizeof col / sizeof col[0]; k++) {
                for (int r = 0; r < reps; r++)
                    v[r] = *(const double *)((const char *)&all[s * reps + r] + col[k].off);
                double med, lo, hi;
                bench_spread(v, reps, &med, &lo, &hi);
                printf("%s %s %.3f (%.3f-%.3f)", k ? ";" : "", col[k].name, med, lo, hi);
            }
            printf("\n");
        }
        free(v);
        printf("# seen: request sent -> reply seen by the node's agent (worst node; includes "
               "the agent's own polling); answered: request sent -> answered by the "
               "dispatcher (all nodes; clocks of one host); CPU: the dispatcher's CPU time "
               "over the call, in %% of one core\n");
        bench_csv_close(csv, csv_path);
    }
    free(all);
    return bench_finish(0);
}
