/* The collective entry: every collective of the library (the parallel
 * calls, dlp_barrier, dlp_bcast, the gathers, dlp_call_on_root_and_bcast,
 * dlp_results_create, dlp_collector_create, dlp_finalize) starts with the
 * same MPI operation. So ranks that call different collectives still match
 * each other's first message, and every rank learns whether all ranks are
 * in the same call before any rank reads another call's data: different
 * calls are DLP_ERR_MISMATCH on every rank, naming the calls and the ranks.
 * Below 256 ranks that operation is one allgather of a fixed-size record
 * per rank (its call, count of collectives, own status and arguments).
 * From 256 ranks on, whose allgather would grow with the ranks in bytes and
 * time, it is one allreduce of the record (as maxima and minima), and the
 * allgather follows only when the caller needs every rank's record or the
 * ranks differ (docs/scale.md). */
#ifndef DLP_LIB_ENTRY_H
#define DLP_LIB_ENTRY_H

#include <mpi.h>
#include <stddef.h>

#include "wait.h"

/** Bytes of a call's own arguments in an entry (compared by the call). */
#define DLP__ENTRY_ARGS 112

struct dlp__entry {
    unsigned long seq;  /* collectives this rank entered, this one included */
    int call;           /* which public function (entry.c's table) */
    int status;         /* DLP_OK, or the error of this rank's own checks */
    unsigned char args[DLP__ENTRY_ARGS]; /* the call's own; copied, compared by it */
};
_Static_assert(sizeof(struct dlp__entry) == 128, "an entry is 128 bytes");

/** Make the entry ready for the job: the library's communicator comm of
 *  size ranks, and the collective timeout (seconds, 0: none) its waits
 *  pass to dlp__wait_arrival(). Main thread, in dlp_init(). Errors:
 *  DLP_ERR_NOMEM (recorded for dlp_init). */
int dlp__entry_start(MPI_Comm comm, int size, double timeout);

/** 1 when the job's agreements start with a reduction, O(log ranks) in
 *  time and bytes, instead of an allgather, O(ranks): from 256 ranks on
 *  (or with the test hook DLP__TEST_ENTRY_REDUCE=1), the same on every
 *  rank. Set by dlp__entry_start(). Any thread. */
int dlp__entry_reduces(void);

/** Free what dlp__entry_start() took; safe without it. Main thread. */
void dlp__entry_stop(void);

/** Enter the collective `func` (a public function's name, e.g.
 *  "dlp_bcast"): every rank tells every rank its call, its count of
 *  collectives, its own status (DLP_OK, or the error its own checks of its
 *  arguments found; its message already recorded) and len <= DLP__ENTRY_ARGS
 *  bytes of arguments. Waits as dlp__wait_for() (*what names the wait in
 *  its messages; NULL: func). Main thread.
 *  Returns, the same on every rank except that a rank with an error of its
 *  own returns that: DLP_OK; DLP_ERR_MISMATCH when ranks are in different
 *  calls (or at different counts of collectives); the error of the lowest
 *  rank whose own checks failed (named in the message); DLP_ERR_MPI.
 *  On DLP_OK, *all (may be NULL) points at every rank's entry, [size] in
 *  rank order, valid until the next collective. */
int dlp__enter(const char *func, const struct dlp__what *what, int status, const void *args,
               size_t len, const struct dlp__entry **all);

/** dlp__enter for a caller that only checks that every rank passed the
 *  same arguments: on DLP_OK, *all is NULL when they are the same on every
 *  rank (no allgather was made), else every rank's entry, as dlp__enter. */
int dlp__enter_uniform(const char *func, const struct dlp__what *what, int status,
                       const void *args, size_t len, const struct dlp__entry **all);

/** DLP_OK when every rank's k-th long of its arguments (args as an array
 *  of longs) equals rank 0's; else DLP_ERR_MISMATCH naming the first rank
 *  that differs, both values and `name` (e.g. "len"). */
int dlp__entry_same_long(const struct dlp__entry *all, int k, const char *name,
                         const char *func);

#endif
