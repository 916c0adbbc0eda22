/* How dlp_init starts MPI, or joins the user's MPI. */
#ifndef DLP_LIB_MPI_START_H
#define DLP_LIB_MPI_START_H

/** Initialise MPI with MPI_THREAD_MULTIPLE unless the user did (then check
 *  that the user's MPI provides it); sets dlp__rt.own_mpi.
 *
 *  When it initialises MPI it asks hwloc, through HWLOC_COMPONENTS, to skip
 *  PCI and I/O devices while MPI_Init discovers the node (MPICH reads every
 *  PCI device's configuration there, most of the cost of MPI_Init on one
 *  node), and unsets the variable again afterwards. Not when DLP_HWLOC_IO
 *  is "keep", nor when the user chose how hwloc discovers (HWLOC_COMPONENTS,
 *  HWLOC_XMLFILE, HWLOC_SYNTHETIC or HWLOC_FSROOT set). Main thread, before
 *  other threads run (it changes the environment).
 *
 *  Errors: DLP_ERR_FINALIZED, DLP_ERR_MPI, DLP_ERR_THREAD_LEVEL. */
int dlp__mpi_start(int *argc, char ***argv);

#endif
