/* How dlp_init starts MPI (or joins the user's MPI), see mpi_start.h. */
#include "mpi_start.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlp_mpi.h"
#include "error.h"
#include "mpi_end.h"
#include "runtime.h"

/* hwloc's discovery components without their PCI and I/O phases (hwloc
 * 2.1 and later: "-component:phase"; older versions ignore what they do not
 * know). MPICH's MPI_Init loads the node's topology with every I/O device
 * kept; reading the configuration space of each PCI device is most of that
 * load (bench/startup.sh measures MPI_Init with and without it). */
#define NO_IO_COMPONENTS "-pci,-linux:pci,-linux:io"

/* Variables by which the user (or the launcher) already chose how hwloc
 * discovers the node: then it is left alone. */
static const char *const hwloc_chosen[] = {"HWLOC_COMPONENTS", "HWLOC_XMLFILE",
                                           "HWLOC_SYNTHETIC", "HWLOC_FSROOT"};

/* DLP_HWLOC_IO: 1 keep (discover I/O devices), 0 skip (the default). */
static int keep_io(void)
{
    const char *env = getenv("DLP_HWLOC_IO");
    if (!env || !*env || strcmp(env, "skip") == 0)
        return 0;
    if (strcmp(env, "keep") == 0)
        return 1;
    char host[256] = "?";
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "?");
    fprintf(stderr,
            "dlp_mpi: process %ld (host %s): DLP_HWLOC_IO=\"%s\" is not skip or keep; using "
            "skip\n",
            (long)getpid(), host, env);
    return 0;
}

/* Sets HWLOC_COMPONENTS for MPI_Init unless the user chose; 1 if it did
 * (and dlp__mpi_start must unset it again). */
static int skip_io_discovery(void)
{
    if (keep_io())
        return 0;
    for (size_t k = 0; k < sizeof hwloc_chosen / sizeof hwloc_chosen[0]; k++)
        if (getenv(hwloc_chosen[k]))
            return 0;
    /* dlp_init runs on the main thread before MPI and the teams start */
    return setenv("HWLOC_COMPONENTS", NO_IO_COMPONENTS, 0) == 0; // NOLINT(concurrency-mt-unsafe)
}

int dlp__mpi_start(int *argc, char ***argv)
{
    int inited = 0, finalized = 0, provided = 0;
    DLP_MPI_CALL(MPI_Finalized(&finalized));
    if (finalized)
        return dlp__fail(DLP_ERR_FINALIZED, "dlp_init", "MPI was already finalized");
    DLP_MPI_CALL(MPI_Initialized(&inited));
    if (!inited) {
        int set = skip_io_discovery();
        dlp__mpi_note_sockets();
        int mrc = MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
        if (set) /* the user's own hwloc (and children) see what they had */
            unsetenv("HWLOC_COMPONENTS"); // NOLINT(concurrency-mt-unsafe): as setenv above
        if (mrc != MPI_SUCCESS)
            return DLP_FAIL_MPI("dlp_init", "MPI_Init_thread", mrc);
        dlp__rt.own_mpi = 1;
    } else {
        DLP_MPI_CALL(MPI_Query_thread(&provided));
        dlp__rt.own_mpi = 0;
    }
    if (provided < MPI_THREAD_MULTIPLE) {
        static const char *names[] = {"MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED",
                                      "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"};
        int lvl = provided >= 0 && provided <= 3 ? provided : 0;
        return dlp__fail(DLP_ERR_THREAD_LEVEL, "dlp_init",
                         "MPI provides %s, the library needs MPI_THREAD_MULTIPLE%s", names[lvl],
                         inited ? " (initialise MPI with MPI_Init_thread(..., "
                                  "MPI_THREAD_MULTIPLE, ...))"
                                : "");
    }
    return DLP_OK;
}
