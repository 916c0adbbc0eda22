/* Leaving hydra's process manager (see pmi_leave.h). */
#include "pmi_leave.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "journal_file.h" /* dlp__write_all */

/* PMI_FD's value, -1 when none; -2 before it was read. */
static _Atomic int pmi_fd_seen = -2;

void dlp__pmi_leave_prepare(void)
{
    if (atomic_load(&pmi_fd_seen) != -2)
        return;
    const char *text = getenv("PMI_FD");
    char *end = NULL;
    errno = 0;
    long fd = text && *text ? strtol(text, &end, 10) : -1;
    if (fd >= 0 && (errno != 0 || *end != '\0' || fd > INT_MAX))
        fd = -1;
    atomic_store(&pmi_fd_seen, (int)fd);
}

/* The PMI connection's descriptor, -1 when none. */
static int pmi_fd(void)
{
    dlp__pmi_leave_prepare();
    int fd = atomic_load(&pmi_fd_seen);
    return fd >= 0 && fcntl(fd, F_GETFD) >= 0 ? fd : -1;
}

void dlp__pmi_leave(void)
{
    int fd = pmi_fd();
    static const char finalize[] = "cmd=finalize\n";
    if (fd < 0 || dlp__write_all(fd, finalize, sizeof finalize - 1) != 0)
        return;
    /* the reply: one line; only its arrival matters */
    double until = dlp__now() + 1.0;
    char reply[128] = {0};
    size_t got = 0;
    while (got < sizeof reply - 1 && !memchr(reply, '\n', got)) {
        double left = until - dlp__now();
        if (left <= 0)
            return;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return;
        ssize_t r = read(fd, reply + got, sizeof reply - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        got += (size_t)r;
    }
}
