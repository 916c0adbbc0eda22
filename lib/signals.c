/* SIGTERM and SIGINT during a parallel call (see signals.h). */
#include "signals.h"

#include <signal.h>
#include <stdio.h>

#include "cursor.h"
#include "doorbell.h"

static _Atomic int caught;
static _Atomic(struct dlp__cursor *) target;
static _Atomic(_Atomic int *) target_bell;

static const int catchable[2] = {SIGTERM, SIGINT};
static struct sigaction saved[2];
static int installed[2];

/* Async-signal-safe: lock-free atomics and a futex wake. */
static void on_signal(int sig)
{
    int none = 0;
    atomic_compare_exchange_strong(&caught, &none, sig);
    struct dlp__cursor *c = atomic_load(&target);
    if (c) {
        atomic_store(&c->stop, 1);
        dlp__doorbell_ring(&c->bell);
    }
    _Atomic int *bell = atomic_load(&target_bell);
    if (bell)
        dlp__doorbell_ring(bell);
}

void dlp__signals_catch(struct dlp__cursor *cursor, _Atomic int *bell)
{
    atomic_store(&target, cursor);
    atomic_store(&target_bell, bell);
    for (int k = 0; k < 2; k++) {
        struct sigaction now;
        installed[k] = 0;
        if (sigaction(catchable[k], NULL, &now) != 0 || now.sa_handler != SIG_DFL)
            continue; /* the program's own handler, or ignored: leave it */
        struct sigaction act;
        sigemptyset(&act.sa_mask);
        act.sa_flags = SA_RESTART;
        act.sa_handler = on_signal;
        if (sigaction(catchable[k], &act, &saved[k]) == 0)
            installed[k] = 1;
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
    atomic_store(&target_bell, NULL);
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
