/* Variable-size results (dlp_collector_*): what a parallel call does with
 * opts.collector at its start and at its end (lib/call/call_features.c calls these). */
#ifndef DLP_LIB_COLLECTOR_H
#define DLP_LIB_COLLECTOR_H

#include "dlp_mpi.h"

/* Start of a call that uses c, after all ranks agreed on it: drop the
 * previous contents and accept adds for items 0..n-1 until
 * dlp__collector_collect()/abandon. Local (not collective); main thread.
 * c NULL does nothing. Errors: DLP_ERR_STATE if c is already in use by a
 * running call; DLP_ERR_ARG if n < 0. */
int dlp__collector_begin(dlp_collector *c, long n, const char *func);

/* End of a successful call: every rank's results go to the master (threads
 * -> rank -> node leader -> master), where they are sorted into item order
 * (stable, several results per item allowed). Collective over dlp__rt.comm;
 * main thread, after all team threads finished adding. c NULL does nothing
 * (then it must be NULL on every rank: the call's handshake agrees on it).
 * Totals above 2 GiB work (messages of at most DLP__MESSAGE_BYTES). First
 * every rank states its status and sizes (one allgather), then every rank
 * allocates what it needs and all agree (one allreduce), only then data
 * moves: an error on one rank is reported on every rank, never a hang.
 * Adds that failed for lack of memory during the call make the collect
 * fail too (DLP_ERR_NOMEM everywhere), instead of silently missing results.
 * The collector is closed and the adds' memory freed on every outcome.
 * Errors: DLP_ERR_NOMEM, DLP_ERR_MPI, DLP_ERR_STATE (c was not begun). */
int dlp__collector_collect(dlp_collector *c, const char *func);

/* End of a failed call: stop accepting, free what was added. Local; c NULL
 * does nothing. */
void dlp__collector_abandon(dlp_collector *c);

#endif
