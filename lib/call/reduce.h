/* Reductions of per-item contributions (dlp_reduce in dlp_mpi.h): one
 * accumulator per thread that runs items, combined on the main thread at
 * the end of the call, then node leader by node leader to the master (and
 * back with opts.on_all_ranks); or, for a small built-in reduction, in
 * the end-of-call agreement's allgather, every rank combining all ranks'
 * values in the same order. The call's hooks: its shape goes in the
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

/** Bytes of r's value in the end-of-call agreement (a multiple of 8), or
 *  0 when r combines by dlp__reduce_finish: a user reduction, or values
 *  of all `size` ranks too large to send to every rank. The same on every
 *  rank once the ranks agreed on r's shape. */
size_t dlp__reduce_packed_bytes(const dlp_reduce *r, int size);

/** This rank's value of r (its threads' accumulators combined) into out,
 *  dlp__reduce_packed_bytes() bytes, for the agreement. Main thread, after
 *  every thread of the call is done. */
void dlp__reduce_pack(const dlp_reduce *r, void *out);

/** The call completed, and every rank's packed value arrived (rank q's at
 *  all + q * stride): the result, the same bits dlp__reduce_finish gives,
 *  on the master, or on every rank with on_all_ranks. Not collective: no
 *  messages. */
void dlp__reduce_finish_packed(dlp_reduce *r, const void *all, size_t stride, int on_all_ranks);

/** The call failed: no result (not collective). */
void dlp__reduce_abandon(dlp_reduce *r);

#endif
