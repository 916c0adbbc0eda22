/* A doorbell: one thread (a node's agent) sleeps on a word in node-shared
 * memory until another thread or process of the node rings, or a timeout
 * passes. On Linux this is a futex shared between processes, so a sleeping
 * agent costs no CPU at all; elsewhere it degrades to a short sleep.
 *
 * Protocol (no lost wake-ups): the sleeper arms the bell, re-checks its
 * condition, then waits; a ringer first publishes the change that makes the
 * condition true (a seq_cst atomic), then rings. */
#ifndef DLP_LIB_DOORBELL_H
#define DLP_LIB_DOORBELL_H

#include <stdatomic.h>

/** Arm: the caller is about to sleep. Re-check the condition afterwards.
 *  A read-modify-write, so that it is a full barrier before the re-check's
 *  loads (and ThreadSanitizer, which does not model fences, sees it). */
static inline void dlp__doorbell_arm(_Atomic int *bell)
{
    atomic_exchange_explicit(bell, 1, memory_order_seq_cst);
}

/** Disarm after the re-check found work. */
static inline void dlp__doorbell_disarm(_Atomic int *bell)
{
    atomic_store_explicit(bell, 0, memory_order_relaxed);
}

/** Sleep while armed, at most timeout_us microseconds; disarms. */
void dlp__doorbell_wait(_Atomic int *bell, unsigned timeout_us);

/** Sleep while armed, without a timeout (a parked thread: no CPU at all
 *  until a ring); disarms. */
void dlp__doorbell_sleep(_Atomic int *bell);

/** Ring out of line (a system call): only when the bell is armed. */
void dlp__doorbell_wake(_Atomic int *bell);

/** Wake the sleeper if it is armed. Costs one load when nobody sleeps. */
static inline void dlp__doorbell_ring(_Atomic int *bell)
{
    if (atomic_load_explicit(bell, memory_order_seq_cst))
        dlp__doorbell_wake(bell);
}

/* A gate: any number of threads or processes of a node sleep until it
 * opens (a node's team threads waiting for the agent's next chunk).
 * Protocol: a sleeper counts itself in `sleepers`, reads the gate's
 * number, re-checks its condition, then sleeps while the number is
 * unchanged, and counts itself out; an opener publishes its change (a
 * seq_cst or release atomic), then dlp__gate_open(). */

/** Sleep while *gate == seen, at most timeout_us microseconds. */
void dlp__gate_wait(_Atomic int *gate, int seen, unsigned timeout_us);

/** Wake every sleeper (a system call): only when one counted itself in. */
void dlp__gate_wake(_Atomic int *gate);

/** Open the gate: a new number, and the sleepers woken. One load and one
 *  atomic add when nobody sleeps. */
static inline void dlp__gate_open(_Atomic int *gate, _Atomic int *sleepers)
{
    atomic_fetch_add_explicit(gate, 1, memory_order_seq_cst);
    if (atomic_load_explicit(sleepers, memory_order_seq_cst))
        dlp__gate_wake(gate);
}

#endif
