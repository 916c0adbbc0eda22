/* Ending the whole job: once per process, with an exit status of enum
 * dlp_exit, after the caller's message had time to reach the launcher. */
#ifndef DLP_LIB_JOB_END_H
#define DLP_LIB_JOB_END_H

/** End the job with MPI_Abort(code), after the message the caller just
 *  wrote to stderr (and flushed) had 0.3 s to reach the launcher: hydra
 *  drops what an aborted process wrote last. Any thread. */
void dlp__abort_job(int code) __attribute__((noreturn));

/** Claim the end of the job: 1 for the first caller in the process, 0 after
 *  (another thread is ending it). */
int dlp__abort_claim(void);

/** End the job with code (MPI_Abort; _exit with one process), once the
 *  caller holds the claim. */
void dlp__end_job(int code) __attribute__((noreturn));

#endif
