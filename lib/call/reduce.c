/* Reductions of per-item contributions (reduce.h, dlp_reduce in dlp_mpi.h). */
#include "reduce.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "error.h"
#include "loop.h"
#include "runtime.h"
#include "superacc.h"
#include "transfer.h"
#include "wait.h"

#define ACC_BYTES_MAX ((size_t)256 << 20)
/* A built-in reduction whose values of all ranks together fit this many
 * bytes travels in the end-of-call agreement (dlp__reduce_packed_bytes). */
#define PACKED_BYTES_MAX ((size_t)64 << 10)
#define LINE 64

/* One thread's accumulator and its item scratch, each on lines of its own. */
struct slot {
    void *acc;
    void *scratch;
};

struct dlp_reduce {
    int op, type;          /* built-in (op 0: a user reduction) */
    long count;
    size_t bytes;          /* of an accumulator (SUM_REPRO: count superaccumulators) */
    size_t result_bytes;   /* of the result (SUM_REPRO: count doubles) */
    dlp_reduce_init_fn init;
    dlp_reduce_combine_fn combine;
    void *ctx;
    unsigned long gen;     /* the running call's number for r, 0 outside a call */
    int scratch_mode;      /* contributions wait in the item's scratch */
    pthread_mutex_t lock;  /* slots */
    struct slot **slots;   /* kept from call to call */
    int used, cap;         /* used in this call, allocated */
    void *value, *incoming, *result;
    int valid;             /* result holds a result on this rank */
};

/* The calling thread's slot of the running call's reduction. */
/* (cppcheck misses the uses of an unnamed struct's members) */
static _Thread_local struct {
    /* cppcheck-suppress unusedStructMember */
    const dlp_reduce *r;
    /* cppcheck-suppress unusedStructMember */
    unsigned long gen;
    /* cppcheck-suppress unusedStructMember */
    struct slot *slot;
    /* cppcheck-suppress unusedStructMember */
    struct slot *pending; /* its scratch holds the current item's contributions */
} tls;

static atomic_ulong gen_counter;  /* call numbers, unique over all reductions */
static atomic_ulong current_gen;  /* the running call's, 0 when none */

/* Where a misused dlp_reduce_acc writes while its call fails. */
#define SINK_BYTES 65536
static _Alignas(LINE) unsigned char sink[SINK_BYTES];

/* ------------------------------------------------------- the operations -- */

static void acc_init(const dlp_reduce *r, void *acc)
{
    if (r->op == 0) {
        r->init(acc, r->ctx);
        return;
    }
    if (r->op == DLP_REDUCE_SUM_REPRO) {
        for (long k = 0; k < r->count; k++)
            dlp__superacc_init((struct dlp__superacc *)acc + k);
        return;
    }
    if (r->type == DLP_REDUCE_DOUBLE) {
        double v = r->op == DLP_REDUCE_SUM ? 0.0 : r->op == DLP_REDUCE_MIN ? INFINITY : -INFINITY;
        for (long k = 0; k < r->count; k++)
            ((double *)acc)[k] = v;
    } else {
        int64_t v = r->op == DLP_REDUCE_SUM ? 0 : r->op == DLP_REDUCE_MIN ? INT64_MAX : INT64_MIN;
        for (long k = 0; k < r->count; k++)
            ((int64_t *)acc)[k] = v;
    }
}

static void acc_combine(const dlp_reduce *r, void *into, const void *from)
{
    long n = r->count;
    if (r->op == 0) {
        r->combine(into, from, r->ctx);
    } else if (r->op == DLP_REDUCE_SUM_REPRO) {
        for (long k = 0; k < n; k++)
            dlp__superacc_combine((struct dlp__superacc *)into + k,
                                  (const struct dlp__superacc *)from + k);
    } else if (r->type == DLP_REDUCE_DOUBLE) {
        double *a = into;
        const double *b = from;
        if (r->op == DLP_REDUCE_SUM)
            for (long k = 0; k < n; k++)
                a[k] += b[k];
        else if (r->op == DLP_REDUCE_MIN)
            for (long k = 0; k < n; k++)
                a[k] = b[k] < a[k] ? b[k] : a[k];
        else
            for (long k = 0; k < n; k++)
                a[k] = b[k] > a[k] ? b[k] : a[k];
    } else {
        int64_t *a = into;
        const int64_t *b = from;
        if (r->op == DLP_REDUCE_SUM) /* wraps around: no signed overflow */
            for (long k = 0; k < n; k++)
                a[k] = (int64_t)((uint64_t)a[k] + (uint64_t)b[k]);
        else if (r->op == DLP_REDUCE_MIN)
            for (long k = 0; k < n; k++)
                a[k] = b[k] < a[k] ? b[k] : a[k];
        else
            for (long k = 0; k < n; k++)
                a[k] = b[k] > a[k] ? b[k] : a[k];
    }
}

/* ---------------------------------------------------------------- create -- */

static size_t round_line(size_t b) { return (b + LINE - 1) / LINE * LINE; }

static int make(dlp_reduce **out, int op, int type, long count, size_t bytes,
                size_t result_bytes, const char *func)
{
    dlp_reduce *r = calloc(1, sizeof *r);
    if (!r)
        return DLP_FAIL(DLP_ERR_NOMEM, func, "reduction handle");
    r->op = op;
    r->type = type;
    r->count = count;
    r->bytes = bytes;
    r->result_bytes = result_bytes;
    pthread_mutex_init(&r->lock, NULL);
    r->value = aligned_alloc(LINE, round_line(bytes));
    r->incoming = aligned_alloc(LINE, round_line(bytes));
    r->result = op == DLP_REDUCE_SUM_REPRO ? aligned_alloc(LINE, round_line(result_bytes))
                                           : r->value;
    if (!r->value || !r->incoming || !r->result) {
        dlp_reduce_destroy(&r);
        return DLP_FAIL(DLP_ERR_NOMEM, func, "accumulators of %zu bytes", bytes);
    }
    *out = r;
    return DLP_OK;
}

int dlp_reduce_create(dlp_reduce **r, int op, int type, long count)
{
    static const char *func = "dlp_reduce_create";
    if (r)
        *r = NULL;
    DLP_CALL(dlp__check_idle(func));
    if (!r)
        return dlp__fail(DLP_ERR_ARG, func, "r is NULL");
    if (op < DLP_REDUCE_SUM || op > DLP_REDUCE_SUM_REPRO)
        return dlp__fail(DLP_ERR_ARG, func,
                         "op = %d is not DLP_REDUCE_SUM, _MIN, _MAX or _SUM_REPRO", op);
    if (type != DLP_REDUCE_DOUBLE && type != DLP_REDUCE_INT64)
        return dlp__fail(DLP_ERR_ARG, func,
                         "type = %d is not DLP_REDUCE_DOUBLE or DLP_REDUCE_INT64", type);
    if (op == DLP_REDUCE_SUM_REPRO && type != DLP_REDUCE_DOUBLE)
        return dlp__fail(DLP_ERR_ARG, func,
                         "DLP_REDUCE_SUM_REPRO sums doubles only (type = DLP_REDUCE_DOUBLE); "
                         "an int64 sum (DLP_REDUCE_SUM) is exact already");
    size_t elem = op == DLP_REDUCE_SUM_REPRO ? sizeof(struct dlp__superacc) : 8;
    if (count < 1 || (size_t)count > ACC_BYTES_MAX / elem)
        return dlp__fail(DLP_ERR_ARG, func, "count = %ld must be in 1..%zu for this op", count,
                         ACC_BYTES_MAX / elem);
    return make(r, op, type, count, (size_t)count * elem, (size_t)count * 8, func);
}

int dlp_reduce_create_user(dlp_reduce **r, size_t bytes, dlp_reduce_init_fn init,
                           dlp_reduce_combine_fn combine, void *ctx)
{
    static const char *func = "dlp_reduce_create_user";
    if (r)
        *r = NULL;
    DLP_CALL(dlp__check_idle(func));
    if (!r || !init || !combine)
        return dlp__fail(DLP_ERR_ARG, func, "%s is NULL", !r ? "r" : !init ? "init" : "combine");
    if (bytes == 0 || bytes > ACC_BYTES_MAX)
        return dlp__fail(DLP_ERR_ARG, func, "bytes = %zu must be in 1..%zu", bytes,
                         ACC_BYTES_MAX);
    DLP_CALL(make(r, 0, 0, 0, bytes, bytes, func));
    (*r)->init = init;
    (*r)->combine = combine;
    (*r)->ctx = ctx;
    return DLP_OK;
}

int dlp_reduce_destroy(dlp_reduce **pr)
{
    if (!pr || !*pr)
        return DLP_OK;
    dlp_reduce *r = *pr;
    if (r->gen != 0)
        return dlp__fail(DLP_ERR_STATE, "dlp_reduce_destroy",
                         "a call with opts.reduce = r is running");
    for (int i = 0; i < r->cap; i++)
        free(r->slots[i]);
    free(r->slots);
    if (r->result != r->value)
        free(r->result);
    free(r->value);
    free(r->incoming);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *pr = NULL;
    return DLP_OK;
}

const void *dlp_reduce_result(const dlp_reduce *r) { return r && r->valid ? r->result : NULL; }

/* -------------------------------------------------------- the items' side -- */

/* A new slot for the calling thread (NULL: out of memory). */
static struct slot *claim_slot(dlp_reduce *r)
{
    pthread_mutex_lock(&r->lock);
    struct slot *s = NULL;
    if (r->used == r->cap) {
        int cap = r->cap ? 2 * r->cap : 8;
        /* an array of pointers: the size of a pointer is meant */
        struct slot **more =
            realloc(r->slots, sizeof *more * (size_t)cap); // NOLINT(bugprone-sizeof-expression)
        if (more) {
            memset(more + r->cap, 0,
                   sizeof *more * (size_t)(cap - r->cap)); // NOLINT(bugprone-sizeof-expression)
            r->slots = more;
            r->cap = cap;
        }
    }
    if (r->used < r->cap) {
        if (!r->slots[r->used]) {
            size_t b = round_line(r->bytes);
            char *m = aligned_alloc(LINE, LINE + 2 * b);
            if (m) {
                s = (struct slot *)m;
                s->acc = m + LINE;
                s->scratch = m + LINE + b;
                r->slots[r->used] = s;
            }
        }
        s = r->slots[r->used];
        if (s)
            r->used++;
    }
    pthread_mutex_unlock(&r->lock);
    if (s)
        acc_init(r, s->acc);
    return s;
}

/* The calling thread's slot of r in the running call, or NULL after
 * reporting a misuse (*sink_ok: the caller may hand out the sink). */
static struct slot *thread_slot(dlp_reduce *r, const char *func, int *sink_ok)
{
    *sink_ok = 0;
    if (tls.r == r && tls.gen == r->gen && r->gen != 0)
        return tls.slot;
    struct dlp_loop *L = dlp__loop_running();
    if (!L) {
        dlp__fail(DLP_ERR_STATE, func,
                  "no parallel call runs on this rank: call it from the items of a call that "
                  "has opts.reduce = r");
        return NULL;
    }
    if (L->o.reduce != r || r->gen == 0) {
        dlp__loop_misuse(L, DLP_ERR_STATE,
                         "%s(r): r is not the reduction of the running call %s (opts.reduce "
                         "is %s): its contributions would be lost; set opts.reduce = r",
                         func, L->func, L->o.reduce ? "another one" : "NULL");
        *sink_ok = 1;
        return NULL;
    }
    struct slot *s = claim_slot(r);
    if (!s) {
        dlp__loop_misuse(L, DLP_ERR_NOMEM, "%s(r): out of memory for an accumulator of %zu bytes",
                         func, r->bytes);
        *sink_ok = 1;
        return NULL;
    }
    tls.r = r;
    tls.gen = r->gen;
    tls.slot = s;
    tls.pending = NULL;
    return s;
}

/* Where the calling thread's current item adds: its accumulator, or (in
 * scratch mode) its item scratch, set to the identity at the item's first
 * contribution. */
static inline void *item_acc(dlp_reduce *r, struct slot *s)
{
    if (!r->scratch_mode)
        return s->acc;
    if (tls.pending != s) {
        acc_init(r, s->scratch);
        tls.pending = s;
    }
    return s->scratch;
}

void *dlp_reduce_acc(dlp_reduce *r)
{
    static const char *func = "dlp_reduce_acc";
    if (!r) {
        dlp__fail(DLP_ERR_ARG, func, "r is NULL");
        return NULL;
    }
    if (r->op == DLP_REDUCE_SUM_REPRO) {
        dlp__fail(DLP_ERR_ARG, func,
                  "r is a DLP_REDUCE_SUM_REPRO reduction: its accumulator is the library's "
                  "own; add with dlp_reduce_add(r, x)");
        return NULL;
    }
    int sink_ok;
    struct slot *s = thread_slot(r, func, &sink_ok);
    if (!s)
        return sink_ok && r->bytes <= SINK_BYTES ? (void *)sink : NULL;
    return item_acc(r, s);
}

int dlp_reduce_add_at(dlp_reduce *r, long k, double x)
{
    static const char *func = "dlp_reduce_add";
    if (!r)
        return dlp__fail(DLP_ERR_ARG, func, "r is NULL");
    if (r->type != DLP_REDUCE_DOUBLE)
        return dlp__fail(DLP_ERR_ARG, func,
                         "r is not a reduction of doubles: use dlp_reduce_acc(r)");
    if (k < 0 || k >= r->count)
        return dlp__fail(DLP_ERR_ARG, func, "k = %ld is outside 0..%ld (count)", k,
                         r->count - 1);
    int sink_ok;
    struct slot *s = thread_slot(r, func, &sink_ok);
    if (!s)
        return DLP_ERR_STATE;
    void *acc = item_acc(r, s);
    if (r->op == DLP_REDUCE_SUM_REPRO) {
        dlp__superacc_add((struct dlp__superacc *)acc + k, x);
    } else {
        double *a = (double *)acc + k;
        if (r->op == DLP_REDUCE_SUM)
            *a += x;
        else if (r->op == DLP_REDUCE_MIN ? x < *a : x > *a)
            *a = x;
    }
    return DLP_OK;
}

int dlp_reduce_add(dlp_reduce *r, double x) { return dlp_reduce_add_at(r, 0, x); }

void dlp__reduce_item_end(int ok)
{
    struct slot *s = tls.pending;
    if (!s)
        return;
    tls.pending = NULL;
    if (ok && tls.gen == atomic_load_explicit(&current_gen, memory_order_relaxed))
        acc_combine(tls.r, s->acc, s->scratch);
}

/* -------------------------------------------------------- the call's side -- */

void dlp__reduce_shape(const dlp_reduce *r, int on_all_ranks, struct dlp__reduce_shape *out)
{
    memset(out, 0, sizeof *out);
    out->on_all_ranks = (signed char)on_all_ranks;
    if (!r)
        return;
    out->count = r->count;
    out->bytes = (long)r->bytes;
    out->op = (signed char)r->op;
    out->type = (signed char)r->type;
}

/* "op = SUM, type = DOUBLE, count = 3" or "a user reduction of 24 bytes". */
static void describe(const struct dlp__reduce_shape *s, char *buf, size_t len)
{
    static const char *ops[] = {"", "DLP_REDUCE_SUM", "DLP_REDUCE_MIN", "DLP_REDUCE_MAX",
                                "DLP_REDUCE_SUM_REPRO"};
    if (s->bytes == 0)
        snprintf(buf, len, "no reduction (opts.reduce = NULL)");
    else if (s->op == 0)
        snprintf(buf, len, "a user reduction of %ld bytes", s->bytes);
    else
        snprintf(buf, len, "op = %s, type = %s, count = %ld",
                 s->op >= 1 && s->op <= 4 ? ops[s->op] : "?",
                 s->type == DLP_REDUCE_DOUBLE ? "DLP_REDUCE_DOUBLE" : "DLP_REDUCE_INT64",
                 s->count);
}

int dlp__reduce_compare(const struct dlp__entry *all, int size, size_t at, const char *func)
{
    struct dlp__reduce_shape m, h;
    memcpy(&m, all[0].args + at, sizeof m);
    for (int q = 1; q < size; q++) {
        memcpy(&h, all[q].args + at, sizeof h);
        if (h.on_all_ranks != m.on_all_ranks)
            return dlp__fail(DLP_ERR_MISMATCH, func,
                             "rank %d passed opts.on_all_ranks = %d, rank 0 passed %d", q,
                             h.on_all_ranks, m.on_all_ranks);
        if (h.count != m.count || h.bytes != m.bytes || h.op != m.op || h.type != m.type) {
            char a[96], b[96];
            describe(&h, a, sizeof a);
            describe(&m, b, sizeof b);
            return dlp__fail(DLP_ERR_MISMATCH, func,
                             "the ranks' opts.reduce differ: rank %d has %s, rank 0 has %s", q,
                             a, b);
        }
    }
    return DLP_OK;
}

void dlp__reduce_begin(dlp_reduce *r, int scratch)
{
    r->gen = atomic_fetch_add(&gen_counter, 1) + 1;
    r->scratch_mode = scratch;
    r->used = 0;
    r->valid = 0;
    atomic_store(&current_gen, r->gen);
}

void dlp__reduce_abandon(dlp_reduce *r)
{
    atomic_store(&current_gen, 0);
    r->gen = 0;
    r->valid = 0;
}

/* One message of the combine or the share, to or from peer, in parts of
 * DLP__MESSAGE_BYTES. These steps run after the call's end was agreed on
 * (every rank completed it and enters them), and their order has no cycle
 * (ranks -> leader -> master -> leaders -> ranks), so they cannot deadlock;
 * a peer that died is MPI's to report (the launcher ends the job). Each
 * part is still waited for as the collectives are (dlp__wait_arrival): no
 * busy polling, a line on stderr after 60 s naming the step and the peer,
 * the end of the job after DLP_COLLECTIVE_TIMEOUT. An MPI error aborts the
 * job: a rank that returned instead would leave its peers waiting for its
 * message. */
static void move(void *buf, size_t len, int peer, int send, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    char what[200];
    snprintf(what, sizeof what, "the reduction at the end of %s (rank %d %s rank %d)", func,
             rt->rank, send ? "sends to" : "receives from", peer);
    size_t off = 0;
    do {
        size_t left = len - off;
        int part = (int)(left < (size_t)DLP__MESSAGE_BYTES ? left : (size_t)DLP__MESSAGE_BYTES);
        MPI_Request req;
        int mrc = send ? MPI_Isend((char *)buf + off, part, MPI_BYTE, peer, DLP__TAG_REDUCE,
                                   rt->comm, &req)
                       : MPI_Irecv((char *)buf + off, part, MPI_BYTE, peer, DLP__TAG_REDUCE,
                                   rt->comm, &req);
        if (mrc == MPI_SUCCESS)
            mrc = dlp__wait_arrival(&req, what, dlp__rt.collective_timeout);
        if (mrc != MPI_SUCCESS)
            dlp__helper_abort(func, what, mrc);
        off += (size_t)part;
    } while (off < len);
}

/* The value of every rank of this node into its leader's, in rank order. */
static void combine_node(dlp_reduce *r, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int leader = rt->node_leader[rt->node];
    if (rt->rank != leader) {
        move(r->value, r->bytes, leader, 1, func);
        return;
    }
    for (int q = 0; q < rt->size; q++) {
        if (q == leader || rt->node_of_rank[q] != rt->node)
            continue;
        move(r->incoming, r->bytes, q, 0, func);
        acc_combine(r, r->value, r->incoming);
    }
}

/* The master's result to every rank: node leaders first, then their ranks. */
static void share(dlp_reduce *r, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int leader = rt->node_leader[rt->node];
    if (rt->rank == 0) {
        for (int k = 1; k < rt->nodes; k++)
            move(r->result, r->result_bytes, rt->node_leader[k], 1, func);
    } else if (rt->rank == leader) {
        move(r->result, r->result_bytes, 0, 0, func);
    } else {
        move(r->result, r->result_bytes, leader, 0, func);
        return;
    }
    for (int q = 0; q < rt->size; q++)
        if (q != leader && rt->node_of_rank[q] == rt->node)
            move(r->result, r->result_bytes, q, 1, func);
}

size_t dlp__reduce_packed_bytes(const dlp_reduce *r, int size)
{
    if (!r || r->op == 0 || size < 1)
        return 0; /* a user's combine runs on the master only */
    size_t b = (r->bytes + 7) / 8 * 8;
    return b <= PACKED_BYTES_MAX / (size_t)size ? b : 0;
}

void dlp__reduce_pack(const dlp_reduce *r, void *out)
{
    acc_init(r, out);
    for (int i = 0; i < r->used; i++)
        acc_combine(r, out, r->slots[i]->acc);
}

/* The master's result, from every rank's value (rank q's at
 * all + q * stride): each node's leader's, combined with its other ranks'
 * in rank order, then the nodes' in node order, as dlp__reduce_finish's
 * messages do: the same operations in the same order, so the same bits. */
static void combine_packed(dlp_reduce *r, const unsigned char *all, size_t stride)
{
    const struct dlp__runtime *rt = &dlp__rt;
    for (int k = 0; k < rt->nodes; k++) {
        int leader = rt->node_leader[k];
        void *part = k == 0 ? r->value : r->incoming;
        memcpy(part, all + (size_t)leader * stride, r->bytes);
        for (int q = 0; q < rt->size; q++)
            if (q != leader && rt->node_of_rank[q] == k)
                acc_combine(r, part, all + (size_t)q * stride);
        if (k > 0)
            acc_combine(r, r->value, part);
    }
    if (r->op == DLP_REDUCE_SUM_REPRO)
        for (long k = 0; k < r->count; k++)
            ((double *)r->result)[k] =
                dlp__superacc_round((const struct dlp__superacc *)r->value + k);
}

void dlp__reduce_finish_packed(dlp_reduce *r, const void *all, size_t stride, int on_all_ranks)
{
    dlp__reduce_abandon(r);
    if (dlp__rt.rank != 0 && !on_all_ranks)
        return; /* the result is the master's */
    combine_packed(r, all, stride);
    r->valid = 1;
}

int dlp__reduce_finish(dlp_reduce *r, int on_all_ranks, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    dlp__reduce_abandon(r);
    /* threads -> rank, in the order the threads came */
    acc_init(r, r->value);
    for (int i = 0; i < r->used; i++)
        acc_combine(r, r->value, r->slots[i]->acc);
    /* ranks -> node leader -> master, in rank and node order */
    combine_node(r, func);
    if (rt->rank == 0) {
        for (int k = 1; k < rt->nodes; k++) {
            move(r->incoming, r->bytes, rt->node_leader[k], 0, func);
            acc_combine(r, r->value, r->incoming);
        }
        if (r->op == DLP_REDUCE_SUM_REPRO)
            for (long k = 0; k < r->count; k++)
                ((double *)r->result)[k] =
                    dlp__superacc_round((const struct dlp__superacc *)r->value + k);
        r->valid = 1;
    } else if (rt->rank == rt->node_leader[rt->node]) {
        move(r->value, r->bytes, 0, 1, func);
    }
    if (on_all_ranks) {
        share(r, func);
        r->valid = 1;
    }
    return DLP_OK;
}
