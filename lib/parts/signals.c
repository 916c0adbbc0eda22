/* SIGTERM and SIGINT during a parallel call (see signals.h). */
#include "signals.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cursor.h"
#include "doorbell.h"
#include "identity.h"
#include "pmi_leave.h"
#include "runtime.h"

static _Atomic int caught;
/* the cursor of the call that catches; NULL between calls (and in a call
 * with DLP_SIGNALS=0): then a signal goes on to the replaced disposition */
static _Atomic(struct dlp__cursor *) target;

static const int catchable[2] = {SIGTERM, SIGINT};
/* what the handler replaced (the default), per signal; written before the
 * handler goes in */
static struct sigaction saved[2], saved_alarm;
static int looked;       /* the dispositions were looked at since dlp_init() */
static int installed[2]; /* the library's handler went in */
static _Atomic int alarm_set;
static unsigned grace_s;
/* written in advance: snprintf is not async-signal-safe */
static char notice[2][320], too_late[320];
static struct sigaction default_action;

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
    if (dlp__identity_size() == 1)
        dlp__pmi_leave(); /* else hydra may report 1 (pmi_leave.h) */
    _exit(73);
}

/* A signal no call catches goes where it would have gone without the
 * library: the replaced handler (with the same arguments), nowhere when it
 * was ignored, else the default action: restored and the signal raised
 * again, which is blocked in this handler and so delivered when it
 * returns (the process ends with the signal's status). */
static void pass_on(const struct sigaction *was, int sig, siginfo_t *info, void *uc)
{
    if (was->sa_handler == SIG_IGN)
        return;
    if (was->sa_handler == SIG_DFL) {
        if (sigaction(sig, &default_action, NULL) != 0 || raise(sig) != 0)
            _exit(128 + sig); /* (cannot fail) the status a shell shows for sig */
    } else if (was->sa_flags & SA_SIGINFO) {
        was->sa_sigaction(sig, info, uc);
    } else {
        was->sa_handler(sig);
    }
}

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    struct dlp__cursor *c = atomic_load(&target);
    if (!c) {
        pass_on(&saved[sig == SIGINT], sig, info, uc);
        return;
    }
    int none = 0;
    if (!atomic_compare_exchange_strong(&caught, &none, sig))
        return; /* the first one counts */
    atomic_store(&c->stop, 1);
    dlp__doorbell_ring(&c->bell);
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

/* The first catching call: the handler goes in where the disposition is
 * the default (a handler of the program's, or ignored, stays). Looked at
 * once: a disposition the program sets later wins (signals.h). */
static void install(void)
{
    looked = 1;
    dlp__pmi_leave_prepare(); /* (for on_alarm) */
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    struct sigaction act;
    memset(&act, 0, sizeof act);
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_RESTART | SA_SIGINFO;
    act.sa_sigaction = on_signal;
    for (int k = 0; k < 2; k++)
        installed[k] = sigaction(catchable[k], NULL, &saved[k]) == 0 &&
                       saved[k].sa_handler == SIG_DFL &&
                       sigaction(catchable[k], &act, NULL) == 0;
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
    if (!looked)
        install();
    atomic_store(&target, cursor); /* after the notices: the handler reads them */
}

void dlp__signals_release(void)
{
    atomic_store(&target, NULL);
    if (atomic_exchange(&alarm_set, 0)) {
        alarm(0);
        sigaction(SIGALRM, &saved_alarm, NULL);
    }
}

void dlp__signals_restore(void)
{
    dlp__signals_release();
    for (int k = 0; k < 2; k++) {
        struct sigaction now;
        if (installed[k] && sigaction(catchable[k], NULL, &now) == 0 &&
            now.sa_sigaction == on_signal)
            sigaction(catchable[k], &saved[k], NULL);
        installed[k] = 0;
    }
    looked = 0;
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
