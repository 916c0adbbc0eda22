/* A parallel call in progress: what dlp_loop_begin() sets up and
 * dlp_loop_end() takes down; the callback forms use the same machinery.
 * The struct and the call's interface; the code, by job: handshake.c (the
 * set-up's agreement), call.c (set-up and end), call_features.c (the optional
 * per-call features), take.c (the per-thread hot path), stop.c (failures,
 * misuse, stop messages), outcome.c (the end's agreement), loop_api.c
 * (the public loop form). */
#ifndef DLP_LIB_LOOP_H
#define DLP_LIB_LOOP_H

#include <pthread.h>

#include "cursor.h"
#include "dispenser.h"
#include "failures.h"
#include "fatal.h"
#include "journal.h"
#include "nested.h"
#include "node_region.h"
#include "trace.h"
#include "options.h"
#include "watchdog.h"
#include "progress.h"
#include "tags.h"

/* Chunks handed to one remote node (kept on the master for the results). */
struct dlp__chunk_log {
    long (*seg)[2]; /* {start, count} */
    long len, cap;
};

struct dlp_loop {
    unsigned long seq;           /* call number, same on every rank */
    const char *func;            /* public function name for messages */
    long n;
    struct dlp__options o;
    int managed;
    struct dlp__cursor *cursor;  /* node cursor (managed) or rr_cursor */
    struct dlp__cursor *rr_cursor;
    struct dlp__dispenser *disp; /* on the master's node, else NULL */
    int node_threads;            /* threads on this node */
    int total_threads;           /* threads on all ranks */
    double t_agreed;             /* dlp__now() when the handshake completed here */
    int *threads_of_node;        /* [nodes] */
    int has_helper;              /* the helper thread (helper.h) runs this call's
                                    dispatcher (master) or agent (remote leader) */
    _Atomic int draining;        /* master: its own team is done (dispatcher polls fast) */
    _Atomic int helper_bell;     /* master: wakes the dispatcher (doorbell.h) */
    struct dlp__chunk_log *logs; /* [nodes], master only */
    struct dlp__failures failures; /* this rank's failed items */
    struct dlp__watchdog watch;  /* per-item time limit (opts.time_limit) */
    int watching;
    int catching;                /* SIGTERM/SIGINT are caught (signals.h) */
    int loop_form;               /* dlp_loop_begin / dlp_map_begin */
    _Atomic int form;            /* dlp_loop_begin: 0 until a thread takes, then
                                    1 (dlp_loop_next) or 2 (dlp_loop_next_range) */
    /* master: the progress display, fed by one helper thread (the map's
     * consumer, else the dispatcher), ended by the main thread */
    struct dlp__progress progress;
    int progress_by_map;         /* the map's consumer feeds it */
    struct dlp__journal journal; /* opts.journal */
    int journaled;
    int done_by_take;            /* an item is done when its thread takes the next
                                    (callback and loop forms), else when the map's
                                    master consumed it */
    _Atomic long completed;      /* items this rank completed (done_by_take) or the
                                    master consumed (map) */
    int retry_round;             /* RETRY: rounds so far (retry.h) */
    long (*retry_origin)[2];     /* RETRY: {item, rank that failed it first}, by item */
    long retry_origins;
    /* round robin: a rank that stops tells every other rank, whose threads
     * look for such a message every DLP__STOP_PROBE seconds */
    int stop_messages;           /* round robin under on_error = abort, > 1 rank */
    MPI_Request *stop_sent;      /* [size] once this rank sent them, else NULL */
    _Atomic int stopping;        /* this rank sent them */
    _Atomic int probing;         /* a thread is looking */
    _Atomic double next_probe;   /* dlp__now_coarse() of the next look */
    unsigned long stop_word;     /* what is sent */
    struct dlp__trace trace;     /* DLP_TRACE / DLP_STATS */
    int tracing;                 /* 0, or the bits DLP__TRACING_* (handshake.h) */
    const char *trace_path;      /* master: DLP_TRACE */
    double agent_stats[4];       /* DLP_STATS above DLP__TRACE_AGENT_LINES nodes: the
                                    node agent's requests, latency median, p99, max
                                    (ms) for the master's line (trace.h) */
    struct dlp__nested nested;   /* the size of the items' own OpenMP regions */
    /* misuse from an item's thread (dlp__loop_misuse): fails the call on
     * every rank whatever on_error says */
    _Atomic int misuse_claimed;  /* the first misuse is recorded */
    int misuse;                  /* its DLP_ERR code, or 0 */
    char misuse_msg[640];        /* its report (where: rank, thread, host) */
    /* the end's agreement: every rank's outcome, and with a small built-in
     * reduction its value (reduce_packed bytes of it; 0: none) */
    long *outcome;               /* [size * (OUTCOME_WORDS + reduce_packed / 8)] or NULL */
    size_t reduce_packed;
};

/* Per-thread position in the chunk table. */
struct dlp__pos {
    unsigned long seq;
    int j;
    struct dlp__watch_slot *slot; /* time limit: this thread's slot, or NULL */
    long next, end;               /* tickets claimed in one go, not yet taken */
    long batch;                   /* tickets of the last claim */
    int quiet;                    /* claims left before the next timing */
    double claimed_at;            /* dlp__now() of the last timed claim, 0 = none */
    long cur;                     /* item taken and not yet done, or -1 */
    long completed;               /* items this thread completed in the call */
    long hint;                    /* position in the journal's done ranges */
    struct dlp__jslot *js;        /* the journal's buffer of this thread, or NULL */
    struct dlp__trace_thread *tracer; /* DLP_TRACE / DLP_STATS: this thread's spans */
    long claimed;                 /* thread-level policy: tickets claimed so far ... */
    double first_claim;           /* ... since dlp__now() of the first (AWF's rate) */
    /* the range form (dlp_loop_next_range): the batch handed out last */
    int ranged;                   /* the thread takes batches: claims sized for them */
    long rfirst, rcount, rstride; /* its items rfirst + m * rstride, m < rcount */
    long rfailed;                 /* ... of which dlp_loop_fail() failed this many */
    long rlastfail;               /* the last one failed (-1: none) */
};
#define DLP__POS_INIT                                                        \
    {0, 0, NULL, 0, 0, 0, 0, 0.0, -1, 0, 0, NULL, NULL, 0, 0.0, 0, 0, 0, 1, 0, -1}

/** A thread claims this many tickets in one atomic add at most: cheap items
 *  are claimed in batches (see claim_size() in take.c). */
#define DLP__BATCH_MAX 256
/** Seconds of work a batch of claimed tickets may hold. */
#define DLP__BATCH_TIME 2e-6
/** The same for the range form (dlp_loop_next_range), whose batch costs
 *  the thread one claim and one hand-over, not one per item: larger, so
 *  that the per-batch cost is amortised over cheap items, and still short
 *  next to a call's items (the guided bound of claim_size() keeps the
 *  threads' ends together). */
#define DLP__RANGE_TIME 50e-6
#define DLP__RANGE_MAX (1L << 20)

/** Free the loop state and cursor kept for the next call (call.c).
 *  Main thread, in dlp_finalize, after the last call. */
void dlp__loop_release(void);

/** Set up a call (collective). A non-NULL bad_arg (the message, e.g. "body
 *  is NULL") makes it a DLP_ERR_ARG on that rank, reported everywhere. */
int dlp__loop_begin(struct dlp_loop **out, long n, const dlp_opts *opts, int split,
                    const char *bad_arg, const char *func);

/** Like dlp__loop_begin() for dlp_map_unordered (its consumer thread feeds
 *  the progress display). */
int dlp__loop_begin_map(struct dlp_loop **out, long n, const dlp_opts *opts,
                        const char *bad_arg, int loop_form, const char *func);


/** Take the calling thread's next item; 0 when there is none. */
int dlp__loop_take(struct dlp_loop *L, struct dlp__pos *pos, long *item);

/** The calling thread runs no item any more (it left its loop, or waits for
 *  something else than its item): the time limit stops watching it. */
static inline void dlp__loop_idle(struct dlp__pos *pos)
{
    if (pos->slot)
        dlp__watch_item(pos->slot, -1, 0);
}

/** The calling thread leaves the call's items (its last one is done unless
 *  it failed): its counts and journal buffer go to the rank. */
void dlp__loop_leave(struct dlp_loop *L, struct dlp__pos *pos);

/** Item i is done (outside the take: the map's consumer, retry rounds):
 *  counted, and noted for the journal in *js (claimed when NULL). */
void dlp__loop_done(struct dlp_loop *L, struct dlp__jslot **js, long i);

/** dlp__loop_done() in two parts, for a caller that counts its items
 *  itself and adds them up once (the map's consumer: no atomic add per
 *  result): the journal's note of item i, and the count of items. */
void dlp__loop_noted(struct dlp_loop *L, struct dlp__jslot **js, long i);
void dlp__loop_count(struct dlp_loop *L, long items);

/** Record a failure of item (thread = omp thread number, -1 outside the
 *  team); with on_error = abort also stop the loop everywhere. */
void dlp__loop_failure(struct dlp_loop *L, long item, int thread, int code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** Record a failure of item with its message as is, and value: the body's,
 *  work function's or callback's non-zero return value (0: none). */
void dlp__loop_item_failure(struct dlp_loop *L, long item, int thread, int code, int value,
                            const char *msg);

/** dlp_item_fail() in the loop form: fail the item the calling thread took
 *  with dlp_loop_next() (as dlp_loop_fail() does). DLP_ERR_STATE (nothing
 *  recorded) when no loop of dlp_loop_begin() runs or the thread holds no
 *  item of it. */
int dlp__loop_fail_current(const char *msg);

/** Stop handing out work, on this rank's node and (through the master)
 *  everywhere. Any thread. */
void dlp__loop_stop(struct dlp_loop *L);

/** The call running on this rank, from the end of its set-up to the start
 *  of its end, else NULL. Any thread. */
struct dlp_loop *dlp__loop_running(void);

/** The calling thread hands the map's results out on the master (on = 1:
 *  the consumer thread, the thread of a dlp_map_next() loop, the master's
 *  retried results) or no longer (on = 0). What such a thread writes into
 *  dense results is the master's own array: dlp_results_at() does not hold
 *  it to the call's opts.results. */
void dlp__loop_result_handler(int on);
/** 1 on a thread between dlp__loop_result_handler(1) and (0). */
int dlp__loop_is_result_handler(void);

/** A misuse of the API from the items' side of call L (any thread): the
 *  call stops and fails on every rank with code and this report, whatever
 *  on_error says (it is no item's failure). The first misuse on a rank is
 *  kept; the report gets where it happened (rank, thread, host). */
void dlp__loop_misuse(struct dlp_loop *L, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Finish a call (collective): agree on the outcome, collect results, free. */
int dlp__loop_end(struct dlp_loop **L);

/* The helper threads (dispatcher.c, agent.c). They report fatal MPI errors
 * and abort the job, since a lost message would otherwise hang every rank. */
void *dlp__dispatcher_main(void *loop);
void *dlp__agent_main(void *loop);
/* A remote node's leader starts its call's agent: sends the node's first
 * request when it is due (its cursor is empty) on the calling thread,
 * then hands the agent to the helper thread (helper.h). DLP_OK, or
 * dlp__helper_run's error. Main thread, in the call's set-up. */
int dlp__agent_start(struct dlp_loop *L);
/* A team thread of a remote node's leader waits for a chunk: it takes the
 * agent's reply itself when it came (unless the helper thread is at it),
 * so that the helper's wake-up is not on the thread's path. Any thread of
 * the leader's team, during call L. */
void dlp__agent_help(const struct dlp_loop *L);

/* Wire format of chunk requests and replies. */
struct dlp__request {
    unsigned long seq;
    int node;
    int stop;  /* this node stopped after a failure: stop everyone */
    int leave; /* every rank of this node left the loop: send nothing more */
    double rate;    /* the node's items per second so far (0 = unknown) */
    long done;      /* items the node finished (an estimate, for progress) */
    long unclaimed; /* items the node holds unclaimed besides this request */
    long low;       /* it asks again when its unclaimed items fall to this */
    /* DLP_STATS, on the agent's clock (latency.h: the dispatcher's
     * dlp__clock_sync): when it sent this request, and when it sent its
     * previous one and took that one's reply (0: none) */
    double sent, prev_sent, prev_taken;
};
struct dlp__reply {
    unsigned long seq;
    long start;
    long count; /* 0: nothing more */
    long left;  /* items the master holds after this chunk */
};

/** Polling of the node agents (and map helpers), in microseconds. Every
 *  wake-up costs CPU that the team threads lose (bench/dispatcher), so an
 *  agent waiting for its reply backs off from POLL_MIN to half the reserve
 *  of work its node holds (between POLL_URGENT and POLL_IDLE_MAX), to
 *  POLL_MAX while nothing is known yet, and stays at
 *  POLL_URGENT once a thread waits. The dispatcher polls by forecast
 *  instead (forecast.h). */
#define DLP__POLL_MIN_US 5u
#define DLP__POLL_URGENT_US 200u
#define DLP__POLL_MAX_US 1000u
#define DLP__POLL_IDLE_MAX_US 5000u

/** Poll interval cap for a reserve of `seconds` of work (see above). */
static inline unsigned dlp__poll_cap(double seconds)
{
    double us = 0.5e6 * seconds;
    if (!(us > DLP__POLL_URGENT_US)) /* also 0 = unknown and NaN */
        return seconds > 0 ? DLP__POLL_URGENT_US : DLP__POLL_MAX_US;
    return us < DLP__POLL_IDLE_MAX_US ? (unsigned)us : DLP__POLL_IDLE_MAX_US;
}

/** A node agent's first look for its first reply, microseconds after the
 *  request: about a network round trip and the dispatcher's answer; later
 *  ones look first at 0.8 of the last reply's time (at most POLL_MAX). */
#define DLP__AGENT_FIRST_LOOK_US 25u
/** A node agent whose team threads all wait for the reply looks for it in
 *  a loop (yielding the core) this long after the request, seconds,
 *  before it sleeps: the node computes nothing meanwhile, and a sleep
 *  costs a wake-up's latency on top of the round trip. */
#define DLP__AGENT_SPIN 100e-6
/** The same for the dispatcher once the master's own team is done (its
 *  main thread then sleeps until the dispatcher ends), seconds. */
#define DLP__DISPATCHER_SPIN 200e-6
/** Longest nap of a node agent between doorbell rings, microseconds (a
 *  safety net: the team threads ring when the agent has work). */
#define DLP__AGENT_NAP_US 20000u
/** Longest sleep of a remote node's team thread waiting for a chunk,
 *  microseconds (a safety net: the agent opens the cursor's gate). */
#define DLP__GATE_NAP_US 20000u
/** How often a helper that only feeds the progress display wakes, us. */
#define DLP__PROGRESS_TICK_US 20000u
/** Round robin: seconds between the looks for another rank's stop. */
#define DLP__STOP_PROBE 0.002

/* Results of a finished call (results.c): the master receives every remote
 * node's items into its dense array. Prepared (segment lists, staging
 * memory) before the call's end is agreed on, so that the agreement's one
 * collective also tells whether every rank is ready to move them. */
struct dlp__segment;
struct dlp__results_plan {
    int lists;                  /* segment lists: the master's nodes, a leader's 1 */
    struct dlp__segment **segs; /* [lists] (the master: [k] for node k >= 1) */
    long *len;                  /* [lists] */
    char *stage;                /* the packed messages' staging memory, or NULL */
};

/** Build this rank's plan (nothing with one node or off the leaders);
 *  DLP_OK, or DLP_ERR_NOMEM recorded. Not collective; main thread, after
 *  the call's helper threads are joined. *p can be released either way. */
int dlp__results_prepare(struct dlp_loop *L, struct dlp__results_plan *p);
/** Move the results as planned, once every rank's plan is ready.
 *  Collective (point-to-point between the master and each leader). */
int dlp__results_move(struct dlp_loop *L, const struct dlp__results_plan *p);
/** Free a plan (also a zeroed or half-built one). */
void dlp__results_release(struct dlp__results_plan *p);

#endif
