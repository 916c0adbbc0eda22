/* The call's helper thread, kept from call to call (see helper.h).
 *
 * Hand-over (no lost wake-up, doorbell.h): the main thread publishes the
 * call (state RUN, seq_cst) and rings the helper's bell; the helper arms
 * its bell, looks at the state again and only then sleeps. At the body's
 * end the helper publishes DONE and rings the main thread's bell, which
 * the main thread arms and re-checks the same way. */
#include "helper.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "doorbell.h"
#include "error.h"
#include "slice.h"

enum { IDLE, RUN, DONE, QUIT };

static struct {
    pthread_t thread;
    int started;
    _Atomic int state;       /* IDLE, RUN, DONE, QUIT */
    _Atomic int bell;        /* the helper sleeps on it */
    _Atomic int done_bell;   /* the main thread sleeps on it */
    struct dlp_loop *job;    /* RUN: the call, written before the state */
    void *(*body)(void *);
} helper = {.state = IDLE};

/* The main thread's longest sleep while the helper runs a body, us: a
 * safety net only (the helper rings when it is done). */
#define DONE_NAP_US 100000u

static void *helper_main(void *unused)
{
    (void)unused;
    for (;;) {
        int s = atomic_load(&helper.state);
        if (s == QUIT)
            return NULL;
        if (s == RUN) {
            helper.body(helper.job);
            atomic_store(&helper.state, DONE);
            dlp__doorbell_ring(&helper.done_bell);
            continue;
        }
        dlp__doorbell_arm(&helper.bell);
        s = atomic_load(&helper.state);
        if (s == RUN || s == QUIT)
            dlp__doorbell_disarm(&helper.bell);
        else
            dlp__doorbell_sleep(&helper.bell);
    }
}

/* A child of fork() has no helper thread: a call there starts its own. */
static void forget_in_child(void)
{
    helper.started = 0;
    atomic_store(&helper.state, IDLE);
    atomic_store(&helper.bell, 0);
    atomic_store(&helper.done_bell, 0);
}

static int start(void)
{
    static int registered;
    if (!registered && pthread_atfork(NULL, NULL, forget_in_child) == 0)
        registered = 1;
    /* the thread inherits this mask: every signal blocked */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&helper.thread, NULL, helper_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return e;
    helper.started = 1;
    return 0;
}

int dlp__helper_run(struct dlp_loop *L, void *(*body)(void *))
{
    helper.job = L;
    helper.body = body;
    atomic_store(&helper.state, RUN);
    if (helper.started) {
        dlp__doorbell_ring(&helper.bell);
        return DLP_OK;
    }
    int e = start();
    if (e == 0)
        return DLP_OK;
    atomic_store(&helper.state, IDLE);
    char text[128];
    return dlp__fail(DLP_ERR_SYSTEM, L->func, "cannot start the %s thread (%s)",
                     body == dlp__dispatcher_main ? "dispatcher" : "node agent",
                     dlp__errno_text(e, text, sizeof text));
}

void dlp__helper_wait(void)
{
    while (atomic_load(&helper.state) == RUN) {
        dlp__doorbell_arm(&helper.done_bell);
        if (atomic_load(&helper.state) != RUN)
            dlp__doorbell_disarm(&helper.done_bell);
        else
            dlp__doorbell_wait(&helper.done_bell, DONE_NAP_US);
    }
    atomic_store(&helper.state, IDLE);
    helper.job = NULL;
}

void dlp__helper_stop(void)
{
    if (!helper.started)
        return;
    atomic_store(&helper.state, QUIT);
    dlp__doorbell_ring(&helper.bell);
    pthread_join(helper.thread, NULL);
    helper.started = 0;
    atomic_store(&helper.state, IDLE);
}

void dlp__helper_slice(unsigned us)
{
    static _Thread_local unsigned asked;
    static _Thread_local int once;
    if (once && us == asked)
        return;
    once = 1;
    asked = us;
    dlp__short_slice(us);
}
