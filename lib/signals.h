/* SIGTERM and SIGINT during a parallel call (Slurm sends SIGTERM before its
 * wall-time kill; hydra forwards both to every rank). While a call runs,
 * the library catches them (unless the program has a handler of its own,
 * or DLP_SIGNALS=0): the handler stops the rank's node from taking more
 * items (the node's agent tells the master, which stops handing out work)
 * and sets an alarm for the grace time (DLP_GRACE); if the call has not
 * ended when it rings, the rank says so and exits (status 73), and hydra
 * ends the job. The call otherwise ends on every rank with
 * DLP_ERR_INTERRUPTED, saying how many items remain, with the journal
 * written; later calls return DLP_ERR_INTERRUPTED at once. No thread is
 * needed: the handler only does what is async-signal-safe (atomic stores,
 * a futex wake, write, sigaction, alarm, _exit), with its messages written
 * in advance. */
#ifndef DLP_LIB_SIGNALS_H
#define DLP_LIB_SIGNALS_H

#include <stdatomic.h>

struct dlp__cursor;

/** Catch SIGTERM/SIGINT for a call of func: the handler sets stop on the
 *  cursor and sets the alarm of the grace time (seconds). Main thread. */
void dlp__signals_catch(struct dlp__cursor *cursor, double grace, const char *func);

/** Give the signals back to the program's own disposition. Main thread. */
void dlp__signals_release(void);

/** The signal caught during this or an earlier call, else 0. Any thread. */
int dlp__signal_caught(void);

/** "SIGTERM", "SIGINT" or "signal N". */
const char *dlp__signal_name(int sig, char *buf, unsigned len);

#endif
