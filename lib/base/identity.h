/* Who this process is in the job, for the messages of the lowest layers
 * (error.c, wait.c, job_end.c): its rank, the job's size and its host.
 * Filled by the runtime when dlp_init() completes (runtime.c), so these
 * modules need nothing from above them. */
#ifndef DLP_LIB_IDENTITY_H
#define DLP_LIB_IDENTITY_H

/** Set the identity: rank (-1: none, messages name no rank or host), the
 *  job's processes and the host name (copied; NULL keeps the last). Main
 *  thread, while no other thread of the library runs (dlp_init,
 *  dlp_finalize). */
void dlp__identity_set(int rank, int size, const char *host);

/** This process's rank while the library is initialised, else -1. Any
 *  thread. */
int dlp__identity_rank(void);

/** Processes of the job (0: not known yet). Any thread. */
int dlp__identity_size(void);

/** This process's host name ("" when not known). Any thread. */
const char *dlp__identity_host(void);

#endif
