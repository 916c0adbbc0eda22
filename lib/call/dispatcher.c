/* The master's dispatcher: a light thread on rank 0 that answers the chunk
 * requests of remote nodes while the master's own team computes. It never
 * blocks in MPI, because MPICH's blocking calls spin a whole core. Nodes
 * with a node doorbell (netbell.h) ring it after each request, and it
 * sleeps until they do (and rings them back after each reply). The others
 * it polls by the forecast of each node's next request (forecast.c): it
 * sleeps until a request is due and then looks often, so it answers
 * promptly and wakes only a few times per request; a wake-up costs
 * O(log nodes) per request window that starts and O(due nodes), not a
 * scan of every node. When the requests load it, it
 * grows the chunk time of the AUTO schedule (chunk_load below). It asks the
 * kernel for short time slices (slice.c), so that its wake-ups preempt the
 * computing team threads. It ends when every remote node has been told
 * that nothing is left. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doorbell.h"
#include "forecast.h"
#include "helper.h"
#include "latency.h"
#include "loop.h"
#include "netbell.h"
#include "runtime.h"
#include "schedule.h"

static void log_chunk(struct dlp__chunk_log *log, long start, long count)
{
    if (log->len == log->cap) {
        long cap = log->cap ? 2 * log->cap : 64;
        void *p = realloc(log->seg, (size_t)cap * sizeof *log->seg);
        if (!p)
            dlp__helper_abort("dispatcher", "out of memory for the chunk log", MPI_SUCCESS);
        log->seg = p;
        log->cap = cap;
    }
    log->seg[log->len][0] = start;
    log->seg[log->len][1] = count;
    log->len++;
}

#define CHECK(call) DLP__HELPER_CHECK("dispatcher", call)

/* The nodes' clock offsets for DLP_STATS (latency.h), kept from call to
 * call, like the agents' times of their last exchange: only a node's first
 * request of the job is not timed. Only the dispatcher uses them, and one
 * runs at a time. */
static struct dlp__clock_sync *node_clocks(int nodes)
{
    static struct dlp__clock_sync *sync;
    static int len;
    if (len != nodes) {
        free(sync);
        sync = malloc(sizeof *sync * (size_t)nodes);
        if (!sync)
            dlp__helper_abort("dispatcher", "out of memory for the node clocks", MPI_SUCCESS);
        len = nodes;
        for (int k = 0; k < nodes; k++)
            sync[k] = (struct dlp__clock_sync)DLP__CLOCK_SYNC_INIT;
    }
    return sync;
}

/* How long to sleep with node doorbells: until a ring, or the forecast of
 * the active nodes without one (those with one are skipped), or the safety
 * net; soon, backing off, when a ring's request has not come yet (the
 * quick phase, netbell.h). */
static unsigned bell_nap(struct dlp__forecast *fc, unsigned *quick)
{
    unsigned nap = dlp__forecast_nap(fc, dlp__now(), dlp__netbell_has, DLP__NETBELL_SAFETY_US);
    unsigned soon = dlp__netbell_quick(quick);
    return soon && soon < nap ? soon : nap;
}

/* What the dispatcher knows of the nodes, for the progress display: kept
 * as running sums, so that a wake-up does not add up every node. */
struct nodes_view {
    long *done;       /* [nodes] items finished, as last reported */
    int *ranks;       /* [nodes] ranks of each node */
    long done_sum;    /* the remote nodes' done */
    int busy_ranks;   /* ranks of the remote nodes still active */
    int busy_nodes;   /* remote nodes still active */
};

static void feed_progress(struct dlp_loop *L, const struct nodes_view *v)
{
    const struct dlp__runtime *rt = &dlp__rt;
    const struct dlp__cursor *c = L->cursor;
    long done = dlp__cursor_done(c, L->node_threads);
    int ended = atomic_load_explicit(&c->ended, memory_order_relaxed);
    int busy_ranks = rt->node_size - ended + v->busy_ranks;
    int busy_nodes = (ended < rt->node_size) + v->busy_nodes;
    done += v->done_sum;
    /* tickets are the items run; the journal's done items count from the
     * start (a resumed call hands out only the others) */
    done += L->progress.base;
    done = done < L->n ? done : L->n;
    dlp__progress_update(&L->progress, done, busy_ranks, rt->size, busy_nodes, rt->nodes,
                         dlp__now());
}

/* The load the remote nodes' requests put on the dispatcher, measured over
 * windows of WINDOW seconds: its CPU time per request served is its service
 * time, from which AUTO's chunk time grows (dlp__schedule_chunk_time) unless
 * the user set DLP_CHUNK_TIME. One CPU clock read per window. Test hook
 * (internal, tests/CMakeLists.txt): DLP__TEST_SERVICE_US=<us> stands in for
 * the measured service time, so that a test at a few emulated nodes sees
 * the chunk time grow. */
#define WINDOW 0.05
struct chunk_load {
    double base;      /* DLP_CHUNK_TIME or the default */
    int fixed;        /* the user set it: never grown */
    double next;      /* dlp__now() of the window's end */
    double cpu;       /* the thread's CPU seconds at the window's start (-1: the
                         first window has not started) */
    long served;      /* requests served at the window's start */
    double forced;    /* the test hook's service time (0: measure) */
    double now;       /* the chunk time in force */
    double max;       /* the largest of the call, for DLP_STATS */
    double asked;     /* the largest the load asked for, for DLP_STATS */
};

static double thread_cpu(void)
{
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) != 0)
        return -1;
    return (double)cpu.tv_sec + 1e-9 * (double)cpu.tv_nsec;
}

static void chunk_load_start(struct chunk_load *cl, const struct dlp_loop *L, double now)
{
    const char *hook = getenv("DLP__TEST_SERVICE_US");
    double forced = hook && *hook ? 1e-6 * strtod(hook, NULL) : 0;
    *cl = (struct chunk_load){.base = L->o.chunk_time, .fixed = L->o.chunk_time_set,
                              .next = now + WINDOW, .cpu = -1, .served = 0,
                              .forced = forced > 0 ? forced : 0,
                              .now = L->o.chunk_time, .max = L->o.chunk_time,
                              .asked = L->o.chunk_time};
}

/* At a window's end: the service time it measured, and the chunk time that
 * keeps the dispatcher at most DLP__LOAD_TARGET busy, given to the
 * dispenser when it changed. */
static void chunk_load_update(struct chunk_load *cl, struct dlp_loop *L, double now,
                              long served)
{
    if (now < cl->next)
        return;
    double cpu = thread_cpu();
    long n = served - cl->served;
    /* (the first window starts at the first end: a call shorter than
     * WINDOW reads no CPU clock, a system call on some virtual machines) */
    if (n > 0 && cpu >= 0 && cl->cpu >= 0) {
        double service = cl->forced > 0 ? cl->forced : (cpu - cl->cpu) / (double)n;
        double t = dlp__schedule_chunk_time(cl->base, 0, dlp__rt.nodes - 1, service);
        cl->asked = t > cl->asked ? t : cl->asked;
        if (cl->fixed)
            t = cl->base;
        if (t != cl->now) {
            dlp__dispenser_set_chunk_time(L->disp, t);
            cl->now = t;
            cl->max = t > cl->max ? t : cl->max;
        }
    }
    cl->next = now + WINDOW;
    cl->cpu = cpu;
    cl->served = served;
}

/* The dispatcher's state, on its stack: a struct so that each step below
 * is a static function of its own (called once, inlined). */
struct dispatcher {
    struct dlp_loop *L;
    int nodes;
    int remaining_nodes;   /* remote nodes not yet told that nothing is left */
    struct dlp__forecast fc;
    char *active;          /* [nodes] still asking */
    struct nodes_view view;
    int feed;              /* feeds the progress display */
    struct dlp__request rq;
    MPI_Request handle;
    long served, polls, rings;
    int bells;             /* remote nodes with a doorbell */
    unsigned quick;        /* the quick phase after a ring (netbell.h) */
    double t0;
    double cpu0;           /* DLP_STATS: the thread's CPU time at the call's start (it
                              lives from call to call, helper.c) */
    double drained;        /* dlp__now() when it saw the master's team done, 0 */
    struct chunk_load load;
    int timing;            /* DLP_STATS */
    struct dlp__latencies lat;
    struct dlp__clock_sync *sync;
};

static void dispatcher_open(struct dispatcher *d, struct dlp_loop *L)
{
    dlp__helper_slice(L->o.helper_slice);
    int nodes = dlp__rt.nodes;
    *d = (struct dispatcher){.L = L, .nodes = nodes, .remaining_nodes = nodes - 1,
                             .handle = MPI_REQUEST_NULL, .bells = dlp__netbell_count()};
    d->active = malloc((size_t)nodes);
    if (dlp__forecast_init(&d->fc, nodes, dlp__now()) != 0 || !d->active)
        dlp__helper_abort("dispatcher", "out of memory for the node table", MPI_SUCCESS);
    memset(d->active, 1, (size_t)nodes);
    d->view = (struct nodes_view){calloc((size_t)nodes, sizeof(long)),
                                  calloc((size_t)nodes, sizeof(int)), 0, 0, nodes - 1};
    if (!d->view.done || !d->view.ranks)
        dlp__helper_abort("dispatcher", "out of memory for the node table", MPI_SUCCESS);
    for (int r = 0; r < dlp__rt.size; r++)
        d->view.ranks[dlp__rt.node_of_rank[r]]++;
    d->view.busy_ranks = dlp__rt.size - d->view.ranks[0];
    /* with a single node the thread only feeds the progress display */
    d->feed = L->progress.active && !L->progress_by_map;
    d->t0 = dlp__now();
    chunk_load_start(&d->load, L, d->t0);
    d->timing = L->o.stats;
    d->cpu0 = d->timing ? thread_cpu() : 0;
    d->lat = (struct dlp__latencies){NULL, 0, 0};
    d->sync = d->timing ? node_clocks(nodes) : NULL;
}

/* Every remote node is done: only the progress display is fed, until the
 * main thread rings at the end. */
static void progress_only_wait(struct dlp_loop *L)
{
    dlp__doorbell_arm(&L->helper_bell);
    if (atomic_load(&L->draining))
        dlp__doorbell_disarm(&L->helper_bell);
    else
        dlp__doorbell_wait(&L->helper_bell, DLP__PROGRESS_TICK_US);
}

/* Posts the receive of the next request if none is posted, and tests it:
 * 1 when a request has come (in d->rq, its sender in *st). */
static int poll_request(struct dispatcher *d, MPI_Status *st)
{
    if (d->handle == MPI_REQUEST_NULL)
        CHECK(MPI_Irecv(&d->rq, (int)sizeof d->rq, MPI_BYTE, MPI_ANY_SOURCE, DLP__TAG_REQUEST,
                        dlp__rt.comm, &d->handle));
    int flag = 0;
    CHECK(MPI_Test(&d->handle, &flag, st));
    d->polls++;
    chunk_load_update(&d->load, d->L, dlp__now(), d->served);
    return flag;
}

/* No request yet, with node doorbells: sleep until a node or the main
 * thread rings. */
static void sleep_on_bells(struct dispatcher *d)
{
    long rung = dlp__netbell_wait_master(d->active, bell_nap(&d->fc, &d->quick));
    if (rung > 0)
        d->quick = DLP__NETBELL_QUICK_MIN_US;
    d->rings += rung;
}

/* No request yet, without node doorbells: sleep until the forecast's next
 * request. The master's main thread rings when its own team is done (the
 * dispenser may have changed): then look again at once. */
static void sleep_on_forecast(struct dispatcher *d)
{
    struct dlp_loop *L = d->L;
    int draining = atomic_load(&L->draining);
    unsigned nap = dlp__forecast_nap(&d->fc, dlp__now(), NULL, DLP__FORECAST_IDLE_MAX_US);
    dlp__doorbell_arm(&L->helper_bell);
    if (!draining && atomic_load(&L->draining))
        dlp__doorbell_disarm(&L->helper_bell);
    else
        dlp__doorbell_wait(&L->helper_bell, nap);
}

/* The master's own team is done and its main thread waits for this one:
 * the requests left (a node's last, answered with nothing) are looked for
 * in a loop, yielding the core, for DLP__DISPATCHER_SPIN seconds before
 * sleeping again: a sleep would add a wake-up's latency to every node's
 * end. 1 while that lasts. */
static int drain_spin(struct dispatcher *d)
{
    if (!atomic_load_explicit(&d->L->draining, memory_order_relaxed))
        return 0;
    double now = dlp__now();
    if (d->drained == 0)
        d->drained = now;
    return now - d->drained < DLP__DISPATCHER_SPIN;
}

/* A request of another call or from no remote node is a bug: abort. */
static void check_request(const struct dispatcher *d, const MPI_Status *st)
{
    const struct dlp__request *rq = &d->rq;
    if (rq->seq != d->L->seq || rq->node <= 0 || rq->node >= d->nodes) {
        char what[160];
        snprintf(what, sizeof what, "request from rank %d for call %lu node %d during call %lu",
                 st->MPI_SOURCE, rq->seq, rq->node, d->L->seq);
        dlp__helper_abort("dispatcher", what, MPI_SUCCESS);
    }
}

/* The answer to the request: the node's next chunk from the dispenser
 * (none when the node leaves or nothing is left). */
static struct dlp__reply next_reply(struct dispatcher *d)
{
    struct dlp_loop *L = d->L;
    const struct dlp__request *rq = &d->rq;
    d->quick = 0;
    if (d->timing)
        dlp__clock_sync_request(&d->sync[rq->node], dlp__now(), rq->prev_sent, rq->prev_taken);
    if (rq->stop)
        dlp__dispenser_stop(L->disp);
    struct dlp__reply rep = {.seq = L->seq, .start = 0, .count = 0, .left = 0};
    if (!rq->leave)
        rep.count = dlp__dispenser_next(L->disp, L->journaled ? &L->journal.skip : NULL,
                                        L->threads_of_node[rq->node], L->total_threads,
                                        rq->rate, &rep.start, &rep.left);
    return rep;
}

/* What the request and its reply tell of the node: its items done, its
 * chunk (logged, and its next request forecast), or that it is done. */
static void note_reply(struct dispatcher *d, const struct dlp__reply *rep)
{
    const struct dlp__request *rq = &d->rq;
    struct nodes_view *v = &d->view;
    if (rq->done > v->done[rq->node]) {
        v->done_sum += rq->done - v->done[rq->node];
        v->done[rq->node] = rq->done;
    }
    if (rep->count > 0) {
        if (d->L->o.results) /* (only dense results read the log, results.c) */
            log_chunk(&d->L->logs[rq->node], rep->start, rep->count);
        dlp__forecast_answered(&d->fc, rq->node, dlp__now(), rep->count, rq->rate,
                               rq->unclaimed, rq->low);
        return;
    }
    d->remaining_nodes--;
    if (d->active[rq->node]) {
        v->busy_ranks -= v->ranks[rq->node];
        v->busy_nodes--;
    }
    d->active[rq->node] = 0;
    dlp__forecast_drop(&d->fc, rq->node);
}

/* Sends the reply, times it for DLP_STATS, rings the node's doorbell. */
static void send_reply(struct dispatcher *d, const struct dlp__reply *rep, const MPI_Status *st)
{
    int node = d->rq.node;
    CHECK(MPI_Send(rep, (int)sizeof *rep, MPI_BYTE, st->MPI_SOURCE, DLP__TAG_REPLY,
                   dlp__rt.comm));
    double took;
    if (d->timing && /* answered: the reply is on its way */
        dlp__clock_sync_answered(&d->sync[node], dlp__now(), d->rq.sent, &took))
        dlp__latency_note(&d->lat, took);
    dlp__netbell_ring_node(node);
    d->served++;
}

/* DLP_STATS: one line on stderr of what the dispatcher did. */
static void print_stats(struct dispatcher *d)
{
    const struct chunk_load *load = &d->load;
    double used = thread_cpu() - d->cpu0, wall = dlp__now() - d->t0;
    double med, p99, max;
    dlp__latency_summary(&d->lat, &med, &p99, &max);
    char chunk[160];
    if (load->fixed)
        snprintf(chunk, sizeof chunk,
                 "chunk time %.0f ms set by DLP_CHUNK_TIME (the load asked for up to %.0f ms)",
                 1e3 * load->base, 1e3 * load->asked);
    else
        snprintf(chunk, sizeof chunk, "chunk time %.0f ms, grown by the load to at most %.0f ms",
                 1e3 * load->base, 1e3 * load->max);
    fprintf(stderr,
            "dlp_mpi: dispatcher served %ld requests of %d remote nodes in %.3f s with %ld "
            "polls and %ld doorbell rings (%d of %d nodes have a doorbell), using %.3f ms "
            "of CPU (%.2f%% of a core); request sent -> answered (rank 0's clock) median "
            "%.3f ms, p99 %.3f ms, max %.3f ms; %s\n",
            d->served, dlp__rt.nodes - 1, wall, d->polls, d->rings, d->bells, dlp__rt.nodes - 1,
            1e3 * used, 100.0 * used / (wall > 0 ? wall : 1), med, p99, max, chunk);
    dlp__latency_free(&d->lat);
}

static void dispatcher_close(struct dispatcher *d)
{
    dlp__forecast_free(&d->fc);
    free(d->active);
    free(d->view.done);
    free(d->view.ranks);
    if (d->timing)
        print_stats(d);
}

void *dlp__dispatcher_main(void *arg)
{
    struct dispatcher d;
    dispatcher_open(&d, arg);
    struct dlp_loop *L = d.L;
    while (d.remaining_nodes > 0 || (d.feed && !atomic_load(&L->draining))) {
        if (d.feed)
            feed_progress(L, &d.view);
        if (d.remaining_nodes == 0) {
            progress_only_wait(L);
            continue;
        }
        MPI_Status st;
        if (!poll_request(&d, &st)) {
            if (drain_spin(&d))
                sched_yield();
            else if (d.bells)
                sleep_on_bells(&d);
            else
                sleep_on_forecast(&d);
            continue;
        }
        check_request(&d, &st);
        struct dlp__reply rep = next_reply(&d);
        note_reply(&d, &rep);
        send_reply(&d, &rep, &st);
    }
    dispatcher_close(&d);
    return NULL;
}
