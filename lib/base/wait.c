/* Polite waiting on MPI requests (see wait.h). */
#include "wait.h"

#include <sched.h>
#include <stdio.h>

#include "clock.h"
#include "dlp_mpi.h"
#include "identity.h"
#include "job_end.h"

#define SPIN_SECONDS (DLP__WAIT_SPIN_US * 1e-6) /* test in a tight loop this long first */
#define YIELDS 100          /* then yield this often before sleeping */

/* Seconds a rank waits in a collective before it says so (then twice as
 * long, and so on). */
#define ARRIVAL_WARN_S 60.0

/* The wait of dlp__wait_for() is long: say so, or end the job. */
static double arrival_late(const struct dlp__what *w, double waited, double limit,
                           double next_warn)
{
    char what[200];
    if (w->text)
        snprintf(what, sizeof what, "%s", w->text);
    else
        snprintf(what, sizeof what, "the start of %s (parallel call #%lu, n = %ld)", w->call,
                 w->seq, w->n);
    if (limit > 0 && waited >= limit) {
        fprintf(stderr,
                "dlp_mpi: rank %d (host %s) waited %.0f s (DLP_COLLECTIVE_TIMEOUT) in %s for "
                "ranks that did not call it; ranks that do not print this line are elsewhere "
                "in the program; aborting the job\n",
                dlp__identity_rank(), dlp__identity_host(), waited, what);
        /* the other waiting ranks say so too before the job ends */
        dlp__abort_job(DLP_EXIT_COLLECTIVE_TIMEOUT);
    }
    if (limit == 0 && waited >= next_warn) {
        fprintf(stderr,
                "dlp_mpi: rank %d (host %s) has waited %.0f s in %s for the other ranks to "
                "call it (ranks that do not print this line are elsewhere; set "
                "DLP_COLLECTIVE_TIMEOUT to end the job instead of waiting)\n",
                dlp__identity_rank(), dlp__identity_host(), waited, what);
        fflush(stderr);
        return next_warn * 2;
    }
    return next_warn;
}

int dlp__wait_arrival(MPI_Request *request, const char *what, double timeout)
{
    const struct dlp__what w = {.text = what};
    return dlp__wait_for(request, &w, timeout);
}

int dlp__test_request(void *op, int *done)
{
    return MPI_Test(op, done, MPI_STATUS_IGNORE);
}

int dlp__wait_for(MPI_Request *request, const struct dlp__what *what, double timeout)
{
    return dlp__wait_op_for(dlp__test_request, request, what, timeout);
}

int dlp__wait_op_for(dlp__test_fn *test, void *op, const struct dlp__what *what, double timeout)
{
    int flag = 0, rc;
    double limit = timeout > 0 ? timeout : 0;
    double t0 = dlp__now(), next_warn = ARRIVAL_WARN_S, checked = t0;
    unsigned sleep_us = 1;
    while ((rc = test(op, &flag)) == MPI_SUCCESS && !flag) {
        double now = dlp__now();
        if (now - checked >= 0.05) {
            checked = now;
            next_warn = arrival_late(what, now - t0, limit, next_warn);
        }
        if (now - t0 < SPIN_SECONDS) {
            continue;
        } else if (now - t0 < 1e-3) {
            sched_yield();
        } else {
            dlp__sleep_us(sleep_us);
            sleep_us = sleep_us * 2 > DLP__WAIT_MAX_US ? DLP__WAIT_MAX_US : sleep_us * 2;
        }
    }
    return rc;
}

int dlp__wait_bell(dlp__test_fn *test, void *op, long (*bell)(unsigned us))
{
    int flag = 0, rc;
    double until = dlp__now() + SPIN_SECONDS;
    unsigned yields = 0, sleep_us = 1;
    while ((rc = test(op, &flag)) == MPI_SUCCESS && !flag) {
        if (dlp__now() < until)
            continue;
        if (yields < YIELDS) {
            yields++;
            sched_yield();
        } else if (bell && bell(sleep_us) > 0) {
            until = dlp__now() + SPIN_SECONDS;
            yields = 0;
            sleep_us = 1;
        } else {
            if (!bell)
                dlp__sleep_us(sleep_us);
            sleep_us = sleep_us * 2 > DLP__WAIT_MAX_US ? DLP__WAIT_MAX_US : sleep_us * 2;
        }
    }
    return rc;
}

int dlp__wait(MPI_Request *request) { return dlp__wait_bell(dlp__test_request, request, NULL); }
