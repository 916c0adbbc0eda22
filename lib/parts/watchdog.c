/* The per-item time limit (see watchdog.h). */
#include "watchdog.h"

#include <stdio.h>
#include <stdlib.h>

#include "doorbell.h"
#include "error.h"
#include "runtime.h"

static void look(struct dlp__watchdog *w)
{
    double now = dlp__now();
    int used = atomic_load(&w->used);
    for (int k = 0; k < used && k < DLP__WATCH_SLOTS; k++) {
        struct dlp__watch_slot *s = &w->slot[k];
        long item = atomic_load_explicit(&s->item, memory_order_acquire);
        double ran = now - atomic_load_explicit(&s->since, memory_order_relaxed);
        if (item < 0 || ran <= w->limit || s->reported == item)
            continue;
        s->reported = item;
        long last = atomic_load_explicit(&s->last, memory_order_relaxed);
        char what[96];
        if (last > item) /* a batch of dlp_loop_next_range() */
            snprintf(what, sizeof what, "the batch of items %ld..%ld (dlp_loop_next_range)",
                     item, last);
        else
            snprintf(what, sizeof what, "item %ld", item);
        fprintf(stderr,
                "dlp_mpi: %s: %s has been running for %.3g s, over the time limit of "
                "%g s, on rank %d, thread %d, host %s%s\n",
                w->func, what, ran, w->limit, dlp__rt.rank, s->thread, dlp__rt.host,
                w->abort_job ? "; aborting the job (on_error = abort)"
                             : " (on_error = skip: it goes on)");
        fflush(stderr);
        if (w->abort_job)
            dlp__abort_job(DLP_EXIT_TIME_LIMIT);
    }
}

static void *watchdog_main(void *arg)
{
    struct dlp__watchdog *w = arg;
    /* look four times per limit (a report comes at most 25% late), at
     * least every millisecond and at most every second */
    double period = w->limit / 4 < 1.0 ? w->limit / 4 : 1.0;
    unsigned us = period > 1e-3 ? (unsigned)(period * 1e6) : 1000u;
    while (!atomic_load(&w->quit)) {
        dlp__doorbell_arm(&w->bell);
        if (atomic_load(&w->quit))
            dlp__doorbell_disarm(&w->bell);
        else
            dlp__doorbell_wait(&w->bell, us);
        look(w);
    }
    return NULL;
}

int dlp__watchdog_start(struct dlp__watchdog *w, double limit, int abort_job, const char *func)
{
    w->limit = limit;
    w->abort_job = abort_job;
    w->func = func;
    atomic_store(&w->used, 0);
    atomic_store(&w->quit, 0);
    atomic_store(&w->bell, 0);
    w->slot = calloc(DLP__WATCH_SLOTS, sizeof *w->slot);
    if (!w->slot)
        return dlp__fail(DLP_ERR_NOMEM, func, "time-limit slots");
    for (int k = 0; k < DLP__WATCH_SLOTS; k++) {
        atomic_store(&w->slot[k].item, -1);
        w->slot[k].reported = -1;
    }
    int e = pthread_create(&w->thread, NULL, watchdog_main, w);
    if (e != 0) {
        free(w->slot);
        w->slot = NULL;
        return dlp__fail(DLP_ERR_SYSTEM, func, "cannot start the time-limit thread: %s",
                         DLP__ERRNO_TEXT(e));
    }
    return DLP_OK;
}

struct dlp__watch_slot *dlp__watchdog_claim(struct dlp__watchdog *w, int thread)
{
    int k = atomic_fetch_add(&w->used, 1);
    if (k >= DLP__WATCH_SLOTS) {
        if (k == DLP__WATCH_SLOTS)
            fprintf(stderr, "dlp_mpi: %s: more than %d threads on rank %d: the time limit "
                            "does not watch the others\n",
                    w->func, DLP__WATCH_SLOTS, dlp__rt.rank);
        return NULL;
    }
    w->slot[k].thread = thread;
    return &w->slot[k];
}

void dlp__watchdog_stop(struct dlp__watchdog *w)
{
    atomic_store(&w->quit, 1);
    dlp__doorbell_ring(&w->bell);
    pthread_join(w->thread, NULL);
    free(w->slot);
    w->slot = NULL;
}
