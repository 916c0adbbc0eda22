/* SIGTERM and SIGINT during a parallel call (Slurm sends SIGTERM before its
 * wall-time kill; hydra forwards both to every rank). While a call runs,
 * the library catches them (unless the program has a handler of its own,
 * or DLP_SIGNALS=0): the handler stops the rank's node from taking more
 * items (the node's agent tells the master, which stops handing out work)
 * and wakes the rank's watchdog, which gives running items the grace time
 * (DLP_GRACE) before it aborts the job. The call then ends on every rank
 * with DLP_ERR_INTERRUPTED, saying how many items remain, with the journal
 * written; later calls return DLP_ERR_INTERRUPTED at once. */
#ifndef DLP_LIB_SIGNALS_H
#define DLP_LIB_SIGNALS_H

#include <stdatomic.h>

struct dlp__cursor;

/** Catch SIGTERM/SIGINT for a call: the handler sets stop on the cursor and
 *  rings bell (the watchdog's). Main thread. */
void dlp__signals_catch(struct dlp__cursor *cursor, _Atomic int *bell);

/** Give the signals back to the program's own disposition. Main thread. */
void dlp__signals_release(void);

/** The signal caught during this or an earlier call, else 0. Any thread. */
int dlp__signal_caught(void);

/** "SIGTERM", "SIGINT" or "signal N". */
const char *dlp__signal_name(int sig, char *buf, unsigned len);

#endif
