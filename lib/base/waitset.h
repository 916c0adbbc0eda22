/* A set of descriptors to sleep on (waitset.c): an epoll set that keeps
 * its descriptors registered from one wait to the next, each with an int
 * tag, so a wake-up costs O(descriptors ready), not O(descriptors in the
 * set) as a poll table rebuilt for every wait does. The master's
 * dispatcher sleeps on its node doorbells through one (netbell.c).
 *
 * Level-triggered: a descriptor is reported at every wait until what is
 * there has been read. When more are ready than a wait takes, the kernel
 * reports the others at the next waits (a descriptor reported goes to the
 * back of its ready list), so none is starved. Timeouts are microseconds:
 * epoll_pwait2 where the C library and kernel have it, else a ppoll on the
 * epoll descriptor itself followed by an epoll_wait that does not sleep.
 * No MPI, no runtime state; Linux. add and remove may be called from
 * another thread while one waits. */
#ifndef DLP_LIB_WAITSET_H
#define DLP_LIB_WAITSET_H

/** Most descriptors one wait reports. */
#define DLP__WAITSET_MAX 64

struct dlp__waitset {
    int epfd;   /* -1: not open */
    int pwait2; /* epoll_pwait2 usable (1), or the ppoll route (0) */
};

#define DLP__WAITSET_INIT {-1, 0}

/** Open an empty set: 0, or -1 with errno set (epoll_create1). */
int dlp__waitset_open(struct dlp__waitset *w);

/** Close the set (its descriptors stay open); safe on a closed one. */
void dlp__waitset_close(struct dlp__waitset *w);

/** Watch fd for input (and hang-up, errors), reported with tag: 0, or -1
 *  with errno set (epoll_ctl: EEXIST already in, ENOMEM, ENOSPC past
 *  max_user_watches, EBADF ...). */
int dlp__waitset_add(struct dlp__waitset *w, int fd, int tag);

/** Stop watching fd (it must still be open): 0, or -1 with errno set. */
int dlp__waitset_remove(struct dlp__waitset *w, int fd);

/** Sleep until a descriptor of the set is ready or timeout_us passes (0:
 *  only look). Writes the tags of the ready ones to tags[0 .. max - 1]
 *  (max at most DLP__WAITSET_MAX) and returns how many; 0 on timeout or a
 *  signal; -1 with errno set when the set cannot be waited on. */
int dlp__waitset_wait(struct dlp__waitset *w, int *tags, int max, unsigned timeout_us);

#endif
