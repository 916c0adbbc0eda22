/* Stopping a parallel call, and round robin's stop messages between ranks
 * (the failures and misuse that stop it: dlp__loop_failure() and
 * dlp__loop_misuse() in loop.h). */
#ifndef DLP_LIB_STOP_H
#define DLP_LIB_STOP_H

#include "loop.h"

/** Round robin: has another rank stopped (its message is left for the end
 *  of the call)? Sets the cursor's stop if so. One thread looks at a time
 *  (the others return), at most every DLP__STOP_PROBE seconds. Any thread
 *  of the call. */
void dlp__stop_look(struct dlp_loop *L);

/** End of a round-robin call (main thread, after the end's allgather):
 *  complete the stops this rank sent, receive those the others sent
 *  (sent[stride * r] != 0: rank r sent), so that none is left for a later
 *  call. MPI errors abort the job. */
void dlp__stop_settle(struct dlp_loop *L, const long *sent, int stride);

#endif
