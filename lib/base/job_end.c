/* Ending the whole job (see job_end.h). */
#include "job_end.h"

#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "identity.h"
#include "pmi_leave.h"

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
 * still compute, or inside the handler that is running already. It leaves
 * hydra's proxy first: else the proxy may report status 1 instead of code
 * (see pmi_leave.h). */
void dlp__end_job(int code)
{
    fflush(stderr);
    if (dlp__identity_size() == 1) {
        flush_stdout();
        dlp__pmi_leave();
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
