/* The hot path of a parallel call: a thread takes its next item (or the
 * range form's next batch) from the call's cursor, claiming tickets in
 * batches, refilling the cursor or waiting for it; and the bookkeeping of
 * the items it is done with. */
#include "take.h"

#include <omp.h>
#include <sched.h>

#include "doorbell.h"
#include "reduce.h"
#include "runtime.h"
#include "spinlock.h"
#include "stop.h"
#include "wait.h"

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

/* A remote node's thread waits for ticket k: asleep until the agent opens
 * the cursor's gate (a chunk came, the cursor closed, or a stop); the
 * timeout is a safety net. */
static void sleep_at_gate(struct dlp__cursor *c, long k)
{
    atomic_fetch_add_explicit(&c->sleepers, 1, memory_order_seq_cst);
    int seen = atomic_load_explicit(&c->gate, memory_order_seq_cst);
    if (k >= atomic_load_explicit(&c->avail, memory_order_acquire) &&
        !atomic_load_explicit(&c->closed, memory_order_acquire) &&
        !atomic_load_explicit(&c->stop, memory_order_relaxed))
        dlp__gate_wait(&c->gate, seen, DLP__GATE_NAP_US);
    atomic_fetch_sub_explicit(&c->sleepers, 1, memory_order_relaxed);
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
            if (L->has_helper) /* this rank's helper is the node's agent */
                dlp__agent_help(L);
        }
        if (k < atomic_load_explicit(&c->avail, memory_order_acquire))
            return 1;
        if (atomic_load_explicit(&c->closed, memory_order_acquire))
            return k < atomic_load_explicit(&c->avail, memory_order_acquire);
        if (++spins < 64) {
            sched_yield();
        } else if (L->managed && !L->disp) {
            sleep_at_gate(c, k);
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
 * batch instead of per item. A batch never holds more than half of a
 * thread's share of the unclaimed items (guided, as factoring's batches;
 * the threads sharing the cursor: the node's when managed, the rank's
 * team in round robin), so the threads still end within about one batch,
 * at most DLP__BATCH_TIME of work, of each other. A quarter made a call of
 * a few cheap items claim them one by one, each claim a shared cache line
 * that moves between the threads (docs/call_cost.md); a thread alone
 * needs no such bound. The clock is read once per claim, and only every
 * 16th claim while items are slow. A thread of the range
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
            /* the threads that share the cursor: the node's (managed), or
             * the rank's team (round robin); one alone balances nothing */
            long team = L->managed ? L->node_threads : L->o.threads;
            long share = unclaimed / (2 * team);
            if (team > 1)
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
        if (L->stop_messages) {
            dlp__stop_look(L);
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

/* (take() claims; the batch is what is left of the claim in the chunk of
 * its first ticket, up to the backed tickets.) */
int dlp__take_range(struct dlp_loop *L, struct dlp__pos *pos, long *first, long *count)
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

void dlp__loop_note(struct dlp_loop *L, struct dlp__jslot **js, long entry)
{
    if (!*js)
        *js = dlp__journal_slot(&L->journal);
    dlp__journal_note(&L->journal, *js, entry);
}

void dlp__loop_done(struct dlp_loop *L, struct dlp__jslot **js, long i)
{
    atomic_fetch_add_explicit(&L->completed, 1, memory_order_relaxed);
    if (L->journaled)
        dlp__loop_note(L, js, i);
}

void dlp__loop_noted(struct dlp_loop *L, struct dlp__jslot **js, long i)
{
    if (L->journaled)
        dlp__loop_note(L, js, i);
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
            dlp__loop_note(L, &pos->js, pos->cur);
    }
    pos->cur = -1;
}

void dlp__pos_enter(struct dlp_loop *L, struct dlp__pos *pos)
{
    struct dlp__pos fresh = DLP__POS_INIT;
    *pos = fresh;
    pos->seq = L->seq;
    pos->slot = L->watching ? dlp__watchdog_claim(&L->watch, omp_get_thread_num()) : NULL;
    pos->tracer = L->tracing ? dlp__trace_claim(&L->trace, omp_get_thread_num()) : NULL;
}

void dlp__finish_range(struct dlp_loop *L, struct dlp__pos *pos)
{
    if (L->o.reduce)
        dlp__reduce_item_end(1);
    pos->completed += pos->rcount - pos->rfailed;
    if (L->journaled)
        for (long m = 0, i = pos->rfirst; m < pos->rcount; m++, i += pos->rstride)
            dlp__loop_note(L, &pos->js, i);
    pos->rcount = 0;
    pos->rfailed = 0;
    pos->rlastfail = -1;
}

int dlp__loop_take(struct dlp_loop *L, struct dlp__pos *pos, long *item)
{
    if (pos->seq != L->seq)
        dlp__pos_enter(L, pos);
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
        dlp__finish_range(L, pos);
    if (pos->completed)
        atomic_fetch_add_explicit(&L->completed, pos->completed, memory_order_relaxed);
    pos->completed = 0;
}
