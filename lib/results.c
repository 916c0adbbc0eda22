/* Dense results and their hierarchical gather: threads and the ranks of a
 * node write into one node-shared array; after a call each remote node's
 * leader sends exactly the items its node computed, straight into place in
 * the master's array. */
#include "results.h"

#include <stdint.h>
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
    const struct dlp__entry *all;
    DLP_CALL(dlp__enter(func, NULL, rc, mine, sizeof mine, &all));
    DLP_CALL(rc); /* (dlp__enter returned it already: for the analyzer) */
    DLP_CALL(dlp__entry_same_long(all, 0, "n", func));
    DLP_CALL(dlp__entry_same_long(all, 1, "elem_size", func));
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

void *dlp_results_at(dlp_results *r, long i)
{
    if (!r || i < 0 || i >= r->n)
        return NULL;
    return (char *)r->seg.base + (size_t)i * r->elem;
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
