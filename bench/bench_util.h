/* What the dlp_mpi benchmarks share (each bench/NAME.c is its own program,
 * so the shared code lives here): status checks, clocks, argument parsing,
 * median/min/max, the configuration they print (ranks, threads, MPI
 * library, load average, date), the common CSV columns, per-thread item
 * counters, the calibrated busy loop that stands for CPU work, and a
 * barrier that waits without spinning a core. Header-only (static inline).
 *
 * Before including it, a program defines _POSIX_C_SOURCE >= 200809L (for
 * clock_gettime) ahead of every #include, and BENCH_NAME, its name as a
 * string ("throughput"), which prefixes its messages. */
#ifndef DLP_BENCH_UTIL_H
#define DLP_BENCH_UTIL_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#error "define _POSIX_C_SOURCE 200809L before any #include"
#endif
#ifndef BENCH_NAME
#error "define BENCH_NAME (the program's name, a string) before including bench_util.h"
#endif

#include <dlp_mpi.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------- status checks -- */

/* rc if rc >= 0; else prints "file.c:line: call: error\n  detail" to
 * stderr and ends the job (MPI_Abort while MPI is up, else exit(1)). */
static inline int bench_check(int rc, const char *call, const char *file, int line)
{
    if (rc >= 0)
        return rc;
    const char *base = strrchr(file, '/');
    const char *msg = dlp_last_error();
    fprintf(stderr, "%s:%d: %s: %s\n  %s\n", base ? base + 1 : file, line, call,
            dlp_strerror(rc), msg && *msg ? msg : "(no further detail)");
    int up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}
#define CHECK(call) bench_check((call), #call, __FILE__, __LINE__)

/* perror(what), then end the job. */
static inline void bench_die(const char *what)
{
    perror(what);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}

/* dlp_split_managed(n, body, NULL, opts) with this process's stderr in a
 * temporary file; returns what the call wrote there (malloc: the caller
 * frees), e.g. the DLP_STATS lines. */
static inline char *bench_stderr_of_call(long n, dlp_body_fn body, const dlp_opts *opts)
{
    char path[] = "/tmp/dlp_bench_" BENCH_NAME "XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        bench_die("mkstemp");
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    CHECK(dlp_split_managed(n, body, NULL, opts));
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

/* The number after key in text, or -1. */
static inline double bench_number_after(const char *text, const char *key)
{
    const char *p = text ? strstr(text, key) : NULL;
    return p ? strtod(p + strlen(key), NULL) : -1;
}

/* -------------------------------------------------------------- clocks -- */

static inline double bench_clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
/* Wall clock (monotonic), in s. */
static inline double bench_now(void) { return bench_clock_s(CLOCK_MONOTONIC); }
/* CPU time of the calling thread, in s: blind to time spent descheduled. */
static inline double bench_cpu_now(void) { return bench_clock_s(CLOCK_THREAD_CPUTIME_ID); }

/* ------------------------------------------------------------ CPU work -- */

/* The busy loop that stands for CPU work: a dependent floating-point chain
 * the compiler can neither drop nor fold (its start value is read from a
 * volatile). */
static volatile double bench_sink, bench_seed = 0.5;
static inline void bench_spin(long iters)
{
    double x = bench_seed;
    for (long k = 0; k < iters; k++)
        x = x * 0.999999999 + 1e-9;
    bench_sink = x;
}

/* u(i) in [0, 1): splitmix64 of i. */
static inline double bench_unit_hash(long i)
{
    uint64_t z = (uint64_t)i + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* bench_spin iterations per millisecond of CPU: the fastest of several
 * ~20 ms runs, timed on the thread's CPU clock so that other processes
 * sharing the cores cannot skew it. */
static inline double bench_calibrate(void)
{
    long iters = 100000;
    double t;
    do { /* grow until one run takes >= 20 ms */
        iters *= 2;
        double t0 = bench_cpu_now();
        bench_spin(iters);
        t = bench_cpu_now() - t0;
    } while (t < 0.02 && iters < (1L << 40));
    double best = t;
    for (int k = 0; k < 7; k++) {
        double t0 = bench_cpu_now();
        bench_spin(iters);
        t = bench_cpu_now() - t0;
        if (t < best)
            best = t;
    }
    return (double)iters / (best * 1e3);
}

/* ----------------------------------------------------------- arguments -- */

/* s as a long in lo..hi into *v: 0, else -1 (*v unchanged). */
static inline int bench_parse_long(const char *s, long lo, long hi, long *v)
{
    char *end = NULL;
    long x = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || x < lo || x > hi)
        return -1;
    *v = x;
    return 0;
}

/* argv[k] as a long in lo..hi, def when absent; else a message and exit(1). */
static inline long bench_arg_long(int argc, char **argv, int k, long def, long lo, long hi)
{
    long v = def;
    if (argc > k && bench_parse_long(argv[k], lo, hi, &v) != 0) {
        fprintf(stderr, BENCH_NAME ": argument %d (\"%s\") must be in %ld..%ld\n", k, argv[k],
                lo, hi);
        exit(EXIT_FAILURE);
    }
    return v;
}

/* Value of environment variable name, or dflt when unset or empty. */
static inline const char *bench_env(const char *name, const char *dflt)
{
    const char *s = getenv(name);
    return s && *s ? s : dflt;
}

/* ----------------------------------------------------------- statistics -- */

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n-1], n >= 1 (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median, min and max of v[0..n-1], n >= 1 (sorts a copy). */
static inline void bench_spread(const double *v, int n, double *med, double *lo, double *hi)
{
    double *s = malloc(sizeof *s * (size_t)n);
    if (!s)
        bench_die(BENCH_NAME ": spread");
    memcpy(s, v, sizeof *s * (size_t)n);
    *med = bench_median(s, n);
    *lo = s[0];
    *hi = s[n - 1];
    free(s);
}

/* -------------------------------------------------------- configuration -- */

/* The three load averages, from /proc/loadavg ("?" elsewhere); the string
 * lives until the next call. */
static inline const char *bench_loadavg(void)
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

/* Where a benchmark runs; filled by bench_config_init on every rank. */
struct bench_config {
    MPI_Comm comm;           /* dlp_comm() */
    int master, ranks, nodes;
    int threads;             /* this rank's team size, dlp_threads() */
    int workers, tmin, tmax; /* sum, min and max of threads over the ranks */
    char tpr[32];            /* threads per rank: "2", or "1-2" when they differ */
    char lib[256];           /* first line of MPI_Get_library_version, tabs as spaces */
    char load0[64];          /* load average at bench_config_init */
};

/* Collective (MPI_Allreduce over the ranks), after dlp_init. */
static inline void bench_config_init(struct bench_config *c)
{
    c->master = CHECK(dlp_is_master());
    c->ranks = CHECK(dlp_size());
    c->nodes = CHECK(dlp_nodes());
    c->comm = dlp_comm();
    c->threads = CHECK(dlp_threads());
    MPI_Allreduce(&c->threads, &c->workers, 1, MPI_INT, MPI_SUM, c->comm);
    MPI_Allreduce(&c->threads, &c->tmin, 1, MPI_INT, MPI_MIN, c->comm);
    MPI_Allreduce(&c->threads, &c->tmax, 1, MPI_INT, MPI_MAX, c->comm);
    if (c->tmin == c->tmax)
        snprintf(c->tpr, sizeof c->tpr, "%d", c->tmin);
    else
        snprintf(c->tpr, sizeof c->tpr, "%d-%d", c->tmin, c->tmax);

    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    size_t k = 0;
    for (int j = 0; j < len && v[j] && v[j] != '\n' && k + 1 < sizeof c->lib; j++)
        c->lib[k++] = v[j] == '\t' ? ' ' : v[j];
    c->lib[k] = '\0';

    snprintf(c->load0, sizeof c->load0, "%s", bench_loadavg());
}

/* The configuration line: "# ranks R, nodes K, threads/rank T, workers W,
 * N n<sizes>, reps r, schedule S<opts>, dlp_mpi V, <MPI library>"; sizes and
 * opts are "" or ", name value" items. */
static inline void bench_print_config(const struct bench_config *c, long n, const char *sizes,
                                      int reps, const char *opts)
{
    printf("# ranks %d, nodes %d, threads/rank %s, workers %d, N %ld%s, reps %d, "
           "schedule %s%s, dlp_mpi %s, %s\n",
           c->ranks, c->nodes, c->tpr, c->workers, n, sizes, reps,
           bench_env("DLP_SCHEDULE", "auto(default)"), opts, DLP_VERSION_STRING, c->lib);
}

/* "load average at start L0, at end L1\n" (L1 read now). */
static inline void bench_print_load(const struct bench_config *c)
{
    printf("load average at start %s, at end %s\n", c->load0, bench_loadavg());
}

/* The current date and time, UTC, ISO 8601 ("2024-05-01T12:00:00Z"); the
 * string lives until the next call. */
static inline const char *bench_date(void)
{
    static char buf[32] = "?";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* ------------------------------------------------------------------ CSV -- */

/* Opens path and writes the header "variant,ranks,nodes,threads_per_rank,
 * workers,n,reps,<more>"; NULL (after perror) when it cannot be opened. */
static inline FILE *bench_csv_open(const char *path, const char *more)
{
    FILE *csv = fopen(path, "w");
    if (!csv)
        perror(path);
    else
        fprintf(csv, "variant,ranks,nodes,threads_per_rank,workers,n,reps,%s\n", more);
    return csv;
}

/* The first seven fields of a row, without the ',' after reps. */
static inline void bench_csv_row(FILE *csv, const struct bench_config *c, const char *variant,
                                 long n, int reps)
{
    fprintf(csv, "%s,%d,%d,%s,%d,%ld,%d", variant, c->ranks, c->nodes, c->tpr, c->workers, n,
            reps);
}

/* Closes csv (NULL: nothing), perror(path) on failure. */
static inline void bench_csv_close(FILE *csv, const char *path)
{
    if (csv && fclose(csv) != 0)
        perror(path);
}

/* ------------------------------------------------------------ waiting -- */

/* Collective barrier over comm that does not spin a core while it waits
 * (MPICH's MPI_Barrier does): MPI_Ibarrier, then tests with sleeps growing
 * from 10 us to 1 ms. For the ranks that wait while the master measures
 * alone. */
static inline void bench_quiet_barrier(MPI_Comm comm)
{
    MPI_Request req;
    MPI_Ibarrier(comm, &req);
    int done = 0;
    long ns = 10000;
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    while (!done) {
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        ns = ns * 2 > 1000000 ? 1000000 : ns * 2;
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    }
}

/* ------------------------------------------------------------- the end -- */

/* Collective: the master's bad to every rank, dlp_finalize; the exit status
 * (EXIT_FAILURE if bad). */
static inline int bench_finish(int bad)
{
    CHECK(dlp_bcast(&bad, sizeof bad, 0));
    CHECK(dlp_finalize());
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ------------------------------------------------------------- counters -- */

/* One relaxed atomic counter per thread, each on its own cache line. */
struct bench_counter {
    _Alignas(64) atomic_long v;
};
struct bench_counters {
    struct bench_counter *c;
    int n;
};

/* n counters at 0; 0 when out of memory. */
static inline int bench_counters_init(struct bench_counters *k, int n)
{
    k->n = n;
    k->c = aligned_alloc(64, sizeof *k->c * (size_t)n);
    for (int j = 0; k->c && j < n; j++)
        atomic_init(&k->c[j].v, 0);
    return k->c != NULL;
}

static inline void bench_counters_free(struct bench_counters *k)
{
    free(k->c);
    k->c = NULL;
}

/* One item, on the calling thread's counter. */
static inline void bench_count(struct bench_counters *k)
{
    int tid = omp_get_thread_num();
    atomic_fetch_add_explicit(&k->c[tid % k->n].v, 1, memory_order_relaxed);
}

/* A body of empty items: counts item i on the calling thread's counter of
 * ctx (a struct bench_counters). */
static inline int bench_count_body(long i, void *ctx)
{
    (void)i;
    bench_count(ctx);
    return 0;
}

/* Items counted on this rank since the last reset. */
static inline long bench_counted(struct bench_counters *k)
{
    long s = 0;
    for (int j = 0; j < k->n; j++)
        s += atomic_load(&k->c[j].v);
    return s;
}

static inline void bench_counters_reset(struct bench_counters *k)
{
    for (int j = 0; j < k->n; j++)
        atomic_store(&k->c[j].v, 0);
}

#endif /* DLP_BENCH_UTIL_H */
