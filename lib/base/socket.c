/* Socket helpers (see socket.h). */
#include "socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

int dlp__socket_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    return fl < 0 || fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
                   fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0
               ? -1
               : 0;
}

void dlp__socket_no_delay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void dlp__close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int dlp__socket_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    return sa->sa_family == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

int dlp__socket_token(unsigned long long *token)
{
    return getentropy(token, sizeof *token) == 0 ? 0 : -1;
}

int dlp__socket_send_byte(int fd, char byte)
{
    ssize_t r = send(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    return r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR ? -1 : 0;
}

/* Close fd keeping errno; -1. */
static int fail_closing(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int dlp__socket_listen(const struct sockaddr *sa, int backlog, struct dlp__sock_addr *out)
{
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                             : sizeof(struct sockaddr_in6);
    memcpy(&ss, sa, len);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0 ||
        dlp__socket_flags(fd) != 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return fail_closing(fd);
    memset(out, 0, sizeof *out);
    out->family = ss.ss_family;
    out->loopback = dlp__socket_is_loopback(sa);
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        out->port = ntohs(in->sin_port);
        memcpy(out->addr, &in->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)&ss;
        out->port = ntohs(in->sin6_port);
        out->scope = in->sin6_scope_id;
        memcpy(out->addr, &in->sin6_addr, 16);
    }
    return fd;
}

int dlp__socket_connect_start(const struct dlp__sock_addr *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)a->port);
        memcpy(&in->sin_addr, a->addr, 4);
        len = sizeof *in;
    } else if (a->family == AF_INET6) {
        struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
        in->sin6_family = AF_INET6;
        in->sin6_port = htons((unsigned short)a->port);
        in->sin6_scope_id = a->scope;
        memcpy(&in->sin6_addr, a->addr, 16);
        len = sizeof *in;
    } else {
        errno = EAFNOSUPPORT;
        return -1;
    }
    int fd = socket(a->family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (dlp__socket_flags(fd) != 0 ||
        (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS))
        return fail_closing(fd);
    return fd;
}
