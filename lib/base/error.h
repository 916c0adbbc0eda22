/* Internal error reporting: every failure sets the calling thread's message
 * (function, what, rank, host) and returns its status code. */
#ifndef DLP_LIB_ERROR_H
#define DLP_LIB_ERROR_H

#include "dlp_mpi.h"

/** Record "func: message [rank R, host H]" as the calling thread's last error
 *  and return code. */
int dlp__fail(int code, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** dlp__fail() where the code is known at the call (a constant): the same
 *  call, as an expression whose value the static analyzer sees. It looks at
 *  one file at a time, so it cannot know that dlp__fail() returns its code
 *  (never DLP_OK), and follows paths where a recorded failure "succeeded". */
#define DLP_FAIL(code, ...) ((void)dlp__fail((code), __VA_ARGS__), (code))

/** Record an MPI failure (what = the call that failed, with MPI's own error
 *  string) and return DLP_ERR_MPI; returns DLP_OK when mpi_rc is MPI_SUCCESS. */
int dlp__fail_mpi(const char *func, const char *what, int mpi_rc);

/** dlp__fail_mpi() for a call known to have failed (mpi_rc != MPI_SUCCESS):
 *  DLP_ERR_MPI, as an expression the static analyzer sees (see DLP_FAIL). */
#define DLP_FAIL_MPI(func, what, mpi_rc) \
    ((void)dlp__fail_mpi((func), (what), (mpi_rc)), DLP_ERR_MPI)

/** Keep an already-formatted full message (e.g. a report received from
 *  another rank) as the calling thread's last error; returns code. */
int dlp__set_message(int code, const char *msg);

/** Evaluate an MPI call; on failure record it and return DLP_ERR_MPI from the
 *  enclosing function (whose name is __func__). */
#define DLP_MPI_CALL(call)                                                   \
    do {                                                                     \
        int dlp__mrc = (call);                                               \
        if (dlp__mrc != MPI_SUCCESS)                                         \
            return DLP_FAIL_MPI(__func__, #call, dlp__mrc);                  \
    } while (0)

/** Propagate a non-OK status from an internal call. */
#define DLP_CALL(call)                                                       \
    do {                                                                     \
        int dlp__rc = (call);                                                \
        if (dlp__rc != DLP_OK)                                               \
            return dlp__rc;                                                  \
    } while (0)

/** 1 when status is one of the library's status codes (dlp_strerror names
 *  it), else 0. */
int dlp__known_status(int status);

/** The error another rank reported (its message is on that rank): record
 *  "<what> on rank R (NAME); see that rank's dlp_last_error()" and return
 *  status. A status that is not one of the library's errors (a corrupted or
 *  mismatched message) is never passed on: DLP_ERR_MPI, saying so. */
int dlp__fail_from_rank(int status, int rank, const char *func, const char *what);

/** The text of errno value e, in buf (a thread-safe strerror). Returns buf. */
const char *dlp__errno_text(int e, char *buf, size_t len);

/** dlp__errno_text() into a buffer that lives until the end of the
 *  enclosing block (for one argument of a message). */
#define DLP__ERRNO_TEXT(e) dlp__errno_text((e), (char[128]){0}, 128)

#endif
