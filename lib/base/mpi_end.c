/* How dlp_finalize ends MPI, see mpi_end.h. */
#include "mpi_end.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "runtime.h"

/* Default of DLP_FINALIZE_TIMEOUT (seconds). */
#define DLP__FINALIZE_TIMEOUT 2.0

/* Sockets (inode numbers) open before MPI_Init: never shut down. */
#define MAX_OLD_SOCKETS 256
static ino_t old_sockets[MAX_OLD_SOCKETS];
static int n_old_sockets;

/* Calls fn(fd, inode, arg) for every socket among this process's fds. */
static void each_socket(void (*fn)(int fd, ino_t ino, void *arg), void *arg)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return;
    int self = dirfd(dir);
    const struct dirent *e;
    /* readdir is safe with one reader per DIR (readdir_r is deprecated) */
    // cppcheck-suppress readdirCalled
    while ((e = readdir(dir)) != NULL) { // NOLINT(concurrency-mt-unsafe): one reader of dir
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        if (*end || end == e->d_name || fd == self || fstat((int)fd, &st) != 0 ||
            !S_ISSOCK(st.st_mode))
            continue;
        fn((int)fd, st.st_ino, arg);
    }
    closedir(dir);
}

static void note_one(int fd, ino_t ino, void *arg)
{
    (void)fd;
    (void)arg;
    if (n_old_sockets < MAX_OLD_SOCKETS)
        old_sockets[n_old_sockets++] = ino;
}

void dlp__mpi_note_sockets(void)
{
    n_old_sockets = 0;
    each_socket(note_one, NULL);
}

/* A connected TCP socket (IPv4 or IPv6) that MPI opened: shut it down. */
static void shut_one(int fd, ino_t ino, void *arg)
{
    for (int k = 0; k < n_old_sockets; k++)
        if (old_sockets[k] == ino)
            return;
    int type = 0, listening = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
        return;
    len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening)
        return;
    struct sockaddr_storage peer;
    len = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0 ||
        (peer.ss_family != AF_INET && peer.ss_family != AF_INET6))
        return;
    if (shutdown(fd, SHUT_RDWR) == 0)
        (*(int *)arg)++;
}

struct watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;         /* MPI_Finalize returned */
    double timeout;
};

static void *watchdog(void *arg)
{
    struct watch *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)w->timeout;
    until.tv_nsec += (long)((w->timeout - (double)(time_t)w->timeout) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
    int done = w->done;
    pthread_mutex_unlock(&w->lock);
    if (done)
        return NULL;
    int shut = 0;
    each_socket(shut_one, &shut);
    fprintf(stderr,
            "dlp_mpi: rank %d (host %s): MPI_Finalize has not returned after %g s (MPICH "
            "before 4.2 with UCX over TCP can hang there, pmodels/mpich#6596): shut down %d "
            "TCP connection(s) of MPI so that the ranks can end (DLP_FINALIZE_TIMEOUT)\n",
            dlp__rt.rank, dlp__rt.host, w->timeout, shut);
    return NULL;
}

/* DLP_FINALIZE_TIMEOUT: seconds, 0 = no watchdog; anything else a warning
 * and the default. */
static double finalize_timeout(void)
{
    const char *env = getenv("DLP_FINALIZE_TIMEOUT");
    if (!env || !*env)
        return DLP__FINALIZE_TIMEOUT;
    char *end;
    double t = strtod(env, &end);
    if (end != env && !*end && t >= 0 && t <= 1e6)
        return t;
    fprintf(stderr,
            "dlp_mpi: rank %d (host %s): DLP_FINALIZE_TIMEOUT=\"%s\" is not a number of seconds "
            "in 0..1e6; using %g\n",
            dlp__rt.rank, dlp__rt.host, env, (double)DLP__FINALIZE_TIMEOUT);
    return DLP__FINALIZE_TIMEOUT;
}

int dlp__mpi_finalize(void)
{
    double timeout = finalize_timeout();
    struct watch w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
                      .timeout = timeout};
    pthread_t thread;
    int watching = dlp__rt.nodes > 1 && timeout > 0 &&
                   pthread_create(&thread, NULL, watchdog, &w) == 0;
    int mrc = MPI_Finalize();
    if (watching) {
        pthread_mutex_lock(&w.lock);
        w.done = 1;
        pthread_cond_signal(&w.cond);
        pthread_mutex_unlock(&w.lock);
        pthread_join(thread, NULL);
    }
    return mrc;
}
