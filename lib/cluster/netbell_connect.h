/* The TCP part of the node doorbells' set-up (netbell_connect.c): rank 0
 * listens on the addresses it tells the leaders, a leader connects to
 * them and greets rank 0 with a token and its node number, and rank 0
 * accepts the connections and reads their greetings without waiting on
 * any one of them. The rounds of MPI messages around it are in
 * netbell_setup.c; the generic socket work is in socket.c. */
#ifndef DLP_LIB_NETBELL_CONNECT_H
#define DLP_LIB_NETBELL_CONNECT_H

#include <mpi.h>
#include <stddef.h>

#include "socket.h"

/* DLP_NODE_DOORBELL (rank 0's). */
enum { DLP__BELL_OFF, DLP__BELL_AUTO, DLP__BELL_TCP };

/* Seconds a leader tries to connect; rank 0 waits as long again for the
 * connections of the leaders that said they connected. */
#define DLP__BELL_CONNECT_SECONDS 1.0
#define DLP__BELL_HELLO_BYTES 12 /* token (8), node (4) */
#define DLP__BELL_MAX_ADDRS 16   /* addresses rank 0 listens on */
/* Connections rank 0 accepted whose greeting is not complete yet: read as
 * bytes arrive, never waiting for one, so a silent or foreign connection
 * costs nothing. With the table full, the oldest is dropped once it has
 * been silent DLP__BELL_PATIENCE seconds; until then the next connections
 * wait in the kernel's queue (every leader connects to each address, so a
 * node may make several). Test hook (internal, for tests/doorbell.sh):
 * DLP__TEST_BELL_PENDING=N (1 .. DLP__BELL_MAX_PENDING) makes the table
 * hold N. */
#define DLP__BELL_MAX_PENDING 64
#define DLP__BELL_PATIENCE 0.2

/* What rank 0 tells each leader in round 1 of the set-up. */
struct dlp__bell_info {
    int count; /* addresses; 0: no doorbells */
    int mode;
    double liveness; /* DLP_LIVENESS_TIMEOUT (rank 0's), seconds, 0 = off */
    unsigned long long token;
    char host[MPI_MAX_PROCESSOR_NAME + 1]; /* rank 0's MPI processor name */
    struct dlp__sock_addr addr[DLP__BELL_MAX_ADDRS];
};

struct dlp__bell_greeting {
    int fd;
    double since; /* accepted at (dlp__now) */
    size_t got;
    unsigned char hello[DLP__BELL_HELLO_BYTES];
};

/* The greetings rank 0 is reading; n = 0 to start. */
struct dlp__bell_greetings {
    struct dlp__bell_greeting g[DLP__BELL_MAX_PENDING];
    int n;
};

/** Under mode DLP__BELL_TCP, say on stderr why this rank has no doorbell
 *  (the printf format); silent otherwise. */
void dlp__netbell_warn(int mode, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Rank 0 listens on the addresses the leaders are told, lfd[i] for
 *  info->addr[i]: those of DLP_NODE_DOORBELL_HOST (resolved here, on rank
 *  0 only), else those of its network interfaces that are up (no name
 *  lookup at all; IPv6 link-local ones left out), the loopback ones last.
 *  0, or -1 with the reason in why. */
int dlp__netbell_listen_told(struct dlp__bell_info *info, int *lfd, char *why, size_t size);

/** A leader connects to rank 0, to every address it was told at once (the
 *  loopback ones only on rank 0's own host), keeps the first connection
 *  made, and greets rank 0 over it; the connection, or -1 (said under
 *  mode DLP__BELL_TCP). No name lookup. */
int dlp__netbell_connect(const struct dlp__bell_info *in, int mode);

/** Rank 0: one look at the listening sockets lfd[0 .. nl) and the pending
 *  greetings, waiting at most 1 ms. A complete greeting with the token
 *  that names a node k in 1 .. nodes - 1 with fd[k] < 0 gives fd[k] the
 *  connection; any other is closed. Returns the doorbells made. */
int dlp__netbell_greetings_poll(struct dlp__bell_greetings *G, const int *lfd, int nl,
                             unsigned long long token, int *fd, int nodes);

/** Close the greetings still pending. */
void dlp__netbell_greetings_close(struct dlp__bell_greetings *G);

/** Test hook (internal, for tests/doorbell.sh): DLP__TEST_BELL_INTRUDERS=N
 *  makes rank 0 open, before it tells the leaders, N silent connections to
 *  each address it listens on, plus one that sends a wrong greeting, into
 *  fds[*n ..] (at most cap in all); the caller closes them when the set-up
 *  ends. The doorbells must not suffer. */
void dlp__netbell_intrude(const struct dlp__bell_info *info, int *fds, int cap, int *n);

#endif
