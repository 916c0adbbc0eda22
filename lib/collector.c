/* Variable-size results (dlp_collector_*). During a call every thread
 * appends (item, bytes) records to an arena of its own, without locks; at
 * the end each rank's records travel to the master (ranks on the master's
 * node directly, other nodes through their leader), where a stable radix
 * sort by item puts them into one buffer in item order. */
#include "collector.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "loop.h"
#include "runtime.h"
#include "transfer.h"
#include "wait.h"

/* ------------------------------------------------------------ records -- */

/* A record of a stream: this header, then len bytes, padded to 8 bytes. A
 * rank's stream is the concatenation of its arenas' blocks. */
struct record {
    int64_t item;
    uint64_t len;
};
#define REC_BYTES(len) (sizeof(struct record) + (((size_t)(len) + 7) & ~(size_t)7))
/* Longest result of one add (REC_BYTES must not overflow). */
#define LEN_MAX (SIZE_MAX / 4)

/* Arena blocks grow from BLOCK_FIRST to BLOCK_MAX bytes; a larger record
 * gets a block of its own size. */
#define BLOCK_FIRST ((size_t)64 << 10)
#define BLOCK_MAX ((size_t)4 << 20)

/* The master copies the sorted results with its OpenMP team above this. */
#define PARALLEL_COPY_BYTES ((size_t)64 << 20)

struct block {
    struct block *next;
    size_t used, cap;
    size_t pad; /* keeps the data after the header 16-byte aligned */
};

static unsigned char *block_data(struct block *b) { return (unsigned char *)(b + 1); }

/* One thread's records of one call, in add order. Only that thread writes
 * it while the call runs; the main thread reads it after the team ended. */
struct arena {
    struct arena *next;
    struct block *head, *tail;
    size_t next_cap;
    size_t stream;  /* bytes of records */
    size_t payload; /* bytes of results */
    long count;
    long blocks;
};

struct dlp_collector {
    _Atomic unsigned long open; /* epoch of the running call; 0: no call */
    long n;                     /* items of the running call */
    const char *func;           /* the running call, for messages */
    _Atomic long lost;          /* adds of this call that ran out of memory */
    pthread_mutex_t lock;       /* arena registration */
    struct arena *arenas, **arenas_end;
    /* the master's results of the last call */
    unsigned char *data;
    size_t *offsets;
    long *items;
    long count;
};

/* Epochs are unique in the process (never reused by another collector or
 * call), so a thread's cached arena cannot be mistaken for a current one. */
static _Atomic unsigned long next_epoch = 1;

static _Thread_local struct {
    unsigned long epoch;
    struct arena *arena;
} tls_arena;

/* Returned for an empty collection. */
static const unsigned char no_data[1];
static const size_t no_offsets[1];
static const long no_items[1];

static void free_arenas(dlp_collector *c)
{
    pthread_mutex_lock(&c->lock);
    struct arena *a = c->arenas;
    c->arenas = NULL;
    c->arenas_end = &c->arenas;
    pthread_mutex_unlock(&c->lock);
    while (a) {
        struct arena *next_a = a->next;
        for (struct block *b = a->head; b;) {
            struct block *next_b = b->next;
            free(b);
            b = next_b;
        }
        free(a);
        a = next_a;
    }
}

static void drop_results(dlp_collector *c)
{
    free(c->data);
    free(c->offsets);
    free(c->items);
    c->data = NULL;
    c->offsets = NULL;
    c->items = NULL;
    c->count = 0;
}

/* ------------------------------------------------------------- create -- */

/* Every rank learns every rank's status (one allgather of an int in the
 * scratch buffer); returns DLP_OK, or this rank's own error, or the error of
 * the lowest failing rank (with a message naming it). */
static int agree_status(int rc, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int *all = (int *)rt->scratch;
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallgather(&rc, 1, MPI_INT, all, 1, MPI_INT, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (rc != DLP_OK)
        return rc;
    for (int r = 0; r < rt->size; r++)
        if (all[r] != DLP_OK)
            return dlp__fail(all[r], func, "rank %d failed (%s); see that rank's dlp_last_error()",
                             r, dlp_strerror(all[r]));
    return DLP_OK;
}

int dlp_collector_create(dlp_collector **c)
{
    static const char *const func = "dlp_collector_create";
    if (c)
        *c = NULL;
    DLP_CALL(dlp__check_idle(func));
    int rc = DLP_OK;
    dlp_collector *col = NULL;
    if (!c) {
        rc = dlp__fail(DLP_ERR_ARG, func, "c is NULL");
    } else if (!(col = calloc(1, sizeof *col))) {
        rc = dlp__fail(DLP_ERR_NOMEM, func, "collector handle of %zu bytes", sizeof *col);
    } else if (pthread_mutex_init(&col->lock, NULL) != 0) {
        free(col);
        col = NULL;
        rc = dlp__fail(DLP_ERR_SYSTEM, func, "pthread_mutex_init failed");
    }
    if (col) {
        atomic_init(&col->open, 0);
        atomic_init(&col->lost, 0);
        col->arenas_end = &col->arenas;
    }
    rc = agree_status(rc, func);
    if (rc != DLP_OK) {
        if (col)
            dlp_collector_destroy(&col);
        return rc;
    }
    *c = col;
    return DLP_OK;
}

int dlp_collector_destroy(dlp_collector **c)
{
    if (!c || !*c)
        return DLP_OK;
    dlp_collector *col = *c;
    if (atomic_load(&col->open))
        return dlp__fail(DLP_ERR_STATE, "dlp_collector_destroy",
                         "the collector is in use by a running call (%s); destroy it after "
                         "the call",
                         col->func ? col->func : "?");
    free_arenas(col);
    drop_results(col);
    pthread_mutex_destroy(&col->lock);
    free(col);
    *c = NULL;
    return DLP_OK;
}

/* ---------------------------------------------------------------- add -- */

static int add_lost(dlp_collector *c, long i, size_t len, const char *what)
{
    atomic_fetch_add(&c->lost, 1);
    return dlp__fail(DLP_ERR_NOMEM, "dlp_collector_add",
                     "item %ld: %s for a result of %zu bytes (thread %d); the call will fail",
                     i, what, len, omp_get_thread_num());
}

/* The calling thread's arena for this epoch, registered on its first add. */
static struct arena *arena_register(dlp_collector *c, unsigned long epoch)
{
    struct arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->next_cap = BLOCK_FIRST;
    pthread_mutex_lock(&c->lock);
    *c->arenas_end = a;
    c->arenas_end = &a->next;
    pthread_mutex_unlock(&c->lock);
    tls_arena.epoch = epoch;
    tls_arena.arena = a;
    return a;
}

static struct block *arena_grow(struct arena *a, size_t need)
{
    size_t cap = a->next_cap < need ? need : a->next_cap;
    struct block *b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    if (a->tail)
        a->tail->next = b;
    else
        a->head = b;
    a->tail = b;
    a->blocks++;
    if (a->next_cap < BLOCK_MAX)
        a->next_cap *= 2;
    return b;
}

int dlp_collector_add(dlp_collector *c, long i, const void *data, size_t len)
{
    static const char *const func = "dlp_collector_add";
    if (!c)
        return dlp__fail(DLP_ERR_ARG, func, "c is NULL (item %ld)", i);
    unsigned long epoch = atomic_load_explicit(&c->open, memory_order_acquire);
    if (epoch == 0)
        return dlp__fail(DLP_ERR_STATE, func,
                         "item %ld: no call with this collector is running (add from the "
                         "bodies of a call with opts.collector = c, or between dlp_loop_begin() "
                         "and dlp_loop_end())",
                         i);
    if (i < 0 || i >= c->n)
        return dlp__fail(DLP_ERR_ARG, func,
                         "item %ld is outside 0..n-1 of the running call (%s, n = %ld; thread %d)",
                         i, c->func, c->n, omp_get_thread_num());
    if (!data && len > 0)
        return dlp__fail(DLP_ERR_ARG, func, "item %ld: data is NULL but len = %zu (thread %d)", i,
                         len, omp_get_thread_num());
    if (len > LEN_MAX)
        return add_lost(c, i, len, "too large");
    struct arena *a = tls_arena.epoch == epoch ? tls_arena.arena : NULL;
    if (!a && !(a = arena_register(c, epoch)))
        return add_lost(c, i, len, "out of memory for the thread's arena");
    size_t need = REC_BYTES(len);
    struct block *b = a->tail;
    if ((!b || b->cap - b->used < need) && !(b = arena_grow(a, need)))
        return add_lost(c, i, len, "out of memory");
    unsigned char *p = block_data(b) + b->used;
    struct record h = {i, len};
    memcpy(p, &h, sizeof h);
    if (len)
        memcpy(p + sizeof h, data, len);
    memset(p + sizeof h + len, 0, need - sizeof h - len); /* no uninitialised bytes on the wire */
    b->used += need;
    a->stream += need;
    a->payload += len;
    a->count++;
    return DLP_OK;
}

/* ---------------------------------------------------------- the calls -- */

int dlp__collector_begin(dlp_collector *c, long n, const char *func)
{
    if (!c)
        return DLP_OK;
    if (atomic_load(&c->open))
        return dlp__fail(DLP_ERR_STATE, func, "opts.collector is already in use by a running call (%s)",
                         c->func ? c->func : "?");
    if (n < 0)
        return dlp__fail(DLP_ERR_ARG, func, "n = %ld must be >= 0", n);
    free_arenas(c);
    drop_results(c);
    c->n = n;
    c->func = func;
    atomic_store(&c->lost, 0);
    atomic_store_explicit(&c->open, atomic_fetch_add(&next_epoch, 1), memory_order_release);
    return DLP_OK;
}

void dlp__collector_abandon(dlp_collector *c)
{
    if (!c)
        return;
    atomic_store(&c->open, 0);
    free_arenas(c);
    drop_results(c);
}

/* What every rank states at the collect (one allgather, in the scratch
 * buffer): status, records, bytes of records, bytes of results, blocks. */
enum { S_STATUS, S_COUNT, S_STREAM, S_PAYLOAD, S_FIELDS };
_Static_assert(S_FIELDS * sizeof(long) <= DLP__SCRATCH_PER_RANK, "scratch too small");

/* One item's record on the master, for sorting. */
struct pair {
    long item;
    const unsigned char *rec; /* the record's header */
};

/* What a collect allocates before the ranks agree to move data. */
struct plan {
    long blocks;             /* this rank's blocks */
    int *lens;               /* [blocks] piece lengths of a message (senders) */
    MPI_Aint *disp;          /* [blocks] piece addresses */
    unsigned char *relay;    /* remote node leaders: one or two messages */
    size_t relay_bytes;      /* bytes of one */
    int relay_double;        /* two (a member's stream is above one message) */
    unsigned char *stage;    /* master: every other rank's stream, in rank order */
    struct pair *a, *b;      /* master: [count] */
    long *hist;              /* master: radix buckets */
    unsigned width, passes;  /* master: radix digit bits and passes */
    unsigned char *data;     /* master: the results */
    size_t *offsets;
    long *items;
    long count;              /* master: all records */
    size_t payload;          /* master: all bytes of results */
};

static void plan_free(struct plan *p)
{
    free(p->lens);
    free(p->disp);
    free(p->relay);
    free(p->stage);
    free(p->a);
    free(p->b);
    free(p->hist);
    free(p->data);
    free(p->offsets);
    free(p->items);
    memset(p, 0, sizeof *p);
}

static void *alloc_or_note(size_t bytes, int *ok)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        *ok = 0;
    return p;
}

static int plan_alloc(const dlp_collector *c, const long *all, struct plan *p, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int ok = 1;
    size_t want = 0;
    if (rt->rank == 0) {
        size_t stage = 0;
        for (int w = 0; w < rt->size; w++) {
            p->count += all[S_FIELDS * w + S_COUNT];
            p->payload += (size_t)all[S_FIELDS * w + S_PAYLOAD];
            if (w > 0)
                stage += (size_t)all[S_FIELDS * w + S_STREAM];
        }
        unsigned bits = 0;
        while (bits < 63 && ((unsigned long)(c->n > 0 ? c->n - 1 : 0) >> bits) != 0)
            bits++;
        p->passes = (bits + 15) / 16;
        p->width = p->passes ? (bits + p->passes - 1) / p->passes : 0;
        size_t n_pairs = (size_t)p->count;
        p->stage = alloc_or_note(stage, &ok);
        p->a = alloc_or_note(n_pairs * sizeof *p->a, &ok);
        p->b = alloc_or_note(n_pairs * sizeof *p->b, &ok);
        p->hist = alloc_or_note(((size_t)1 << p->width) * sizeof *p->hist, &ok);
        p->data = alloc_or_note(p->payload, &ok);
        p->offsets = alloc_or_note((n_pairs + 1) * sizeof *p->offsets, &ok);
        p->items = alloc_or_note(n_pairs * sizeof *p->items, &ok);
        want = stage + p->payload + n_pairs * (2 * sizeof(struct pair) + 2 * sizeof(long));
    } else {
        p->lens = alloc_or_note((size_t)(p->blocks + 1) * sizeof *p->lens, &ok);
        p->disp = alloc_or_note((size_t)(p->blocks + 1) * sizeof *p->disp, &ok);
        want = (size_t)(p->blocks + 1) * (sizeof(int) + sizeof(MPI_Aint));
        if (rt->node_rank == 0) {
            for (int w = 0; w < rt->size; w++)
                if (w != rt->rank && rt->node_of_rank[w] == rt->node &&
                    (size_t)all[S_FIELDS * w + S_STREAM] > p->relay_bytes)
                    p->relay_bytes = (size_t)all[S_FIELDS * w + S_STREAM];
            if (p->relay_bytes > (size_t)DLP__MESSAGE_BYTES) {
                p->relay_bytes = (size_t)DLP__MESSAGE_BYTES;
                p->relay_double = 1;
            }
            p->relay = alloc_or_note(p->relay_bytes * (p->relay_double ? 2 : 1), &ok);
            want += p->relay_bytes * (p->relay_double ? 2 : 1);
        }
    }
    if (!ok)
        return dlp__fail(DLP_ERR_NOMEM, func,
                         "%zu bytes to collect the results of %ld items (opts.collector)", want,
                         c->n);
    return DLP_OK;
}

/* ------------------------------------------------------ data movement -- */

/* Complete a bulk transfer. MPI moves large messages only while it is
 * called, so the polite waiting of dlp__wait() (sleeps of up to
 * DLP__WAIT_MAX_US) would cap it at a chunk per sleep: this tests without
 * pause, yielding the core to whoever else wants it between tests. */
static int wait_transfer(int count, MPI_Request *reqs)
{
    MPI_Status st[2];
    int flag = 0, mrc;
    if (count > 2)
        return MPI_ERR_COUNT;
    while ((mrc = MPI_Testall(count, reqs, &flag, st)) == MPI_SUCCESS && !flag)
        sched_yield();
    return mrc;
}

static int move_bytes(int send, void *buf, size_t len, int peer, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    for (size_t off = 0; off < len;) {
        size_t part = len - off < (size_t)DLP__MESSAGE_BYTES ? len - off : (size_t)DLP__MESSAGE_BYTES;
        MPI_Request req;
        int mrc = send ? MPI_Isend((char *)buf + off, (int)part, MPI_BYTE, peer, DLP__TAG_RESULTS,
                                   rt->comm, &req)
                       : MPI_Irecv((char *)buf + off, (int)part, MPI_BYTE, peer, DLP__TAG_RESULTS,
                                   rt->comm, &req);
        if (mrc == MPI_SUCCESS)
            mrc = wait_transfer(1, &req);
        if (mrc != MPI_SUCCESS)
            return dlp__fail_mpi(func, send ? "sending collected results (MPI_Isend)"
                                            : "receiving collected results (MPI_Irecv)",
                                 mrc);
        off += part;
    }
    return DLP_OK;
}

/* Send this rank's stream (len bytes, spread over its arenas' blocks)
 * straight from the blocks, in messages cut exactly like move_bytes()
 * cuts the receive, each one hindexed datatype. */
static int send_stream(dlp_collector *c, struct plan *p, size_t len, int peer, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    struct arena *a = c->arenas;
    struct block *b = a ? a->head : NULL;
    size_t pos = 0, sent = 0;
    while (sent < len) {
        size_t msg = len - sent < (size_t)DLP__MESSAGE_BYTES ? len - sent : (size_t)DLP__MESSAGE_BYTES;
        int k = 0;
        for (size_t got = 0; got < msg;) {
            while (!b || pos == b->used) {
                if (b) {
                    b = b->next;
                } else {
                    a = a->next;
                    b = a->head;
                }
                pos = 0;
            }
            size_t take = b->used - pos < msg - got ? b->used - pos : msg - got;
            if (k > p->blocks)
                return dlp__fail(DLP_ERR_STATE, func, "internal error: stream pieces");
            MPI_Get_address(block_data(b) + pos, &p->disp[k]);
            p->lens[k++] = (int)take;
            pos += take;
            got += take;
        }
        MPI_Datatype type;
        MPI_Request req;
        int mrc = MPI_Type_create_hindexed(k, p->lens, p->disp, MPI_BYTE, &type);
        if (mrc == MPI_SUCCESS && (mrc = MPI_Type_commit(&type)) == MPI_SUCCESS) {
            mrc = MPI_Isend(MPI_BOTTOM, 1, type, peer, DLP__TAG_RESULTS, rt->comm, &req);
            if (mrc == MPI_SUCCESS)
                mrc = wait_transfer(1, &req);
            MPI_Type_free(&type);
        }
        if (mrc != MPI_SUCCESS)
            return dlp__fail_mpi(func, "sending collected results", mrc);
        sent += msg;
    }
    return DLP_OK;
}

/* A remote node leader forwards member w's stream (len > 0 bytes) to the
 * master in the parts move_bytes() cuts: parts of relay_bytes, which is
 * DLP__MESSAGE_BYTES whenever a member's stream is longer than that (else
 * every stream is one part). With two relay buffers the next part arrives
 * while the previous one leaves. */
static int relay_stream(struct plan *p, int w, size_t len, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    const size_t most = p->relay_bytes;
    unsigned char *buf[2] = {p->relay, p->relay + (p->relay_double ? most : 0)};
    size_t off = 0, part = len < most ? len : most;
    int j = 0;
    MPI_Request req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    int mrc = MPI_Irecv(buf[0], (int)part, MPI_BYTE, w, DLP__TAG_RESULTS, rt->comm, &req[0]);
    if (mrc == MPI_SUCCESS)
        mrc = wait_transfer(1, req);
    while (mrc == MPI_SUCCESS) {
        size_t next_off = off + part;
        size_t next = len - next_off < most ? len - next_off : most;
        if (next > 0 && !p->relay_double)
            return dlp__fail(DLP_ERR_STATE, func, "internal error: relay of rank %d", w);
        mrc = MPI_Isend(buf[j], (int)part, MPI_BYTE, 0, DLP__TAG_RESULTS, rt->comm, &req[0]);
        if (mrc == MPI_SUCCESS && next > 0)
            mrc = MPI_Irecv(buf[1 - j], (int)next, MPI_BYTE, w, DLP__TAG_RESULTS, rt->comm,
                            &req[1]);
        if (mrc == MPI_SUCCESS)
            mrc = wait_transfer(2, req);
        if (next == 0)
            break;
        off = next_off;
        part = next;
        j = 1 - j;
    }
    return mrc == MPI_SUCCESS ? DLP_OK
                              : dlp__fail_mpi(func, "relaying collected results", mrc);
}

/* Threads -> rank -> node leader -> master: ranks on the master's node send
 * to the master directly; every other node's members send to their leader,
 * which forwards its own stream and then theirs, message by message, in
 * rank order. The master receives in rank order. Ranks with nothing to send
 * send no message. */
static int move_streams(dlp_collector *c, const long *all, struct plan *p, size_t mine,
                        const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    if (rt->rank == 0) {
        size_t off = 0;
        for (int w = 1; w < rt->size; w++) {
            size_t len = (size_t)all[S_FIELDS * w + S_STREAM];
            int node = rt->node_of_rank[w];
            DLP_CALL(move_bytes(0, p->stage + off, len, node == 0 ? w : rt->node_leader[node],
                                func));
            off += len;
        }
        return DLP_OK;
    }
    if (rt->node == 0)
        return send_stream(c, p, mine, 0, func);
    if (rt->node_rank != 0)
        return send_stream(c, p, mine, rt->node_leader[rt->node], func);
    DLP_CALL(send_stream(c, p, mine, 0, func));
    for (int w = rt->rank + 1; w < rt->size; w++) {
        if (rt->node_of_rank[w] != rt->node)
            continue;
        size_t len = (size_t)all[S_FIELDS * w + S_STREAM];
        if (len > 0)
            DLP_CALL(relay_stream(p, w, len, func));
    }
    return DLP_OK;
}

/* ------------------------------------------------------ on the master -- */

/* Append the records of one stream to pairs; returns the new count, or -1
 * when the stream is malformed. */
static long parse_stream(const unsigned char *s, size_t len, struct pair *pairs, long k,
                         long limit)
{
    size_t pos = 0;
    while (pos < len) {
        struct record h;
        if (len - pos < sizeof h || k >= limit)
            return -1;
        memcpy(&h, s + pos, sizeof h);
        if (h.len > LEN_MAX || REC_BYTES(h.len) > len - pos)
            return -1;
        pairs[k++] = (struct pair){(long)h.item, s + pos};
        pos += REC_BYTES(h.len);
    }
    return k;
}

/* Stable LSD radix sort of the pairs by item; returns the sorted array
 * (p->a or p->b). */
static struct pair *sort_pairs(struct plan *p)
{
    struct pair *src = p->a, *dst = p->b;
    size_t buckets = (size_t)1 << p->width;
    unsigned long mask = (unsigned long)buckets - 1;
    for (unsigned pass = 0; pass < p->passes; pass++) {
        unsigned shift = pass * p->width;
        memset(p->hist, 0, buckets * sizeof *p->hist);
        for (long k = 0; k < p->count; k++)
            p->hist[((unsigned long)src[k].item >> shift) & mask]++;
        long sum = 0, top = 0;
        for (size_t d = 0; d < buckets; d++) {
            long h = p->hist[d];
            top = h > top ? h : top;
            p->hist[d] = sum;
            sum += h;
        }
        if (top == p->count) /* one digit value: already in order for this pass */
            continue;
        for (long k = 0; k < p->count; k++)
            dst[p->hist[((unsigned long)src[k].item >> shift) & mask]++] = src[k];
        struct pair *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* The master's records (its own arenas, then the stage in rank order),
 * sorted by item, copied into the collector's buffer. */
static int build_results(dlp_collector *c, const long *all, struct plan *p, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    long k = 0;
    for (struct arena *a = c->arenas; a && k >= 0; a = a->next)
        for (struct block *b = a->head; b && k >= 0; b = b->next)
            k = parse_stream(block_data(b), b->used, p->a, k, p->count);
    size_t off = 0;
    for (int w = 1; w < rt->size && k >= 0; w++) {
        size_t len = (size_t)all[S_FIELDS * w + S_STREAM];
        k = parse_stream(p->stage + off, len, p->a, k, p->count);
        off += len;
    }
    if (k != p->count)
        return dlp__fail(DLP_ERR_STATE, func,
                         "internal error: the collected results hold %ld records, expected %ld",
                         k, p->count);
    const struct pair *sorted = sort_pairs(p);
    size_t *offsets = p->offsets;
    offsets[0] = 0;
    for (long j = 0; j < p->count; j++) {
        struct record h;
        memcpy(&h, sorted[j].rec, sizeof h);
        p->items[j] = (long)h.item;
        offsets[j + 1] = offsets[j] + (size_t)h.len;
    }
    unsigned char *data = p->data;
    long count = p->count;
#pragma omp parallel for schedule(dynamic, 1024) if (p->payload >= PARALLEL_COPY_BYTES)
    for (long j = 0; j < count; j++)
        memcpy(data + offsets[j], sorted[j].rec + sizeof(struct record),
               offsets[j + 1] - offsets[j]);
    c->data = p->data;
    c->offsets = p->offsets;
    c->items = p->items;
    c->count = p->count;
    p->data = NULL;
    p->offsets = NULL;
    p->items = NULL;
    return DLP_OK;
}

/* ------------------------------------------------------------ collect -- */

int dlp__collector_collect(dlp_collector *c, const char *func)
{
    if (!c)
        return DLP_OK;
    const struct dlp__runtime *rt = &dlp__rt;
    unsigned long was_open = atomic_exchange(&c->open, 0);
    struct plan p;
    memset(&p, 0, sizeof p);
    long mine[S_FIELDS] = {0};
    long lost = atomic_load(&c->lost);
    int rc = DLP_OK;
    if (!was_open)
        rc = dlp__fail(DLP_ERR_STATE, func, "internal error: opts.collector was not set up");
    else if (lost > 0)
        rc = dlp__fail(DLP_ERR_NOMEM, func,
                       "%ld result%s added on this rank could not be stored (dlp_collector_add() "
                       "ran out of memory)",
                       lost, lost == 1 ? "" : "s");
    for (struct arena *a = c->arenas; a; a = a->next) {
        mine[S_COUNT] += a->count;
        mine[S_STREAM] += (long)a->stream;
        mine[S_PAYLOAD] += (long)a->payload;
        p.blocks += a->blocks;
    }
    mine[S_STATUS] = rc;

    /* 1. every rank's status and sizes, on every rank */
    long *all = (long *)rt->scratch;
    MPI_Request req;
    int mrc = MPI_Iallgather(mine, S_FIELDS, MPI_LONG, all, S_FIELDS, MPI_LONG, rt->comm, &req);
    if (mrc == MPI_SUCCESS)
        mrc = dlp__wait(&req);
    if (mrc != MPI_SUCCESS) {
        rc = dlp__fail_mpi(func, "MPI_Iallgather of the collected sizes", mrc);
        goto out;
    }
    for (int r = 0; r < rt->size && rc == DLP_OK; r++)
        if (all[S_FIELDS * r + S_STATUS] != DLP_OK)
            rc = dlp__fail((int)all[S_FIELDS * r + S_STATUS], func,
                           "collecting opts.collector failed on rank %d (%s); see that rank's "
                           "dlp_last_error()",
                           r, dlp_strerror((int)all[S_FIELDS * r + S_STATUS]));
    if (rc != DLP_OK)
        goto out;

    /* 2. every rank allocates what it needs, then all agree */
    rc = agree_status(plan_alloc(c, all, &p, func), func);
    if (rc != DLP_OK)
        goto out;

    /* 3. the data moves; the master sorts */
    rc = move_streams(c, all, &p, (size_t)mine[S_STREAM], func);
    if (rc == DLP_OK && rt->rank == 0)
        rc = build_results(c, all, &p, func);
out:
    plan_free(&p);
    free_arenas(c);
    return rc;
}

/* ------------------------------------------------------------ queries -- */

long dlp_collector_count(const dlp_collector *c)
{
    if (!c)
        return dlp__fail(DLP_ERR_ARG, "dlp_collector_count", "c is NULL");
    return c->count;
}

int dlp_collector_get(const dlp_collector *c, long k, long *i, const void **data, size_t *len)
{
    static const char *const func = "dlp_collector_get";
    if (!c)
        return dlp__fail(DLP_ERR_ARG, func, "c is NULL");
    if (k < 0 || k >= c->count)
        return dlp__fail(DLP_ERR_ARG, func, "k = %ld is outside 0..count-1 (count = %ld%s)", k,
                         c->count,
                         dlp__rt_rank_or_minus1() > 0 ? "; results are on the master only" : "");
    if (i)
        *i = c->items[k];
    if (data)
        *data = c->data + c->offsets[k];
    if (len)
        *len = c->offsets[k + 1] - c->offsets[k];
    return DLP_OK;
}

int dlp_collector_buffer(const dlp_collector *c, const void **data, const size_t **offsets,
                         const long **items, long *count)
{
    static const char *const func = "dlp_collector_buffer";
    if (!c)
        return dlp__fail(DLP_ERR_ARG, func, "c is NULL");
    if (dlp__rt_rank_or_minus1() > 0)
        return dlp__fail(DLP_ERR_ARG, func, "results are on the master only (this is rank %d)",
                         dlp__rt_rank_or_minus1());
    int empty = c->offsets == NULL;
    if (data)
        *data = empty ? (const void *)no_data : (const void *)c->data;
    if (offsets)
        *offsets = empty ? no_offsets : c->offsets;
    if (items)
        *items = empty ? no_items : c->items;
    if (count)
        *count = c->count;
    return DLP_OK;
}
