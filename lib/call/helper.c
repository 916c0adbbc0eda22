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
} h = {.state = IDLE};

/* The main thread's longest sleep while the helper runs a body, us: a
 * safety net only (the helper rings when it is done). */
#define DONE_NAP_US 100000u

static void *helper_main(void *unused)
{
    (void)unused;
    for (;;) {
        int s = atomic_load(&h.state);
        if (s == QUIT)
            return NULL;
        if (s == RUN) {
            h.body(h.job);
            atomic_store(&h.state, DONE);
            dlp__doorbell_ring(&h.done_bell);
            continue;
        }
        dlp__doorbell_arm(&h.bell);
        s = atomic_load(&h.state);
        if (s == RUN || s == QUIT)
            dlp__doorbell_disarm(&h.bell);
        else
            dlp__doorbell_sleep(&h.bell);
    }
}

/* A child of fork() has no helper thread: a call there starts its own. */
static void forget_in_child(void)
{
    h.started = 0;
    atomic_store(&h.state, IDLE);
    atomic_store(&h.bell, 0);
    atomic_store(&h.done_bell, 0);
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
    int e = pthread_create(&h.thread, NULL, helper_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return e;
    h.started = 1;
    return 0;
}

int dlp__helper_run(struct dlp_loop *L, void *(*body)(void *))
{
    h.job = L;
    h.body = body;
    atomic_store(&h.state, RUN);
    if (h.started) {
        dlp__doorbell_ring(&h.bell);
        return DLP_OK;
    }
    int e = start();
    if (e == 0)
        return DLP_OK;
    atomic_store(&h.state, IDLE);
    char text[128];
    return dlp__fail(DLP_ERR_SYSTEM, L->func, "cannot start the %s thread (%s)",
                     body == dlp__dispatcher_main ? "dispatcher" : "node agent",
                     dlp__errno_text(e, text, sizeof text));
}

void dlp__helper_wait(void)
{
    while (atomic_load(&h.state) == RUN) {
        dlp__doorbell_arm(&h.done_bell);
        if (atomic_load(&h.state) != RUN)
            dlp__doorbell_disarm(&h.done_bell);
        else
            dlp__doorbell_wait(&h.done_bell, DONE_NAP_US);
    }
    atomic_store(&h.state, IDLE);
    h.job = NULL;
}

void dlp__helper_stop(void)
{
    if (!h.started)
        return;
    atomic_store(&h.state, QUIT);
    dlp__doorbell_ring(&h.bell);
    pthread_join(h.thread, NULL);
    h.started = 0;
    atomic_store(&h.state, IDLE);
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
