/*
 * capacity.c — how many chunk requests per second the master's one
 * dispatcher answers, what each costs it, and its latency as the load
 * grows, with and without node doorbells (DLP_NODE_DOORBELL=tcp / off).
 *
 * Every rank's items sleep ITEM_US (default 1000) microseconds: they hold a
 * thread, not a core, so many emulated nodes cost the machine little (with
 * empty items the master's own team, which takes its items from the
 * dispenser without requests, would run most of them), and
 * the node-level schedule is FIXED with a chunk of CHUNK (default 1) items:
 * every CHUNK items of a remote node are one request (CHUNK=0: the
 * library's default schedule, AUTO, whose chunks hold at most
 * DLP_CHUNK_TIME of a node's work: about one request per node per
 * DLP_CHUNK_TIME once its rate is known; docs/scale.md). A remote node of T
 * threads then asks T / (CHUNK * ITEM_US) times per microsecond, and the
 * nodes - 1 remote nodes together offer that many times nodes - 1.
 *
 * Per round, both variants (bells, polling; their order alternates round
 * by round), each its own dlp_init .. dlp_finalize (this program owns MPI,
 * so the library can be started again with the other DLP_NODE_DOORBELL)
 * and one dlp_split_managed call of SECONDS of work for every thread. The
 * library measures (DLP_STATS=1, captured from stderr): the requests the
 * dispatcher served, its wall and CPU time, and request sent -> answered
 * (median, p99 on rank 0's clock), and the largest chunk time of the
 * call (AUTO grows it under load, lib/call/dispatcher.c). Derived: requests/s, per
 * remote node too, items/s per node, the dispatcher's
 * CPU per request (its service time), and 1 / that (the rate one
 * dispatcher could answer if it did nothing else: its capacity). Printed
 * per round, then per variant the median (min-max) over the rounds, and a
 * CSV row per round and variant.
 *
 *     capacity [SECONDS [ROUNDS [csv]]]    defaults 1 s per call, 5 rounds
 *
 * Run it at several emulated node counts, one rank each, e.g.
 *     mpiexec -launcher fork -hosts n1:1,n2:1,n3:1,n4:1 -n 4 build/bench/capacity
 * (bench/capacity.sh runs 2, 4, 8, 16 and 32 nodes).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, fileno, mkstemp, setenv */
#define BENCH_NAME "capacity"

#include <stddef.h>
#include <unistd.h>

#include "bench_util.h"

static long item_us;

static int body(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    struct timespec ts = {item_us / 1000000, (item_us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return 0;
}

/* What one call measured on the master (-1 = not reported). */
struct sample {
    double served, wall, cpu_ms, rings, bells, ans_med, ans_p99, rate, cpu_us, capacity;
    double chunk_ms, node_rate, node_items; /* chunk time; per node: requests/s, items/s */
};

static struct sample measure(long n, const dlp_opts *opts, int nodes)
{
    struct sample m;
    char *text = bench_stderr_of_call(n, body, opts);
    const char *line = text ? strstr(text, "dispatcher served ") : NULL;
    m.served = bench_number_after(line, "dispatcher served ");
    m.wall = bench_number_after(line, "remote nodes in ");
    m.rings = bench_number_after(line, "polls and ");
    m.bells = bench_number_after(line, "doorbell rings (");
    m.cpu_ms = bench_number_after(line, "using ");
    m.ans_med = bench_number_after(line, "(rank 0's clock) median ");
    m.ans_p99 = bench_number_after(line, "ms, p99 ");
    m.rate = m.served > 0 && m.wall > 0 ? m.served / m.wall : -1;
    m.cpu_us = m.served > 0 && m.cpu_ms >= 0 ? 1e3 * m.cpu_ms / m.served : -1;
    m.capacity = m.cpu_us > 0 ? 1e6 / m.cpu_us : -1;
    m.chunk_ms = bench_number_after(line, "grown by the load to at most ");
    if (m.chunk_ms < 0)
        m.chunk_ms = bench_number_after(line, "chunk time ");
    m.node_rate = m.rate > 0 ? m.rate / (nodes - 1) : -1;
    m.node_items = m.wall > 0 ? (double)n / (m.wall * nodes) : -1;
    free(text);
    return m;
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    setenv("DLP_STATS", "1", 1);
    setenv("DLP_PROGRESS", "0", 1);
    const double seconds = (double)bench_arg_long(argc, argv, 1, 1, 1, 3600);
    const int rounds = (int)bench_arg_long(argc, argv, 2, 5, 1, 100);
    const char *csv_path = argc > 3 ? argv[3] : "bench_capacity.csv";
    item_us = atol(bench_env("ITEM_US", "1000"));
    const long chunk = atol(bench_env("CHUNK", "1"));
    const char *variant[2] = {"bells", "polling"};
    const char *mode[2] = {"tcp", "off"};
    if (item_us < 1 || chunk < 0)
        bench_die("capacity: ITEM_US must be >= 1, CHUNK >= 0");
    dlp_opts opts = DLP_OPTS_INIT;
    if (chunk > 0) {
        opts.schedule = DLP_SCHEDULE_FIXED;
        opts.chunk = chunk;
    }
    struct bench_config c;
    FILE *csv = NULL;
    struct sample *all = calloc((size_t)rounds * 2, sizeof *all);
    if (!all)
        bench_die("capacity: out of memory");
    long n = 0;
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 2; k++) {
            int v = (r + k) % 2; /* bells first in even rounds */
            setenv("DLP_NODE_DOORBELL", mode[v], 1);
            CHECK(dlp_init(&argc, &argv));
            if (r == 0 && k == 0) {
                bench_config_init(&c);
                if (c.nodes < 2) {
                    if (c.master)
                        fprintf(stderr, "capacity: needs two nodes or more (e.g. mpiexec "
                                        "-launcher fork -hosts n1:1,n2:1 -n 2)\n");
                    CHECK(dlp_finalize());
                    MPI_Finalize();
                    return 1;
                }
                n = (long)(seconds * 1e6 / (double)item_us) * c.workers;
                if (c.master) {
                    csv = bench_csv_open(csv_path, "item_us,chunk,offered_per_s,round,served,"
                                                   "wall_s,rate_per_s,cpu_ms,cpu_us_per_request,"
                                                   "capacity_per_s,answered_median_ms,"
                                                   "answered_p99_ms,rings,nodes_with_bell,"
                                                   "chunk_ms,req_per_s_node,items_per_s_node");
                    printf("# dlp_mpi capacity: items sleep %ld us, FIXED chunks of %ld (0: AUTO), %.0f s "
                           "of work per thread per call; remote nodes offer %.0f requests/s\n",
                           item_us, chunk, seconds,
                           chunk ? 1e6 * (c.workers - c.threads) / (double)(chunk * item_us)
                                            : -1.0);
                    bench_print_config(&c, n, "", rounds, "");
                    printf("# %-8s %-5s %8s %8s %9s %8s %9s %10s %8s %8s %6s %8s %8s %8s\n",
                           "variant", "round", "served", "wall_s", "req/s", "cpu_ms", "cpu_us/rq",
                           "capacity", "ans_med", "ans_p99", "bells", "chunk_ms", "rq/s/nd",
                           "it/s/nd");
                }
            }
            struct sample m = measure(n, &opts, c.nodes);
            CHECK(dlp_finalize());
            all[v * rounds + r] = m;
            if (!c.master)
                continue;
            printf("  %-8s %-5d %8.0f %8.3f %9.0f %8.2f %9.2f %10.0f %8.3f %8.3f %6.0f %8.0f %8.1f "
                   "%8.1f\n",
                   variant[v], r, m.served, m.wall, m.rate, m.cpu_ms, m.cpu_us, m.capacity,
                   m.ans_med, m.ans_p99, m.bells, m.chunk_ms, m.node_rate, m.node_items);
            if (csv) {
                bench_csv_row(csv, &c, variant[v], n, rounds);
                fprintf(csv,
                        ",%ld,%ld,%.0f,%d,%.0f,%.6f,%.1f,%.3f,%.3f,%.0f,%.4f,%.4f,%.0f,%.0f,%.0f,"
                        "%.2f,%.2f\n",
                        item_us, chunk,
                        chunk
                            ? 1e6 * (c.workers - c.threads) / (double)(chunk * item_us)
                            : -1.0,
                        r, m.served, m.wall, m.rate, m.cpu_ms, m.cpu_us, m.capacity, m.ans_med,
                        m.ans_p99, m.rings, m.bells, m.chunk_ms, m.node_rate, m.node_items);
            }
        }
    if (c.master) {
        printf("# per variant over %d rounds: median (min-max)\n", rounds);
        double *x = malloc(sizeof *x * (size_t)rounds), med[2][7];
        if (!x)
            bench_die("capacity: out of memory");
        const struct { const char *name; size_t off; } col[] = {
            {"requests/s", offsetof(struct sample, rate)},
            {"CPU us/request", offsetof(struct sample, cpu_us)},
            {"answered median ms", offsetof(struct sample, ans_med)},
            {"answered p99 ms", offsetof(struct sample, ans_p99)},
            {"requests/s per remote node", offsetof(struct sample, node_rate)},
            {"items/s per node", offsetof(struct sample, node_items)},
            {"chunk time ms", offsetof(struct sample, chunk_ms)},
        };
        for (int v = 0; v < 2; v++) {
            printf("#   %-8s", variant[v]);
            for (size_t k = 0; k < sizeof col / sizeof col[0]; k++) {
                for (int r = 0; r < rounds; r++)
                    x[r] = *(const double *)((const char *)&all[v * rounds + r] + col[k].off);
                double lo, hi;
                bench_spread(x, rounds, &med[v][k], &lo, &hi);
                printf("%s %s %.3f (%.3f-%.3f)", k ? ";" : "", col[k].name, med[v][k], lo, hi);
            }
            printf("\n");
        }
        for (int r = 0; r < rounds; r++)
            x[r] = all[r].cpu_us / all[rounds + r].cpu_us;
        double rmed, rlo, rhi;
        bench_spread(x, rounds, &rmed, &rlo, &rhi);
        printf("#   CPU per request, bells / polling, same round: %.3f (%.3f-%.3f)\n", rmed, rlo,
               rhi);
        free(x);
        bench_print_load(&c);
    }
    bench_csv_close(csv, csv_path);
    free(all);
    MPI_Finalize();
    return 0;
}
