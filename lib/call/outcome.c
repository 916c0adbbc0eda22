/* The end of a call's agreement: every rank learns every rank's outcome
 * (failures, signals, misuse, items handed out and done) in one allgather
 * (an exchange, exchange.h). */
#include "outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "exchange.h"
#include "netbell.h"
#include "reduce.h"
#include "runtime.h"
#include "signals.h"
#include "stop.h"
#include "tags.h"
#include "wait.h"

#define OUTCOME_WORDS DLP__OUTCOME_WORDS

/* With no reduction to pack the record fits the runtime's scratch; else
 * its buffer is the call's own, made before the handshake (so that a rank
 * without memory says so there). The shape is the same on every rank once
 * the handshake agreed. */
int dlp__outcome_buffer(struct dlp_loop *L)
{
    const struct dlp__runtime *rt = &dlp__rt;
    /* (a reduced agreement carries no rank's value: the reduction's
     * messages combine them, dlp__reduce_finish) */
    L->reduce_packed = dlp__entry_reduces() ? 0 : dlp__reduce_packed_bytes(L->o.reduce, rt->size);
    if (!L->reduce_packed)
        return DLP_OK;
    size_t words = OUTCOME_WORDS + L->reduce_packed / sizeof(long);
    L->outcome = malloc(sizeof(long) * words * (size_t)rt->size);
    if (!L->outcome)
        return DLP_FAIL(DLP_ERR_NOMEM, L->func, "the end's agreement of %d ranks", rt->size);
    return DLP_OK;
}


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

/* This rank's record: its failures, items handed out (a node's leader
 * counts its node when managed, every rank its own in round robin), the
 * signal caught, items done, stop, results, misuse; then its value of a
 * small built-in reduction. */
static void fill_record(struct dlp_loop *L, long *mine, int results_ok)
{
    long handed = L->managed && dlp__rt.node_rank != 0 ? 0 : atomic_load(&L->cursor->avail);
    pthread_mutex_lock(&L->failures.lock);
    long failed = L->failures.count;
    pthread_mutex_unlock(&L->failures.lock);
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
}

/* What the ranks' records (all, w words each) say together. */
struct outcome_sum {
    long handed;      /* items handed out */
    long failed;      /* items failed */
    long done;        /* items done */
    int first;        /* the first rank with a failure, or -1 */
    int signalled;    /* some rank caught a signal */
    int misuse_from;  /* the first rank with a misuse, or -1 */
    int results_ok;   /* every rank's results are fine */
};

static struct outcome_sum sum_records(const long *all, size_t w)
{
    struct outcome_sum s = {.first = -1, .misuse_from = -1, .results_ok = 1};
    for (int r = 0; r < dlp__rt.size; r++) {
        const long *rec = all + w * (size_t)r;
        s.results_ok &= rec[5] != 0;
        if (rec[6] && s.misuse_from < 0)
            s.misuse_from = r;
        if (rec[0] > 0 && s.first < 0)
            s.first = r;
        s.failed += rec[0];
        s.handed += rec[1];
        s.signalled |= rec[2] != 0;
        s.done += rec[3];
    }
    return s;
}

/* No item failed: every item must have been handed out (managed: the
 * items a journal had done were not). */
static int check_handed(const struct dlp_loop *L, long handed)
{
    long expected = L->n - (L->managed && L->journaled ? L->journal.done_before : 0);
    if (handed != expected)
        return dlp__fail(DLP_ERR_STATE, L->func,
                         "%ld of n = %ld items were handed out: a thread stopped calling "
                         "dlp_loop_next() before it returned 0",
                         handed, L->n);
    return DLP_OK;
}

/* Items failed: the ranks agree on the failure list and the report. */
static int agree_failures(struct dlp_loop *L, const long *all, size_t w)
{
    long *counts = malloc(sizeof(long) * (size_t)dlp__rt.size);
    if (!counts)
        dlp__helper_abort(L->func, "out of memory for the failure counts", MPI_SUCCESS);
    for (int r = 0; r < dlp__rt.size; r++)
        counts[r] = all[w * (size_t)r];
    int rc = dlp__failures_agree(&L->failures, counts, L->func);
    free(counts);
    return rc;
}

/* Must the master ring the other nodes' doorbells for the end's agreement?
 * Their leaders wait for it in dlp__wait_end(), which spins
 * DLP__WAIT_SPIN_US before it sleeps on the doorbell. No rank completed
 * the handshake before the last one arrived, so no leader has waited
 * longer than the time since the master completed it (plus the master's
 * own delay in completing it): a call that reaches its end within half the
 * spin finds every leader still spinning, and a ring (a system call per
 * node, and a wake-up of its reader) is not needed. A leader that did fall
 * asleep anyway (it was preempted) wakes by its own backoff. */
static int ring_needed(const struct dlp_loop *L)
{
    return dlp__now() - L->t_agreed >= 0.5e-6 * DLP__WAIT_SPIN_US;
}

/* Complete the end's collective op, which this rank has just posted: the
 * master rings the leaders first when they may sleep. */
static int wait_end(const struct dlp_loop *L, dlp__test_fn *test, void *op)
{
    if (dlp__rt.rank == 0 && ring_needed(L))
        dlp__netbell_ring_nodes();
    return dlp__wait_end(test, op);
}

/* The end's agreement of a large job (dlp__entry_reduces()): first a sum
 * of every rank's record, O(log ranks) in time and bytes. The records'
 * words that are not sums (failures, signals, stops, results not ready,
 * misuse) are summed as counts of ranks; when all of these are 0 (a call
 * that went well), the sum is the whole outcome and *done the only
 * thing left to take. Else (*plain = 0) the allgather follows, as in a
 * small job. */
static int agree_by_sum(struct dlp_loop *L, const long *mine, long *handed, long *done,
                        int *plain)
{
    long in[OUTCOME_WORDS], sum[OUTCOME_WORDS];
    for (int k = 0; k < OUTCOME_WORDS; k++)
        in[k] = k == 1 || k == 3 ? mine[k] : k == 5 ? !mine[k] : mine[k] != 0;
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallreduce(in, sum, OUTCOME_WORDS, MPI_LONG, MPI_SUM, dlp__rt.comm, &req));
    DLP_MPI_CALL(wait_end(L, dlp__test_request, &req));
    *plain = sum[0] == 0 && sum[2] == 0 && sum[4] == 0 && sum[5] == 0 && sum[6] == 0;
    *handed = sum[1];
    *done = sum[3];
    return DLP_OK;
}

int dlp__outcome_agree(struct dlp_loop *L, int results_ok, int *all_results_ok,
                       long *done_all, long *failed_all_out)
{
    struct dlp__runtime *rt = &dlp__rt;
    /* the record, and the rank's value of a small built-in reduction */
    size_t w = OUTCOME_WORDS + L->reduce_packed / sizeof(long);
    long *all = L->outcome ? L->outcome : (long *)rt->scratch;
    fill_record(L, all + w * (size_t)rt->rank, results_ok);
    if (rt->size > 1 && dlp__entry_reduces()) {
        long handed, done;
        int plain;
        DLP_CALL(agree_by_sum(L, all + w * (size_t)rt->rank, &handed, &done, &plain));
        if (plain) { /* (no rank stopped: no stop messages to settle) */
            *all_results_ok = 1;
            *done_all += done;
            *failed_all_out = 0;
            return check_handed(L, handed);
        }
    }
    if (rt->size > 1) { /* (alone, the record is every rank's already) */
        struct dlp__exchange x;
        DLP_MPI_CALL(dlp__exchange_start(&x, all + w * (size_t)rt->rank, all, sizeof(long) * w,
                                         rt->comm, rt->rank, rt->size, DLP__TAG_OUTCOME));
        DLP_MPI_CALL(wait_end(L, dlp__exchange_test, &x));
    }
    dlp__stop_settle(L, all + 4, (int)w);
    struct outcome_sum s = sum_records(all, w);
    *all_results_ok = s.results_ok;
    *done_all += s.done;
    *failed_all_out = s.failed;
    if (s.misuse_from >= 0) /* a wrong program: before what its items did */
        return misused(L, s.misuse_from, (int)all[w * (size_t)s.misuse_from + 6]);
    if (s.signalled)
        return interrupted(L, all, w, s.failed);
    if (s.first < 0)
        return check_handed(L, s.handed);
    return agree_failures(L, all, w);
}
