/* Failed items of a parallel call: each rank records its own while the call
 * runs (any thread); at the end every rank learns every rank's records, and
 * dlp_failures() reads them until the next call. */
#ifndef DLP_LIB_FAILURES_H
#define DLP_LIB_FAILURES_H

#include <pthread.h>

#include "dlp_mpi.h"

struct dlp__failures {
    pthread_mutex_t lock;
    long count;        /* failures on this rank */
    long kept, cap;    /* records kept: all (skip, up to DLP_FAILURES_MAX) or the first */
    int keep_all;
    dlp_failure *rec;
};

/** Start recording for a call; keep_all: the skip policy. */
void dlp__failures_init(struct dlp__failures *f, int keep_all);
void dlp__failures_free(struct dlp__failures *f);

/** Record a failure (any thread; value: dlp_failure.value). Returns the number of failures recorded
 *  on this rank before this one (0: it is the first). */
long dlp__failures_add(struct dlp__failures *f, long item, int thread, int code, int value,
                       const char *msg);

/** End of a call (collective): every rank gets every rank's kept records
 *  (those dlp_failures() returns from now on). counts[r] is rank r's number
 *  of failures (known from the call's final allgather). Returns DLP_OK when
 *  nobody failed; else the first failure's code and report (abort), or
 *  DLP_SKIPPED with a summary (skip: the call completed). */
int dlp__failures_agree(struct dlp__failures *f, const long *counts, const char *func);

/** Forget the previous call's list: at the start of every call, before
 *  dlp__failures_agree() can fill it. */
void dlp__failures_forget(void);

#endif
