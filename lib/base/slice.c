/* Short time slices for the helper threads (the dispatcher, the node
 * agents).
 *
 * A helper sleeps most of the time and wakes for a few microseconds of
 * work: a request to answer, a reply to pass on. On a node whose cores all
 * compute, its wakeup must preempt a team thread. Linux's EEVDF scheduler
 * (6.6 on) may let the running thread finish its slice first (3 ms by
 * default), which would delay an answer by up to that. Since
 * Linux 6.12 a SCHED_OTHER thread may ask for a shorter slice with
 * sched_setattr(sched_runtime), unprivileged; a thread with a shorter
 * slice preempts at wakeup. The helpers ask for DLP_HELPER_SLICE
 * microseconds (default 100, the kernel's floor; 0 = do not ask).
 * Older kernels accept and ignore the field (CFS preempts a thread that
 * slept at wakeup anyway); where the call is refused, nothing changes. */
#define _GNU_SOURCE /* syscall */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "slice.h"

#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
/* The kernel's struct sched_attr (first version, 48 bytes): declared here,
 * because <linux/sched/types.h> clashes with <sched.h>. */
struct kernel_sched_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};
#endif

unsigned dlp__short_slice(unsigned us)
{
#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
    if (us == 0)
        return 0;
    struct kernel_sched_attr a;
    memset(&a, 0, sizeof a);
    if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0 || a.policy != SCHED_OTHER)
        return 0; /* a user's own policy (batch, real time) is left alone */
    int saved = errno;
    a.size = sizeof a;
    a.flags = 0;
    a.runtime = (uint64_t)us * 1000u;
    a.deadline = a.period = 0;
    long rc = syscall(SYS_sched_setattr, 0, &a, 0);
    errno = saved;
    return rc == 0 ? us : 0;
#else
    (void)us;
    return 0;
#endif
}
