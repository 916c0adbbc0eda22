/* The consumer of a map call, on the master: receives every other rank's
 * batches, takes the master's own pending results as they are, and hands
 * out the results one at a time in arrival order — to the user's callback
 * on a helper thread (dlp_map_unordered) or to the caller of dlp_map_next()
 * (loop form). A batch's bytes are given back to its rank (an ack) once all
 * its results were handed out; the end markers get the final acks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doorbell.h"
#include "map.h"
#include "runtime.h"

void dlp__map_consumer_init(struct dlp_map *m)
{
    struct consumer *c = &m->in;
    const struct dlp__runtime *rt = &dlp__rt;
    memset(c, 0, sizeof *c);
    c->tail = &c->head;
    c->others = rt->size - 1;
    c->backoff = DLP__POLL_MIN_US;
    c->busy_ranks = rt->size;
    c->busy_nodes = rt->nodes;
    c->stride = 1;
    c->last_look = dlp__now_coarse();
    c->last_ask = c->last_look;
    c->busy_on_node = calloc((size_t)rt->nodes, sizeof(int));
    if (!c->busy_on_node)
        dlp__helper_abort("map consumer", "out of memory", MPI_SUCCESS);
    for (int r = 0; r < rt->size; r++)
        c->busy_on_node[rt->node_of_rank[r]]++;
}

void dlp__map_consumer_free(struct dlp_map *m)
{
    struct consumer *c = &m->in;
    free(c->busy_on_node);
    c->busy_on_node = NULL;
}

static void rank_done(struct consumer *c, int rank)
{
    c->busy_ranks--;
    if (--c->busy_on_node[dlp__rt.node_of_rank[rank]] == 0)
        c->busy_nodes--;
}

/* Results between two looks at the clock: adapts so that the clock is read
 * every 1-4 ms whatever the callback costs (tiny results come at tens of
 * millions per second, where even a coarse clock read per result would
 * cost a quarter of the time). */
#define STRIDE_MAX 4096L

/* k more results were handed out (or, with k = 1, the consumer went
 * round its wait once): the progress display's look at the clock once
 * c->stride of these have passed. */
static void progress_count(struct dlp_map *m, long k)
{
    struct dlp_loop *L = m->L;
    struct consumer *c = &m->in;
    if (!L->progress.active || (c->since_look += k) < c->stride)
        return;
    double now = dlp__now_coarse();
    double dt = now - c->last_look;
    if (dt < 1e-3 && c->stride < STRIDE_MAX)
        c->stride *= 2;
    else if (dt > 4e-3 && c->stride > 1)
        c->stride /= 2;
    c->since_look = 0;
    c->last_look = now;
    if (!c->mine_done && atomic_load(&m->team_done)) {
        c->mine_done = 1;
        rank_done(c, 0);
    }
    long done = L->progress.base + m->consumed; /* the journal's count as done */
    dlp__progress_update(&L->progress, done, c->busy_ranks, dlp__rt.size,
                         c->busy_nodes, dlp__rt.nodes, now);
}

static void enqueue(struct consumer *c, char *p, void *mem, size_t len, int rank)
{
    struct batch *b = malloc(sizeof *b);
    if (!b)
        dlp__helper_abort("map consumer", "out of memory for a batch", MPI_SUCCESS);
    *b = (struct batch){NULL, p, mem, len, rank};
    *c->tail = b;
    c->tail = &b->next;
}

/* Queue everything that arrived: other ranks' batches, the master's own;
 * 2 if another rank's batch came, 1 if only the master's, else 0. */
static int gather_batches(struct dlp_map *m)
{
    struct consumer *c = &m->in;
    int got = 0;
    for (;;) {
        int found = 0;
        MPI_Message msg;
        MPI_Status st;
        CHECK("map consumer",
              MPI_Improbe(MPI_ANY_SOURCE, DLP__TAG_MAP, dlp__rt.comm, &found, &msg, &st));
        if (!found)
            break;
        MPI_Count bytes = 0;
        CHECK("map consumer", MPI_Get_count_c(&st, MPI_BYTE, &bytes));
        if (bytes < (MPI_Count)sizeof(struct batch_head)) {
            char what[96];
            snprintf(what, sizeof what, "a message of %lld bytes from rank %d: no batch",
                     (long long)bytes, st.MPI_SOURCE);
            dlp__helper_abort("map consumer", what, MPI_SUCCESS);
        }
        /* into a kept batch's memory (no fresh pages per batch) */
        size_t need = sizeof(struct handed) + (size_t)bytes;
        struct handed *h = dlp__map_spare(m, need);
        if (h && h->cap < need) {
            free(h);
            h = NULL;
        }
        if (!h && (h = malloc(need)))
            h->cap = need;
        if (!h)
            dlp__helper_abort("map consumer", "out of memory for a batch of results",
                              MPI_SUCCESS);
        CHECK("map consumer",
              MPI_Mrecv_c(HANDED_BATCH(h), bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
        enqueue(c, HANDED_BATCH(h), h, (size_t)bytes, st.MPI_SOURCE);
        got = 2;
    }
    dlp__map_ask(m, &c->last_ask);
    for (struct handed *h = dlp__map_take(m), *next; h; h = next) {
        next = h->next;
        enqueue(c, HANDED_BATCH(h), h, h->len, 0);
        got = got ? got : 1;
    }
    return got;
}

/* All results of the current batch were handed out: give its bytes back. */
static void finish_batch(struct dlp_map *m)
{
    struct consumer *c = &m->in;
    struct batch *b = c->cur;
    struct batch_head h;
    memcpy(&h, b->p, sizeof h);
    if (b->rank == 0) {
        dlp__map_release(m, (size_t)h.bytes);
    } else {
        struct ack a = {.seq = m->L->seq, .bytes = h.bytes, .final = h.last, .pad = 0};
        CHECK("map consumer",
              MPI_Send(&a, (int)sizeof a, MPI_BYTE, b->rank, DLP__TAG_MAP_ACK, dlp__rt.comm));
        if (h.last) {
            c->ended++;
            rank_done(c, b->rank);
        }
    }
    dlp__map_recycle(m, b->mem);
    free(b);
    c->cur = NULL;
}

/* A batch or run that does not add up: the sender's bug or a corrupted
 * message, never a result to hand out. */
static void bad_batch(const struct dlp_map *m, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, "a batch of results from rank %d: %s (n = %ld)", m->in.cur->rank,
             what, m->L->n);
    dlp__helper_abort("map consumer", msg, MPI_SUCCESS);
}

static void start_batch(struct dlp_map *m)
{
    struct consumer *c = &m->in;
    struct batch *b = c->head;
    c->head = b->next;
    if (!c->head)
        c->tail = &c->head;
    c->cur = b;
    struct batch_head h;
    if (b->len < sizeof h)
        bad_batch(m, "shorter than its head");
    memcpy(&h, b->p, sizeof h);
    if (h.seq != m->L->seq)
        dlp__helper_abort("map consumer", "results of another call", MPI_SUCCESS);
    if (h.bytes < 0 || (size_t)h.bytes != b->len - sizeof h || h.records < 0)
        bad_batch(m, "its head does not match its length");
    c->at = b->p + sizeof h;
    c->end = c->at + h.bytes;
    c->left = h.records;
    c->run_left = 0;
}

/* The next run's head, checked: its items within 0 .. n - 1 and among the
 * batch's results, its bytes within the batch. */
static void open_run(struct dlp_map *m)
{
    struct consumer *c = &m->in;
    struct run_head r;
    if ((size_t)(c->end - c->at) < sizeof r)
        bad_batch(m, "a run head past its end");
    memcpy(&r, c->at, sizeof r);
    c->at += sizeof r;
    char what[160];
    if (r.item < 0 || r.count < 1 || r.item > m->L->n - (long)r.count || r.count > c->left) {
        snprintf(what, sizeof what, "a run of %lu results from item %ld (%ld results left)",
                 (unsigned long)r.count, r.item, c->left);
        bad_batch(m, what);
    }
    size_t pad = PAD8((size_t)r.len);
    if ((uint64_t)pad * r.count > (uint64_t)(c->end - c->at)) {
        snprintf(what, sizeof what, "a run of %lu results of %lu bytes past its end",
                 (unsigned long)r.count, (unsigned long)r.len);
        bad_batch(m, what);
    }
    c->run_item = r.item;
    c->run_left = (long)r.count;
    c->run_len = r.len;
}

/* The current batch's next result (c->left > 0): its item in *item, its
 * length in *len, its bytes returned. */
static inline const char *take_record(struct dlp_map *m, long *item, size_t *len)
{
    struct consumer *c = &m->in;
    if (c->run_left == 0)
        open_run(m);
    const char *bytes = c->at;
    *item = c->run_item++;
    *len = c->run_len;
    c->at += PAD8(c->run_len);
    c->run_left--;
    c->left--;
    return bytes;
}

int dlp__map_consumer_next(struct dlp_map *m, long *item, const void **data, size_t *len)
{
    struct dlp_loop *L = m->L;
    struct consumer *c = &m->in;
    for (;;) {
        if (c->finished)
            return 0;
        if (c->cur && c->left > 0) {
            const char *bytes = take_record(m, item, len);
            if (L->progress.active)
                progress_count(m, 1);
            if (m->stopped)
                continue;
            m->consumed++;
            *data = bytes;
            return 1;
        }
        if (c->cur)
            finish_batch(m);
        progress_count(m, 1);
        int got = gather_batches(m);
        if (got == 2) /* other ranks' batches come: look again soon */
            c->backoff = DLP__POLL_MIN_US;
        if (c->head) {
            start_batch(m);
            continue;
        }
        /* team_done first: the threads handed over their last results
         * before it was set */
        int team_done = atomic_load(&m->team_done);
        int ready = dlp__map_ready(m);
        if (c->ended == c->others && team_done && !ready) {
            c->finished = 1;
            return 0;
        }
        if (got || ready)
            continue;
        /* Sleep until rung: the master's own threads ring when they hand
         * over a batch (full, or asked for: every DLP__MAP_LINGER_US), and
         * the team when it is done. Other ranks' batches are found by
         * looking for them: soon after one came, then less and less often
         * (those ranks' senders batch their results the same way). */
        unsigned nap = team_done ? DLP__PROGRESS_TICK_US : DLP__MAP_LINGER_US;
        if (c->others > c->ended && c->backoff < nap)
            nap = c->backoff;
        dlp__doorbell_arm(&m->bell);
        if (dlp__map_ready(m) || (!team_done && atomic_load(&m->team_done)))
            dlp__doorbell_disarm(&m->bell);
        else
            dlp__doorbell_wait(&m->bell, nap);
        c->backoff = c->backoff * 2 > DLP__POLL_MAX_US ? DLP__POLL_MAX_US : c->backoff * 2;
    }
}

/* on_result failed for item i: the call's failure (under skip, the item's
 * only: go on with the others). */
static void result_failed(struct dlp_map *m, long i, size_t len, int rc)
{
    m->stopped = !m->L->failures.keep_all;
    char msg[128];
    snprintf(msg, sizeof msg, "on_result returned %d (a result of %zu bytes)", rc, len);
    dlp__loop_item_failure(m->L, i, -1, DLP_ERR_ITEM, rc, msg);
}

/* One result to the callback: handled, or the call's failure. */
static void deliver(struct dlp_map *m, long i, const void *data, size_t len)
{
    int rc = m->on_result(i, data, len, m->ctx);
    if (rc != 0) {
        result_failed(m, i, len, rc);
    } else {
        if (m->L->journaled)
            dlp__loop_noted(m->L, &m->js, i);
        m->done++;
    }
}

/* The rest of the current run to the callback, in a loop of its own (the
 * run's state in locals), until it ends, the call stops or the progress
 * display is due a look at the clock. */
static void deliver_run(struct dlp_map *m)
{
    struct consumer *c = &m->in;
    if (c->run_left == 0)
        open_run(m);
    const dlp_result_fn f = m->on_result;
    void *const ctx = m->ctx;
    const int journaled = m->L->journaled;
    const size_t len = c->run_len, step = PAD8(len);
    const long first = c->run_item;
    long count = c->run_left;
    if (m->L->progress.active && count > c->stride - c->since_look)
        count = c->stride - c->since_look > 0 ? c->stride - c->since_look : 1;
    const char *at = c->at;
    long k = 0, done = 0;
    while (k < count) {
        long i = first + k;
        int rc = f(i, at, len, ctx);
        k++;
        at += step;
        if (rc != 0) {
            result_failed(m, i, len, rc);
            if (m->stopped)
                break;
        } else {
            if (journaled)
                dlp__loop_noted(m->L, &m->js, i);
            done++;
        }
    }
    c->run_item += k;
    c->run_left -= k;
    c->left -= k;
    c->at = at;
    m->consumed += k;
    m->done += done;
    progress_count(m, k);
}

void *dlp__map_consumer_main(void *arg)
{
    struct dlp_map *m = arg;
    struct consumer *c = &m->in;
    long i;
    const void *data;
    size_t len;
    dlp__loop_result_handler(1);
    while (dlp__map_consumer_next(m, &i, &data, &len)) {
        deliver(m, i, data, len);
        /* the rest of the batch here, run by run, without a call per
         * result (what dlp__map_consumer_next does for one) */
        while (c->left > 0 && !m->stopped)
            deliver_run(m);
    }
    return NULL;
}
