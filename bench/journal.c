/*
 * journal.c — what the journal (opts.journal) costs: the same empty items
 * (the body only adds 1 to its thread's counter) with and without a
 * journal, in the same run, rep by rep interleaved.
 *
 *   managed / managed+journal         dlp_split_managed
 *   round_robin / round_robin+journal dlp_split_round_robin
 *
 * A journaled rep starts from a fresh (removed) journal, so it records all
 * N items: the overhead per item is (median with - median without) / N.
 * The table also gives the journal's size. Every run checks that the
 * counters add up to N over all ranks.
 *
 *     journal [N [R [csv [path]]]]   N default 10^7, R 5, csv bench_journal.csv,
 *                                    path bench_journal.dlpj (on the master)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#define BENCH_NAME "journal"

#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"

static struct bench_counters counters;

enum { V_MANAGED, V_MANAGED_J, V_RR, V_RR_J, N_VARIANTS };
static const char *const variant_name[N_VARIANTS] = {"managed", "managed+journal", "round_robin",
                                                     "round_robin+journal"};

static void run_variant(int v, long n, const char *path)
{
    dlp_opts o = DLP_OPTS_INIT;
    if (v == V_MANAGED_J || v == V_RR_J)
        o.journal = path;
    if (v == V_MANAGED || v == V_MANAGED_J)
        CHECK(dlp_split_managed(n, bench_count_body, &counters, &o));
    else
        CHECK(dlp_split_round_robin(n, bench_count_body, &counters, &o));
}

static long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    const long n = bench_arg_long(argc, argv, 1, 10000000L, 1, 1L << 40);
    const int reps = (int)bench_arg_long(argc, argv, 2, 5, 1, 1000);
    const char *csv_path = argc > 3 ? argv[3] : "bench_journal.csv";
    const char *path = argc > 4 ? argv[4] : "bench_journal.dlpj";
    struct bench_config c;
    bench_config_init(&c);
    double *t = malloc(sizeof *t * (size_t)N_VARIANTS * (size_t)reps);
    long bytes[N_VARIANTS] = {0};
    if (!bench_counters_init(&counters, c.threads) || !t) {
        fprintf(stderr, "journal: out of memory\n");
        MPI_Abort(c.comm, 1);
    }
    int bad = 0;
    for (int r = -1; r < reps; r++) { /* rep -1: warm-up on n/10 items */
        long m = r < 0 ? (n / 10 > 0 ? n / 10 : 1) : n;
        for (int v = 0; v < N_VARIANTS; v++) {
            if (c.master)
                unlink(path);
            bench_counters_reset(&counters);
            CHECK(dlp_barrier());
            double t0 = bench_now();
            run_variant(v, m, path);
            double dt = bench_now() - t0;
            long mine = bench_counted(&counters), total = 0;
            MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, c.comm);
            if (r < 0)
                continue;
            t[v * reps + r] = dt;
            if (c.master && (v == V_MANAGED_J || v == V_RR_J))
                bytes[v] = file_bytes(path);
            if (c.master && total != m) {
                fprintf(stderr, "journal: %s rep %d counted %ld items, expected %ld\n",
                        variant_name[v], r, total, m);
                bad = 1;
            }
        }
    }
    if (c.master) {
        unlink(path);
        FILE *csv = bench_csv_open(csv_path, "median_s,min_s,max_s,items_per_s,"
                                             "overhead_ns_per_item,journal_bytes");
        printf("# dlp_mpi journal: %ld empty items with and without opts.journal (%s)\n", n,
               path);
        bench_print_config(&c, n, "", reps, "");
        printf("# DLP_JOURNAL_SYNC %s; times in s, master's clock; ",
               bench_env("DLP_JOURNAL_SYNC", "1 (default)"));
        bench_print_load(&c);
        printf("# %-20s %10s %10s %10s %14s %12s %14s\n", "variant", "median_s", "min_s",
               "max_s", "items_per_s", "ns_per_item", "journal_bytes");
        double base = 0;
        for (int v = 0; v < N_VARIANTS; v++) {
            double med, lo, hi;
            bench_spread(t + v * reps, reps, &med, &lo, &hi);
            int journaled = v == V_MANAGED_J || v == V_RR_J;
            if (!journaled)
                base = med;
            double over = journaled ? 1e9 * (med - base) / (double)n : 0;
            printf("  %-20s %10.4f %10.4f %10.4f %14.4g %12.1f %14ld\n", variant_name[v], med,
                   lo, hi, (double)n / med, over, bytes[v]);
            if (csv) {
                bench_csv_row(csv, &c, variant_name[v], n, reps);
                fprintf(csv, ",%.6f,%.6f,%.6f,%.6g,%.2f,%ld\n", med, lo, hi, (double)n / med,
                        over, bytes[v]);
            }
        }
        printf("# ns_per_item: (median with the journal - median without) / N\n");
        if (bad)
            printf("# WARNING: some runs did not count every item exactly once (see stderr)\n");
        bench_csv_close(csv, csv_path);
        fflush(stdout);
    }
    free(t);
    bench_counters_free(&counters);
    return bench_finish(bad);
}
