/* Leaving hydra's process manager before a process of a one-process job
 * ends itself with _exit(), so that the launcher reports its exit status. */
#ifndef DLP_LIB_PMI_LEAVE_H
#define DLP_LIB_PMI_LEAVE_H

/** Tell hydra's proxy (the PMI connection of PMI_FD) that this process
 *  leaves, as MPI_Finalize would: "cmd=finalize", then wait up to 1 s for
 *  its "finalize_ack". Without it, the proxy reads the connection's end as a
 *  crash: it then records status 1 (which mpiexec reports as "Hangup
 *  (signal 1)") over the real one when it had reaped the process already.
 *  Nothing without PMI_FD (no launcher, or another one). Any thread, once,
 *  just before _exit(); best effort: failures are ignored. Async-signal-safe
 *  once dlp__pmi_leave_prepare() ran. */
void dlp__pmi_leave(void);

/** Read PMI_FD for dlp__pmi_leave() (getenv: not in a signal handler).
 *  Idempotent. */
void dlp__pmi_leave_prepare(void);

#endif
