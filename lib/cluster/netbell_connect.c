/* The TCP part of the node doorbells' set-up (see netbell_connect.h). */
#define _GNU_SOURCE /* IFF_UP, IFF_LOOPBACK of net/if.h */
#include "netbell_connect.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "runtime.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define LISTEN_BACKLOG 4096 /* the kernel caps it (somaxconn); thousands of nodes connect at once */

void dlp__netbell_warn(int mode, const char *fmt, ...)
{
    if (mode != DLP__BELL_TCP)
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
static int listen_on(const struct sockaddr *sa, struct dlp__bell_info *info, int *lfd)
{
    if (info->count >= DLP__BELL_MAX_ADDRS ||
        (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return 0;
    int fd = dlp__socket_listen(sa, LISTEN_BACKLOG, &info->addr[info->count]);
    if (fd < 0)
        return -1;
    lfd[info->count++] = fd;
    return 0;
}

int dlp__netbell_listen_told(struct dlp__bell_info *info, int *lfd, char *why, size_t size)
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

/* A leader says who it is over its new connection fd: the token and its
 * node number. fd, or -1 (fd closed). */
static int greet(int fd, const struct dlp__bell_info *in, int mode)
{
    dlp__socket_no_delay(fd);
    unsigned char hello[DLP__BELL_HELLO_BYTES];
    int node = dlp__rt.node;
    memcpy(hello, &in->token, 8);
    memcpy(hello + 8, &node, 4);
    if (send(fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
        char text[128];
        dlp__netbell_warn(mode, "cannot greet the master on host %s: %s", in->host,
                          dlp__errno_text(errno, text, sizeof text));
        close(fd);
        return -1;
    }
    return fd;
}

int dlp__netbell_connect(const struct dlp__bell_info *in, int mode)
{
    int fd[DLP__BELL_MAX_ADDRS], n = 0, err = EADDRNOTAVAIL, won = -1;
    memset(fd, -1, sizeof fd); /* all -1: no socket */
    struct pollfd p[DLP__BELL_MAX_ADDRS];
    int same_host = strcmp(in->host, dlp__rt.host) == 0;
    for (int i = 0; i < in->count && i < DLP__BELL_MAX_ADDRS; i++) {
        if (in->addr[i].loopback && !same_host)
            continue;
        int f = dlp__socket_connect_start(&in->addr[i]);
        if (f < 0)
            err = errno;
        else
            fd[n++] = f;
    }
    double deadline = dlp__now() + DLP__BELL_CONNECT_SECONDS;
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
    if (won < 0) {
        char text[128];
        dlp__netbell_warn(mode, "cannot connect to the master on host %s (%d addresses): %s",
                          in->host, in->count, dlp__errno_text(err, text, sizeof text));
        return -1;
    }
    return greet(won, in, mode);
}

/* Take greeting i out of the table, keeping the others in the order they
 * were accepted. */
static void greeting_remove(struct dlp__bell_greetings *G, int i)
{
    memmove(&G->g[i], &G->g[i + 1], sizeof G->g[0] * (size_t)(G->n - i - 1));
    G->n--;
}

static void greeting_drop(struct dlp__bell_greetings *G, int i)
{
    close(G->g[i].fd);
    greeting_remove(G, i);
}

/* The table's size: DLP__BELL_MAX_PENDING, or the test hook's. */
static int pending_cap(void)
{
    static int cap;
    if (cap == 0) {
        const char *hook = getenv("DLP__TEST_BELL_PENDING");
        long n = hook ? strtol(hook, NULL, 10) : 0;
        cap = n >= 1 && n <= DLP__BELL_MAX_PENDING ? (int)n : DLP__BELL_MAX_PENDING;
    }
    return cap;
}

/* Room for one more greeting: the table is not full, or its oldest one
 * (entries are kept in the order accepted, see greeting_done) has been
 * silent long enough to be dropped (then it is). */
static int greetings_room(struct dlp__bell_greetings *G, int drop)
{
    if (G->n < pending_cap())
        return 1;
    if (dlp__now() - G->g[0].since < DLP__BELL_PATIENCE)
        return 0;
    if (drop)
        greeting_drop(G, 0);
    return 1;
}

/* Accept what is waiting on lfd while there is room; the rest waits in the
 * kernel's queue. */
static void greetings_accept(struct dlp__bell_greetings *G, int lfd)
{
    while (greetings_room(G, 1)) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return;
        if (dlp__socket_flags(fd) != 0) {
            close(fd);
            continue;
        }
        G->g[G->n++] = (struct dlp__bell_greeting){fd, dlp__now(), 0, {0}};
    }
}

/* Read greeting i (its socket is readable); the node it gave a doorbell
 * (fd[node]), 0 while incomplete, -1 when dropped. */
static int greeting_read(struct dlp__bell_greetings *G, int i, unsigned long long token, int *fd,
                         int nodes)
{
    struct dlp__bell_greeting *g = &G->g[i];
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
    if (t != token || node <= 0 || node >= nodes || fd[node] >= 0) {
        greeting_drop(G, i);
        return -1;
    }
    dlp__socket_no_delay(g->fd);
    fd[node] = g->fd;
    greeting_remove(G, i);
    return node;
}

int dlp__netbell_greetings_poll(struct dlp__bell_greetings *G, const int *lfd, int nl,
                                unsigned long long token, int *fd, int nodes)
{
    struct pollfd p[DLP__BELL_MAX_ADDRS + DLP__BELL_MAX_PENDING];
    /* the listening sockets only while a connection can be taken (else
     * poll would return at once for them, again and again) */
    if (!greetings_room(G, 0))
        nl = 0;
    for (int i = 0; i < nl; i++)
        p[i] = (struct pollfd){lfd[i], POLLIN, 0};
    int np = G->n;
    for (int i = 0; i < np; i++)
        p[nl + i] = (struct pollfd){G->g[i].fd, POLLIN, 0};
    if (poll(p, (nfds_t)nl + (nfds_t)np, 1) <= 0)
        return 0;
    int made = 0;
    for (int i = np - 1; i >= 0; i--) /* backwards: a removal moves the later ones */
        if (p[nl + i].revents)
            made += greeting_read(G, i, token, fd, nodes) > 0;
    for (int i = 0; i < nl; i++)
        if (p[i].revents)
            greetings_accept(G, lfd[i]);
    return made;
}

void dlp__netbell_greetings_close(struct dlp__bell_greetings *G)
{
    while (G->n > 0)
        greeting_drop(G, 0);
}

void dlp__netbell_intrude(const struct dlp__bell_info *info, int *fds, int cap, int *n)
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
                static const char junk[DLP__BELL_HELLO_BYTES] = "GET / HTTP/";
                if (poll(&p, 1, 100) == 1)
                    (void)send(fd, junk, sizeof junk, MSG_NOSIGNAL);
            }
        }
}

