/* Failed items of a parallel call (see failures.h). */
#include "failures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fatal.h"
#include "runtime.h"
#include "wait.h"

/* The list of the last call, the same on every rank. */
static dlp_failure *last_list;
static long last_count, last_kept;

void dlp__failures_init(struct dlp__failures *f, int keep_all)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->keep_all = keep_all;
}

void dlp__failures_free(struct dlp__failures *f)
{
    free(f->rec);
    f->rec = NULL;
    pthread_mutex_destroy(&f->lock);
}

long dlp__failures_add(struct dlp__failures *f, long item, int thread, int code, int value,
                       const char *msg)
{
    pthread_mutex_lock(&f->lock);
    long before = f->count++;
    long limit = f->keep_all ? DLP_FAILURES_MAX : 1;
    if (f->kept < limit) {
        if (f->kept == f->cap) {
            long cap = f->cap ? 2 * f->cap : 4;
            cap = cap < limit ? cap : limit;
            dlp_failure *p = realloc(f->rec, (size_t)cap * sizeof *p);
            if (p) {
                f->rec = p;
                f->cap = cap;
            }
        }
        if (f->kept < f->cap) { /* else out of memory: counted, not kept */
            dlp_failure *r = &f->rec[f->kept++];
            memset(r, 0, sizeof *r);
            r->item = item;
            r->rank = dlp__rt.rank;
            r->thread = thread;
            r->code = code;
            r->value = value;
            size_t h = strnlen(dlp__rt.host, sizeof r->host - 1);
            memcpy(r->host, dlp__rt.host, h); /* r->host is zeroed: terminated */
            snprintf(r->message, sizeof r->message, "%s", msg);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return before;
}

void dlp__failures_forget(void)
{
    free(last_list);
    last_list = NULL;
    last_count = last_kept = 0;
}

long dlp_failures_listed(void)
{
    int rc = dlp__check_ready("dlp_failures_listed");
    return rc != DLP_OK ? rc : last_kept;
}

long dlp_failures(const dlp_failure **list)
{
    int rc = dlp__check_ready("dlp_failures");
    if (list)
        *list = rc == DLP_OK ? last_list : NULL;
    return rc != DLP_OK ? rc : last_count;
}

static void describe(const dlp_failure *r, char *where, size_t len)
{
    if (r->thread >= 0)
        snprintf(where, len, "rank %d, thread %d, host %s", r->rank, r->thread, r->host);
    else
        snprintf(where, len, "rank %d, host %s", r->rank, r->host);
}

/* Where each rank's records go in the agreed list (bytes and displ, per
 * rank): what it kept, all of it within 1 GiB in all; with abort, only the
 * lowest failing rank's first failure. Returns the records in all. */
static long gather_layout(const struct dlp__failures *f, const long *counts, int *bytes,
                          int *displ)
{
    const struct dlp__runtime *rt = &dlp__rt;
    long per_rank = ((long)1 << 30) / (long)sizeof(dlp_failure) / rt->size;
    long kept_all = 0;
    int listed_ranks = 0;
    for (int r = 0; r < rt->size; r++) {
        long limit = f->keep_all ? DLP_FAILURES_MAX : 1;
        long k = counts[r] < limit ? counts[r] : limit;
        if (!f->keep_all && k > 0 && listed_ranks++ > 0)
            k = 0;
        k = k < per_rank ? k : per_rank;
        displ[r] = (int)(kept_all * (long)sizeof(dlp_failure));
        bytes[r] = (int)(k * (long)sizeof(dlp_failure));
        kept_all += k;
    }
    return kept_all;
}

/* This rank's mine records to send: those it kept, padded with empty ones
 * when it ran out of memory while recording. */
static dlp_failure *records_to_send(const struct dlp__failures *f, long mine, const char *func)
{
    dlp_failure *send = calloc((size_t)(mine > 0 ? mine : 1), sizeof *send);
    if (!send)
        dlp__helper_abort(func, "out of memory for the failure reports", MPI_SUCCESS);
    long copy = f->kept < mine ? f->kept : mine;
    if (copy > 0) /* (f->rec is NULL when nothing was kept: no memcpy from NULL) */
        memcpy(send, f->rec, (size_t)copy * sizeof *send);
    for (long k = f->kept; k < mine; k++) {
        send[k].item = -1;
        send[k].rank = dlp__rt.rank;
        send[k].thread = -1;
        send[k].code = DLP_ERR_NOMEM;
        snprintf(send[k].message, sizeof send[k].message, "(not recorded: out of memory)");
    }
    return send;
}

/* The call's status and message, from the agreed list's first record. */
static int report(const struct dlp__failures *f, long total, const char *func)
{
    const dlp_failure *first = &last_list[0];
    char where[256], text[1024];
    describe(first, where, sizeof where);
    if (f->keep_all) {
        snprintf(text, sizeof text,
                 "%s: %ld item%s failed and %s skipped (dlp_failures() lists them); the "
                 "first: item %ld on %s: %s [%s]",
                 func, total, total == 1 ? "" : "s", total == 1 ? "was" : "were", first->item,
                 where, first->message, dlp_strerror(DLP_SKIPPED));
        return dlp__set_message(DLP_SKIPPED, text);
    }
    char more[64] = "";
    if (total > 1)
        snprintf(more, sizeof more, " (%ld failures in all)", total);
    if (first->item >= 0)
        snprintf(text, sizeof text, "%s: item %ld failed on %s: %s%s [%s]", func, first->item,
                 where, first->message, more, dlp_strerror(first->code));
    else
        snprintf(text, sizeof text, "%s: failed on %s: %s%s [%s]", func, where, first->message,
                 more, dlp_strerror(first->code));
    return dlp__set_message(first->code, text);
}

int dlp__failures_agree(struct dlp__failures *f, const long *counts, const char *func)
{
    const struct dlp__runtime *rt = &dlp__rt;
    long total = 0;
    for (int r = 0; r < rt->size; r++)
        total += counts[r];
    if (total == 0)
        return DLP_OK;
    int *bytes = malloc(sizeof(int) * (size_t)rt->size);
    int *displ = malloc(sizeof(int) * (size_t)rt->size);
    long kept_all = bytes && displ ? gather_layout(f, counts, bytes, displ) : 0;
    last_list = bytes && displ ? malloc((size_t)(kept_all > 0 ? kept_all : 1) * sizeof *last_list)
                               : NULL;
    if (!last_list) /* the job cannot agree on a report it cannot hold */
        dlp__helper_abort(func, "out of memory for the failure reports", MPI_SUCCESS);
    dlp_failure *send = records_to_send(f, bytes[rt->rank] / (long)sizeof(dlp_failure), func);
    MPI_Request req;
    int mrc = MPI_Iallgatherv(send, bytes[rt->rank], MPI_BYTE, last_list, bytes, displ,
                              MPI_BYTE, rt->comm, &req);
    if (mrc == MPI_SUCCESS)
        mrc = dlp__wait(&req);
    free(send);
    free(bytes);
    free(displ);
    if (mrc != MPI_SUCCESS)
        return dlp__fail_mpi(func, "MPI_Iallgatherv", mrc);
    for (long k = 0; k < kept_all; k++) {
        last_list[k].host[sizeof last_list[k].host - 1] = '\0';
        last_list[k].message[sizeof last_list[k].message - 1] = '\0';
    }
    last_count = total;
    last_kept = kept_all;
    return report(f, total, func);
}
