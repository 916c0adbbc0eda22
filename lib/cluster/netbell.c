/* Doorbells across nodes (see netbell.h): the running part, from the end
 * of dlp_init to dlp_finalize. The set-up is in netbell_setup.c; both
 * share the table of connections of netbell_state.h.
 *
 * A connection that breaks is closed on the side that notices; the other
 * side's ring or wait then fails or times out, and that node is served by
 * polling from then on.
 *
 * Rank 0's dispatcher sleeps on an epoll set (waitset.h) that holds the
 * local bell and every node's connection from setup until the connection
 * fails or dlp_finalize: a wake-up costs O(connections ready), not
 * O(nodes). The generic socket work is in socket.c. */
#define _GNU_SOURCE /* ppoll */
#include "netbell.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "fdlimit.h"
#include "netbell_state.h"
#include "options.h"
#include "runtime.h"
#include "socket.h"
#include "wait.h"
#include "waitset.h"

/* Drop a connection that failed: no longer rung or read by the helpers;
 * closed by dlp__netbell_close (struct dlp__bell_peer). */
static void drop_fd(int *fd) { *fd = -1; }

void dlp__netbell_close(void)
{
    if (dlp__nb.waits > 0 && dlp__env_flag("DLP_STATS"))
        fprintf(stderr,
                "dlp_mpi: rank 0 (host %s): node doorbells: %ld waits on the epoll set, %ld "
                "connections read, %ld of them of nodes out of the running call\n",
                dlp__rt.host, dlp__nb.waits, dlp__nb.read, dlp__nb.read_out);
    dlp__nb.waits = dlp__nb.read = dlp__nb.read_out = 0;
    /* every connection: the dropped ones are open still (struct dlp__bell_peer) */
    for (int k = 0; k < dlp__netbell_peer_count(); k++) {
        if (dlp__nb.fd && dlp__nb.fd[k] == dlp__nb.peer[k].live)
            dlp__nb.fd[k] = -1;
        if (k == 0 && dlp__nb.master == dlp__nb.peer[0].live)
            dlp__nb.master = -1;
        dlp__close_fd(&dlp__nb.peer[k].live);
    }
    for (int k = 0; dlp__nb.fd && k < dlp__nb.nodes; k++)
        dlp__close_fd(&dlp__nb.fd[k]);
    dlp__close_fd(&dlp__nb.master);
    dlp__waitset_close(&dlp__nb.set);
    dlp__close_fd(&dlp__nb.local);
    free(dlp__nb.fd);
    free(dlp__nb.peer);
    free(dlp__nb.host);
    dlp__fdlimit_restore(&dlp__nb.lim);
    dlp__nb.lim.raised = 0;
    dlp__nb.fd = NULL;
    dlp__nb.peer = NULL;
    dlp__nb.host = NULL;
    dlp__nb.master = -1;
    dlp__nb.liveness = 0;
    dlp__nb.nodes = 0;
}

int dlp__netbell_has(int k)
{
    return dlp__nb.fd && k > 0 && k < dlp__nb.nodes && dlp__nb.fd[k] >= 0;
}

int dlp__netbell_count(void)
{
    int count = 0;
    for (int k = 1; dlp__nb.fd && k < dlp__nb.nodes; k++)
        count += dlp__nb.fd[k] >= 0;
    return count;
}

int dlp__netbell_agent_has(void) { return dlp__nb.master >= 0; }

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
    dlp__waitset_close(&dlp__nb.set);
    for (int k = 0; dlp__nb.fd && k < dlp__nb.nodes; k++)
        drop_fd(&dlp__nb.fd[k]);
}

/* Rank 0: drop node k's connection, which failed: out of the epoll set,
 * no longer rung or read by the dispatcher (struct dlp__bell_peer). */
static void drop_node(int k)
{
    int fd = dlp__nb.fd[k];
    if (fd < 0)
        return;
    drop_fd(&dlp__nb.fd[k]);
    if (dlp__nb.set.epfd >= 0 && dlp__waitset_remove(&dlp__nb.set, fd) != 0)
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
    if (dlp__netbell_has(k) && ring(dlp__nb.fd[k]) != 0)
        drop_node(k);
}

void dlp__netbell_ring_nodes(void)
{
    for (int k = 1; dlp__nb.fd && k < dlp__nb.nodes; k++)
        if (ring(dlp__nb.fd[k]) != 0)
            drop_node(k);
}

void dlp__netbell_ring_master(void)
{
    if (ring(dlp__nb.master) != 0)
        drop_fd(&dlp__nb.master);
}

void dlp__netbell_ring_local(void)
{
    uint64_t one = 1;
    if (dlp__nb.local >= 0 && write(dlp__nb.local, &one, sizeof one) < 0) {
        /* the counter is full (rings pending anyway) or closed: nothing to do */
    }
}

/* Read the local bell: reset its count. */
static void drain_local(void)
{
    uint64_t count;
    if (read(dlp__nb.local, &count, sizeof count) < 0) {
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
            if ((size_t)r < sizeof buf)
                return total; /* all there was: no read to see EAGAIN (the
                                 waits are level-triggered, a later byte or
                                 the close wakes them again) */
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
    if (dlp__nb.local < 0) {
        dlp__sleep_us(timeout_us);
        return;
    }
    struct pollfd p = {dlp__nb.local, POLLIN, 0};
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
        if (dlp__nb.set.epfd < 0) {
            wait_local(timeout_us);
            return rings;
        }
        int tags[DLP__WAITSET_MAX];
        int n = dlp__waitset_wait(&dlp__nb.set, tags, DLP__WAITSET_MAX, timeout_us);
        dlp__nb.waits++;
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
            if (k < 0 || k >= dlp__nb.nodes || dlp__nb.fd[k] < 0)
                continue; /* dropped since (a failed ring, or the set failed) */
            int in_call = !active || active[k];
            long r = drain(dlp__nb.fd[k], &dlp__nb.peer[k].heard);
            dlp__nb.read++;
            dlp__nb.read_out += !in_call;
            woke |= in_call;
            if (r < 0)
                drop_node(k);
            else if (in_call)
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
    if (dlp__nb.master < 0) {
        dlp__sleep_us(timeout_us);
        return 0;
    }
    struct pollfd p = {dlp__nb.master, POLLIN, 0};
    /* the liveness thread leaves the bytes to this sleep meanwhile */
    atomic_store(&dlp__nb.agent_reads, 1);
    sleep_on(&p, 1, timeout_us);
    long r = p.revents ? drain(dlp__nb.master, &dlp__nb.peer[0].heard) : 0;
    atomic_store(&dlp__nb.agent_reads, 0);
    if (r < 0) {
        drop_fd(&dlp__nb.master);
        return 0;
    }
    return r;
}

/* ------------------------------------------------ liveness (liveness.h) -- */

double dlp__netbell_liveness(void)
{
    int watched = 0;
    for (int k = 0; k < dlp__netbell_peer_count(); k++)
        watched += dlp__nb.peer[k].live >= 0;
    return watched ? dlp__nb.liveness : 0;
}

void dlp__netbell_beat(void)
{
    for (int k = 0; k < dlp__netbell_peer_count(); k++) {
        struct dlp__bell_peer *p = &dlp__nb.peer[k];
        if (p->live >= 0 && !p->ended && !p->error &&
            dlp__socket_send_byte(p->live, BEAT_BYTE) != 0)
            p->error = errno;
    }
}

void dlp__netbell_listen(void)
{
    /* a leader's agent (or main thread) sleeping on the bell reads it
     * itself, and notes what it hears */
    if (dlp__rt.rank != 0 && atomic_load(&dlp__nb.agent_reads))
        return;
    long rings = 0;
    for (int k = 0; k < dlp__netbell_peer_count(); k++) {
        struct dlp__bell_peer *p = &dlp__nb.peer[k];
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
    for (int k = 0; k < dlp__netbell_peer_count(); k++)
        atomic_store_explicit(&dlp__nb.peer[k].heard, now, memory_order_relaxed);
}

int dlp__netbell_peer(int k, double *heard, int *error)
{
    if (k < 0 || k >= dlp__netbell_peer_count() || dlp__nb.peer[k].live < 0 ||
        dlp__nb.peer[k].ended)
        return 0;
    *heard = atomic_load_explicit(&dlp__nb.peer[k].heard, memory_order_relaxed);
    *error = dlp__nb.peer[k].error;
    return 1;
}

const char *dlp__netbell_host(int k)
{
    const struct dlp__netbell *nb = &dlp__nb;
    return nb->host && k >= 0 && k < dlp__netbell_peer_count() && nb->host[k][0] ? nb->host[k]
                                                                                 : "?";
}

/* The master at the end: asleep until a node's leader rings (any node). */
static long wait_master_any(unsigned timeout_us)
{
    return dlp__netbell_wait_master(NULL, timeout_us);
}

/* The next dlp__wait_end() rings the master (dlp__netbell_ring_at_end). */
static int ring_at_end;

void dlp__netbell_ring_at_end(void) { ring_at_end = 1; }

int dlp__wait_end(dlp__test_fn *test, void *op)
{
    if (dlp__netbell_agent_has()) {
        if (ring_at_end) /* the master waits for this rank, likely */
            dlp__netbell_ring_master();
        ring_at_end = 0;
        return dlp__wait_bell(test, op, dlp__netbell_wait_agent);
    }
    if (dlp__rt.rank == 0 && dlp__netbell_count() > 0)
        return dlp__wait_bell(test, op, wait_master_any);
    return dlp__wait_bell(test, op, NULL);
}
