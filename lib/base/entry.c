/* The collective entry (see entry.h). */
#include "entry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "exchange.h"
#include "tags.h"
#include "wait.h"

/* The job's entry, from dlp__entry_start(): the communicator and its
 * size, the collectives entered so far, every rank's entry of the last
 * one, and the timeout of the wait. Main thread only. */
static struct {
    MPI_Comm comm;
    int rank, size;
    unsigned long seq;
    struct dlp__entry *all; /* [size] */
    double timeout;
    int reduce_first; /* the entry starts with the reduction (below) */
} job = {.comm = MPI_COMM_NULL};

static int reduce_first(int size);

int dlp__entry_start(MPI_Comm comm, int size, double timeout)
{
    free(job.all);
    job.all = malloc(sizeof *job.all * (size_t)(size > 0 ? size : 1));
    if (!job.all)
        return dlp__fail(DLP_ERR_NOMEM, "dlp_init", "entry table for %d ranks", size);
    int mrc = MPI_Comm_rank(comm, &job.rank);
    if (mrc != MPI_SUCCESS)
        return DLP_FAIL_MPI("dlp_init", "MPI_Comm_rank", mrc);
    job.comm = comm;
    job.size = size;
    job.seq = 0;
    job.timeout = timeout;
    job.reduce_first = reduce_first(size);
    return DLP_OK;
}

int dlp__entry_reduces(void) { return job.reduce_first; }

void dlp__entry_stop(void)
{
    free(job.all);
    job.all = NULL;
    job.comm = MPI_COMM_NULL;
    job.size = 0;
}

/* The collectives, by the number an entry carries. */
static const char *const calls[] = {
    "?",                   "dlp_split_managed",          "dlp_split_round_robin",
    "dlp_loop_begin",      "dlp_map_unordered",          "dlp_map_begin",
    "dlp_barrier",         "dlp_bcast",                  "dlp_gather",
    "dlp_gather_into",     "dlp_call_on_root_and_bcast", "dlp_results_create",
    "dlp_collector_create", "dlp_finalize"};
#define CALLS ((int)(sizeof calls / sizeof calls[0]))

static int call_number(const char *func)
{
    for (int k = 1; k < CALLS; k++)
        if (strcmp(calls[k], func) == 0)
            return k;
    return 0;
}

static const char *call_name(int k) { return k > 0 && k < CALLS ? calls[k] : "an unknown call"; }

static int same_place(const struct dlp__entry *a, const struct dlp__entry *b)
{
    return a->call == b->call && a->seq == b->seq;
}

/* Appends to buf (cap bytes, NUL-terminated) without overflowing it. */
static void append(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* Up to this many places (call, count) and ranks per place are named. */
#define PLACES_NAMED 3
#define RANKS_NAMED 4

/* "dlp_barrier (collective #3) on ranks 0, 2; dlp_bcast (collective #3)
 * on rank 1": where the ranks are, grouped, in the order of their lowest
 * rank. */
static void describe_places(const struct dlp__entry *all, int size, char *buf, size_t cap)
{
    buf[0] = '\0';
    int places = 0;
    for (int r = 0; r < size; r++) {
        int first = 1;
        for (int q = 0; q < r && first; q++)
            first = !same_place(&all[q], &all[r]);
        if (!first)
            continue;
        if (++places > PLACES_NAMED)
            continue;
        int count = 0;
        for (int q = r; q < size; q++)
            count += same_place(&all[q], &all[r]);
        append(buf, cap, "%s%s (collective #%lu) on rank%s", places > 1 ? "; " : "",
               call_name(all[r].call), all[r].seq, count > 1 ? "s" : "");
        int named = 0;
        for (int q = r; q < size && named < RANKS_NAMED; q++)
            if (same_place(&all[q], &all[r]))
                append(buf, cap, "%s %d", named++ ? "," : "", q);
        if (count > named)
            append(buf, cap, " and %d more", count - named);
    }
    if (places > PLACES_NAMED)
        append(buf, cap, "; and %d other places", places - PLACES_NAMED);
}

/* Words of the first step's reduction: the place (seq, call), whether the
 * rank's own checks failed, and the arguments as words; each as x and ~x,
 * so that one MPI_MAX gives every word's maximum and minimum. */
#define ARG_WORDS (DLP__ENTRY_ARGS / sizeof(unsigned long))
#define WORDS (3 + ARG_WORDS)

/* The first step, the same on every rank whatever its call: an allreduce
 * of WORDS words (bytes and time O(log ranks), not O(ranks) like an
 * allgather). *place_same: every rank is at the same call and count;
 * *failed: some rank's own checks failed; *args_same: every rank passed
 * the same argument bytes. */
static int reduce_entry(const struct dlp__entry *mine, const char *func,
                        const struct dlp__what *what,
                        int *place_same, int *failed, int *args_same)
{
    unsigned long in[2 * WORDS], out[2 * WORDS];
    unsigned long w[WORDS];
    w[0] = mine->seq;
    w[1] = (unsigned long)mine->call;
    w[2] = mine->status != DLP_OK;
    memcpy(&w[3], mine->args, sizeof mine->args);
    for (size_t k = 0; k < WORDS; k++) {
        in[2 * k] = w[k];
        in[2 * k + 1] = ~w[k];
    }
    MPI_Request req;
    int mrc = MPI_Iallreduce(in, out, (int)(2 * WORDS), MPI_UNSIGNED_LONG, MPI_MAX, job.comm,
                             &req);
    if (mrc == MPI_SUCCESS)
        mrc = dlp__wait_for(&req, what ? what : &(struct dlp__what){.text = func},
                            job.timeout);
    if (mrc != MPI_SUCCESS)
        return DLP_FAIL_MPI(func, "MPI_Iallreduce of the collective's entry", mrc);
    *place_same = out[0] == ~out[1] && out[2] == ~out[3];
    *failed = out[4] != 0;
    *args_same = 1;
    for (size_t k = 3; k < WORDS; k++)
        *args_same &= out[2 * k] == ~out[2 * k + 1];
    return DLP_OK;
}

/* From this many ranks on, the entry starts with the reduction; below, with
 * the allgather alone, which is then small (128 B per rank, a logarithmic
 * algorithm) and one collective instead of two. Every rank decides alike
 * (the size is the same everywhere), so the first operations still match.
 * Test hook (internal, tests/CMakeLists.txt): DLP__TEST_ENTRY_REDUCE=1 (on
 * every rank, read at dlp_init) takes the reduction at any size. */
#define REDUCE_FROM_RANKS 256

static int reduce_first(int size)
{
    const char *hook = getenv("DLP__TEST_ENTRY_REDUCE");
    return size >= REDUCE_FROM_RANKS || (hook && strcmp(hook, "1") == 0);
}

/* The entry: the reduction; then, when the caller wants every rank's
 * entry, or something is wrong (ranks in different calls, a rank's own
 * error: every rank sees that alike, so all take this step), the
 * allgather of every rank's entry, and the checks that name the ranks.
 * uniform: the caller only compares the arguments, and needs *all only
 * when they differ. */
static int enter(const char *func, const struct dlp__what *what, int status, const void *args,
                 size_t len, const struct dlp__entry **all, int uniform)
{
    if (all)
        *all = NULL;
    struct dlp__entry mine;
    memset(&mine, 0, sizeof mine);
    mine.seq = ++job.seq;
    mine.call = call_number(func);
    mine.status = status;
    if (len > sizeof mine.args)
        len = sizeof mine.args; /* (callers pass fixed structs that fit) */
    if (len)
        memcpy(mine.args, args, len);
    if (job.reduce_first) {
        int place_same = 0, failed = 0, args_same = 0;
        int rc = reduce_entry(&mine, func, what, &place_same, &failed, &args_same);
        if (rc != DLP_OK)
            return rc;
        if (place_same && !failed && (!all || (uniform && args_same)))
            return status;
    }
    struct dlp__entry *every = job.all;
    if (job.size == 1) { /* alone: what MPI would do, without its cost */
        every[0] = mine;
    } else {
        struct dlp__exchange x;
        int mrc = dlp__exchange_start(&x, &mine, every, sizeof mine, job.comm, job.rank,
                                      job.size, DLP__TAG_ENTRY);
        if (mrc == MPI_SUCCESS)
            mrc = dlp__wait_op_for(dlp__exchange_test, &x,
                                   what ? what : &(struct dlp__what){.text = func}, job.timeout);
        if (mrc != MPI_SUCCESS)
            return DLP_FAIL_MPI(func, "the exchange of the collective's entry", mrc);
    }
    for (int r = 0; r < job.size; r++) {
        if (!same_place(&every[r], &every[0])) {
            char places[400];
            describe_places(every, job.size, places, sizeof places);
            return dlp__fail(DLP_ERR_MISMATCH, func,
                             "the ranks are in different collective calls: %s. Every rank "
                             "must make the library's collective calls in the same order",
                             places);
        }
    }
    if (status != DLP_OK)
        return status; /* its message is recorded already */
    for (int r = 0; r < job.size; r++) {
        if (every[r].status != DLP_OK)
            return dlp__fail_from_rank(every[r].status, r, func,
                                       "the call could not start");
    }
    if (all)
        *all = every;
    return DLP_OK;
}

int dlp__enter(const char *func, const struct dlp__what *what, int status, const void *args,
               size_t len, const struct dlp__entry **all)
{
    return enter(func, what, status, args, len, all, 0);
}

int dlp__enter_uniform(const char *func, const struct dlp__what *what, int status,
                       const void *args, size_t len, const struct dlp__entry **all)
{
    return enter(func, what, status, args, len, all, 1);
}

int dlp__entry_same_long(const struct dlp__entry *all, int k, const char *name,
                         const char *func)
{
    size_t at = (size_t)k * sizeof(long);
    long first;
    memcpy(&first, all[0].args + at, sizeof first);
    for (int r = 1; r < job.size; r++) {
        long v;
        memcpy(&v, all[r].args + at, sizeof v);
        if (v != first)
            return dlp__fail(DLP_ERR_MISMATCH, func,
                             "rank %d passed %s = %ld, rank 0 passed %s = %ld", r, name, v, name,
                             first);
    }
    return DLP_OK;
}
