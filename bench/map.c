/*
 * map.c — what dlp_map_unordered costs per result, against managed
 * splitting with dense results, and what the progress display costs.
 *
 *   managed_8B         baseline: dlp_split_managed with opts.results (one
 *                      8-byte dense slot per item); the body writes i into
 *                      its slot; after the call the master adds up the n
 *                      slots (timed: the map's callback adds them up too)
 *   map_8B             dlp_map_unordered over the same N items; work appends
 *                      i (8 bytes), the master's on_result adds them up
 *   map_1KiB           the same with 1 KiB results (i, then 1016 filler
 *                      bytes) on N_1K items; on_result checks length and
 *                      last byte and adds up the i
 *   managed_empty_off  dlp_split_managed on empty items (the body does a
 *   managed_empty_on   relaxed atomic add), opts.progress OFF / ON
 *   map_empty_off      dlp_map_unordered on empty items (work does the
 *   map_empty_on       atomic add and appends nothing: a 0-byte result;
 *                      on_result counts), opts.progress OFF / ON
 *
 * Progress ON: opts.progress = DLP_PROGRESS_ON with progress_interval 0.1 s
 * (the terminal's cadence); during the call the master's stderr (fd 2)
 * points to an unlinked temporary file (not a terminal, so the plain form:
 * one line every 0.1 s and a final line); its lines are counted after the
 * call to show the display was on. Every other variant has opts.progress =
 * DLP_PROGRESS_OFF (whatever DLP_PROGRESS says).
 *
 * After one untimed warm-up call of each variant (same sizes), each variant
 * runs R times (default 5), interleaved rep by rep; OFF/ON and baseline/map
 * pairs swap their order on odd reps. Times are the master's clock from
 * after a barrier to the call's return (map: every callback done;
 * managed_8B: dense results on the master and added up). The table gives
 * median, min and max, N / median (items/s or results/s), MB/s of result
 * bytes, and ratio = rate / rate of the `vs` variant at the medians;
 * pair_min / pair_max are that ratio computed rep by rep (same rep).
 * Checks, every call: sums equal N(N-1)/2, every result arrives with its
 * length, counters add up to N over all ranks, and after the timer every
 * dense slot i holds i (the master clears the slots before each call). A
 * failed check prints to stderr at once, marks the table, and the program
 * exits with status 1.
 *
 * Item cost: COST_NS > 0 makes every item of managed_8B and map_8B (the
 * pair the map's target compares) spin for about that many nanoseconds of
 * CPU first (bench_spin, calibrated once per rank), so that the ratio is
 * also measured where items do some work; the other variants stay empty.
 *
 *     map [N [R [N_1K [N_EMPTY [COST_NS]]]]] [csv]
 *         N 5000000 (map_8B, managed_8B, map_empty_*), R 5, N_1K N/10,
 *         N_EMPTY 5 N (managed_empty_*), COST_NS 0; the last argument,
 *         when it is not a number, is the CSV path (default bench_map.csv)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, dup, fileno */
#define BENCH_NAME "map"

#include <unistd.h>

#include "bench_util.h"

/* ------------------------------------------------------------ helpers -- */

static int is_integer(const char *s)
{
    char *end = NULL;
    strtol(s, &end, 10);
    return *s != '\0' && *end == '\0';
}

/* The master's stderr (fd 2) into an unlinked temporary file during a call
 * with the progress display on; capture_end returns the lines written. */
struct capture {
    FILE *f;
    int saved;
};

static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    if (!c->f)
        bench_die("map: tmpfile for the progress output");
    c->saved = dup(2);
    if (c->saved < 0 || dup2(fileno(c->f), 2) < 0)
        bench_die("map: redirecting stderr");
}

static long capture_end(struct capture *c)
{
    fflush(stderr);
    if (dup2(c->saved, 2) < 0)
        bench_die("map: restoring stderr");
    close(c->saved);
    rewind(c->f);
    long lines = 0;
    for (int ch; (ch = getc(c->f)) != EOF;)
        lines += ch == '\n';
    fclose(c->f);
    return lines;
}

/* ------------------------------------------------------------ counters -- */

/* Items counted by the empty bodies, one counter per thread. */
static struct bench_counters counters;

/* Items counted over all ranks since the last reset (collective). */
static long counted_everywhere(void)
{
    long s = bench_counted(&counters), total = 0;
    MPI_Allreduce(&s, &total, 1, MPI_LONG, MPI_SUM, dlp_comm());
    return total;
}

/* ------------------------------------------------------ work and results -- */

#define BIG 1024 /* bytes of a map_1KiB result */

/* What the master's on_result sees (one call at a time: no atomics). */
struct tally {
    long calls, sum, bad_len, bad_fill;
};

/* bench_spin iterations of one item of the 8-byte pair (0: empty). */
static long spin_iters;

static int work_8(long i, void *ctx, dlp_buf *out)
{
    (void)ctx;
    if (spin_iters)
        bench_spin(spin_iters);
    return dlp_buf_append(out, &i, sizeof i) != DLP_OK;
}

static int on_result_8(long i, const void *data, size_t len, void *ctx)
{
    struct tally *t = ctx;
    long v;
    t->calls++;
    if (len != sizeof v) {
        t->bad_len++;
        return 0;
    }
    memcpy(&v, data, sizeof v);
    t->sum += v;
    t->bad_fill += v != i;
    return 0;
}

static int work_big(long i, void *ctx, dlp_buf *out)
{
    (void)ctx;
    char *p = dlp_buf_reserve(out, BIG);
    if (!p)
        return 1;
    memcpy(p, &i, sizeof i);
    memset(p + sizeof i, (int)(i & 0x7f), BIG - sizeof i);
    return 0;
}

static int on_result_big(long i, const void *data, size_t len, void *ctx)
{
    struct tally *t = ctx;
    const char *p = data;
    long v;
    t->calls++;
    if (len != BIG) {
        t->bad_len++;
        return 0;
    }
    memcpy(&v, p, sizeof v);
    t->sum += v;
    t->bad_fill += v != i || p[BIG - 1] != (char)(i & 0x7f);
    return 0;
}

static int work_empty(long i, void *ctx, dlp_buf *out)
{
    (void)i;
    (void)ctx;
    (void)out;
    bench_count(&counters);
    return 0;
}

static int on_result_empty(long i, const void *data, size_t len, void *ctx)
{
    struct tally *t = ctx;
    (void)i;
    (void)data;
    t->calls++;
    t->bad_len += len != 0;
    return 0;
}

static int body_empty(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    bench_count(&counters);
    return 0;
}

static int body_dense(long i, void *ctx)
{
    if (spin_iters)
        bench_spin(spin_iters);
    memcpy(dlp_results_at(ctx, i), &i, sizeof i);
    return 0;
}

/* ------------------------------------------------------------- variants -- */

enum {
    V_MANAGED_8,
    V_MAP_8,
    V_MAP_BIG,
    V_MANAGED_OFF,
    V_MANAGED_ON,
    V_MAP_OFF,
    V_MAP_ON,
    N_VARIANTS
};
static const char *const variant_name[N_VARIANTS] = {
    "managed_8B",       "map_8B",       "map_1KiB",    "managed_empty_off",
    "managed_empty_on", "map_empty_off", "map_empty_on"};
/* The variant each one is compared with (-1: none). */
static const int variant_vs[N_VARIANTS] = {-1, V_MANAGED_8, V_MAP_8, -1, V_MANAGED_OFF, -1,
                                           V_MAP_OFF};
static const int variant_is_map[N_VARIANTS] = {0, 1, 1, 0, 0, 1, 1};
static const size_t variant_bytes[N_VARIANTS] = {8, 8, BIG, 0, 0, 0, 0}; /* per result */
/* Run order of a rep: pairs next to each other, swapped on odd reps. */
static const int run_order[2][N_VARIANTS] = {
    {V_MANAGED_8, V_MAP_8, V_MAP_BIG, V_MANAGED_OFF, V_MANAGED_ON, V_MAP_OFF, V_MAP_ON},
    {V_MAP_8, V_MANAGED_8, V_MAP_BIG, V_MANAGED_ON, V_MANAGED_OFF, V_MAP_ON, V_MAP_OFF}};

struct setup {
    long n[N_VARIANTS];
    dlp_results *dense; /* managed_8B: n[V_MANAGED_8] slots of 8 bytes */
    int master;
};

/* One call of variant v, timed on the master from after a barrier to the
 * return; checks its outcome (1 if a check failed). *lines: progress lines
 * printed (ON variants, master), else 0. */
static int run_variant(const struct setup *s, int v, int rep, double *seconds, long *lines)
{
    const long n = s->n[v];
    const int on = v == V_MANAGED_ON || v == V_MAP_ON;
    dlp_opts opts = DLP_OPTS_INIT;
    opts.progress = on ? DLP_PROGRESS_ON : DLP_PROGRESS_OFF;
    if (on)
        opts.progress_interval = 0.1;
    struct tally t = {0, 0, 0, 0};
    struct capture cap = {NULL, -1};
    long sum = 0;
    int rc = DLP_OK, bad = 0;

    bench_counters_reset(&counters);
    if (v == V_MANAGED_8 && s->master) /* a missed slot must not keep the last call's value */
        memset(dlp_results_data(s->dense), 0xff, sizeof(long) * (size_t)n);
    if (on && s->master)
        capture_begin(&cap);
    CHECK(dlp_barrier());
    double t0 = bench_now();
    switch (v) {
    case V_MANAGED_8: {
        opts.results = s->dense;
        rc = dlp_split_managed(n, body_dense, s->dense, &opts);
        if (rc == DLP_OK && s->master) {
            const long *d = dlp_results_data(s->dense);
            for (long i = 0; i < n; i++)
                sum += d[i];
        }
        break;
    }
    case V_MAP_8: rc = dlp_map_unordered(n, work_8, on_result_8, &t, &opts); break;
    case V_MAP_BIG: rc = dlp_map_unordered(n, work_big, on_result_big, &t, &opts); break;
    case V_MANAGED_OFF:
    case V_MANAGED_ON: rc = dlp_split_managed(n, body_empty, NULL, &opts); break;
    default: rc = dlp_map_unordered(n, work_empty, on_result_empty, &t, &opts); break;
    }
    *seconds = bench_now() - t0;
    *lines = on && s->master ? capture_end(&cap) : 0;
    CHECK(rc);

    char name[64]; /* "map_8B rep 3", "map_8B warm-up" */
    if (rep < 0)
        snprintf(name, sizeof name, "%s warm-up", variant_name[v]);
    else
        snprintf(name, sizeof name, "%s rep %d", variant_name[v], rep);
    if (v == V_MAP_8 || v == V_MAP_BIG)
        sum = t.sum;
    if (s->master && (v == V_MANAGED_8 || v == V_MAP_8 || v == V_MAP_BIG) &&
        sum != n * (n - 1) / 2) {
        fprintf(stderr, "map: FAILED %s: results add up to %ld, expected %ld\n", name, sum,
                n * (n - 1) / 2);
        bad = 1;
    }
    if (s->master && variant_is_map[v] && (t.calls != n || t.bad_len || t.bad_fill)) {
        fprintf(stderr,
                "map: FAILED %s: %ld callbacks (expected %ld), %ld results of the wrong "
                "length, %ld with wrong contents\n",
                name, t.calls, n, t.bad_len, t.bad_fill);
        bad = 1;
    }
    if (v == V_MANAGED_8 && s->master) {
        const long *d = dlp_results_data(s->dense);
        long wrong = 0, first = -1;
        for (long i = 0; i < n; i++)
            if (d[i] != i && wrong++ == 0)
                first = i;
        if (wrong) {
            fprintf(stderr, "map: FAILED %s: %ld dense slots wrong, first slot %ld = %ld\n",
                    name, wrong, first, d[first]);
            bad = 1;
        }
    }
    if (v >= V_MANAGED_OFF) { /* collective */
        long c = counted_everywhere();
        if (s->master && c != n) {
            fprintf(stderr, "map: FAILED %s: bodies counted %ld items, expected %ld\n", name, c,
                    n);
            bad = 1;
        }
    }
    if (on && s->master && *lines < 1) {
        fprintf(stderr, "map: FAILED %s: the progress display printed nothing\n", name);
        bad = 1;
    }
    return bad;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    const char *csv_path = "bench_map.csv";
    if (argc > 1 && !is_integer(argv[argc - 1])) /* the CSV path comes last */
        csv_path = argv[--argc];
    const long n = bench_arg_long(argc, argv, 1, 5000000L, 1, 1L << 31);
    const int reps = (int)bench_arg_long(argc, argv, 2, 5, 1, 1000);
    const long n_big = bench_arg_long(argc, argv, 3, n / 10 > 0 ? n / 10 : 1, 1, 1L << 24);
    const long n_empty = bench_arg_long(argc, argv, 4, 5 * n, 1, 1L << 40);
    const long cost_ns = bench_arg_long(argc, argv, 5, 0, 0, 1000000000L);
    if (argc > 6) {
        fprintf(stderr, "map: usage: map [N [R [N_1K [N_EMPTY [COST_NS]]]]] [csv]\n");
        exit(EXIT_FAILURE);
    }
    struct bench_config c;
    bench_config_init(&c);
    if (cost_ns > 0)
        spin_iters = (long)(bench_calibrate() * (double)cost_ns / 1e6 + 0.5);

    struct setup s = {{0}, NULL, c.master};
    for (int v = 0; v < N_VARIANTS; v++)
        s.n[v] = v == V_MAP_BIG ? n_big : v == V_MANAGED_OFF || v == V_MANAGED_ON ? n_empty : n;
    CHECK(dlp_results_create(&s.dense, s.n[V_MANAGED_8], sizeof(long)));

    double *t = malloc(sizeof *t * (size_t)N_VARIANTS * (size_t)reps);
    long *lines = calloc((size_t)N_VARIANTS * (size_t)reps, sizeof *lines);
    if (!bench_counters_init(&counters, c.threads) || !t || !lines)
        bench_die("map: out of memory");

    int bad = 0;
    double dummy_t;
    long dummy_l;
    for (int k = 0; k < N_VARIANTS; k++) /* warm-up: untimed, same sizes */
        bad |= run_variant(&s, run_order[0][k], -1, &dummy_t, &dummy_l);
    for (int r = 0; r < reps; r++) {
        for (int k = 0; k < N_VARIANTS; k++) {
            int v = run_order[r % 2][k];
            bad |= run_variant(&s, v, r, &t[v * reps + r], &lines[v * reps + r]);
        }
    }
    CHECK(dlp_results_destroy(&s.dense));

    if (c.master) {
        char sizes[96], inflight[80]; /* DLP_INFLIGHT cut at 63 characters */
        snprintf(sizes, sizeof sizes, ", N_1K %ld, N_EMPTY %ld, COST_NS %ld (%ld spins)", n_big,
                 n_empty, cost_ns, spin_iters);
        snprintf(inflight, sizeof inflight, ", inflight %.63s",
                 bench_env("DLP_INFLIGHT", "8M (default)"));
        double lines_med[N_VARIANTS] = {0}, dummy_lo, dummy_hi;
        for (int v = 0; v < N_VARIANTS; v++) {
            double l[1000];
            for (int r = 0; r < reps; r++)
                l[r] = (double)lines[v * reps + r];
            bench_spread(l, reps, &lines_med[v], &dummy_lo, &dummy_hi);
        }
        FILE *csv = bench_csv_open(csv_path, "median_s,min_s,max_s,per_s,unit,mb_per_s,vs,"
                                             "ratio,pair_min,pair_max,progress_lines,cost_ns");

        printf("# dlp_mpi map: dlp_map_unordered per result vs dlp_split_managed with dense "
               "results; progress display on vs off\n");
        bench_print_config(&c, n, sizes, reps, inflight);
        printf("# managed_8B: 8-byte dense slots, the master's sum over them timed; map_*: "
               "every on_result done; *_empty: relaxed atomic add per item; items of "
               "managed_8B and map_8B cost %ld ns of CPU, the others none\n",
               cost_ns);
        printf("# progress on: DLP_PROGRESS_ON, interval 0.1 s, master's stderr to an unlinked "
               "temp file (plain lines): median %.0f lines/call (managed), %.0f (map); other "
               "variants DLP_PROGRESS_OFF\n",
               lines_med[V_MANAGED_ON], lines_med[V_MAP_ON]);
        printf("# ratio = per_s / per_s of vs (medians); pair_min/max = the ratio rep by rep; "
               "times in s, master's clock\n");
        printf("# ");
        bench_print_load(&c);
        printf("# %-17s %9s %9s %9s %9s %10s %-7s %8s %-17s %6s %6s %6s\n", "variant", "n",
               "median_s", "min_s", "max_s", "per_s", "unit", "MB_s", "vs", "ratio",
               "pmin", "pmax");
        for (int v = 0; v < N_VARIANTS; v++) {
            double med, lo, hi;
            bench_spread(t + v * reps, reps, &med, &lo, &hi);
            double per_s = (double)s.n[v] / med;
            double mb = variant_bytes[v] ? per_s * (double)variant_bytes[v] / 1e6 : 0;
            const char *unit = variant_is_map[v] ? "results" : "items";
            int b = variant_vs[v];
            double ratio = 0, pmin = 0, pmax = 0;
            char mbs[32] = "-", rs[16] = "-", pmins[16] = "-", pmaxs[16] = "-";
            if (variant_bytes[v])
                snprintf(mbs, sizeof mbs, "%.1f", mb);
            if (b >= 0) {
                double bmed, blo, bhi, pr[1000];
                bench_spread(t + b * reps, reps, &bmed, &blo, &bhi);
                ratio = per_s / ((double)s.n[b] / bmed);
                for (int r = 0; r < reps; r++)
                    pr[r] = ((double)s.n[v] / t[v * reps + r]) /
                            ((double)s.n[b] / t[b * reps + r]);
                double pmed;
                bench_spread(pr, reps, &pmed, &pmin, &pmax);
                snprintf(rs, sizeof rs, "%.3f", ratio);
                snprintf(pmins, sizeof pmins, "%.3f", pmin);
                snprintf(pmaxs, sizeof pmaxs, "%.3f", pmax);
            }
            printf("  %-17s %9ld %9.4f %9.4f %9.4f %10.4g %-7s %8s %-17s %6s %6s %6s\n",
                   variant_name[v], s.n[v], med, lo, hi, per_s, unit, mbs,
                   b >= 0 ? variant_name[b] : "-", rs, pmins, pmaxs);
            if (csv) { /* empty fields where the table has "-" */
                char c_mb[32] = "", c_r[3][32] = {"", "", ""};
                if (variant_bytes[v])
                    snprintf(c_mb, sizeof c_mb, "%.6g", mb);
                if (b >= 0) {
                    snprintf(c_r[0], sizeof c_r[0], "%.6g", ratio);
                    snprintf(c_r[1], sizeof c_r[1], "%.6g", pmin);
                    snprintf(c_r[2], sizeof c_r[2], "%.6g", pmax);
                }
                bench_csv_row(csv, &c, variant_name[v], s.n[v], reps);
                fprintf(csv, ",%.6f,%.6f,%.6f,%.6g,%s,%s,%s,%s,%s,%s,%.0f,%ld\n", med, lo, hi,
                        per_s, unit, c_mb, b >= 0 ? variant_name[b] : "", c_r[0], c_r[1],
                        c_r[2], lines_med[v],
                        v == V_MANAGED_8 || v == V_MAP_8 ? cost_ns : 0L);
            }
        }
        if (bad)
            printf("# FAILED: some calls lost, duplicated or corrupted results (see stderr)\n");
        bench_csv_close(csv, csv_path);
        fflush(stdout);
    }
    free(lines);
    free(t);
    bench_counters_free(&counters);
    return bench_finish(bad);
}
