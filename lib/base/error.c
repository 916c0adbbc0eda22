/* Status codes, their names, and the per-thread last-error message. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"

#define DLP__MSG_MAX 1024

static _Thread_local char last_message[DLP__MSG_MAX];

/* The text of a status code, or NULL when it is none. */
static const char *status_text(int status)
{
    switch (status) {
    case DLP_OK: return "DLP_OK: success";
    case DLP_SKIPPED: return "DLP_SKIPPED: the call completed; some items failed and were skipped";
    case DLP_ERR_NOT_INITIALIZED: return "DLP_ERR_NOT_INITIALIZED: dlp_init() has not been called";
    case DLP_ERR_FINALIZED: return "DLP_ERR_FINALIZED: dlp_finalize() was already called";
    case DLP_ERR_ARG: return "DLP_ERR_ARG: invalid argument";
    case DLP_ERR_OPTION: return "DLP_ERR_OPTION: invalid option or DLP_* environment value";
    case DLP_ERR_THREAD_LEVEL: return "DLP_ERR_THREAD_LEVEL: MPI does not provide MPI_THREAD_MULTIPLE";
    case DLP_ERR_MPI: return "DLP_ERR_MPI: an MPI call failed";
    case DLP_ERR_NOMEM: return "DLP_ERR_NOMEM: out of memory";
    case DLP_ERR_ITEM: return "DLP_ERR_ITEM: an item failed";
    case DLP_ERR_MISMATCH: return "DLP_ERR_MISMATCH: ranks are in different collective calls or disagree on their arguments";
    case DLP_ERR_STATE: return "DLP_ERR_STATE: call not allowed in this state";
    case DLP_ERR_SYSTEM: return "DLP_ERR_SYSTEM: an operating-system call failed";
    case DLP_ERR_JOURNAL: return "DLP_ERR_JOURNAL: the journal file cannot be used";
    case DLP_ERR_INTERRUPTED: return "DLP_ERR_INTERRUPTED: stopped by SIGTERM or SIGINT";
    default: return NULL;
    }
}

const char *dlp_strerror(int status)
{
    const char *text = status_text(status);
    return text ? text : "unknown dlp status code";
}

int dlp__known_status(int status) { return status_text(status) != NULL; }

const char *dlp_last_error(void) { return last_message; }

const char *dlp__errno_text(int e, char *buf, size_t len)
{
    if (strerror_r(e, buf, len) != 0)
        snprintf(buf, len, "errno %d", e);
    return buf;
}

int dlp__set_message(int code, const char *msg)
{
    snprintf(last_message, sizeof last_message, "%s", msg);
    return code;
}

int dlp__fail(int code, const char *func, const char *fmt, ...)
{
    char what[DLP__MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    /* ap is started above: a false positive of clang 14's analyzer when it
     * follows dlp__fail_from_rank into this function */
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int rank = dlp__identity_rank();
    if (rank >= 0)
        snprintf(last_message, sizeof last_message, "%s: %s [%s; rank %d, host %s]",
                 func, what, dlp_strerror(code), rank, dlp__identity_host());
    else
        snprintf(last_message, sizeof last_message, "%s: %s [%s]", func, what,
                 dlp_strerror(code));
    return code;
}

int dlp__fail_from_rank(int status, int rank, const char *func, const char *what)
{
    if (status >= 0 || !dlp__known_status(status))
        return dlp__fail(DLP_ERR_MPI, func,
                         "rank %d sent the status %d, which is no dlp error code (a corrupted "
                         "or mismatched message)",
                         rank, status);
    return dlp__fail(status, func, "%s on rank %d (%s); see that rank's dlp_last_error()", what,
                     rank, dlp_strerror(status));
}

int dlp__fail_mpi(const char *func, const char *what, int mpi_rc)
{
    if (mpi_rc == MPI_SUCCESS)
        return DLP_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", mpi_rc);
    return dlp__fail(DLP_ERR_MPI, func, "%s failed: %s", what, text);
}
