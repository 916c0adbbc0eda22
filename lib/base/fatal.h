/* Fatal errors: what no rank can recover from ends the job, with a
 * message that names the rank and host (a helper thread's failed MPI call,
 * memory a helper thread cannot get). */
#ifndef DLP_LIB_FATAL_H
#define DLP_LIB_FATAL_H

#include <mpi.h>

/** Abort the job with a message: a helper thread (or a step every rank
 *  already agreed on) failed, and the job cannot go on (DLP_EXIT_INTERNAL). */
void dlp__helper_abort(const char *who, const char *what, int mpi_rc)
    __attribute__((noreturn));

/** An MPI call of a helper thread (or of a step the ranks already agreed
 *  on): a failure aborts the job, since a lost message would hang every
 *  rank. */
#define DLP__HELPER_CHECK(who, call)                                         \
    do {                                                                     \
        int mrc_ = (call);                                                   \
        if (mrc_ != MPI_SUCCESS)                                             \
            dlp__helper_abort(who, #call, mrc_);                             \
    } while (0)

#endif
