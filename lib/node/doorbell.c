/* Doorbell (see doorbell.h). */
#define _GNU_SOURCE /* syscall() */
#include "doorbell.h"

#include "runtime.h"

#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void dlp__doorbell_wait(_Atomic int *bell, unsigned timeout_us)
{
    struct timespec ts = {.tv_sec = timeout_us / 1000000u,
                          .tv_nsec = (long)(timeout_us % 1000000u) * 1000L};
    /* Shared (not FUTEX_PRIVATE_FLAG): the ringer may be another process. */
    syscall(SYS_futex, (int *)bell, FUTEX_WAIT, 1, &ts, NULL, 0);
    atomic_store_explicit(bell, 0, memory_order_relaxed);
}

void dlp__doorbell_sleep(_Atomic int *bell)
{
    syscall(SYS_futex, (int *)bell, FUTEX_WAIT, 1, NULL, NULL, 0);
    atomic_store_explicit(bell, 0, memory_order_relaxed);
}

void dlp__doorbell_wake(_Atomic int *bell)
{
    if (atomic_exchange_explicit(bell, 0, memory_order_seq_cst))
        syscall(SYS_futex, (int *)bell, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void dlp__gate_wait(_Atomic int *gate, int seen, unsigned timeout_us)
{
    struct timespec ts = {.tv_sec = timeout_us / 1000000u,
                          .tv_nsec = (long)(timeout_us % 1000000u) * 1000L};
    syscall(SYS_futex, (int *)gate, FUTEX_WAIT, seen, &ts, NULL, 0);
}

void dlp__gate_wake(_Atomic int *gate)
{
    syscall(SYS_futex, (int *)gate, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

#else

void dlp__doorbell_wait(_Atomic int *bell, unsigned timeout_us)
{
    unsigned step = timeout_us < 200u ? timeout_us : 200u;
    for (unsigned slept = 0; slept < timeout_us && atomic_load(bell); slept += step)
        dlp__sleep_us(step);
    atomic_store_explicit(bell, 0, memory_order_relaxed);
}

void dlp__doorbell_sleep(_Atomic int *bell)
{
    while (atomic_load(bell))
        dlp__sleep_us(1000u);
}

void dlp__doorbell_wake(_Atomic int *bell)
{
    atomic_store_explicit(bell, 0, memory_order_seq_cst);
}

void dlp__gate_wait(_Atomic int *gate, int seen, unsigned timeout_us)
{
    unsigned step = timeout_us < 200u ? timeout_us : 200u;
    for (unsigned slept = 0; slept < timeout_us && atomic_load(gate) == seen; slept += step)
        dlp__sleep_us(step);
}

void dlp__gate_wake(_Atomic int *gate) { (void)gate; }

#endif
