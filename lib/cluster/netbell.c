/* Doorbells across nodes (see netbell.h).
 *
 * Setup, in dlp_init, three rounds of point-to-point messages between
 * rank 0 and the other nodes' leaders (tag DLP__TAG_BELL):
 *   1. rank 0 listens on a TCP port on each address the leaders may use
 *      (listen_told) and sends each leader those addresses and ports, its
 *      processor name and a random token (no address: no doorbells);
 *   2. each leader connects to all of them at once (no name lookup),
 *      keeps the first connection made, sends the token and its node
 *      number over it, and tells rank 0 whether that worked;
 *   3. rank 0 accepts the connections (while the answers of round 2 come
 *      in), checks their tokens, and tells each leader whether its
 *      doorbell is in use. Both sides then agree on which nodes have one.
 * A connection that breaks later is closed on the side that notices; the
 * other side's ring or wait then fails or times out, and that node is
 * served by polling from then on.
 *
 * Rank 0's dispatcher sleeps on an epoll set (waitset.h) that holds the
 * local bell and every node's connection from setup until the connection
 * fails or dlp_finalize: a wake-up costs O(connections ready), not
 * O(nodes). The generic socket work is in socket.c. */
#define _GNU_SOURCE /* ppoll */
#include "netbell.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fdlimit.h"
#include "liveness.h"
#include "options.h"
#include "runtime.h"
#include "socket.h"
#include "tags.h"
#include "wait.h"
#include "waitset.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

enum { MODE_OFF, MODE_AUTO, MODE_TCP };
/* seconds a leader tries to connect; rank 0 waits as long again for the
 * connections of the leaders that said they connected */
#define CONNECT_SECONDS 1.0
#define HELLO_BYTES 12 /* token (8), node (4) */
#define MAX_ADDRS 16   /* addresses rank 0 listens on */
#define LISTEN_BACKLOG 4096 /* the kernel caps it (somaxconn); thousands of nodes connect at once */

struct bell_info {
    int count; /* addresses; 0: no doorbells */
    int mode;
    double liveness; /* DLP_LIVENESS_TIMEOUT (rank 0's), seconds, 0 = off */
    unsigned long long token;
    char host[MPI_MAX_PROCESSOR_NAME + 1]; /* rank 0's MPI processor name */
    struct dlp__sock_addr addr[MAX_ADDRS];
};

static int peer_count(void);

/* A leader's answer in round 2. */
struct bell_answer {
    int ok;                              /* it connected */
    char host[MPI_MAX_PROCESSOR_NAME + 1]; /* its MPI processor name */
};

/* What the liveness thread (liveness.h) knows of one connection. A
 * connection that fails is dropped by the dispatcher or agent (fd = -1)
 * but stays open until dlp__netbell_close, so that the liveness thread,
 * which uses its own copy (live), never reads a reused descriptor. */
struct bell_peer {
    int live;              /* the connection, -1 none; closed only at the end */
    int ended;             /* it was closed by the other side (liveness thread) */
    int error;             /* the errno that broke it, 0 none (liveness thread) */
    _Atomic double heard;  /* dlp__now() of its last byte */
};

static struct {
    int nodes;
    int *fd;         /* rank 0: [nodes] connection of node k's agent, -1 none */
    struct dlp__waitset set; /* rank 0: the local bell (tag 0) and every fd[k] (tag k) */
    int local;       /* rank 0: eventfd, main and liveness thread -> dispatcher */
    int master;      /* a leader: its connection to rank 0, -1 none */
    double liveness; /* rank 0's DLP_LIVENESS_TIMEOUT, 0 = off */
    struct bell_peer *peer; /* rank 0: [nodes]; a leader: [1], the master */
    char (*host)[MPI_MAX_PROCESSOR_NAME + 1]; /* rank 0: [nodes] each leader's host */
    _Atomic int agent_reads; /* a leader: its agent or main thread sleeps on the bell */
    struct dlp__fdlimit lim; /* rank 0: the open-file limit, as found and raised */
    long waits, read, read_out; /* rank 0's dispatcher, for DLP_STATS: waits on the set,
                                   connections read, of which of nodes out of the call */
} nb = {0, NULL, DLP__WAITSET_INIT, -1, -1, 0, NULL, NULL, 0, {0, -1, -1, -1, 0, 0}, 0, 0, 0};

/* Drop a connection that failed: no longer rung or read by the helpers;
 * closed by dlp__netbell_close (struct bell_peer). */
static void drop_fd(int *fd) { *fd = -1; }

static void watch_peer(struct bell_peer *p, int fd)
{
    p->live = fd;
    p->ended = 0;
    p->error = 0;
    atomic_store_explicit(&p->heard, dlp__now(), memory_order_relaxed);
}

/* DLP_LIVENESS_TIMEOUT (rank 0's): seconds, 0 = off; a bad value is
 * reported and the default used (dlp_init cannot fail on rank 0 alone). */
static double read_liveness(void)
{
    double t = DLP__LIVENESS_DEFAULT;
    if (dlp__liveness_timeout(&t) != 0)
        fprintf(stderr,
                "dlp_mpi: rank 0 (host %s): DLP_LIVENESS_TIMEOUT=\"%s\" is not 0 or a number "
                "of seconds in %g..%g; using %g\n",
                dlp__rt.host, getenv("DLP_LIVENESS_TIMEOUT"), DLP__LIVENESS_MIN,
                DLP__LIVENESS_MAX, t);
    return t;
}

static int read_mode(void)
{
    const char *env = getenv("DLP_NODE_DOORBELL");
    if (!env || !*env || strcmp(env, "auto") == 0)
        return MODE_AUTO;
    if (strcmp(env, "tcp") == 0)
        return MODE_TCP;
    if (strcmp(env, "off") == 0)
        return MODE_OFF;
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): DLP_NODE_DOORBELL=\"%s\" is not auto, tcp or off; "
            "using auto\n",
            dlp__rt.host, env);
    return MODE_AUTO;
}

static void warn(int mode, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(int mode, const char *fmt, ...)
{
    if (mode != MODE_TCP)
        return;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "dlp_mpi: rank %d (host %s): no node doorbell (DLP_NODE_DOORBELL=tcp): %s; this "
            "node is served by polling\n",
            dlp__rt.rank, dlp__rt.host, what);
}

/* Add a listening socket on address sa to lfd[] and its address to info
 * (nothing when the table is full or sa is not IPv4 or IPv6); 0, or -1 with
 * errno set. */
static int listen_on(const struct sockaddr *sa, struct bell_info *info, int *lfd)
{
    if (info->count >= MAX_ADDRS || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return 0;
    int fd = dlp__socket_listen(sa, LISTEN_BACKLOG, &info->addr[info->count]);
    if (fd < 0)
        return -1;
    lfd[info->count++] = fd;
    return 0;
}

/* Rank 0 listens on the addresses the leaders are told: those of
 * DLP_NODE_DOORBELL_HOST (resolved here, on rank 0 only), else those of
 * its network interfaces that are up (no name lookup at all; IPv6
 * link-local ones left out), the loopback ones last. 0, or -1 with the
 * reason in why. */
static int listen_told(struct bell_info *info, int *lfd, char *why, size_t size)
{
    char text[128];
    const char *env = getenv("DLP_NODE_DOORBELL_HOST");
    if (env && *env) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int g = getaddrinfo(env, NULL, &hints, &res);
        if (g != 0) {
            snprintf(why, size, "cannot resolve DLP_NODE_DOORBELL_HOST=%s: %s", env,
                     gai_strerror(g));
            return -1;
        }
        int err = 0;
        for (struct addrinfo *a = res; a; a = a->ai_next)
            if (listen_on(a->ai_addr, info, lfd) != 0)
                err = errno;
        freeaddrinfo(res);
        if (info->count == 0)
            snprintf(why, size, "cannot listen on DLP_NODE_DOORBELL_HOST=%s: %s", env,
                     dlp__errno_text(err ? err : EADDRNOTAVAIL, text, sizeof text));
        return info->count ? 0 : -1;
    }
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) {
        snprintf(why, size, "getifaddrs: %s", dlp__errno_text(errno, text, sizeof text));
        return -1;
    }
    int err = 0;
    for (int loop = 0; loop < 2; loop++)
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            const struct sockaddr *sa = i->ifa_addr;
            if (!sa || !(i->ifa_flags & IFF_UP) || !!(i->ifa_flags & IFF_LOOPBACK) != loop ||
                (sa->sa_family == AF_INET6 &&
                 IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)sa)->sin6_addr)))
                continue;
            if (listen_on(sa, info, lfd) != 0)
                err = errno;
        }
    freeifaddrs(ifs);
    if (info->count == 0)
        snprintf(why, size, "cannot listen on any address of this host: %s",
                 dlp__errno_text(err ? err : EADDRNOTAVAIL, text, sizeof text));
    return info->count ? 0 : -1;
}

static int ms_left(double deadline)
{
    double left = deadline - dlp__now();
    return left <= 0 ? 0 : (int)(1e3 * left) + 1;
}

/* A leader connects to rank 0, to every address it was told at once (the
 * loopback ones only on rank 0's own host), keeps the first connection
 * made, and says who it is over it; the connection or -1. No name lookup. */
static int connect_master(const struct bell_info *in, int mode)
{
    int fd[MAX_ADDRS], n = 0, err = EADDRNOTAVAIL, won = -1;
    memset(fd, -1, sizeof fd); /* all -1: no socket */
    struct pollfd p[MAX_ADDRS];
    int same_host = strcmp(in->host, dlp__rt.host) == 0;
    for (int i = 0; i < in->count && i < MAX_ADDRS; i++) {
        if (in->addr[i].loopback && !same_host)
            continue;
        int f = dlp__socket_connect_start(&in->addr[i]);
        if (f < 0)
            err = errno;
        else
            fd[n++] = f;
    }
    double deadline = dlp__now() + CONNECT_SECONDS;
    while (won < 0 && n > 0) {
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){fd[i], POLLOUT, 0};
        int r = poll(p, (nfds_t)n, ms_left(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = ETIMEDOUT;
            break;
        }
        for (int i = n - 1; i >= 0 && won < 0; i--) {
            if (!p[i].revents)
                continue;
            int e = 0;
            socklen_t len = sizeof e;
            if (getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0) {
                won = fd[i];
                fd[i] = fd[--n];
            } else {
                err = e ? e : errno;
                close(fd[i]);
                fd[i] = fd[--n];
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(fd[i]);
    char text[128];
    if (won < 0) {
        warn(mode, "cannot connect to the master on host %s (%d addresses): %s", in->host,
             in->count, dlp__errno_text(err, text, sizeof text));
        return -1;
    }
    dlp__socket_no_delay(won);
    unsigned char hello[HELLO_BYTES];
    int node = dlp__rt.node;
    memcpy(hello, &in->token, 8);
    memcpy(hello + 8, &node, 4);
    if (send(won, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
        warn(mode, "cannot greet the master on host %s: %s", in->host,
             dlp__errno_text(errno, text, sizeof text));
        close(won);
        return -1;
    }
    return won;
}

/* Connections rank 0 accepted whose greeting is not complete yet: read
 * as bytes arrive, never waiting for one, so a silent or foreign
 * connection costs nothing; with the table full one of them is dropped. */
#define MAX_PENDING 64

struct greeting {
    int fd;
    size_t got;
    unsigned char hello[HELLO_BYTES];
};

struct greetings {
    struct greeting g[MAX_PENDING];
    int n;
};

static void greeting_drop(struct greetings *G, int i)
{
    close(G->g[i].fd);
    G->g[i] = G->g[--G->n];
}

/* Accept what is waiting on lfd. */
static void greetings_accept(struct greetings *G, int lfd)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return;
        if (dlp__socket_flags(fd) != 0) {
            close(fd);
            continue;
        }
        if (G->n == MAX_PENDING)
            greeting_drop(G, 0);
        G->g[G->n++] = (struct greeting){fd, 0, {0}};
    }
}

/* Read greeting i (its socket is readable); the node it gave a doorbell,
 * 0 while incomplete, -1 when dropped. */
static int greeting_read(struct greetings *G, int i, unsigned long long token)
{
    struct greeting *g = &G->g[i];
    ssize_t r = recv(g->fd, g->hello + g->got, sizeof g->hello - g->got, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (r <= 0) {
        greeting_drop(G, i);
        return -1;
    }
    g->got += (size_t)r;
    if (g->got < sizeof g->hello)
        return 0;
    unsigned long long t;
    int node;
    memcpy(&t, g->hello, 8);
    memcpy(&node, g->hello + 8, 4);
    if (t != token || node <= 0 || node >= nb.nodes || nb.fd[node] >= 0) {
        greeting_drop(G, i);
        return -1;
    }
    dlp__socket_no_delay(g->fd);
    nb.fd[node] = g->fd;
    G->g[i] = G->g[--G->n];
    return node;
}

/* One look at the listening sockets and the pending greetings, waiting at
 * most 1 ms; the doorbells made. */
static int greetings_poll(struct greetings *G, const int *lfd, int nl, unsigned long long token)
{
    struct pollfd p[MAX_ADDRS + MAX_PENDING];
    for (int i = 0; i < nl; i++)
        p[i] = (struct pollfd){lfd[i], POLLIN, 0};
    int np = G->n;
    for (int i = 0; i < np; i++)
        p[nl + i] = (struct pollfd){G->g[i].fd, POLLIN, 0};
    if (poll(p, (nfds_t)nl + (nfds_t)np, 1) <= 0)
        return 0;
    int made = 0;
    for (int i = np - 1; i >= 0; i--) /* backwards: a drop moves the last one to i */
        if (p[nl + i].revents)
            made += greeting_read(G, i, token) > 0;
    for (int i = 0; i < nl; i++)
        if (p[i].revents)
            greetings_accept(G, lfd[i]);
    return made;
}

/* Test hook (internal, for tests/doorbell.sh): DLP__TEST_BELL_INTRUDERS=N
 * makes rank 0 open, before it tells the leaders, N silent connections to
 * each address it listens on, plus one that sends a wrong greeting; they
 * stay open until the setup ends. The doorbells must not suffer. */
static void intrude(const struct bell_info *info, int *fds, int cap, int *n)
{
    const char *env = getenv("DLP__TEST_BELL_INTRUDERS");
    int count = env ? (int)strtol(env, NULL, 10) : 0;
    for (int i = 0; i < info->count; i++)
        for (int c = 0; c <= count && *n < cap; c++) {
            int fd = dlp__socket_connect_start(&info->addr[i]);
            if (fd < 0)
                continue;
            fds[(*n)++] = fd;
            if (c == count) { /* a wrong token once connected (best effort) */
                struct pollfd p = {fd, POLLOUT, 0};
                static const char junk[HELLO_BYTES] = "GET / HTTP/";
                if (poll(&p, 1, 100) == 1)
                    (void)send(fd, junk, sizeof junk, MSG_NOSIGNAL);
            }
        }
}

/* Descriptors rank 0 needs beside one per doorbell: the local bell (an
 * eventfd) and the epoll set, the listening sockets and the greetings
 * pending at once. */
#define BELL_OVERHEAD (2 + MAX_ADDRS + MAX_PENDING)

/* How many remote nodes (1 .. nodes - 1) can have a doorbell under the
 * open-file limit, which is raised toward the hard limit when needed
 * (fdlimit.h). A raise is said under DLP_STATS; too low a hard limit is
 * said once, whatever the mode: the nodes beyond it are served by MPI
 * polling (correct, but their helpers wake more often), not refused, since
 * a doorbell is only a hint. */
static int bell_budget(int nodes)
{
    long want = (long)(nodes - 1) + BELL_OVERHEAD;
    long room = dlp__fdlimit_room(want, &nb.lim);
    const struct dlp__fdlimit *l = &nb.lim;
    char hard[32];
    if (l->hard < 0)
        snprintf(hard, sizeof hard, "unlimited");
    else
        snprintf(hard, sizeof hard, "%ld", l->hard);
    if (l->raised && dlp__env_flag("DLP_STATS"))
        fprintf(stderr,
                "dlp_mpi: rank 0 (host %s): raised the soft open-file limit (RLIMIT_NOFILE) "
                "from %ld to %ld (hard limit %s) for the doorbells of %d remote nodes\n",
                dlp__rt.host, l->soft, l->now, hard, nodes - 1);
    if (room >= want)
        return nodes - 1;
    long cap = room > BELL_OVERHEAD ? room - BELL_OVERHEAD : 0;
    char text[160] = "";
    if (l->err) {
        char why[128];
        snprintf(text, sizeof text, " (raising it failed: %s)",
                 dlp__errno_text(l->err, why, sizeof why));
    }
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): the open-file limit (RLIMIT_NOFILE: soft %ld, hard "
            "%s%s; %ld descriptors open) leaves room for node doorbells to %ld of the %d "
            "remote nodes; nodes %ld to %d are served by MPI polling instead (correct, but "
            "their helper threads wake more often). To give every node one, start the job "
            "with a limit of at least %ld (ulimit -n %ld, or ask for a higher hard limit), or "
            "set DLP_NODE_DOORBELL=off\n",
            dlp__rt.host, l->now, hard, text, l->open, cap, nodes - 1, cap + 1, nodes - 1,
            l->open + want + DLP__FDLIMIT_RESERVE, l->open + want + DLP__FDLIMIT_RESERVE);
    return (int)cap;
}

/* The master's local bell (an eventfd the main and liveness threads ring)
 * and the epoll set its dispatcher sleeps on (waitset.h), the bell in it
 * with tag 0; 0, or -1 when there can be no doorbells (said: an eventfd
 * under tcp, like any other missing piece; the epoll set always, since it
 * is not the network's doing). */
static int open_local(int mode, int nodes)
{
    char text[128];
    nb.local = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (nb.local < 0) {
        warn(mode, "cannot make an eventfd: %s", dlp__errno_text(errno, text, sizeof text));
        return -1;
    }
    const char *what = "epoll_create1";
    if (dlp__waitset_open(&nb.set) == 0) {
        what = "epoll_ctl ADD of the local bell";
        if (dlp__waitset_add(&nb.set, nb.local, 0) == 0)
            return 0;
    }
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): cannot make the epoll set the node doorbells are "
            "waited on (%s: %s); the %d remote nodes are served by MPI polling instead "
            "(correct, but their helper threads wake more often)\n",
            dlp__rt.host, what, dlp__errno_text(errno, text, sizeof text), nodes - 1);
    dlp__waitset_close(&nb.set);
    dlp__close_fd(&nb.local);
    return -1;
}

/* The nodes whose doorbell could not join the epoll set. */
struct unwatched {
    int count, first, err;
};

/* Put node k's connection into the dispatcher's epoll set: 0, or -1 (noted
 * in *u). Test hook (internal, for tests/netbell_epoll.sh):
 * DLP__TEST_BELL_EPOLL_FAIL=k makes node k's epoll_ctl fail (EBADF). */
static int watch_node(int k, struct unwatched *u)
{
    const char *hook = getenv("DLP__TEST_BELL_EPOLL_FAIL");
    int fd = hook && strtol(hook, NULL, 10) == k ? -1 : nb.fd[k];
    if (dlp__waitset_add(&nb.set, fd, k) == 0)
        return 0;
    if (u->count++ == 0) {
        u->first = k;
        u->err = errno;
    }
    return -1;
}

/* Say once which nodes lost their doorbell to the epoll set. */
static void say_unwatched(const struct unwatched *u)
{
    if (u->count == 0)
        return;
    char text[128], more[64] = "";
    if (u->count > 1)
        snprintf(more, sizeof more, " (and %d more nodes)", u->count - 1);
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): cannot add node %d's doorbell%s to the epoll set "
            "(epoll_ctl: %s); served by MPI polling instead (correct, but their helper "
            "threads wake more often)\n",
            dlp__rt.host, u->first, more, dlp__errno_text(u->err, text, sizeof text));
}

static int master_open(int mode)
{
    struct dlp__runtime *rt = &dlp__rt;
    int nodes = rt->nodes, lfd[MAX_ADDRS];
    memset(lfd, -1, sizeof lfd); /* all -1: no socket */
    struct bell_info info;
    memset(&info, 0, sizeof info);
    info.mode = mode;
    memcpy(info.host, rt->host, sizeof info.host);
    nb.fd = malloc(sizeof *nb.fd * (size_t)nodes);
    MPI_Request *req = malloc(sizeof *req * (size_t)nodes); /* [k - 1]: node k */
    struct bell_answer *ans = calloc((size_t)nodes, sizeof *ans);
    nb.peer = calloc((size_t)nodes, sizeof *nb.peer);
    nb.host = calloc((size_t)nodes, sizeof *nb.host);
    /* out of memory: the leaders still learn that there are no doorbells
     * (they wait for round 1), then dlp_init fails here */
    int nomem = !nb.fd || !req || !ans || !nb.peer || !nb.host;
    for (int k = 0; nb.fd && k < nodes; k++)
        nb.fd[k] = -1;
    for (int k = 0; nb.peer && k < nodes; k++)
        watch_peer(&nb.peer[k], -1);
    info.liveness = read_liveness();
    nb.liveness = info.liveness;
    int budget = mode != MODE_OFF && !nomem ? bell_budget(nodes) : 0;
    if (budget > 0) {
        char text[128], why[512];
        if (open_local(mode, nodes) != 0) {
            /* said there */
        } else if (listen_told(&info, lfd, why, sizeof why) != 0)
            warn(mode, "%s", why);
        else if (dlp__socket_token(&info.token) != 0) {
            warn(mode, "the kernel gives no random token (getentropy: %s)",
                 dlp__errno_text(errno, text, sizeof text));
            for (int i = 0; i < info.count; i++)
                close(lfd[i]);
            info.count = 0;
        }
    }
    int intruder[256], intruders = 0;
    if (getenv("DLP__TEST_BELL_INTRUDERS"))
        intrude(&info, intruder, 256, &intruders);
    struct greetings G;
    G.n = 0;
    int rc = DLP_OK;
    /* round 1: the nodes beyond the budget are told no address */
    struct bell_info none = info;
    none.count = 0;
    for (int k = 1; k < nodes && rc == DLP_OK; k++)
        rc = dlp__fail_mpi("dlp_init", "MPI_Send (node doorbell setup)",
                           MPI_Send(k <= budget ? &info : &none, (int)sizeof info, MPI_BYTE,
                                    rt->node_leader[k], DLP__TAG_BELL, rt->comm));
    if (info.count != 0 && rc == DLP_OK) {
        /* rounds 2 and 3 with the nodes told an address: accept while
         * their answers come in */
        for (int k = 1; k <= budget && rc == DLP_OK; k++)
            rc = dlp__fail_mpi("dlp_init", "MPI_Irecv (node doorbell setup)",
                               MPI_Irecv(&ans[k], (int)sizeof ans[k], MPI_BYTE,
                                         rt->node_leader[k], DLP__TAG_BELL, rt->comm,
                                         &req[k - 1]));
        int accepted = 0;
        double deadline = 0;
        while (rc == DLP_OK) {
            int all_in = 1;
            for (int k = 1; k <= budget && rc == DLP_OK; k++) {
                int flag = 0;
                rc = dlp__fail_mpi("dlp_init", "MPI_Test (node doorbell setup)",
                                   MPI_Test(&req[k - 1], &flag, MPI_STATUS_IGNORE));
                all_in &= flag;
            }
            int expected = 0;
            for (int k = 1; all_in && k <= budget; k++)
                expected += ans[k].ok != 0;
            if (all_in && deadline == 0)
                deadline = dlp__now() + CONNECT_SECONDS;
            if (rc != DLP_OK || (all_in && (accepted >= expected || dlp__now() > deadline)))
                break;
            accepted += greetings_poll(&G, lfd, info.count, info.token);
        }
        struct unwatched unwatched = {0, 0, 0};
        for (int k = 1; k <= budget && rc == DLP_OK; k++) {
            int use = nb.fd[k] >= 0 && ans[k].ok && watch_node(k, &unwatched) == 0;
            if (!use && nb.fd[k] >= 0) {
                close(nb.fd[k]);
                nb.fd[k] = -1;
            }
            watch_peer(&nb.peer[k], nb.fd[k]);
            memcpy(nb.host[k], ans[k].host, sizeof nb.host[k]);
            nb.host[k][sizeof nb.host[k] - 1] = '\0';
            if (!use && ans[k].ok && mode == MODE_TCP)
                fprintf(stderr,
                        "dlp_mpi: rank 0 (host %s): node %d's doorbell did not arrive "
                        "(DLP_NODE_DOORBELL=tcp); that node is served by polling\n",
                        rt->host, k);
            rc = dlp__fail_mpi("dlp_init", "MPI_Send (node doorbell setup)",
                               MPI_Send(&use, 1, MPI_INT, rt->node_leader[k], DLP__TAG_BELL,
                                        rt->comm));
        }
        say_unwatched(&unwatched);
    }
    for (int i = 0; i < info.count; i++)
        close(lfd[i]);
    while (G.n > 0)
        greeting_drop(&G, 0);
    for (int i = 0; i < intruders; i++)
        close(intruder[i]);
    if (dlp__netbell_count() == 0) { /* no node rings: nothing would read the bell */
        dlp__waitset_close(&nb.set);
        dlp__close_fd(&nb.local);
    }
    free(req);
    free(ans);
    if (nomem && rc == DLP_OK)
        return dlp__fail(DLP_ERR_NOMEM, "dlp_init", "node doorbell tables for %d nodes", nodes);
    return rc;
}

static int leader_open(void)
{
    struct dlp__runtime *rt = &dlp__rt;
    struct bell_info info;
    MPI_Request req;
    DLP_MPI_CALL(MPI_Irecv(&info, (int)sizeof info, MPI_BYTE, 0, DLP__TAG_BELL, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (info.count <= 0 || info.count > MAX_ADDRS)
        return DLP_OK;
    info.host[sizeof info.host - 1] = '\0';
    int fd = connect_master(&info, info.mode);
    struct bell_answer ans;
    memset(&ans, 0, sizeof ans);
    ans.ok = fd >= 0;
    memcpy(ans.host, rt->host, sizeof ans.host);
    int use = 0;
    DLP_MPI_CALL(MPI_Send(&ans, (int)sizeof ans, MPI_BYTE, 0, DLP__TAG_BELL, rt->comm));
    DLP_MPI_CALL(MPI_Irecv(&use, 1, MPI_INT, 0, DLP__TAG_BELL, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (use)
        nb.master = fd;
    else if (fd >= 0)
        close(fd);
    nb.peer = calloc(1, sizeof *nb.peer);
    nb.host = calloc(1, sizeof *nb.host);
    if (!nb.peer || !nb.host) { /* no liveness watch of the master: the doorbell works */
        free(nb.peer);
        nb.peer = NULL;
        return DLP_OK;
    }
    memcpy(nb.host[0], info.host, sizeof nb.host[0]);
    nb.liveness = info.liveness;
    watch_peer(nb.peer, nb.master);
    return DLP_OK;
}

int dlp__netbell_open(void)
{
    nb.nodes = dlp__rt.nodes;
    if (dlp__rt.nodes < 2)
        return DLP_OK;
    if (dlp__rt.rank == 0)
        return master_open(read_mode());
    if (dlp__rt.node_rank == 0)
        return leader_open();
    return DLP_OK;
}

void dlp__netbell_close(void)
{
    if (nb.waits > 0 && dlp__env_flag("DLP_STATS"))
        fprintf(stderr,
                "dlp_mpi: rank 0 (host %s): node doorbells: %ld waits on the epoll set, %ld "
                "connections read, %ld of them of nodes out of the running call\n",
                dlp__rt.host, nb.waits, nb.read, nb.read_out);
    nb.waits = nb.read = nb.read_out = 0;
    /* every connection: the dropped ones are open still (struct bell_peer) */
    for (int k = 0; k < peer_count(); k++) {
        if (nb.fd && nb.fd[k] == nb.peer[k].live)
            nb.fd[k] = -1;
        if (k == 0 && nb.master == nb.peer[0].live)
            nb.master = -1;
        dlp__close_fd(&nb.peer[k].live);
    }
    for (int k = 0; nb.fd && k < nb.nodes; k++)
        dlp__close_fd(&nb.fd[k]);
    dlp__close_fd(&nb.master);
    dlp__waitset_close(&nb.set);
    dlp__close_fd(&nb.local);
    free(nb.fd);
    free(nb.peer);
    free(nb.host);
    dlp__fdlimit_restore(&nb.lim);
    nb.lim.raised = 0;
    nb.fd = NULL;
    nb.peer = NULL;
    nb.host = NULL;
    nb.master = -1;
    nb.liveness = 0;
    nb.nodes = 0;
}

int dlp__netbell_has(int k)
{
    return nb.fd && k > 0 && k < nb.nodes && nb.fd[k] >= 0;
}

int dlp__netbell_count(void)
{
    int count = 0;
    for (int k = 1; nb.fd && k < nb.nodes; k++)
        count += nb.fd[k] >= 0;
    return count;
}

int dlp__netbell_agent_has(void) { return nb.master >= 0; }

/* The epoll set failed (what: the call, err: its errno): said once, and
 * every node is served by MPI polling from then on, as the nodes beyond
 * the open-file limit are; the dispatcher still sleeps on the local bell.
 * The connections stay watched by the liveness thread. Dispatcher (or the
 * main thread while none runs). */
static void set_failed(const char *what, int err)
{
    char text[128];
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): the epoll set the node doorbells are waited on "
            "failed (%s: %s); the %d nodes with a doorbell are served by MPI polling from "
            "now on (correct, but their helper threads wake more often)\n",
            dlp__rt.host, what, dlp__errno_text(err, text, sizeof text),
            dlp__netbell_count());
    dlp__waitset_close(&nb.set);
    for (int k = 0; nb.fd && k < nb.nodes; k++)
        drop_fd(&nb.fd[k]);
}

/* Rank 0: drop node k's connection, which failed: out of the epoll set,
 * no longer rung or read by the dispatcher (struct bell_peer). */
static void drop_node(int k)
{
    int fd = nb.fd[k];
    if (fd < 0)
        return;
    drop_fd(&nb.fd[k]);
    if (nb.set.epfd >= 0 && dlp__waitset_remove(&nb.set, fd) != 0)
        set_failed("epoll_ctl DEL", errno);
}

/* A heartbeat (liveness.h) is this byte; any other byte is a ring. */
#define BEAT_BYTE 'h'

/* A ring: 0, or -1 when the connection failed. */
static int ring(int fd)
{
    return fd >= 0 && dlp__socket_send_byte(fd, 'r') != 0 ? -1 : 0;
}

void dlp__netbell_ring_node(int k)
{
    if (dlp__netbell_has(k) && ring(nb.fd[k]) != 0)
        drop_node(k);
}

void dlp__netbell_ring_nodes(void)
{
    for (int k = 1; nb.fd && k < nb.nodes; k++)
        if (ring(nb.fd[k]) != 0)
            drop_node(k);
}

void dlp__netbell_ring_master(void)
{
    if (ring(nb.master) != 0)
        drop_fd(&nb.master);
}

void dlp__netbell_ring_local(void)
{
    uint64_t one = 1;
    if (nb.local >= 0 && write(nb.local, &one, sizeof one) < 0) {
        /* the counter is full (rings pending anyway) or closed: nothing to do */
    }
}

/* Read the local bell: reset its count. */
static void drain_local(void)
{
    uint64_t count;
    if (read(nb.local, &count, sizeof count) < 0) {
        /* not rung (EAGAIN): a ring taken by an earlier read */
    }
}

/* Read what is there; the rings read (heartbeats are not rings), or -1
 * when the peer is gone (errno: 0 for an orderly close). The bytes tell
 * that the peer lives (*heard). */
static long drain(int fd, _Atomic double *heard)
{
    char buf[256];
    long total = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0) {
            atomic_store_explicit(heard, dlp__now(), memory_order_relaxed);
            for (ssize_t i = 0; i < r; i++)
                total += buf[i] != BEAT_BYTE;
            continue;
        }
        if (r == 0)
            errno = 0;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return total;
        if (r < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static void sleep_on(struct pollfd *p, int n, unsigned timeout_us)
{
    struct timespec ts = {.tv_sec = timeout_us / 1000000u,
                          .tv_nsec = (long)(timeout_us % 1000000u) * 1000L};
    ppoll(p, (nfds_t)n, &ts, NULL);
}

/* Without the epoll set: sleep on the local bell alone. */
static void wait_local(unsigned timeout_us)
{
    if (nb.local < 0) {
        dlp__sleep_us(timeout_us);
        return;
    }
    struct pollfd p = {nb.local, POLLIN, 0};
    sleep_on(&p, 1, timeout_us);
    if (p.revents)
        drain_local();
}

/* Test hook (internal, for tests/netbell_epoll.sh):
 * DLP__TEST_BELL_EPOLL_FAIL=wait makes the dispatcher's wait on the epoll
 * set fail (EBADF) the first time. */
static int wait_fails(void)
{
    static _Atomic int failed;
    const char *hook = getenv("DLP__TEST_BELL_EPOLL_FAIL");
    if (!hook || strcmp(hook, "wait") != 0 || atomic_exchange(&failed, 1))
        return 0;
    errno = EBADF;
    return 1;
}

/* The master's wait costs O(ready connections): the connections sit in
 * the epoll set from dlp_init until they fail or dlp_finalize, whether
 * their node takes part in the running call or not. Those of nodes that
 * left the call (active[k] == 0: heartbeats, late rings) are read when
 * they speak, so that they do not stay ready, but they do not end the
 * sleep. */
long dlp__netbell_wait_master(const char *active, unsigned timeout_us)
{
    long rings = 0;
    double deadline = dlp__now() + 1e-6 * timeout_us;
    for (;;) {
        if (nb.set.epfd < 0) {
            wait_local(timeout_us);
            return rings;
        }
        int tags[DLP__WAITSET_MAX];
        int n = dlp__waitset_wait(&nb.set, tags, DLP__WAITSET_MAX, timeout_us);
        nb.waits++;
        if (n < 0 || wait_fails()) {
            set_failed("epoll wait", errno);
            continue;
        }
        int woke = n == 0; /* the timeout, or a signal */
        for (int i = 0; i < n; i++) {
            int k = tags[i];
            if (k == 0) {
                drain_local();
                woke = 1;
                continue;
            }
            if (k < 0 || k >= nb.nodes || nb.fd[k] < 0)
                continue; /* dropped since (a failed ring, or the set failed) */
            long r = drain(nb.fd[k], &nb.peer[k].heard);
            nb.read++;
            nb.read_out += !active[k];
            woke |= active[k] != 0;
            if (r < 0)
                drop_node(k);
            else if (active[k])
                rings += r;
        }
        double left = deadline - dlp__now();
        if (woke || left <= 0)
            return rings;
        timeout_us = (unsigned)(1e6 * left) + 1; /* only nodes out of the call spoke */
    }
}

long dlp__netbell_wait_agent(unsigned timeout_us)
{
    if (nb.master < 0) {
        dlp__sleep_us(timeout_us);
        return 0;
    }
    struct pollfd p = {nb.master, POLLIN, 0};
    /* the liveness thread leaves the bytes to this sleep meanwhile */
    atomic_store(&nb.agent_reads, 1);
    sleep_on(&p, 1, timeout_us);
    long r = p.revents ? drain(nb.master, &nb.peer[0].heard) : 0;
    atomic_store(&nb.agent_reads, 0);
    if (r < 0) {
        drop_fd(&nb.master);
        return 0;
    }
    return r;
}

/* ------------------------------------------------ liveness (liveness.h) -- */

/* The connections the liveness thread watches: rank 0's [nodes] (node 0,
 * its own, has none), a leader's [1] (the master). */
static int peer_count(void)
{
    if (!nb.peer)
        return 0;
    return dlp__rt.rank == 0 ? nb.nodes : 1;
}

double dlp__netbell_liveness(void)
{
    int watched = 0;
    for (int k = 0; k < peer_count(); k++)
        watched += nb.peer[k].live >= 0;
    return watched ? nb.liveness : 0;
}

void dlp__netbell_beat(void)
{
    for (int k = 0; k < peer_count(); k++) {
        struct bell_peer *p = &nb.peer[k];
        if (p->live >= 0 && !p->ended && !p->error &&
            dlp__socket_send_byte(p->live, BEAT_BYTE) != 0)
            p->error = errno;
    }
}

void dlp__netbell_listen(void)
{
    /* a leader's agent (or main thread) sleeping on the bell reads it
     * itself, and notes what it hears */
    if (dlp__rt.rank != 0 && atomic_load(&nb.agent_reads))
        return;
    long rings = 0;
    for (int k = 0; k < peer_count(); k++) {
        struct bell_peer *p = &nb.peer[k];
        if (p->live < 0 || p->ended || p->error)
            continue;
        long r = drain(p->live, &p->heard);
        if (r < 0 && errno == 0)
            p->ended = 1; /* the other side closed it: its dlp_finalize (or its
                             death, which the launcher handles) */
        else if (r < 0)
            p->error = errno;
        else
            rings += r;
    }
    /* rings taken from under the master's dispatcher: wake it (a leader's
     * agent or main thread finds its reply by its own safety net) */
    if (rings > 0 && dlp__rt.rank == 0)
        dlp__netbell_ring_local();
}

void dlp__netbell_heard_all(void)
{
    double now = dlp__now();
    for (int k = 0; k < peer_count(); k++)
        atomic_store_explicit(&nb.peer[k].heard, now, memory_order_relaxed);
}

int dlp__netbell_peer(int k, double *heard, int *error)
{
    if (k < 0 || k >= peer_count() || nb.peer[k].live < 0 || nb.peer[k].ended)
        return 0;
    *heard = atomic_load_explicit(&nb.peer[k].heard, memory_order_relaxed);
    *error = nb.peer[k].error;
    return 1;
}

const char *dlp__netbell_host(int k)
{
    return nb.host && k >= 0 && k < peer_count() && nb.host[k][0] ? nb.host[k] : "?";
}

int dlp__wait_end(MPI_Request *request)
{
    return dlp__wait_bell(request, dlp__netbell_agent_has() ? dlp__netbell_wait_agent : NULL);
}
