/* The runtime's state (dlp__rt) and what every layer uses: the version,
 * clocks, sleeping, ending the job, and the state checks of the public
 * calls. dlp_init and dlp_finalize, which fill and clear the state, are in
 * init.c. */
#include "runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

_Static_assert(sizeof(long) == 8, "dlp_mpi needs a 64-bit long (LP64)");

struct dlp__runtime dlp__rt = {.comm = MPI_COMM_NULL, .node_comm = MPI_COMM_NULL};

unsigned dlp_version(void) { return DLP_VERSION; }

double dlp__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double dlp__now_coarse(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC_COARSE)
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dlp__sleep_us(unsigned us)
{
    if (us == 0)
        return;
    struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L};
    nanosleep(&ts, NULL);
}

/* Set by the first abort: the job ends once, with that abort's code and
 * message. */
static atomic_int aborting;

/* Flush stdout unless another thread holds it (a body stuck writing to a
 * full pipe must not stop the abort). */
static void flush_stdout(void)
{
    if (ftrylockfile(stdout) == 0) {
        fflush(stdout);
        funlockfile(stdout);
    }
}

/* End the job with code, once aborting is ours. A job of one process ends
 * with _exit(code): MPICH's MPI_Abort would call exit() there, which runs
 * the exit handlers (the library's among them) while the other threads
 * still compute, or inside the handler that is running already. */
void dlp__end_job(int code)
{
    fflush(stderr);
    if (dlp__rt.size == 1) {
        flush_stdout();
        _exit(code);
    }
    dlp__sleep_us(300000);
    MPI_Abort(MPI_COMM_WORLD, code);
    abort();
}

int dlp__abort_claim(void) { return !atomic_exchange(&aborting, 1); }

void dlp__abort_job(int code)
{
    if (!dlp__abort_claim()) /* another thread ends the job */
        for (;;)
            pause();
    dlp__end_job(code);
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

