/* The handshake: every rank's view of a call (its n, options and local
 * checks) compared on every rank in the set-up's one collective. */
#include "handshake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "clock.h"
#include "error.h"
#include "node_region.h"
#include "outcome.h"
#include "reduce.h"
#include "results.h"
#include "runtime.h"
#include "signals.h"
#include "wait.h"

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
enum {
    FLAG_JOURNAL = 1,
    FLAG_TRACE = DLP__TRACING_TRACE,
    FLAG_TRACE_ITEMS = DLP__TRACING_ITEMS,
    FLAG_STATS = DLP__TRACING_STATS
};

/* The master's DLP_TRACE / DLP_TRACE_ITEMS / DLP_STATS as flags (read
 * with the options). */
static int trace_flags(struct dlp_loop *L)
{
    L->trace_path = L->o.trace;
    return (L->o.trace ? FLAG_TRACE : 0) |
           (L->o.trace && L->o.trace_items ? FLAG_TRACE_ITEMS : 0) |
           (L->o.stats ? FLAG_STATS : 0);
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

/* This rank's own checks of the call: bad_arg, n, the options and what
 * they allow together. */
static int local_checks(struct dlp_loop *L, const dlp_opts *opts, int split, const char *bad_arg)
{
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
        rc = dlp__collective_timeout_of(dlp__knob("DLP_COLLECTIVE_TIMEOUT"), &timeout, func);
    return rc;
}

/* What the call needs before the handshake (so that a rank that cannot
 * have it says so there): the master's journal, the thread table, the
 * end's agreement record; the node's cursor reset (managed). */
static int prepare(struct dlp_loop *L, int rc)
{
    struct dlp__runtime *rt = &dlp__rt;
    if (rc == DLP_OK && L->o.journal && rt->rank == 0) {
        rc = dlp__journal_open(&L->journal, L->o.journal, L->o.journal_sync, rt->call_seq + 1,
                               L->n, L->func);
        L->journaled = rc == DLP_OK;
    }
    if (rc == DLP_OK) {
        L->threads_of_node = calloc((size_t)rt->nodes, sizeof(int));
        if (!L->threads_of_node)
            rc = DLP_FAIL(DLP_ERR_NOMEM, L->func, "thread table of %d nodes", rt->nodes);
    }
    if (rc == DLP_OK)
        rc = dlp__outcome_buffer(L);
    if (rc == DLP_OK && L->o.split == DLP_SPLIT_MANAGED)
        /* the handshake's allgather doubles as the barrier after the reset */
        dlp__node_region_reset(L->n, L->journaled ? L->journal.done_before : 0, L->o.schedule,
                               L->o.chunk, L->o.chunk_time);
    return rc;
}

/* This rank's handshake, with its status rc so far. */
static struct handshake my_handshake(struct dlp_loop *L, int rc)
{
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
                                      (dlp__rt.rank == 0 ? trace_flags(L) : 0),
                             .retries = L->o.retries};
    return mine;
}

/* A large job's threads (dlp__entry_reduces(): the entry compared the
 * handshakes without their threads and the master's trace flags): the
 * job's threads and the master's flags in one sum, the node's threads over
 * the node's communicator, and every node's gathered by the master (its
 * dispatcher's, O(ranks) there only). Every rank takes part once the entry
 * succeeded everywhere. */
static void count_threads(struct dlp_loop *L, int threads, int master_flags,
                          const struct dlp__what *what)
{
    const struct dlp__runtime *rt = &dlp__rt;
    long in[2] = {threads, rt->rank == 0 ? master_flags : 0}, sum[2];
    int node_threads = 0;
    int *per_rank = NULL;
    if (rt->rank == 0 && !(per_rank = malloc(sizeof(int) * (size_t)rt->size)))
        dlp__helper_abort(L->func, "out of memory for the threads of every rank", MPI_SUCCESS);
    MPI_Request req[3];
    int mrc = MPI_Iallreduce(in, sum, 2, MPI_LONG, MPI_SUM, rt->comm, &req[0]);
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Iallreduce(&threads, &node_threads, 1, MPI_INT, MPI_SUM, rt->node_comm,
                             &req[1]);
    for (int k = 0; k < 2 && mrc == MPI_SUCCESS; k++)
        mrc = dlp__wait_for(&req[k], what, rt->collective_timeout);
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Igather(&node_threads, 1, MPI_INT, per_rank, 1, MPI_INT, 0, rt->comm, &req[2]);
    if (mrc == MPI_SUCCESS)
        mrc = dlp__wait_for(&req[2], what, rt->collective_timeout);
    if (mrc != MPI_SUCCESS) /* the other ranks are in these collectives too */
        dlp__helper_abort(L->func, "the threads of the call's ranks could not be counted", mrc);
    L->total_threads = (int)sum[0];
    L->tracing = (int)sum[1] & (FLAG_TRACE | FLAG_TRACE_ITEMS | FLAG_STATS);
    L->threads_of_node[rt->node] = node_threads;
    for (int r = 0; per_rank && r < rt->size; r++)
        L->threads_of_node[rt->node_of_rank[r]] = per_rank[r];
    free(per_rank);
    L->node_threads = node_threads;
}

int dlp__handshake(struct dlp_loop *L, const dlp_opts *opts, int split, const char *bad_arg)
{
    struct dlp__runtime *rt = &dlp__rt;
    const char *func = L->func;
    int rc = prepare(L, local_checks(L, opts, split, bad_arg));
    struct handshake mine = my_handshake(L, rc);
    /* a large job compares what must agree in the entry's reduction (then
     * counts the threads apart) */
    const int reduced = dlp__entry_reduces();
    const int threads = mine.threads, master_flags = mine.flags & ~FLAG_JOURNAL;
    if (reduced) {
        mine.threads = 0;
        mine.flags &= FLAG_JOURNAL;
    }
    /* the entry: the handshake, then the reduction's shape and on_all_ranks */
    unsigned char args[sizeof mine + sizeof(struct dlp__reduce_shape)];
    memcpy(args, &mine, sizeof mine);
    struct dlp__reduce_shape shape;
    dlp__reduce_shape(L->o.reduce, L->o.on_all_ranks, &shape);
    memcpy(args + sizeof mine, &shape, sizeof shape);
    /* (written only when a wait's message is due) */
    const struct dlp__what what = {.call = func, .seq = rt->call_seq + 1, .n = L->n};
    const struct dlp__entry *every;
    rc = reduced ? dlp__enter_uniform(func, &what, rc, args, sizeof args, &every)
                 : dlp__enter(func, &what, rc, args, sizeof args, &every);
    struct handshake *all = (struct handshake *)rt->scratch;
    for (int r = 0; rc == DLP_OK && every && r < rt->size; r++)
        memcpy(&all[r], every[r].args, sizeof all[r]);
    if (rc == DLP_OK && every) /* (reduced: NULL when every rank passed the same) */
        rc = compare_handshakes(all, rt->size, func);
    if (rc == DLP_OK && every)
        rc = dlp__reduce_compare(every, rt->size, sizeof mine, func);
    if (rc != DLP_OK) {
        if (L->journaled)
            dlp__journal_close(&L->journal);
        L->journaled = 0;
        return rc;
    }
    if (reduced) {
        count_threads(L, threads, master_flags, &what);
    } else {
        L->tracing = all[0].flags & (FLAG_TRACE | FLAG_TRACE_ITEMS | FLAG_STATS);
        for (int r = 0; r < rt->size; r++) {
            L->threads_of_node[rt->node_of_rank[r]] += all[r].threads;
            L->total_threads += all[r].threads;
        }
        L->node_threads = L->threads_of_node[rt->node];
    }
    L->t_agreed = dlp__now();
    return DLP_OK;
}
