/*
 * dispatcher.c — how promptly the master's dispatcher answers the chunk
 * requests of other nodes while every thread of the master is inside a
 * long item, and what it costs the master.
 *
 * Rank 0's items are CPU work of MASTER_MS (default 100 ms) each; every
 * other rank's items are WORKER_US (default 200 us) each, so the other
 * nodes ask for chunks all the time while the master computes. The library
 * measures (DLP_STATS=1, set by this program): each node agent's reply
 * latency (request sent -> reply seen, median, p99, max) and the
 * dispatcher's CPU time. This program captures those lines (stderr of each
 * rank goes through a temporary file during the call), prints them in one
 * table and a CSV row per rep.
 *
 *     dispatcher [SECONDS [REPS [csv]]]   defaults 2 s of work per rep, 3 reps
 *
 * Run it with several nodes, e.g.
 *     mpiexec -launcher fork -hosts n1:1,n2:1 -n 2 build/bench/dispatcher
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, fileno, mkstemp */
#define BENCH_NAME "dispatcher"

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

/* Run one call with stderr in a temporary file; return its text (malloc). */
static char *call_captured(long n)
{
    char path[] = "/tmp/dlp_bench_dispatcherXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        bench_die("mkstemp");
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    CHECK(dlp_split_managed(n, body, NULL, NULL));
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc((size_t)len + 1, 1);
    if (!text || pread(fd, text, (size_t)len, 0) != len)
        bench_die("reading the captured stderr");
    close(fd);
    unlink(path);
    return text;
}

/* A number after `key` in text, or -1. */
static double after(const char *text, const char *key)
{
    const char *p = text ? strstr(text, key) : NULL;
    return p ? strtod(p + strlen(key), NULL) : -1;
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
    const double worker_us = atof(bench_env("WORKER_US", "200"));
    struct bench_config c;
    bench_config_init(&c);
    if (c.nodes < 2) {
        if (c.master)
            fprintf(stderr, "dispatcher: needs two nodes or more (e.g. mpiexec -launcher fork "
                            "-hosts n1:1,n2:1 -n 2)\n");
        return bench_finish(1);
    }
    double per_ms = bench_calibrate(); /* spin iterations per millisecond */
    master_iters = (long)(per_ms * master_ms);
    worker_iters = (long)(per_ms * worker_us * 1e-3);
    /* enough items for `seconds` of the other ranks' work */
    long n = (long)(seconds / (worker_us * 1e-6)) * (c.workers - c.threads);
    FILE *csv = c.master ? bench_csv_open(csv_path, "rep,wall_s,requests,seen_median_ms,"
                                                    "seen_p99_ms,seen_max_ms,answered_median_ms,"
                                                    "answered_p99_ms,answered_max_ms,"
                                                    "dispatcher_cpu_pct")
                         : NULL;
    if (c.master) {
        printf("# dlp_mpi dispatcher: master items %.0f ms, other ranks' items %.0f us, "
               "%ld items\n",
               master_ms, worker_us, n);
        bench_print_config(&c, n, "", reps, "");
        printf("# %-4s %8s %9s %9s %9s %9s %9s %9s %9s %8s\n", "rep", "wall_s", "requests",
               "seen_med", "seen_p99", "seen_max", "ans_med", "ans_p99", "ans_max", "cpu_pct");
    }
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        char *text = call_captured(n);
        double wall = bench_now() - t0;
        /* the other ranks' agent lines: requests, median, p99, max */
        double mine[4] = {-1, after(text, "latency median "), after(text, ", p99 "),
                          after(text, ", max ")};
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
        MPI_Reduce(mine, worst, 4, MPI_DOUBLE, MPI_MAX, 0, c.comm);
        if (c.master) {
            double cpu = after(text, "CPU ("), am = after(text, "(host clocks) median "),
                   ap = after(text, "ms, p99 "), ax = after(strstr(text, "(host clocks)"),
                                                         "ms, max ");
            printf("  %-4d %8.3f %9.0f %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %8.2f\n", r, wall,
                   worst[0], worst[1], worst[2], worst[3], am, ap, ax, cpu);
            if (csv) {
                bench_csv_row(csv, &c, "managed", n, reps);
                fprintf(csv, ",%d,%.6f,%.0f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.3f\n", r, wall,
                        worst[0], worst[1], worst[2], worst[3], am, ap, ax, cpu);
            }
        }
        free(text);
    }
    if (c.master) {
        printf("# seen: request sent -> reply seen by the node's agent (worst node; includes "
               "the agent's own polling); ans: request sent -> answered by the dispatcher "
               "(all nodes; clocks of one host); cpu_pct: the dispatcher's CPU time over the "
               "call, in %% of one core\n");
        bench_csv_close(csv, csv_path);
    }
    return bench_finish(0);
}
