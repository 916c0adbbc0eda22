/* A parallel call: set-up (collective), the per-item take, failures, and the
 * collective end; plus the public loop form. */
#include "loop.h"

#include <omp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "doorbell.h"
#include "error.h"
#include "netbell.h"
#include "reduce.h"
#include "results.h"
#include "runtime.h"
#include "signals.h"
#include "spinlock.h"
#include "wait.h"

#define REGION_DISP_BYTES ((sizeof(struct dlp__dispenser) + 63) / 64 * 64)

size_t dlp__node_region_bytes(void)
{
    return REGION_DISP_BYTES + dlp__cursor_bytes(DLP__NODE_CHUNKS);
}

static struct dlp__dispenser *node_dispenser(void)
{
    return (struct dlp__dispenser *)dlp__rt.node_region.base;
}

static struct dlp__cursor *node_cursor(void)
{
    return (struct dlp__cursor *)((char *)dlp__rt.node_region.base + REGION_DISP_BYTES);
}

/* ------------------------------------------------------------ handshake -- */

/* What every rank says about a call; compared on every rank. Exactly 64
 * bytes: the small enums go as signed chars (all their values fit). */
struct handshake {
    long n, chunk, thread_chunk, results_n, time_limit_us;
    int threads, status, flags, retries;
    signed char split, schedule, thread_schedule, collector, on_error;
};
_Static_assert(sizeof(struct handshake) == 64, "the handshake is 64 bytes");

/* Bits of handshake.flags: the journal must agree; the rest is the
 * master's to decide (DLP_TRACE, DLP_TRACE_ITEMS, DLP_STATS). */
enum { FLAG_JOURNAL = 1, FLAG_TRACE = 2, FLAG_TRACE_ITEMS = 4, FLAG_STATS = 8 };

/* The master's DLP_TRACE / DLP_TRACE_ITEMS / DLP_STATS as flags. */
static int trace_flags(const char **path)
{
    const char *t = getenv("DLP_TRACE");
    *path = t && *t ? t : NULL;
    return (*path ? FLAG_TRACE : 0) |
           (*path && dlp__env_flag("DLP_TRACE_ITEMS") ? FLAG_TRACE_ITEMS : 0) |
           (dlp__env_flag("DLP_STATS") ? FLAG_STATS : 0);
}
_Static_assert(sizeof(struct handshake) <= DLP__SCRATCH_PER_RANK, "scratch too small");
_Static_assert(sizeof(struct handshake) + sizeof(struct dlp__reduce_shape) <= DLP__ENTRY_ARGS,
               "the handshake and the reduction's shape fit an entry");

static int compare_handshakes(const struct handshake *all, int size, const char *func)
{
    const struct handshake *m = &all[0];
    for (int r = 1; r < size; r++) {
        const struct handshake *h = &all[r];
#define DLP__SAME(field, fmt)                                                \
    if (h->field != m->field)                                                \
        return dlp__fail(DLP_ERR_MISMATCH, func,                             \
                         "rank %d passed " #field " = " fmt ", rank 0 passed " #field " = " fmt, \
                         r, h->field, m->field);
        DLP__SAME(n, "%ld")
        DLP__SAME(split, "%d")
        DLP__SAME(schedule, "%d")
        DLP__SAME(chunk, "%ld")
        DLP__SAME(thread_schedule, "%d")
        DLP__SAME(thread_chunk, "%ld")
        DLP__SAME(results_n, "%ld")
        DLP__SAME(collector, "%d")
        DLP__SAME(on_error, "%d")
        DLP__SAME(time_limit_us, "%ld")
        DLP__SAME(retries, "%d")
#undef DLP__SAME
        if ((h->flags ^ m->flags) & FLAG_JOURNAL)
            return dlp__fail(DLP_ERR_MISMATCH, func,
                             "rank %d %s a journal (opts.journal / DLP_JOURNAL), rank 0 %s", r,
                             h->flags & FLAG_JOURNAL ? "has" : "has no",
                             m->flags & FLAG_JOURNAL ? "has one" : "has none");
    }
    return DLP_OK;
}

/* The master's node resets its shared cursor and the dispenser before the
 * handshake: the handshake's allgather then doubles as the barrier that keeps
 * every rank of the node from taking items before the reset. (Nobody uses
 * them any more: the previous call ended with a collective after all its
 * threads had finished.) */
static void reset_node_state(struct dlp_loop *L)
{
    if (dlp__rt.node_rank != 0)
        return;
    struct dlp__cursor *c = node_cursor();
    dlp__cursor_reset(c, DLP__NODE_CHUNKS, 1);
    c->t0 = dlp__now();
    if (L->n == 0)
        dlp__cursor_close(c);
    if (dlp__rt.node == 0)
        dlp__dispenser_reset(node_dispenser(), L->n, L->journaled ? L->journal.done_before : 0,
                             L->o.schedule, L->o.chunk, L->o.chunk_time);
}

/* What on_error, the journal and signals allow for this call. */
static int check_failure_options(struct dlp_loop *L)
{
    const char *func = L->func;
    int sig = dlp__signal_caught();
    if (sig) {
        char name[32];
        return dlp__fail(DLP_ERR_INTERRUPTED, func,
                         "%s arrived during an earlier call: the job is stopping",
                         dlp__signal_name(sig, name, sizeof name));
    }
    if (L->o.on_error == DLP_ON_ERROR_RETRY && L->loop_form)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "on_error = retry needs a body or work function the library can run "
                         "again: use dlp_split_managed(), dlp_split_round_robin() or "
                         "dlp_map_unordered() (or skip, then run dlp_failures()' items again)");
    if (L->o.on_error == DLP_ON_ERROR_RETRY && L->o.collector)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "on_error = retry cannot be combined with opts.collector: the results "
                         "a failed attempt added would stay");
    if (L->o.journal && L->o.reduce)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "a journal (%s) cannot be combined with opts.reduce: the items it "
                         "skips in a resumed run would be missing from the reduction",
                         L->o.journal);
    if (L->o.journal && (L->o.results || L->o.collector))
        return dlp__fail(DLP_ERR_OPTION, func,
                         "a journal (%s) cannot be combined with opts.%s: it records which "
                         "items are done, not their results, so a resumed call would return "
                         "results with holes; write each item's result from the body instead "
                         "(or use dlp_map_unordered's on_result)",
                         L->o.journal, L->o.results ? "results" : "collector");
    return DLP_OK;
}

/* Words per rank of the end's agreement (agree_on_outcome): failed items,
 * items handed out, signal, items completed, stops sent, dense results
 * ready to move, the code of a misuse (dlp__loop_misuse); then, with a
 * small built-in reduction, the rank's value of it. */
#define OUTCOME_WORDS 7

/* The end's agreement record of every rank. With no reduction to pack it
 * fits the runtime's scratch; else its buffer is the call's own, made
 * before the handshake (so that a rank without memory says so there).
 * The shape is the same on every rank once the handshake agreed. */
static int outcome_buffer(struct dlp_loop *L)
{
    const struct dlp__runtime *rt = &dlp__rt;
    L->reduce_packed = dlp__reduce_packed_bytes(L->o.reduce, rt->size);
    if (!L->reduce_packed)
        return DLP_OK;
    size_t words = OUTCOME_WORDS + L->reduce_packed / sizeof(long);
    L->outcome = malloc(sizeof(long) * words * (size_t)rt->size);
    if (!L->outcome)
        return DLP_FAIL(DLP_ERR_NOMEM, L->func, "the end's agreement of %d ranks", rt->size);
    return DLP_OK;
}

/* Local checks, then every rank's view compared on every rank (one
 * allgather, the only collective of the set-up). */
static int agree_on_call(struct dlp_loop *L, const dlp_opts *opts, int split,
                         const char *bad_arg)
{
    struct dlp__runtime *rt = &dlp__rt;
    const char *func = L->func;
    int rc = DLP_OK;
    if (bad_arg)
        rc = dlp__fail(DLP_ERR_ARG, func, "%s", bad_arg);
    else if (L->n < 0)
        rc = dlp__fail(DLP_ERR_ARG, func, "n = %ld must be >= 0", L->n);
    else
        rc = dlp__options_resolve(opts, &L->o, func);
    /* opts.split is the loop form's: the managed calls refuse ROUND_ROBIN
     * (MANAGED is 0, the default, which every call accepts) */
    if (rc == DLP_OK && split == DLP_SPLIT_MANAGED && L->o.split != split)
        rc = dlp__fail(DLP_ERR_OPTION, func,
                       "opts.split = %d (DLP_SPLIT_ROUND_ROBIN) contradicts %s, which splits "
                       "managed: opts.split is for dlp_loop_begin only; leave it 0%s",
                       L->o.split, func,
                       strncmp(func, "dlp_map", 7) == 0 ? " (maps split managed only)"
                                                        : ", or call dlp_split_round_robin()");
    if (rc == DLP_OK && split >= 0)
        L->o.split = split;
    if (rc == DLP_OK && L->o.results && dlp__results_items(L->o.results) != L->n)
        rc = dlp__fail(DLP_ERR_ARG, func, "opts.results holds %ld items, the call has n = %ld",
                       dlp__results_items(L->o.results), L->n);
    if (rc == DLP_OK)
        rc = check_failure_options(L);
    double timeout;
    if (rc == DLP_OK)
        rc = dlp__collective_timeout(&timeout, func);
    if (rc == DLP_OK && L->o.journal && rt->rank == 0) {
        rc = dlp__journal_open(&L->journal, L->o.journal, L->o.journal_sync, rt->call_seq + 1,
                               L->n, func);
        L->journaled = rc == DLP_OK;
    }
    if (rc == DLP_OK) {
        L->threads_of_node = calloc((size_t)rt->nodes, sizeof(int));
        if (!L->threads_of_node)
            rc = DLP_FAIL(DLP_ERR_NOMEM, func, "thread table of %d nodes", rt->nodes);
    }
    if (rc == DLP_OK)
        rc = outcome_buffer(L);
    if (rc == DLP_OK && L->o.split == DLP_SPLIT_MANAGED)
        reset_node_state(L);
    struct handshake mine = {.n = L->n,
                             .chunk = L->o.schedule == DLP_SCHEDULE_FIXED ||
                                              L->o.schedule == DLP_SCHEDULE_GSS
                                          ? L->o.chunk
                                          : 0,
                             .thread_chunk = L->o.thread_schedule == DLP_SCHEDULE_FIXED ||
                                                     L->o.thread_schedule == DLP_SCHEDULE_GSS
                                                 ? L->o.thread_chunk
                                                 : 0,
                             .results_n = L->o.results ? dlp__results_items(L->o.results) : -1,
                             .split = (signed char)L->o.split,
                             .schedule = (signed char)L->o.schedule,
                             .thread_schedule = (signed char)L->o.thread_schedule,
                             .threads = L->o.threads,
                             .status = rc,
                             .collector = (signed char)(L->o.collector != NULL),
                             .on_error = (signed char)L->o.on_error,
                             .time_limit_us = (long)(L->o.time_limit * 1e6),
                             .flags = (L->o.journal != NULL ? FLAG_JOURNAL : 0) |
                                      (rt->rank == 0 ? trace_flags(&L->trace_path) : 0),
                             .retries = L->o.retries};
    /* the entry: the handshake, then the reduction's shape and on_all_ranks */
    unsigned char args[sizeof mine + sizeof(struct dlp__reduce_shape)];
    memcpy(args, &mine, sizeof mine);
    struct dlp__reduce_shape shape;
    dlp__reduce_shape(L->o.reduce, L->o.on_all_ranks, &shape);
    memcpy(args + sizeof mine, &shape, sizeof shape);
    char what[160];
    snprintf(what, sizeof what, "the start of %s (parallel call #%lu, n = %ld)", func,
             rt->call_seq + 1, L->n);
    const struct dlp__entry *every;
    rc = dlp__enter(func, what, rc, args, sizeof args, &every);
    struct handshake *all = (struct handshake *)rt->scratch;
    for (int r = 0; rc == DLP_OK && r < rt->size; r++)
        memcpy(&all[r], every[r].args, sizeof all[r]);
    if (rc == DLP_OK)
        rc = compare_handshakes(all, rt->size, func);
    if (rc == DLP_OK)
        rc = dlp__reduce_compare(every, rt->size, sizeof mine, func);
    if (rc != DLP_OK) {
        if (L->journaled)
            dlp__journal_close(&L->journal);
        L->journaled = 0;
        return rc;
    }
    L->tracing = all[0].flags & (FLAG_TRACE | FLAG_TRACE_ITEMS | FLAG_STATS);
    for (int r = 0; r < rt->size; r++) {
        L->threads_of_node[rt->node_of_rank[r]] += all[r].threads;
        L->total_threads += all[r].threads;
    }
    L->node_threads = L->threads_of_node[rt->node];
    return DLP_OK;
}

/* ---------------------------------------------------------------- set-up -- */

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

static void loop_free(struct dlp_loop *L)
{
    if (!L)
        return;
    if (L->logs)
        for (int k = 0; k < dlp__rt.nodes; k++)
            free(L->logs[k].seg);
    free(L->logs);
    free(L->threads_of_node);
    free(L->rr_cursor);
    free(L->stop_sent);
    free(L->retry_origin);
    free(L->outcome);
    dlp__failures_free(&L->failures);
    free(L);
}

static int setup_round_robin(struct dlp_loop *L)
{
    L->rr_cursor = malloc(dlp__cursor_bytes(1));
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
        L->stop_sent = calloc((size_t)size, sizeof *L->stop_sent);
        if (!L->stop_sent)
            return dlp__fail(DLP_ERR_NOMEM, L->func, "stop requests");
        for (long r = 0; r < size; r++)
            L->stop_sent[r] = MPI_REQUEST_NULL;
        L->stop_word = L->seq;
        atomic_store(&L->next_probe, dlp__now_coarse() + DLP__STOP_PROBE);
    }
    return DLP_OK;
}

static int setup_managed(struct dlp_loop *L)
{
    struct dlp__runtime *rt = &dlp__rt;
    L->managed = 1;
    L->cursor = node_cursor();
    L->disp = rt->node == 0 ? node_dispenser() : NULL;
    if (L->n == 0)
        return DLP_OK;
    if (rt->rank == 0 && (rt->nodes > 1 || (L->progress.active && !L->progress_by_map))) {
        L->logs = calloc((size_t)rt->nodes, sizeof *L->logs);
        if (!L->logs)
            return dlp__fail(DLP_ERR_NOMEM, L->func, "chunk logs");
        if (pthread_create(&L->helper, NULL, dlp__dispatcher_main, L) != 0)
            return dlp__fail(DLP_ERR_SYSTEM, L->func, "cannot start the dispatcher thread");
        L->has_helper = 1;
    } else if (rt->node_rank == 0 && rt->node != 0) {
        if (pthread_create(&L->helper, NULL, dlp__agent_main, L) != 0)
            return dlp__fail(DLP_ERR_SYSTEM, L->func, "cannot start the node agent thread");
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
    struct dlp_loop *L = calloc(1, sizeof *L);
    if (!L) /* cannot take part in the handshake: the others would wait */
        dlp__helper_abort(func, "out of memory for the loop state", MPI_SUCCESS);
    dlp__failures_init(&L->failures, 0);
    dlp__failures_forget();
    L->func = func;
    L->n = n;
    L->loop_form = loop_form;
    L->done_by_take = !map;
    dlp__nested_plan(&L->nested);
    int rc = agree_on_call(L, opts, split, bad_arg);
    L->failures.keep_all = rc == DLP_OK && L->o.on_error != DLP_ON_ERROR_ABORT;
    if (rc == DLP_OK) {
        L->seq = ++rt->call_seq;
        if (L->o.reduce) /* under abort a failed call delivers no result: no scratch */
            dlp__reduce_begin(L->o.reduce, L->o.on_error != DLP_ON_ERROR_ABORT);
        L->progress_by_map = map;
        if (rt->rank == 0 && L->o.split == DLP_SPLIT_MANAGED)
            dlp__progress_begin(&L->progress, stderr, L->o.progress == DLP_PROGRESS_TTY ? 1 : -1,
                                n, L->o.label,
                                L->o.progress == DLP_PROGRESS_TTY ? DLP_PROGRESS_ON
                                                                  : L->o.progress,
                                L->o.progress_interval, dlp__now());
        if (L->journaled) /* the journal's items count as done from the start */
            dlp__progress_resume(&L->progress, L->journal.done_before);
        if (L->o.collector && dlp__collector_begin(L->o.collector, n, func) != DLP_OK)
            dlp__helper_abort(func, dlp_last_error(), MPI_SUCCESS);
        if (L->journaled || (L->o.journal && rt->rank != 0)) {
            L->journaled = 1;
            dlp__journal_start(&L->journal, L);
        }
        if (L->tracing && n > 0 &&
            dlp__trace_start(&L->trace, L->tracing & FLAG_TRACE_ITEMS, func) != DLP_OK)
            dlp__helper_abort(func, dlp_last_error(), MPI_SUCCESS);
        if (n == 0)
            L->tracing = 0;
        if (n > 0 && L->o.time_limit > 0) {
            if (dlp__watchdog_start(&L->watch, L->o.time_limit,
                                    L->o.on_error != DLP_ON_ERROR_SKIP, func) != DLP_OK)
                dlp__helper_abort(func, dlp_last_error(), MPI_SUCCESS);
            L->watching = 1;
        }
        rc = L->o.split == DLP_SPLIT_MANAGED ? setup_managed(L) : setup_round_robin(L);
        if (rc != DLP_OK) /* the other ranks are already computing */
            dlp__helper_abort(func, dlp_last_error(), MPI_SUCCESS);
        if (n > 0 && L->o.signals) {
            dlp__signals_catch(L->cursor, L->o.grace, func);
            L->catching = 1;
        }
    }
    if (rc != DLP_OK) {
        if (opts && opts->reduce) /* a failed call delivers no result */
            dlp__reduce_abandon(opts->reduce);
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

/* ------------------------------------------------------------ per item -- */

/* The master's node refills its cursor from the dispenser itself: at the
 * low-water mark, or when a thread needs an item (need; the mark may be -1,
 * see dlp__schedule_low_water). */
static void refill_local(struct dlp_loop *L, int need)
{
    struct dlp__cursor *c = L->cursor;
    if (!dlp__spin_trylock(&c->refill_lock))
        return;
    if (!atomic_load_explicit(&c->closed, memory_order_relaxed) &&
        (need || dlp__cursor_unclaimed(c) <= atomic_load_explicit(&c->low, memory_order_relaxed))) {
        double rate = dlp__cursor_rate(c, L->node_threads, dlp__now());
        long start = 0, left = 0,
             count = dlp__dispenser_next(L->disp, L->journaled ? &L->journal.skip : NULL,
                                         L->node_threads, L->total_threads, rate, &start, &left);
        if (count == 0)
            dlp__cursor_close(c);
        else if (dlp__cursor_append(c, start, count) != 0)
            dlp__helper_abort(L->func, "internal error: the chunk table is full", MPI_SUCCESS);
        /* refills are prompt: the thread that needs one takes it */
        atomic_store_explicit(&c->low,
                              dlp__schedule_low_water(L->node_threads, rate, 1, left,
                                                      L->total_threads),
                              memory_order_relaxed);
    }
    dlp__spin_unlock(&c->refill_lock);
}

/* Ticket k is beyond the chunks so far: get it backed, or learn it is void. */
static int wait_for_ticket(struct dlp_loop *L, long k)
{
    struct dlp__cursor *c = L->cursor;
    unsigned spins = 0, sleep_us = 1;
    for (;;) {
        if (atomic_load_explicit(&c->stop, memory_order_relaxed))
            return 0;
        if (L->disp)
            refill_local(L, k >= atomic_load_explicit(&c->avail, memory_order_acquire));
        else if (L->managed) {
            atomic_store_explicit(&c->want, 1, memory_order_seq_cst);
            dlp__doorbell_ring(&c->bell);
        }
        if (k < atomic_load_explicit(&c->avail, memory_order_acquire))
            return 1;
        if (atomic_load_explicit(&c->closed, memory_order_acquire))
            return k < atomic_load_explicit(&c->avail, memory_order_acquire);
        if (++spins < 64) {
            sched_yield();
        } else {
            dlp__sleep_us(sleep_us);
            sleep_us = sleep_us * 2 > DLP__WAIT_MAX_US ? DLP__WAIT_MAX_US : sleep_us * 2;
        }
    }
}

/* Tickets the thread claims next. Items are taken one at a time unless
 * they are cheap: a thread that ran its last claim at under
 * DLP__BATCH_TIME / n seconds per item claims enough for DLP__BATCH_TIME
 * (at most DLP__BATCH_MAX), so cheap items cost one shared atomic add per
 * batch instead of per item. A batch never holds more than a quarter of a
 * thread's share of the unclaimed items (guided), so the threads still end
 * within about one item of each other. The clock is read once per claim,
 * and only every 16th claim while items are slow. A thread of the range
 * form (pos->ranged) sizes its batches the same way to DLP__RANGE_TIME (at
 * most DLP__RANGE_MAX): its cost is per batch, not per item. */
static long claim_size(const struct dlp_loop *L, struct dlp__pos *pos, long unclaimed)
{
    if (pos->quiet > 0) {
        pos->quiet--;
        return 1;
    }
    double now = dlp__now();
    /* the range form's batches: DLP__RANGE_TIME, DLP__RANGE_MAX */
    double target = pos->ranged ? DLP__RANGE_TIME : DLP__BATCH_TIME;
    long most = pos->ranged ? DLP__RANGE_MAX : DLP__BATCH_MAX;
    long b = 1;
    if (pos->claimed_at > 0) {
        double per = (now - pos->claimed_at) / (double)pos->batch;
        if (per * 2 < target) {
            double want = per > 0 ? target / per : (double)most;
            b = want < (double)most ? (long)want : most;
            long share = unclaimed / (4 * (long)L->node_threads);
            b = share < b ? (share > 1 ? share : 1) : b;
        } else {
            pos->quiet = 15;
        }
    }
    pos->claimed_at = pos->quiet ? 0 : now;
    pos->batch = b;
    return b;
}

/* A claim under a thread-level policy (opts.thread_schedule, the P2 of
 * DLP_SCHEDULE=P1/P2; not auto): the policy's next chunk of the cursor's
 * round (dlp__cursor_claim). P is the threads sharing the cursor: the
 * node's (managed) or the rank's team (round robin). AWF's rate is the
 * thread's own: the tickets it claimed before over the time since its
 * first claim (they are done when it claims again). */
static long policy_claim(struct dlp_loop *L, struct dlp__pos *pos, long *b)
{
    struct dlp__ss_spec spec = dlp__schedule_spec(L->o.thread_schedule, L->o.thread_chunk);
    int team = L->managed ? L->node_threads : L->o.threads;
    double rate = 0;
    if (spec.kind == DLP__SS_AWF) {
        double now = dlp__now();
        if (pos->claimed == 0)
            pos->first_claim = now;
        else if (now > pos->first_claim)
            rate = (double)pos->claimed / (now - pos->first_claim);
    }
    long k = dlp__cursor_claim(L->cursor, &spec, team, rate, b);
    pos->claimed += *b;
    return k;
}

/* Round robin: has another rank stopped (its message is left for the
 * end of the call)? One thread looks at a time. */
static void look_for_stop(struct dlp_loop *L)
{
    double now = dlp__now_coarse();
    if (now < atomic_load_explicit(&L->next_probe, memory_order_relaxed) ||
        atomic_exchange(&L->probing, 1))
        return;
    int flag = 0;
    if (MPI_Iprobe(MPI_ANY_SOURCE, DLP__TAG_STOP, dlp__rt.comm, &flag, MPI_STATUS_IGNORE) ==
            MPI_SUCCESS &&
        flag)
        atomic_store(&L->cursor->stop, 1);
    atomic_store_explicit(&L->next_probe, now + DLP__STOP_PROBE, memory_order_relaxed);
    atomic_store(&L->probing, 0);
}

/* Round robin: tell every other rank that this one stopped (once). */
static void send_stops(struct dlp_loop *L)
{
    if (!L->stop_sent || atomic_exchange(&L->stopping, 1))
        return;
    for (int r = 0; r < dlp__rt.size; r++)
        if (r != dlp__rt.rank)
            DLP__HELPER_CHECK(L->func, MPI_Isend(&L->stop_word, 1, MPI_UNSIGNED_LONG, r,
                                                 DLP__TAG_STOP, dlp__rt.comm, &L->stop_sent[r]));
}

/* End of a round-robin call: complete the stops this rank sent, receive
 * those the others sent (every rank knows who sent, from the end's
 * allgather), so that none is left for a later call. */
static void settle_stops(struct dlp_loop *L, const long *sent, int stride)
{
    if (!L->stop_sent)
        return;
    for (int r = 0; r < dlp__rt.size; r++) {
        DLP__HELPER_CHECK(L->func, dlp__wait(&L->stop_sent[r]));
        if (r == dlp__rt.rank || !sent[(size_t)stride * (size_t)r])
            continue;
        unsigned long word;
        MPI_Request req;
        DLP__HELPER_CHECK(L->func, MPI_Irecv(&word, 1, MPI_UNSIGNED_LONG, r, DLP__TAG_STOP,
                                             dlp__rt.comm, &req));
        DLP__HELPER_CHECK(L->func, dlp__wait(&req));
        if (word != L->seq)
            dlp__helper_abort(L->func, "a stop message of another call", MPI_SUCCESS);
    }
}

/* Take the next ticket's item. */
static int take(struct dlp_loop *L, struct dlp__pos *pos, long *item)
{
    struct dlp__cursor *c = L->cursor;
    if (atomic_load_explicit(&c->stop, memory_order_relaxed))
        return 0;
    long k, a;
    if (pos->next < pos->end) {
        k = pos->next++;
        a = atomic_load_explicit(&c->avail, memory_order_acquire);
    } else {
        if (L->stop_sent) {
            look_for_stop(L);
            if (atomic_load_explicit(&c->stop, memory_order_relaxed))
                return 0;
        }
        long b;
        if (L->o.thread_schedule != DLP_SCHEDULE_AUTO) {
            k = policy_claim(L, pos, &b);
        } else {
            long a0 = atomic_load_explicit(&c->avail, memory_order_relaxed);
            long t0 = atomic_load_explicit(&c->ticket, memory_order_relaxed);
            b = claim_size(L, pos, a0 - t0);
            /* seq_cst: the agent's doorbell re-check must see this claim */
            k = atomic_fetch_add_explicit(&c->ticket, b, memory_order_seq_cst);
        }
        pos->next = k + 1;
        pos->end = k + b;
        a = atomic_load_explicit(&c->avail, memory_order_acquire);
        if (k + b <= a && a - (k + b) <= atomic_load_explicit(&c->low, memory_order_relaxed)) {
            /* unclaimed items now at the low-water mark: time for the next chunk */
            if (L->disp)
                refill_local(L, 0);
            else if (L->managed)
                dlp__doorbell_ring(&c->bell);
        }
    }
    if (k >= a && !wait_for_ticket(L, k)) {
        pos->next = pos->end; /* the later tickets are void too */
        return 0;
    }
    *item = dlp__cursor_item(c, &pos->j, k);
    return 1;
}

/* The same, publishing the item and its start for the time limit. */
static int take_watched(struct dlp_loop *L, struct dlp__pos *pos, long *item)
{
    struct dlp__watch_slot *slot = pos->slot;
    dlp__watch_item(slot, -1, 0);
    if (!take(L, pos, item))
        return 0;
    dlp__watch_item(slot, *item, dlp__now());
    return 1;
}

/* The range form: the thread's next batch, items *first + m * stride for
 * m < *count, all of one chunk of the cursor and of the thread's claim
 * (take() claims; the batch is what is left of the claim in the chunk of
 * its first ticket, up to the backed tickets). Items a journal recorded as
 * done are skipped, and a batch ends before the next of them. 0 when the
 * thread has no more items. */
static int take_range(struct dlp_loop *L, struct dlp__pos *pos, long *first, long *count)
{
    const struct dlp__cursor *c = L->cursor;
    for (;;) {
        long item;
        if (!take(L, pos, &item))
            return 0;
        long k = pos->next - 1; /* the ticket take() took */
        const struct dlp__chunk *ch = &c->chunk[pos->j];
        long a = atomic_load_explicit(&c->avail, memory_order_acquire);
        long lim = ch->first + ch->count;
        lim = lim < pos->end ? lim : pos->end;
        lim = lim < a ? lim : a; /* a > k: take() waited for it */
        long n = lim - k;
        if (L->journaled) {
            const struct dlp__ranges *done = &L->journal.skip;
            if (dlp__ranges_contains(done, item, &pos->hint)) { /* to its end */
                long skip = (done->r[pos->hint][1] - item + c->stride - 1) / c->stride;
                pos->next = skip < n ? k + skip : lim;
                continue;
            }
            if (pos->hint < done->len) { /* up to the next done range */
                long fit = (done->r[pos->hint][0] - item + c->stride - 1) / c->stride;
                n = fit < n ? fit : n;
            }
        }
        pos->next = k + n;
        *first = item;
        *count = n;
        return 1;
    }
}

/* The journal's note of entry (done i or failed ~i) by this thread. */
static void note(struct dlp_loop *L, struct dlp__jslot **js, long entry)
{
    if (!*js)
        *js = dlp__journal_slot(&L->journal);
    dlp__journal_note(&L->journal, *js, entry);
}

void dlp__loop_done(struct dlp_loop *L, struct dlp__jslot **js, long i)
{
    atomic_fetch_add_explicit(&L->completed, 1, memory_order_relaxed);
    if (L->journaled)
        note(L, js, i);
}

void dlp__loop_noted(struct dlp_loop *L, struct dlp__jslot **js, long i)
{
    if (L->journaled)
        note(L, js, i);
}

void dlp__loop_count(struct dlp_loop *L, long items)
{
    atomic_fetch_add_explicit(&L->completed, items, memory_order_relaxed);
}

/* The thread's previous item is done (unless it failed: cur = -1). */
static inline void finish_item(struct dlp_loop *L, struct dlp__pos *pos)
{
    if (L->o.reduce)
        dlp__reduce_item_end(1);
    if (L->done_by_take) {
        pos->completed++;
        if (L->journaled)
            note(L, &pos->js, pos->cur);
    }
    pos->cur = -1;
}

/* The thread's first take in call L: a fresh position. */
static void pos_enter(struct dlp_loop *L, struct dlp__pos *pos)
{
    struct dlp__pos fresh = DLP__POS_INIT;
    *pos = fresh;
    pos->seq = L->seq;
    pos->slot = L->watching ? dlp__watchdog_claim(&L->watch, omp_get_thread_num()) : NULL;
    pos->tracer = L->tracing ? dlp__trace_claim(&L->trace, omp_get_thread_num()) : NULL;
}

/* The thread's range-form batch is done: its items count (less those that
 * failed), the journal notes them (a failed item's ~i, noted when it
 * failed, wins over its i in the same run), and the reduction's scratch is
 * merged: a failed item's contribution is what the thread added for it. */
static void finish_range(struct dlp_loop *L, struct dlp__pos *pos)
{
    if (L->o.reduce)
        dlp__reduce_item_end(1);
    pos->completed += pos->rcount - pos->rfailed;
    if (L->journaled)
        for (long m = 0, i = pos->rfirst; m < pos->rcount; m++, i += pos->rstride)
            note(L, &pos->js, i);
    pos->rcount = 0;
    pos->rfailed = 0;
    pos->rlastfail = -1;
}

int dlp__loop_take(struct dlp_loop *L, struct dlp__pos *pos, long *item)
{
    if (pos->seq != L->seq)
        pos_enter(L, pos);
    if (pos->cur >= 0)
        finish_item(L, pos);
    for (;;) {
        if (!(pos->slot ? take_watched(L, pos, item) : take(L, pos, item)))
            return 0;
        /* items a journal recorded in an earlier run are skipped */
        if (!L->journaled || !dlp__ranges_contains(&L->journal.skip, *item, &pos->hint))
            break;
    }
    pos->cur = *item;
    if (pos->tracer)
        dlp__trace_item(&L->trace, pos->tracer, pos->j, *item, 1);
    return 1;
}

void dlp__loop_leave(struct dlp_loop *L, struct dlp__pos *pos)
{
    dlp__loop_idle(pos);
    if (pos->seq != L->seq)
        return; /* took nothing */
    if (pos->tracer)
        dlp__trace_leave(&L->trace, pos->tracer);
    if (pos->cur >= 0)
        finish_item(L, pos);
    if (pos->rcount > 0)
        finish_range(L, pos);
    if (pos->completed)
        atomic_fetch_add_explicit(&L->completed, pos->completed, memory_order_relaxed);
    pos->completed = 0;
}

void dlp__loop_item_failure(struct dlp_loop *L, long item, int thread, int code, int value,
                            const char *msg)
{
    dlp__failures_add(&L->failures, item, thread, code, value, msg);
    if (!L->failures.keep_all) /* skip: go on */
        dlp__loop_stop(L);
}

void dlp__loop_failure(struct dlp_loop *L, long item, int thread, int code, const char *fmt,
                       ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dlp__loop_item_failure(L, item, thread, code, 0, msg);
}

void dlp__loop_misuse(struct dlp_loop *L, int code, const char *fmt, ...)
{
    if (atomic_exchange(&L->misuse_claimed, 1))
        return; /* the first is reported */
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(L->misuse_msg, sizeof L->misuse_msg, "%s (on rank %d, thread %d, host %s)", what,
             dlp__rt.rank, omp_get_thread_num(), dlp__rt.host);
    L->misuse = code; /* read by the main thread after the team is joined */
    dlp__loop_stop(L);
}

void dlp__loop_stop(struct dlp_loop *L)
{
    atomic_store(&L->cursor->stop, 1);
    dlp__doorbell_ring(&L->cursor->bell);
    if (L->disp)
        dlp__dispenser_stop(L->disp);
    send_stops(L);
}

/* ------------------------------------------------------------------ end -- */

/* A misuse on rank `from` (code): every rank gets its report (one more
 * collective, only then) and returns it. */
static int misused(struct dlp_loop *L, int from, int code)
{
    const struct dlp__runtime *rt = &dlp__rt;
    char text[sizeof L->misuse_msg];
    if (rt->rank == from)
        memcpy(text, L->misuse_msg, sizeof text);
    MPI_Request req;
    DLP_MPI_CALL(MPI_Ibcast(text, (int)sizeof text, MPI_CHAR, from, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    text[sizeof text - 1] = '\0';
    char msg[1024];
    snprintf(msg, sizeof msg, "%s: %s [%s]", L->func, text, dlp_strerror(code));
    return dlp__set_message(code, msg);
}

/* The call was interrupted by a signal on some rank: the report says
 * where, and how many items remain. */
static int interrupted(struct dlp_loop *L, const long *all, size_t w, long failed)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int first = -1, ranks = 0;
    long done = L->journaled ? L->journal.done_before : 0;
    for (int r = 0; r < rt->size; r++) {
        if (all[w * (size_t)r + 2] && first < 0)
            first = r;
        ranks += all[w * (size_t)r + 2] != 0;
        done += all[w * (size_t)r + 3];
    }
    char name[32], journal[512] = "", fails[64] = "";
    if (L->journaled)
        snprintf(journal, sizeof journal,
                 "; the journal %s records the %ld done: run again to resume",
                 L->o.journal, done);
    if (failed)
        snprintf(fails, sizeof fails, " (and %ld item%s failed)", failed, failed == 1 ? "" : "s");
    return dlp__fail(DLP_ERR_INTERRUPTED, L->func,
                     "interrupted by %s (on %d of %d ranks, first rank %d): work stopped "
                     "after the running items; %ld of n = %ld items remain%s%s",
                     dlp__signal_name((int)all[w * (size_t)first + 2], name,
                                      sizeof name),
                     ranks, rt->size, first, L->n - done, L->n, fails, journal);
}

/* Every rank learns every rank's failures (failures.c) and signals;
 * returns the outcome. One allgather, plus one more only when something
 * failed. It also carries whether each rank's dense results are ready to
 * move (results_ok): *all_results_ok is 1 when every rank's are. */
static int agree_on_outcome(struct dlp_loop *L, int results_ok, int *all_results_ok,
                            long *done_all, long *failed_all_out)
{
    struct dlp__runtime *rt = &dlp__rt;
    const char *func = L->func;
    /* items handed out: a node's leader counts its node (managed), every
     * rank its own (round robin) */
    long handed = L->managed && rt->node_rank != 0 ? 0 : atomic_load(&L->cursor->avail);
    pthread_mutex_lock(&L->failures.lock);
    long failed = L->failures.count;
    pthread_mutex_unlock(&L->failures.lock);
    /* the record, and the rank's value of a small built-in reduction */
    size_t w = OUTCOME_WORDS + L->reduce_packed / sizeof(long);
    long *all = L->outcome ? L->outcome : (long *)rt->scratch;
    long *mine = all + w * (size_t)rt->rank;
    _Static_assert(sizeof(long) * OUTCOME_WORDS <= DLP__SCRATCH_PER_RANK, "scratch too small");
    mine[0] = failed;
    mine[1] = handed;
    mine[2] = L->catching ? dlp__signal_caught() : 0;
    mine[3] = atomic_load(&L->completed);
    mine[4] = atomic_load(&L->stopping);
    mine[5] = results_ok;
    mine[6] = L->misuse;
    if (L->reduce_packed)
        dlp__reduce_pack(L->o.reduce, mine + OUTCOME_WORDS);
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, (int)w, MPI_LONG,
                                rt->comm, &req));
    if (rt->rank == 0) /* the leaders that wait for this wake now (dlp__wait_end) */
        dlp__netbell_ring_nodes();
    DLP_MPI_CALL(dlp__wait_end(&req));
    settle_stops(L, all + 4, (int)w);
    long total = 0, failed_all = 0;
    int first = -1, signalled = 0, misuse_from = -1;
    *all_results_ok = 1;
    for (int r = 0; r < rt->size; r++) {
        *all_results_ok &= all[w * (size_t)r + 5] != 0;
        if (all[w * (size_t)r + 6] && misuse_from < 0)
            misuse_from = r;
        if (all[w * (size_t)r] > 0 && first < 0)
            first = r;
        failed_all += all[w * (size_t)r];
        total += all[w * (size_t)r + 1];
        signalled |= all[w * (size_t)r + 2] != 0;
        *done_all += all[w * (size_t)r + 3];
    }
    *failed_all_out = failed_all;
    if (misuse_from >= 0) /* a wrong program: before what its items did */
        return misused(L, misuse_from, (int)all[w * (size_t)misuse_from + 6]);
    if (signalled)
        return interrupted(L, all, w, failed_all);
    if (first < 0) {
        /* managed: the items a journal had done were not handed out */
        long expected = L->n - (L->managed && L->journaled ? L->journal.done_before : 0);
        if (total != expected)
            return dlp__fail(DLP_ERR_STATE, func,
                             "%ld of n = %ld items were handed out: a thread stopped calling "
                             "dlp_loop_next() before it returned 0",
                             total, L->n);
        return DLP_OK;
    }
    long *counts = malloc(sizeof(long) * (size_t)rt->size);
    if (!counts)
        dlp__helper_abort(func, "out of memory for the failure counts", MPI_SUCCESS);
    for (int r = 0; r < rt->size; r++)
        counts[r] = all[w * (size_t)r];
    int rc = dlp__failures_agree(&L->failures, counts, func);
    free(counts);
    return rc;
}

int dlp__loop_end(struct dlp_loop **pL)
{
    struct dlp_loop *L = *pL;
    *pL = NULL;
    atomic_store_explicit(&running, NULL, memory_order_relaxed);
    L->trace.t_end = dlp__now();
    if (L->watching)
        dlp__watchdog_stop(&L->watch);
    if (L->managed) {
        atomic_fetch_add(&L->cursor->ended, 1);
        dlp__doorbell_ring(&L->cursor->bell);
    }
    if (L->has_helper) {
        atomic_store(&L->draining, 1);
        dlp__doorbell_ring(&L->helper_bell);
        dlp__netbell_ring_local(); /* a no-op unless rank 0's dispatcher has node doorbells */
        pthread_join(L->helper, NULL);
    }
    if (L->journaled)
        dlp__journal_finish(&L->journal);
    if (L->tracing)
        dlp__trace_finish(&L->trace, L, L->trace_path, L->tracing & FLAG_STATS);
    /* the dense results' plan first: the agreement says whether every
     * rank's is ready, so that no rank waits in a transfer another skips */
    struct dlp__results_plan plan;
    memset(&plan, 0, sizeof plan);
    int prepared = L->o.results ? dlp__results_prepare(L, &plan) : DLP_OK, results_ok = 0;
    long done = L->journaled ? L->journal.done_before : 0, failed = 0;
    int rc = agree_on_outcome(L, prepared == DLP_OK, &results_ok, &done, &failed);
    int completed = rc == DLP_OK || rc == DLP_SKIPPED;
    if (L->progress.active) /* every item handled, or exactly those done */
        dlp__progress_end(&L->progress, completed ? L->n : done, completed,
                          rc == DLP_SKIPPED ? failed : 0, dlp__now());
    /* Both collects are collective: each runs whenever the call completed
     * (DLP_OK, or DLP_SKIPPED under skip: the same on every rank), whatever
     * the other one returned; a failed collect's error replaces the status. */
    if (completed && L->o.results) {
        int mrc;
        if (prepared != DLP_OK)
            mrc = prepared;
        else if (!results_ok)
            mrc = DLP_FAIL(DLP_ERR_NOMEM, L->func,
                           "another rank could not prepare the transfer of the dense results");
        else
            mrc = dlp__results_move(L, &plan);
        rc = mrc != DLP_OK ? mrc : rc;
    }
    dlp__results_release(&plan);
    if (completed && L->o.results && L->o.on_all_ranks) {
        int src = dlp__results_share(L->o.results, L->func);
        rc = src != DLP_OK && rc >= 0 ? src : rc;
    }
    if (L->o.reduce) {
        int rrc = DLP_OK;
        if (completed && L->reduce_packed) /* every rank's value came with the outcome */
            dlp__reduce_finish_packed(L->o.reduce, L->outcome + OUTCOME_WORDS,
                                      sizeof(long) * OUTCOME_WORDS + L->reduce_packed,
                                      L->o.on_all_ranks);
        else if (completed)
            rrc = dlp__reduce_finish(L->o.reduce, L->o.on_all_ranks, L->func);
        else
            dlp__reduce_abandon(L->o.reduce);
        rc = rrc != DLP_OK && rc >= 0 ? rrc : rc;
    }
    if (L->o.collector) {
        int crc = completed ? dlp__collector_collect(L->o.collector, L->func) : rc;
        if (!completed)
            dlp__collector_abandon(L->o.collector);
        if (rc >= 0 && crc != DLP_OK)
            rc = crc;
    }
    if (L->catching) /* (a rank that waits for the others is still in the call) */
        dlp__signals_release();
    loop_free(L);
    atomic_store(&dlp__rt.in_call, 0);
    return rc;
}

/* ------------------------------------------------------------ loop form -- */

static _Thread_local struct dlp__pos tls_pos;

int dlp_loop_begin(dlp_loop **loop, long n, const dlp_opts *opts)
{
    return dlp__loop_begin(loop, n, opts, -1, NULL, "dlp_loop_begin");
}

enum { FORM_ITEMS = 1, FORM_RANGES = 2 };

/* A thread takes in `form` although the loop's threads take the other
 * way: the call fails on every rank (the items' bookkeeping differs). */
static int wrong_form(dlp_loop *loop, int form)
{
    static const char *name[] = {"", "dlp_loop_next()", "dlp_loop_next_range()"};
    dlp__loop_misuse(loop, DLP_ERR_STATE,
                     "%s in a loop whose threads take items with %s: a loop takes its items "
                     "one way, all of them with dlp_loop_next() or all with "
                     "dlp_loop_next_range()",
                     name[form], name[form == FORM_ITEMS ? FORM_RANGES : FORM_ITEMS]);
    return 0;
}

/* The calling thread's first take in the call: the loop's form is the
 * first thread's. 1 when the thread may take in `form`. */
static int first_take(dlp_loop *loop, int form)
{
    int none = 0;
    if (!atomic_compare_exchange_strong(&loop->form, &none, form) && none != form)
        return wrong_form(loop, form);
    pos_enter(loop, &tls_pos);
    tls_pos.ranged = form == FORM_RANGES;
    return 1;
}

int dlp_loop_next(dlp_loop *loop, long *i)
{
    if (!loop || !i)
        return 0;
    if (tls_pos.seq != loop->seq) {
        if (!first_take(loop, FORM_ITEMS))
            return 0;
    } else if (tls_pos.ranged) {
        return wrong_form(loop, FORM_ITEMS);
    }
    if (dlp__loop_take(loop, &tls_pos, i))
        return 1;
    dlp__loop_leave(loop, &tls_pos);
    return 0;
}

int dlp_loop_next_range(dlp_loop *loop, long *begin, long *end, long *step)
{
    if (!loop || !begin || !end || !step)
        return 0;
    struct dlp__pos *pos = &tls_pos;
    if (pos->seq != loop->seq) {
        if (!first_take(loop, FORM_RANGES))
            return 0;
    } else if (!pos->ranged) {
        return wrong_form(loop, FORM_RANGES);
    }
    if (pos->rcount > 0)
        finish_range(loop, pos);
    dlp__loop_idle(pos);
    long first, count;
    if (!take_range(loop, pos, &first, &count)) {
        dlp__loop_leave(loop, pos);
        return 0;
    }
    long stride = loop->cursor->stride;
    pos->rfirst = first;
    pos->rcount = count;
    pos->rstride = stride;
    if (pos->slot)
        dlp__watch_range(pos->slot, first, first + (count - 1) * stride, dlp__now());
    if (pos->tracer)
        dlp__trace_item(&loop->trace, pos->tracer, pos->j, first, count);
    *begin = first;
    *end = first + (count - 1) * stride + 1;
    *step = stride;
    return 1;
}

/* Is item i one of the thread's range-form batch? */
static int in_batch(const struct dlp__pos *pos, long i)
{
    long d = i - pos->rfirst;
    return pos->rcount > 0 && d >= 0 && d % pos->rstride == 0 && d / pos->rstride < pos->rcount;
}

static void fail_item(dlp_loop *loop, long i, const char *msg)
{
    dlp__loop_item_failure(loop, i, omp_get_thread_num(), DLP_ERR_ITEM, 0, msg);
    if (tls_pos.seq == loop->seq && tls_pos.cur == i) { /* the item ended, failed */
        if (loop->o.reduce)
            dlp__reduce_item_end(0);
        tls_pos.cur = -1;
        dlp__loop_idle(&tls_pos);
    } else if (tls_pos.seq == loop->seq && in_batch(&tls_pos, i)) {
        /* an item of the thread's batch: the rest of the batch goes on */
        if (i != tls_pos.rlastfail)
            tls_pos.rfailed++;
        tls_pos.rlastfail = i;
        if (loop->journaled)
            note(loop, &tls_pos.js, ~i);
    } else if (loop->journaled) { /* perhaps noted as done already: the failure wins */
        struct dlp__jslot *js = tls_pos.seq == loop->seq ? tls_pos.js : NULL;
        note(loop, &js, ~i);
        if (tls_pos.seq == loop->seq)
            tls_pos.js = js;
    }
}

int dlp_loop_fail(dlp_loop *loop, long i, const char *fmt, ...)
{
    if (!loop)
        return dlp__fail(DLP_ERR_ARG, "dlp_loop_fail", "loop is NULL");
    char msg[512] = "failed";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (i < 0 || i >= loop->n) { /* not an item: fail the call, journal nothing */
        dlp__loop_failure(loop, -1, omp_get_thread_num(), DLP_ERR_ARG,
                          "dlp_loop_fail: item %ld is not one of the loop's items 0..%ld "
                          "(n = %ld): %s",
                          i, loop->n - 1, loop->n, msg);
        return dlp__fail(DLP_ERR_ARG, "dlp_loop_fail",
                         "item %ld is not one of the loop's items 0..%ld (n = %ld)", i,
                         loop->n - 1, loop->n);
    }
    fail_item(loop, i, msg);
    return DLP_OK;
}

int dlp__loop_fail_current(const char *msg)
{
    struct dlp_loop *L = dlp__loop_running(); /* tls_pos: the loop form's threads only */
    if (!L || tls_pos.seq != L->seq || tls_pos.cur < 0)
        return DLP_ERR_STATE;
    fail_item(L, tls_pos.cur, msg);
    return DLP_OK;
}

int dlp_loop_end(dlp_loop **loop)
{
    if (!loop || !*loop)
        return dlp__fail(DLP_ERR_ARG, "dlp_loop_end", "loop is NULL");
    DLP_CALL(dlp__check_main("dlp_loop_end"));
    (*loop)->func = "dlp_loop_end";
    return dlp__loop_end(loop);
}
