/* Leaving hydra's process manager (see pmi_leave.h). */
#include "pmi_leave.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

/* The PMI connection's descriptor from PMI_FD, -1 when none. */
static int pmi_fd(void)
{
    const char *text = getenv("PMI_FD");
    if (!text || !*text)
        return -1;
    char *end = NULL;
    errno = 0;
    long fd = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0)
        return -1;
    return (int)fd;
}

/* Write all of text to fd; 0 on success. */
static int send_all(int fd, const char *text)
{
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t w = write(fd, text, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        text += w;
        left -= (size_t)w;
    }
    return 0;
}

void dlp__pmi_leave(void)
{
    int fd = pmi_fd();
    if (fd < 0 || send_all(fd, "cmd=finalize\n") != 0)
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
