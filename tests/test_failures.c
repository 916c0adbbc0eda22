/* Failed items and the per-item time limit.
 *   - on_error = skip (opts.on_error, DLP_ON_ERROR=skip) for
 *     dlp_split_managed, dlp_split_round_robin, the loop form (managed and
 *     round robin, dlp_loop_fail) and dlp_map_unordered (failing work, and
 *     separately a failing on_result): every rank gets DLP_SKIPPED (1),
 *     dlp_failures() counts every failed item and lists exactly them (rank,
 *     thread, host and message checked against where the test saw each item
 *     run), the same list on every rank; every item runs exactly once; n = 0
 *     and calls where nothing fails reset the list;
 *   - DLP_ON_ERROR=skip from the environment, in a program that stops on
 *     rc < 0 like the examples: every call form completes, and the master's
 *     dense results, collector and map results hold every succeeded item;
 *   - dlp_item_fail() from a body, a map work function and the loop form's
 *     thread, under skip, abort and retry: the reason and the return value
 *     (dlp_failure.message and .value) on every rank; DLP_ERR_STATE from a
 *     thread that runs no item (on_result, the main thread);
 *   - on_error = abort (the default): the full count and one record, the
 *     lowest failing rank's first failure, the same on every rank;
 *   - more failures than DLP_FAILURES_MAX per rank under skip;
 *   - bad on_error / time_limit values (opts and environment) and ranks that
 *     disagree on them;
 *   - the time limit under skip: a slow item is reported once, on the rank
 *     that runs it, with its index, rank, thread and host (stderr captured
 *     around the call on every rank), and the call succeeds; nothing is
 *     reported when no item is slow: under abort, while a map's thread waits
 *     for credits (slow on_result), and, last of all (a report there aborts
 *     the job), after a thread left the loop because its item failed.
 * The time limit under abort ends the job, so it cannot run among the cases:
 * --time-limit-abort runs only that call (tests/CMakeLists.txt checks the
 * exit status, the report and the elapsed time from a shell), and so does
 * --collective-timeout (a rank that never calls, DLP_COLLECTIVE_TIMEOUT) and
 * --exit-in-body (exit() from a body ends the job), and --no-threads
 * (the last rank cannot create threads, as under a process limit: the
 * OpenMP runtime ends it when the call starts its team). */
#include "test_forms.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static char (*g_hosts)[MPI_MAX_PROCESSOR_NAME]; /* [size] MPI_Get_processor_name */

/* g_size as an allocation count */
static size_t size_cells(void)
{
    return (size_t)(g_size > 0 ? g_size : 1);
}

/* ------------------------------------------------------- the call forms -- */

/* The forms of tests/test_forms.h (in TEST_MAP the work function fails),
 * and one more: dlp_map_unordered whose on_result fails. */
enum { F_MAP_RESULT = TEST_FORMS, F_COUNT };

static const char *form_name(int form)
{
    return form == F_MAP_RESULT ? "dlp_map_unordered, on_result fails" : test_form_name(form);
}

/* Which items fail. */
enum kind {
    K_NONE,   /* none */
    K_SEVEN,  /* i % 7 == 3 */
    K_ELEVEN, /* i % 11 == 5 */
    K_ALL     /* every item */
};

static int fails(int kind, long i)
{
    switch (kind) {
    case K_SEVEN: return i % 7 == 3;
    case K_ELEVEN: return i % 11 == 5;
    case K_ALL: return 1;
    default: return 0;
    }
}

struct run_ctx {
    int form, kind;
    long n;
    int *ran;                   /* [n] body / work runs on this rank */
    int *thread_of;             /* [n] 1 + the OpenMP thread that ran the item here */
    int *seen;                  /* [n] on_result calls (master) */
    _Atomic long failed_here;   /* items whose body / work / loop failed here */
    _Atomic long first_failed;  /* 1 + the first of them, 0 = none */
    long cb_failed, cb_first;   /* on_result failures (master), 1 + the first */
    _Atomic long bad;           /* items outside 0..n-1, wrong results, ... */
    long slow_item, slow_us;    /* this item sleeps this long (-1: none) */
    long cb_sleep_first_us;     /* the first on_result call sleeps this long */
};

static void ctx_init(struct run_ctx *c, int form, int kind, long n)
{
    memset(c, 0, sizeof *c);
    c->form = form;
    c->kind = kind;
    c->n = n;
    c->slow_item = -1;
    size_t cells = (size_t)(n > 0 ? n : 1);
    c->ran = calloc(cells, sizeof(int));
    c->thread_of = calloc(cells, sizeof(int));
    c->seen = calloc(cells, sizeof(int));
    ASSERT_NOT_NULL(c->ran);
    ASSERT_NOT_NULL(c->thread_of);
    ASSERT_NOT_NULL(c->seen);
}

static void ctx_free(struct run_ctx *c)
{
    free(c->ran);
    free(c->thread_of);
    free(c->seen);
}

static int body_fails(const struct run_ctx *c, long i)
{
    return c->form != F_MAP_RESULT && fails(c->kind, i);
}

static int result_fails(const struct run_ctx *c, long i)
{
    return c->form == F_MAP_RESULT && fails(c->kind, i);
}

/* Run item i on this rank; 1 when it is to fail. */
static int run_item(struct run_ctx *c, long i)
{
    if (i < 0 || i >= c->n) {
        atomic_fetch_add(&c->bad, 1);
        return 0;
    }
    __atomic_fetch_add(&c->ran[i], 1, __ATOMIC_RELAXED);
    __atomic_store_n(&c->thread_of[i], omp_get_thread_num() + 1, __ATOMIC_RELAXED);
    if (i == c->slow_item)
        test_sleep_us(c->slow_us);
    if (!body_fails(c, i))
        return 0;
    atomic_fetch_add(&c->failed_here, 1);
    long none = 0;
    atomic_compare_exchange_strong(&c->first_failed, &none, i + 1);
    return 1;
}

static int body(long i, void *vctx)
{
    return run_item(vctx, i) ? 3 : 0;
}

static int work(long i, void *vctx, dlp_buf *out)
{
    if (run_item(vctx, i))
        return 4;
    return dlp_buf_append(out, &i, sizeof i) == DLP_OK ? 0 : 5;
}

static int on_result(long i, const void *data, size_t len, void *vctx)
{
    struct run_ctx *c = vctx;
    long got = -1;
    if (g_rank != 0 || i < 0 || i >= c->n || len != sizeof got) {
        atomic_fetch_add(&c->bad, 1);
        return 0;
    }
    memcpy(&got, data, sizeof got);
    if (got != i)
        atomic_fetch_add(&c->bad, 1);
    if (c->cb_sleep_first_us > 0) {
        test_sleep_us(c->cb_sleep_first_us);
        c->cb_sleep_first_us = 0;
    }
    c->seen[i]++;
    if (!result_fails(c, i))
        return 0;
    c->cb_failed++;
    if (!c->cb_first)
        c->cb_first = i + 1;
    return 6;
}

static int run_form(struct run_ctx *c, const dlp_opts *opts)
{
    struct test_call call = {c->form == F_MAP_RESULT ? TEST_MAP : c->form, c->n, body, c, opts, 0,
                             on_result};
    return test_run_call(&call);
}

/* The function name a form's reports start with (NULL: not checked). */
static const char *form_func(int form)
{
    if (form == F_MAP_RESULT)
        return "dlp_map_unordered";
    return test_form_loop(form) ? NULL : test_form_call(form);
}

/* The message a failure record of item i must hold. */
static void expected_message(int form, long i, char *buf, size_t len)
{
    if (form == F_MAP_RESULT)
        snprintf(buf, len, "on_result returned 6");
    else if (test_form_loop(form))
        snprintf(buf, len, TEST_LOOP_FAIL_FMT, i, 3);
    else
        snprintf(buf, len, "%s returned 3", form == TEST_MAP ? "work" : "body");
}

/* ------------------------------------------- what the test saw, globally -- */

struct view {
    int *runs;            /* [n] runs over all ranks */
    int *owner;           /* [n] 1 + the rank that ran the item (0: none) */
    int *thread;          /* [n] 1 + the thread that ran it there */
    long *fails_of_rank;  /* [size] failures the test saw on each rank */
    long *first_of_rank;  /* [size] 1 + the first of them (0: none) */
    long total;           /* all failures */
};

/* One MPI_Allreduce (sum) of every rank's share: each item runs once, so
 * the sums of rank + 1 and thread + 1 over its runs name where it ran (when
 * an item runs twice, its count says so and the rest is moot). */
static void view_build(const struct run_ctx *c, struct view *v)
{
    size_t n = (size_t)(c->n > 0 ? c->n : 0), size = size_cells();
    size_t cells = 3 * n + 2 * size;
    long *mine = calloc(cells, sizeof(long)), *all = calloc(cells, sizeof(long));
    v->runs = calloc(n + 1, sizeof(int));
    v->owner = calloc(n + 1, sizeof(int));
    v->thread = calloc(n + 1, sizeof(int));
    v->fails_of_rank = calloc(size, sizeof(long));
    v->first_of_rank = calloc(size, sizeof(long));
    ASSERT_TRUE(mine && all && v->runs && v->owner && v->thread && v->fails_of_rank &&
                v->first_of_rank);
    for (size_t i = 0; i < n; i++) {
        mine[i] = c->ran[i];
        mine[n + i] = (long)c->ran[i] * (g_rank + 1);
        mine[2 * n + i] = c->ran[i] ? c->thread_of[i] : 0;
    }
    mine[3 * n + (size_t)g_rank] = atomic_load(&c->failed_here) + c->cb_failed;
    mine[3 * n + size + (size_t)g_rank] =
        c->form == F_MAP_RESULT ? c->cb_first : atomic_load(&c->first_failed);
    ASSERT_MPI(MPI_Allreduce(mine, all, (int)cells, MPI_LONG, MPI_SUM, dlp_comm()));
    for (size_t i = 0; i < n; i++) {
        v->runs[i] = (int)all[i];
        v->owner[i] = (int)all[n + i];
        v->thread[i] = (int)all[2 * n + i];
    }
    v->total = 0;
    for (size_t r = 0; r < size; r++) {
        v->fails_of_rank[r] = all[3 * n + r];
        v->first_of_rank[r] = all[3 * n + size + r];
        v->total += v->fails_of_rank[r];
    }
    free(mine);
    free(all);
}

static void view_free(struct view *v)
{
    free(v->runs);
    free(v->owner);
    free(v->thread);
    free(v->fails_of_rank);
    free(v->first_of_rank);
}

/* -------------------------------------------------- checking the list -- */

/* Records *list holds (dlp_failures_listed()). */
static long list_capacity(const dlp_failure *list)
{
    return list ? dlp_failures_listed() : 0;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < len; k++)
        h = (h ^ b[k]) * 0x100000001b3ULL;
    return h;
}

/* The list must be the same on every rank: its count and first `kept`
 * records (fields and strings) hash to the same value everywhere. */
static void check_same_everywhere(long count, const dlp_failure *list, long kept)
{
    uint64_t h = hash_bytes(0xcbf29ce484222325ULL, &count, sizeof count);
    for (long k = 0; k < kept; k++) {
        const dlp_failure *r = &list[k];
        h = hash_bytes(h, &r->item, sizeof r->item);
        h = hash_bytes(h, &r->rank, sizeof r->rank);
        h = hash_bytes(h, &r->thread, sizeof r->thread);
        h = hash_bytes(h, &r->code, sizeof r->code);
        h = hash_bytes(h, r->host, strnlen(r->host, sizeof r->host));
        h = hash_bytes(h, r->message, strnlen(r->message, sizeof r->message));
    }
    uint64_t mine[2] = {h, ~h}, max[2] = {0, 0}; /* max of ~h: ~(min of h) */
    ASSERT_MPI(MPI_Allreduce(mine, max, 2, MPI_UINT64_T, MPI_MAX, dlp_comm()));
    uint64_t lo = ~max[1], hi = max[0];
    if (lo != hi)
        EXPECT_FAIL("the failure list differs between ranks (count %ld, %ld records: hash "
                   "%016llx here, min %016llx, max %016llx)",
                   count, kept, (unsigned long long)h, (unsigned long long)lo,
                   (unsigned long long)hi);
}

/* Record k must be a failure of its item where and how the test saw it. */
static int check_record(const struct run_ctx *c, const struct view *v, const dlp_failure *r,
                        long k)
{
    char want[128];
    if (r->item < 0 || r->item >= c->n || !fails(c->kind, r->item)) {
        EXPECT_FAIL("record %ld: item %ld is not a failing item of 0..%ld", k, r->item, c->n - 1);
        return 1;
    }
    int bad = 0;
    long i = r->item;
    if (c->form == F_MAP_RESULT) {
        if (r->rank != 0 || r->thread != -1) {
            EXPECT_FAIL("record %ld (item %ld, on_result): rank %d thread %d, expected rank 0 "
                       "thread -1", k, i, r->rank, r->thread);
            bad = 1;
        }
    } else if (r->rank != v->owner[i] - 1 || r->thread != v->thread[i] - 1 || r->thread < 0) {
        EXPECT_FAIL("record %ld (item %ld): rank %d thread %d, the item ran on rank %d thread %d",
                   k, i, r->rank, r->thread, v->owner[i] - 1, v->thread[i] - 1);
        bad = 1;
    }
    if (r->code != DLP_ERR_ITEM) {
        EXPECT_FAIL("record %ld (item %ld): code %d (%s), expected %d (DLP_ERR_ITEM)", k, i,
                   r->code, dlp_strerror(r->code), DLP_ERR_ITEM);
        bad = 1;
    }
    if (r->rank < 0 || r->rank >= g_size || r->host[0] == '\0' ||
        strncmp(r->host, g_hosts[r->rank], sizeof r->host - 1) != 0) {
        EXPECT_FAIL("record %ld (item %ld): host \"%.127s\" on rank %d, expected \"%s\"", k, i,
                   r->host, r->rank,
                   r->rank >= 0 && r->rank < g_size ? g_hosts[r->rank] : "(rank out of range)");
        bad = 1;
    }
    expected_message(c->form, i, want, sizeof want);
    if (!strstr(r->message, want)) {
        EXPECT_FAIL("record %ld (item %ld): message \"%.511s\" does not contain \"%s\"", k, i,
                   r->message, want);
        bad = 1;
    }
    return bad;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* After a call under on_error = skip. */
static void verify_skip(const struct run_ctx *c, int rc)
{
    struct view v;
    view_build(c, &v);
    EXPECT_EQ(atomic_load(&c->bad), 0);
    long n = c->n, expected = 0;
    for (long i = 0; i < n; i++)
        expected += fails(c->kind, i);
    EXPECT_RC(rc, expected > 0 ? DLP_SKIPPED : DLP_OK);

    /* every item ran exactly once, failing or not; on_result saw each
     * non-failing result once (and each result when on_result fails) */
    for (long i = 0; i < n; i++)
        if (v.runs[i] != 1) {
            EXPECT_FAIL("item %ld of %ld ran %d times (first such item)", i, n, v.runs[i]);
            break;
        }
    if (g_rank == 0 && (c->form == TEST_MAP || c->form == F_MAP_RESULT))
        for (long i = 0; i < n; i++) {
            int want = c->form == TEST_MAP && fails(c->kind, i) ? 0 : 1;
            if (c->seen[i] != want) {
                EXPECT_FAIL("on_result saw item %ld %d times, expected %d (first such item)", i,
                           c->seen[i], want);
                break;
            }
        }
    EXPECT_EQ(v.total, expected);

    const dlp_failure *list = (const dlp_failure *)&list; /* must be overwritten */
    long count = dlp_failures(&list);
    EXPECT_EQ(count, expected);
    if (expected == 0) {
        if (list != NULL)
            EXPECT_FAIL("dlp_failures() returned 0 but set *list to %p", (const void *)list);
        check_same_everywhere(count, NULL, 0);
        view_free(&v);
        return;
    }
    /* records kept: all of a rank's failures, up to DLP_FAILURES_MAX */
    long kept = 0;
    for (int r = 0; r < g_size; r++)
        kept += v.fails_of_rank[r] < DLP_FAILURES_MAX ? v.fails_of_rank[r] : DLP_FAILURES_MAX;
    if (!list) {
        EXPECT_FAIL("dlp_failures() returned %ld but set *list to NULL", count);
        check_same_everywhere(count, NULL, 0);
        view_free(&v);
        return;
    }
    long cap = list_capacity(list);
    if (cap != kept) {
        EXPECT_FAIL("dlp_failures_listed() = %ld records, %ld expected (%ld failures)", cap,
                   kept, expected);
        kept = cap < kept ? cap : kept;
    }
    int bad = 0;
    long *items = malloc(sizeof(long) * (size_t)kept + 1);
    long *per_rank = calloc(size_cells(), sizeof(long));
    ASSERT_TRUE(items && per_rank);
    for (long k = 0; k < kept; k++) {
        const dlp_failure *r = &list[k];
        if (bad < 3)
            bad += check_record(c, &v, r, k);
        if (k > 0 && r->rank < list[k - 1].rank && bad < 3) {
            EXPECT_FAIL("record %ld is of rank %d, after a record of rank %d: not ordered by "
                       "rank", k, r->rank, list[k - 1].rank);
            bad++;
        }
        if (r->rank >= 0 && r->rank < g_size)
            per_rank[r->rank]++;
        items[k] = r->item;
    }
    for (int r = 0; r < g_size; r++) {
        long want = v.fails_of_rank[r] < DLP_FAILURES_MAX ? v.fails_of_rank[r]
                                                          : DLP_FAILURES_MAX;
        if (per_rank[r] != want)
            EXPECT_FAIL("the list holds %ld records of rank %d, expected %ld (rank %d had %ld "
                       "failures, DLP_FAILURES_MAX = %d)",
                       per_rank[r], r, want, r, v.fails_of_rank[r], DLP_FAILURES_MAX);
    }
    /* the items, as a set: exactly the failing ones (all of them, unless the
     * list was cut at DLP_FAILURES_MAX per rank), each once */
    qsort(items, (size_t)kept, sizeof *items, cmp_long);
    for (long k = 1; k < kept; k++)
        if (items[k] == items[k - 1]) {
            EXPECT_FAIL("item %ld is listed twice", items[k]);
            break;
        }
    if (kept == expected) {
        long k = 0;
        for (long i = 0; i < n && k <= kept; i++)
            if (fails(c->kind, i)) {
                if (k == kept || items[k] != i) {
                    EXPECT_FAIL("sorted list item %ld is %ld, expected %ld", k,
                               k < kept ? items[k] : -1, i);
                    break;
                }
                k++;
            }
    }
    check_same_everywhere(count, list, kept);

    /* the report names the count and the first failure */
    char text[256];
    snprintf(text, sizeof text, "%ld item%s failed and %s skipped", expected,
             expected == 1 ? "" : "s", expected == 1 ? "was" : "were");
    EXPECT_CONTAINS(dlp_last_error(), text);
    snprintf(text, sizeof text, "the first: item %ld on rank %d", list[0].item, list[0].rank);
    EXPECT_CONTAINS(dlp_last_error(), text);
    EXPECT_CONTAINS(dlp_last_error(), list[0].message);
    if (g_rank == 0) {
        printf("    %ld failures, %ld listed; report: %s\n", count, kept, dlp_last_error());
        fflush(stdout);
    }
    free(items);
    free(per_rank);
    view_free(&v);
}

static int failing_ranks(const struct view *v)
{
    int ranks = 0;
    for (int r = 0; r < g_size; r++)
        ranks += v->fails_of_rank[r] > 0;
    return ranks;
}

/* After a call under on_error = abort. */
static void verify_abort(const struct run_ctx *c, int rc)
{
    struct view v;
    view_build(c, &v);
    EXPECT_EQ(atomic_load(&c->bad), 0);
    EXPECT_RC(rc, DLP_ERR_ITEM);
    for (long i = 0; i < c->n; i++)
        if (v.runs[i] > 1) {
            EXPECT_FAIL("item %ld ran %d times", i, v.runs[i]);
            break;
        }
    if (g_rank == 0 && (c->form == TEST_MAP || c->form == F_MAP_RESULT))
        for (long i = 0; i < c->n; i++)
            if (c->seen[i] > 1 || (c->form == TEST_MAP && body_fails(c, i) && c->seen[i])) {
                EXPECT_FAIL("on_result saw item %ld %d times", i, c->seen[i]);
                break;
            }
    if (v.total < 1)
        EXPECT_FAIL("the test saw no failure (the call returned %d)", rc);
    int first_rank = -1;
    for (int r = 0; r < g_size && first_rank < 0; r++)
        if (v.fails_of_rank[r] > 0)
            first_rank = r;

    const dlp_failure *list = NULL;
    long count = dlp_failures(&list);
    EXPECT_EQ(count, v.total);
    if (!list || count < 1) {
        EXPECT_FAIL("dlp_failures() returned %ld and list %p after a failed call", count,
                   (const void *)list);
        check_same_everywhere(count, NULL, 0);
        view_free(&v);
        return;
    }
    long cap = list_capacity(list);
    if (cap != 1)
        EXPECT_FAIL("dlp_failures_listed() = %ld records, expected exactly 1 (abort keeps "
                   "the first failure only; %ld failures on %d rank(s))",
                   cap, count, failing_ranks(&v));
    const dlp_failure *r = &list[0];
    check_record(c, &v, r, 0);
    EXPECT_EQ(r->rank, first_rank);
    /* the rank's first failure, when the test knows which one it was: one
     * thread per rank, or the master's on_result (one thread) */
    if (first_rank >= 0 && (g_threads == 1 || c->form == F_MAP_RESULT))
        EXPECT_EQ(r->item, v.first_of_rank[first_rank] - 1);
    check_same_everywhere(count, list, 1);

    char text[256];
    snprintf(text, sizeof text, "item %ld failed on rank %d", r->item, r->rank);
    EXPECT_CONTAINS(dlp_last_error(), text);
    EXPECT_CONTAINS(dlp_last_error(), r->message);
    if (count > 1) {
        snprintf(text, sizeof text, "(%ld failures in all)", count);
        EXPECT_CONTAINS(dlp_last_error(), text);
    }
    if (g_rank == 0) {
        printf("    %ld failure(s); report: %s\n", count, dlp_last_error());
        fflush(stdout);
    }
    view_free(&v);
}

/* One call of `form` on items 0..n-1 where `kind` fails, then its checks. */
static void failing_call(int form, int kind, long n, const dlp_opts *opts, int skip,
                         const char *what)
{
    char name[256];
    snprintf(name, sizeof name, "%s, n = %ld, %s", form_name(form), n, what);
    test_case(name);
    struct run_ctx c;
    ctx_init(&c, form, kind, n);
    int rc = run_form(&c, opts);
    if (skip)
        verify_skip(&c, rc);
    else
        verify_abort(&c, rc);
    ctx_free(&c);
}

/* ---------------------------------------------------------------- cases -- */

static int fail_kind_of(int form)
{
    return form == F_MAP_RESULT ? K_ELEVEN : K_SEVEN;
}

static void check_skip(void)
{
    dlp_opts o = DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_SKIP;
    for (int f = 0; f < F_COUNT; f++) {
        int k = fail_kind_of(f);
        failing_call(f, k, 2000, &o, 1, k == K_SEVEN ? "i % 7 == 3 fail, opts.on_error = skip"
                                                     : "i % 11 == 5 fail, opts.on_error = skip");
        /* the list is reset by every call: n = 0, then nothing failing */
        failing_call(f, k, 0, &o, 1, "opts.on_error = skip");
        failing_call(f, k, 6, &o, 1, "one failing item, opts.on_error = skip");
        failing_call(f, K_NONE, 300, &o, 1, "nothing fails, opts.on_error = skip");
        failing_call(f, K_NONE, 300, NULL, 1, "nothing fails, opts NULL");
    }
    /* DLP_ON_ERROR=skip, set on every rank; an explicit opts.on_error wins */
    setenv("DLP_ON_ERROR", "skip", 1);
    failing_call(TEST_MANAGED, K_SEVEN, 2000, NULL, 1, "DLP_ON_ERROR=skip, opts NULL");
    failing_call(TEST_LOOP_ROUND_ROBIN, K_SEVEN, 700, NULL, 1, "DLP_ON_ERROR=skip, opts NULL");
    failing_call(F_MAP_RESULT, K_ELEVEN, 700, NULL, 1, "DLP_ON_ERROR=skip, opts NULL");
    dlp_opts a = DLP_OPTS_INIT;
    a.on_error = DLP_ON_ERROR_ABORT;
    failing_call(TEST_ROUND_ROBIN, K_SEVEN, 2000, &a, 0,
                 "DLP_ON_ERROR=skip but opts.on_error = abort");
    unsetenv("DLP_ON_ERROR");
}

static void check_abort(void)
{
    for (int f = 0; f < F_COUNT; f++)
        failing_call(f, fail_kind_of(f), 2000, NULL, 0, "on_error default (abort)");
    dlp_opts o = DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_ABORT;
    failing_call(TEST_LOOP_MANAGED, K_SEVEN, 2000, &o, 0, "opts.on_error = abort");
    setenv("DLP_ON_ERROR", "abort", 1);
    failing_call(TEST_MAP, K_SEVEN, 2000, NULL, 0, "DLP_ON_ERROR=abort");
    unsetenv("DLP_ON_ERROR");
    failing_call(TEST_MANAGED, K_ALL, 5000, NULL, 0, "every item fails, on_error default");
    /* after an aborted call, one that succeeds lists nothing */
    failing_call(TEST_MANAGED, K_NONE, 300, NULL, 1, "nothing fails after an aborted call");
}

/* A program written like the examples: `if (rc < 0)` stops it, else it
 * goes on to its post-processing. Run with DLP_ON_ERROR=skip from the
 * environment, a call where items fail completes: it returns DLP_SKIPPED
 * (positive) on every rank, and the dense results and the collector hold
 * every item that succeeded, on every layout. */
struct post_ctx {
    dlp_results *results;
    dlp_collector *collector;
};

static int post_fails(long i)
{
    return i % 13 == 4;
}

static int post_body(long i, void *vctx)
{
    struct post_ctx *p = vctx;
    if (post_fails(i))
        return 7;
    long v = 3 * i + 1;
    if (p->results)
        *(long *)dlp_results_at(p->results, i) = v;
    if (p->collector && dlp_collector_add(p->collector, i, &v, sizeof v) != DLP_OK)
        return 8;
    return 0;
}

static int post_work(long i, void *vctx, dlp_buf *out)
{
    (void)vctx;
    if (post_fails(i))
        return 7;
    long v = 3 * i + 1;
    return dlp_buf_append(out, &v, sizeof v) == DLP_OK ? 0 : 8;
}

static int post_result(long i, const void *data, size_t len, void *vctx)
{
    long *got = vctx, v = -1;
    if (len == sizeof v)
        memcpy(&v, data, sizeof v);
    got[i] = v;
    return 0;
}

/* The post-processing: the master checks every succeeded item's value in
 * `got` (n entries; the failed ones are not looked at). */
static void post_check(const long *got, long n, const char *what)
{
    if (g_rank != 0)
        return;
    long wrong = 0, first = -1;
    for (long i = 0; i < n; i++)
        if (!post_fails(i) && got[i] != 3 * i + 1 && wrong++ == 0)
            first = i;
    if (wrong)
        EXPECT_FAIL("%s: %ld of the succeeded items have a wrong result on the master; the "
                   "first: item %ld holds %ld, expected %ld",
                   what, wrong, first, got[first], 3 * first + 1);
}

static void check_skip_completes(void)
{
    const long n = 1000;
    long expected = 0;
    for (long i = 0; i < n; i++)
        expected += post_fails(i);
    setenv("DLP_ON_ERROR", "skip", 1);
    static const char *names[] = {"dlp_split_managed + dense results",
                                  "dlp_split_round_robin + dense results",
                                  "dlp_split_managed + collector", "loop form + dense results",
                                  "dlp_map_unordered"};
    for (int k = 0; k < 5; k++) {
        char name[200];
        snprintf(name, sizeof name, "DLP_ON_ERROR=skip from the environment, %s: a program "
                 "that stops on rc < 0 gets to its post-processing", names[k]);
        test_case(name);
        struct post_ctx p = {NULL, NULL};
        long *got = calloc((size_t)n, sizeof *got);
        ASSERT_NOT_NULL(got);
        dlp_opts o = DLP_OPTS_INIT; /* on_error from the environment */
        if (k == 2)
            ASSERT_OK(dlp_collector_create(&p.collector));
        else if (k != 4)
            ASSERT_OK(dlp_results_create(&p.results, n, sizeof(long)));
        o.results = p.results;
        o.collector = p.collector;
        int rc;
        if (k == 0 || k == 2) {
            rc = dlp_split_managed(n, post_body, &p, &o);
        } else if (k == 1) {
            rc = dlp_split_round_robin(n, post_body, &p, &o);
        } else if (k == 3) {
            dlp_loop *loop = NULL;
            rc = dlp_loop_begin(&loop, n, &o);
            if (rc >= 0) {
#pragma omp parallel
                {
                    long i;
                    while (dlp_loop_next(loop, &i))
                        if (post_body(i, &p) != 0)
                            dlp_loop_fail(loop, i, "item %ld refused", i);
                }
                rc = dlp_loop_end(&loop);
            }
        } else {
            rc = dlp_map_unordered(n, post_work, post_result, got, &o);
        }
        if (rc < 0) { /* how the examples check: the program would stop here */
            EXPECT_FAIL("the call returned %d (%s) under DLP_ON_ERROR=skip: a program that "
                       "stops on rc < 0 never reaches its post-processing; "
                       "dlp_last_error(): %s",
                       rc, dlp_strerror(rc), dlp_last_error());
        } else {
            EXPECT_RC(rc, DLP_SKIPPED);
            EXPECT_EQ(dlp_failures(NULL), expected);
            if (p.results && g_rank == 0)
                memcpy(got, dlp_results_data(p.results), (size_t)n * sizeof *got);
            if (p.collector && g_rank == 0) {
                EXPECT_EQ(dlp_collector_count(p.collector), n - expected);
                for (long j = 0; j < dlp_collector_count(p.collector); j++) {
                    long i;
                    const void *data;
                    size_t len;
                    if (dlp_collector_get(p.collector, j, &i, &data, &len) == DLP_OK &&
                        len == sizeof(long) && i >= 0 && i < n)
                        memcpy(&got[i], data, sizeof(long));
                }
            }
            if (k != 4 || g_rank == 0)
                post_check(got, n, names[k]);
            if (g_rank == 0) {
                printf("    returned %d (%s); %s\n", rc, dlp_strerror(rc), dlp_last_error());
                fflush(stdout);
            }
        }
        if (p.results)
            ASSERT_OK(dlp_results_destroy(&p.results));
        if (p.collector)
            ASSERT_OK(dlp_collector_destroy(&p.collector));
        free(got);
    }
    unsetenv("DLP_ON_ERROR");
}

/* dlp_item_fail(): why an item failed, and the body's return value. Items
 * i % 9 == 2 fail with the reason "cannot open in/<i>.dat: No such file";
 * the odd ones also return 3 (the even ones return 0: the reason alone
 * fails them). A second dlp_item_fail() for the same item changes nothing.
 * Every rank checks every record of the list: message and value. */
static _Atomic long g_second_rc_bad; /* a second call that did not return DLP_OK */

static int why_fails(long i)
{
    return i % 9 == 2;
}

static int why_value(long i)
{
    return i % 2 ? 3 : 0;
}

static int why_item(long i)
{
    if (!why_fails(i))
        return 0;
    int rc = dlp_item_fail("cannot open in/%ld.dat: %s", i, "No such file");
    if (rc != DLP_OK || dlp_item_fail("a second reason") != DLP_OK)
        atomic_fetch_add(&g_second_rc_bad, 1);
    return why_value(i);
}

static int why_body(long i, void *ctx)
{
    (void)ctx;
    return why_item(i);
}

static int why_work(long i, void *ctx, dlp_buf *out)
{
    (void)ctx;
    int rc = why_item(i);
    return rc == 0 && dlp_buf_append(out, &i, sizeof i) != DLP_OK ? 5 : rc;
}

static int why_result(long i, const void *data, size_t len, void *ctx)
{
    (void)data;
    (void)len;
    long *calls = ctx; /* [0]: calls, [1]: of them refused with DLP_ERR_STATE */
    calls[0]++;
    if (dlp_item_fail("from on_result") == DLP_ERR_STATE) /* not an item's thread */
        calls[1]++;
    return why_fails(i) ? 1 : 0; /* (never called for them) */
}

/* The message a failed item must carry (who: "body" or "work"; more: the
 * retry's part, or NULL). */
static void why_message(long i, int v, const char *who, const char *more, char *buf,
                        size_t len)
{
    char ret[64] = "";
    if (v)
        snprintf(ret, sizeof ret, "%s returned %d", who, v);
    if (!v && !more)
        snprintf(buf, len, "cannot open in/%ld.dat: No such file", i);
    else
        snprintf(buf, len, "cannot open in/%ld.dat: No such file (%s%s%s)", i, ret,
                 v && more ? "; " : "", more ? more : "");
}

static void why_check_record(const dlp_failure *r, const char *who, int retried,
                             int loop_form)
{
    int v = loop_form ? 0 : why_value(r->item); /* the loop form returns nothing */
    char want[512], more[96] = "";
    if (r->item < 0 || !why_fails(r->item)) {
        EXPECT_FAIL("record of item %ld: not a failing item", r->item);
        return;
    }
    if (retried) { /* (its first run's rank: the one before the record's) */
        snprintf(more, sizeof more, "retry 1 of 1; it failed first on rank %d",
                 (r->rank + g_size - 1) % g_size);
    }
    why_message(r->item, v, who, retried ? more : NULL, want, sizeof want);
    if (strcmp(r->message, want) != 0)
        EXPECT_FAIL("item %ld: message \"%.511s\", expected \"%s\"", r->item, r->message, want);
    EXPECT_EQ(r->value, v);
    EXPECT_EQ(r->code, DLP_ERR_ITEM);
}

static void check_item_fail(void)
{
    const long n = 300;
    long expected = 0;
    for (long i = 0; i < n; i++)
        expected += why_fails(i);
    static const int policies[] = {DLP_ON_ERROR_SKIP, DLP_ON_ERROR_ABORT, DLP_ON_ERROR_RETRY};
    static const char *policy_name[] = {"skip", "abort", "retry=1"};
    static const char *forms[] = {"dlp_split_managed", "dlp_split_round_robin",
                                  "dlp_map_unordered", "loop form"};
    for (int p = 0; p < 3; p++)
        for (int f = 0; f < 4; f++) {
            if (f == 3 && policies[p] == DLP_ON_ERROR_RETRY)
                continue; /* the loop form refuses retry */
            char name[200];
            snprintf(name, sizeof name, "dlp_item_fail, %s, on_error = %s", forms[f],
                     policy_name[p]);
            test_case(name);
            atomic_store(&g_second_rc_bad, 0);
            dlp_opts o = DLP_OPTS_INIT;
            o.on_error = policies[p];
            o.retries = 1;
            long result_calls[2] = {0, 0};
            int rc;
            if (f == 0)
                rc = dlp_split_managed(n, why_body, NULL, &o);
            else if (f == 1)
                rc = dlp_split_round_robin(n, why_body, NULL, &o);
            else if (f == 2)
                rc = dlp_map_unordered(n, why_work, why_result, result_calls, &o);
            else {
                dlp_loop *loop = NULL;
                rc = dlp_loop_begin(&loop, n, &o);
                if (rc == DLP_OK) {
#pragma omp parallel
                    {
                        long i;
                        while (dlp_loop_next(loop, &i))
                            if (why_fails(i) &&
                                (dlp_item_fail("cannot open in/%ld.dat: %s", i, "No such file") !=
                                     DLP_OK ||
                                 /* the item has ended: no item any more */
                                 dlp_item_fail("again") != DLP_ERR_STATE))
                                atomic_fetch_add(&g_second_rc_bad, 1);
                    }
                    rc = dlp_loop_end(&loop);
                }
            }
            EXPECT_EQ(atomic_load(&g_second_rc_bad), 0);
            if (f == 2 && g_rank == 0) {
                /* on_result is not an item's thread: refused every time;
                 * under abort the results may all be dropped, batched with
                 * the call's stop (no call at all), else some arrive */
                EXPECT_EQ(result_calls[1], result_calls[0]);
                if (policies[p] != DLP_ON_ERROR_ABORT)
                    EXPECT_GE(result_calls[0], 1);
            }
            const char *who = f == 2 ? "work" : "body";
            const dlp_failure *list = NULL;
            long count = dlp_failures(&list), kept = dlp_failures_listed();
            if (policies[p] == DLP_ON_ERROR_SKIP) {
                EXPECT_RC(rc, DLP_SKIPPED);
                EXPECT_EQ(count, expected);
                EXPECT_EQ(kept, expected);
            } else {
                EXPECT_RC(rc, DLP_ERR_ITEM);
                EXPECT_EQ(kept, 1);
                if (policies[p] == DLP_ON_ERROR_RETRY)
                    EXPECT_EQ(count, expected);
            }
            if (!list)
                EXPECT_FAIL("dlp_failures() gave no list (count %ld)", count);
            for (long k = 0; list && k < kept; k++)
                why_check_record(&list[k], who, policies[p] == DLP_ON_ERROR_RETRY, f == 3);
            check_same_everywhere(count, list, kept);
            if (list && kept > 0 && rc == DLP_ERR_ITEM) {
                char text[700];
                snprintf(text, sizeof text, "item %ld failed on rank %d, thread %d, host %s: %s",
                         list[0].item, list[0].rank, list[0].thread, list[0].host,
                         list[0].message);
                EXPECT_CONTAINS(dlp_last_error(), text);
            }
            if (g_rank == 0) {
                printf("    %s\n", dlp_last_error());
                fflush(stdout);
            }
        }
    /* no item: the main thread between calls */
    test_case("dlp_item_fail outside a parallel call: DLP_ERR_STATE");
    EXPECT_RC(dlp_item_fail("no item %d", 1), DLP_ERR_STATE);
    EXPECT_CONTAINS(dlp_last_error(), "not running an item");
}

/* More failures than DLP_FAILURES_MAX per rank: the count is right, each
 * rank's list is cut at DLP_FAILURES_MAX. */
static void check_many(void)
{
    dlp_opts o = DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_SKIP;
    long n = (long)DLP_FAILURES_MAX * g_size + 500;
    failing_call(TEST_ROUND_ROBIN, K_ALL, n, &o, 1, "every item fails (DLP_FAILURES_MAX x size + 500)");
    failing_call(TEST_MANAGED, K_ALL, n, &o, 1, "every item fails (DLP_FAILURES_MAX x size + 500)");
    failing_call(TEST_MAP, K_ALL, n, &o, 1, "every item fails (DLP_FAILURES_MAX x size + 500)");
    failing_call(TEST_MANAGED, K_NONE, 300, &o, 1, "nothing fails after a long list");
}

/* ------------------------------------------------------- option errors -- */

enum call { C_MANAGED, C_ROUND_ROBIN, C_LOOP, C_MAP, C_MAP_BEGIN, C_COUNT };
static const char *call_name[C_COUNT] = {"dlp_split_managed", "dlp_split_round_robin",
                                         "dlp_loop_begin", "dlp_map_unordered",
                                         "dlp_map_begin"};

/* One call that must be refused with `want` on every rank before any item
 * runs; dlp_failures() then lists nothing. */
static void refused_call(int call, const dlp_opts *opts, int want, const char *text)
{
    struct run_ctx c;
    ctx_init(&c, call == C_MAP || call == C_MAP_BEGIN ? TEST_MAP : TEST_MANAGED, K_NONE, 100);
    int rc;
    switch (call) {
    case C_MANAGED: rc = dlp_split_managed(c.n, body, &c, opts); break;
    case C_ROUND_ROBIN: rc = dlp_split_round_robin(c.n, body, &c, opts); break;
    case C_LOOP: {
        dlp_loop *loop = (dlp_loop *)&c; /* must be set to NULL */
        rc = dlp_loop_begin(&loop, c.n, opts);
        if (rc == DLP_OK) {
            long i;
#pragma omp parallel private(i)
            while (dlp_loop_next(loop, &i))
                run_item(&c, i);
            dlp_loop_end(&loop);
        } else if (loop) {
            EXPECT_FAIL("%s failed but left *loop = %p", call_name[call], (void *)loop);
        }
        break;
    }
    case C_MAP: rc = dlp_map_unordered(c.n, work, on_result, &c, opts); break;
    default: {
        dlp_map *map = (dlp_map *)&c; /* must be set to NULL */
        rc = dlp_map_begin(&map, c.n, work, &c, opts);
        if (rc == DLP_OK) {
            long i;
            const void *data;
            size_t len;
            while (dlp_map_next(map, &i, &data, &len))
                on_result(i, data, len, &c);
            dlp_map_end(&map);
        } else if (map) {
            EXPECT_FAIL("%s failed but left *map = %p", call_name[call], (void *)map);
        }
        break;
    }
    }
    if (rc != want)
        EXPECT_FAIL("%s returned %d (%s), expected %d (%s); dlp_last_error(): %s",
                   call_name[call], rc, dlp_strerror(rc), want, dlp_strerror(want),
                   dlp_last_error());
    else if (text)
        EXPECT_CONTAINS(dlp_last_error(), text);
    long ran = 0;
    for (long i = 0; i < c.n; i++)
        ran += c.ran[i];
    if (rc != DLP_OK)
        EXPECT_EQ(ran, 0);
    const dlp_failure *list = (const dlp_failure *)&list;
    EXPECT_EQ(dlp_failures(&list), 0);
    if (list)
        EXPECT_FAIL("dlp_failures() set *list to %p after a refused call", (const void *)list);
    ctx_free(&c);
}

/* A failing skip call (its environment cleared for it), so that a list is
 * there for the next call to reset. */
static void leave_a_list(void)
{
    test_case("refused: a failing skip call first");
    const char *names[2] = {"DLP_ON_ERROR", "DLP_TIME_LIMIT"};
    char keep[2][64];
    int had[2];
    for (int k = 0; k < 2; k++) {
        const char *v = getenv(names[k]);
        had[k] = v != NULL;
        snprintf(keep[k], sizeof keep[k], "%s", v ? v : "");
        unsetenv(names[k]);
    }
    struct run_ctx c;
    ctx_init(&c, TEST_MANAGED, K_SEVEN, 50);
    dlp_opts skip = DLP_OPTS_INIT;
    skip.on_error = DLP_ON_ERROR_SKIP;
    EXPECT_RC(dlp_split_managed(c.n, body, &c, &skip), DLP_SKIPPED);
    EXPECT_EQ(dlp_failures(NULL), 7); /* 3, 10, ..., 45 */
    ctx_free(&c);
    for (int k = 0; k < 2; k++)
        if (had[k])
            setenv(names[k], keep[k], 1);
}

/* Every call refuses the same bad setting, the first right after a call
 * that left a list. */
static void refused_everywhere(const char *what, const dlp_opts *opts, int want,
                               const char *text)
{
    leave_a_list();
    for (int call = 0; call < C_COUNT; call++) {
        char name[300];
        snprintf(name, sizeof name, "refused: %s: %s", what, call_name[call]);
        test_case(name);
        refused_call(call, opts, want, text);
    }
    if (g_rank == 0) {
        printf("    report: %s\n", dlp_last_error());
        fflush(stdout);
    }
}

static void check_options(void)
{
    dlp_opts o = DLP_OPTS_INIT;

    setenv("DLP_ON_ERROR", "garbage", 1);
    refused_everywhere("DLP_ON_ERROR=garbage", NULL, DLP_ERR_OPTION, "DLP_ON_ERROR");
    unsetenv("DLP_ON_ERROR");

    o.on_error = 99;
    refused_everywhere("opts.on_error = 99", &o, DLP_ERR_OPTION, "on_error");
    o.on_error = -1;
    refused_everywhere("opts.on_error = -1", &o, DLP_ERR_OPTION, "on_error");
    o = (dlp_opts)DLP_OPTS_INIT;

    o.time_limit = -1;
    refused_everywhere("opts.time_limit = -1", &o, DLP_ERR_OPTION, "time_limit");
    o.time_limit = NAN;
    refused_everywhere("opts.time_limit = NaN", &o, DLP_ERR_OPTION, "time_limit");
    o.time_limit = INFINITY;
    refused_everywhere("opts.time_limit = inf", &o, DLP_ERR_OPTION, "time_limit");
    o = (dlp_opts)DLP_OPTS_INIT;

    setenv("DLP_TIME_LIMIT", "abc", 1);
    refused_everywhere("DLP_TIME_LIMIT=abc", NULL, DLP_ERR_OPTION, "DLP_TIME_LIMIT");
    setenv("DLP_TIME_LIMIT", "-2", 1);
    refused_everywhere("DLP_TIME_LIMIT=-2", NULL, DLP_ERR_OPTION, "DLP_TIME_LIMIT");
    unsetenv("DLP_TIME_LIMIT");

    if (g_size < 2)
        return;
    const int last = g_size - 1;
    /* ranks that disagree: DLP_ERR_MISMATCH everywhere, naming the field */
    o = (dlp_opts)DLP_OPTS_INIT;
    o.on_error = g_rank == last ? DLP_ON_ERROR_SKIP : DLP_ON_ERROR_ABORT;
    refused_everywhere("the last rank passes on_error = skip, the others abort", &o,
                       DLP_ERR_MISMATCH, "on_error");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_SKIP;
    o.time_limit = g_rank == last ? 5.0 : 0.0;
    refused_everywhere("the last rank passes time_limit = 5, the others 0", &o,
                       DLP_ERR_MISMATCH, "time_limit");
    o.time_limit = 0;
    if (g_rank == last)
        setenv("DLP_TIME_LIMIT", "7", 1);
    refused_everywhere("DLP_TIME_LIMIT=7 on the last rank only", &o, DLP_ERR_MISMATCH,
                       "time_limit");
    unsetenv("DLP_TIME_LIMIT");
    if (g_rank == last)
        setenv("DLP_ON_ERROR", "skip", 1);
    refused_everywhere("DLP_ON_ERROR=skip on the last rank only", NULL, DLP_ERR_MISMATCH,
                       "on_error");
    unsetenv("DLP_ON_ERROR");
    /* a bad value on one rank only: DLP_ERR_OPTION on every rank */
    if (g_rank == last)
        setenv("DLP_ON_ERROR", "garbage", 1);
    refused_everywhere("DLP_ON_ERROR=garbage on the last rank only", NULL, DLP_ERR_OPTION,
                       NULL);
    unsetenv("DLP_ON_ERROR");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.time_limit = g_rank == last ? NAN : 0.0;
    refused_everywhere("opts.time_limit = NaN on the last rank only", &o, DLP_ERR_OPTION,
                       NULL);

    /* the same setting spelled differently is no mismatch: the master's
     * default (abort) against an explicit abort elsewhere */
    test_case("on_error default on the master, abort on the others: no mismatch");
    struct run_ctx c;
    ctx_init(&c, TEST_MANAGED, K_NONE, 300);
    o = (dlp_opts)DLP_OPTS_INIT;
    o.on_error = g_rank == 0 ? DLP_ON_ERROR_DEFAULT : DLP_ON_ERROR_ABORT;
    int rc = run_form(&c, &o);
    verify_skip(&c, rc); /* nothing fails: DLP_OK, every item once */
    ctx_free(&c);
}

/* --------------------------------------------------------- time limit -- */

struct capture {
    int saved;
    char path[128];
};

/* Redirect fd 2 to a file of this rank (in the working directory). */
static void capture_begin(struct capture *cap)
{
    snprintf(cap->path, sizeof cap->path, "test_failures_stderr.%d.%ld.txt", g_rank,
             (long)getpid());
    int fd = open(cap->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        TEST_FAIL("cannot create %s", cap->path);
    fflush(stderr);
    cap->saved = dup(STDERR_FILENO);
    ASSERT_GE(cap->saved, 0);
    ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
    close(fd);
}

/* Restore fd 2; returns what was written meanwhile (free() it). */
static char *capture_end(struct capture *cap)
{
    fflush(stderr);
    ASSERT_GE(dup2(cap->saved, STDERR_FILENO), 0);
    close(cap->saved);
    FILE *f = fopen(cap->path, "r");
    ASSERT_NOT_NULL(f);
    size_t len = 0, size = 4096;
    char *text = malloc(size);
    ASSERT_NOT_NULL(text);
    size_t got;
    while ((got = fread(text + len, 1, size - len - 1, f)) > 0) {
        len += got;
        if (size - len - 1 == 0) {
            size *= 2;
            text = realloc(text, size);
            ASSERT_NOT_NULL(text);
        }
    }
    text[len] = '\0';
    fclose(f);
    remove(cap->path);
    return text;
}

/* Report lines ("over the time limit") in text; *first: a copy of the first. */
static int report_lines(const char *text, char *first, size_t len)
{
    int lines = 0;
    first[0] = '\0';
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line - 1 ? l : sizeof line - 1), p);
        if (strstr(line, "over the time limit")) {
            if (lines++ == 0)
                snprintf(first, len, "%s", line);
        } else if (line[0]) { /* something else on stderr: show it */
            printf("    (rank %d stderr: %s)\n", g_rank, line);
            fflush(stdout);
        }
        p = end ? end + 1 : p + l;
    }
    return lines;
}

/* Item `slow` (or none: -1) sleeps slow_us; every other item is instant.
 * Expect DLP_OK, no failure, and `want_reports` report lines in all (on the
 * rank and thread that ran the slow item). */
static void time_limit_call(int form, long n, long slow, long slow_us, const dlp_opts *opts,
                            const char *limit_text, int want_reports, const char *what,
                            struct run_ctx *prepared)
{
    char name[256];
    snprintf(name, sizeof name, "time limit, %s: %s", form_name(form), what);
    test_case(name);
    struct run_ctx local, *c = prepared ? prepared : &local;
    if (!prepared)
        ctx_init(c, form, K_NONE, n);
    c->slow_item = slow;
    c->slow_us = slow_us;
    struct capture cap;
    capture_begin(&cap);
    double t0 = test_now();
    int rc = run_form(c, opts);
    double dt = test_now() - t0;
    char *text = capture_end(&cap);

    EXPECT_RC(rc, DLP_OK);
    const dlp_failure *list = NULL;
    EXPECT_EQ(dlp_failures(&list), 0);
    struct view v;
    view_build(c, &v);
    EXPECT_EQ(atomic_load(&c->bad), 0);
    for (long i = 0; i < n; i++)
        if (v.runs[i] != 1) {
            EXPECT_FAIL("item %ld of %ld ran %d times (first such item)", i, n, v.runs[i]);
            break;
        }
    char line[2048];
    int lines = report_lines(text, line, sizeof line), all = 0;
    free(text);
    ASSERT_MPI(MPI_Allreduce(&lines, &all, 1, MPI_INT, MPI_SUM, dlp_comm()));
    if (all != want_reports && lines > 0)
        EXPECT_FAIL("%d report line(s) on this rank, the first: %s", lines, line);
    if (g_rank == 0)
        EXPECT_EQ(all, want_reports);
    int owner = slow >= 0 ? v.owner[slow] - 1 : -1;
    if (want_reports == 1 && g_rank == owner) {
        EXPECT_EQ(lines, 1);
        char text2[512];
        snprintf(text2, sizeof text2, "item %ld has been running for", slow);
        EXPECT_CONTAINS(line, text2);
        EXPECT_CONTAINS(line, limit_text);
        snprintf(text2, sizeof text2, "on rank %d, thread %d, host %s", g_rank,
                 v.thread[slow] - 1, g_hosts[g_rank]);
        EXPECT_CONTAINS(line, text2);
        EXPECT_CONTAINS(line, "on_error = skip");
        EXPECT_CONTAINS(line, "dlp_mpi: ");
        if (form_func(form)) {
            snprintf(text2, sizeof text2, "%s: item %ld", form_func(form), slow);
            EXPECT_CONTAINS(line, text2);
        }
        printf("    rank %d stderr (call of %.2f s): %s\n", g_rank, dt, line);
        fflush(stdout);
    }
    view_free(&v);
    if (!prepared)
        ctx_free(c);
}

static void check_time_limit(void)
{
    dlp_opts o = DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_SKIP;
    o.time_limit = 0.15;
    const char *limit = "over the time limit of 0.15 s";
    const int forms[] = {TEST_MANAGED, TEST_ROUND_ROBIN, TEST_LOOP_MANAGED, TEST_MAP};
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++)
        time_limit_call(forms[k], 60, 2, 600000, &o, limit, 1,
                        "item 2 sleeps 0.6 s, opts.time_limit = 0.15, on_error = skip", NULL);

    o.time_limit = 0;
    setenv("DLP_TIME_LIMIT", "0.15", 1);
    time_limit_call(TEST_MANAGED, 60, 2, 600000, &o, limit, 1,
                    "item 2 sleeps 0.6 s, DLP_TIME_LIMIT=0.15, on_error = skip", NULL);
    unsetenv("DLP_TIME_LIMIT");

    /* under abort with no slow item: nothing reported, nothing aborted */
    dlp_opts a = DLP_OPTS_INIT;
    a.on_error = DLP_ON_ERROR_ABORT;
    a.time_limit = 2.0;
    time_limit_call(TEST_MANAGED, 2000, -1, 0, &a, NULL, 0,
                    "no slow item, time_limit = 2, on_error = abort", NULL);
    time_limit_call(TEST_MAP, 2000, -1, 0, &a, NULL, 0,
                    "no slow item, time_limit = 2, on_error = abort", NULL);

    /* a thread of the map that waits for credits (a slow on_result, a
     * 1-byte window) is not running an item: nothing to report */
    struct run_ctx c;
    ctx_init(&c, TEST_MAP, K_NONE, 20);
    c.cb_sleep_first_us = 500000;
    o = (dlp_opts)DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_SKIP;
    o.time_limit = 0.15;
    o.inflight = 1;
    time_limit_call(TEST_MAP, 20, -1, 0, &o, NULL, 0,
                    "no slow item, the first on_result sleeps 0.5 s, 1-byte window, "
                    "time_limit = 0.15, on_error = skip",
                    &c);
    ctx_free(&c);
}

/* After its item failed under abort, a team thread leaves the loop; its
 * item is no longer running, however long the other thread's item still
 * takes. Per rank (round robin, 2 threads): thread 0's item fails at 0.3 s;
 * thread 1 runs an item of 0.2 s, then one of 0.4 s (until 0.6 s). No item
 * runs for the 0.5 s limit. Last of all: if the watchdog takes the failed
 * item for a running one, it aborts the job here. */
static int stale_body(long i, void *vctx)
{
    int *calls = vctx; /* [2] items each thread started */
    int t = omp_get_thread_num();
    if (t > 1)
        return 0;
    int k = __atomic_fetch_add(&calls[t], 1, __ATOMIC_RELAXED);
    if (t == 0) {
        test_sleep_us(300000);
        return 9;
    }
    test_sleep_us(k == 0 ? 200000 : k == 1 ? 400000 : 0);
    (void)i;
    return 0;
}

static void check_time_limit_after_failure(void)
{
    test_case("time limit 0.5 s, abort: a thread whose item failed at 0.3 s while another "
              "item runs until 0.6 s (if the job aborts here, the watchdog reported the failed "
              "item as running)");
    int calls[2] = {0, 0};
    dlp_opts o = DLP_OPTS_INIT;
    o.threads = 2;
    o.time_limit = 0.5;
    o.on_error = DLP_ON_ERROR_ABORT;
    /* (stderr not captured: a report here comes with the job's abort, and
     * must be seen) */
    int rc = dlp_split_round_robin(100L * g_size, stale_body, calls, &o);
    EXPECT_RC(rc, DLP_ERR_ITEM);
    EXPECT_CONTAINS(dlp_last_error(), "body returned 9");
    ASSERT_OK(dlp_barrier());
}

/* --time-limit-abort: item 1 sleeps 5 s under time_limit = 0.2 and
 * on_error = abort. The watchdog must abort the job at about 0.2 s; if the
 * call ever returns, that is a failure. */
static int time_limit_abort(void)
{
    test_case("--time-limit-abort: item 1 sleeps 5 s, time_limit = 0.2, on_error = abort");
    struct run_ctx c;
    ctx_init(&c, TEST_MANAGED, K_NONE, 8L * g_size);
    c.slow_item = 1;
    c.slow_us = 5000000;
    dlp_opts o = DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_ABORT;
    o.time_limit = 0.2;
    double t0 = test_now();
    int rc = dlp_split_managed(c.n, body, &c, &o);
    TEST_FAIL("dlp_split_managed returned %d (%s) after %.2f s: the time limit did not abort "
              "the job", rc, dlp_strerror(rc), test_now() - t0);
}

/* --collective-timeout: the last rank never calls dlp_split_managed (it
 * sleeps 25 s); with DLP_COLLECTIVE_TIMEOUT=1 the others must end the job
 * at about 1 s, each saying where it waits. If a call returns, that is a
 * failure. (tests/CMakeLists.txt wants the job ended within 24 s: before
 * this rank would end it, with room for a loaded machine.) */
static int collective_timeout(void)
{
    test_case("--collective-timeout: the last rank does not call, DLP_COLLECTIVE_TIMEOUT=1");
    if (g_rank == g_size - 1) {
        test_sleep_us(25000000);
        TEST_FAIL("the job was not ended while rank %d stayed away for 25 s", g_rank);
    }
    struct run_ctx c;
    ctx_init(&c, TEST_MANAGED, K_NONE, 100);
    double t0 = test_now();
    int rc = dlp_split_managed(c.n, body, &c, NULL);
    TEST_FAIL("dlp_split_managed returned %d (%s) after %.2f s without rank %d: the collective "
              "timeout did not end the job", rc, dlp_strerror(rc), test_now() - t0, g_size - 1);
}

/* --exit-in-body: a body on the last rank calls exit(3) in the middle of
 * a call; the library's exit hook must end the job (hydra, with several
 * hosts, would let the others wait). If a call returns, that is a failure. */
static int exit_body(long i, void *ctx)
{
    (void)ctx;
    if (g_rank == g_size - 1 && i >= 5)
        exit(3);
    test_sleep_us(1000);
    return 0;
}

static int exit_in_body(void)
{
    test_case("--exit-in-body: a body on the last rank calls exit(3)");
    double t0 = test_now();
    int rc = dlp_split_managed(200L * g_size, exit_body, NULL, NULL);
    TEST_FAIL("dlp_split_managed returned %d (%s) after %.2f s: rank %d's exit() did not end "
              "the job", rc, dlp_strerror(rc), test_now() - t0, g_size - 1);
}

/* --no-threads: pthread_create fails with EAGAIN in this process once
 * g_no_threads is set, as under RLIMIT_NPROC (ulimit -u), which root does
 * not obey. Defined here, it takes the place of the C library's for the
 * OpenMP runtime and dlp_mpi too. */
static atomic_int g_no_threads;

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                   void *arg)
{
    static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    if (atomic_load(&g_no_threads))
        return EAGAIN;
    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "pthread_create");
        ASSERT_NOT_NULL(sym);
        memcpy(&real, &sym, sizeof real); /* (object to function pointer) */
    }
    return real(thread, attr, fn, arg);
}

/* The last rank runs a round-robin call (no helper threads) with a team
 * of 2 that it cannot create: the job must end with DLP_EXIT_THREADS and
 * a message that names the cause. If a call returns, that is a failure. */
static int no_threads_body(long i, void *ctx)
{
    (void)i;
    (void)ctx;
    test_sleep_us(1000);
    return 0;
}

static int no_threads(void)
{
    test_case("--no-threads: the last rank cannot create threads");
    if (g_rank == g_size - 1)
        atomic_store(&g_no_threads, 1);
    dlp_opts o = DLP_OPTS_INIT;
    o.threads = 2;
    double t0 = test_now();
    int rc = dlp_split_round_robin(200L * g_size, no_threads_body, NULL, &o);
    TEST_FAIL("dlp_split_round_robin returned %d (%s) after %.2f s: rank %d could not create "
              "its team, and the job was not ended", rc, dlp_strerror(rc), test_now() - t0,
              g_size - 1);
}

/* --progress-run N K: one dlp_split_managed() over N items of 2 ms, items
 * i % K == 3 fail (K = 0: none); on_error, the journal and the progress
 * display come from the environment (tests/CMakeLists.txt checks the final
 * progress line on stderr). Exits 0 when the call did not fail (rc >= 0). */
static int progress_body(long i, void *ctx)
{
    long k = *(const long *)ctx;
    test_sleep_us(2000);
    return k > 0 && i % k == 3 ? 1 : 0;
}

static int progress_run(long n, long k)
{
    int rc = dlp_split_managed(n, progress_body, &k, NULL);
    if (rc < 0)
        fprintf(stderr, "progress run: %s\n", dlp_last_error());
    ASSERT_OK(dlp_finalize());
    return rc < 0;
}

/* Arguments: --time-limit-abort runs only the call that the time limit
 * aborts (the job ends with a non-zero status). Checks marked "the run goes
 * on" fail the test only at the end. */
int main(int argc, char **argv)
{
    int progress = argc == 4 && strcmp(argv[1], "--progress-run") == 0;
    if (!progress) /* (--progress-run takes its knobs from the environment) */
        test_clear_knobs();
    test_init(&argc, &argv);
    int abort_mode = 0;
    if (progress)
        return progress_run(atol(argv[2]), atol(argv[3]));
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--time-limit-abort") == 0)
            abort_mode = 1;
        else if (strcmp(argv[a], "--collective-timeout") == 0)
            abort_mode = 2;
        else if (strcmp(argv[a], "--exit-in-body") == 0)
            abort_mode = 3;
        else if (strcmp(argv[a], "--no-threads") == 0)
            abort_mode = 4;
        else
            TEST_FAIL("unknown argument \"%s\"", argv[a]);
    }
    char host[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    ASSERT_MPI(MPI_Get_processor_name(host, &len));
    g_hosts = calloc(size_cells(), sizeof *g_hosts);
    ASSERT_NOT_NULL(g_hosts);
    ASSERT_MPI(MPI_Allgather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, g_hosts,
                             MPI_MAX_PROCESSOR_NAME, MPI_CHAR, dlp_comm()));
    if (abort_mode)
        return abort_mode == 1   ? time_limit_abort()
               : abort_mode == 2 ? collective_timeout()
               : abort_mode == 3 ? exit_in_body()
                                 : no_threads();
    static const struct {
        void (*fn)(void);
        const char *name;
    } parts[] = {{check_skip, "on_error = skip"},
                 {check_abort, "on_error = abort"},
                 {check_skip_completes, "skip completes: rc < 0 checks go on"},
                 {check_item_fail, "dlp_item_fail: reasons and return values"},
                 {check_many, "more than DLP_FAILURES_MAX"},
                 {check_options, "option errors"},
                 {check_time_limit, "time limit"},
                 {check_time_limit_after_failure, "time limit after a failure"}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        double t = test_now();
        parts[k].fn();
        if (g_rank == 0) {
            printf("  -- %s: %.2f s\n", parts[k].name, test_now() - t);
            fflush(stdout);
        }
    }
    free(g_hosts);
    return test_end("test_failures");
}
