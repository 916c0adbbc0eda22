/* SIGTERM and SIGINT during a parallel call (Slurm sends SIGTERM before its
 * wall-time kill; hydra forwards both to every rank). While a call runs,
 * the library catches them (unless the program has a disposition of its
 * own, or DLP_SIGNALS=0): the handler stops the rank's node from taking
 * more items (the node's agent tells the master, which stops handing out
 * work) and sets an alarm for the grace time (DLP_GRACE); if the call has
 * not ended when it rings, the rank says so and exits (status 73), and
 * hydra ends the job. The call otherwise ends on every rank with
 * DLP_ERR_INTERRUPTED, saying how many items remain, with the journal
 * written; later calls return DLP_ERR_INTERRUPTED at once. No thread is
 * needed: the handler only does what is async-signal-safe (atomic stores,
 * a futex wake, write, sigaction, alarm, raise, _exit), with its messages
 * written in advance.
 *
 * The handler is installed once, at the first call that catches (where
 * the disposition is the default), and stays until dlp_finalize(), so
 * that a call costs no system call for it: between calls (and in a call
 * with DLP_SIGNALS=0) a signal goes on to the disposition it replaced, the
 * default action (restored, and the signal raised again, so the process
 * ends with the signal's status as without the library). A disposition the
 * program sets later replaces the library's handler and wins; putting back
 * the one it replaced (sigaction's old action) hands the signal back. */
#ifndef DLP_LIB_SIGNALS_H
#define DLP_LIB_SIGNALS_H

#include <stdatomic.h>

struct dlp__cursor;

/** Catch SIGTERM/SIGINT for a call of func: the handler sets stop on the
 *  cursor and sets the alarm of the grace time (seconds). The first call
 *  after dlp_init() looks at the dispositions and installs the handler
 *  where they are the default; later calls make no system call. Main
 *  thread. */
void dlp__signals_catch(struct dlp__cursor *cursor, double grace, const char *func);

/** The call ends: a signal goes on to the replaced disposition again, and
 *  the grace time's alarm (if a signal set it) is cancelled. The handler
 *  stays. Main thread. */
void dlp__signals_release(void);

/** dlp_finalize(): put back the disposition the handler replaced, for each
 *  signal whose disposition is still the library's handler (one the
 *  program set since then stays). Main thread, outside a call. */
void dlp__signals_restore(void);

/** The signal caught during this or an earlier call, else 0. Any thread. */
int dlp__signal_caught(void);

/** "SIGTERM", "SIGINT" or "signal N". */
const char *dlp__signal_name(int sig, char *buf, unsigned len);

#endif
