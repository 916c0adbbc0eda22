/* SIGTERM and SIGINT during a parallel call (see signals.h). */
#include "signals.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "doorbell.h"
#include "runtime.h"

static _Atomic int caught;
static _Atomic(struct dlp__cursor *) target;

static const int catchable[2] = {SIGTERM, SIGINT};
static struct sigaction saved[2], saved_alarm;
static int installed[2];
static _Atomic int alarm_set;
static unsigned grace_s;
/* written in advance: snprintf is not async-signal-safe */
static char notice[2][320], too_late[320];

static void say(const char *text)
{
    ssize_t w = write(STDERR_FILENO, text, strlen(text));
    (void)w;
}

/* The grace time is over and the call still runs. */
static void on_alarm(int sig)
{
    (void)sig;
    say(too_late);
    _exit(73);
}

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    int k = sig == SIGINT;
    if (saved[k].sa_handler != SIG_DFL) {
        /* the program's own handler, caught in the moment the library's
         * stood in for it (dlp__signals_catch): it is the program's */
        if (saved[k].sa_flags & SA_SIGINFO)
            saved[k].sa_sigaction(sig, info, uc);
        else if (saved[k].sa_handler != SIG_IGN)
            saved[k].sa_handler(sig);
        return;
    }
    int none = 0;
    if (!atomic_compare_exchange_strong(&caught, &none, sig))
        return; /* the first one counts */
    struct dlp__cursor *c = atomic_load(&target);
    if (c) {
        atomic_store(&c->stop, 1);
        dlp__doorbell_ring(&c->bell);
    }
    if (!c)
        return;
    say(notice[sig == SIGINT]);
    struct sigaction act;
    memset(&act, 0, sizeof act);
    sigemptyset(&act.sa_mask);
    act.sa_handler = on_alarm;
    if (sigaction(SIGALRM, &act, &saved_alarm) == 0) {
        atomic_store(&alarm_set, 1);
        alarm(grace_s);
    }
}

/* The messages for func and the grace time, written when they change. */
static void write_notices(const char *func, unsigned grace)
{
    static const char *written_func;
    static unsigned written_grace;
    if (func == written_func && grace == written_grace)
        return;
    written_func = func;
    written_grace = grace;
    grace_s = grace;
    for (int k = 0; k < 2; k++)
        if (dlp__rt.rank == 0)
            snprintf(notice[k], sizeof notice[k],
                     "dlp_mpi: %s: %s: no more items are handed out; running items get up to "
                     "%u s to finish (DLP_GRACE)\n",
                     func, k ? "SIGINT" : "SIGTERM", grace_s);
        else
            notice[k][0] = '\0';
    snprintf(too_late, sizeof too_late,
             "dlp_mpi: %s: the call has not ended on rank %d (host %s) %u s after "
             "SIGTERM/SIGINT (DLP_GRACE: items still run here or on other ranks); ending "
             "the job\n",
             func, dlp__rt.rank, dlp__rt.host, grace_s);
}

void dlp__signals_catch(struct dlp__cursor *cursor, double grace, const char *func)
{
    double g = ceil(grace);
    write_notices(func, g < 1 ? 1u : g > 1e6 ? 1000000u : (unsigned)g);
    atomic_store(&target, cursor);
    struct sigaction act;
    memset(&act, 0, sizeof act);
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_RESTART | SA_SIGINFO;
    act.sa_sigaction = on_signal;
    /* One system call per signal: the library's handler goes in, the
     * disposition it replaced comes out; the program's own handler (or
     * ignored) is put back at once (its signal in between is passed on
     * by on_signal). */
    for (int k = 0; k < 2; k++) {
        installed[k] = 0;
        if (sigaction(catchable[k], &act, &saved[k]) != 0)
            continue;
        if (saved[k].sa_handler == SIG_DFL)
            installed[k] = 1;
        else
            sigaction(catchable[k], &saved[k], NULL);
    }
}

void dlp__signals_release(void)
{
    for (int k = 0; k < 2; k++)
        if (installed[k]) {
            sigaction(catchable[k], &saved[k], NULL);
            installed[k] = 0;
        }
    atomic_store(&target, NULL);
    if (atomic_exchange(&alarm_set, 0)) {
        alarm(0);
        sigaction(SIGALRM, &saved_alarm, NULL);
    }
}

int dlp__signal_caught(void) { return atomic_load(&caught); }

const char *dlp__signal_name(int sig, char *buf, unsigned len)
{
    if (sig == SIGTERM)
        return "SIGTERM";
    if (sig == SIGINT)
        return "SIGINT";
    snprintf(buf, len, "signal %d", sig);
    return buf;
}
