/* The callback forms: the library runs the OpenMP team over a call. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "item.h"
#include "reduce.h"
#include "loop.h"
#include "results.h"
#include "retry.h"
#include "runtime.h"

/* Dense results of retried items go to the rank that first failed them,
 * where the first pass would have left them (so the collect finds them). */
static void deliver_results(struct dlp_loop *L, const struct dlp__retry_round *r)
{
    int S = dlp__rt.size;
    size_t elem = dlp__results_elem(L->o.results), rec = sizeof(long) + elem;
    char **to = calloc((size_t)S, sizeof *to);
    size_t *len = calloc((size_t)S, sizeof *len), *in_len = calloc((size_t)S, sizeof *in_len);
    if (!to || !len || !in_len)
        dlp__helper_abort(L->func, "out of memory for retried results", MPI_SUCCESS);
    for (long k = 0; k < r->mine; k++)
        if (r->ok[k] && r->origin[k] != dlp__rt.rank)
            len[r->origin[k]] += rec;
    for (int q = 0; q < S; q++)
        if (len[q] && !(to[q] = malloc(len[q])))
            dlp__helper_abort(L->func, "out of memory for retried results", MPI_SUCCESS);
    memset(len, 0, (size_t)S * sizeof *len);
    for (long k = 0; k < r->mine; k++) {
        int q = r->origin[k];
        if (!r->ok[k] || q == dlp__rt.rank)
            continue;
        memcpy(to[q] + len[q], &r->item[k], sizeof(long));
        memcpy(to[q] + len[q] + sizeof(long), dlp_results_at(L->o.results, r->item[k]), elem);
        len[q] += rec;
    }
    char *in = NULL;
    dlp__retry_exchange(L, to, len, &in, in_len);
    size_t total = 0;
    for (int q = 0; q < S; q++)
        total += in_len[q];
    for (size_t at = 0; at + rec <= total; at += rec) {
        long i;
        memcpy(&i, in + at, sizeof i);
        void *slot = dlp_results_at(L->o.results, i);
        if (!slot)
            dlp__helper_abort(L->func, "a retried result for an item out of range", MPI_SUCCESS);
        memcpy(slot, in + at + sizeof i, elem);
    }
    free(in);
    for (int q = 0; q < S; q++)
        free(to[q]);
    free(to);
    free(len);
    free(in_len);
}

/* on_error = retry: the rounds (retry.h). */
static void retry_rounds(struct dlp_loop *L, dlp_body_fn body, void *ctx)
{
    struct dlp__retry_round r;
    while (dlp__retry_next(L, &r)) {
        int retries = L->o.retries;
#pragma omp parallel num_threads(L->o.threads) default(none) shared(L, r, body, ctx, retries)
        {
            dlp__nested_enter(&L->nested, L->o.threads);
            struct dlp__item it;
            dlp__item_attach(&it);
#pragma omp for schedule(dynamic, 1)
            for (long k = 0; k < r.mine; k++) {
                dlp__item_enter(&it, r.item[k]);
                int rc = body(r.item[k], ctx);
                int ok = dlp__item_leave(&it, rc);
                if (L->o.reduce)
                    dlp__reduce_item_end(ok);
                if (!ok)
                    dlp__item_failed(L, &it, "body", rc, r.round, retries, r.origin[k]);
                else
                    r.ok[k] = 1;
            }
            dlp__item_detach();
        }
        struct dlp__jslot *js = NULL;
        for (long k = 0; k < r.mine; k++)
            if (r.ok[k])
                dlp__loop_done(L, &js, r.item[k]);
        if (L->o.results)
            deliver_results(L, &r);
        dlp__retry_free(&r);
    }
}

/* One team thread's part of a call: items until the loop has none. */
static void team_thread(struct dlp_loop *L, dlp_body_fn body, void *ctx)
{
    struct dlp__pos pos = DLP__POS_INIT;
    long i;
    struct dlp__item it;
    dlp__item_attach(&it);
    const int reducing = L->o.reduce != NULL;
    while (dlp__loop_take(L, &pos, &i)) {
        dlp__item_enter(&it, i);
        int rc = body(i, ctx);
        int ok = dlp__item_leave(&it, rc);
        if (reducing)
            dlp__reduce_item_end(ok);
        if (!ok) {
            pos.cur = -1; /* not done */
            dlp__item_failed(L, &it, "body", rc, 0, 0, 0);
            if (!L->failures.keep_all)
                break;
        }
    }
    dlp__item_detach();
    dlp__loop_leave(L, &pos); /* also after a failure: the item ended */
}

static int run_team(long n, dlp_body_fn body, void *ctx, const dlp_opts *opts, int split,
                    const char *func)
{
    struct dlp_loop *L = NULL;
    DLP_CALL(dlp__loop_begin(&L, n, opts, split, body ? NULL : "body is NULL", func));
    if (dlp__nested_alone(&L->nested, L->o.threads)) {
        /* a team of one on the calling thread (dlp__nested_alone) */
        team_thread(L, body, ctx);
    } else {
#pragma omp parallel num_threads(L->o.threads) default(none) shared(L, body, ctx)
        {
            dlp__nested_enter(&L->nested, L->o.threads);
            team_thread(L, body, ctx);
        }
    }
    retry_rounds(L, body, ctx);
    return dlp__loop_end(&L);
}

int dlp_split_managed(long n, dlp_body_fn body, void *ctx, const dlp_opts *opts)
{
    return run_team(n, body, ctx, opts, DLP_SPLIT_MANAGED, "dlp_split_managed");
}

int dlp_split_round_robin(long n, dlp_body_fn body, void *ctx, const dlp_opts *opts)
{
    return run_team(n, body, ctx, opts, DLP_SPLIT_ROUND_ROBIN, "dlp_split_round_robin");
}
