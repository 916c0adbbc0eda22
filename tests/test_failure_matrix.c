/* The failure matrix: one failing item per call, in every combination of
 *   - policy: on_error = abort; skip; retry=1 where the item fails only the
 *     first time it runs (transient); retry=1 where it fails every time
 *     (exhausted: then reported as under abort, "retry 1 of 1");
 *   - position: the first item the designated thread runs at or after
 *     pos = 0 (first), n/2 (middle), n - n/10 (last);
 *   - rank: the master (0) or a worker (size - 1);
 *   - thread: 0 or the last one (threads - 1);
 * 48 cases, each one call inside this one job. The call form rotates with
 * the case over dlp_split_managed, dlp_split_round_robin, the loop form
 * (managed, dlp_loop_fail) and dlp_map_unordered (work fails); the loop form
 * has no body the library could run again, so a retry case that lands on it
 * uses dlp_split_managed (and a separate case checks that the loop form
 * refuses retry with DLP_ERR_OPTION). With 1 rank the worker is the master,
 * with 1 thread the last thread is thread 0: those cases still run, named
 * as duplicates.
 *
 * Placement is dynamic, so the designated (rank, thread) fails at the first
 * item >= pos it runs. To get it there for sure, it runs every item at once
 * while every other thread holds its item until the designated thread has
 * failed (it tells the other ranks with a synchronous message on a
 * communicator of the test's own) or a deadline has passed: the others take
 * one item each, the designated thread the rest up to its failure. (Merely
 * slowing the others down from pos on is not enough: on two nodes the
 * master's node, which refills without messages, and the designated
 * thread's own neighbours would take the few late items first.) A
 * designated thread that never ran an item >= pos makes the case fail as
 * "not reached". So the failure comes while the other threads (those that
 * got an item) each hold one, which ends 2 ms after they learn of it (the
 * figure below includes that); under abort an item that starts later still
 * takes 1 ms (the call should not have handed it out: each line says how
 * many items ran).
 *
 * Checks per case: the status on every rank, the report (item, rank,
 * thread, host, message), dlp_failures(), the runs of every item summed over
 * the ranks, where the retry ran ((R + 1) % size), and for the map what
 * on_result saw. A failed check does not end the job: the other cases still
 * run and the test fails at the end. Timing is printed, never asserted: the
 * failing thread stamps test_now() when it fails (CLOCK_MONOTONIC, the same
 * clock for every process of one machine), every rank when its call
 * returns; the figure is the last return minus the failure. */
#include "test_forms.h"

#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>

static int g_nodes;
static char (*g_hosts)[MPI_MAX_PROCESSOR_NAME]; /* [size] */
static MPI_Comm g_side;                          /* the designated thread's notes */

/* ------------------------------------------------------------- checks -- */

enum { POLICIES = 4, WHERES = 3, CASES = POLICIES * WHERES * 4 };

static int g_case_bad[CASES]; /* EXPECT_* failed on this rank, per case */

/* ------------------------------------------------------------ a case -- */

enum policy { P_ABORT, P_SKIP, P_TRANSIENT, P_EXHAUSTED };
static const char *const policy_name[POLICIES] = {
    "abort", "skip", "retry=1, fails once", "retry=1, fails every time"};
enum where { W_FIRST, W_MIDDLE, W_LAST };
static const char *const where_name[WHERES] = {"first", "middle", "last"};
/* the forms the cases rotate over (tests/test_forms.h) */
static const int matrix_forms[] = {TEST_MANAGED, TEST_ROUND_ROBIN, TEST_LOOP_MANAGED, TEST_MAP};
#define FORMS ((int)(sizeof matrix_forms / sizeof *matrix_forms))

/* the function a form's report names */
static const char *form_func(int form)
{
    return test_form_loop(form) ? "dlp_loop_end" : test_form_call(form);
}

#define HOLD_S 1.0        /* the longest the other threads hold an item */
#define GRACE_US 2000     /* ... and how long after they learn of the failure */
#define LATE_US 1000      /* abort: an item started after the failure was known */
#define BODY_FAILS 3      /* a body's status when it fails (the map's work: the body) */

struct fm_case {
    int index, policy, where, form;
    long n, pos;
    int R, T;                /* the designated rank and thread */
    double deadline;         /* holding ends then (this rank's clock) */
    int *ran;                /* [n] runs on this rank */
    int *seen;               /* [n] on_result calls (master) */
    _Atomic long known;      /* 1 + the item the designated thread failed, as this rank
                                knows it (0: not yet) */
    _Atomic int fired;       /* rank R: the designated thread failed */
    double t_fail;           /* rank R: when */
    _Atomic long refails;    /* runs that failed because the item had failed before */
    _Atomic long refail_item, refail_thread;
    _Atomic long bad;        /* items out of range, wrong map results, failed sends */
    long note;               /* ranks other than R: the item R's note carries */
    MPI_Request note_req;
    pthread_mutex_t note_lock;
};

/* What this rank knows of the designated failure: the item, or -1. Other
 * ranks learn it from R's note (one thread tests the request at a time). */
static long known_failure(struct fm_case *c)
{
    long k = atomic_load(&c->known);
    if (k || g_rank == c->R)
        return k - 1;
    int done = 0;
    pthread_mutex_lock(&c->note_lock);
    if (MPI_Test(&c->note_req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        atomic_fetch_add(&c->bad, 1);
    if (done && c->note >= 0)
        atomic_store(&c->known, c->note + 1);
    pthread_mutex_unlock(&c->note_lock);
    return atomic_load(&c->known) - 1;
}

/* The designated thread fails item i: every other rank is told
 * synchronously (so the rank that runs the retry knows it before the first
 * pass ends everywhere), then the failure is stamped. */
static void fire(struct fm_case *c, long i)
{
    for (int q = 0; q < g_size; q++)
        if (q != c->R && MPI_Ssend(&i, 1, MPI_LONG, q, c->index + 1, g_side) != MPI_SUCCESS)
            atomic_fetch_add(&c->bad, 1);
    c->t_fail = test_now();
    atomic_store(&c->fired, 1);
    atomic_store(&c->known, i + 1);
}

/* A thread other than the designated one: hold the item until the
 * designated thread has failed (then GRACE_US more: it is told before its
 * body returns, and the library must get the failure before the others
 * take more items), or the deadline. Under abort an item that starts after
 * the failure is known is work the failure should have stopped: it takes
 * LATE_US, so that it shows in the time to the last return. */
static void hold(struct fm_case *c)
{
    if (known_failure(c) >= 0) {
        if (c->policy == P_ABORT)
            test_sleep_us(LATE_US);
        return;
    }
    long us = 50;
    while (known_failure(c) < 0 && test_now() < c->deadline) {
        test_sleep_us(us);
        us = us < 400 ? 2 * us : 400;
    }
    if (known_failure(c) >= 0)
        test_sleep_us(GRACE_US);
}

/* Run item i on this rank; 1 when it fails. */
static int run_item(struct fm_case *c, long i)
{
    if (i < 0 || i >= c->n) {
        atomic_fetch_add(&c->bad, 1);
        return 0;
    }
    int t = omp_get_thread_num();
    __atomic_fetch_add(&c->ran[i], 1, __ATOMIC_RELAXED);
    int designated = g_rank == c->R && t == c->T;
    if (!designated)
        hold(c);
    if (c->policy == P_EXHAUSTED && i >= c->pos && known_failure(c) == i) {
        atomic_fetch_add(&c->refails, 1); /* the retry: fails again */
        atomic_store(&c->refail_item, i);
        atomic_store(&c->refail_thread, t);
        return 1;
    }
    if (designated && i >= c->pos && !atomic_load(&c->fired)) {
        fire(c, i);
        return 1;
    }
    return 0;
}

static int body(long i, void *vc)
{
    return run_item(vc, i) ? BODY_FAILS : 0;
}

static int on_result(long i, const void *data, size_t len, void *vc)
{
    struct fm_case *c = vc;
    long got = -1;
    if (len == sizeof got)
        memcpy(&got, data, sizeof got);
    if (g_rank != 0 || i < 0 || i >= c->n || got != i)
        atomic_fetch_add(&c->bad, 1);
    else
        c->seen[i]++;
    return 0;
}

static int run_form(struct fm_case *c, const dlp_opts *opts)
{
    struct test_call call = {c->form, c->n, body, c, opts, g_threads, on_result};
    return test_run_call(&call);
}

/* The message of the failure of item i (first == the first failure). */
static void failure_message(const struct fm_case *c, long i, int first, char *buf, size_t len)
{
    const char *who = c->form == TEST_MAP ? "work" : "body";
    if (test_form_loop(c->form))
        snprintf(buf, len, TEST_LOOP_FAIL_FMT, i, BODY_FAILS);
    else if (first)
        snprintf(buf, len, "%s returned %d", who, BODY_FAILS);
    else
        snprintf(buf, len, "%s returned %d (retry 1 of 1; it failed first on rank %d)", who,
                 BODY_FAILS, c->R);
}

/* ------------------------------------------------------- the checks -- */

/* What the ranks saw, summed over them after the call. */
struct outcome {
    long *runs;        /* [n] */
    long failed;       /* the designated failure's item, -1: not reached */
    long refails;      /* runs that failed again, and the last of them: */
    int refail_rank, refail_thread;
    long refail_item;
    long bad;
    long *f_runs;      /* [size] runs of the failed item on each rank */
    double t_fail, t_return; /* the failure, the last rank's return */
};

static void outcome_build(struct fm_case *c, double t_return, struct outcome *o)
{
    size_t n = (size_t)c->n, S = (size_t)g_size, cells = n + 6 + S;
    long *mine = calloc(cells, sizeof *mine), *all = calloc(cells, sizeof *all);
    ASSERT_TRUE(mine && all);
    long f = g_rank == c->R ? (atomic_load(&c->fired) ? atomic_load(&c->known) - 1 : -1) : c->note;
    for (size_t i = 0; i < n; i++)
        mine[i] = c->ran[i];
    long refails = atomic_load(&c->refails);
    mine[n] = g_rank == c->R ? f + 1 : 0;
    mine[n + 1] = refails;
    mine[n + 2] = refails ? g_rank + 1 : 0;
    mine[n + 3] = refails ? atomic_load(&c->refail_thread) + 1 : 0;
    mine[n + 4] = refails ? atomic_load(&c->refail_item) + 1 : 0;
    mine[n + 5] = atomic_load(&c->bad);
    if (f >= 0)
        mine[n + 6 + (size_t)g_rank] = c->ran[f];
    ASSERT_MPI(MPI_Allreduce(mine, all, (int)cells, MPI_LONG, MPI_SUM, dlp_comm()));
    double tm[2] = {g_rank == c->R && f >= 0 ? c->t_fail : 0.0, t_return}, tall[2];
    ASSERT_MPI(MPI_Allreduce(tm, tall, 2, MPI_DOUBLE, MPI_MAX, dlp_comm()));
    o->runs = malloc(n * sizeof *o->runs);
    o->f_runs = malloc(S * sizeof *o->f_runs);
    ASSERT_TRUE(o->runs && o->f_runs);
    memcpy(o->runs, all, n * sizeof *o->runs);
    memcpy(o->f_runs, all + n + 6, S * sizeof *o->f_runs);
    o->failed = all[n] - 1;
    o->refails = all[n + 1];
    o->refail_rank = (int)all[n + 2] - 1;
    o->refail_thread = (int)all[n + 3] - 1;
    o->refail_item = all[n + 4] - 1;
    o->bad = all[n + 5];
    o->t_fail = tall[0];
    o->t_return = tall[1];
    free(mine);
    free(all);
}

/* The report and dlp_failures() name item i, rank r, thread t, message msg. */
static void check_report(const struct fm_case *c, int rc, int want, long i, int r, int t,
                         const char *msg)
{
    EXPECT(rc == want, "the call returned %d (%s), expected %d (%s); dlp_last_error(): %s", rc,
          dlp_strerror(rc), want, dlp_strerror(want), dlp_last_error());
    const dlp_failure *list = NULL;
    long count = dlp_failures(&list);
    if (want == DLP_OK) {
        EXPECT_EQ(count, 0);
        EXPECT(list == NULL, "dlp_failures() returned 0 but set a list");
        return;
    }
    const char *host = r >= 0 && r < g_size ? g_hosts[r] : "(no such rank)";
    char text[1024];
    if (want == DLP_SKIPPED)
        snprintf(text, sizeof text, "%s: 1 item failed and was skipped (dlp_failures() lists "
                 "them); the first: item %ld on rank %d, thread %d, host %s: %s",
                 form_func(c->form), i, r, t, host, msg);
    else
        snprintf(text, sizeof text, "%s: item %ld failed on rank %d, thread %d, host %s: %s [",
                 form_func(c->form), i, r, t, host, msg);
    EXPECT_CONTAINS(dlp_last_error(), text);
    EXPECT_EQ(count, 1);
    EXPECT_EQ(dlp_failures_listed(), 1);
    if (!list || count < 1)
        return;
    EXPECT(list->item == i && list->rank == r && list->thread == t && list->code == DLP_ERR_ITEM,
          "the record is item %ld, rank %d, thread %d, code %d; expected item %ld, rank %d, "
          "thread %d, code %d", list->item, list->rank, list->thread, list->code, i, r, t,
          DLP_ERR_ITEM);
    EXPECT(strcmp(list->host, host) == 0, "the record's host is \"%s\", expected \"%s\"",
          list->host, host);
    EXPECT_CONTAINS(list->message, msg);
}

/* Run counts (checked on the master: the sums are the same everywhere). */
static void check_runs(const struct fm_case *c, const struct outcome *o)
{
    long f = o->failed;
    int twice = c->policy == P_TRANSIENT || c->policy == P_EXHAUSTED;
    for (long i = 0; i < c->n; i++) {
        long want = i == f && twice ? 2 : 1;
        if (c->policy == P_ABORT ? o->runs[i] > 1 || (i == f && o->runs[i] != 1)
                                 : o->runs[i] != want) {
            EXPECT(0, "item %ld ran %ld times over the ranks, expected %s%ld (first such item)",
                  i, o->runs[i], c->policy == P_ABORT && i != f ? "at most " : "", want);
            break;
        }
    }
    if (twice) { /* the second run on the next rank */
        int next = (c->R + 1) % g_size;
        for (int q = 0; q < g_size; q++) {
            long want = (q == c->R) + (q == next);
            EXPECT(o->f_runs[q] == want, "item %ld ran %ld times on rank %d, expected %ld (it "
                  "failed on rank %d, the retry runs on rank %d)", f, o->f_runs[q], q, want,
                  c->R, next);
        }
    }
    EXPECT_EQ(o->refails, c->policy == P_EXHAUSTED ? 1 : 0);
    if (c->form != TEST_MAP)
        return;
    for (long i = 0; i < c->n; i++) {
        int ok = i == f && c->policy != P_TRANSIENT ? c->seen[i] == 0
                 : c->policy == P_ABORT            ? c->seen[i] <= o->runs[i]
                                                   : c->seen[i] == 1;
        if (!ok) {
            EXPECT(0, "on_result saw item %ld %d times (it ran %ld times; first such item)", i,
                  c->seen[i], o->runs[i]);
            break;
        }
    }
}

static void check_case(struct fm_case *c, int rc, const struct outcome *o)
{
    EXPECT_EQ(o->bad, 0);
    if (o->failed < 0) { /* every rank knows: the same collectives follow */
        EXPECT(0, "not reached: rank %d, thread %d ran no item >= %ld of n = %ld, so nothing "
              "failed (the call returned %d: %s)", c->R, c->T, c->pos, c->n, rc,
              dlp_strerror(rc));
        return;
    }
    long f = o->failed;
    char msg[256];
    failure_message(c, f, 1, msg, sizeof msg);
    switch (c->policy) {
    case P_ABORT: check_report(c, rc, DLP_ERR_ITEM, f, c->R, c->T, msg); break;
    case P_SKIP: check_report(c, rc, DLP_SKIPPED, f, c->R, c->T, msg); break;
    case P_TRANSIENT: check_report(c, rc, DLP_OK, f, c->R, c->T, msg); break;
    default:
        failure_message(c, f, 0, msg, sizeof msg);
        EXPECT(o->refail_item == f && o->refail_rank == (c->R + 1) % g_size,
              "the second run that failed: item %ld on rank %d, expected item %ld on rank %d",
              o->refail_item, o->refail_rank, f, (c->R + 1) % g_size);
        check_report(c, rc, DLP_ERR_ITEM, f, o->refail_rank, o->refail_thread, msg);
        break;
    }
    if (g_rank == 0)
        check_runs(c, o);
}

/* ------------------------------------------------------ the cases -- */

static int g_timed;                       /* samples so far (master) */
static double g_ms[CASES];                /* failure to the last return, ms */
static int g_ms_policy[CASES];

static void case_name(const struct fm_case *c, int form_wanted, char *buf, size_t len)
{
    int worker = c->index % 4 / 2;
    int n = snprintf(buf, len, "%02d: %s, %s item (pos %ld of n = %ld), %s rank %d, thread %d, %s",
                     c->index, policy_name[c->policy], where_name[c->where], c->pos, c->n,
                     worker ? "worker" : "master", c->R, c->T, test_form_name(c->form));
    if (c->form != form_wanted && n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " (retry: the loop form refuses it)");
    if (g_size == 1 && worker && n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, "; duplicate: with 1 rank the worker is the master");
    if (g_threads == 1 && c->index % 2 && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "; duplicate: with 1 thread the last thread is 0");
}

static void run_case(int index)
{
    struct fm_case c;
    memset(&c, 0, sizeof c);
    c.index = index;
    c.policy = index / (WHERES * 4);
    c.where = index / 4 % WHERES;
    int rt = index % 4; /* worker: bit 1, last thread: bit 0 */
    c.R = rt & 2 ? g_size - 1 : 0;
    c.T = rt & 1 ? g_threads - 1 : 0;
    /* the form rotates: every (policy, position) sees each form once, and so
     * does every (rank, thread) over the positions and policies */
    int form_wanted = matrix_forms[(rt + c.where + c.policy) % FORMS];
    c.form = test_form_loop(form_wanted) && c.policy >= P_TRANSIENT ? TEST_MANAGED : form_wanted;
    c.n = 60 + (index * 37) % 61;
    c.pos = c.where == W_FIRST ? 0 : c.where == W_MIDDLE ? c.n / 2 : c.n - c.n / 10;
    c.ran = calloc((size_t)c.n, sizeof *c.ran);
    c.seen = calloc((size_t)c.n, sizeof *c.seen);
    ASSERT_TRUE(c.ran && c.seen);
    pthread_mutex_init(&c.note_lock, NULL);
    c.note = -1;
    c.note_req = MPI_REQUEST_NULL;

    char name[512];
    case_name(&c, form_wanted, name, sizeof name);
    test_case(name);
    int failed_before = test_expect_failed_here();

    dlp_opts o = DLP_OPTS_INIT;
    o.progress = DLP_PROGRESS_OFF;
    o.on_error = c.policy == P_ABORT ? DLP_ON_ERROR_ABORT
                 : c.policy == P_SKIP ? DLP_ON_ERROR_SKIP
                                      : DLP_ON_ERROR_RETRY;
    o.retries = c.policy >= P_TRANSIENT ? 1 : 0;
    if (g_rank != c.R)
        ASSERT_MPI(MPI_Irecv(&c.note, 1, MPI_LONG, c.R, index + 1, g_side, &c.note_req));
    c.deadline = test_now() + HOLD_S;
    int rc = run_form(&c, &o);
    double t_return = test_now();
    /* the note always arrives: R sends -1 when its thread never failed */
    if (g_rank == c.R && !atomic_load(&c.fired)) {
        long none = -1;
        for (int q = 0; q < g_size; q++)
            if (q != c.R)
                ASSERT_MPI(MPI_Send(&none, 1, MPI_LONG, q, index + 1, g_side));
    }
    ASSERT_MPI(MPI_Wait(&c.note_req, MPI_STATUS_IGNORE));

    struct outcome out;
    outcome_build(&c, t_return, &out);
    check_case(&c, rc, &out);
    if (g_rank == 0 && out.failed >= 0) {
        g_ms[g_timed] = 1e3 * (out.t_return - out.t_fail);
        g_ms_policy[g_timed++] = c.policy;
        long runs = 0;
        for (long i = 0; i < c.n; i++)
            runs += out.runs[i];
        printf("    item %ld failed; the last rank returned %.2f ms later; %ld runs of the %ld "
               "items; report: %s\n", out.failed, 1e3 * (out.t_return - out.t_fail), runs, c.n,
               rc ? dlp_last_error() : "(none)");
        fflush(stdout);
    }
    g_case_bad[index] = test_expect_failed_here() - failed_before;
    free(out.runs);
    free(out.f_runs);
    pthread_mutex_destroy(&c.note_lock);
    free(c.ran);
    free(c.seen);
}

/* The loop form refuses on_error = retry (opts and DLP_ON_ERROR) on every
 * rank, before any item runs. */
static void check_loop_refuses_retry(void)
{
    for (int env = 0; env < 2; env++) {
        test_case(env ? "the loop form refuses DLP_ON_ERROR=retry=1"
                      : "the loop form refuses opts.on_error = retry");
        dlp_opts o = DLP_OPTS_INIT;
        o.progress = DLP_PROGRESS_OFF;
        if (env)
            setenv("DLP_ON_ERROR", "retry=1", 1);
        else
            o.on_error = DLP_ON_ERROR_RETRY;
        dlp_loop *loop = NULL;
        int rc = dlp_loop_begin(&loop, 50, &o);
        unsetenv("DLP_ON_ERROR");
        EXPECT(rc == DLP_ERR_OPTION, "dlp_loop_begin returned %d (%s), expected %d (%s)", rc,
              dlp_strerror(rc), DLP_ERR_OPTION, dlp_strerror(DLP_ERR_OPTION));
        EXPECT_CONTAINS(dlp_last_error(), "retry");
        EXPECT(loop == NULL, "dlp_loop_begin failed but set *loop");
        if (loop) { /* (only after a failed check: keep the ranks in step) */
            long i;
            while (dlp_loop_next(loop, &i))
                ;
            dlp_loop_end(&loop);
        }
        EXPECT_EQ(dlp_failures(NULL), 0);
        if (g_rank == 0) {
            printf("    report: %s\n", dlp_last_error());
            fflush(stdout);
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* "median X ms, min Y, max Z" of the samples of one policy (-1: all). */
static void summary(int policy, char *buf, size_t len)
{
    double v[CASES];
    int k = 0;
    for (int s = 0; s < g_timed; s++)
        if (policy < 0 || g_ms_policy[s] == policy)
            v[k++] = g_ms[s];
    if (k == 0) {
        snprintf(buf, len, "no samples");
        return;
    }
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    double median = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
    snprintf(buf, len, "median %.2f ms, min %.2f, max %.2f", median, v[0], v[k - 1]);
}

int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    for (int a = 1; a < argc; a++)
        TEST_FAIL("unknown argument \"%s\"", argv[a]);
    g_nodes = dlp_nodes();
    char host[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    ASSERT_MPI(MPI_Get_processor_name(host, &len));
    g_hosts = calloc((size_t)g_size, sizeof *g_hosts);
    ASSERT_NOT_NULL(g_hosts);
    ASSERT_MPI(MPI_Allgather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, g_hosts,
                             MPI_MAX_PROCESSOR_NAME, MPI_CHAR, dlp_comm()));
    ASSERT_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &g_side));
    double t0 = test_now();

    check_loop_refuses_retry();
    for (int k = 0; k < CASES; k++)
        run_case(k);

    int bad_cases[CASES];
    ASSERT_MPI(MPI_Allreduce(g_case_bad, bad_cases, CASES, MPI_INT, MPI_MAX, dlp_comm()));
    int checks = test_expect_failed_all();
    test_case("end");
    if (g_rank == 0) {
        int passed = 0;
        for (int k = 0; k < CASES; k++)
            passed += bad_cases[k] == 0;
        char all[128], per[128];
        summary(-1, all, sizeof all);
        printf("failure matrix: %d cases passed; time from failure to the last rank's return: "
               "%s (layout: %d ranks x %d threads, %d nodes)\n",
               passed, all, g_size, g_threads, g_nodes);
        for (int p = 0; p < POLICIES; p++) {
            summary(p, per, sizeof per);
            printf("    %s: %s\n", policy_name[p], per);
        }
        printf("test_failure_matrix: %d of %d cases passed, %d failed check(s), %.1f s\n",
               passed, CASES, checks, test_now() - t0);
        fflush(stdout);
    }
    if (checks)
        TEST_FAIL("%d check(s) failed above (\"the run goes on\")", checks);
    ASSERT_MPI(MPI_Comm_free(&g_side));
    free(g_hosts);
    ASSERT_OK(dlp_finalize());
    return 0;
}
