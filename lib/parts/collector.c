/* Variable-size results (dlp_collector_*). During a call every thread
 * appends (item, bytes) records to an arena of its own, without locks. At
 * the end the master gathers every record's {item, len} (ranks on the
 * master's node directly, other nodes through their leader), sorts them by
 * item with a stable radix sort, and then receives the bytes straight from
 * the other ranks' arenas into their final place in one buffer. */
#include "collector.h"

#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "error.h"
#include "runtime.h"
#include "tags.h"
#include "transfer.h"
#include "wait.h"

/* ------------------------------------------------------------ records -- */

/* A record in an arena block: this header, then len bytes, padded to 8
 * bytes. The headers alone are what the master sorts. */
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

/* The master copies its own results with its OpenMP team above this. */
#define PARALLEL_COPY_BYTES ((size_t)64 << 20)

struct block {
    struct block *next;
    size_t used, cap;
    /* keeps the data after the header 16-byte aligned (never read) */
    /* cppcheck-suppress unusedStructMember */
    size_t pad;
};

static unsigned char *block_data(struct block *b) { return (unsigned char *)(b + 1); }

/* One thread's records of one call, in add order. Only that thread writes
 * it while the call runs; the main thread reads it after the team ended. */
struct arena {
    struct arena *next;
    struct block *head, *tail;
    size_t next_cap;
    size_t payload; /* bytes of results */
    long count;
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
    /* both read in dlp_collector_add(): cppcheck 2.10 does not see uses
     * through a _Thread_local variable */
    /* cppcheck-suppress unusedStructMember */
    unsigned long epoch;
    /* cppcheck-suppress unusedStructMember */
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

/* The error of the lowest failing rank of all[size] (with a message naming
 * it), or DLP_OK. */
static int first_failure(const int *all, int size, const char *func)
{
    for (int r = 0; r < size; r++)
        if (all[r] != DLP_OK)
            return dlp__fail_from_rank(all[r], r, func, "the collector failed");
    return DLP_OK;
}

/* Every rank learns every rank's status (one allgather of an int in the
 * scratch buffer); returns DLP_OK, or this rank's own error, or the error of
 * the lowest failing rank. */
static int agree_status(int rc, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int *all = (int *)rt->scratch;
    int mine = rc; /* (not &rc: MPI holds the send buffer until the wait) */
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallgather(&mine, 1, MPI_INT, all, 1, MPI_INT, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (rc != DLP_OK)
        return rc;
    return first_failure(all, rt->size, func);
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
        rc = DLP_FAIL(DLP_ERR_ARG, func, "c is NULL");
    } else if (!(col = calloc(1, sizeof *col))) {
        rc = DLP_FAIL(DLP_ERR_NOMEM, func, "collector handle of %zu bytes", sizeof *col);
    } else if (pthread_mutex_init(&col->lock, NULL) != 0) { /* only for lack of resources */
        free(col);
        col = NULL;
        rc = DLP_FAIL(DLP_ERR_NOMEM, func, "pthread_mutex_init failed");
    }
    if (col) {
        atomic_init(&col->open, 0);
        atomic_init(&col->lost, 0);
        col->arenas_end = &col->arenas;
    }
    rc = dlp__enter(func, NULL, rc, NULL, 0, NULL);
    if (rc != DLP_OK || !c) { /* (!c: rc is DLP_ERR_ARG then already) */
        if (col)
            dlp_collector_destroy(&col);
        return rc != DLP_OK ? rc : DLP_ERR_ARG;
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

/* ------------------------------------------------------------ collect --
 *
 * 1. One allgather: every rank's status, records and bytes of results.
 * 2. Every rank allocates all it will need; one allgather of the outcome.
 * 3. Headers ({item, len} per record, in each rank's add order) go to the
 *    master, which sorts them by item (stable) and so knows where every
 *    result goes in its buffer.
 * 4. The results go straight into place: each rank sends its bytes from
 *    its arenas and the master receives them at their final offsets, each
 *    side describing a message by its own pieces (both cut the messages
 *    the same way, next_message(); transfer.c moves them); the master
 *    copies its own.
 * Ranks on the master's node send to it directly; the other nodes' members
 * send to their leader, which forwards its own messages and then theirs, in
 * rank order, as they come. The master receives in rank order. */

/* What every rank states at the collect (allgathered in the scratch buffer). */
enum { S_STATUS, S_COUNT, S_PAYLOAD, S_FIELDS };
_Static_assert(S_FIELDS * sizeof(long) <= DLP__SCRATCH_PER_RANK, "scratch too small");

/* Pieces of one message of results at most (besides DLP__MESSAGE_BYTES). */
#define PIECES_MAX 65536L

/* A record on the master, for sorting: its item and global index. */
struct pair {
    long item;
    long g;
};

/* What a collect allocates before the ranks agree to move data. */
struct plan {
    long own;               /* this rank's records */
    struct record *hdr;     /* [own] (master: [count], all ranks' in rank order) */
    unsigned char **addr;   /* [own] where each of this rank's results is */
    long pieces;            /* capacity of lens, disp */
    int *lens;              /* pieces of one message */
    MPI_Aint *disp;
    void *first;            /* start of the message's first piece */
    unsigned char *relay;   /* remote node leaders: two buffers of relay_bytes */
    size_t relay_bytes;
    struct pair *a, *b;     /* master: [count] */
    long *hist;             /* master: radix buckets */
    unsigned width, passes; /* master: radix digit bits and passes */
    size_t *dest;           /* master: [count] offset of record g in data */
    unsigned char *data;    /* master: the results */
    size_t *offsets;        /* master: [count + 1] */
    long *items;            /* master: [count] */
    long count;             /* master: all records */
    size_t payload;         /* master: all bytes of results */
};

static void plan_free(struct plan *p)
{
    free(p->hdr);
    free(p->addr);
    free(p->lens);
    free(p->disp);
    free(p->relay);
    free(p->a);
    free(p->b);
    free(p->hist);
    free(p->dest);
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

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static int plan_alloc(const dlp_collector *c, const long *all, struct plan *p, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int ok = 1;
    size_t want = 0;
    p->own = all[S_FIELDS * rt->rank + S_COUNT];
    long most = p->own; /* most records of one message's sender */
    if (rt->rank == 0) {
        for (int w = 0; w < rt->size; w++) {
            p->count += all[S_FIELDS * w + S_COUNT];
            p->payload += (size_t)all[S_FIELDS * w + S_PAYLOAD];
            if (all[S_FIELDS * w + S_COUNT] > most)
                most = all[S_FIELDS * w + S_COUNT];
        }
        unsigned bits = 0;
        while (bits < 63 && ((unsigned long)(c->n > 0 ? c->n - 1 : 0) >> bits) != 0)
            bits++;
        p->passes = (bits + 15) / 16;
        p->width = p->passes ? (bits + p->passes - 1) / p->passes : 0;
        size_t recs = (size_t)p->count;
        p->hdr = alloc_or_note(recs * sizeof *p->hdr, &ok);
        p->a = alloc_or_note(recs * sizeof *p->a, &ok);
        p->b = alloc_or_note(recs * sizeof *p->b, &ok);
        p->hist = alloc_or_note(((size_t)1 << p->width) * sizeof *p->hist, &ok);
        p->dest = alloc_or_note(recs * sizeof *p->dest, &ok);
        p->data = alloc_or_note(p->payload, &ok);
        p->offsets = alloc_or_note((recs + 1) * sizeof *p->offsets, &ok);
        p->items = alloc_or_note(recs * sizeof *p->items, &ok);
        want += p->payload + recs * (sizeof(struct record) + 2 * sizeof(struct pair) +
                                     2 * sizeof(size_t) + sizeof(long));
    } else {
        p->hdr = alloc_or_note((size_t)p->own * sizeof *p->hdr, &ok);
        want += (size_t)p->own * sizeof(struct record);
    }
    p->addr = alloc_or_note((size_t)p->own * sizeof *p->addr, &ok);
    p->pieces = (most < PIECES_MAX ? most : PIECES_MAX) + 1;
    p->lens = alloc_or_note((size_t)p->pieces * sizeof *p->lens, &ok);
    p->disp = alloc_or_note((size_t)p->pieces * sizeof *p->disp, &ok);
    want += (size_t)p->own * sizeof(unsigned char *) +
            (size_t)p->pieces * (sizeof(int) + sizeof(MPI_Aint));
    if (rt->rank != 0 && rt->node_rank == 0) {
        /* the longest message a member sends: headers or results */
        for (int w = rt->rank + 1; w < rt->size; w++) {
            if (rt->node_of_rank[w] != rt->node)
                continue;
            size_t hdr = (size_t)all[S_FIELDS * w + S_COUNT] * sizeof(struct record);
            size_t pay = (size_t)all[S_FIELDS * w + S_PAYLOAD];
            size_t m = min_size(hdr > pay ? hdr : pay, (size_t)DLP__MESSAGE_BYTES);
            if (m > p->relay_bytes)
                p->relay_bytes = m;
        }
        p->relay = alloc_or_note(2 * p->relay_bytes, &ok);
        want += 2 * p->relay_bytes;
    }
    if (!ok)
        return dlp__fail(DLP_ERR_NOMEM, func,
                         "%zu bytes to collect the results of %ld items (opts.collector)", want,
                         c->n);
    return DLP_OK;
}

/* This rank's records in add order: headers and where their bytes are. */
static void plan_fill(dlp_collector *c, struct plan *p)
{
    long r = 0;
    for (struct arena *a = c->arenas; a; a = a->next) {
        for (struct block *b = a->head; b; b = b->next) {
            for (size_t pos = 0; pos < b->used && r < p->own;) {
                unsigned char *rec = block_data(b) + pos;
                memcpy(&p->hdr[r], rec, sizeof p->hdr[r]);
                p->addr[r++] = rec + sizeof(struct record);
                pos += REC_BYTES(p->hdr[r - 1].len);
            }
        }
    }
}

/* ------------------------------------------------------ data movement -- */

/* A sequence of records' results: on the sender where they are in its
 * arenas (addr), on the master where they go (base + dest). */
struct seq {
    const struct record *hdr;
    unsigned char *const *addr;
    unsigned char *base;
    const size_t *dest;
    long count;
    long r;      /* next record */
    size_t done; /* bytes of it in earlier messages */
};

/* The pieces of the next message; returns its bytes. A message holds at
 * most DLP__MESSAGE_BYTES bytes of at most PIECES_MAX records (results of 0
 * bytes take none): the sender and the master cut the same records the
 * same way. Pieces adjacent in memory become one on either side (on the
 * master, a rank's items that follow each other). */
static size_t next_message(struct seq *s, struct plan *p, int *npieces)
{
    size_t bytes = 0;
    long recs = 0;
    int k = 0;
    /* k <= recs <= the sender's records < p->pieces */
    while (s->r < s->count && bytes < (size_t)DLP__MESSAGE_BYTES && recs < PIECES_MAX &&
           k < p->pieces) {
        /* hdr[0..count) is filled: plan_fill() copies the records of the
         * arenas whose counts make up count (the analyzer takes the arena
         * list for possibly shorter) */
        size_t len = (size_t)s->hdr[s->r].len; // NOLINT(clang-analyzer-core.uninitialized.Assign)
        size_t take = min_size(len - s->done, (size_t)DLP__MESSAGE_BYTES - bytes);
        if (take > 0) {
            // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): as hdr above
            unsigned char *at = (s->addr ? s->addr[s->r] : s->base + s->dest[s->r]) + s->done;
            MPI_Aint disp;
            MPI_Get_address(at, &disp);
            if (k > 0 && p->disp[k - 1] + p->lens[k - 1] == disp) {
                p->lens[k - 1] += (int)take;
            } else {
                if (k == 0)
                    p->first = at;
                p->disp[k] = disp;
                p->lens[k++] = (int)take;
            }
            recs++;
            bytes += take;
            s->done += take;
        }
        if (s->done == len) {
            s->r++;
            s->done = 0;
        }
    }
    *npieces = k;
    return bytes;
}

/* Send (send = 1) or receive the results of s, total bytes, message by
 * message. */
static int move_results(int send, struct seq *s, struct plan *p, size_t total, int peer,
                        const char *func)
{
    for (size_t moved = 0; moved < total;) {
        int k = 0;
        size_t bytes = next_message(s, p, &k);
        if (bytes == 0)
            return dlp__fail(DLP_ERR_STATE, func, "internal error: %zu of %zu bytes of results "
                             "left without records", total - moved, total);
        DLP_CALL(dlp__move_pieces(send, k, p->lens, p->disp, p->first, peer, DLP__TAG_RESULTS,
                                  dlp__rt.comm,
                                  send ? "sending collected results"
                                       : "receiving collected results",
                                  func));
        moved += bytes;
    }
    return DLP_OK;
}

/* Headers: len bytes to or from peer. */
static int move_headers(int send, struct record *hdr, size_t len, int peer, const char *func)
{
    return dlp__move_bytes(send, hdr, len, peer, DLP__TAG_RESULTS, dlp__rt.comm,
                           send ? "sending collected results" : "receiving collected results",
                           func);
}

/* A remote node leader forwards total bytes that member w sends it to the
 * master, message by message as they come. */
static int relay(struct plan *p, int w, size_t total, const char *func)
{
    return dlp__relay_bytes(w, 0, total, p->relay, p->relay_bytes, DLP__TAG_RESULTS,
                            dlp__rt.comm, "forwarding collected results", func);
}

/* Peer the master receives rank w's messages from. */
static int source_of(int w)
{
    int node = dlp__rt.node_of_rank[w];
    return node == 0 ? w : dlp__rt.node_leader[node];
}

/* ------------------------------------------------------ on the master -- */

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

/* All headers are in p->hdr (rank order, add order): item order, offsets,
 * and where every record's bytes go; then the master's own bytes. */
static void place_records(struct plan *p)
{
    for (long g = 0; g < p->count; g++)
        p->a[g] = (struct pair){(long)p->hdr[g].item, g};
    const struct pair *sorted = sort_pairs(p);
    size_t *offsets = p->offsets;
    /* plan_alloc() allocated offsets on the master (the only caller), and
     * the agreement found every allocation done; the analyzer takes
     * plan_alloc()'s branch of another rank (it assumes dlp__rt.rank may
     * change across the calls between) */
    offsets[0] = 0; // NOLINT(clang-analyzer-core.NullDereference)
    for (long k = 0; k < p->count; k++) {
        long g = sorted[k].g;
        p->items[k] = sorted[k].item;
        p->dest[g] = offsets[k];
        offsets[k + 1] = offsets[k] + (size_t)p->hdr[g].len;
    }
    unsigned char *data = p->data;
    const size_t *dest = p->dest;
    const struct record *hdr = p->hdr;
    unsigned char *const *addr = p->addr;
    long own = p->own;
    /* own_bytes is read by the if clause below, which cppcheck skips */
    size_t own_bytes = 0; // cppcheck-suppress unreadVariable
    for (long r = 0; r < own; r++)
        own_bytes += (size_t)hdr[r].len; // cppcheck-suppress unreadVariable
#pragma omp parallel for default(none) shared(data, dest, addr, hdr, own) \
    schedule(dynamic, 256) if (own_bytes >= PARALLEL_COPY_BYTES)
    for (long r = 0; r < own; r++)
        memcpy(data + dest[r], addr[r], (size_t)hdr[r].len);
}

static int collect_master(dlp_collector *c, const long *all, struct plan *p, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    long base = p->own;
    for (int w = 1; w < rt->size; w++) {
        long cnt = all[S_FIELDS * w + S_COUNT];
        DLP_CALL(move_headers(0, p->hdr + base, (size_t)cnt * sizeof *p->hdr, source_of(w), func));
        base += cnt;
    }
    place_records(p);
    base = p->own;
    for (int w = 1; w < rt->size; w++) {
        long cnt = all[S_FIELDS * w + S_COUNT];
        struct seq s = {p->hdr + base, NULL, p->data, p->dest + base, cnt, 0, 0};
        DLP_CALL(move_results(0, &s, p, (size_t)all[S_FIELDS * w + S_PAYLOAD], source_of(w),
                              func));
        base += cnt;
    }
    c->data = p->data;
    c->offsets = p->offsets;
    c->items = p->items;
    c->count = p->count;
    p->data = NULL;
    p->offsets = NULL;
    p->items = NULL;
    return DLP_OK;
}

/* Every other rank: headers, then results, to the master or the leader; a
 * remote node leader forwards its members' after its own. */
static int collect_sender(const long *all, struct plan *p, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int leader = rt->node != 0 && rt->node_rank == 0;
    int to = rt->node == 0 || leader ? 0 : rt->node_leader[rt->node];
    DLP_CALL(move_headers(1, p->hdr, (size_t)p->own * sizeof *p->hdr, to, func));
    for (int w = rt->rank + 1; leader && w < rt->size; w++)
        if (rt->node_of_rank[w] == rt->node)
            DLP_CALL(relay(p, w, (size_t)all[S_FIELDS * w + S_COUNT] * sizeof(struct record),
                           func));
    struct seq s = {p->hdr, p->addr, NULL, NULL, p->own, 0, 0};
    DLP_CALL(move_results(1, &s, p, (size_t)all[S_FIELDS * rt->rank + S_PAYLOAD], to, func));
    for (int w = rt->rank + 1; leader && w < rt->size; w++)
        if (rt->node_of_rank[w] == rt->node)
            DLP_CALL(relay(p, w, (size_t)all[S_FIELDS * w + S_PAYLOAD], func));
    return DLP_OK;
}

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
        mine[S_PAYLOAD] += (long)a->payload;
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
            rc = dlp__fail_from_rank((int)all[S_FIELDS * r + S_STATUS], r, func,
                                     "collecting opts.collector failed");
    if (rc != DLP_OK)
        goto out;

    /* 2. every rank allocates what it needs, then all agree (the sizes
     * stay in the scratch buffer: copy them out first) */
    long *sizes = malloc(sizeof(long) * S_FIELDS * (size_t)rt->size);
    if (sizes)
        memcpy(sizes, all, sizeof(long) * S_FIELDS * (size_t)rt->size);
    rc = sizes ? plan_alloc(c, sizes, &p, func)
               : DLP_FAIL(DLP_ERR_NOMEM, func, "size table of %d ranks", rt->size);
    rc = agree_status(rc, func);
    if (rc == DLP_OK) {
        /* 3., 4. the data moves */
        plan_fill(c, &p);
        rc = rt->rank == 0 ? collect_master(c, sizes, &p, func) : collect_sender(sizes, &p, func);
    }
    free(sizes);
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
