/* on_error = retry: after the first pass of a callback form, rounds that
 * run the failed items again, each on the next rank after the one where it
 * failed (the same rank when there is only one), up to opts.retries
 * rounds. Every rank learns every round's failed items (one allgather), so
 * the assignment needs no further messages; results of retried items are
 * then moved where the first pass would have left them (dense results: to
 * the rank that first failed the item; map: to the master). Items that
 * still fail after the last round are reported as under on_error = abort. */
#ifndef DLP_LIB_RETRY_H
#define DLP_LIB_RETRY_H

#include <stddef.h>

struct dlp_loop;

/* One round: the items this rank runs again. */
struct dlp__retry_round {
    int round;       /* 1 .. retries */
    long count;      /* items of the round on all ranks */
    long mine;       /* items this rank runs */
    long *item;      /* [mine] */
    int *origin;     /* [mine] rank that failed the item in the first pass */
    char *ok;        /* [mine] set by the caller: the run succeeded */
};

/** Collective, main thread, after every thread of the pass left: plan the
 *  next round from the failures recorded since the last one (which are
 *  forgotten: the round records its own). Returns 1 with a round to run, 0
 *  when nothing is left to retry or no round may run any more (the
 *  remaining failures then stand, reported as under abort). */
int dlp__retry_next(struct dlp_loop *L, struct dlp__retry_round *r);

/** After the round ran (collective): each rank sends to[k]'s bytes
 *  (len[k]) to rank k and receives what every rank sent it, as *in (malloc'd,
 *  free it) with in_len[k] bytes from rank k, in rank order. Errors abort
 *  the job (the ranks already agreed on the round). */
void dlp__retry_exchange(struct dlp_loop *L, char *const *to, const size_t *len, char **in,
                         size_t *in_len);

/** Free a round's lists. */
void dlp__retry_free(struct dlp__retry_round *r);

#endif
