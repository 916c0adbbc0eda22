/* A parallel call's life: its set-up (collective: the handshake, then the
 * features, the cursor and the helper threads) and its end (collective:
 * the helpers joined, the agreement on the outcome, the features' results
 * delivered). What happens in between: take.c, stop.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doorbell.h"
#include "error.h"
#include "call_features.h"
#include "handshake.h"
#include "helper.h"
#include "loop.h"
#include "netbell.h"
#include "node_region.h"
#include "outcome.h"
#include "runtime.h"

/* The call running on this rank (dlp__loop_running); one at a time. */
static _Atomic(struct dlp_loop *) running;

/* The calling thread hands the map's results out on the master. */
static _Thread_local int result_handler;

struct dlp_loop *dlp__loop_running(void)
{
    return atomic_load_explicit(&running, memory_order_acquire);
}

void dlp__loop_result_handler(int on) { result_handler = on; }

int dlp__loop_is_result_handler(void) { return result_handler; }

/* One loop state and one round-robin cursor kept from a call to the next
 * (main thread: a rank runs one call at a time), so that a call of a few
 * tiny items does not allocate, clear and free them each time; released
 * by dlp__loop_release(). */
static struct dlp_loop *spare;
static struct dlp__cursor *spare_rr_cursor;

static struct dlp_loop *loop_alloc(void)
{
    struct dlp_loop *L = spare;
    spare = NULL;
    if (!L)
        return calloc(1, sizeof *L);
    memset(L, 0, sizeof *L);
    return L;
}

static void loop_free(struct dlp_loop *L)
{
    if (!L)
        return;
    if (L->logs)
        for (int k = 0; k < dlp__rt.nodes; k++)
            free(L->logs[k].seg);
    free(L->logs);
    free(L->threads_of_node);
    if (!spare_rr_cursor)
        spare_rr_cursor = L->rr_cursor;
    else
        free(L->rr_cursor);
    free(L->stop_sent);
    free(L->retry_origin);
    free(L->outcome);
    dlp__failures_free(&L->failures);
    if (!spare)
        spare = L;
    else
        free(L);
}

void dlp__loop_release(void)
{
    free(spare);
    spare = NULL;
    free(spare_rr_cursor);
    spare_rr_cursor = NULL;
}

static int setup_round_robin(struct dlp_loop *L)
{
    L->rr_cursor = spare_rr_cursor ? spare_rr_cursor : malloc(dlp__cursor_bytes(1));
    spare_rr_cursor = NULL;
    if (!L->rr_cursor)
        return dlp__fail(DLP_ERR_NOMEM, L->func, "round-robin cursor");
    struct dlp__cursor *c = L->rr_cursor;
    long rank = dlp__rt.rank, size = dlp__rt.size;
    dlp__cursor_reset(c, 1, size);
    c->t0 = dlp__now();
    if (L->n > rank)
        dlp__cursor_append(c, rank, (L->n - 1 - rank) / size + 1);
    dlp__cursor_close(c);
    L->cursor = c;
    if (size > 1 && L->o.on_error == DLP_ON_ERROR_ABORT) {
        /* (the stop requests are allocated by the rank that stops:
         * nothing per rank in a call where none does, stop.c) */
        L->stop_messages = 1;
        L->stop_word = L->seq;
        atomic_store(&L->next_probe, dlp__now_coarse() + DLP__STOP_PROBE);
    }
    return DLP_OK;
}

static int setup_managed(struct dlp_loop *L)
{
    struct dlp__runtime *rt = &dlp__rt;
    L->managed = 1;
    L->cursor = dlp__node_cursor();
    L->disp = rt->node == 0 ? dlp__node_dispenser() : NULL;
    if (L->n == 0)
        return DLP_OK;
    if (rt->rank == 0 && (rt->nodes > 1 || (L->progress.active && !L->progress_by_map))) {
        L->logs = calloc((size_t)rt->nodes, sizeof *L->logs);
        if (!L->logs)
            return dlp__fail(DLP_ERR_NOMEM, L->func, "chunk logs");
        DLP_CALL(dlp__helper_run(L, dlp__dispatcher_main));
        L->has_helper = 1;
    } else if (rt->node_rank == 0 && rt->node != 0) {
        DLP_CALL(dlp__agent_start(L));
        L->has_helper = 1;
    }
    return DLP_OK;
}

static int begin(struct dlp_loop **out, long n, const dlp_opts *opts, int split,
                 const char *bad_arg, const char *func, int map, int loop_form)
{
    if (!out)
        return dlp__fail(DLP_ERR_ARG, func, "loop handle pointer is NULL");
    *out = NULL;
    DLP_CALL(dlp__check_ready(func));
    struct dlp__runtime *rt = &dlp__rt;
    if (atomic_load(&rt->in_call) == 0)
        DLP_CALL(dlp__check_main(func));
    int idle = 0;
    if (!atomic_compare_exchange_strong(&rt->in_call, &idle, 1))
        return dlp__fail(DLP_ERR_STATE, func,
                         "a parallel call is already running on this rank (nested call from "
                         "a body, or dlp_loop_end() missing)");
    struct dlp_loop *L = loop_alloc();
    if (!L) /* cannot take part in the handshake: the others would wait */
        dlp__helper_abort(func, "out of memory for the loop state", MPI_SUCCESS);
    dlp__failures_init(&L->failures, 0);
    dlp__failures_forget();
    L->func = func;
    L->n = n;
    L->loop_form = loop_form;
    L->done_by_take = !map;
    int rc = dlp__handshake(L, opts, split, bad_arg);
    if (rc == DLP_OK) /* (the environment as the options read it) */
        dlp__nested_plan(&L->nested, dlp__knob("OMP_NUM_THREADS"));
    L->failures.keep_all = rc == DLP_OK && L->o.on_error != DLP_ON_ERROR_ABORT;
    if (rc == DLP_OK) {
        L->seq = ++rt->call_seq;
        L->progress_by_map = map;
        dlp__features_run(DLP__CALL_BEGIN, L, NULL);
        rc = L->o.split == DLP_SPLIT_MANAGED ? setup_managed(L) : setup_round_robin(L);
        if (rc != DLP_OK) /* the other ranks are already computing */
            dlp__helper_abort(func, dlp_last_error(), MPI_SUCCESS);
        dlp__features_run(DLP__CALL_STARTED, L, NULL);
    }
    if (rc != DLP_OK) {
        dlp__features_abandon(opts);
        loop_free(L);
        atomic_store(&rt->in_call, 0);
        return rc;
    }
    *out = L;
    atomic_store_explicit(&running, L, memory_order_release);
    return DLP_OK;
}

int dlp__loop_begin(struct dlp_loop **out, long n, const dlp_opts *opts, int split,
                    const char *bad_arg, const char *func)
{
    return begin(out, n, opts, split, bad_arg, func, 0, split < 0);
}

int dlp__loop_begin_map(struct dlp_loop **out, long n, const dlp_opts *opts,
                        const char *bad_arg, int loop_form, const char *func)
{
    return begin(out, n, opts, DLP_SPLIT_MANAGED, bad_arg, func, 1, loop_form);
}

int dlp__loop_end(struct dlp_loop **pL)
{
    struct dlp_loop *L = *pL;
    *pL = NULL;
    atomic_store_explicit(&running, NULL, memory_order_relaxed);
    dlp__features_run(DLP__CALL_STOP, L, NULL);
    if (L->managed) {
        atomic_fetch_add(&L->cursor->ended, 1);
        dlp__doorbell_ring(&L->cursor->bell);
    }
    if (L->has_helper) {
        atomic_store(&L->draining, 1);
        dlp__doorbell_ring(&L->helper_bell);
        dlp__netbell_ring_local(); /* a no-op unless rank 0's dispatcher has node doorbells */
        dlp__helper_wait();
        if (dlp__rt.rank != 0) /* a node's agent: the master waits for this node */
            dlp__netbell_ring_at_end();
    }
    struct dlp__call_end e;
    dlp__features_run(DLP__CALL_SETTLE, L, &e);
    e.done = L->journaled ? L->journal.done_before : 0;
    e.failed = 0;
    e.results_ok = 0;
    e.rc = dlp__outcome_agree(L, e.prepared == DLP_OK, &e.results_ok, &e.done, &e.failed);
    e.completed = e.rc == DLP_OK || e.rc == DLP_SKIPPED;
    dlp__features_run(DLP__CALL_END, L, &e);
    loop_free(L);
    atomic_store(&dlp__rt.in_call, 0);
    return e.rc;
}
