/* The process-wide runtime: communicators, the node level, identity. */
#ifndef DLP_LIB_RUNTIME_H
#define DLP_LIB_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>

#include "dlp_mpi.h"
#include "entry.h"
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
    unsigned long coll_seq; /* collectives entered (entry.h) */
    struct dlp__entry *entries; /* [size]: every rank's entry of the last collective */
    void *scratch;          /* [size * DLP__SCRATCH_PER_RANK] for collectives */
    struct dlp__shm node_region; /* node-shared dispenser + cursor (loop.c) */
};

/* Bytes per rank of the collectives' scratch buffer. */
#define DLP__SCRATCH_PER_RANK 64

extern struct dlp__runtime dlp__rt;

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

/** Monotonic wall clock in seconds. */
double dlp__now(void);
/** Monotonic seconds of the timer tick (a few ms resolution, a fraction of
 *  dlp__now()'s cost): for decisions taken per item, like progress. */
double dlp__now_coarse(void);

/** Sleep for the given microseconds (no-op for 0). */
void dlp__sleep_us(unsigned us);

/** End the job with MPI_Abort(code), after the message the caller just
 *  wrote to stderr (and flushed) had 0.3 s to reach the launcher: hydra
 *  drops what an aborted process wrote last. Any thread. */
void dlp__abort_job(int code) __attribute__((noreturn));

/** Claim the end of the job: 1 for the first caller in the process, 0 after
 *  (another thread is ending it). */
int dlp__abort_claim(void);

/** End the job with code (MPI_Abort; _exit with one process), once the
 *  caller holds the claim. */
void dlp__end_job(int code) __attribute__((noreturn));

#endif
