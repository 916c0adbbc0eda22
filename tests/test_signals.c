/* SIGTERM and SIGINT from call to call (lib/parts/signals.c): the library's
 * handler goes in at the first call that catches and stays until
 * dlp_finalize(); between calls it passes a signal on to the disposition
 * it replaced. (A signal during a call, with the journal: test_journal.c
 * and tests/journal_kill.sh.)
 *
 *   - before the first call, and after a call with DLP_SIGNALS=0, the
 *     dispositions are the program's (the default) still;
 *   - after a call: the library's handler, during and after the call;
 *   - between calls, a signal ends the process with the default action: a
 *     child process (forked, no MPI) raises SIGTERM, SIGINT and is killed by
 *     it; the same from a body of a call with DLP_SIGNALS=0;
 *   - a handler the program installs after a call gets SIGTERM between
 *     calls and during one (the call is not interrupted);
 *   - after dlp_finalize(): SIGINT at the default again, SIGTERM still the
 *     program's handler (finalize puts back only what is still the
 *     library's).
 *
 * test_signals (any ranks, threads; with and without a launcher)
 */
#include "test_forms.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static _Atomic int g_own_calls;
static void own_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_own_calls, 1);
}

/* 0 the default, 1 the program's own handler, 2 another (the library's), 3 ignored */
static int disposition(int sig)
{
    struct sigaction now;
    if (sigaction(sig, NULL, &now) != 0)
        return -1;
    if (now.sa_handler == SIG_DFL)
        return 0;
    if (now.sa_handler == SIG_IGN)
        return 3;
    return now.sa_handler == own_handler ? 1 : 2;
}

static void set_default(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ASSERT_EQ(sigaction(sig, &dfl, NULL), 0);
}

/* A child process raises sig: the signal that ended it, or -1 when it was
 * not killed by a signal (it then exits with 0), -2 fork or wait failed. */
static int child_killed_by(int sig)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        raise(sig);
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -2;
    return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
}

struct seen {
    _Atomic int term, intr, fork_term, first;
    int fork_in_body, raise_in_body;
};

static int look_body(long i, void *vs)
{
    struct seen *s = vs;
    atomic_store(&s->term, disposition(SIGTERM));
    atomic_store(&s->intr, disposition(SIGINT));
    (void)i;
    if (atomic_exchange(&s->first, 1)) /* the rank's first item only */
        return 0;
    if (s->fork_in_body)
        atomic_store(&s->fork_term, child_killed_by(SIGTERM));
    if (s->raise_in_body)
        raise(SIGTERM);
    return 0;
}

/* A round-robin call of 2 items per rank, returning DLP_OK; the
 * dispositions of SIGTERM and SIGINT its bodies saw here, and after it:
 * term, intr (disposition()). */
static void call(struct seen *s, int term, int intr)
{
    atomic_store(&s->term, -1);
    atomic_store(&s->intr, -1);
    atomic_store(&s->fork_term, -1);
    atomic_store(&s->first, 0);
    ASSERT_OK(dlp_split_round_robin(2L * g_size, look_body, s, NULL));
    ASSERT_EQ(atomic_load(&s->term), term);
    ASSERT_EQ(atomic_load(&s->intr), intr);
    ASSERT_EQ(disposition(SIGTERM), term);
    ASSERT_EQ(disposition(SIGINT), intr);
}

int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    struct seen s = {0};
    /* the program's dispositions: the default (a launcher may ignore SIGINT) */
    set_default(SIGTERM);
    set_default(SIGINT);

    test_case("DLP_SIGNALS=0: no handler, during the call or after it");
    setenv("DLP_SIGNALS", "0", 1);
    call(&s, 0, 0);
    unsetenv("DLP_SIGNALS");

    test_case("the library's handler during the first call and after it");
    call(&s, 2, 2);

    test_case("between calls, SIGTERM/SIGINT end a process with the default action");
    ASSERT_EQ(child_killed_by(SIGTERM), SIGTERM);
    ASSERT_EQ(child_killed_by(SIGINT), SIGINT);

    test_case("in a call with DLP_SIGNALS=0, SIGTERM ends a process with the default action");
    setenv("DLP_SIGNALS", "0", 1);
    s.fork_in_body = 1;
    call(&s, 2, 2);
    s.fork_in_body = 0;
    unsetenv("DLP_SIGNALS");
    ASSERT_EQ(atomic_load(&s.fork_term), SIGTERM);

    test_case("a handler the program installs after a call gets SIGTERM, between calls");
    struct sigaction own;
    memset(&own, 0, sizeof own);
    own.sa_handler = own_handler;
    sigemptyset(&own.sa_mask);
    ASSERT_EQ(sigaction(SIGTERM, &own, NULL), 0);
    ASSERT_EQ(raise(SIGTERM), 0);
    ASSERT_EQ(atomic_load(&g_own_calls), 1);

    test_case("... and in a call, which is not interrupted");
    s.raise_in_body = 1;
    call(&s, 1, 2); /* DLP_OK on every rank */
    s.raise_in_body = 0;
    ASSERT_EQ(atomic_load(&g_own_calls), 2);

    test_case("after dlp_finalize: SIGINT at the default again, SIGTERM the program's");
    test_expect_end();
    int rank = g_rank;
    ASSERT_OK(dlp_finalize());
    int term = disposition(SIGTERM), intr = disposition(SIGINT);
    if (term != 1 || intr != 0) {
        fprintf(stderr,
                "test_signals: rank %d: after dlp_finalize, SIGTERM is %d (want 1, the "
                "program's handler), SIGINT %d (want 0, the default); 2 = the library's\n",
                rank, term, intr);
        return 1;
    }
    if (rank == 0)
        printf("test_signals: all cases passed\n");
    return 0;
}
