/* Unit test of the epoll set the master's dispatcher sleeps on
 * (lib/base/waitset.c), without MPI, over AF_UNIX socket pairs, by both of its
 * routes (epoll_pwait2, and a ppoll on the epoll descriptor): a wait
 * reports the ready descriptors only, by their tags, again until what is
 * there is read; a removed one never; a hang-up; and with more ready than a
 * wait takes, one that is rung again after every wait does not starve the
 * others. Every failed check prints the case and both values; no timing
 * (a wait's timeout only bounds it). */
#define _POSIX_C_SOURCE 200809L
#include "test_check.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "waitset.h"

#define PAIRS 300 /* 600 descriptors: under the usual soft limit of 1024 */
#define QUIET 100 /* ready ones in the starvation case */

static int fd[PAIRS][2]; /* [k][0] in the set with tag k, [k][1] rings it */

static void ring(int k)
{
    if (write(fd[k][1], "r", 1) != 1)
        CHECK_FAIL("write to pair %d: %s", k, strerror(errno));
}

static void take(int k)
{
    char c;
    if (read(fd[k][0], &c, 1) != 1)
        CHECK_FAIL("read from pair %d: %s", k, strerror(errno));
}

/* One wait of at most max tags, timeout_us; how many, into tags. */
static int wait_tags(struct dlp__waitset *w, int *tags, int max, unsigned timeout_us)
{
    int n = dlp__waitset_wait(w, tags, max, timeout_us);
    CHECK_MSG(n >= 0, "dlp__waitset_wait: %d (%s)", n, strerror(errno));
    return n < 0 ? 0 : n;
}

static void run(int pwait2)
{
    int tags[DLP__WAITSET_MAX];
    struct dlp__waitset w = DLP__WAITSET_INIT;
    check_case("%s: open, add %d descriptors", pwait2 ? "epoll_pwait2" : "ppoll route", PAIRS - 1);
    if (dlp__waitset_open(&w) != 0) {
        CHECK_FAIL("dlp__waitset_open: %s", strerror(errno));
        return;
    }
    w.pwait2 = pwait2 && w.pwait2;
    for (int k = 1; k < PAIRS; k++)
        CHECK_EQ(dlp__waitset_add(&w, fd[k][0], k), 0);
    errno = 0;
    CHECK_EQ(dlp__waitset_add(&w, fd[1][0], 1), -1); /* already in */
    CHECK_EQ(errno, EEXIST);

    check_case("%s: nothing ready: the timeout, no tag", pwait2 ? "epoll_pwait2" : "ppoll route");
    CHECK_EQ(wait_tags(&w, tags, DLP__WAITSET_MAX, 1000), 0);

    check_case("%s: one of %d rung: that one only, until read", pwait2 ? "epoll_pwait2" : "ppoll route",
               PAIRS - 1);
    ring(7);
    for (int again = 0; again < 3; again++) {
        CHECK_EQ(wait_tags(&w, tags, DLP__WAITSET_MAX, 1000000), 1);
        CHECK_EQ(tags[0], 7);
    }
    take(7);
    CHECK_EQ(wait_tags(&w, tags, DLP__WAITSET_MAX, 0), 0);

    check_case("%s: removed: not reported", pwait2 ? "epoll_pwait2" : "ppoll route");
    CHECK_EQ(dlp__waitset_remove(&w, fd[8][0]), 0);
    ring(8);
    CHECK_EQ(wait_tags(&w, tags, DLP__WAITSET_MAX, 1000), 0);
    take(8);
    CHECK_EQ(dlp__waitset_add(&w, fd[8][0], 8), 0);

    check_case("%s: starvation: %d ready, one rung again after each wait of 4",
               pwait2 ? "epoll_pwait2" : "ppoll route", QUIET);
    for (int k = 1; k <= QUIET; k++)
        ring(k);
    char seen[QUIET + 1] = {0};
    int rounds = 0, unseen = QUIET;
    /* each wait reports 4 of the ready ones; the kernel puts the ones it
     * reported behind the others, so every one comes within QUIET / 4 + 1
     * waits even though pair 1 is rung again after each */
    for (; rounds < 2 * QUIET && unseen > 0; rounds++) {
        int n = wait_tags(&w, tags, 4, 1000000);
        for (int i = 0; i < n; i++)
            if (tags[i] >= 1 && tags[i] <= QUIET && !seen[tags[i]]) {
                seen[tags[i]] = 1;
                unseen--;
            }
        take(1);
        ring(1);
    }
    CHECK_EQ(unseen, 0);
    CHECK(rounds <= QUIET / 4 + 1, rounds, QUIET / 4 + 1);
    for (int k = 1; k <= QUIET; k++)
        take(k);
    CHECK_EQ(wait_tags(&w, tags, DLP__WAITSET_MAX, 0), 0);

    check_case("%s: a hang-up is reported", pwait2 ? "epoll_pwait2" : "ppoll route");
    close(fd[9][1]);
    CHECK_EQ(wait_tags(&w, tags, DLP__WAITSET_MAX, 1000000), 1);
    CHECK_EQ(tags[0], 9);
    CHECK_EQ(dlp__waitset_remove(&w, fd[9][0]), 0);
    close(fd[9][0]);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd[9]) != 0)
        CHECK_FAIL("socketpair: %s", strerror(errno));

    check_case("%s: closed: an error, not a sleep", pwait2 ? "epoll_pwait2" : "ppoll route");
    dlp__waitset_close(&w);
    dlp__waitset_close(&w); /* safe twice */
    errno = 0;
    CHECK_EQ(dlp__waitset_wait(&w, tags, DLP__WAITSET_MAX, 1000000), -1);
    CHECK_EQ(errno, EBADF);
}

int main(void)
{
    for (int k = 1; k < PAIRS; k++)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd[k]) != 0) {
            fprintf(stderr, "test_waitset.c: socketpair %d: %s\n", k, strerror(errno));
            return 1;
        }
    run(1);
    run(0);
    for (int k = 1; k < PAIRS; k++) {
        close(fd[k][0]);
        close(fd[k][1]);
    }
    return check_end("test_waitset");
}
