/* Waiting for MPI requests without spinning a core: MPICH's blocking calls
 * busy-poll, which on an oversubscribed node (more ranks or threads than
 * cores) takes the CPU from the very ranks being waited for. */
#ifndef DLP_LIB_WAIT_H
#define DLP_LIB_WAIT_H

#include <mpi.h>

/** Cap of the backoff of a waiting team thread or collective, microseconds. */
#define DLP__WAIT_MAX_US 200u

/** A wait tests its request in a tight loop this long, microseconds, before
 *  it yields and then sleeps (or sleeps on its bell): a rank that has
 *  waited less than this needs no wake-up. */
#define DLP__WAIT_SPIN_US 200u

/** Complete request: test it for a few microseconds, then yield, then sleep
 *  with a backoff capped at DLP__WAIT_MAX_US. Returns the MPI status code. */
int dlp__wait(MPI_Request *request);

/** Like dlp__wait() for a collective that every rank must enter (the start
 *  of a parallel call, dlp_gather, dlp_bcast ...), where a rank that never
 *  calls it would hang the others. `what` names it for the messages, e.g.
 *  "the start of dlp_split_managed (call #3, n = 100)". After 60 s, then
 *  120, 240 ... a waiting rank says on stderr what it waits in; with a
 *  timeout (seconds > 0: DLP_COLLECTIVE_TIMEOUT, dlp__rt.collective_timeout)
 *  it aborts the job after that long instead. Every waiting rank prints its
 *  own line, so the ranks that are elsewhere (or in another collective,
 *  which they then name) stand out. */
int dlp__wait_arrival(MPI_Request *request, const char *what, double timeout);

/** What a collective waits for, for dlp__wait_for()'s messages, written
 *  only when one is due: text, or when text is NULL "the start of <call>
 *  (parallel call #<seq>, n = <n>)". */
struct dlp__what {
    const char *text;
    const char *call;
    unsigned long seq;
    long n;
};

/** dlp__wait_arrival() naming the wait by *what. */
int dlp__wait_for(MPI_Request *request, const struct dlp__what *what, double timeout);

/** The test of a pending operation that is not one MPI request (e.g. an
 *  exchange, exchange.h): returns an MPI status code, and *done = 1 once
 *  op has completed. */
typedef int dlp__test_fn(void *op, int *done);

/** The dlp__test_fn of one MPI request (op: an MPI_Request). */
int dlp__test_request(void *op, int *done);

/** dlp__wait_for() of the operation op, tested by test. */
int dlp__wait_op_for(dlp__test_fn *test, void *op, const struct dlp__what *what, double timeout);

/** dlp__wait() of the operation op (tested by test) that sleeps in
 *  bell(us) instead of a plain sleep: bell waits up to us microseconds for
 *  a wake-up and returns > 0 when one came, which starts the spinning over
 *  (NULL: dlp__wait()'s sleep). */
int dlp__wait_bell(dlp__test_fn *test, void *op, long (*bell)(unsigned us));

#endif
