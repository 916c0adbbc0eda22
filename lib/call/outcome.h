/* The end of a parallel call's agreement on its outcome. */
#ifndef DLP_LIB_OUTCOME_H
#define DLP_LIB_OUTCOME_H

#include "loop.h"

/* Words per rank of the end's agreement: failed items, items handed out,
 * signal, items completed, stops sent, dense results ready to move, the
 * code of a misuse (dlp__loop_misuse); then, with a small built-in
 * reduction, the rank's value of it (L->reduce_packed bytes). */
#define DLP__OUTCOME_WORDS 7

/** Before the handshake: the agreement's record of every rank, L->outcome
 *  (left NULL when it fits the runtime's scratch, i.e. without a small
 *  built-in reduction to pack). DLP_OK or DLP_ERR_NOMEM. Not collective. */
int dlp__outcome_buffer(struct dlp_loop *L);

/** Every rank learns every rank's failures (failures.c), signals and
 *  misuse; returns the call's outcome. One allgather, plus one more only
 *  when something failed or was misused. It also carries whether each
 *  rank's dense results are ready to move (results_ok): *all_results_ok is
 *  1 when every rank's are. Adds the items done everywhere to *done_all,
 *  sets *failed_all_out to the items failed everywhere. Collective, main
 *  thread, after the call's threads and helpers are done. */
int dlp__outcome_agree(struct dlp_loop *L, int results_ok, int *all_results_ok,
                       long *done_all, long *failed_all_out);

#endif
