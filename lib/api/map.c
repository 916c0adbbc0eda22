/* dlp_map_unordered and its loop form (dlp_map_begin/next/end): every
 * rank's team computes items (managed splitting); their results travel with
 * their item index to the master, where they are handed out one at a time
 * in arrival order — to the user's callback on a consumer thread, or to the
 * caller of dlp_map_next() — while all teams (the master's too) keep
 * computing. This file: the calls and the team threads; map_sender.c and
 * map_consumer.c: the two helpers.
 *
 * Data path. Each team thread appends (item, bytes) to a batch of its
 * own (no lock, no atomic per result) and hands the batch to its rank's
 * helper thread (a lock-free push, then a ring of the helper's doorbell)
 * when it reaches a threshold (DLP__MAP_RING_MAX at most, less for small
 * windows) or when the helper asked for it: helpers ask every
 * DLP__MAP_LINGER_US, and a thread hands over after the item it is
 * running. So results move in batches of many where they come fast, and
 * one by one, a few milliseconds late at most, where they are rare.
 *   - on the master the helper is the consumer: it takes the handed
 *     batches as they are (no copy through MPI) and receives the other
 *     ranks' batches;
 *   - on every other rank the helper is a sender: it ships each handed
 *     batch to the master as one message.
 * Helpers sleep on their doorbell until rung (or the linger passes); only
 * the consumer's look for other ranks' batches, and a sender's look for an
 * ack that a thread waits for, poll (MPI has no wake-up), with a backoff.
 * Batch memory is reused (dlp__map_recycle), and kept from call to call
 * (map_cache.c).
 * Bounded memory (credits). A rank's results count against its window
 * (opts.inflight) from the moment they are appended until the master's
 * callback has handled them; the master returns the bytes of each batch it
 * handled (an ack). Threads reserve window bytes in grants (at most a
 * quarter of the window over all threads, never beyond it), so the count
 * costs one atomic add per grant. A team thread without credit whose rank
 * is over its window waits before computing its next item (on a condition
 * variable the helpers signal when bytes come back), so a slow callback
 * slows the workers down. The master therefore holds at most about size x
 * window bytes of results, plus one item's result per thread.
 * End. A sender whose team is done sends an end marker; the master answers
 * it with the final ack. The consumer ends when every rank's end marker has
 * been handled and its own team is done. */
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "doorbell.h"
#include "error.h"
#include "item.h"
#include "reduce.h"
#include "map.h"
#include "map_cache.h"
#include "retry.h"
#include "runtime.h"

/* ------------------------------------------------------- team threads -- */

/* The open run's count into its head (kept in the slot while it grows). */
static void close_run(struct map_slot *s)
{
    if (!s->run)
        return;
    memcpy((char *)s->cur + s->run + offsetof(struct run_head, count), &s->run_count,
           sizeof s->run_count);
    s->run = 0;
}

/* Hand the thread's batch to the helper (a lock-free push: the helper
 * takes all at once) and ring it. */
static void hand_off(struct dlp_map *m, struct map_slot *s)
{
    atomic_store_explicit(&s->want, 0, memory_order_relaxed);
    struct handed *h = s->cur;
    if (!h)
        return;
    close_run(s);
    struct batch_head bh = {.seq = m->L->seq,
                            .records = s->records,
                            .bytes = (long)(s->len - sizeof *h - sizeof bh),
                            .last = 0,
                            .pad = 0};
    memcpy(HANDED_BATCH(h), &bh, sizeof bh);
    h->len = s->len - sizeof *h;
    h->cap = s->cap;
    s->last = s->len;
    s->cur = NULL;
    s->len = s->cap = 0;
    s->records = 0;
    h->next = atomic_load_explicit(&s->ready, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->ready, &h->next, h, memory_order_seq_cst,
                                                  memory_order_relaxed))
        ;
    dlp__doorbell_ring(&m->bell);
}

/* Append item i's result to the thread's batch (s); DLP_ERR_NOMEM when
 * the batch cannot grow (the result is then lost: the call fails). The
 * batch goes to the helper when it reaches the ring threshold, or when the
 * helper asked for it (it does every DLP__MAP_LINGER_US): batches of many
 * results where they come fast, each result at once where they are slow. */
static int append(struct dlp_map *m, struct map_slot *s, long i, const struct dlp_buf *out)
{
    /* the item joins the open run if it follows its last with a result of
     * the same length: then it costs its bytes only */
    size_t pad = PAD8(out->len);
    int joins = s->run && i == s->run_next && out->len == s->run_len &&
                s->run_count < UINT32_MAX;
    size_t rec = joins ? pad : sizeof(struct run_head) + pad;
    const size_t heads = sizeof(struct handed) + sizeof(struct batch_head);
    if (!s->cur) {
        /* a new batch as large as the last at once (rounded up to
         * pages), in a kept batch's memory if one is that large (else in
         * the first kept, grown: growing batch by batch faults fresh
         * pages in) */
        size_t want = s->last > 4096 ? (s->last + 4095) & ~(size_t)4095 : 4096;
        struct handed *h = dlp__map_spare(m, want);
        if (h && h->cap < want) {
            struct handed *p = realloc(h, want);
            if (!p) {
                free(h);
                return DLP_ERR_NOMEM;
            }
            h = p;
            h->cap = want;
        }
        if (!h) {
            if (!(h = malloc(want)))
                return DLP_ERR_NOMEM;
            h->cap = want;
        }
        s->cur = h;
        s->cap = h->cap;
        s->len = heads;
    }
    size_t need = s->len + rec;
    if (need > s->cap) {
        size_t cap = s->cap;
        while (cap < need)
            cap *= 2;
        struct handed *p = realloc(s->cur, cap);
        if (!p)
            return DLP_ERR_NOMEM;
        s->cur = p;
        s->cap = cap;
    }
    char *at = (char *)s->cur + s->len;
    if (!joins) {
        close_run(s);
        struct run_head h = {.item = i, .len = (uint32_t)out->len, .count = 0};
        memcpy(at, &h, sizeof h);
        s->run = s->len;
        s->run_len = h.len;
        s->run_count = 0;
        at += sizeof h;
    }
    if (pad != out->len) /* the pad: zeros (the last word first) */
        memset(at + pad - 8, 0, 8);
    dlp__copy(at, out->data, out->len);
    s->len += rec;
    s->records++;
    s->run_count++;
    s->run_next = i + 1;
    /* charge the window: from the thread's credit, else reserve more (one
     * atomic add per grant, not per result) */
    if (s->credit >= rec) {
        s->credit -= rec;
    } else {
        size_t more = rec - s->credit, grant = m->grant;
        size_t was = atomic_fetch_add(&m->held, more + grant);
        s->credit = grant;
        if (grant && was + more + grant > m->window) { /* no credit beyond the window */
            s->credit = 0;
            dlp__map_release(m, grant);
        }
    }
    if (s->len >= m->ring_bytes || atomic_load_explicit(&s->want, memory_order_relaxed))
        hand_off(m, s);
    return DLP_OK;
}

/* Backpressure: a thread without credit waits while the rank's reserved
 * bytes fill its window, asleep until a helper gives bytes back. */
static void wait_for_room(struct dlp_map *m, struct map_slot *s)
{
    if (s->credit > 0 || atomic_load_explicit(&m->held, memory_order_relaxed) < m->window)
        return;
    hand_off(m, s); /* the master cannot give back what it does not have */
    atomic_fetch_add(&m->room_waiters, 1);
    /* (seq_cst: dlp__map_release reads room_waiters after its subtraction) */
    pthread_mutex_lock(&m->room_lock);
    while (atomic_load(&m->held) >= m->window) {
        dlp__doorbell_ring(&m->bell); /* the sender looks for acks */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)DLP__MAP_ROOM_NAP_US * 1000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&m->room_cond, &m->room_lock, &ts);
    }
    pthread_mutex_unlock(&m->room_lock);
    atomic_fetch_sub(&m->room_waiters, 1);
}

void dlp__map_release(struct dlp_map *m, size_t bytes)
{
    atomic_fetch_sub(&m->held, bytes);
    if (atomic_load(&m->room_waiters) > 0) {
        pthread_mutex_lock(&m->room_lock);
        pthread_cond_broadcast(&m->room_cond);
        pthread_mutex_unlock(&m->room_lock);
    }
}

static void run_team(struct dlp_map *m)
{
    struct dlp_loop *L = m->L;
#pragma omp parallel num_threads(L->o.threads) default(none) shared(m, L)
    {
        struct dlp__pos pos = DLP__POS_INIT;
        struct dlp_buf out = {NULL, 0, 0, -1, 0, ""};
        struct map_slot *slot = &m->slots[omp_get_thread_num()];
        long i;
        dlp__nested_enter(&L->nested, L->o.threads);
        struct dlp__item it;
        dlp__item_attach(&it);
        while (dlp__loop_take(L, &pos, &i)) {
            out.len = 0;
            out.item = i;
            out.failed = 0;
            dlp__item_enter(&it, i);
            int rc = m->work(i, m->ctx, &out);
            int ok = dlp__item_leave(&it, rc);
            if (L->o.reduce) /* a failed append fails the item too */
                dlp__reduce_item_end(ok && !out.failed);
            pos.cur = -1; /* the master says when it is done */
            if (!ok) {
                dlp__item_failed(L, &it, "work", rc, 0, 0, 0);
                if (!L->failures.keep_all)
                    break;
                continue;
            }
            if (out.failed) { /* even if work ignored the failed append */
                dlp__loop_failure(L, i, omp_get_thread_num(),
                                  out.failed == DLP_ERR_NOMEM ? DLP_ERR_NOMEM : DLP_ERR_ITEM,
                                  "%s", out.why);
                if (!L->failures.keep_all)
                    break;
                continue;
            }
            if (append(m, slot, i, &out) != DLP_OK) {
                dlp__loop_failure(L, i, omp_get_thread_num(), DLP_ERR_NOMEM,
                                  "out of memory for a batch of results (%zu bytes held)",
                                  atomic_load(&m->held));
                break;
            }
            dlp__loop_idle(&pos); /* waiting for credits is not running the item */
            wait_for_room(m, slot);
        }
        hand_off(m, slot);
        if (slot->credit) { /* unused: back to the window */
            dlp__map_release(m, slot->credit);
            slot->credit = 0;
        }
        dlp__item_detach();
        dlp__loop_leave(L, &pos);
        dlp__buf_free(&out);
    }
}

struct handed *dlp__map_take(struct dlp_map *m)
{
    struct handed *all = NULL, **end = &all;
    for (int k = 0; k < m->nslots; k++) {
        struct handed *h = atomic_exchange(&m->slots[k].ready, NULL);
        struct handed *old = NULL; /* newest first: reverse */
        while (h) {
            struct handed *next = h->next;
            h->next = old;
            old = h;
            h = next;
        }
        *end = old;
        while (*end)
            end = &(*end)->next;
    }
    return all;
}

int dlp__map_ready(struct dlp_map *m)
{
    for (int k = 0; k < m->nslots; k++)
        if (atomic_load(&m->slots[k].ready))
            return 1;
    return 0;
}

struct handed *dlp__map_spare(struct dlp_map *m, size_t want)
{
    pthread_mutex_lock(&m->spare_lock);
    struct handed **at = &m->spare;
    while (*at && (*at)->cap < want) /* the first large enough */
        at = &(*at)->next;
    if (!*at) /* none: the first (grown by the caller) */
        at = &m->spare;
    struct handed *h = *at;
    if (h) {
        *at = h->next;
        m->spare_bytes -= h->cap;
    }
    pthread_mutex_unlock(&m->spare_lock);
    return h;
}

void dlp__map_recycle(struct dlp_map *m, struct handed *h)
{
    pthread_mutex_lock(&m->spare_lock);
    if (m->spare_bytes + h->cap <= m->spare_max) {
        h->next = m->spare;
        m->spare = h;
        m->spare_bytes += h->cap;
        h = NULL;
    }
    pthread_mutex_unlock(&m->spare_lock);
    free(h);
}

void dlp__map_ask(struct dlp_map *m, double *last)
{
    double now = dlp__now_coarse();
    if (now - *last < DLP__MAP_LINGER_US * 1e-6)
        return;
    *last = now;
    for (int k = 0; k < m->nslots; k++) /* (a line the thread reads: written when needed) */
        if (!atomic_load_explicit(&m->slots[k].want, memory_order_relaxed))
            atomic_store_explicit(&m->slots[k].want, 1, memory_order_relaxed);
}

/* Loop form: the team runs on a thread of its own (the caller consumes). */
static void *team_main(void *arg)
{
    struct dlp_map *m = arg;
    run_team(m);
    atomic_store(&m->team_done, 1);
    dlp__doorbell_ring(&m->bell);
    return NULL;
}

/* ---------------------------------------------------------------- calls -- */

/* Agree on the call, then start the helper (and, in the loop form, the
 * team's thread). On error nothing is left behind. */
static int start(struct dlp_map **out, long n, dlp_work_fn work, dlp_result_fn on_result,
                 void *ctx, const dlp_opts *opts, int loop_form, const char *func)
{
    const char *bad = NULL;
    int master = dlp__rt.rank == 0;
    if (!work)
        bad = "work is NULL";
    else if (!loop_form && !on_result && master)
        bad = "on_result is NULL on the master";
    struct dlp_loop *L = NULL;
    DLP_CALL(dlp__loop_begin_map(&L, n, opts, bad, loop_form, func));
    struct dlp_map *m = calloc(1, sizeof *m);
    if (!m) /* past the handshake: the other ranks already compute */
        dlp__helper_abort(func, "out of memory for the map state", MPI_SUCCESS);
    m->L = L;
    m->work = work;
    m->on_result = on_result;
    m->ctx = ctx;
    m->window = L->o.inflight;
    /* the batches of a full window take more than its bytes (a batch's
     * memory is in pages, results and heads): room for that */
    m->spare_max = m->window + m->window / 4 + DLP__MAP_SPARE_BYTES;
    m->last = -1;
    /* the threads' credits and pending results below their thresholds
     * take at most 3/4 of the window: some thread rings before it is full */
    size_t threads = (size_t)L->o.threads;
    m->grant = m->window / (4 * threads);
    m->grant = m->grant < DLP__MAP_GRANT_MAX ? m->grant : DLP__MAP_GRANT_MAX;
    m->ring_bytes = m->window / (2 * threads);
    m->ring_bytes = m->ring_bytes < 1 ? 1 : m->ring_bytes < DLP__MAP_RING_MAX ? m->ring_bytes
                                                                             : DLP__MAP_RING_MAX;
    m->nslots = L->o.threads;
    m->slots = aligned_alloc(_Alignof(struct map_slot), threads * sizeof *m->slots);
    if (!m->slots)
        dlp__helper_abort(func, "out of memory for the map state", MPI_SUCCESS);
    memset(m->slots, 0, threads * sizeof *m->slots);
    for (int k = 0; k < m->nslots; k++) /* the first result goes at once */
        atomic_init(&m->slots[k].want, 1);
    pthread_mutex_init(&m->room_lock, NULL);
    pthread_cond_init(&m->room_cond, NULL);
    pthread_mutex_init(&m->spare_lock, NULL);
    dlp__map_cache_lend(&m->spare, &m->spare_bytes); /* the last call's batches */
    *out = m;
    if (n == 0) {
        m->in.finished = 1;
        return DLP_OK;
    }
    if (master)
        dlp__map_consumer_init(m);
    if (!master || !loop_form) {
        if (pthread_create(&m->helper, NULL, master ? dlp__map_consumer_main : dlp__map_sender_main,
                           m) != 0)
            dlp__helper_abort(func, "cannot start the map helper thread", MPI_SUCCESS);
        m->has_helper = 1;
    }
    if (loop_form) {
        dlp__loop_result_handler(master); /* until finish() */
        if (pthread_create(&m->team, NULL, team_main, m) != 0)
            dlp__helper_abort(func, "cannot start the map team thread", MPI_SUCCESS);
        m->has_team_thread = 1;
    }
    return DLP_OK;
}

/* on_error = retry (retry.h): each rank runs its items of the round, and
 * sends the results to the master, which hands them to on_result. A record
 * is {item, bytes, the bytes padded to 8}. */

/* Item k of the round, on a team thread: its result in out[k], r->ok[k]
 * set when it succeeded. */
static void retry_item(struct dlp_map *m, struct dlp__retry_round *r, struct dlp_buf *out,
                       long k, struct dlp__item *it)
{
    struct dlp_loop *L = m->L;
    int retries = L->o.retries;
    out[k].item = r->item[k];
    dlp__item_enter(it, r->item[k]);
    int rc = m->work(r->item[k], m->ctx, &out[k]);
    int ok = dlp__item_leave(it, rc);
    if (L->o.reduce)
        dlp__reduce_item_end(ok && !out[k].failed);
    if (!ok) {
        dlp__item_failed(L, it, "work", rc, r->round, retries, r->origin[k]);
    } else if (out[k].failed) {
        dlp__loop_failure(L, r->item[k], omp_get_thread_num(),
                          out[k].failed == DLP_ERR_NOMEM ? DLP_ERR_NOMEM : DLP_ERR_ITEM,
                          "a result append failed: code %d (retry %d of %d; it "
                          "failed first on rank %d)",
                          out[k].failed, r->round, retries, r->origin[k]);
    } else {
        r->ok[k] = 1;
    }
}

/* The rank's items of the round, run by its team: their results, one per
 * item. */
static struct dlp_buf *run_round(struct dlp_map *m, struct dlp__retry_round *r)
{
    struct dlp_loop *L = m->L;
    struct dlp_buf *out = calloc((size_t)(r->mine > 0 ? r->mine : 1), sizeof *out);
    if (!out)
        dlp__helper_abort(L->func, "out of memory for retried results", MPI_SUCCESS);
#pragma omp parallel num_threads(L->o.threads) default(none) shared(m, L, r, out)
    {
        dlp__nested_enter(&L->nested, L->o.threads);
        struct dlp__item it;
        dlp__item_attach(&it);
#pragma omp for schedule(dynamic, 1)
        for (long k = 0; k < r->mine; k++)
            retry_item(m, r, out, k, &it);
        dlp__item_detach();
    }
    return out;
}

/* The round's good results as records, in one buffer of *len bytes; out is
 * freed. */
static char *pack_results(const struct dlp_loop *L, const struct dlp__retry_round *r,
                          struct dlp_buf *out, size_t *len)
{
    size_t bytes = 0;
    for (long k = 0; k < r->mine; k++)
        if (r->ok[k])
            bytes += 2 * sizeof(long) + PAD8(out[k].len);
    char *to = calloc(bytes ? bytes : 1, 1);
    if (!to)
        dlp__helper_abort(L->func, "out of memory for retried results", MPI_SUCCESS);
    *len = 0;
    for (long k = 0; k < r->mine; k++) {
        if (!r->ok[k])
            continue;
        long head[2] = {r->item[k], (long)out[k].len};
        memcpy(to + *len, head, sizeof head);
        if (out[k].len)
            memcpy(to + *len + sizeof head, out[k].data, out[k].len);
        *len += sizeof head + PAD8(out[k].len);
    }
    for (long k = 0; k < r->mine; k++)
        dlp__buf_free(&out[k]);
    free(out);
    return to;
}

/* The records received (total bytes; only the master receives any), each
 * handed to on_result. */
static void hand_results(struct dlp_map *m, const char *in, size_t total)
{
    struct dlp_loop *L = m->L;
    dlp__loop_result_handler(1);
    for (size_t at = 0; at + 2 * sizeof(long) <= total;) {
        long head[2];
        memcpy(head, in + at, sizeof head);
        at += sizeof head;
        int rc = m->on_result(head[0], in + at, (size_t)head[1], m->ctx);
        if (rc != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "on_result returned %d (a retried result of %ld bytes)",
                     rc, head[1]);
            dlp__loop_item_failure(L, head[0], -1, DLP_ERR_ITEM, rc, msg);
        }
        else
            dlp__loop_done(L, &m->js, head[0]);
        at += PAD8((size_t)head[1]);
    }
    dlp__loop_result_handler(0);
}

static void retry_rounds(struct dlp_map *m)
{
    struct dlp_loop *L = m->L;
    struct dlp__retry_round r;
    while (dlp__retry_next(L, &r)) {
        struct dlp_buf *out = run_round(m, &r);
        int S = dlp__rt.size;
        char **to = calloc((size_t)S, sizeof *to);
        size_t *len = calloc((size_t)S, sizeof *len), *in_len = calloc((size_t)S, sizeof *in_len);
        if (!to || !len || !in_len)
            dlp__helper_abort(L->func, "out of memory for retried results", MPI_SUCCESS);
        to[0] = pack_results(L, &r, out, &len[0]);
        char *in = NULL;
        dlp__retry_exchange(L, to, len, &in, in_len);
        size_t total = 0;
        for (int q = 0; q < S; q++)
            total += in_len[q];
        hand_results(m, in, total);
        free(in);
        free(to[0]);
        free(to);
        free(len);
        free(in_len);
        dlp__retry_free(&r);
    }
}

/* Wait for the team and the helpers, then end the call (collective). */
static int finish(struct dlp_map *m)
{
    struct dlp_loop *L = m->L;
    if (dlp__rt.rank == 0 && !m->in.finished && !m->has_helper) {
        /* loop form left before dlp_map_next() returned 0: stop handing out
         * work and drop what still arrives */
        pthread_mutex_lock(&L->failures.lock);
        long failed = L->failures.count;
        pthread_mutex_unlock(&L->failures.lock);
        if (failed == 0 || L->failures.keep_all)
            dlp__loop_failure(L, -1, -1, DLP_ERR_STATE,
                              "dlp_map_end() after %ld of n = %ld results: the map was "
                              "stopped and the remaining results dropped",
                              m->consumed, L->n);
        m->stopped = 1;
        dlp__loop_stop(L);
        long i;
        const void *data;
        size_t len;
        while (dlp__map_consumer_next(m, &i, &data, &len))
            ;
    }
    if (m->has_team_thread)
        pthread_join(m->team, NULL);
    atomic_store(&m->team_done, 1);
    dlp__doorbell_ring(&m->bell);
    if (m->has_helper)
        pthread_join(m->helper, NULL);
    if (m->last >= 0) { /* loop form: the last result was handled */
        dlp__loop_noted(L, &m->js, m->last);
        m->done++;
    }
    dlp__loop_count(L, m->done);
    dlp__loop_result_handler(0);
    retry_rounds(m);
    if (dlp__rt.rank == 0)
        dlp__map_consumer_free(m);
    for (int k = 0; k < m->nslots; k++)
        free(m->slots[k].cur);
    for (struct handed *h = dlp__map_take(m), *next; h; h = next) { /* (none: all taken) */
        next = h->next;
        free(h);
    }
    dlp__map_cache_keep(m->spare, m->spare_max); /* for the next call */
    pthread_mutex_destroy(&m->spare_lock);
    free(m->slots);
    pthread_mutex_destroy(&m->room_lock);
    pthread_cond_destroy(&m->room_cond);
    free(m);
    return dlp__loop_end(&L);
}

int dlp_map_unordered(long n, dlp_work_fn work, dlp_result_fn on_result, void *ctx,
                      const dlp_opts *opts)
{
    struct dlp_map *m = NULL;
    DLP_CALL(start(&m, n, work, on_result, ctx, opts, 0, "dlp_map_unordered"));
    if (n > 0)
        run_team(m);
    return finish(m);
}

int dlp_map_begin(dlp_map **map, long n, dlp_work_fn work, void *ctx, const dlp_opts *opts)
{
    static const char *func = "dlp_map_begin";
    if (!map)
        return dlp__fail(DLP_ERR_ARG, func, "map handle pointer is NULL");
    *map = NULL;
    return start(map, n, work, NULL, ctx, opts, 1, func);
}

int dlp_map_next(dlp_map *map, long *i, const void **data, size_t *len)
{
    if (!map || !i || !data || !len || dlp__rt.rank != 0)
        return 0;
    if (map->last >= 0) { /* the loop handled it */
        dlp__loop_noted(map->L, &map->js, map->last);
        map->done++;
    }
    map->last = -1;
    if (!dlp__map_consumer_next(map, i, data, len))
        return 0;
    map->last = *i;
    return 1;
}

int dlp_map_end(dlp_map **map)
{
    if (!map || !*map)
        return dlp__fail(DLP_ERR_ARG, "dlp_map_end", "map is NULL");
    DLP_CALL(dlp__check_main("dlp_map_end"));
    struct dlp_map *m = *map;
    *map = NULL;
    return finish(m);
}
