/* The hot path of a parallel call: taking items (dlp__loop_take() and the
 * bookkeeping of done items in loop.h) and the range form's batches. */
#ifndef DLP_LIB_TAKE_H
#define DLP_LIB_TAKE_H

#include "loop.h"

/** The thread's first take in call L: a fresh position (its time-limit
 *  slot and trace recorder claimed). */
void dlp__pos_enter(struct dlp_loop *L, struct dlp__pos *pos);

/** The range form: the thread's next batch, items *first + m * stride for
 *  m < *count, all of one chunk of the cursor and of the thread's claim.
 *  Items a journal recorded as done are skipped, and a batch ends before
 *  the next of them. 0 when the thread has no more items. */
int dlp__take_range(struct dlp_loop *L, struct dlp__pos *pos, long *first, long *count);

/** The thread's range-form batch is done: its items count (less those that
 *  failed), the journal notes them (a failed item's ~i, noted when it
 *  failed, wins over its i in the same run), and the reduction's scratch is
 *  merged: a failed item's contribution is what the thread added for it. */
void dlp__finish_range(struct dlp_loop *L, struct dlp__pos *pos);

/** The journal's note of entry (done i or failed ~i) by the calling
 *  thread, in *js (its buffer, claimed when NULL). */
void dlp__loop_note(struct dlp_loop *L, struct dlp__jslot **js, long entry);

#endif
