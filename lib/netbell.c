/* Doorbells across nodes (see netbell.h).
 *
 * Setup, in dlp_init, three rounds of point-to-point messages between
 * rank 0 and the other nodes' leaders (tag DLP__TAG_BELL):
 *   1. rank 0 listens on a TCP port of its own and sends each leader the
 *      port, its host name and a random token (port 0: no doorbells);
 *   2. each leader connects, sends the token and its node number over the
 *      connection, and tells rank 0 whether that worked;
 *   3. rank 0 accepts the connections (while the answers of round 2 come
 *      in), checks their tokens, and tells each leader whether its
 *      doorbell is in use. Both sides then agree on which nodes have one.
 * A connection that breaks later is closed on the side that notices; the
 * other side's ring or wait then fails or times out, and that node is
 * served by polling from then on. */
#define _GNU_SOURCE /* ppoll */
#include "netbell.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "loop.h"
#include "runtime.h"
#include "wait.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

enum { MODE_OFF, MODE_AUTO, MODE_TCP };
/* seconds a leader tries to connect; rank 0 waits as long again for the
 * connections of the leaders that said they connected */
#define CONNECT_SECONDS 1.0
#define HELLO_BYTES 12 /* token (8), node (4) */

struct bell_info {
    int port; /* 0: no doorbells */
    int mode;
    unsigned long long token;
    char host[256];
};

static struct {
    int nodes;
    int *fd;         /* rank 0: [nodes] connection of node k's agent, -1 none */
    struct pollfd *pfd; /* rank 0: [nodes] for ppoll */
    int *pfd_node;   /* node of each pfd entry (-1: the local pipe) */
    int local[2];    /* rank 0: pipe, main thread -> dispatcher */
    int master;      /* a leader: its connection to rank 0, -1 none */
} nb = {0, NULL, NULL, NULL, {-1, -1}, -1};

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    return fl < 0 || fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
                   fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0
               ? -1
               : 0;
}

static void no_delay(int fd)
{
    int one = 1; /* a ring is one byte: Nagle would hold it back */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
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

static unsigned long long random_token(void)
{
    unsigned long long t = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&t, sizeof t, 1, f) != 1) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        t = (unsigned long long)ts.tv_nsec * 6364136223846793005ULL ^
            (unsigned long long)ts.tv_sec ^ ((unsigned long long)getpid() << 32);
    }
    if (f)
        (void)fclose(f);
    return t;
}

/* A listening socket on any address, both IPv6 and IPv4 where possible. */
static int listen_any(int backlog, int *port)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd >= 0) {
        int off = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof a);
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_any;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, backlog) != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        if (fd >= 0 &&
            (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, backlog) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len = sizeof ss;
    if (fd >= 0 && (set_flags(fd) != 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static int ms_left(double deadline)
{
    double left = deadline - dlp__now();
    return left <= 0 ? 0 : (int)(1e3 * left) + 1;
}

/* A leader connects to rank 0 and says who it is; the connection or -1. */
static int connect_master(const struct bell_info *in, int mode)
{
    char service[16];
    snprintf(service, sizeof service, "%d", in->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(in->host, service, &hints, &res);
    if (g != 0) {
        warn(mode, "cannot resolve the master's host %s: %s", in->host, gai_strerror(g));
        return -1;
    }
    double deadline = dlp__now() + CONNECT_SECONDS;
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0 || set_flags(fd) != 0) {
            err = errno;
            if (fd >= 0)
                close(fd);
            fd = -1;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            err = errno;
            close(fd);
            fd = -1;
            continue;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        socklen_t len = sizeof err;
        err = ETIMEDOUT;
        if (poll(&p, 1, ms_left(deadline)) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        char text[128];
        warn(mode, "cannot connect to the master's host %s: %s", in->host,
             dlp__errno_text(err, text, sizeof text));
        return -1;
    }
    no_delay(fd);
    unsigned char hello[HELLO_BYTES];
    int node = dlp__rt.node;
    memcpy(hello, &in->token, 8);
    memcpy(hello + 8, &node, 4);
    if (send(fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
        char text[128];
        warn(mode, "cannot greet the master on host %s: %s", in->host,
             dlp__errno_text(errno, text, sizeof text));
        close(fd);
        return -1;
    }
    return fd;
}

/* Rank 0 accepts one connection and reads its greeting: its node, or -1. */
static int accept_node(int lfd, unsigned long long token)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return -1;
    unsigned char hello[HELLO_BYTES] = {0};
    size_t got = 0;
    double deadline = dlp__now() + CONNECT_SECONDS;
    if (set_flags(fd) != 0)
        got = (size_t)-1;
    while (got < sizeof hello) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms_left(deadline)) != 1)
            break;
        ssize_t r = recv(fd, hello + got, sizeof hello - got, 0);
        if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
            break;
        got += r > 0 ? (size_t)r : 0;
    }
    unsigned long long t;
    int node;
    memcpy(&t, hello, 8);
    memcpy(&node, hello + 8, 4);
    if (got != sizeof hello || t != token || node <= 0 || node >= nb.nodes || nb.fd[node] >= 0) {
        close(fd);
        return -1;
    }
    no_delay(fd);
    nb.fd[node] = fd;
    return node;
}

/* The name the leaders connect to: DLP_NODE_DOORBELL_HOST, or this host's
 * name. 0, or -1 (errno set) when gethostname fails. */
static int host_name(char *host, size_t size)
{
    const char *env = getenv("DLP_NODE_DOORBELL_HOST");
    if (env && *env) {
        if (strlen(env) < size) {
            memcpy(host, env, strlen(env) + 1);
            return 0;
        }
        fprintf(stderr,
                "dlp_mpi: rank 0 (host %s): DLP_NODE_DOORBELL_HOST is longer than %zu "
                "characters; using this host's name\n",
                dlp__rt.host, size - 1);
    }
    memset(host, 0, size);
    return gethostname(host, size - 1);
}

static int master_open(int mode)
{
    struct dlp__runtime *rt = &dlp__rt;
    int nodes = rt->nodes, lfd = -1;
    struct bell_info info;
    memset(&info, 0, sizeof info);
    info.mode = mode;
    nb.fd = malloc(sizeof *nb.fd * (size_t)nodes);
    nb.pfd = malloc(sizeof *nb.pfd * (size_t)nodes);
    nb.pfd_node = malloc(sizeof *nb.pfd_node * (size_t)nodes);
    MPI_Request *req = malloc(sizeof *req * (size_t)nodes); /* [k - 1]: node k */
    int *ok = calloc((size_t)nodes, sizeof *ok);
    /* out of memory: the leaders still learn that there are no doorbells
     * (they wait for round 1), then dlp_init fails here */
    int nomem = !nb.fd || !nb.pfd || !nb.pfd_node || !req || !ok;
    for (int k = 0; !nomem && k < nodes; k++)
        nb.fd[k] = -1;
    if (mode != MODE_OFF && !nomem) {
        char text[128];
        if (pipe(nb.local) != 0 || set_flags(nb.local[0]) != 0 || set_flags(nb.local[1]) != 0)
            warn(mode, "cannot make a pipe: %s", dlp__errno_text(errno, text, sizeof text));
        else if ((lfd = listen_any(nodes < 4096 ? nodes : 4096, &info.port)) < 0)
            warn(mode, "cannot listen on a TCP port: %s", dlp__errno_text(errno, text, sizeof text));
        else if (host_name(info.host, sizeof info.host) != 0)
            warn(mode, "gethostname: %s", dlp__errno_text(errno, text, sizeof text));
        else
            info.token = random_token();
        if (info.token == 0)
            info.port = 0;
    }
    int rc = DLP_OK;
    /* round 1 */
    for (int k = 1; k < nodes && rc == DLP_OK; k++)
        rc = dlp__fail_mpi("dlp_init", "MPI_Send (node doorbell setup)",
                           MPI_Send(&info, (int)sizeof info, MPI_BYTE, rt->node_leader[k],
                                    DLP__TAG_BELL, rt->comm));
    if (info.port != 0 && rc == DLP_OK) {
        /* rounds 2 and 3: accept while the leaders' answers come in */
        for (int k = 1; k < nodes && rc == DLP_OK; k++)
            rc = dlp__fail_mpi("dlp_init", "MPI_Irecv (node doorbell setup)",
                               MPI_Irecv(&ok[k], 1, MPI_INT, rt->node_leader[k], DLP__TAG_BELL,
                                         rt->comm, &req[k - 1]));
        int accepted = 0;
        double deadline = 0;
        while (rc == DLP_OK) {
            int all_in = 1;
            for (int k = 1; k < nodes && rc == DLP_OK; k++) {
                int flag = 0;
                rc = dlp__fail_mpi("dlp_init", "MPI_Test (node doorbell setup)",
                                   MPI_Test(&req[k - 1], &flag, MPI_STATUS_IGNORE));
                all_in &= flag;
            }
            int expected = 0;
            for (int k = 1; all_in && k < nodes; k++)
                expected += ok[k] != 0;
            if (all_in && deadline == 0)
                deadline = dlp__now() + CONNECT_SECONDS;
            if (rc != DLP_OK || (all_in && (accepted >= expected || dlp__now() > deadline)))
                break;
            struct pollfd p = {lfd, POLLIN, 0};
            if (poll(&p, 1, 1) == 1 && accept_node(lfd, info.token) > 0)
                accepted++;
        }
        for (int k = 1; k < nodes && rc == DLP_OK; k++) {
            int use = nb.fd[k] >= 0 && ok[k];
            if (!use && nb.fd[k] >= 0) {
                close(nb.fd[k]);
                nb.fd[k] = -1;
            }
            if (!use && ok[k] && mode == MODE_TCP)
                fprintf(stderr,
                        "dlp_mpi: rank 0 (host %s): node %d's doorbell did not arrive "
                        "(DLP_NODE_DOORBELL=tcp); that node is served by polling\n",
                        rt->host, k);
            rc = dlp__fail_mpi("dlp_init", "MPI_Send (node doorbell setup)",
                               MPI_Send(&use, 1, MPI_INT, rt->node_leader[k], DLP__TAG_BELL,
                                        rt->comm));
        }
    }
    if (lfd >= 0)
        close(lfd);
    if (dlp__netbell_count() == 0) { /* no node rings: nothing would read the pipe */
        close_fd(&nb.local[0]);
        close_fd(&nb.local[1]);
    }
    free(req);
    free(ok);
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
    if (info.port == 0)
        return DLP_OK;
    info.host[sizeof info.host - 1] = '\0';
    int fd = connect_master(&info, info.mode);
    int ok = fd >= 0, use = 0;
    DLP_MPI_CALL(MPI_Send(&ok, 1, MPI_INT, 0, DLP__TAG_BELL, rt->comm));
    DLP_MPI_CALL(MPI_Irecv(&use, 1, MPI_INT, 0, DLP__TAG_BELL, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (use)
        nb.master = fd;
    else if (fd >= 0)
        close(fd);
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
    for (int k = 0; nb.fd && k < nb.nodes; k++)
        close_fd(&nb.fd[k]);
    close_fd(&nb.local[0]);
    close_fd(&nb.local[1]);
    close_fd(&nb.master);
    free(nb.fd);
    free(nb.pfd);
    free(nb.pfd_node);
    nb.fd = NULL;
    nb.pfd = NULL;
    nb.pfd_node = NULL;
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

/* One byte, never blocking; a connection that fails is closed. */
static void ring(int *fd)
{
    static const char byte = 'r';
    if (*fd < 0)
        return;
    ssize_t r = send(*fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        close_fd(fd);
}

void dlp__netbell_ring_node(int k)
{
    if (dlp__netbell_has(k))
        ring(&nb.fd[k]);
}

void dlp__netbell_ring_nodes(void)
{
    for (int k = 1; nb.fd && k < nb.nodes; k++)
        ring(&nb.fd[k]);
}

void dlp__netbell_ring_master(void) { ring(&nb.master); }

void dlp__netbell_ring_local(void)
{
    static const char byte = 'l';
    if (nb.local[1] >= 0 && write(nb.local[1], &byte, 1) < 0) {
        /* full (rings pending anyway) or closed: nothing to do */
    }
}

/* Read what is there; the bytes read, or -1 when the peer is gone. */
static long drain(int fd, int is_socket)
{
    char buf[256];
    long total = 0;
    for (;;) {
        ssize_t r = is_socket ? recv(fd, buf, sizeof buf, MSG_DONTWAIT) : read(fd, buf, sizeof buf);
        if (r > 0) {
            total += r;
            continue;
        }
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

long dlp__netbell_wait_master(const char *active, unsigned timeout_us)
{
    int n = 0;
    if (nb.local[0] >= 0) {
        nb.pfd[n] = (struct pollfd){nb.local[0], POLLIN, 0};
        nb.pfd_node[n++] = -1;
    }
    for (int k = 1; k < nb.nodes && n < nb.nodes; k++)
        if (active[k] && nb.fd[k] >= 0) {
            nb.pfd[n] = (struct pollfd){nb.fd[k], POLLIN, 0};
            nb.pfd_node[n++] = k;
        }
    if (n == 0) {
        dlp__sleep_us(timeout_us);
        return 0;
    }
    sleep_on(nb.pfd, n, timeout_us);
    long rings = 0;
    for (int i = 0; i < n; i++) {
        if (!nb.pfd[i].revents)
            continue;
        int k = nb.pfd_node[i];
        long r = drain(nb.pfd[i].fd, k >= 0);
        if (k < 0)
            continue;
        if (r < 0) {
            close_fd(&nb.fd[k]);
            continue;
        }
        rings += r;
    }
    return rings;
}

long dlp__netbell_wait_agent(unsigned timeout_us)
{
    if (nb.master < 0) {
        dlp__sleep_us(timeout_us);
        return 0;
    }
    struct pollfd p = {nb.master, POLLIN, 0};
    sleep_on(&p, 1, timeout_us);
    if (!p.revents)
        return 0;
    long r = drain(nb.master, 1);
    if (r < 0) {
        close_fd(&nb.master);
        return 0;
    }
    return r;
}
