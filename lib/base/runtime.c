/* The runtime's state (dlp__rt): the version, the state and its checks in
 * the public calls. dlp_init and dlp_finalize, which fill and clear the
 * state, are in init.c. */
#include "runtime.h"

#include <pthread.h>

#include "error.h"
#include "identity.h"

_Static_assert(sizeof(long) == 8, "dlp_mpi needs a 64-bit long (LP64)");

struct dlp__runtime dlp__rt = {.comm = MPI_COMM_NULL, .node_comm = MPI_COMM_NULL};

unsigned dlp_version(void) { return DLP_VERSION; }

void dlp__rt_set_state(int state)
{
    atomic_store(&dlp__rt.state, state);
    dlp__identity_set(state == DLP__READY ? dlp__rt.rank : -1, dlp__rt.size, dlp__rt.host);
}

int dlp__rt_rank_or_minus1(void)
{
    return atomic_load(&dlp__rt.state) == DLP__READY ? dlp__rt.rank : -1;
}

int dlp__check_ready(const char *func)
{
    switch (atomic_load(&dlp__rt.state)) {
    case DLP__READY: return DLP_OK;
    case DLP__DONE:
        return dlp__fail(DLP_ERR_FINALIZED, func, "called after dlp_finalize()");
    default:
        return dlp__fail(DLP_ERR_NOT_INITIALIZED, func, "called before dlp_init()");
    }
}

int dlp__check_main(const char *func)
{
    if (pthread_equal(pthread_self(), dlp__rt.main_thread))
        return DLP_OK;
    return dlp__fail(DLP_ERR_STATE, func,
                     "called from a thread other than the main thread (the one that called "
                     "dlp_init()); the collectives of a rank must all come from that thread, "
                     "in the same order on every rank");
}

int dlp__check_idle(const char *func)
{
    DLP_CALL(dlp__check_ready(func));
    if (atomic_load(&dlp__rt.in_call))
        return dlp__fail(DLP_ERR_STATE, func,
                         "a parallel call is running on this rank (collective called from a "
                         "body, or between dlp_loop_begin() and dlp_loop_end())");
    return dlp__check_main(func);
}

