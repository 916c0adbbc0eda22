/* Socket helpers (socket.c): what the node doorbells (netbell.c) need of
 * TCP that is not their protocol. Non-blocking, close-on-exec sockets, a
 * listening socket on an address, a connection started toward one, an
 * address as plain bytes that can travel in an MPI message, a one-byte
 * send that never blocks, and a random token. No MPI, no runtime state;
 * every function may be called from any thread. */
#ifndef DLP_LIB_SOCKET_H
#define DLP_LIB_SOCKET_H

#include <sys/socket.h>

/** An IPv4 or IPv6 address and port as plain bytes (no pointers): sent as
 *  is to the other nodes. */
struct dlp__sock_addr {
    int family;          /* AF_INET, AF_INET6 */
    int port;
    int loopback;        /* 127/8 or ::1: reachable from its own host only */
    unsigned scope;      /* IPv6 scope id */
    unsigned char addr[16];
};

/** Make fd non-blocking and close-on-exec: 0, or -1 with errno set. */
int dlp__socket_flags(int fd);

/** Turn Nagle's algorithm off on a TCP socket (a ring is one byte that
 *  must go at once); best effort. */
void dlp__socket_no_delay(int fd);

/** Close *fd if open (>= 0) and set it to -1. */
void dlp__close_fd(int *fd);

/** Is sa a loopback address (127/8, ::1)? */
int dlp__socket_is_loopback(const struct sockaddr *sa);

/** A random token from the kernel (getentropy): 0, or -1 with errno set
 *  when it has none to give. */
int dlp__socket_token(unsigned long long *token);

/** Send one byte without blocking: 0 when sent or when the socket's
 *  buffer is full (EAGAIN, EINTR: the peer has bytes to read anyway), -1
 *  with errno set when the connection failed. Never raises SIGPIPE. */
int dlp__socket_send_byte(int fd, char byte);

/** A non-blocking TCP socket listening on sa's address, on a free port
 *  (sa's port is ignored), with the given backlog; *out gets its address
 *  and port. The socket, or -1 with errno set (EAFNOSUPPORT for a family
 *  other than IPv4 and IPv6). IPv6 sockets are IPv6 only. */
int dlp__socket_listen(const struct sockaddr *sa, int backlog, struct dlp__sock_addr *out);

/** Start a non-blocking TCP connection to a: the socket (connected or
 *  connecting: wait for POLLOUT, then read SO_ERROR), or -1 with errno
 *  set. */
int dlp__socket_connect_start(const struct dlp__sock_addr *a);

#endif
