/*
 * workloads.c — dlp_mpi against simpler schedulers on synthetic workloads.
 *
 * Workloads, item i of n (CPU work is the busy loop of bench_util.h,
 * calibrated on the master's CPU clock; every rank runs the master's
 * iteration counts, so an item is the same work wherever it runs. Every
 * rank also calibrates, and the master prints all of them: their spread
 * says how alike the cores are):
 *
 *   empty       nothing (the body only counts the item): scheduling overhead
 *   uniform     5 ms of CPU
 *   linear      20 (i+1)/n ms of CPU: growing, the largest items come last
 *   periodic    (i % 17) + 1 ms of CPU
 *   heavy_tail  1 + 30 u^3 ms of CPU, u in [0,1) a hash of i (mean 8.5 ms)
 *   sleep       1 + 9 u ms of nanosleep: I/O-like, no CPU
 *
 * Variants, all in this process, interleaved rep by rep after one untimed
 * warm-up call of each (on min(n, 20) items of the first workload):
 *
 *   serial        the master rank alone, one thread, a plain loop over all
 *                 items: the reference (the sum of the item times)
 *   round_robin   dlp_split_round_robin
 *   managed:P     dlp_split_managed with DLP_SCHEDULE=P, for each P of
 *                 BENCH_POLICIES (default "auto fixed:1"); the library
 *                 reads DLP_SCHEDULE at every call. A policy it rejects is
 *                 reported as skipped, with its message.
 *   omp_dynamic   #pragma omp parallel for schedule(dynamic), and
 *   omp_dynamic1  schedule(dynamic,1) (OpenMP's default chunk of dynamic is
 *                 1: the two should agree): the master rank alone, with its
 *                 dlp_threads() threads; at more than one rank named
 *                 omp_dynamic@r0 and omp_dynamic1@r0
 *   naive         the Python dlp_mpi master-worker scheme in plain MPI: the
 *                 master only hands out indices, one per message (blocking
 *                 MPI_Recv from any rank, MPI_Send); every other rank runs
 *                 one item at a time on one thread, then asks for the next.
 *                 Skipped at one rank.
 *
 * While the master measures alone, the other ranks wait without spinning.
 * speedup = serial / median; efficiency = (serial / workers) / median, with
 * workers the threads the variant was given: 1 for serial, the master's
 * threads for omp_*, else the sum of dlp_threads() over the ranks (also
 * for naive, which leaves the master idle and runs one thread per rank).
 *
 *     workloads [WORKLOAD... | all] [--n N] [--reps R] [--csv PATH]
 *     OMP_NUM_THREADS=1 mpiexec.mpich -n 2 ./workloads periodic --n 20 --reps 1
 *
 * Defaults: all workloads; n 200 (empty: 10^6); reps 5; CSV
 * bench_workloads.csv. Environment: BENCH_N, BENCH_REPS, BENCH_CSV,
 * BENCH_POLICIES, BENCH_LAYOUT (the layout's name in the output; default
 * RANKSxTHREADS, plus @NODESn on several nodes). A DLP_SCHEDULE of the
 * caller's environment is ignored (the policies come from BENCH_POLICIES).
 *
 * Output in the style of the OSU micro-benchmarks: '#' lines with the title
 * and the configuration, then aligned columns (layout, workload, variant,
 * workers, median, min, max, speedup, efficiency); the CSV holds one row per
 * (layout, workload, variant) with every column, status and note last.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, setenv */
#define BENCH_NAME "workloads"

#include <errno.h>

#include "bench_util.h"

extern char **environ;

/* ----------------------------------------------------------- workloads -- */

enum kind { K_EMPTY, K_CPU, K_SLEEP };

struct workload {
    const char *name;
    enum kind kind;
    const char *about;
    double (*cost_ms)(long i, long n); /* K_CPU and K_SLEEP */
};

static double cost_uniform(long i, long n)
{
    (void)i;
    (void)n;
    return 5.0;
}
static double cost_linear(long i, long n) { return 20.0 * (double)(i + 1) / (double)n; }
static double cost_periodic(long i, long n)
{
    (void)n;
    return (double)(i % 17 + 1);
}
static double cost_heavy_tail(long i, long n)
{
    (void)n;
    double u = bench_unit_hash(i);
    return 1.0 + 30.0 * u * u * u;
}
static double cost_sleep(long i, long n)
{
    (void)n;
    return 1.0 + 9.0 * bench_unit_hash(i);
}

static const struct workload workloads[] = {
    {"empty", K_EMPTY, "nothing", NULL},
    {"uniform", K_CPU, "5 ms CPU", cost_uniform},
    {"linear", K_CPU, "20 (i+1)/n ms CPU", cost_linear},
    {"periodic", K_CPU, "(i%17)+1 ms CPU", cost_periodic},
    {"heavy_tail", K_CPU, "1+30u^3 ms CPU", cost_heavy_tail},
    {"sleep", K_SLEEP, "1+9u ms nanosleep", cost_sleep},
};
enum { N_WORKLOADS = sizeof workloads / sizeof workloads[0] };

#define N_DEFAULT 200L
#define N_DEFAULT_EMPTY 1000000L

static void sleep_ms(double ms)
{
    long ns = (long)(ms * 1e6);
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* One workload of n items, as the bodies see it. */
struct job {
    const struct workload *w;
    long n;
    double iters_per_ms; /* the master's calibration */
};

static struct bench_counters counters; /* items run, per thread */

static int body(long i, void *ctx)
{
    const struct job *j = ctx;
    if (j->w->kind == K_CPU)
        bench_spin((long)(j->w->cost_ms(i, j->n) * j->iters_per_ms));
    else if (j->w->kind == K_SLEEP)
        sleep_ms(j->w->cost_ms(i, j->n));
    bench_count(&counters);
    return 0;
}

/* -------------------------------------------------------- naive scheme -- */

enum { TAG_READY = 1, TAG_INDEX = 2 };

/* The master: answer every request with the next index, -1 when none is
 * left, until every other rank has had its -1. */
static void naive_master(long n, int size, MPI_Comm comm)
{
    long next = 0;
    for (int active = size - 1; active > 0;) {
        int ready;
        MPI_Status st;
        MPI_Recv(&ready, 1, MPI_INT, MPI_ANY_SOURCE, TAG_READY, comm, &st);
        long i = next < n ? next++ : -1;
        if (i < 0)
            active--;
        MPI_Send(&i, 1, MPI_LONG, st.MPI_SOURCE, TAG_INDEX, comm);
    }
}

/* A worker: ask, run the index, ask again, until the master says -1. */
static void naive_worker(struct job *j, MPI_Comm comm)
{
    for (;;) {
        int ready = 1;
        long i;
        MPI_Send(&ready, 1, MPI_INT, 0, TAG_READY, comm);
        MPI_Recv(&i, 1, MPI_LONG, 0, TAG_INDEX, comm, MPI_STATUS_IGNORE);
        if (i < 0)
            return;
        body(i, j);
    }
}

/* ------------------------------------------------------------ variants -- */

enum vkind { V_SERIAL, V_ROUND_ROBIN, V_MANAGED, V_OMP_DYNAMIC, V_OMP_DYNAMIC1, V_NAIVE };

struct variant {
    enum vkind kind;
    char name[64];
    char policy[48];    /* V_MANAGED: the DLP_SCHEDULE value */
    int workers;        /* threads it is given (efficiency) */
    const char *note;   /* what the CSV says about it, "" if nothing */
    char skipped[600];  /* why it does not run, "" when it runs */
};

/* Where the variants run: the bench's own communicator (a duplicate of
 * MPI_COMM_WORLD, errors fatal) and this rank's place. */
struct place {
    MPI_Comm comm;
    int master, ranks, threads;
};

/* One call of v on job j, every rank: the wall time from a common start
 * (s; the master's is the one that counts), or -1 when the library
 * rejected v's policy (v->skipped then says why). *cpu: the calling
 * thread's CPU time in the call. */
static double run_variant(struct variant *v, struct job *j, const struct place *p, double *cpu)
{
    MPI_Barrier(p->comm);
    double t0 = bench_now(), c0 = bench_cpu_now();
    int rc = DLP_OK;
    switch (v->kind) {
    case V_SERIAL:
        if (p->master)
            for (long i = 0; i < j->n; i++)
                body(i, j);
        break;
    case V_ROUND_ROBIN: CHECK(dlp_split_round_robin(j->n, body, j, NULL)); break;
    case V_MANAGED:
        if (setenv("DLP_SCHEDULE", v->policy, 1) != 0)
            bench_die("workloads: setenv DLP_SCHEDULE");
        rc = dlp_split_managed(j->n, body, j, NULL);
        unsetenv("DLP_SCHEDULE");
        if (rc != DLP_ERR_OPTION)
            CHECK(rc);
        break;
    case V_OMP_DYNAMIC:
        if (p->master) {
#pragma omp parallel for schedule(dynamic) num_threads(p->threads)
            for (long i = 0; i < j->n; i++)
                body(i, j);
        }
        break;
    case V_OMP_DYNAMIC1:
        if (p->master) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(p->threads)
            for (long i = 0; i < j->n; i++)
                body(i, j);
        }
        break;
    case V_NAIVE:
        if (p->master)
            naive_master(j->n, p->ranks, p->comm);
        else
            naive_worker(j, p->comm);
        break;
    }
    double t = bench_now() - t0;
    *cpu = bench_cpu_now() - c0;
    if (v->kind == V_SERIAL || v->kind == V_OMP_DYNAMIC || v->kind == V_OMP_DYNAMIC1)
        bench_quiet_barrier(p->comm); /* the others waited for the master */
    if (rc == DLP_ERR_OPTION) {
        snprintf(v->skipped, sizeof v->skipped, "%s", dlp_last_error());
        return -1.0;
    }
    return t;
}

/* The variants in table order; *nv their number. Policies: the words of
 * pol (spaces or commas between them). */
static struct variant *make_variants(const char *pol, const struct bench_config *c, int *nv)
{
    size_t len = strlen(pol);
    struct variant *v = calloc(len / 2 + 6, sizeof *v); /* at most len/2+1 policies */
    char *words = strdup(pol);
    if (!v || !words)
        bench_die("workloads: variants");
    int k = 0;
    const int one = c->ranks == 1;
    v[k++] = (struct variant){.kind = V_SERIAL, .name = "serial", .workers = 1,
                              .note = "master rank alone, 1 thread"};
    v[k++] = (struct variant){.kind = V_ROUND_ROBIN, .name = "round_robin",
                              .workers = c->workers, .note = ""};
    for (char *save = NULL, *w = strtok_r(words, " ,", &save); w;
         w = strtok_r(NULL, " ,", &save)) {
        v[k] = (struct variant){.kind = V_MANAGED, .workers = c->workers, .note = ""};
        snprintf(v[k].name, sizeof v[k].name, "managed:%.*s", (int)sizeof v[k].policy - 1, w);
        if (strlen(w) < sizeof v[k].policy)
            memcpy(v[k].policy, w, strlen(w) + 1);
        else
            snprintf(v[k].skipped, sizeof v[k].skipped, "policy name longer than %zu characters",
                     sizeof v[k].policy - 1);
        k++;
    }
    const char *omp_note = one ? "" : "master rank alone, its threads";
    v[k++] = (struct variant){.kind = V_OMP_DYNAMIC, .name = "omp_dynamic",
                              .workers = c->threads, .note = omp_note};
    v[k++] = (struct variant){.kind = V_OMP_DYNAMIC1, .name = "omp_dynamic1",
                              .workers = c->threads, .note = omp_note};
    if (!one) {
        strcat(v[k - 2].name, "@r0");
        strcat(v[k - 1].name, "@r0");
    }
    v[k++] = (struct variant){.kind = V_NAIVE, .name = "naive", .workers = c->workers,
                              .note = "master idle, 1 thread per other rank"};
    if (one)
        snprintf(v[k - 1].skipped, sizeof v[k - 1].skipped,
                 "needs 2 or more ranks (the master only hands out indices)");
    free(words);
    *nv = k;
    return v;
}

/* ---------------------------------------------------------- arguments -- */

struct args {
    int use[N_WORKLOADS]; /* 1: run workloads[w] */
    long n;               /* 0: the workload's default */
    long reps;
    const char *csv;
};

/* The workload's n: --n or BENCH_N, else its default. */
static long items(const struct workload *w, const struct args *a)
{
    return a->n ? a->n : w->kind == K_EMPTY ? N_DEFAULT_EMPTY : N_DEFAULT;
}

/* 0, or -1 after a message on the master. */
static int parse_args(int argc, char **argv, int master, struct args *a)
{
    memset(a, 0, sizeof *a);
    a->reps = 5;
    a->csv = bench_env("BENCH_CSV", "bench_workloads.csv");
    const char *bad = NULL, *env;
    char msg[256];
    if ((env = getenv("BENCH_N")) && *env && bench_parse_long(env, 1, 1L << 40, &a->n) != 0)
        bad = "BENCH_N must be an integer in 1..2^40";
    if ((env = getenv("BENCH_REPS")) && *env && bench_parse_long(env, 1, 1000, &a->reps) != 0)
        bad = "BENCH_REPS must be an integer in 1..1000";
    int any = 0;
    for (int k = 1; k < argc && !bad; k++) {
        const char *s = argv[k];
        if (strcmp(s, "--n") == 0 && k + 1 < argc) {
            if (bench_parse_long(argv[++k], 1, 1L << 40, &a->n) != 0)
                bad = "--n takes an integer in 1..2^40";
        } else if (strcmp(s, "--reps") == 0 && k + 1 < argc) {
            if (bench_parse_long(argv[++k], 1, 1000, &a->reps) != 0)
                bad = "--reps takes an integer in 1..1000";
        } else if (strcmp(s, "--csv") == 0 && k + 1 < argc) {
            a->csv = argv[++k];
        } else if (strcmp(s, "all") == 0) {
            for (int w = 0; w < N_WORKLOADS; w++)
                a->use[w] = any = 1;
        } else {
            int w = 0;
            while (w < N_WORKLOADS && strcmp(s, workloads[w].name) != 0)
                w++;
            if (w == N_WORKLOADS) {
                snprintf(msg, sizeof msg, "\"%s\" is not a workload or an option with its value",
                         s);
                bad = msg;
            } else
                a->use[w] = any = 1;
        }
    }
    if (!any)
        for (int w = 0; w < N_WORKLOADS; w++)
            a->use[w] = 1;
    if (bad && master) {
        fprintf(stderr, "workloads: %s\nusage: workloads [WORKLOAD... | all] [--n N] "
                        "[--reps R] [--csv PATH]\nworkloads:", bad);
        for (int w = 0; w < N_WORKLOADS; w++)
            fprintf(stderr, " %s (%s)", workloads[w].name, workloads[w].about);
        fprintf(stderr, "\n");
    }
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------- output -- */

/* s as one CSV field: in double quotes, inner quotes doubled. */
static void csv_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void print_config(const struct bench_config *c, const char *layout, const struct args *a,
                         const double *calib, const char *policies, const char *user_schedule)
{
    printf("# dlp_mpi workloads: dlp_mpi against simpler schedulers on synthetic items\n");
    printf("# date %s, load average %s, dlp_mpi %s, %s\n", bench_date(), c->load0,
           DLP_VERSION_STRING, c->lib);
    printf("# layout %s: ranks %d, nodes %d, threads per rank %s, workers %d\n", layout,
           c->ranks, c->nodes, c->tpr, c->workers);
    if (a->n)
        printf("# n %ld", a->n);
    else
        printf("# n %ld (empty: %ld)", N_DEFAULT, N_DEFAULT_EMPTY);
    printf(", reps %ld (median, min, max), interleaved; warm-up: one untimed call of each "
           "variant on up to 20 items\n",
           a->reps);
    printf("# workloads:");
    for (int w = 0; w < N_WORKLOADS; w++)
        if (a->use[w])
            printf(" %s (%s)", workloads[w].name, workloads[w].about);
    printf("\n# calibration (busy-loop iterations per ms of CPU, once per process; all ranks run rank 0's):");
    double lo = calib[0], hi = calib[0];
    for (int r = 0; r < c->ranks; r++) {
        printf(" rank %d %.0f", r, calib[r]);
        lo = calib[r] < lo ? calib[r] : lo;
        hi = calib[r] > hi ? calib[r] : hi;
    }
    printf("; spread %.1f%%\n", 100.0 * (hi - lo) / lo);
    printf("# policies (BENCH_POLICIES, each set as DLP_SCHEDULE for its call): %s\n", policies);
    if (user_schedule)
        printf("# DLP_SCHEDULE=%s of the environment is ignored\n", user_schedule);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "DLP_", 4) == 0)
            printf("# environment: %s\n", *e);
    printf("# serial: master rank alone, 1 thread; omp_*: master rank alone, threads %d; naive: "
           "1 index per message, master idle\n",
           c->threads);
    printf("# speedup = serial / median; efficiency = (serial / workers) / median; times in s, "
           "master's clock\n");
    printf("# %-8s %-10s %-18s %7s %10s %10s %10s %8s %10s\n", "layout", "workload", "variant",
           "workers", "median_s", "min_s", "max_s", "speedup", "efficiency");
    fflush(stdout);
}

/* The table rows and CSV rows of one workload (master). t[v * reps + r];
 * a skipped variant has a '#' line in the table and empty numbers in the
 * CSV. */
static void print_rows(FILE *csv, const struct bench_config *c, const char *layout,
                       const struct job *j, const struct variant *v, int nv, const double *t,
                       int reps)
{
    double serial, lo, hi;
    bench_spread(t, reps, &serial, &lo, &hi); /* variant 0 is serial */
    for (int k = 0; k < nv; k++) {
        const int skipped = v[k].skipped[0] != '\0';
        if (csv)
            fprintf(csv, "%s,%s,%s,%d,%d,%s,%d,%ld,%d,", layout, j->w->name, v[k].name,
                    c->ranks, c->nodes, c->tpr, v[k].workers, j->n, reps);
        if (skipped) {
            printf("# %-8s %-10s %-18s skipped: %s\n", layout, j->w->name, v[k].name,
                   v[k].skipped);
            if (csv)
                fprintf(csv, ",,,,,%.6f,%.0f,skipped,", serial, j->iters_per_ms);
        } else {
            double med;
            bench_spread(t + k * reps, reps, &med, &lo, &hi);
            double speedup = serial / med, eff = speedup / v[k].workers;
            printf("  %-8s %-10s %-18s %7d %10.6f %10.6f %10.6f %8.3f %10.3f\n", layout,
                   j->w->name, v[k].name, v[k].workers, med, lo, hi, speedup, eff);
            if (csv)
                fprintf(csv, "%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.0f,ok,", med, lo, hi, speedup,
                        eff, serial, j->iters_per_ms);
        }
        if (csv) {
            csv_quoted(csv, skipped ? v[k].skipped : v[k].note);
            fputc('\n', csv);
        }
    }
    fflush(stdout);
}

/* --------------------------------------------------------------- main -- */

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    struct bench_config c;
    bench_config_init(&c);
    struct args a;
    if (parse_args(argc, argv, c.master, &a) != 0) {
        CHECK(dlp_finalize());
        return 2;
    }
    struct place p = {.master = c.master, .ranks = c.ranks, .threads = c.threads};
    MPI_Comm_dup(MPI_COMM_WORLD, &p.comm);

    /* Calibrate on every rank, once; all run the master's numbers. */
    struct job j = {.iters_per_ms = bench_calibrate()};
    double *calib = malloc(sizeof *calib * (size_t)c.ranks);
    if (!calib)
        bench_die("workloads: calibration");
    MPI_Gather(&j.iters_per_ms, 1, MPI_DOUBLE, calib, 1, MPI_DOUBLE, 0, p.comm);
    MPI_Bcast(&j.iters_per_ms, 1, MPI_DOUBLE, 0, p.comm);

    char layout[64];
    if (getenv("BENCH_LAYOUT") && *getenv("BENCH_LAYOUT"))
        snprintf(layout, sizeof layout, "%s", getenv("BENCH_LAYOUT"));
    else if (c.nodes == 1)
        snprintf(layout, sizeof layout, "%dx%s", c.ranks, c.tpr);
    else
        snprintf(layout, sizeof layout, "%dx%s@%dn", c.ranks, c.tpr, c.nodes);

    /* The variants see no DLP_SCHEDULE but their own. */
    const char *user_schedule = getenv("DLP_SCHEDULE");
    char *saved_schedule = user_schedule ? strdup(user_schedule) : NULL;
    unsetenv("DLP_SCHEDULE");
    const char *policies = bench_env("BENCH_POLICIES", "auto fixed:1");
    int nv;
    struct variant *v = make_variants(policies, &c, &nv);

    const int reps = (int)a.reps;
    double *t = malloc(sizeof *t * (size_t)nv * (size_t)reps);
    if (!t || !bench_counters_init(&counters, c.threads > omp_get_max_threads()
                                                  ? c.threads
                                                  : omp_get_max_threads()))
        bench_die("workloads: out of memory");

    FILE *csv = NULL;
    if (c.master) {
        print_config(&c, layout, &a, calib, policies, saved_schedule);
        if (!(csv = fopen(a.csv, "w")))
            perror(a.csv);
        else
            fprintf(csv, "layout,workload,variant,ranks,nodes,threads_per_rank,workers,n,reps,"
                         "median_s,min_s,max_s,speedup,efficiency,serial_s,iters_per_ms,status,"
                         "note\n");
    }

    /* Warm-up: one untimed call of each variant (OSU's "skip"); it finds
     * the policies the library rejects. */
    int first = 0;
    while (!a.use[first])
        first++;
    j.w = &workloads[first];
    j.n = items(j.w, &a);
    j.n = j.n < 20 ? j.n : 20;
    double cpu = 0.0;
    for (int k = 0; k < nv; k++)
        if (!v[k].skipped[0])
            run_variant(&v[k], &j, &p, &cpu);

    int bad = 0;
    for (int w = 0; w < N_WORKLOADS; w++) {
        if (!a.use[w])
            continue;
        j.w = &workloads[w];
        j.n = items(j.w, &a);
        double serial_cpu = 0.0; /* the master's, summed over the reps */
        for (int r = 0; r < reps; r++) {
            for (int k = 0; k < nv; k++) {
                if (v[k].skipped[0])
                    continue;
                bench_counters_reset(&counters);
                t[k * reps + r] = run_variant(&v[k], &j, &p, &cpu);
                if (v[k].skipped[0]) /* rejected on every rank */
                    continue;
                if (v[k].kind == V_SERIAL)
                    serial_cpu += cpu;
                long mine = bench_counted(&counters), total = 0;
                MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, p.comm);
                if (c.master && total != j.n) {
                    fprintf(stderr, "workloads: %s %s rep %d ran %ld items, expected %ld\n",
                            j.w->name, v[k].name, r, total, j.n);
                    bad = 1;
                }
            }
        }
        if (c.master)
            print_rows(csv, &c, layout, &j, v, nv, t, reps);
        double serial_wall = 0.0;
        for (int r = 0; r < reps; r++)
            serial_wall += t[r]; /* variant 0 is serial */
        if (c.master && j.w->kind == K_CPU && serial_wall > 1.05 * serial_cpu)
            printf("# WARNING: %s serial: wall time exceeds CPU time by %.0f%%: other processes "
                   "used the cores (load average %s)\n",
                   j.w->name, 100.0 * (serial_wall / serial_cpu - 1.0), bench_loadavg());
        fflush(stdout);
    }

    if (c.master) {
        printf("# load average at start %s, at end %s\n", c.load0, bench_loadavg());
        if (bad)
            printf("# WARNING: some runs did not process every item exactly once (see stderr)\n");
        bench_csv_close(csv, a.csv);
        fflush(stdout);
    }
    free(t);
    free(calib);
    free(saved_schedule);
    free(v);
    bench_counters_free(&counters);
    MPI_Comm_free(&p.comm);
    return bench_finish(bad);
}
