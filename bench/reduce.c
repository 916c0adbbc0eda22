/* Reductions: the per-call cost of a call with 16 empty items that sums to
 * every rank (round robin and managed) against a hand-written OpenMP `for`
 * + MPI_Allreduce of the same sum (and, for reference, a plain loop without
 * OpenMP + MPI_Allreduce: with one thread a team of one costs libgomp a
 * region, which the library's callback forms skip); a sum over N cheap items with
 * opts.reduce against OpenMP reduction(+:) + MPI_Allreduce, in the range
 * loop form (dlp_loop_next_range; round robin as the OpenMP loop, and
 * managed) and in the callback form (dlp_split_round_robin: a call per
 * item); and the reproducible sum (DLP_REDUCE_SUM_REPRO) against the plain
 * sum, in both forms. The variants alternate within each repetition;
 * medians and spread (min, max) of the repetitions are printed, and a CSV
 * row per variant.
 *
 *     mpiexec -n 2 ./reduce [N] [reps] [calls] [csv]
 *     defaults: N 10^7, 5 reps, 200 calls of 16 items per rep, reduce.csv
 */
#define _POSIX_C_SOURCE 200809L
#define BENCH_NAME "reduce"

#include <math.h>
#include <omp.h>

#include "bench_util.h"

enum {
    V_OMP16,
    V_LOOP16,
    V_RR16,
    V_MANAGED16,
    V_OMPBIG,
    V_SUMBIG,
    V_SUMMANAGED,
    V_SUMCALLBACK,
    V_REPROBIG,
    V_REPROCALLBACK,
    V_COUNT
};
/* The variant each is compared with in the CSV (time / its time), or -1. */
static const int versus[V_COUNT] = {
    [V_OMP16] = -1,         [V_LOOP16] = V_OMP16,        [V_RR16] = V_OMP16,
    [V_MANAGED16] = V_OMP16, [V_OMPBIG] = -1,             [V_SUMBIG] = V_OMPBIG,
    [V_SUMMANAGED] = V_OMPBIG, [V_SUMCALLBACK] = V_OMPBIG, [V_REPROBIG] = V_SUMBIG,
    [V_REPROCALLBACK] = V_SUMCALLBACK};
static const char *names[V_COUNT] = {
    "omp_for_allreduce_16", "loop_allreduce_16",   "round_robin_16",      "managed_16",
    "omp_reduction_N",      "reduce_sum_N",        "reduce_sum_managed_N",
    "reduce_callback_N",    "reduce_repro_N",      "reduce_repro_callback_N"};

static int body_empty(long i, void *r)
{
    *(double *)dlp_reduce_acc(r) += (double)i;
    return 0;
}

static int body_sum(long i, void *r)
{
    *(double *)dlp_reduce_acc(r) += bench_unit_hash(i);
    return 0;
}

static int body_repro(long i, void *r) { return dlp_reduce_add(r, bench_unit_hash(i)); }

/* The range loop form over n items (split), summing bench_unit_hash
 * (reproducibly with repro): the inner loop is the user's own, as in an
 * OpenMP loop. */
static void range_sum(long n, int split, dlp_reduce *r, int repro, dlp_opts o)
{
    o.split = split;
    o.reduce = r;
    dlp_loop *loop = NULL;
    CHECK(dlp_loop_begin(&loop, n, &o));
#pragma omp parallel
    {
        long b, e, s;
        while (dlp_loop_next_range(loop, &b, &e, &s)) {
            if (repro) {
                for (long i = b; i < e; i += s)
                    dlp_reduce_add(r, bench_unit_hash(i));
            } else {
                double part = 0;
                for (long i = b; i < e; i += s)
                    part += bench_unit_hash(i);
                *(double *)dlp_reduce_acc(r) += part;
            }
        }
    }
    CHECK(dlp_loop_end(&loop));
}

/* OpenMP over this rank's round-robin share of n items, then the sum to
 * every rank. */
static double omp_sum(long n, int empty, MPI_Comm comm)
{
    int rank = CHECK(dlp_rank()), size = CHECK(dlp_size());
    double s = 0, all = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (long i = rank; i < n; i += size)
        s += empty ? (double)i : bench_unit_hash(i);
    MPI_Allreduce(&s, &all, 1, MPI_DOUBLE, MPI_SUM, comm);
    return all;
}

/* The same with 16 empty items, as a plain loop: no OpenMP region. */
static double loop_sum16(MPI_Comm comm)
{
    int rank = CHECK(dlp_rank()), size = CHECK(dlp_size());
    double s = 0, all = 0;
    for (long i = rank; i < 16; i += size)
        s += (double)i;
    MPI_Allreduce(&s, &all, 1, MPI_DOUBLE, MPI_SUM, comm);
    return all;
}

/* One call of a per-call variant (V_OMP16 .. V_MANAGED16): the sum. */
static double call16(int v, dlp_reduce *sum, dlp_opts *o, MPI_Comm comm)
{
    if (v == V_OMP16)
        return omp_sum(16, 1, comm);
    if (v == V_LOOP16)
        return loop_sum16(comm);
    o->reduce = sum;
    CHECK(v == V_RR16 ? dlp_split_round_robin(16, body_empty, sum, o)
                      : dlp_split_managed(16, body_empty, sum, o));
    return *(const double *)dlp_reduce_result(sum);
}

/* p10, p50 and p90 of the n calls' times in v (sorted in place), in us. */
static void print_percall(const char *name, double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    printf("  %-22s per call on rank 0: p10 %.3f, p50 %.3f, p90 %.3f us (%ld calls)\n", name,
           1e6 * v[n / 10], 1e6 * v[n / 2], 1e6 * v[n * 9 / 10], n);
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    long n = bench_arg_long(argc, argv, 1, 10000000L, 1, 1L << 40);
    int reps = (int)bench_arg_long(argc, argv, 2, 5, 1, 1000);
    int calls = (int)bench_arg_long(argc, argv, 3, 200, 1, 1000000);
    const char *csv_path = argc > 4 ? argv[4] : "reduce.csv";
    struct bench_config cfg;
    bench_config_init(&cfg);
    omp_set_num_threads(cfg.threads);
    dlp_reduce *sum = NULL, *repro = NULL;
    CHECK(dlp_reduce_create(&sum, DLP_REDUCE_SUM, DLP_REDUCE_DOUBLE, 1));
    CHECK(dlp_reduce_create(&repro, DLP_REDUCE_SUM_REPRO, DLP_REDUCE_DOUBLE, 1));
    dlp_opts o = DLP_OPTS_INIT;
    o.on_all_ranks = 1;
    o.progress = DLP_PROGRESS_OFF;
    double *t[V_COUNT];
    for (int v = 0; v < V_COUNT; v++)
        if (!(t[v] = calloc((size_t)reps, sizeof(double))))
            bench_die("out of memory");
    double check[V_COUNT] = {0};
    /* every call's time of the per-call variants, over all repetitions */
    long percall_n = (long)reps * calls;
    double *percall[V_MANAGED16 + 1];
    for (int v = 0; v <= V_MANAGED16; v++)
        if (!(percall[v] = calloc((size_t)percall_n, sizeof(double))))
            bench_die("out of memory");
    for (int rep = 0; rep < reps; rep++) {
        for (int k = 0; k < V_COUNT; k++) {
            int v = (k + rep) % V_COUNT; /* alternate the order */
            bench_quiet_barrier(cfg.comm);
            double t0 = bench_now();
            if (v <= V_MANAGED16) {
                for (int c = 0; c < calls; c++) {
                    double c0 = bench_now();
                    check[v] = call16(v, sum, &o, cfg.comm);
                    percall[v][(long)rep * calls + c] = bench_now() - c0;
                }
            } else if (v == V_OMPBIG) {
                check[v] = omp_sum(n, 0, cfg.comm);
            } else if (v == V_SUMCALLBACK || v == V_REPROCALLBACK) {
                o.reduce = v == V_SUMCALLBACK ? sum : repro;
                CHECK(dlp_split_round_robin(n, v == V_SUMCALLBACK ? body_sum : body_repro,
                                            o.reduce, &o));
                check[v] = *(const double *)dlp_reduce_result(o.reduce);
            } else {
                dlp_reduce *r = v == V_REPROBIG ? repro : sum;
                range_sum(n, v == V_SUMMANAGED ? DLP_SPLIT_MANAGED : DLP_SPLIT_ROUND_ROBIN, r,
                          v == V_REPROBIG, o);
                check[v] = *(const double *)dlp_reduce_result(r);
            }
            double dt = bench_now() - t0;
            t[v][rep] = v <= V_MANAGED16 ? dt / calls : dt;
        }
    }
    int bad = check[V_OMP16] != check[V_RR16] || check[V_OMP16] != check[V_LOOP16] || check[V_OMP16] != check[V_MANAGED16] ||
              check[V_REPROBIG] != check[V_REPROCALLBACK];
    for (int v = V_SUMBIG; v < V_COUNT; v++)
        bad |= fabs(check[v] - check[V_OMPBIG]) > 1e-9 * fabs(check[V_OMPBIG]);
    if (cfg.master) {
        bench_print_config(&cfg, n, "", reps, "");
        printf("%-22s %12s %12s %12s %s\n", "variant", "median", "min", "max", "unit");
        double med[V_COUNT];
        for (int v = 0; v < V_COUNT; v++) {
            double lo, hi;
            bench_spread(t[v], reps, &med[v], &lo, &hi);
            double scale = v <= V_MANAGED16 ? 1e6 : 1.0;
            printf("%-22s %12.3f %12.3f %12.3f %s\n", names[v], med[v] * scale, lo * scale,
                   hi * scale, v <= V_MANAGED16 ? "us per call" : "s");
        }
        printf("round robin / hand-written: %.2fx (/ plain loop: %.2fx); managed: %.1f us\n",
               med[V_RR16] / med[V_OMP16], med[V_RR16] / med[V_LOOP16], med[V_MANAGED16] * 1e6);
        for (int v = 0; v <= V_MANAGED16; v++)
            print_percall(names[v], percall[v], percall_n);
        printf("throughput / omp reduction: range rr %.2fx, range managed %.2fx, callback "
               "%.2fx; repro / plain sum time: range %.2fx, callback %.2fx\n",
               med[V_OMPBIG] / med[V_SUMBIG], med[V_OMPBIG] / med[V_SUMMANAGED],
               med[V_OMPBIG] / med[V_SUMCALLBACK], med[V_REPROBIG] / med[V_SUMBIG],
               med[V_REPROCALLBACK] / med[V_SUMCALLBACK]);
        /* the same ratios repetition by repetition (same-run pairs) */
        double *q = calloc((size_t)reps, sizeof(double));
        if (!q)
            bench_die("out of memory");
        for (int v = V_SUMBIG; v <= V_SUMCALLBACK; v++) {
            double qm, qlo, qhi;
            for (int rep = 0; rep < reps; rep++)
                q[rep] = t[V_OMPBIG][rep] / t[v][rep];
            bench_spread(q, reps, &qm, &qlo, &qhi);
            printf("  %-24s / omp per rep: median %.3f, min %.3f, max %.3f\n", names[v], qm,
                   qlo, qhi);
        }
        printf("sums: omp %.17g range %.17g repro %.17g%s\n", check[V_OMPBIG], check[V_SUMBIG],
               check[V_REPROBIG], bad ? "  MISMATCH" : "");
        bench_print_load(&cfg);
        /* time_ratio: median time / the vs variant's (same run); pair_min,
         * pair_max: that ratio repetition by repetition; call_p*: the
         * per-call variants' single calls on rank 0 (sorted above) */
        FILE *csv = bench_csv_open(csv_path, "median_s,min_s,max_s,vs,time_ratio,pair_min,"
                                             "pair_max,call_p10_s,call_p50_s,call_p90_s,date");
        for (int v = 0; csv && v < V_COUNT; v++) {
            double m, lo, hi;
            bench_spread(t[v], reps, &m, &lo, &hi);
            bench_csv_row(csv, &cfg, names[v], v <= V_MANAGED16 ? 16 : n, reps);
            fprintf(csv, ",%.9g,%.9g,%.9g", m, lo, hi);
            int b = versus[v];
            if (b >= 0) {
                double pm, plo, phi;
                for (int rep = 0; rep < reps; rep++)
                    q[rep] = t[v][rep] / t[b][rep];
                bench_spread(q, reps, &pm, &plo, &phi);
                fprintf(csv, ",%s,%.6g,%.6g,%.6g", names[b], m / med[b], plo, phi);
            } else {
                fprintf(csv, ",,,,");
            }
            if (v <= V_MANAGED16) {
                const double *c = percall[v];
                fprintf(csv, ",%.9g,%.9g,%.9g", c[percall_n / 10], c[percall_n / 2],
                        c[percall_n * 9 / 10]);
            } else {
                fprintf(csv, ",,,");
            }
            fprintf(csv, ",%s\n", bench_date());
        }
        bench_csv_close(csv, csv_path);
        free(q);
    }
    for (int v = 0; v < V_COUNT; v++)
        free(t[v]);
    for (int v = 0; v <= V_MANAGED16; v++)
        free(percall[v]);
    dlp_reduce_destroy(&sum);
    dlp_reduce_destroy(&repro);
    return bench_finish(bad);
}
