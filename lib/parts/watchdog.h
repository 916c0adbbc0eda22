/* The per-item time limit: every team thread publishes which item it runs
 * and since when (a slot); a watchdog thread per rank reports an item that
 * runs longer than the limit — index, rank, thread, host — while it still
 * runs, once per item, and with on_error = abort then aborts the job (a C
 * library cannot stop a thread that is stuck inside the user's code). */
#ifndef DLP_LIB_WATCHDOG_H
#define DLP_LIB_WATCHDOG_H

#include <pthread.h>
#include <stdatomic.h>

/** Slots per rank: threads beyond it run unwatched (a note says so). */
#define DLP__WATCH_SLOTS 1024

struct dlp__watch_slot {
    _Atomic long item;     /* running item, -1 when none */
    _Atomic long last;     /* range form: the batch's last item (else item) */
    _Atomic double since;  /* when it started (dlp__now) */
    int thread;            /* OpenMP thread number */
    long reported;         /* last item reported (watchdog only) */
};

struct dlp__watchdog {
    double limit;          /* seconds */
    int abort_job;
    const char *func;
    struct dlp__watch_slot *slot;
    _Atomic int used;      /* slots claimed */
    _Atomic int quit;
    _Atomic int bell;
    pthread_t thread;
};

/** Start watching (limit > 0). DLP_ERR_NOMEM / DLP_ERR_SYSTEM on failure. */
int dlp__watchdog_start(struct dlp__watchdog *w, double limit, int abort_job, const char *func);

/** A slot for the calling thread (thread = its OpenMP number), NULL when
 *  all are taken. Any thread. */
struct dlp__watch_slot *dlp__watchdog_claim(struct dlp__watchdog *w, int thread);

/** The thread starts item i (-1: it runs none any more). */
static inline void dlp__watch_item(struct dlp__watch_slot *s, long i, double now)
{
    atomic_store_explicit(&s->since, now, memory_order_relaxed);
    atomic_store_explicit(&s->last, i, memory_order_relaxed);
    atomic_store_explicit(&s->item, i, memory_order_release);
}

/** The thread starts a batch of the range form, items first .. last: the
 *  limit applies to the batch as a whole (reported as such). */
static inline void dlp__watch_range(struct dlp__watch_slot *s, long first, long last,
                                    double now)
{
    atomic_store_explicit(&s->since, now, memory_order_relaxed);
    atomic_store_explicit(&s->last, last, memory_order_relaxed);
    atomic_store_explicit(&s->item, first, memory_order_release);
}

/** Stop the watchdog thread and free the slots. */
void dlp__watchdog_stop(struct dlp__watchdog *w);

#endif
