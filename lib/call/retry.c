/* Retry rounds of on_error = retry (see retry.h). */
#include "retry.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "runtime.h"
#include "signals.h"
#include "wait.h"

#define CHECK(call) DLP__HELPER_CHECK("retry", call)

static void *alloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        dlp__helper_abort("retry", "out of memory for a retry round", MPI_SUCCESS);
    return p;
}

static int by_item(const void *a, const void *b)
{
    long x = ((const long *)a)[0], y = ((const long *)b)[0];
    return (x > y) - (x < y);
}

/* The rank that first failed item i (known since round 1). */
static int origin_of(const struct dlp_loop *L, long i, int fallback)
{
    long lo = 0, hi = L->retry_origins;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (L->retry_origin[mid][0] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->retry_origins && L->retry_origin[lo][0] == i ? (int)L->retry_origin[lo][1]
                                                                 : fallback;
}

int dlp__retry_next(struct dlp_loop *L, struct dlp__retry_round *r)
{
    const struct dlp__runtime *rt = &dlp__rt;
    memset(r, 0, sizeof *r);
    if (L->o.on_error != DLP_ON_ERROR_RETRY)
        return 0;
    int round = ++L->retry_round;
    struct dlp__failures *f = &L->failures;
    pthread_mutex_lock(&f->lock);
    long count = f->count, retryable = f->count == f->kept;
    long *mine = alloc((size_t)f->kept, sizeof *mine);
    for (long k = 0; k < f->kept; k++) {
        mine[k] = f->rec[k].item;
        retryable &= mine[k] >= 0; /* not about an item (out of memory ...) */
    }
    pthread_mutex_unlock(&f->lock);
    long say[3] = {count, retryable, dlp__signal_caught()};
    long *all = alloc((size_t)rt->size * 3, sizeof *all);
    MPI_Request req;
    CHECK(MPI_Iallgather(say, 3, MPI_LONG, all, 3, MPI_LONG, rt->comm, &req));
    CHECK(dlp__wait(&req));
    long total = 0;
    int go = round <= L->o.retries;
    for (int q = 0; q < rt->size; q++) {
        total += all[3 * (size_t)q];
        go &= all[3 * (size_t)q + 1] && !all[3 * (size_t)q + 2];
    }
    if (total == 0 || !go || total > INT_MAX) {
        /* what failed stands, reported as under abort */
        L->failures.keep_all = 0;
        free(mine);
        free(all);
        return 0;
    }
    int *counts = alloc((size_t)rt->size, sizeof *counts);
    int *displ = alloc((size_t)rt->size, sizeof *displ);
    for (int q = 0, at = 0; q < rt->size; q++) {
        counts[q] = (int)all[3 * (size_t)q];
        displ[q] = at;
        at += counts[q];
    }
    long *items = alloc((size_t)total, sizeof *items);
    CHECK(MPI_Iallgatherv(mine, (int)count, MPI_LONG, items, counts, displ, MPI_LONG, rt->comm,
                          &req));
    CHECK(dlp__wait(&req));
    free(mine);
    pthread_mutex_lock(&f->lock); /* this round records its own */
    f->count = f->kept = 0;
    pthread_mutex_unlock(&f->lock);

    if (round == 1) { /* where each item failed first */
        L->retry_origin = alloc((size_t)total, sizeof *L->retry_origin);
        for (int q = 0; q < rt->size; q++)
            for (int k = 0; k < counts[q]; k++) {
                L->retry_origin[displ[q] + k][0] = items[displ[q] + k];
                L->retry_origin[displ[q] + k][1] = q;
            }
        L->retry_origins = total;
        qsort(L->retry_origin, (size_t)total, sizeof *L->retry_origin, by_item);
    }
    r->round = round;
    r->count = total;
    r->item = alloc((size_t)total, sizeof *r->item);
    r->origin = alloc((size_t)total, sizeof *r->origin);
    r->ok = alloc((size_t)total, 1);
    for (int q = 0; q < rt->size; q++) {
        if ((q + 1) % rt->size != rt->rank) /* the next rank runs it again */
            continue;
        for (int k = 0; k < counts[q]; k++) {
            long i = items[displ[q] + k];
            r->item[r->mine] = i;
            r->origin[r->mine] = origin_of(L, i, q);
            r->mine++;
        }
    }
    free(items);
    free(counts);
    free(displ);
    free(all);
    return 1;
}

void dlp__retry_exchange(struct dlp_loop *L, char *const *to, const size_t *len, char **in,
                         size_t *in_len)
{
    (void)L;
    const struct dlp__runtime *rt = &dlp__rt;
    int S = rt->size;
    long *out_n = alloc((size_t)S, sizeof *out_n), *in_n = alloc((size_t)S, sizeof *in_n);
    for (int k = 0; k < S; k++) {
        if (len[k] > INT_MAX)
            dlp__helper_abort("retry", "more than 2 GiB of retried results for one rank",
                              MPI_SUCCESS);
        out_n[k] = (long)len[k];
    }
    MPI_Request req;
    CHECK(MPI_Ialltoall(out_n, 1, MPI_LONG, in_n, 1, MPI_LONG, rt->comm, &req));
    CHECK(dlp__wait(&req));
    size_t total = 0;
    for (int k = 0; k < S; k++) {
        if (in_n[k] > INT_MAX)
            dlp__helper_abort("retry", "more than 2 GiB of retried results from one rank",
                              MPI_SUCCESS);
        in_len[k] = (size_t)in_n[k];
        total += in_len[k];
    }
    *in = alloc(total, 1);
    MPI_Request *reqs = alloc(2 * (size_t)S, sizeof *reqs);
    size_t at = 0;
    int nreq = 0;
    for (int k = 0; k < S; k++) {
        if (in_len[k])
            CHECK(MPI_Irecv(*in + at, (int)in_len[k], MPI_BYTE, k, DLP__TAG_RETRY, rt->comm,
                            &reqs[nreq++]));
        at += in_len[k];
    }
    for (int k = 0; k < S; k++)
        if (len[k])
            CHECK(MPI_Isend(to[k], (int)len[k], MPI_BYTE, k, DLP__TAG_RETRY, rt->comm,
                            &reqs[nreq++]));
    for (int k = 0; k < nreq; k++)
        CHECK(dlp__wait(&reqs[k]));
    free(reqs);
    free(out_n);
    free(in_n);
}

void dlp__retry_free(struct dlp__retry_round *r)
{
    free(r->item);
    free(r->origin);
    free(r->ok);
    memset(r, 0, sizeof *r);
}
