/* Dense results and their hierarchical gather: threads and the ranks of a
 * node write into one node-shared array; after a call each remote node's
 * leader sends exactly the items its node computed, straight into place in
 * the master's array. */
#include "results.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "error.h"
#include "loop.h"
#include "runtime.h"
#include "shm.h"
#include "transfer.h"
#include "wait.h"

#define ELEM_MAX (1UL << 30)

struct dlp_results {
    long n;
    size_t elem;
    struct dlp__shm seg;
};

long dlp__results_items(const dlp_results *r) { return r->n; }

size_t dlp__results_elem(const dlp_results *r) { return r->elem; }

/* The ranks' (status, n, elem_size) triples: the first rank that rejected
 * its arguments, or that disagrees with rank 0, by rank and value. */
static int compare_ranks(const long *all, const char *func)
{
#define RANK_WORDS(q) (all + (size_t)3 * (size_t)(q))
    const int size = dlp__rt.size;
    for (int q = 0; q < size; q++)
        if (RANK_WORDS(q)[0] != DLP_OK)
            return dlp__fail_from_rank((int)RANK_WORDS(q)[0], q, func,
                                       "the arguments were rejected");
    int first = -1, others = 0;
    for (int q = 1; q < size; q++) {
        if (RANK_WORDS(q)[1] != all[1] || RANK_WORDS(q)[2] != all[2]) {
            if (first < 0)
                first = q;
            else
                others++;
        }
    }
    if (first < 0)
        return DLP_OK;
    const long *f = RANK_WORDS(first);
#undef RANK_WORDS
    char more[64] = "";
    if (others)
        snprintf(more, sizeof more, " (and %d more rank%s)", others, others == 1 ? "" : "s");
    if (f[1] != all[1])
        return dlp__fail(DLP_ERR_MISMATCH, func,
                         "rank %d passed n = %ld, elem_size = %ld; rank 0 passed n = %ld, "
                         "elem_size = %ld%s",
                         first, f[1], f[2], all[1], all[2], more);
    return dlp__fail(DLP_ERR_MISMATCH, func,
                     "rank %d passed elem_size = %ld, rank 0 passed elem_size = %ld (n = %ld)%s",
                     first, f[2], all[2], all[1], more);
}

int dlp_results_create(dlp_results **r, long n, size_t elem_size)
{
    static const char *func = "dlp_results_create";
    if (r)
        *r = NULL;
    DLP_CALL(dlp__check_idle(func));
    int rc = DLP_OK;
    if (!r)
        rc = DLP_FAIL(DLP_ERR_ARG, func, "r is NULL");
    else if (n < 0)
        rc = dlp__fail(DLP_ERR_ARG, func, "n = %ld must be >= 0", n);
    else if (elem_size == 0 || elem_size > ELEM_MAX)
        rc = dlp__fail(DLP_ERR_ARG, func, "elem_size = %zu must be in 1..%lu", elem_size,
                       ELEM_MAX);
    else if ((size_t)n > (SIZE_MAX / 2) / elem_size)
        rc = dlp__fail(DLP_ERR_ARG, func, "n * elem_size overflows (n = %ld, elem_size = %zu)",
                       n, elem_size);
    const long mine[2] = {n, (long)elem_size};
    const struct dlp__entry *every;
    DLP_CALL(dlp__enter_uniform(func, NULL, rc, mine, sizeof mine, &every));
    DLP_CALL(rc); /* (dlp__enter returned it already: for the analyzer) */
    /* every rank's (status, n, elem_size), compared with rank 0's (none
     * came when every rank passed the same) */
    long *all = (long *)dlp__rt.scratch;
    _Static_assert(3 * sizeof(long) <= DLP__SCRATCH_PER_RANK, "scratch too small");
    for (int q = 0; every && q < dlp__rt.size; q++) {
        all[3 * (size_t)q] = DLP_OK;
        memcpy(&all[3 * (size_t)q + 1], every[q].args, sizeof mine);
    }
    if (every)
        DLP_CALL(compare_ranks(all, func));
    dlp_results *res = calloc(1, sizeof *res);
    int ok = res != NULL;
    if (ok) {
        res->n = n;
        res->elem = elem_size;
        rc = dlp__shm_alloc(&res->seg, (size_t)n * elem_size, dlp__rt.node_comm);
        ok = rc == DLP_OK;
    } else {
        rc = dlp__fail(DLP_ERR_NOMEM, func, "results handle");
    }
    int all_ok = 0;
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, dlp__rt.comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (!all_ok) {
        if (res)
            dlp__shm_free(&res->seg);
        free(res);
        return rc != DLP_OK ? rc
                            : dlp__fail(DLP_ERR_NOMEM, func,
                                        "another node could not allocate %zu bytes",
                                        (size_t)n * elem_size);
    }
    *r = res;
    return DLP_OK;
}

/* Where the results r of a running call L go: only its opts.results
 * reaches the master, so writing any other results object from the items'
 * side is a misuse (see dlp_results_at in dlp_mpi.h). */
static void not_attached(struct dlp_loop *L, const dlp_results *r, long i, const char *func)
{
    if (L->o.results)
        dlp__loop_misuse(L, DLP_ERR_STATE,
                         "%s(r, %ld): r (n = %ld, %zu-byte elements) is not the results "
                         "object of the running call %s, opts.results (n = %ld): only that "
                         "one reaches the master; pass r as opts.results, or read r with "
                         "dlp_results_data(r)",
                         func, i, r->n, r->elem, L->func, L->o.results->n);
    else
        dlp__loop_misuse(L, DLP_ERR_STATE,
                         "%s(r, %ld): r is not attached to the running call %s "
                         "(opts.results is NULL): its items' results would not reach the "
                         "master from other nodes; set opts.results = r",
                         func, i, L->func);
}

void *dlp_results_at(dlp_results *r, long i)
{
    if (!r || i < 0 || i >= r->n)
        return NULL;
    struct dlp_loop *L = dlp__loop_running();
    if (L && L->o.results != r && !dlp__loop_is_result_handler())
        not_attached(L, r, i, "dlp_results_at");
    return (char *)r->seg.base + (size_t)i * r->elem;
}

size_t dlp_results_elem_size(const dlp_results *r) { return r ? r->elem : 0; }

/* Where a mismatched DLP_RESULTS_AT writes while its call fails: a type
 * larger than the slot must not write past it (racy writes of garbage by
 * several threads are harmless: nothing reads it). */
#define SINK_BYTES 65536
static _Alignas(max_align_t) unsigned char sink[SINK_BYTES];

void *dlp_results_at_checked(dlp_results *r, long i, size_t size)
{
    void *slot = dlp_results_at(r, i);
    if (!slot || size == r->elem)
        return slot;
    char what[320];
    snprintf(what, sizeof what,
             "DLP_RESULTS_AT(r, %ld, type): sizeof(type) = %zu bytes, but r holds elements of "
             "%zu bytes (dlp_results_create(&r, %ld, %zu))%s",
             i, size, r->elem, r->n, r->elem,
             size == sizeof(void *) ? ": a pointer's size; pass the element's type, not a "
                                      "pointer to it"
                                    : "");
    struct dlp_loop *L = dlp__loop_running();
    if (L) {
        dlp__loop_misuse(L, DLP_ERR_ARG, "%s", what);
        return size <= r->elem ? slot : size <= SINK_BYTES ? (void *)sink : NULL;
    }
    /* outside a call: NULL, and once on stderr what a crash would not say */
    static atomic_int said;
    dlp__fail(DLP_ERR_ARG, "dlp_results_at_checked", "%s", what);
    if (!atomic_exchange(&said, 1))
        fprintf(stderr, "dlp_mpi: %s\n", dlp_last_error());
    return NULL;
}

void *dlp_results_data(dlp_results *r) { return r ? r->seg.base : NULL; }

int dlp_results_destroy(dlp_results **r)
{
    if (!r || !*r)
        return DLP_OK;
    dlp__shm_free(&(*r)->seg);
    free(*r);
    *r = NULL;
    return DLP_OK;
}

/* The items node k computed, as segments (the same list on the master and
 * on node k's leader). */
static int node_segments(const struct dlp_loop *L, int k, struct dlp__segment **out, long *len)
{
    const struct dlp__runtime *rt = &dlp__rt;
    long cap = 0;
    if (!L->managed)
        cap = rt->size;
    else if (rt->rank == 0)
        cap = L->logs ? L->logs[k].len : 0;
    else
        cap = atomic_load(&L->cursor->nchunks);
    struct dlp__segment *s = malloc(sizeof *s * (size_t)(cap > 0 ? cap : 1));
    if (!s)
        return dlp__fail(DLP_ERR_NOMEM, L->func, "segment list of %ld entries", cap);
    long m = 0;
    if (!L->managed) {
        for (int w = 0; w < rt->size; w++)
            if (rt->node_of_rank[w] == k && L->n > w)
                s[m++] = (struct dlp__segment){w, (L->n - 1 - w) / rt->size + 1, rt->size};
    } else if (rt->rank == 0) {
        for (long j = 0; j < cap; j++)
            s[m++] = (struct dlp__segment){L->logs[k].seg[j][0], L->logs[k].seg[j][1], 1};
    } else {
        for (long j = 0; j < cap; j++)
            s[m++] = (struct dlp__segment){L->cursor->chunk[j].start, L->cursor->chunk[j].count, 1};
    }
    *out = s;
    *len = m;
    return DLP_OK;
}

int dlp__results_prepare(struct dlp_loop *L, struct dlp__results_plan *p)
{
    const struct dlp__runtime *rt = &dlp__rt;
    memset(p, 0, sizeof *p);
    /* One node: every rank wrote in place, nothing moves */
    if (rt->nodes == 1)
        return DLP_OK;
    /* the master: one list per remote node; a remote leader: its own */
    const int master = rt->rank == 0;
    p->lists = master ? rt->nodes : (rt->node_rank == 0 ? 1 : 0);
    if (p->lists == 0)
        return DLP_OK;
    /* an array of pointers: sizeof *segs is meant (bugprone-sizeof-expression
     * takes it for a sizeof of a pointer where the aggregate was meant) */
    p->segs = calloc((size_t)p->lists, sizeof *p->segs); // NOLINT(bugprone-sizeof-expression)
    p->len = calloc((size_t)p->lists, sizeof *p->len);
    if (!p->segs || !p->len)
        return DLP_FAIL(DLP_ERR_NOMEM, L->func, "segment lists of %d nodes", p->lists);
    int rc = DLP_OK;
    if (master)
        for (int k = 1; k < p->lists && rc == DLP_OK; k++)
            rc = node_segments(L, k, &p->segs[k], &p->len[k]);
    else
        rc = node_segments(L, rt->node, &p->segs[0], &p->len[0]);
    if (rc != DLP_OK)
        return rc;
    /* the stage of the packed messages: the largest any transfer needs */
    size_t stage_bytes = 0;
    for (int k = 0; k < p->lists; k++) {
        size_t b = p->segs[k] ? dlp__transfer_stage_bytes(L->o.results->elem, p->segs[k],
                                                          p->len[k])
                              : 0;
        stage_bytes = b > stage_bytes ? b : stage_bytes;
    }
    if (stage_bytes && !(p->stage = malloc(stage_bytes)))
        return dlp__fail(DLP_ERR_NOMEM, L->func,
                         "a staging buffer of %zu bytes for the results", stage_bytes);
    return DLP_OK;
}

int dlp__results_move(struct dlp_loop *L, const struct dlp__results_plan *p)
{
    const struct dlp__runtime *rt = &dlp__rt;
    const dlp_results *r = L->o.results;
    int rc = DLP_OK;
    if (rt->rank == 0) {
        for (int k = 1; k < p->lists && rc == DLP_OK; k++)
            rc = dlp__transfer_segments(0, r->seg.base, r->elem, p->segs[k], p->len[k], p->stage,
                                        rt->node_leader[k], DLP__TAG_RESULTS, rt->comm,
                                        L->func);
    } else if (p->lists == 1) {
        rc = dlp__transfer_segments(1, r->seg.base, r->elem, p->segs[0], p->len[0], p->stage, 0,
                                    DLP__TAG_RESULTS, rt->comm, L->func);
    }
    return rc;
}

void dlp__results_release(struct dlp__results_plan *p)
{
    free(p->stage);
    for (int k = 0; p->segs && k < p->lists; k++)
        free(p->segs[k]);
    free(p->segs);
    free(p->len);
    memset(p, 0, sizeof *p);
}

int dlp__results_share(dlp_results *r, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    size_t bytes = (size_t)r->n * r->elem;
    int rc = DLP_OK;
    if (rt->nodes > 1) {
        if (rt->rank == 0)
            for (int k = 1; k < rt->nodes && rc == DLP_OK; k++)
                rc = dlp__send_bytes(r->seg.base, bytes, rt->node_leader[k], DLP__TAG_SHARE,
                                     rt->comm, func);
        else if (rt->node_rank == 0)
            rc = dlp__recv_bytes(r->seg.base, bytes, 0, DLP__TAG_SHARE, rt->comm, func);
    }
    /* the node's other ranks read the leader's copy once it is complete */
    MPI_Request req;
    DLP_MPI_CALL(MPI_Ibarrier(rt->node_comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    return rc;
}
