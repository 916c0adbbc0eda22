/* A tiny lock that works across processes in shared memory (lock-free
 * atomics only); waiters yield the CPU. For short critical sections. */
#ifndef DLP_LIB_SPINLOCK_H
#define DLP_LIB_SPINLOCK_H

#include <sched.h>
#include <stdatomic.h>

static inline int dlp__spin_trylock(_Atomic int *l)
{
    int expected = 0;
    return atomic_compare_exchange_strong_explicit(l, &expected, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

static inline void dlp__spin_lock(_Atomic int *l)
{
    while (!dlp__spin_trylock(l))
        sched_yield();
}

static inline void dlp__spin_unlock(_Atomic int *l)
{
    atomic_store_explicit(l, 0, memory_order_release);
}

#endif
