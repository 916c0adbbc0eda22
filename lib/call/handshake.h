/* The handshake of a parallel call: every rank's view (n, options, local
 * checks) compared on every rank in the set-up's one collective. */
#ifndef DLP_LIB_HANDSHAKE_H
#define DLP_LIB_HANDSHAKE_H

#include "loop.h"

/* Bits of L->tracing: the master's DLP_TRACE, DLP_TRACE_ITEMS, DLP_STATS,
 * which the handshake hands to every rank. */
enum { DLP__TRACING_TRACE = 2, DLP__TRACING_ITEMS = 4, DLP__TRACING_STATS = 8 };

/** Local checks (bad_arg, n, the options, what on_error, the journal and
 *  signals allow), the master opens the journal, then every rank's view is
 *  compared on every rank (one allgather, the only collective of the
 *  set-up). Collective, main thread. Sets L->o, L->tracing, the thread
 *  counts; DLP_OK, or the first error on any rank (the journal closed). */
int dlp__handshake(struct dlp_loop *L, const dlp_opts *opts, int split, const char *bad_arg);

#endif
