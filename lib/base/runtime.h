/* The process-wide runtime: communicators, the node level, identity. */
#ifndef DLP_LIB_RUNTIME_H
#define DLP_LIB_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>

#include "clock.h"
#include "dlp_mpi.h"
#include "entry.h"
#include "job_end.h"
#include "shm.h"

enum { DLP__UNINIT = 0, DLP__READY = 1, DLP__DONE = 2 };

struct dlp__runtime {
    _Atomic int state;      /* DLP__UNINIT / READY / DONE */
    int own_mpi;            /* we called MPI_Init_thread */
    MPI_Comm comm;          /* dup of MPI_COMM_WORLD */
    MPI_Comm node_comm;     /* ranks of this node */
    int rank, size;
    int node, nodes;        /* node index (master's node is 0), node count */
    int node_rank, node_size;
    int *node_of_rank;      /* [size] node index of every rank */
    int *node_leader;       /* [nodes] world rank of every node's leader */
    char host[MPI_MAX_PROCESSOR_NAME + 1];
    pthread_t main_thread;  /* the thread that called dlp_init(): the collectives' */
    _Atomic int in_call;    /* a parallel call is running (nesting check) */
    unsigned long call_seq; /* parallel calls so far (same on every rank) */
    double collective_timeout; /* DLP_COLLECTIVE_TIMEOUT, read by dlp_init (0: none) */
    void *scratch;          /* [size * DLP__SCRATCH_PER_RANK] for collectives */
    struct dlp__shm node_region; /* node-shared dispenser + cursor (node_region.c) */
};

/* Bytes per rank of the collectives' scratch buffer. */
#define DLP__SCRATCH_PER_RANK 64

extern struct dlp__runtime dlp__rt;

/** Move the runtime to state (DLP__READY, DLP__DONE): a ready runtime
 *  also makes the lower layers' messages name this rank and host
 *  (identity.h). Main thread, in dlp_init() and dlp_finalize(). */
void dlp__rt_set_state(int state);

/** DLP_OK when the library is initialised, else the error (recorded for func). */
int dlp__check_ready(const char *func);
/* dlp__check_ready(), no parallel call running on this rank (collectives
 * outside the parallel calls use the library's communicator), and the
 * calling thread is the main thread (dlp__check_main). */
int dlp__check_idle(const char *func);

/** DLP_OK on the thread that called dlp_init(), else DLP_ERR_STATE (recorded
 *  for func): the collectives of a rank must come from one thread, or two
 *  threads' calls would pair up with each other's across ranks. */
int dlp__check_main(const char *func);

/** Rank for messages, or -1 when not initialised. */
int dlp__rt_rank_or_minus1(void);

/** Free the node leader's staging buffer of dlp_gather (gather.c). */
void dlp__gather_release(void);

/* With this header come the clocks (clock.h), ending the job (job_end.h)
 * and the collective entry (entry.h): modules below the runtime, which
 * need nothing from it. */

#endif
