/* A remote node's agent: a light thread on the node leader that keeps the
 * node's cursor supplied. When the unclaimed items fall to the low-water
 * mark (or a thread waits, or the node stopped after a failure) it asks
 * the master for the next chunk, with the node's measured rate; at most
 * one request is in flight, and it rings the master over the node doorbell
 * (netbell.h) when it has one. In between it sleeps on the cursor's
 * doorbell, which the team threads ring, so it costs no CPU while the node
 * computes; waiting for a reply it sleeps until the master rings (with a
 * node doorbell) or polls with a backoff (without). It ends when the
 * master answers that nothing is left. A call's first request (the
 * cursor is empty) is sent by the leader's calling thread before the
 * helper thread wakes, and a team thread of the leader that waits for a
 * chunk takes a reply that came itself: the helper's wake-ups are then
 * off the team's path. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "doorbell.h"
#include "helper.h"
#include "latency.h"
#include "loop.h"
#include "netbell.h"
#include "runtime.h"
#include "spinlock.h"

#define CHECK(call) DLP__HELPER_CHECK("node agent", call)

/* Does a team thread wait for items? Its flag alone can be stale: a thread
 * may raise it just after the agent cleared it for the chunk that thread
 * then takes; a waiting thread also means nothing is left unclaimed. */
static int thread_waits(const struct dlp__cursor *c)
{
    return atomic_load_explicit(&c->want, memory_order_relaxed) &&
           dlp__cursor_unclaimed(c) == 0;
}

/* Seconds of work the node holds at rate (0 = unknown, or a thread waits):
 * its unclaimed items and, on average, half an item per thread in flight. */
static double reserve_seconds(const struct dlp__cursor *c, int threads, double rate)
{
    if (!(rate > 0) || thread_waits(c))
        return 0.0;
    return ((double)dlp__cursor_unclaimed(c) + 0.5 * threads) / rate;
}

/* Does the node need its next chunk (or must the master learn something)? */
static inline int must_ask(const struct dlp__cursor *c, int *stop, int *leave)
{
    *stop = atomic_load_explicit(&c->stop, memory_order_relaxed);
    /* all ranks of the node left the loop (some thread stopped calling
     * dlp_loop_next early): nobody will take more */
    *leave = atomic_load(&c->ended) == dlp__rt.node_size;
    /* (the mark is -1 at the end of a call: ask when a thread waits) */
    return *stop || *leave || thread_waits(c) ||
           dlp__cursor_unclaimed(c) <= atomic_load_explicit(&c->low, memory_order_relaxed);
}

/* Up to DLP__TRACE_AGENT_LINES nodes a line of its own; above, the
 * figures go to the master's one line (trace.h). */
static void print_latencies(struct dlp__latencies *l, struct dlp_loop *L)
{
    double med, p99, max;
    long k = dlp__latency_summary(l, &med, &p99, &max);
    if (k > 0 && dlp__rt.nodes > dlp__trace_agent_lines()) {
        L->agent_stats[0] = (double)k;
        L->agent_stats[1] = med;
        L->agent_stats[2] = p99;
        L->agent_stats[3] = max;
    } else if (k > 0)
        fprintf(stderr,
                "dlp_mpi: node %d's agent (rank %d, host %s), call #%lu: %ld chunk requests, "
                "reply latency median %.3f ms, p99 %.3f ms, max %.3f ms\n",
                dlp__rt.node, dlp__rt.rank, dlp__rt.host, L->seq, k, med, p99, max);
    dlp__latency_free(l);
}

/* For DLP_STATS: this node's last request, on its own clock, kept from
 * call to call (the dispatcher learns the clocks' offset from it,
 * latency.h); one agent runs at a time. */
static double prev_sent, prev_taken;

/* The agent's state, on its stack: a struct so that each step below is a
 * static function of its own (called once, inlined). */
struct agent {
    struct dlp_loop *L;
    struct dlp__cursor *c;
    unsigned backoff;     /* the next poll's nap, without a node doorbell */
    MPI_Request handle;   /* the reply's receive, while a request is in flight */
    struct dlp__reply rep;
    struct dlp__latencies lat;
    int timing;           /* DLP_STATS */
    double asked;         /* dlp__now() of the request in flight */
    double skew;          /* the test hook's clock skew */
    unsigned first_look;  /* adapts to the replies */
    unsigned quick;       /* the quick phase after a ring (netbell.h) */
};

static void agent_open(struct agent *a, struct dlp_loop *L)
{
    int timing = L->o.stats;
    /* test hook (internal, tests/doorbell.sh): DLP__TEST_CLOCK_SKEW=S
     * seconds added to the times this agent sends for DLP_STATS, as if its
     * host had booted S seconds earlier than the master's */
    const char *skew_env = timing ? getenv("DLP__TEST_CLOCK_SKEW") : NULL;
    *a = (struct agent){.L = L,
                        .c = L->cursor,
                        .backoff = DLP__POLL_MIN_US,
                        .handle = MPI_REQUEST_NULL,
                        .lat = {NULL, 0, 0},
                        .timing = timing,
                        .asked = 0,
                        .skew = skew_env ? strtod(skew_env, NULL) : 0,
                        .first_look = DLP__AGENT_FIRST_LOOK_US,
                        .quick = 0};
}

/* Sleep until a team thread rings (it took an item at the low-water mark,
 * waits, failed or left); the timeout only guards against the unforeseen. */
static void sleep_on_cursor(struct dlp__cursor *c)
{
    int stop, leave;
    dlp__doorbell_arm(&c->bell);
    if (must_ask(c, &stop, &leave))
        dlp__doorbell_disarm(&c->bell);
    else
        dlp__doorbell_wait(&c->bell, DLP__AGENT_NAP_US);
}

/* Asks the master for the next chunk: posts the reply's receive, sends the
 * request and rings the master. */
static void send_request(struct agent *a, int stop, int leave)
{
    struct dlp_loop *L = a->L;
    struct dlp__cursor *c = a->c;
    double rate = dlp__cursor_rate(c, L->node_threads, dlp__now());
    struct dlp__request rq = {.seq = L->seq,
                              .node = dlp__rt.node,
                              .stop = stop,
                              .leave = leave,
                              .rate = rate,
                              .done = dlp__cursor_done(c, L->node_threads),
                              .unclaimed = dlp__cursor_unclaimed(c),
                              .low = atomic_load_explicit(&c->low, memory_order_relaxed)};
    CHECK(MPI_Irecv(&a->rep, (int)sizeof a->rep, MPI_BYTE, 0, DLP__TAG_REPLY, dlp__rt.comm,
                    &a->handle));
    a->asked = dlp__now();
    rq.sent = a->asked + a->skew;
    rq.prev_sent = prev_sent;
    rq.prev_taken = prev_taken;
    prev_sent = rq.sent;
    prev_taken = 0;
    CHECK(MPI_Send(&rq, (int)sizeof rq, MPI_BYTE, 0, DLP__TAG_REQUEST, dlp__rt.comm));
    dlp__netbell_ring_master();
    a->backoff = a->first_look;
    a->quick = 0;
}

/* The reply has come: its time noted, its chunk given to the cursor with
 * the new low-water mark. Returns 1 when nothing is left (the cursor is
 * closed), else 0. */
static int take_reply(struct agent *a)
{
    struct dlp_loop *L = a->L;
    struct dlp__cursor *c = a->c;
    const struct dlp__reply *rep = &a->rep;
    double taken = dlp__now(), took = taken - a->asked;
    prev_taken = taken + a->skew;
    if (a->timing)
        dlp__latency_note(&a->lat, took);
    /* look first at about when the last reply came: one wake-up per
     * request when the master answers steadily (each costs the team
     * threads CPU: bench/dispatcher measures it) */
    double us = 0.8e6 * took;
    a->first_look = us < DLP__AGENT_FIRST_LOOK_US ? DLP__AGENT_FIRST_LOOK_US
                    : us > DLP__POLL_MAX_US       ? DLP__POLL_MAX_US
                                                  : (unsigned)us;
    if (rep->seq != L->seq)
        dlp__helper_abort("node agent", "reply for another call", MPI_SUCCESS);
    if (rep->count == 0) {
        dlp__cursor_close(c);
        if (a->timing)
            print_latencies(&a->lat, L);
        return 1;
    }
    if (atomic_load_explicit(&c->nchunks, memory_order_relaxed) == 0)
        c->t0 = dlp__now(); /* the rate counts from the node's first chunk */
    if (dlp__cursor_append(c, rep->start, rep->count) != 0)
        dlp__helper_abort("node agent", "chunk table full", MPI_SUCCESS);
    atomic_store_explicit(&c->want, 0, memory_order_relaxed);
    double rate = dlp__cursor_rate(c, L->node_threads, dlp__now());
    atomic_store_explicit(&c->low,
                          dlp__schedule_low_water(L->node_threads, rate, dlp__netbell_agent_has(),
                                                  rep->left, L->total_threads),
                          memory_order_relaxed);
    return 0;
}

/* The master rings when it has answered: sleep until then (the timeout is
 * a safety net); a ring whose reply has not come yet is looked for again
 * soon. */
static void wait_reply_bell(struct agent *a)
{
    unsigned soon = dlp__netbell_quick(&a->quick);
    if (dlp__netbell_wait_agent(soon ? soon : DLP__NETBELL_SAFETY_US) > 0)
        a->quick = DLP__NETBELL_QUICK_MIN_US;
}

/* Without a node doorbell, a request is in flight: the master answers
 * within its own poll interval; no need to look much more often than the
 * node's reserve requires, unless a thread already waits. */
static void wait_reply_poll(struct agent *a)
{
    struct dlp__cursor *c = a->c;
    int threads = a->L->node_threads;
    unsigned cap = thread_waits(c) ? DLP__POLL_URGENT_US
                                   : dlp__poll_cap(reserve_seconds(
                                         c, threads, dlp__cursor_rate(c, threads, dlp__now())));
    dlp__sleep_us(a->backoff < cap ? a->backoff : cap);
    /* grow by half: doubling overshoots a reply that comes a little
     * later than the last one by up to the whole last nap */
    a->backoff = a->backoff + a->backoff / 2 > cap ? cap : a->backoff + a->backoff / 2;
}

/* The call's agent: one at a time per process, set up by the calling
 * thread (dlp__agent_start), run by the helper thread; the request in
 * flight and the reply are taken under `lock`, by the helper or by a team
 * thread of this process that waits for the reply (dlp__agent_help). */
static struct agent the_agent;
static _Atomic int lock;
static _Atomic int finished; /* the last reply was taken (set under the lock) */

/* Tests the reply of the request in flight and takes it when it came
 * (the waiting team threads are let in: they take the chunk, or learn the
 * end); 1 when it was the last. Under the lock, a request in flight. */
static int test_reply(struct agent *a)
{
    int flag = 0;
    CHECK(MPI_Test(&a->handle, &flag, MPI_STATUS_IGNORE));
    if (!flag)
        return 0;
    finished = take_reply(a);
    dlp__gate_open(&a->c->gate, &a->c->sleepers);
    return finished;
}

void dlp__agent_help(const struct dlp_loop *L)
{
    if (!dlp__spin_trylock(&lock))
        return; /* the helper is at it */
    if (the_agent.L == L && !finished && the_agent.handle != MPI_REQUEST_NULL)
        test_reply(&the_agent);
    dlp__spin_unlock(&lock);
}

/* Asks the master when the node must ask (stop: the waiting team threads
 * stop waiting first). */
static void ask_if_due(struct agent *a)
{
    int stop, leave;
    if (!must_ask(a->c, &stop, &leave))
        return;
    if (stop)
        dlp__gate_open(&a->c->gate, &a->c->sleepers);
    send_request(a, stop, leave);
}

int dlp__agent_start(struct dlp_loop *L)
{
    agent_open(&the_agent, L);
    finished = 0;
    /* The node's first request goes out from here, before the helper is
     * woken: its cursor is empty, and the helper's wake-up would be on the
     * path of every call's first items (and all of a small call's). */
    ask_if_due(&the_agent);
    return dlp__helper_run(L, dlp__agent_main);
}

/* (arg: the call, as dlp__agent_start set up; the helper body's type) */
/* cppcheck-suppress constParameter */
void *dlp__agent_main(void *arg)
{
    struct agent *a = &the_agent;
    if (a->L != arg)
        dlp__helper_abort("node agent", "started for another call", MPI_SUCCESS);
    dlp__helper_slice(a->L->o.helper_slice);
    for (;;) {
        dlp__spin_lock(&lock);
        if (!finished && a->handle == MPI_REQUEST_NULL)
            ask_if_due(a);
        int asked = a->handle != MPI_REQUEST_NULL;
        if (asked)
            test_reply(a);
        int in_flight = a->handle != MPI_REQUEST_NULL;
        dlp__spin_unlock(&lock);
        if (finished) /* here or by a team thread */
            return NULL;
        if (!asked) {
            sleep_on_cursor(a->c);
            continue;
        }
        if (!in_flight) /* a chunk came */
            continue;
        if (thread_waits(a->c) && dlp__now() - a->asked < DLP__AGENT_SPIN)
            sched_yield(); /* the node's threads wait: the reply is all that counts */
        else if (dlp__netbell_agent_has())
            wait_reply_bell(a);
        else
            wait_reply_poll(a);
    }
}
