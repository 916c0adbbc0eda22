/*
 * capacity_gen.c — the master's dispatcher driven to its limit by request
 * generators: how many chunk requests per second it serves, what each costs
 * it, and the request -> answer latency as the emulated nodes grow, with
 * and without node doorbells (DLP_NODE_DOORBELL=tcp / off).
 *
 * bench/capacity.c drives the dispatcher with whole nodes (an agent and a
 * team each, whose items sleep); on a small machine the emulated nodes,
 * not the dispatcher, then bound the rate. Here rank 0 runs the library as
 * it is, the real dispatcher in a real dlp_split_managed call, and every
 * other node's agent is replaced by a generator: this program links the
 * library's object files but lib/call/agent.c's (bench/CMakeLists.txt) and
 * defines dlp__agent_main() below. The generator speaks the agents'
 * protocol (struct dlp__request / dlp__reply of lib/call/loop.h, their tags
 * on the library's communicator, a ring over the node doorbell after each
 * request when the node has one, and the agent's waits for the reply: on
 * the doorbell, or polling with the agent's backoff), and asks again as
 * soon as a reply came: one request in flight per node, back to back. It
 * reports its rate, and no unclaimed items, as a node that consumes items
 * as fast as it gets them. Its node's team takes no item: the generator
 * stops the node's cursor at once, and at the end publishes the items it
 * was handed as handed out and done, so that the library's own end check
 * (every item handed out exactly as many as n) holds, and the call ends
 * with DLP_OK. Every handed item is marked here and the marks are summed on
 * rank 0 after the call: each of the n items exactly once ("once ok").
 *
 * Rank 0's own team (OMP_NUM_THREADS, 1 in bench/capacity_gen.sh) takes
 * items from the dispenser without requests; its items sleep ITEM_US
 * (default 1000), so it takes about 1/ITEM_US of them per second per
 * thread and costs a wake-up per item, not a core. The node-level
 * schedule is FIXED with chunks of CHUNK items (default 1): every item of
 * a remote node is one request.
 *
 * Per round, both variants (bells, polling; their order alternates round
 * by round), each its own dlp_init .. dlp_finalize with two calls: a short
 * warm-up (1000 items per remote node: connections made, the clocks of
 * DLP_STATS synchronised, the rate estimated), then the measured call,
 * whose n is that rate times SECONDS (at most CHUNK * DLP__MAX_CHUNKS
 * items, so that chunks keep CHUNK items). From the library's DLP_STATS line of
 * the dispatcher (captured from rank 0's stderr): requests served, its
 * wall and CPU time, request sent -> answered (median, p99, rank 0's
 * clock), the remote nodes with a doorbell, the dispatcher's looks and
 * rings read per request. From the generators: their requests (must equal the served
 * ones), their thread CPU per request, request -> reply taken on their own
 * clock (the median of their medians, the largest p99). From rank 0: the
 * machine's busy share of its cores during the call (/proc/stat), and the
 * load average. Printed per call, then per variant the median (min-max)
 * over the rounds, a CSV row per call, and one "summary" line per variant
 * that bench/capacity_gen.sh turns into a table.
 *
 *     capacity_gen [SECONDS [ROUNDS [csv]]]    defaults 1 s per call, 3 rounds
 *
 * Environment: ITEM_US, CHUNK (above); POOL=G (default 0): ranks 1..G each
 * speak for every G-th remote node, with one request in flight for each,
 * and the other ranks send nothing: the generators' cost out of the way
 * (polling only, since the dispatcher rings a node's own rank); VARIANT
 * (bells, polling, both: default) runs one variant alone, e.g. under perf.
 *
 *     mpiexec -launcher fork -hosts n1:1,n2:1,n3:1,n4:1 -n 4 build/bench/capacity_gen
 * (bench/capacity_gen.sh runs 2, 4, 8, 16 and 32 nodes).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, fileno, mkstemp, setenv */
#define BENCH_NAME "capacity_gen"

#include <stddef.h>
#include <unistd.h>

#include "bench_util.h"

#include "doorbell.h"
#include "helper.h"
#include "latency.h"
#include "loop.h"
#include "netbell.h"
#include "runtime.h"
#include "selfsched.h"

#define GEN_CHECK(call) DLP__HELPER_CHECK("request generator", call)

/* ------------------------------------------------------ the marks -- */

/* marks[i]: how often item i was handed to this rank in the measured call
 * (a byte: summed over the ranks on rank 0, where each must be 1). */
static unsigned char *marks;
static long marks_n;

static void mark(long start, long count)
{
    if (start < 0 || count < 0 || start > marks_n - count)
        dlp__helper_abort("request generator", "a chunk outside 0..n-1", MPI_SUCCESS);
    for (long i = start; i < start + count; i++)
        marks[i]++;
}

/* -------------------------------------------------- the generator -- */

/* What this rank's generator did in the last call. */
struct gen_stats {
    double requests, items, cpu_s, wakeups, lat_med_ms, lat_p99_ms;
};
static struct gen_stats gen;

/* POOL: 0 (default), every remote node's rank generates that node's
 * requests; G > 0, ranks 1..G each speak for every G-th node, several
 * requests in flight (one per node), and the other ranks send nothing
 * (polling only: the dispatcher rings a node's own rank). */
static int pool;
/* A speaker's word to a silent rank of its pool (MPI_COMM_WORLD): its node
 * is done. */
#define TAG_RELEASE 7001

/* What a generator knows of a node it speaks for. The times of its last
 * request, on this rank's clock, are kept from call to call, as the agent
 * does (the dispatcher's DLP_STATS clock sync, latency.h). */
struct voice {
    double prev_sent, prev_taken, t0;
    long handed;
};
static struct voice *voices; /* [nodes] */

/* A request in flight: its node, when it was sent, its reply. */
struct flight {
    int node;
    double sent;
    struct dlp__reply rep;
    MPI_Request h;
};

static double thread_cpu(void) { return bench_clock_s(CLOCK_THREAD_CPUTIME_ID); }

/* Sends node k's next request as its agent would, with the reply's receive
 * posted first, and rings the master over the node doorbell (a no-op
 * without one). It reports its node's rate since its first chunk, and no
 * items unclaimed: it asks again as soon as the reply comes. */
static void ask(const struct dlp_loop *L, struct flight *f, int k)
{
    struct voice *v = &voices[k];
    double now = dlp__now();
    struct dlp__request rq = {.seq = L->seq,
                              .node = k,
                              .rate = v->handed > 0 && now > v->t0
                                          ? (double)v->handed / (now - v->t0)
                                          : 0,
                              .done = v->handed,
                              .unclaimed = 0,
                              .low = 0,
                              .sent = now,
                              .prev_sent = v->prev_sent,
                              .prev_taken = v->prev_taken};
    f->node = k;
    f->sent = now;
    GEN_CHECK(MPI_Irecv(&f->rep, (int)sizeof f->rep, MPI_BYTE, 0, DLP__TAG_REPLY, dlp__rt.comm,
                        &f->h));
    v->prev_sent = now;
    v->prev_taken = 0;
    GEN_CHECK(MPI_Send(&rq, (int)sizeof rq, MPI_BYTE, 0, DLP__TAG_REQUEST, dlp__rt.comm));
    dlp__netbell_ring_master();
}

/* The items this node was handed become its cursor's handed-out count and
 * the call's done count (what the end's agreement reads, outcome.c), once
 * every rank of the node has left the call's items: no team thread can
 * then take a ticket of them. */
static void publish(struct dlp_loop *L, long handed)
{
    struct dlp__cursor *c = L->cursor;
    while (atomic_load(&c->ended) < dlp__rt.node_size) {
        dlp__doorbell_arm(&c->bell);
        if (atomic_load(&c->ended) < dlp__rt.node_size)
            dlp__doorbell_wait(&c->bell, 1000);
        else
            dlp__doorbell_disarm(&c->bell);
    }
    atomic_store(&c->avail, handed);
    atomic_fetch_add(&L->completed, handed);
}

/* The generator's loop over its m nodes' requests, oldest first (the
 * replies to one rank come in the order of its requests: MPI keeps the
 * order of one sender's messages, and the dispatcher answers one request
 * at a time). It waits for the oldest as the agent waits for its reply: on
 * the node doorbell (with its quick phase after a ring), else polling from
 * about the last reply's time on, growing by half up to POLL_URGENT (a
 * node whose thread waits). Returns the items handed to its nodes. */
static long generate(const struct dlp_loop *L, const int *nodes, int m, int bell)
{
    struct flight *fl = calloc((size_t)m, sizeof *fl);
    if (!fl)
        dlp__helper_abort("request generator", "out of memory", MPI_SUCCESS);
    struct dlp__latencies lat = {NULL, 0, 0};
    const double cpu0 = thread_cpu();
    unsigned first_look = DLP__AGENT_FIRST_LOOK_US, backoff = first_look, quick = 0;
    long handed = 0, requests = 0, wakeups = 0;
    for (int j = 0; j < m; j++) {
        voices[nodes[j]].handed = 0;
        ask(L, &fl[j], nodes[j]);
    }
    requests = m;
    int head = 0, inflight = m;
    while (inflight > 0) {
        struct flight *f = &fl[head];
        int flag = 0;
        GEN_CHECK(MPI_Test(&f->h, &flag, MPI_STATUS_IGNORE));
        if (!flag) {
            wakeups++;
            if (bell) {
                unsigned soon = dlp__netbell_quick(&quick);
                if (dlp__netbell_wait_agent(soon ? soon : DLP__NETBELL_SAFETY_US) > 0)
                    quick = DLP__NETBELL_QUICK_MIN_US;
            } else {
                dlp__sleep_us(backoff);
                backoff += backoff / 2;
                backoff = backoff > DLP__POLL_URGENT_US ? DLP__POLL_URGENT_US : backoff;
            }
            continue;
        }
        struct voice *v = &voices[f->node];
        struct dlp__reply rep = f->rep;
        int k = f->node;
        double taken = dlp__now(), took = taken - f->sent;
        v->prev_taken = taken;
        dlp__latency_note(&lat, took);
        double us = 0.8e6 * took; /* the agent's first look: about the last reply's time */
        first_look = us < DLP__AGENT_FIRST_LOOK_US ? DLP__AGENT_FIRST_LOOK_US
                     : us > DLP__POLL_MAX_US       ? DLP__POLL_MAX_US
                                                   : (unsigned)us;
        backoff = first_look;
        quick = 0;
        if (rep.seq != L->seq)
            dlp__helper_abort("request generator", "reply for another call", MPI_SUCCESS);
        head = (head + 1) % m;
        inflight--;
        if (rep.count == 0)
            continue; /* node k is done */
        if (v->handed == 0)
            v->t0 = taken;
        mark(rep.start, rep.count);
        v->handed += rep.count;
        handed += rep.count;
        ask(L, &fl[(head + inflight) % m], k);
        inflight++;
        requests++;
    }
    double max;
    gen = (struct gen_stats){.requests = (double)requests,
                             .items = (double)handed,
                             .cpu_s = thread_cpu() - cpu0,
                             .wakeups = (double)wakeups};
    dlp__latency_summary(&lat, &gen.lat_med_ms, &gen.lat_p99_ms, &max);
    dlp__latency_free(&lat);
    free(fl);
    return handed;
}

/* The agent's start, replaced: the generator asks itself. */
int dlp__agent_start(struct dlp_loop *L) { return dlp__helper_run(L, dlp__agent_main); }
void dlp__agent_help(const struct dlp_loop *L) { (void)L; }

/* This node's agent, replaced (see the top of the file). */
void *dlp__agent_main(void *arg)
{
    struct dlp_loop *L = arg;
    atomic_store(&L->cursor->stop, 1); /* the node's team takes nothing */
    dlp__doorbell_ring(&L->cursor->bell);
    const int me = dlp__rt.node;
    if (!voices && !(voices = calloc((size_t)dlp__rt.nodes, sizeof *voices)))
        dlp__helper_abort("request generator", "out of memory", MPI_SUCCESS);
    int *nodes = malloc(sizeof *nodes * (size_t)dlp__rt.nodes), m = 0;
    if (!nodes)
        dlp__helper_abort("request generator", "out of memory", MPI_SUCCESS);
    if (pool == 0)
        nodes[m++] = me;
    else if (me <= pool)
        for (int k = me; k < dlp__rt.nodes; k += pool)
            nodes[m++] = k;
    long handed = 0;
    if (m > 0) {
        handed = generate(L, nodes, m, pool == 0 && dlp__netbell_agent_has());
        for (int j = 0; j < m; j++) /* the silent ranks of the pool may end the call */
            if (nodes[j] != me)
                GEN_CHECK(MPI_Send(NULL, 0, MPI_BYTE, dlp__rt.node_leader[nodes[j]], TAG_RELEASE,
                                   MPI_COMM_WORLD));
    } else {
        /* a silent rank of the pool: its speaker tells when its node is done
         * (its main thread would otherwise wait in the call's end, waking
         * every few hundred microseconds) */
        MPI_Request h;
        int flag = 0;
        GEN_CHECK(MPI_Irecv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_RELEASE, MPI_COMM_WORLD, &h));
        for (;;) {
            GEN_CHECK(MPI_Test(&h, &flag, MPI_STATUS_IGNORE));
            if (flag)
                break;
            dlp__sleep_us(5000);
        }
    }
    free(nodes);
    publish(L, handed);
    return NULL;
}

/* ------------------------------------------------ rank 0's items -- */

static long item_us;

static int body(long i, void *ctx)
{
    (void)ctx;
    mark(i, 1);
    struct timespec ts = {item_us / 1000000, (item_us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return 0;
}

/* ---------------------------------------------------- measurement -- */

/* Completes req without spinning a core (MPICH's blocking waits do, and
 * the emulated nodes share the machine's cores). */
static void quiet_wait(MPI_Request *req)
{
    int done = 0;
    long ns = 10000;
    MPI_Test(req, &done, MPI_STATUS_IGNORE);
    while (!done) {
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        ns = ns * 2 > 1000000 ? 1000000 : ns * 2;
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
    }
}

/* Busy and total jiffies of every core since boot (/proc/stat's cpu line). */
static void cpu_jiffies(double *busy, double *total)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    *busy = *total = -1;
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) == 8) {
        double all = 0;
        for (int k = 0; k < 8; k++)
            all += (double)v[k];
        *total = all;
        *busy = all - (double)v[3] - (double)v[4]; /* minus idle and iowait */
    }
    (void)fclose(f); /* read only */
}

/* What one call measured (on rank 0; -1 = not reported). */
struct sample {
    double n, served, wall, rate, cpu_ms, cpu_us, util, ans_med, ans_p99;
    double gen_requests, gen_cpu_us, gen_wakeups, gen_med, gen_p99, busy, master_items;
    double with_bell;           /* remote nodes with a doorbell */
    double polls_rq, rings_rq;  /* the dispatcher's polls and rings read per request */
    int once_ok;
};

/* One call of n items; on rank 0 what it measured. Collective. */
static struct sample run_call(long n, const dlp_opts *opts, int cores)
{
    struct sample m = {0};
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    marks = calloc((size_t)n, 1);
    if (!marks)
        bench_die(BENCH_NAME ": marks");
    marks_n = n;
    gen = (struct gen_stats){0};
    double b0, t0, b1, t1;
    cpu_jiffies(&b0, &t0);
    char *text = bench_stderr_of_call(n, body, opts);
    cpu_jiffies(&b1, &t1);
    /* every item exactly once: the marks summed on rank 0 */
    unsigned char *sum = rank == 0 ? calloc((size_t)n, 1) : NULL;
    if (rank == 0 && !sum)
        bench_die(BENCH_NAME ": marks");
    MPI_Request req;
    MPI_Ireduce(marks, sum, (int)n, MPI_UNSIGNED_CHAR, MPI_SUM, 0, MPI_COMM_WORLD, &req);
    quiet_wait(&req);
    long master_items = 0;
    for (long i = 0; i < n; i++)
        master_items += marks[i];
    /* the generators' figures */
    double mine[6] = {gen.requests, gen.cpu_s, gen.wakeups, gen.lat_med_ms, gen.lat_p99_ms,
                      (double)master_items};
    double *all = rank == 0 ? malloc(sizeof *all * 6 * (size_t)size) : NULL;
    if (rank == 0 && !all)
        bench_die(BENCH_NAME ": gather");
    MPI_Igather(mine, 6, MPI_DOUBLE, all, 6, MPI_DOUBLE, 0, MPI_COMM_WORLD, &req);
    quiet_wait(&req);
    if (rank == 0) {
        long bad = 0;
        for (long i = 0; i < n; i++)
            bad += sum[i] != 1;
        m.once_ok = bad == 0;
        const char *line = text ? strstr(text, "dispatcher served ") : NULL;
        m.n = (double)n;
        m.served = bench_number_after(line, "dispatcher served ");
        m.wall = bench_number_after(line, "remote nodes in ");
        m.cpu_ms = bench_number_after(line, "using ");
        m.ans_med = bench_number_after(line, "(rank 0's clock) median ");
        m.ans_p99 = bench_number_after(line, "ms, p99 ");
        m.with_bell = bench_number_after(line, "doorbell rings (");
        m.polls_rq = m.served > 0 ? bench_number_after(line, "with ") / m.served : -1;
        m.rings_rq = m.served > 0 ? bench_number_after(line, "polls and ") / m.served : -1;
        m.rate = m.served > 0 && m.wall > 0 ? m.served / m.wall : -1;
        m.cpu_us = m.served > 0 && m.cpu_ms >= 0 ? 1e3 * m.cpu_ms / m.served : -1;
        m.util = m.wall > 0 && m.cpu_ms >= 0 ? 0.1 * m.cpu_ms / m.wall : -1; /* % of a core */
        double cpu = 0, *med = malloc(sizeof *med * (size_t)size);
        if (!med)
            bench_die(BENCH_NAME ": gather");
        int k = 0;
        m.gen_p99 = 0;
        for (int r = 1; r < size; r++) {
            const double *g = all + 6 * (size_t)r;
            m.gen_requests += g[0];
            cpu += g[1];
            m.gen_wakeups += g[2];
            if (g[0] > 0)
                med[k++] = g[3];
            m.gen_p99 = g[4] > m.gen_p99 ? g[4] : m.gen_p99;
        }
        m.gen_med = k ? bench_median(med, k) : -1;
        m.gen_cpu_us = m.gen_requests > 0 ? 1e6 * cpu / m.gen_requests : -1;
        m.gen_wakeups = m.gen_requests > 0 ? m.gen_wakeups / m.gen_requests : -1;
        m.master_items = all[5];
        m.busy = t1 > t0 ? 100.0 * (b1 - b0) / (t1 - t0) * cores : -1; /* % of a core */
        free(med);
    }
    free(all);
    free(sum);
    free(text);
    free(marks);
    marks = NULL;
    return m;
}

/* ------------------------------------------------------------ main -- */

static const struct {
    const char *name;
    size_t off;
} columns[] = {
    {"requests/s", offsetof(struct sample, rate)},
    {"dispatcher CPU us/request", offsetof(struct sample, cpu_us)},
    {"dispatcher % of a core", offsetof(struct sample, util)},
    {"answered median ms", offsetof(struct sample, ans_med)},
    {"answered p99 ms", offsetof(struct sample, ans_p99)},
    {"generator reply median ms", offsetof(struct sample, gen_med)},
    {"generator reply p99 ms", offsetof(struct sample, gen_p99)},
    {"generator CPU us/request", offsetof(struct sample, gen_cpu_us)},
    {"generator wake-ups/request", offsetof(struct sample, gen_wakeups)},
    {"machine busy % of a core", offsetof(struct sample, busy)},
    {"rank 0 items", offsetof(struct sample, master_items)},
    {"nodes with a doorbell", offsetof(struct sample, with_bell)},
    {"dispatcher polls/request", offsetof(struct sample, polls_rq)},
    {"dispatcher rings/request", offsetof(struct sample, rings_rq)},
};
#define NCOLUMNS ((int)(sizeof columns / sizeof columns[0]))

static double column(const struct sample *s, int k)
{
    return *(const double *)((const char *)s + columns[k].off);
}

static void print_summary(const struct sample *all, int rounds, const char *variant, int nodes)
{
    double *x = malloc(sizeof *x * (size_t)rounds);
    if (!x)
        bench_die(BENCH_NAME ": summary");
    printf("#   %-8s", variant);
    char csv[1024];
    int at = snprintf(csv, sizeof csv, "summary,%d,%s", nodes, variant);
    for (int k = 0; k < NCOLUMNS; k++) {
        for (int r = 0; r < rounds; r++)
            x[r] = column(&all[r], k);
        double med, lo, hi;
        bench_spread(x, rounds, &med, &lo, &hi);
        printf("%s %s %.3f (%.3f-%.3f)", k ? ";" : "", columns[k].name, med, lo, hi);
        if (at > 0 && (size_t)at < sizeof csv)
            at += snprintf(csv + at, sizeof csv - (size_t)at, ",%.6g,%.6g,%.6g", med, lo, hi);
    }
    int ok = 1;
    for (int r = 0; r < rounds; r++)
        ok &= all[r].once_ok;
    printf("; every call exactly once: %s\n%s,%s\n", ok ? "yes" : "NO", csv, ok ? "yes" : "NO");
    free(x);
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    setenv("DLP_STATS", "1", 1);
    setenv("DLP_PROGRESS", "0", 1);
    const double seconds = (double)bench_arg_long(argc, argv, 1, 1, 1, 3600);
    const int rounds = (int)bench_arg_long(argc, argv, 2, 3, 1, 100);
    const char *csv_path = argc > 3 ? argv[3] : "bench_capacity_gen.csv";
    long pool_env = 0, chunk = 1;
    if (bench_parse_long(bench_env("ITEM_US", "1000"), 1, 1000000000L, &item_us) != 0 ||
        bench_parse_long(bench_env("CHUNK", "1"), 1, 1000000L, &chunk) != 0 ||
        bench_parse_long(bench_env("POOL", "0"), 0, 1000000L, &pool_env) != 0) {
        fprintf(stderr, "capacity_gen: ITEM_US and CHUNK must be whole numbers >= 1, "
                        "POOL >= 0\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    pool = (int)pool_env;
    /* VARIANT: bells, polling, or both (default; e.g. one alone under perf) */
    const char *which = bench_env("VARIANT", "both");
    const int only = strcmp(which, "bells") == 0 ? 0 : strcmp(which, "polling") == 0 ? 1 : -1;
    const int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    char pooled[32];
    const char *variant[2] = {"bells", "polling"};
    const char *mode[2] = {"tcp", "off"};
    snprintf(pooled, sizeof pooled, "polling-pool%d", pool);
    if (pool > 0)
        variant[1] = pooled;
    dlp_opts opts = DLP_OPTS_INIT;
    opts.schedule = DLP_SCHEDULE_FIXED;
    opts.chunk = chunk;
    struct bench_config c;
    int configured = 0;
    FILE *csv = NULL;
    struct sample *all = calloc((size_t)rounds * 2, sizeof *all);
    if (!all)
        bench_die("capacity_gen: out of memory");
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 2; k++) {
            int v = (r + k) % 2; /* bells first in even rounds */
            if ((pool > 0 || only == 1) && v == 0)
                continue; /* a pool is polled: no doorbells */
            if (only == 0 && v == 1)
                continue;
            setenv("DLP_NODE_DOORBELL", mode[v], 1);
            CHECK(dlp_init(&argc, &argv));
            if (!configured) {
                configured = 1;
                bench_config_init(&c);
                if (c.nodes < 2 || c.ranks != c.nodes) {
                    if (c.master)
                        fprintf(stderr, "capacity_gen: needs two nodes or more, one rank each "
                                        "(e.g. mpiexec -launcher fork -hosts n1:1,n2:1 -n 2)\n");
                    CHECK(dlp_finalize());
                    free(all);
                    MPI_Finalize();
                    return 1;
                }
                if (c.master) {
                    csv = bench_csv_open(csv_path,
                                         "item_us,chunk,round,served,wall_s,rate_per_s,cpu_ms,"
                                         "cpu_us_per_request,dispatcher_core_pct,"
                                         "answered_median_ms,answered_p99_ms,generator_requests,"
                                         "generator_cpu_us_per_request,generator_wakeups_per_"
                                         "request,generator_median_ms,generator_p99_ms,"
                                         "machine_busy_core_pct,rank0_items,nodes_with_bell,"
                                         "exactly_once");
                    int speakers = pool > 0 && pool < c.nodes - 1 ? pool : c.nodes - 1;
                    printf("# dlp_mpi capacity_gen: rank 0 runs the dispatcher, %d remote "
                           "nodes ask back to back from %d generator rank%s (POOL %d); rank "
                           "0's items sleep %ld us, FIXED chunks of %ld, calls of about %.0f "
                           "s (at most %ld items); %d cores; %s\n",
                           c.nodes - 1, speakers, speakers == 1 ? "" : "s", pool, item_us,
                           chunk, seconds, chunk * DLP__MAX_CHUNKS, cores, bench_date());
                    bench_print_config(&c, 0, "", rounds, "");
                    printf("# %-8s %-3s %8s %8s %7s %9s %8s %6s %8s %8s %8s %8s %7s %6s %6s %4s %4s\n",
                           "variant", "rnd", "n", "served", "wall_s", "req/s", "cpu_us/rq",
                           "disp%", "ans_med", "ans_p99", "gen_med", "gen_p99", "gen_us",
                           "busy%", "r0it", "bell", "once");
                }
            }
            /* warm-up: connections, clock sync, the rate for n */
            long n = 1000L * (c.nodes - 1);
            struct sample w = run_call(n, &opts, cores);
            double est = w.rate > 0 ? w.rate * seconds : 0;
            MPI_Bcast(&est, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
            n = est > (double)n ? (long)est : n;
            /* at most DLP__MAX_CHUNKS items: chunks of CHUNK items (a call has at
             * most that many chunks, selfsched.h) */
            n = n > chunk * DLP__MAX_CHUNKS ? chunk * DLP__MAX_CHUNKS : n;
            struct sample m = run_call(n, &opts, cores);
            CHECK(dlp_finalize());
            all[v * rounds + r] = m;
            if (!c.master)
                continue;
            if (m.served != m.gen_requests)
                fprintf(stderr, "capacity_gen: the dispatcher served %.0f requests, the "
                                "generators sent %.0f\n", m.served, m.gen_requests);
            printf("  %-8s %-3d %8.0f %8.0f %7.3f %9.0f %8.2f %6.1f %8.3f %8.3f %8.3f %8.3f "
                   "%7.2f %6.0f %6.0f %4.0f %4s\n",
                   variant[v], r, m.n, m.served, m.wall, m.rate, m.cpu_us, m.util, m.ans_med,
                   m.ans_p99, m.gen_med, m.gen_p99, m.gen_cpu_us, m.busy, m.master_items,
                   m.with_bell, m.once_ok ? "ok" : "NO");
            fflush(stdout);
            if (csv) {
                bench_csv_row(csv, &c, variant[v], n, rounds);
                fprintf(csv,
                        ",%ld,%ld,%d,%.0f,%.6f,%.1f,%.3f,%.3f,%.2f,%.4f,%.4f,%.0f,%.3f,%.3f,%.4f,"
                        "%.4f,%.1f,%.0f,%.0f,%d\n",
                        item_us, chunk, r, m.served, m.wall, m.rate, m.cpu_ms, m.cpu_us, m.util,
                        m.ans_med, m.ans_p99, m.gen_requests, m.gen_cpu_us, m.gen_wakeups,
                        m.gen_med, m.gen_p99, m.busy, m.master_items, m.with_bell, m.once_ok);
            }
        }
    int bad = 0;
    if (c.master) {
        printf("# per variant over %d rounds: median (min-max)\n", rounds);
        for (int v = pool > 0 || only == 1; v < 2 - (only == 0); v++) {
            print_summary(all + (size_t)v * (size_t)rounds, rounds, variant[v], c.nodes);
            for (int r = 0; r < rounds; r++)
                bad |= !all[v * rounds + r].once_ok;
        }
        bench_print_load(&c);
    }
    bench_csv_close(csv, csv_path);
    free(all);
    MPI_Finalize();
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
