/* Reductions of per-item contributions (dlp_reduce in dlp_mpi.h): one
 * accumulator per thread that runs items, combined on the main thread at
 * the end of the call, then node leader by node leader to the master (and
 * back with opts.on_all_ranks). The call's hooks: its shape goes in the
 * call's handshake; begin before the items, item_end after each item, and
 * finish or abandon at the end. */
#ifndef DLP_LIB_REDUCE_H
#define DLP_LIB_REDUCE_H

#include "dlp_mpi.h"

struct dlp__entry;

/** What the ranks compare at the start of a call (in its entry). */
struct dlp__reduce_shape {
    long count;             /* elements (built-ins), 0 for a user reduction */
    long bytes;             /* bytes of an accumulator, 0 when no reduction */
    signed char op, type;   /* enum dlp_reduce_op / _type; 0 for a user reduction */
    signed char on_all_ranks;
    signed char pad[5];
};

/** This rank's shape of r (NULL: no reduction) and on_all_ranks. */
void dlp__reduce_shape(const dlp_reduce *r, int on_all_ranks, struct dlp__reduce_shape *out);

/** DLP_OK when every rank's shape, at byte offset `at` of its entry's
 *  arguments, equals rank 0's; else DLP_ERR_MISMATCH naming the first
 *  rank that differs and both shapes. */
int dlp__reduce_compare(const struct dlp__entry *all, int size, size_t at, const char *func);

/** A call with r starts (main thread, before any item): every thread's
 *  accumulator is the identity again, the last result is gone. scratch: an
 *  item's contributions wait in a scratch until it succeeds (skip, retry). */
void dlp__reduce_begin(dlp_reduce *r, int scratch);

/** The calling thread's item ended (ok: it succeeded): its scratch, if it
 *  has one, is merged into its accumulator, or dropped. Cheap when the
 *  thread has no scratch. Any thread. */
void dlp__reduce_item_end(int ok);

/** The call completed (collective; main thread, after every thread of the
 *  call is done): combine the threads, the ranks, the nodes; the result on
 *  the master, or on every rank with on_all_ranks. DLP_OK; an MPI error
 *  aborts the job (the peers would wait for its messages). */
int dlp__reduce_finish(dlp_reduce *r, int on_all_ranks, const char *func);

/** The call failed: no result (not collective). */
void dlp__reduce_abandon(dlp_reduce *r);

#endif
