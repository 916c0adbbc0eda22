/* A set of descriptors to sleep on (see waitset.h). */
#define _GNU_SOURCE /* ppoll, epoll_pwait2 */
#include "waitset.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* epoll_pwait2 appeared in glibc 2.35 (and Linux 5.11): older ones take
 * the ppoll route. */
#if defined(__GLIBC__) && defined(__GLIBC_MINOR__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define HAVE_PWAIT2 1
#else
#define HAVE_PWAIT2 0
#endif

int dlp__waitset_open(struct dlp__waitset *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->pwait2 = HAVE_PWAIT2;
    return w->epfd < 0 ? -1 : 0;
}

void dlp__waitset_close(struct dlp__waitset *w)
{
    if (w->epfd >= 0)
        close(w->epfd);
    w->epfd = -1;
}

int dlp__waitset_add(struct dlp__waitset *w, int fd, int tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data = {.u64 = 0}};
    ev.data.fd = tag;
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int dlp__waitset_remove(struct dlp__waitset *w, int fd)
{
    struct epoll_event ev = {.events = 0, .data = {.u64 = 0}}; /* ignored; old kernels want it */
    return epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, &ev);
}

/* One epoll wait of timeout ts: the events, 0, or -1 (errno). */
static int wait_events(struct dlp__waitset *w, struct epoll_event *ev, int max,
                       const struct timespec *ts)
{
#if HAVE_PWAIT2
    if (w->pwait2) {
        int n = epoll_pwait2(w->epfd, ev, max, ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        w->pwait2 = 0; /* a kernel before 5.11: the ppoll route from now on */
    }
#endif
    /* an epoll descriptor is readable while any of its descriptors is
     * ready: sleep on it with a timeout in nanoseconds, then take them */
    struct pollfd p = {w->epfd, POLLIN, 0};
    int r = ppoll(&p, 1, ts, NULL);
    if (r <= 0)
        return r;
    return epoll_wait(w->epfd, ev, max, 0);
}

int dlp__waitset_wait(struct dlp__waitset *w, int *tags, int max, unsigned timeout_us)
{
    struct epoll_event ev[DLP__WAITSET_MAX];
    if (max > DLP__WAITSET_MAX)
        max = DLP__WAITSET_MAX;
    if (w->epfd < 0 || max <= 0) {
        errno = EBADF;
        return -1;
    }
    struct timespec ts = {.tv_sec = (time_t)(timeout_us / 1000000u),
                          .tv_nsec = (long)(timeout_us % 1000000u) * 1000L};
    int n = wait_events(w, ev, max, &ts);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++)
        tags[i] = ev[i].data.fd;
    return n;
}
