/* The node doorbells' set-up (see netbell.h), in dlp_init: three rounds
 * of point-to-point messages between rank 0 and the other nodes' leaders
 * (tag DLP__TAG_BELL):
 *   1. rank 0 listens on a TCP port on each address the leaders may use
 *      (dlp__netbell_listen_told) and sends each leader those addresses
 *      and ports, its processor name and a random token (no address: no
 *      doorbells);
 *   2. each leader connects to all of them at once (no name lookup),
 *      keeps the first connection made, sends the token and its node
 *      number over it, and tells rank 0 whether that worked;
 *   3. rank 0 accepts the connections (while the answers of round 2 come
 *      in), checks their tokens, and tells each leader whether its
 *      doorbell is in use. Both sides then agree on which nodes have one.
 * The sockets of rounds 1 and 2 are in netbell_connect.c; what the set-up
 * makes (the connections, rank 0's epoll set) is netbell_state.h's table,
 * which the running part (netbell.c) uses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "error.h"
#include "fdlimit.h"
#include "netbell.h"
#include "netbell_connect.h"
#include "netbell_state.h"
#include "options.h"
#include "runtime.h"
#include "socket.h"
#include "tags.h"
#include "wait.h"
#include "waitset.h"

/* A leader's answer in round 2. */
struct bell_answer {
    int ok;                              /* it connected */
    char host[MPI_MAX_PROCESSOR_NAME + 1]; /* its MPI processor name */
};

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
        return DLP__BELL_AUTO;
    if (strcmp(env, "tcp") == 0)
        return DLP__BELL_TCP;
    if (strcmp(env, "off") == 0)
        return DLP__BELL_OFF;
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): DLP_NODE_DOORBELL=\"%s\" is not auto, tcp or off; "
            "using auto\n",
            dlp__rt.host, env);
    return DLP__BELL_AUTO;
}

/* Descriptors rank 0 needs beside one per doorbell: the local bell (an
 * eventfd) and the epoll set, the listening sockets and the greetings
 * pending at once. */
#define BELL_OVERHEAD (2 + DLP__BELL_MAX_ADDRS + DLP__BELL_MAX_PENDING)

/* How many remote nodes (1 .. nodes - 1) can have a doorbell under the
 * open-file limit, which is raised toward the hard limit when needed
 * (fdlimit.h). A raise is said under DLP_STATS; too low a hard limit is
 * said once, whatever the mode: the nodes beyond it are served by MPI
 * polling (correct, but their helpers wake more often), not refused, since
 * a doorbell is only a hint. */
static int bell_budget(int nodes)
{
    long want = (long)(nodes - 1) + BELL_OVERHEAD;
    long room = dlp__fdlimit_room(want, &dlp__nb.lim);
    const struct dlp__fdlimit *l = &dlp__nb.lim;
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
    dlp__nb.local = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (dlp__nb.local < 0) {
        dlp__netbell_warn(mode, "cannot make an eventfd: %s",
                          dlp__errno_text(errno, text, sizeof text));
        return -1;
    }
    const char *what = "epoll_create1";
    if (dlp__waitset_open(&dlp__nb.set) == 0) {
        what = "epoll_ctl ADD of the local bell";
        if (dlp__waitset_add(&dlp__nb.set, dlp__nb.local, 0) == 0)
            return 0;
    }
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): cannot make the epoll set the node doorbells are "
            "waited on (%s: %s); the %d remote nodes are served by MPI polling instead "
            "(correct, but their helper threads wake more often)\n",
            dlp__rt.host, what, dlp__errno_text(errno, text, sizeof text), nodes - 1);
    dlp__waitset_close(&dlp__nb.set);
    dlp__close_fd(&dlp__nb.local);
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
    int fd = hook && strtol(hook, NULL, 10) == k ? -1 : dlp__nb.fd[k];
    if (dlp__waitset_add(&dlp__nb.set, fd, k) == 0)
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

/* Most test intruders (dlp__netbell_intrude) rank 0 keeps open. */
#define INTRUDERS_MAX 256

/* Rank 0's side of the set-up, in the steps of master_open. */
struct master_setup {
    int mode, nodes;
    int nomem;  /* a table could not be had: no doorbells, dlp_init fails */
    int budget; /* nodes 1 .. budget may have a doorbell (bell_budget) */
    struct dlp__bell_info info; /* what round 1 tells them */
    int lfd[DLP__BELL_MAX_ADDRS]; /* listening sockets, info.count of them */
    MPI_Request *req;           /* [k - 1]: node k's answer of round 2 */
    struct bell_answer *ans;    /* [k]: node k's answer */
    struct dlp__bell_greetings G;
    int intruder[INTRUDERS_MAX], intruders;
};

/* The tables, every node without a doorbell and watched as none. Out of
 * memory (m->nomem): the leaders still learn that there are no doorbells
 * (they wait for round 1), then dlp_init fails (master_open). */
static void master_tables(struct master_setup *m)
{
    int nodes = m->nodes;
    dlp__nb.fd = malloc(sizeof *dlp__nb.fd * (size_t)nodes);
    m->req = malloc(sizeof *m->req * (size_t)nodes);
    m->ans = calloc((size_t)nodes, sizeof *m->ans);
    dlp__nb.peer = calloc((size_t)nodes, sizeof *dlp__nb.peer);
    dlp__nb.host = calloc((size_t)nodes, sizeof *dlp__nb.host);
    m->nomem = !dlp__nb.fd || !m->req || !m->ans || !dlp__nb.peer || !dlp__nb.host;
    for (int k = 0; dlp__nb.fd && k < nodes; k++)
        dlp__nb.fd[k] = -1;
    for (int k = 0; dlp__nb.peer && k < nodes; k++)
        dlp__netbell_watch_peer(&dlp__nb.peer[k], -1);
}

/* The local bell, the listening sockets and the token: m->info.count
 * addresses to tell the nodes within the budget, 0 when there are none. */
static void master_listen(struct master_setup *m)
{
    int mode = m->mode;
    m->budget = mode != DLP__BELL_OFF && !m->nomem ? bell_budget(m->nodes) : 0;
    if (m->budget <= 0)
        return;
    char text[128], why[512];
    if (open_local(mode, m->nodes) != 0) {
        /* said there */
    } else if (dlp__netbell_listen_told(&m->info, m->lfd, why, sizeof why) != 0)
        dlp__netbell_warn(mode, "%s", why);
    else if (dlp__socket_token(&m->info.token) != 0) {
        dlp__netbell_warn(mode, "the kernel gives no random token (getentropy: %s)",
                          dlp__errno_text(errno, text, sizeof text));
        for (int i = 0; i < m->info.count; i++)
            close(m->lfd[i]);
        m->info.count = 0;
    }
}

/* Round 1: the nodes beyond the budget are told no address. */
static int master_tell(const struct master_setup *m)
{
    const struct dlp__runtime *rt = &dlp__rt;
    struct dlp__bell_info none = m->info;
    none.count = 0;
    int rc = DLP_OK;
    for (int k = 1; k < m->nodes && rc == DLP_OK; k++)
        rc = dlp__fail_mpi("dlp_init", "MPI_Send (node doorbell setup)",
                           MPI_Send(k <= m->budget ? &m->info : &none, (int)sizeof none,
                                    MPI_BYTE, rt->node_leader[k], DLP__TAG_BELL, rt->comm));
    return rc;
}

/* Round 2 with the nodes told an address: accept their connections while
 * their answers come in, until every node that says it connected is
 * accepted, or DLP__BELL_CONNECT_SECONDS after the last answer. */
static int master_accept(struct master_setup *m)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int rc = DLP_OK;
    for (int k = 1; k <= m->budget && rc == DLP_OK; k++)
        rc = dlp__fail_mpi("dlp_init", "MPI_Irecv (node doorbell setup)",
                           MPI_Irecv(&m->ans[k], (int)sizeof m->ans[k], MPI_BYTE,
                                     rt->node_leader[k], DLP__TAG_BELL, rt->comm,
                                     &m->req[k - 1]));
    int accepted = 0;
    double deadline = 0;
    while (rc == DLP_OK) {
        int all_in = 1;
        for (int k = 1; k <= m->budget && rc == DLP_OK; k++) {
            int flag = 0;
            rc = dlp__fail_mpi("dlp_init", "MPI_Test (node doorbell setup)",
                               MPI_Test(&m->req[k - 1], &flag, MPI_STATUS_IGNORE));
            all_in &= flag;
        }
        int expected = 0;
        for (int k = 1; all_in && k <= m->budget; k++)
            expected += m->ans[k].ok != 0;
        if (all_in && deadline == 0)
            deadline = dlp__now() + DLP__BELL_CONNECT_SECONDS;
        if (rc != DLP_OK || (all_in && (accepted >= expected || dlp__now() > deadline)))
            break;
        accepted += dlp__netbell_greetings_poll(&m->G, m->lfd, m->info.count, m->info.token,
                                                dlp__nb.fd, dlp__nb.nodes);
    }
    return rc;
}

/* Round 3: a node has its doorbell when it connected, its greeting came
 * and its connection joined the epoll set; each leader is told. */
static int master_agree(const struct master_setup *m)
{
    const struct dlp__runtime *rt = &dlp__rt;
    struct unwatched unwatched = {0, 0, 0};
    int rc = DLP_OK;
    for (int k = 1; k <= m->budget && rc == DLP_OK; k++) {
        const struct bell_answer *ans = &m->ans[k];
        int use = dlp__nb.fd[k] >= 0 && ans->ok && watch_node(k, &unwatched) == 0;
        if (!use && dlp__nb.fd[k] >= 0) {
            close(dlp__nb.fd[k]);
            dlp__nb.fd[k] = -1;
        }
        dlp__netbell_watch_peer(&dlp__nb.peer[k], dlp__nb.fd[k]);
        memcpy(dlp__nb.host[k], ans->host, sizeof dlp__nb.host[k]);
        dlp__nb.host[k][sizeof dlp__nb.host[k] - 1] = '\0';
        if (!use && ans->ok && m->mode == DLP__BELL_TCP)
            fprintf(stderr,
                    "dlp_mpi: rank 0 (host %s): node %d's doorbell did not arrive "
                    "(DLP_NODE_DOORBELL=tcp); that node is served by polling\n",
                    rt->host, k);
        rc = dlp__fail_mpi("dlp_init", "MPI_Send (node doorbell setup)",
                           MPI_Send(&use, 1, MPI_INT, rt->node_leader[k], DLP__TAG_BELL,
                                    rt->comm));
    }
    say_unwatched(&unwatched);
    return rc;
}

/* Close what only the set-up needed; without a doorbell, the local bell
 * and the epoll set too (no node rings: nothing would read the bell). */
static void master_setup_end(struct master_setup *m)
{
    for (int i = 0; i < m->info.count; i++)
        close(m->lfd[i]);
    dlp__netbell_greetings_close(&m->G);
    for (int i = 0; i < m->intruders; i++)
        close(m->intruder[i]);
    if (dlp__netbell_count() == 0) {
        dlp__waitset_close(&dlp__nb.set);
        dlp__close_fd(&dlp__nb.local);
    }
    free(m->req);
    free(m->ans);
}

static int master_open(int mode)
{
    struct master_setup m;
    memset(&m, 0, sizeof m);
    memset(m.lfd, -1, sizeof m.lfd); /* all -1: no socket */
    m.mode = mode;
    m.nodes = dlp__rt.nodes;
    m.info.mode = mode;
    memcpy(m.info.host, dlp__rt.host, sizeof m.info.host);
    master_tables(&m);
    m.info.liveness = read_liveness();
    dlp__nb.liveness = m.info.liveness;
    master_listen(&m);
    if (getenv("DLP__TEST_BELL_INTRUDERS"))
        dlp__netbell_intrude(&m.info, m.intruder, INTRUDERS_MAX, &m.intruders);
    int rc = master_tell(&m);
    if (m.info.count != 0 && rc == DLP_OK)
        rc = master_accept(&m);
    if (m.info.count != 0 && rc == DLP_OK)
        rc = master_agree(&m);
    master_setup_end(&m);
    if (m.nomem && rc == DLP_OK)
        return dlp__fail(DLP_ERR_NOMEM, "dlp_init", "node doorbell tables for %d nodes",
                         m.nodes);
    return rc;
}

static int leader_open(void)
{
    struct dlp__runtime *rt = &dlp__rt;
    struct dlp__bell_info info;
    MPI_Request req;
    DLP_MPI_CALL(MPI_Irecv(&info, (int)sizeof info, MPI_BYTE, 0, DLP__TAG_BELL, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (info.count <= 0 || info.count > DLP__BELL_MAX_ADDRS)
        return DLP_OK;
    info.host[sizeof info.host - 1] = '\0';
    int fd = dlp__netbell_connect(&info, info.mode);
    struct bell_answer ans;
    memset(&ans, 0, sizeof ans);
    ans.ok = fd >= 0;
    memcpy(ans.host, rt->host, sizeof ans.host);
    int use = 0;
    DLP_MPI_CALL(MPI_Send(&ans, (int)sizeof ans, MPI_BYTE, 0, DLP__TAG_BELL, rt->comm));
    DLP_MPI_CALL(MPI_Irecv(&use, 1, MPI_INT, 0, DLP__TAG_BELL, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (use)
        dlp__nb.master = fd;
    else if (fd >= 0)
        close(fd);
    dlp__nb.peer = calloc(1, sizeof *dlp__nb.peer);
    dlp__nb.host = calloc(1, sizeof *dlp__nb.host);
    if (!dlp__nb.peer || !dlp__nb.host) { /* no liveness watch of the master: the doorbell works */
        free(dlp__nb.peer);
        dlp__nb.peer = NULL;
        return DLP_OK;
    }
    memcpy(dlp__nb.host[0], info.host, sizeof dlp__nb.host[0]);
    dlp__nb.liveness = info.liveness;
    dlp__netbell_watch_peer(dlp__nb.peer, dlp__nb.master);
    return DLP_OK;
}

int dlp__netbell_open(void)
{
    dlp__nb.nodes = dlp__rt.nodes;
    if (dlp__rt.nodes < 2)
        return DLP_OK;
    if (dlp__rt.rank == 0)
        return master_open(read_mode());
    if (dlp__rt.node_rank == 0)
        return leader_open();
    return DLP_OK;
}
