/* The call's helper thread, kept from call to call (helper.c): the
 * dispatcher on the master (rank 0), a remote node's agent on its leader.
 * Started by the first managed call that needs it, parked between calls
 * on a doorbell without a timeout (no CPU while idle: the program's own
 * code between calls keeps the cores), woken for each call, in which it
 * runs the call's body once (dlp__dispatcher_main or dlp__agent_main,
 * loop.h), and joined by dlp_finalize. Its signals are blocked: a
 * process-directed signal goes to the program's threads. */
#ifndef DLP_LIB_HELPER_H
#define DLP_LIB_HELPER_H

#include "loop.h"

/** Run body(L) on the helper thread, starting the thread at the first
 *  call. DLP_OK, or DLP_ERR_SYSTEM (recorded) when the thread cannot be
 *  created. Main thread, one call at a time. */
int dlp__helper_run(struct dlp_loop *L, void *(*body)(void *));

/** Wait until the body of the running call has returned (asleep on a
 *  doorbell). Main thread, after dlp__helper_run() succeeded. */
void dlp__helper_wait(void);

/** End and join the helper thread, if one was started (dlp_finalize and
 *  its error paths). Main thread, between calls. */
void dlp__helper_stop(void);

/** The helper thread's time slice (DLP_HELPER_SLICE, slice.h): asked for
 *  when it differs from the one asked for last on this thread (a helper
 *  thread asks once, not per call). Calling thread. */
void dlp__helper_slice(unsigned us);

#endif
