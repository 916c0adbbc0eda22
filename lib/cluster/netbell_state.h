/* The node doorbells' connections (netbell_state.c): the one table the
 * set-up (netbell_setup.c) fills in dlp_init and the running part
 * (netbell.c: rings, waits, heartbeat reads) uses until dlp_finalize. */
#ifndef DLP_LIB_NETBELL_STATE_H
#define DLP_LIB_NETBELL_STATE_H

#include <mpi.h>

#include "fdlimit.h"
#include "waitset.h"

/* What the liveness thread (liveness.h) knows of one connection. A
 * connection that fails is dropped by the dispatcher or agent (fd = -1)
 * but stays open until dlp__netbell_close, so that the liveness thread,
 * which uses its own copy (live), never reads a reused descriptor. */
struct dlp__bell_peer {
    int live;              /* the connection, -1 none; closed only at the end */
    int ended;             /* it was closed by the other side (liveness thread) */
    int error;             /* the errno that broke it, 0 none (liveness thread) */
    _Atomic double heard;  /* dlp__now() of its last byte */
};

struct dlp__netbell {
    int nodes;
    int *fd;         /* rank 0: [nodes] connection of node k's agent, -1 none */
    struct dlp__waitset set; /* rank 0: the local bell (tag 0) and every fd[k] (tag k) */
    int local;       /* rank 0: eventfd, main and liveness thread -> dispatcher */
    int master;      /* a leader: its connection to rank 0, -1 none */
    double liveness; /* rank 0's DLP_LIVENESS_TIMEOUT, 0 = off */
    struct dlp__bell_peer *peer; /* rank 0: [nodes]; a leader: [1], the master */
    char (*host)[MPI_MAX_PROCESSOR_NAME + 1]; /* rank 0: [nodes] each leader's host */
    _Atomic int agent_reads; /* a leader: its agent or main thread sleeps on the bell */
    struct dlp__fdlimit lim; /* rank 0: the open-file limit, as found and raised */
    long waits, read, read_out; /* rank 0's dispatcher, for DLP_STATS: waits on the set,
                                   connections read, of which of nodes out of the call */
};

/** This process's doorbells: none until dlp__netbell_open. */
extern struct dlp__netbell dlp__nb;

/** Watch connection fd (-1: none) as peer p, heard of now. */
void dlp__netbell_watch_peer(struct dlp__bell_peer *p, int fd);

/** The connections the liveness thread watches: rank 0's [nodes] (node 0,
 *  its own, has none), a leader's [1] (the master); 0 without a table. */
int dlp__netbell_peer_count(void);

#endif
