/* A small allgather made of point-to-point messages: every rank's block of
 * the same size to every rank, in ceil(log2 ranks) steps (Bruck's
 * algorithm). The library's agreements (the collective entry, the end of
 * a parallel call) exchange a record of a few dozen bytes per rank on
 * every call; MPICH's non-blocking allgather builds a schedule for each,
 * which costs more than the messages themselves on a small job
 * (docs/call_cost.md). Like a non-blocking collective, an exchange is
 * started, then tested until it completes, so the library's waits stay
 * polite and bounded (wait.h). */
#ifndef DLP_LIB_EXCHANGE_H
#define DLP_LIB_EXCHANGE_H

#include <mpi.h>
#include <stddef.h>

/** Bytes of rotated blocks an exchange keeps in itself; larger exchanges
 *  allocate (and free when they complete or fail). */
#define DLP__EXCHANGE_INLINE 2048

/** An exchange in progress. Its fields are the module's. */
struct dlp__exchange {
    MPI_Comm comm;
    int rank, size, tag;
    size_t bytes;         /* per block */
    unsigned char *out;   /* [size * bytes], rank order, when done */
    unsigned char *rot;   /* [size * bytes]: block i is rank (rank + i) % size's */
    int dist;             /* the step's distance, 1, 2, 4 ... */
    int step;             /* its number, 0, 1, 2 ... (the tag's offset) */
    int have;             /* blocks held at the start of rot */
    MPI_Request req[2];   /* the step's receive and send */
    unsigned char inline_rot[DLP__EXCHANGE_INLINE];
};

/** Start an exchange on comm (size ranks, this one rank): mine (bytes) to
 *  every rank, every rank's into out[size * bytes] in rank order (mine
 *  may point into out). Every rank of comm must start the same exchange
 *  (same bytes, same tag), which uses tags tag ... tag + 31 on comm. The
 *  caller owns x until dlp__exchange_test() says it is done or fails.
 *  Returns an MPI error code (MPI_ERR_NO_MEM when its scratch cannot be
 *  allocated). Any one thread per exchange. */
int dlp__exchange_start(struct dlp__exchange *x, const void *mine, void *out, size_t bytes,
                        MPI_Comm comm, int rank, int size, int tag);

/** Advance x: *done = 1 once out holds every rank's block. Returns an MPI
 *  error code; after an error x is released and must not be tested again.
 *  The test function of dlp__wait_op_for() and dlp__wait_bell() (wait.h):
 *  op is a struct dlp__exchange. */
int dlp__exchange_test(void *op, int *done);

#endif
