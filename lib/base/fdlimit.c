/* The open-file limit (see fdlimit.h). */
#include "fdlimit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Probing descriptors one by one (no /proc) stops here. */
#define PROBE_MAX 65536L

/* Descriptors open now: the entries of /proc/self/fd (less the one the
 * listing itself uses), else a probe of each number below the limit. */
static long count_open(long limit)
{
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long n = 0;
        /* readdir is safe with one reader per DIR (readdir_r is deprecated) */
        // cppcheck-suppress readdirCalled
        while (readdir(d)) // NOLINT(concurrency-mt-unsafe): one reader of d
            n++;
        closedir(d);
        return n > 3 ? n - 3 : 0; /* ".", "..", the listing's own */
    }
    long n = 0, top = limit < PROBE_MAX ? limit : PROBE_MAX;
    for (long fd = 0; fd < top; fd++)
        n += fcntl((int)fd, F_GETFD) != -1;
    return n;
}

static long as_long(rlim_t v)
{
    return v == RLIM_INFINITY || v > (rlim_t)0x7fffffffL ? 0x7fffffffL : (long)v;
}

long dlp__fdlimit_room(long want, struct dlp__fdlimit *out)
{
    struct rlimit rl;
    *out = (struct dlp__fdlimit){0, -1, -1, -1, 0, 0};
    if (want <= 0)
        return 0;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want; /* nothing known: try, as before */
    out->soft = as_long(rl.rlim_cur);
    out->hard = rl.rlim_max == RLIM_INFINITY ? -1 : as_long(rl.rlim_max);
    out->now = out->soft;
    out->open = count_open(out->soft);
    long need = out->open + want + DLP__FDLIMIT_RESERVE;
    if (need > out->soft) {
        long target = out->hard >= 0 && need > out->hard ? out->hard : need;
        if (target > out->soft) {
            struct rlimit up = rl;
            up.rlim_cur = (rlim_t)target;
            if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
                out->now = target;
                out->raised = 1;
            } else {
                out->err = errno;
            }
        }
    }
    long room = out->now - out->open - DLP__FDLIMIT_RESERVE;
    return room < 0 ? 0 : room < want ? room : want;
}

void dlp__fdlimit_restore(const struct dlp__fdlimit *lim)
{
    struct rlimit rl;
    if (!lim->raised || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = (rlim_t)lim->soft;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}
