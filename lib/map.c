/* dlp_map_unordered: every rank's team computes items (managed splitting);
 * their results travel with their item index to the master, where one
 * consumer thread runs the user's callback on each, serially, in arrival
 * order, while all teams (the master's too) keep computing.
 *
 * Data path. A team thread appends (item, bytes) to its rank's pending
 * batch and rings the rank's helper thread:
 *   - on the master the helper is the consumer: it takes the pending batch
 *     as is (no copy through MPI) and receives the other ranks' batches;
 *   - on every other rank the helper is a sender: it ships the pending batch
 *     to the master as one message (so results batch up by themselves when
 *     they come faster than one message per result).
 * Bounded memory (credits). A rank's results count against its window
 * (opts.inflight) from the moment they are appended until the master's
 * callback has handled them; the master returns the bytes of each batch it
 * handled (an ack). A team thread whose rank is over its window waits before
 * computing its next item, so a slow callback slows the workers down; a
 * sender sends while its unacknowledged bytes fit the window (one larger
 * batch at a time is allowed). The master therefore holds at most about
 * size x window bytes of results, plus one item's result per thread.
 * End. A sender whose team is done sends an end marker; the master answers
 * it with the final ack. The consumer ends when every rank's end marker has
 * been handled and its own team is done. */
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "doorbell.h"
#include "error.h"
#include "loop.h"
#include "runtime.h"

static const char *const func = "dlp_map_unordered";

/* Wire format: a batch is a head, then records, each a head and its bytes
 * padded to 8. */
struct batch_head {
    unsigned long seq;
    long records;
    long bytes; /* of the records (what the ack returns) */
    int last;   /* end marker: the rank's team is done (records 0) */
    int pad;
};
struct record_head {
    long item;
    uint64_t len;
};
struct ack {
    unsigned long seq;
    long bytes;
    int final;
    int pad;
};

#define PAD8(x) (((x) + 7u) & ~(size_t)7u)
#define RECORD_BYTES(len) (sizeof(struct record_head) + PAD8(len))

/* A batch waiting on the master for the callback. */
struct batch {
    struct batch *next;
    char *p; /* batch_head + records */
    int rank;
};

struct map {
    struct dlp_loop *L;
    dlp_work_fn work;
    dlp_result_fn on_result;
    void *ctx;
    size_t window;

    pthread_mutex_t lock; /* guards pending */
    char *pending;        /* batch_head + records appended so far */
    size_t pending_len, pending_cap;
    long pending_records;

    _Atomic size_t held;  /* this rank's result bytes the master has not handled */
    _Atomic int bell;     /* wakes the helper (doorbell.h) */
    _Atomic int team_done;
    pthread_t helper;

    long consumed;        /* master: callbacks run */
    int stopped;          /* master: a callback failed, discard the rest */
};

#define CHECK(who, call)                                                     \
    do {                                                                     \
        int mrc_ = (call);                                                   \
        if (mrc_ != MPI_SUCCESS)                                             \
            dlp__helper_abort(who, #call, mrc_);                             \
    } while (0)

/* ------------------------------------------------------- team threads -- */

/* Append item i's result to the rank's pending batch; DLP_ERR_NOMEM when
 * the batch cannot grow (the result is then lost: the call fails). */
static int append(struct map *m, long i, const struct dlp_buf *out)
{
    size_t rec = RECORD_BYTES(out->len);
    pthread_mutex_lock(&m->lock);
    size_t need = (m->pending_len ? m->pending_len : sizeof(struct batch_head)) + rec;
    if (need > m->pending_cap) {
        size_t cap = m->pending_cap ? m->pending_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = realloc(m->pending, cap);
        if (!p) {
            pthread_mutex_unlock(&m->lock);
            return DLP_ERR_NOMEM;
        }
        m->pending = p;
        m->pending_cap = cap;
    }
    if (m->pending_len == 0)
        m->pending_len = sizeof(struct batch_head);
    struct record_head h = {.item = i, .len = out->len};
    char *at = m->pending + m->pending_len;
    memcpy(at, &h, sizeof h);
    if (out->len)
        memcpy(at + sizeof h, out->data, out->len);
    memset(at + sizeof h + out->len, 0, PAD8(out->len) - out->len);
    m->pending_len += rec;
    m->pending_records++;
    pthread_mutex_unlock(&m->lock);
    atomic_fetch_add(&m->held, rec);
    dlp__doorbell_ring(&m->bell);
    return DLP_OK;
}

/* Backpressure: wait while the rank's results fill its window. */
static void wait_for_room(struct map *m)
{
    unsigned us = DLP__POLL_MIN_US;
    while (atomic_load_explicit(&m->held, memory_order_relaxed) >= m->window) {
        dlp__sleep_us(us);
        us = us * 2 > DLP__POLL_MAX_US ? DLP__POLL_MAX_US : us * 2;
    }
}

static void run_team(struct map *m)
{
    struct dlp_loop *L = m->L;
#pragma omp parallel num_threads(L->o.threads)
    {
        struct dlp__pos pos = {0, 0};
        struct dlp_buf out = {NULL, 0, 0, -1, 0, ""};
        long i;
        while (dlp__loop_take(L, &pos, &i)) {
            out.len = 0;
            out.item = i;
            out.failed = 0;
            int rc = m->work(i, m->ctx, &out);
            if (rc != 0) {
                dlp__loop_failure(L, i, omp_get_thread_num(), DLP_ERR_ITEM,
                                  "work returned %d", rc);
                break;
            }
            if (out.failed) { /* even if work ignored the failed append */
                dlp__loop_failure(L, i, omp_get_thread_num(),
                                  out.failed == DLP_ERR_NOMEM ? DLP_ERR_NOMEM : DLP_ERR_ITEM,
                                  "%s", out.why);
                break;
            }
            if (append(m, i, &out) != DLP_OK) {
                dlp__loop_failure(L, i, omp_get_thread_num(), DLP_ERR_NOMEM,
                                  "out of memory for a batch of results (%zu bytes held)",
                                  atomic_load(&m->held));
                break;
            }
            wait_for_room(m);
        }
        dlp__buf_free(&out);
    }
}

/* Take the pending batch (NULL if empty); *len its bytes, *records its
 * records. The caller owns it. */
static char *take_pending(struct map *m, size_t *len, long *records)
{
    pthread_mutex_lock(&m->lock);
    char *p = NULL;
    if (m->pending_records > 0) {
        p = m->pending;
        *len = m->pending_len;
        *records = m->pending_records;
        m->pending = NULL;
        m->pending_len = m->pending_cap = 0;
        m->pending_records = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return p;
}

static long pending_records(struct map *m)
{
    pthread_mutex_lock(&m->lock);
    long r = m->pending_records;
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* Sleep until rung (results appended, team done), at most nap_us. */
static void nap(struct map *m, unsigned nap_us)
{
    dlp__doorbell_arm(&m->bell);
    atomic_thread_fence(memory_order_seq_cst);
    if (pending_records(m) > 0 || atomic_load(&m->team_done))
        dlp__doorbell_disarm(&m->bell);
    else
        dlp__doorbell_wait(&m->bell, nap_us);
}

/* -------------------------------------------------------------- sender -- */

struct sends {
    MPI_Request *req;
    char **buf;
    int len, cap;
};

static void sends_add(struct sends *s, MPI_Request r, char *buf)
{
    if (s->len == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        MPI_Request *rq = realloc(s->req, (size_t)cap * sizeof *rq);
        if (rq)
            s->req = rq;
        char **b = realloc(s->buf, (size_t)cap * sizeof *b);
        if (b)
            s->buf = b;
        if (!rq || !b)
            dlp__helper_abort("map sender", "out of memory for the send table", MPI_SUCCESS);
        s->cap = cap;
    }
    s->req[s->len] = r;
    s->buf[s->len] = buf;
    s->len++;
}

/* Free the completed sends; 1 if any completed. */
static int sends_reap(struct sends *s)
{
    int any = 0;
    for (int k = 0; k < s->len;) {
        int done = 0;
        CHECK("map sender", MPI_Test(&s->req[k], &done, MPI_STATUS_IGNORE));
        if (done) {
            free(s->buf[k]);
            s->len--;
            s->req[k] = s->req[s->len];
            s->buf[k] = s->buf[s->len];
            any = 1;
        } else {
            k++;
        }
    }
    return any;
}

static void *sender_main(void *arg)
{
    struct map *m = arg;
    struct dlp_loop *L = m->L;
    MPI_Comm comm = dlp__rt.comm;
    struct sends sends = {NULL, NULL, 0, 0};
    struct ack ack;
    MPI_Request ack_req;
    CHECK("map sender", MPI_Irecv(&ack, (int)sizeof ack, MPI_BYTE, 0, DLP__TAG_MAP_ACK, comm,
                                  &ack_req));
    size_t unacked = 0;
    int end_sent = 0, final = 0;
    struct batch_head end = {.seq = L->seq, .records = 0, .bytes = 0, .last = 1, .pad = 0};
    unsigned backoff = DLP__POLL_MIN_US;

    while (!final || sends.len > 0) {
        int busy = sends_reap(&sends);
        int got = 0;
        while (!final) {
            CHECK("map sender", MPI_Test(&ack_req, &got, MPI_STATUS_IGNORE));
            if (!got)
                break;
            if (ack.seq != L->seq || ack.bytes < 0 || (size_t)ack.bytes > unacked)
                dlp__helper_abort("map sender", "ack for another call", MPI_SUCCESS);
            unacked -= (size_t)ack.bytes;
            atomic_fetch_sub(&m->held, (size_t)ack.bytes);
            busy = 1;
            final = ack.final;
            if (!final)
                CHECK("map sender", MPI_Irecv(&ack, (int)sizeof ack, MPI_BYTE, 0,
                                              DLP__TAG_MAP_ACK, comm, &ack_req));
        }
        if (!end_sent) {
            /* team_done first: results appended before it are then pending */
            int done = atomic_load(&m->team_done);
            size_t len = 0;
            long records = 0;
            char *p = NULL;
            pthread_mutex_lock(&m->lock);
            size_t bytes = m->pending_len ? m->pending_len - sizeof(struct batch_head) : 0;
            int fits = unacked == 0 || unacked + bytes <= m->window;
            pthread_mutex_unlock(&m->lock);
            if (fits)
                p = take_pending(m, &len, &records);
            if (p) {
                struct batch_head h = {.seq = L->seq,
                                       .records = records,
                                       .bytes = (long)(len - sizeof h),
                                       .last = 0,
                                       .pad = 0};
                memcpy(p, &h, sizeof h);
                MPI_Request r;
                CHECK("map sender", MPI_Isend_c(p, (MPI_Count)len, MPI_BYTE, 0, DLP__TAG_MAP,
                                                comm, &r));
                sends_add(&sends, r, p);
                unacked += len - sizeof h;
                busy = 1;
            } else if (done && pending_records(m) == 0) {
                MPI_Request r;
                CHECK("map sender", MPI_Isend(&end, (int)sizeof end, MPI_BYTE, 0, DLP__TAG_MAP,
                                              comm, &r));
                sends_add(&sends, r, NULL);
                end_sent = 1;
                busy = 1;
            }
        }
        if (busy) {
            backoff = DLP__POLL_MIN_US;
        } else if (sends.len > 0 || unacked > 0 || end_sent) {
            /* the master owes an answer: poll for it */
            dlp__sleep_us(backoff);
            backoff = backoff * 2 > DLP__POLL_MAX_US ? DLP__POLL_MAX_US : backoff * 2;
        } else {
            nap(m, DLP__AGENT_NAP_US);
        }
    }
    free(sends.req);
    free(sends.buf);
    return NULL;
}

/* ------------------------------------------------------------ consumer -- */

/* Busy ranks and nodes, for the progress display. */
struct busy {
    int ranks, nodes;
    int *on_node; /* [nodes] busy ranks of each node */
};

static void feed_progress(struct map *m, const struct busy *b)
{
    struct dlp_loop *L = m->L;
    atomic_store_explicit(&L->progress_done, m->consumed, memory_order_relaxed);
    dlp__progress_update(&L->progress, m->consumed, b->ranks, dlp__rt.size, b->nodes,
                         dlp__rt.nodes, dlp__now());
}

/* Run the callback on every record of batch p (from rank). */
static void handle_batch(struct map *m, const char *p, int rank, const struct busy *busy)
{
    struct dlp_loop *L = m->L;
    struct batch_head h;
    memcpy(&h, p, sizeof h);
    const char *at = p + sizeof h;
    for (long k = 0; k < h.records; k++) {
        struct record_head r;
        memcpy(&r, at, sizeof r);
        if (r.item < 0 || r.item >= L->n) {
            char what[128];
            snprintf(what, sizeof what, "result of item %ld from rank %d (n = %ld)", r.item,
                     rank, L->n);
            dlp__helper_abort("map consumer", what, MPI_SUCCESS);
        }
        if (!m->stopped) {
            int rc = m->on_result(r.item, at + sizeof r, (size_t)r.len, m->ctx);
            m->consumed++;
            if (rc != 0) {
                m->stopped = 1;
                dlp__loop_failure(L, r.item, -1, DLP_ERR_ITEM,
                                  "on_result returned %d (result of %llu bytes from rank %d)",
                                  rc, (unsigned long long)r.len, rank);
            }
        }
        at += RECORD_BYTES(r.len);
        if (L->progress.active) /* a batch may hold many slow callbacks */
            feed_progress(m, busy);
    }
}

static void rank_done(struct busy *b, int rank)
{
    b->ranks--;
    if (--b->on_node[dlp__rt.node_of_rank[rank]] == 0)
        b->nodes--;
}

static void *consumer_main(void *arg)
{
    struct map *m = arg;
    struct dlp_loop *L = m->L;
    MPI_Comm comm = dlp__rt.comm;
    int others = dlp__rt.size - 1, ended = 0, mine_done = 0;
    struct batch *head = NULL, **tail = &head;
    unsigned backoff = DLP__POLL_MIN_US;
    struct busy busy_now = {dlp__rt.size, dlp__rt.nodes,
                            calloc((size_t)dlp__rt.nodes, sizeof(int))};
    if (!busy_now.on_node)
        dlp__helper_abort("map consumer", "out of memory", MPI_SUCCESS);
    for (int r = 0; r < dlp__rt.size; r++)
        busy_now.on_node[dlp__rt.node_of_rank[r]]++;

    for (;;) {
        int busy = 0;
        if (L->progress.active) {
            if (!mine_done && atomic_load(&m->team_done)) {
                mine_done = 1;
                rank_done(&busy_now, 0);
            }
            feed_progress(m, &busy_now);
        }
        /* everything that arrived, in arrival order */
        for (;;) {
            int found = 0;
            MPI_Message msg;
            MPI_Status st;
            CHECK("map consumer",
                  MPI_Improbe(MPI_ANY_SOURCE, DLP__TAG_MAP, comm, &found, &msg, &st));
            if (!found)
                break;
            MPI_Count bytes = 0;
            CHECK("map consumer", MPI_Get_count_c(&st, MPI_BYTE, &bytes));
            struct batch *b = malloc(sizeof *b);
            char *p = bytes >= (MPI_Count)sizeof(struct batch_head) ? malloc((size_t)bytes) : NULL;
            if (!b || !p)
                dlp__helper_abort("map consumer", "out of memory for a batch of results",
                                  MPI_SUCCESS);
            CHECK("map consumer", MPI_Mrecv_c(p, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
            *b = (struct batch){NULL, p, st.MPI_SOURCE};
            *tail = b;
            tail = &b->next;
            busy = 1;
        }
        size_t len;
        long records;
        char *mine = take_pending(m, &len, &records);
        if (mine) {
            struct batch_head h = {.seq = L->seq,
                                   .records = records,
                                   .bytes = (long)(len - sizeof h),
                                   .last = 0,
                                   .pad = 0};
            memcpy(mine, &h, sizeof h);
            struct batch *b = malloc(sizeof *b);
            if (!b)
                dlp__helper_abort("map consumer", "out of memory", MPI_SUCCESS);
            *b = (struct batch){NULL, mine, 0};
            *tail = b;
            tail = &b->next;
            busy = 1;
        }
        if (head) {
            struct batch *b = head;
            head = b->next;
            if (!head)
                tail = &head;
            struct batch_head h;
            memcpy(&h, b->p, sizeof h);
            if (h.seq != L->seq)
                dlp__helper_abort("map consumer", "results of another call", MPI_SUCCESS);
            handle_batch(m, b->p, b->rank, &busy_now);
            if (b->rank == 0) {
                atomic_fetch_sub(&m->held, (size_t)h.bytes);
            } else {
                struct ack a = {.seq = L->seq, .bytes = h.bytes, .final = h.last, .pad = 0};
                CHECK("map consumer", MPI_Send(&a, (int)sizeof a, MPI_BYTE, b->rank,
                                               DLP__TAG_MAP_ACK, comm));
                ended += h.last;
                if (h.last)
                    rank_done(&busy_now, b->rank);
            }
            free(b->p);
            free(b);
            busy = 1;
        }
        if (!head && ended == others && atomic_load(&m->team_done) && pending_records(m) == 0)
            break;
        if (busy) {
            backoff = DLP__POLL_MIN_US;
        } else {
            /* rung at once for the master's own results; other ranks' batches
             * are found by polling */
            dlp__doorbell_arm(&m->bell);
            atomic_thread_fence(memory_order_seq_cst);
            if (pending_records(m) > 0)
                dlp__doorbell_disarm(&m->bell);
            else
                dlp__doorbell_wait(&m->bell, others > ended ? backoff : DLP__PROGRESS_TICK_US);
            backoff = backoff * 2 > DLP__POLL_MAX_US ? DLP__POLL_MAX_US : backoff * 2;
        }
    }
    free(busy_now.on_node);
    return NULL;
}

/* ---------------------------------------------------------------- call -- */

int dlp_map_unordered(long n, dlp_work_fn work, dlp_result_fn on_result, void *ctx,
                      const dlp_opts *opts)
{
    const char *bad = NULL;
    if (!work)
        bad = "work is NULL";
    else if (!on_result && dlp__rt.rank == 0)
        bad = "on_result is NULL on the master";
    struct dlp_loop *L = NULL;
    DLP_CALL(dlp__loop_begin_map(&L, n, opts, bad, func));
    if (n == 0)
        return dlp__loop_end(&L);
    struct map *m = calloc(1, sizeof *m);
    if (!m) /* past the handshake: the other ranks already compute */
        dlp__helper_abort(func, "out of memory for the map state", MPI_SUCCESS);
    m->L = L;
    m->work = work;
    m->on_result = on_result;
    m->ctx = ctx;
    m->window = L->o.inflight;
    pthread_mutex_init(&m->lock, NULL);
    int master = dlp__rt.rank == 0;
    if (pthread_create(&m->helper, NULL, master ? consumer_main : sender_main, m) != 0)
        dlp__helper_abort(func, "cannot start the map helper thread", MPI_SUCCESS);

    run_team(m);

    atomic_store(&m->team_done, 1);
    dlp__doorbell_ring(&m->bell);
    pthread_join(m->helper, NULL);
    free(m->pending);
    pthread_mutex_destroy(&m->lock);
    free(m);
    return dlp__loop_end(&L);
}
