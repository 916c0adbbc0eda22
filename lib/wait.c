/* Polite waiting on MPI requests (see wait.h). */
#include "wait.h"

#include <sched.h>

#include "loop.h"
#include "runtime.h"

#define SPIN_SECONDS 200e-6 /* test in a tight loop this long first */
#define YIELDS 100          /* then yield this often before sleeping */

int dlp__wait(MPI_Request *request)
{
    int flag = 0, rc;
    double until = dlp__now() + SPIN_SECONDS;
    unsigned yields = 0, sleep_us = 1;
    while ((rc = MPI_Test(request, &flag, MPI_STATUS_IGNORE)) == MPI_SUCCESS && !flag) {
        if (dlp__now() < until)
            continue;
        if (yields < YIELDS) {
            yields++;
            sched_yield();
        } else {
            dlp__sleep_us(sleep_us);
            sleep_us = sleep_us * 2 > DLP__WAIT_MAX_US ? DLP__WAIT_MAX_US : sleep_us * 2;
        }
    }
    return rc;
}
