/* Fatal errors (see fatal.h). */
#include "fatal.h"

#include <stdio.h>

#include "dlp_mpi.h"
#include "runtime.h"

void dlp__helper_abort(const char *who, const char *what, int mpi_rc)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (mpi_rc != MPI_SUCCESS)
        MPI_Error_string(mpi_rc, text, &len);
    fprintf(stderr, "dlp_mpi: %s on rank %d (host %s): %s %s; aborting the job\n", who,
            dlp__rt.rank, dlp__rt.host, what, text);
    dlp__abort_job(DLP_EXIT_INTERNAL);
}
