/* Waiting for MPI requests without spinning a core: MPICH's blocking calls
 * busy-poll, which on an oversubscribed node (more ranks or threads than
 * cores) takes the CPU from the very ranks being waited for. */
#ifndef DLP_LIB_WAIT_H
#define DLP_LIB_WAIT_H

#include <mpi.h>

/** Complete request: test it for a few microseconds, then yield, then sleep
 *  with a backoff capped at DLP__WAIT_MAX_US. Returns the MPI status code. */
int dlp__wait(MPI_Request *request);

#endif
