/* Node-shared memory: one mapping seen by every rank of a node. Pages are
 * used only where written (sparse), so a segment may be as large as the
 * whole item range. */
#ifndef DLP_LIB_SHM_H
#define DLP_LIB_SHM_H

#include <mpi.h>
#include <stddef.h>

struct dlp__shm {
    void *base;  /* NULL when not allocated */
    size_t size; /* mapped bytes */
};

/** Map size zero-filled bytes shared by all ranks of node_comm (private
 *  anonymous memory when the node has one rank). The node leader's memfd,
 *  which the others open through /proc/<leader>/fd: no name in /dev/shm at
 *  any time. Where some rank cannot open it, a POSIX shm segment under a
 *  random name (128 bits from getrandom / /dev/urandom, O_EXCL, another name
 *  when one is taken), unlinked as soon as every rank has mapped it.
 *  Collective over node_comm; either every rank succeeds or every rank gets
 *  the error. */
int dlp__shm_alloc(struct dlp__shm *seg, size_t size, MPI_Comm node_comm);

/** Unmap; safe on a segment never allocated. Not collective. */
void dlp__shm_free(struct dlp__shm *seg);

#endif
