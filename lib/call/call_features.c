/* The optional per-call features in one table. A call's begin and end
 * (call.c) walk it phase by phase; each entry's adapters below decide
 * from the call's options whether the feature takes part, and call the
 * feature's own file.
 *
 * The table's order is the order of their effects in every phase:
 *   begin:   progress, reduce, collector, journal, trace, watchdog
 *   started: signals (after the cursor and the helper threads)
 *   stop:    trace (its end time), watchdog
 *   settle:  results (the plan, local), journal, trace
 *   end:     progress, results, reduce, collector, signals
 * The end's order decides which error a call returns (each adapter keeps
 * its own rule of replacing e->rc) and which message is the last. */
#include "call_features.h"

#include <stdio.h>
#include <string.h>

#include "collector.h"
#include "error.h"
#include "handshake.h"
#include "outcome.h"
#include "reduce.h"
#include "results.h"
#include "runtime.h"
#include "signals.h"

/* ------------------------------------------------------------- progress -- */

static void progress_begin(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (dlp__rt.rank == 0 && L->o.split == DLP_SPLIT_MANAGED)
        dlp__progress_begin(&L->progress, stderr, L->o.progress == DLP_PROGRESS_TTY ? 1 : -1,
                            L->n, L->o.label,
                            L->o.progress == DLP_PROGRESS_TTY ? DLP_PROGRESS_ON : L->o.progress,
                            L->o.progress_interval, dlp__now());
    if (L->journaled) /* the journal's items count as done from the start */
        dlp__progress_resume(&L->progress, L->journal.done_before);
}

static void progress_end(struct dlp_loop *L, struct dlp__call_end *e)
{
    if (L->progress.active) /* every item handled, or exactly those done */
        dlp__progress_end(&L->progress, e->completed ? L->n : e->done, e->completed,
                          e->rc == DLP_SKIPPED ? e->failed : 0, dlp__now());
}

/* -------------------------------------------------------- dense results -- */

/* The plan first: the agreement says whether every rank's is ready, so
 * that no rank waits in a transfer another skips. */
static void results_settle(struct dlp_loop *L, struct dlp__call_end *e)
{
    e->prepared = L->o.results ? dlp__results_prepare(L, &e->plan) : DLP_OK;
}

/* Both collects (the move to the master, the share to every rank) are
 * collective: each runs whenever the call completed, whatever the other
 * one returned; a failed move's error replaces the status. */
static void results_end(struct dlp_loop *L, struct dlp__call_end *e)
{
    if (e->completed && L->o.results) {
        int mrc;
        if (e->prepared != DLP_OK)
            mrc = e->prepared;
        else if (!e->results_ok)
            mrc = DLP_FAIL(DLP_ERR_NOMEM, L->func,
                           "another rank could not prepare the transfer of the dense results");
        else
            mrc = dlp__results_move(L, &e->plan);
        e->rc = mrc != DLP_OK ? mrc : e->rc;
    }
    dlp__results_release(&e->plan);
    if (e->completed && L->o.results && L->o.on_all_ranks) {
        int src = dlp__results_share(L->o.results, L->func);
        e->rc = src != DLP_OK && e->rc >= 0 ? src : e->rc;
    }
}

/* ------------------------------------------------------------ reduction -- */

static void reduce_begin(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->o.reduce) /* under abort a failed call delivers no result: no scratch */
        dlp__reduce_begin(L->o.reduce, L->o.on_error != DLP_ON_ERROR_ABORT);
}

static void reduce_abandon(const dlp_opts *opts)
{
    if (opts && opts->reduce) /* a failed call delivers no result */
        dlp__reduce_abandon(opts->reduce);
}

static void reduce_end(struct dlp_loop *L, struct dlp__call_end *e)
{
    if (!L->o.reduce)
        return;
    int rrc = DLP_OK;
    if (e->completed && L->reduce_packed) /* every rank's value came with the outcome */
        dlp__reduce_finish_packed(L->o.reduce, L->outcome + DLP__OUTCOME_WORDS,
                                  sizeof(long) * DLP__OUTCOME_WORDS + L->reduce_packed,
                                  L->o.on_all_ranks);
    else if (e->completed)
        rrc = dlp__reduce_finish(L->o.reduce, L->o.on_all_ranks, L->func);
    else
        dlp__reduce_abandon(L->o.reduce);
    e->rc = rrc != DLP_OK && e->rc >= 0 ? rrc : e->rc;
}

/* ------------------------------------------------------------ collector -- */

static void collector_begin(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->o.collector && dlp__collector_begin(L->o.collector, L->n, L->func) != DLP_OK)
        dlp__helper_abort(L->func, dlp_last_error(), MPI_SUCCESS);
}

static void collector_end(struct dlp_loop *L, struct dlp__call_end *e)
{
    if (!L->o.collector)
        return;
    int crc = e->completed ? dlp__collector_collect(L->o.collector, L->func) : e->rc;
    if (!e->completed)
        dlp__collector_abandon(L->o.collector);
    if (e->rc >= 0 && crc != DLP_OK)
        e->rc = crc;
}

/* -------------------------------------------------------------- journal -- */

/* The journal can no longer be written: a failure of the call. */
static void journal_failed(void *L, int code, const char *msg)
{
    dlp__loop_item_failure(L, -1, -1, code, 0, msg);
}

static void journal_begin(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->journaled || (L->o.journal && dlp__rt.rank != 0)) {
        L->journaled = 1;
        struct dlp__journal_call call = {L->seq, L->n, L->func, journal_failed, L};
        dlp__journal_start(&L->journal, &call);
    }
}

static void journal_settle(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->journaled)
        dlp__journal_finish(&L->journal);
}

/* ---------------------------------------------------------------- trace -- */

static void trace_begin(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->tracing && L->n > 0 &&
        dlp__trace_start(&L->trace, L->tracing & DLP__TRACING_ITEMS,
                         (L->tracing & DLP__TRACING_TRACE) != 0, L->o.trace_max_spans,
                         L->func) != DLP_OK)
        dlp__helper_abort(L->func, dlp_last_error(), MPI_SUCCESS);
    if (L->n == 0)
        L->tracing = 0;
}

static void trace_stop(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    L->trace.t_end = dlp__now();
}

static void trace_settle(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    struct dlp__trace_call call = {L->seq, L->func, L->n, {0, 0, 0, 0}};
    memcpy(call.agent, L->agent_stats, sizeof call.agent);
    if (L->tracing)
        dlp__trace_finish(&L->trace, &call, L->trace_path, L->tracing & DLP__TRACING_STATS);
}

/* ----------------------------------------------------------- time limit -- */

static void watchdog_begin(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->n > 0 && L->o.time_limit > 0) {
        if (dlp__watchdog_start(&L->watch, L->o.time_limit, L->o.on_error != DLP_ON_ERROR_SKIP,
                                L->func) != DLP_OK)
            dlp__helper_abort(L->func, dlp_last_error(), MPI_SUCCESS);
        L->watching = 1;
    }
}

static void watchdog_stop(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->watching)
        dlp__watchdog_stop(&L->watch);
}

/* -------------------------------------------------------------- signals -- */

static void signals_started(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->n > 0 && L->o.signals) {
        dlp__signals_catch(L->cursor, L->o.grace, L->func);
        L->catching = 1;
    }
}

static void signals_end(struct dlp_loop *L, struct dlp__call_end *e)
{
    (void)e;
    if (L->catching) /* (a rank that waits for the others is still in the call) */
        dlp__signals_release();
}

/* ---------------------------------------------------------------- table -- */

/* One row per feature: its part of each phase (NULL: none), and what it
 * gives up when the set-up failed. */
static const struct feature {
    void (*at[DLP__CALL_PHASES])(struct dlp_loop *L, struct dlp__call_end *e);
    void (*abandon)(const dlp_opts *opts);
} features[] = {
    /* progress */ {{[DLP__CALL_BEGIN] = progress_begin, [DLP__CALL_END] = progress_end}, NULL},
    /* results */ {{[DLP__CALL_SETTLE] = results_settle, [DLP__CALL_END] = results_end}, NULL},
    /* reduce */ {{[DLP__CALL_BEGIN] = reduce_begin, [DLP__CALL_END] = reduce_end}, reduce_abandon},
    /* collector */ {{[DLP__CALL_BEGIN] = collector_begin, [DLP__CALL_END] = collector_end}, NULL},
    /* journal */ {{[DLP__CALL_BEGIN] = journal_begin, [DLP__CALL_SETTLE] = journal_settle}, NULL},
    /* trace */
    {{[DLP__CALL_BEGIN] = trace_begin, [DLP__CALL_STOP] = trace_stop,
      [DLP__CALL_SETTLE] = trace_settle},
     NULL},
    /* time limit */ {{[DLP__CALL_BEGIN] = watchdog_begin, [DLP__CALL_STOP] = watchdog_stop}, NULL},
    /* signals */ {{[DLP__CALL_STARTED] = signals_started, [DLP__CALL_END] = signals_end}, NULL},
};
#define FEATURES (sizeof features / sizeof features[0])

void dlp__features_run(enum dlp__call_phase phase, struct dlp_loop *L, struct dlp__call_end *e)
{
    if (phase == DLP__CALL_SETTLE) { /* nothing planned yet */
        memset(&e->plan, 0, sizeof e->plan);
        e->prepared = DLP_OK;
    }
    for (size_t k = 0; k < FEATURES; k++)
        if (features[k].at[phase])
            features[k].at[phase](L, e);
}

void dlp__features_abandon(const dlp_opts *opts)
{
    for (size_t k = 0; k < FEATURES; k++)
        if (features[k].abandon)
            features[k].abandon(opts);
}
