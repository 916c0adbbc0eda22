/* dlp_map_unordered and dlp_buf: on_result runs for every item exactly once,
 * on the master only, one call at a time, with the bytes the item produced
 * (0 bytes to several MiB); n = 0, 1, fewer items than threads, 10^5 tiny
 * results; the credit window (opts.inflight, DLP_INFLIGHT) keeps the
 * master's memory bounded under a slow callback (peak RSS measured) and
 * its own team within the window (tiny results, counted); failing
 * work and failing callbacks; bad arguments and options; dlp_buf_printf /
 * _append / _reserve; back-to-back calls without leaks; dense results
 * (opts.results) filled by work; the progress line of a map call. */
#include "test_util.h"

#include <fcntl.h>
#include <limits.h>
#include <omp.h>
#include <stdatomic.h>
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>


#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Memory bounds under ThreadSanitizer are as meaningless as under ASan
 * (test_util.h): its shadow memory is resident too. */
#if defined(__SANITIZE_THREAD__)
#define MAP_RSS_MEANINGFUL 0
#else
#define MAP_RSS_MEANINGFUL TEST_RSS_MEANINGFUL
#endif

/* ------------------------------------------------------ result bytes -- */

/* Shapes of the result length as a function of the item. */
enum shape {
    S_SMALL,  /* 0 .. 40 bytes (every 41st item 0) */
    S_TINY,   /* 0 .. 8 bytes */
    S_MEDIUM, /* 0 .. 4000 bytes */
    S_BIG,    /* 3 MiB (+ a few bytes) every 50th item, else 0 .. 99 bytes */
    S_FIXED   /* ctx->fixed bytes each */
};

struct map_ctx {
    long n;
    uint64_t salt;
    int shape;
    size_t fixed;       /* S_FIXED */
    int busy;           /* test_busy scale of work (0 = none) */
    long cb_sleep_us;   /* on_result sleeps this long */
    unsigned char *seen; /* master: [n] times on_result saw the item */
    long calls;         /* master: on_result calls */
    _Atomic int inside; /* on_result calls running now */
    _Atomic long computed; /* work calls on this rank */
    dlp_results *dense; /* work also writes a long here (or NULL) */
    dlp_results *handled; /* on_result also writes a long here (or NULL) */
};

static size_t result_len(const struct map_ctx *c, long i)
{
    uint64_t h = test_mix((uint64_t)i ^ c->salt);
    switch (c->shape) {
    case S_SMALL: return (size_t)(i % 41 == 0 ? 0 : h % 41);
    case S_TINY: return (size_t)(h % 9);
    case S_MEDIUM: return (size_t)(h % 4001);
    case S_BIG: return i % 50 == 7 ? 3 * MiB + (size_t)(i % 13) : (size_t)(h % 100);
    default: return c->fixed;
    }
}

/* Byte j of item i's result is test_pattern(salt, i, j); one mix per 8 bytes. */
static void fill(unsigned char *p, size_t len, uint64_t salt, long i)
{
    uint64_t w = 0;
    for (size_t j = 0; j < len; j++) {
        if ((j & 7) == 0)
            w = test_mix(salt ^ ((uint64_t)i * 0x100000001b3ULL) ^ (j >> 3));
        p[j] = (unsigned char)(w >> (8 * (j & 7)));
    }
}

/* The bytes of item i must be fill()'s; report the first wrong byte. */
static void verify(const unsigned char *p, size_t len, uint64_t salt, long i)
{
    uint64_t w = 0;
    for (size_t j = 0; j < len; j++) {
        if ((j & 7) == 0)
            w = test_mix(salt ^ ((uint64_t)i * 0x100000001b3ULL) ^ (j >> 3));
        unsigned char want = (unsigned char)(w >> (8 * (j & 7)));
        if (p[j] != want)
            TEST_FAIL("result of item %ld: byte %zu of %zu is 0x%02x, expected 0x%02x", i, j,
                      len, p[j], want);
    }
}

/* Work: item i's bytes, short ones appended in two pieces from the stack,
 * long ones written in place through dlp_buf_reserve. */
static int check_work(long i, void *vctx, dlp_buf *out)
{
    struct map_ctx *c = vctx;
    size_t len = result_len(c, i);
    if (len <= 64) {
        unsigned char tmp[64];
        fill(tmp, len, c->salt, i);
        size_t half = len / 2;
        int rc = dlp_buf_append(out, tmp, half);
        if (rc == DLP_OK)
            rc = dlp_buf_append(out, tmp + half, len - half);
        if (rc != DLP_OK)
            TEST_FAIL("dlp_buf_append for item %ld returned %d (%s)", i, rc, dlp_strerror(rc));
    } else {
        unsigned char *p = dlp_buf_reserve(out, len);
        if (!p)
            TEST_FAIL("dlp_buf_reserve(%zu) for item %ld returned NULL", len, i);
        fill(p, len, c->salt, i);
    }
    if (c->dense) {
        long *slot = dlp_results_at(c->dense, i);
        if (!slot)
            TEST_FAIL("dlp_results_at(dense, %ld) is NULL", i);
        *slot = i * 3 + 11;
    }
    if (c->busy)
        test_busy(i, c->busy);
    atomic_fetch_add_explicit(&c->computed, 1, memory_order_relaxed);
    return 0;
}

/* on_result: on the master only, never two at a time, each item once, with
 * exactly the bytes work produced. */
static int check_result(long i, const void *data, size_t len, void *vctx)
{
    struct map_ctx *c = vctx;
    int inside = atomic_fetch_add(&c->inside, 1) + 1;
    if (inside != 1)
        TEST_FAIL("on_result(%ld) runs while %d other on_result call(s) run", i, inside - 1);
    if (g_rank != 0)
        TEST_FAIL("on_result(%ld) called on rank %d, not on the master", i, g_rank);
    if (i < 0 || i >= c->n)
        TEST_FAIL("on_result got item %ld, outside 0..%ld", i, c->n - 1);
    if (c->seen[i])
        TEST_FAIL("on_result got item %ld a second time", i);
    c->seen[i] = 1;
    ASSERT_EQ_U64(len, result_len(c, i));
    if (len > 0)
        ASSERT_NOT_NULL(data);
    verify(data, len, c->salt, i);
    if (c->handled) {
        long *slot = dlp_results_at(c->handled, i);
        if (!slot)
            TEST_FAIL("dlp_results_at(handled, %ld) is NULL", i);
        *slot = i * 5 + 1;
    }
    c->calls++;
    if (c->cb_sleep_us > 0)
        test_sleep_us(c->cb_sleep_us);
    atomic_fetch_sub(&c->inside, 1);
    return 0;
}

static void ctx_init(struct map_ctx *c, long n, int shape, uint64_t salt)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->shape = shape;
    c->salt = salt;
    c->seen = calloc((size_t)(n > 0 ? n : 1), 1);
    ASSERT_NOT_NULL(c->seen);
}

/* After a successful call: the master saw every item once, and the items
 * computed on all ranks add up to n. */
static void ctx_check(struct map_ctx *c)
{
    if (g_rank == 0) {
        for (long i = 0; i < c->n; i++)
            if (c->seen[i] != 1)
                TEST_FAIL("on_result saw item %ld of %ld %d times", i, c->n, c->seen[i]);
        ASSERT_EQ(c->calls, c->n);
    }
    long mine = atomic_load(&c->computed), total = 0;
    ASSERT_MPI(MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, dlp_comm()));
    ASSERT_EQ(total, c->n);
    free(c->seen);
    c->seen = NULL;
}

/* One call with checked results. null_elsewhere: the other ranks pass
 * on_result = NULL (allowed: it runs on the master only). */
static void exactly_once(long n, int shape, const dlp_opts *opts, int busy, int null_elsewhere,
                         const char *what)
{
    char name[256];
    static const char *shapes[] = {"0-40 B", "0-8 B", "0-4000 B", "3 MiB every 50th", "fixed"};
    snprintf(name, sizeof name, "exactly once, n = %ld, results %s, %s", n, shapes[shape], what);
    test_case(name);
    struct map_ctx c;
    ctx_init(&c, n, shape, test_mix((uint64_t)n * 31 + (uint64_t)shape));
    c.busy = busy;
    dlp_result_fn cb = g_rank != 0 && null_elsewhere ? NULL : check_result;
    ASSERT_OK(dlp_map_unordered(n, check_work, cb, &c, opts));
    ctx_check(&c);
}

static void check_sizes(void)
{
    dlp_opts o = DLP_OPTS_INIT;
    const long total = (long)g_size * g_threads;
    exactly_once(0, S_SMALL, NULL, 0, 0, "n = 0: no callback");
    exactly_once(1, S_SMALL, NULL, 0, 0, "defaults");
    exactly_once(1, S_MEDIUM, NULL, 0, 0, "defaults");
    if (g_threads > 1)
        exactly_once(g_threads - 1, S_SMALL, NULL, 0, 0, "fewer items than threads");
    exactly_once(total - 1 > 0 ? total - 1 : 1, S_SMALL, NULL, 0, 0,
                 "size x threads - 1 items");
    exactly_once(total + 1, S_MEDIUM, NULL, 0, 0, "size x threads + 1 items");
    o.threads = 5;
    exactly_once(3, S_SMALL, &o, 0, 0, "opts.threads = 5, 3 items");
    exactly_once(1000, S_SMALL, &o, 20, 0, "opts.threads = 5");
    o.threads = 1;
    exactly_once(1000, S_MEDIUM, &o, 20, 0, "opts.threads = 1");
    exactly_once(1000, S_SMALL, NULL, 50, 0, "uneven work");
    exactly_once(1000, S_MEDIUM, NULL, 0, 1, "on_result NULL on the other ranks");
    exactly_once(100000, S_TINY, NULL, 0, 0, "10^5 tiny results");
    exactly_once(300, S_BIG, NULL, 0, 0, "defaults (8 MiB window)");

    o = (dlp_opts)DLP_OPTS_INIT;
    o.inflight = 1 * MiB;
    exactly_once(300, S_BIG, &o, 0, 0, "opts.inflight = 1 MiB: results above the window");
    o.inflight = 1;
    exactly_once(300, S_MEDIUM, &o, 0, 0, "opts.inflight = 1 byte: every result above it");
    o.inflight = 256;
    exactly_once(20000, S_TINY, &o, 0, 0, "opts.inflight = 256 B: many tiny results");
    o.inflight = 4 * KiB;
    exactly_once(100000, S_TINY, &o, 0, 0, "opts.inflight = 4 KiB: 10^5 tiny results");
    o.inflight = (size_t)1 << 30;
    exactly_once(1000, S_MEDIUM, &o, 0, 0, "opts.inflight = 1 GiB (the largest)");
    o.inflight = 0;
    setenv("DLP_INFLIGHT", "64K", 1);
    exactly_once(2000, S_MEDIUM, &o, 0, 0, "DLP_INFLIGHT=64K");
    setenv("DLP_INFLIGHT", "1", 1);
    exactly_once(200, S_SMALL, NULL, 0, 0, "DLP_INFLIGHT=1, opts NULL");
    unsetenv("DLP_INFLIGHT");
}

/* The loop form: the master's own loop gets every result once, in arrival
 * order; the other ranks' dlp_map_next() returns 0 at once. */
static void loop_form_once(long n, int shape, const dlp_opts *opts, const char *what)
{
    char name[256];
    snprintf(name, sizeof name, "loop form, n = %ld, %s", n, what);
    test_case(name);
    struct map_ctx c;
    ctx_init(&c, n, shape, test_mix((uint64_t)n * 17 + 5));
    dlp_map *map = NULL;
    ASSERT_OK(dlp_map_begin(&map, n, check_work, &c, opts));
    ASSERT_NOT_NULL(map);
    long i;
    const void *data;
    size_t len;
    while (dlp_map_next(map, &i, &data, &len))
        ASSERT_EQ(check_result(i, data, len, &c), 0);
    ASSERT_EQ(dlp_map_next(map, &i, &data, &len), 0); /* stays at 0 */
    ASSERT_OK(dlp_map_end(&map));
    ASSERT_NULL(map);
    ctx_check(&c);
}

static void check_loop_form(void)
{
    loop_form_once(0, S_SMALL, NULL, "nothing");
    loop_form_once(1, S_SMALL, NULL, "one item");
    loop_form_once(5000, S_SMALL, NULL, "small results");
    loop_form_once(300, S_BIG, NULL, "3 MiB every 50th");
    dlp_opts o = DLP_OPTS_INIT;
    o.inflight = 64 * 1024;
    loop_form_once(2000, S_MEDIUM, &o, "64 KiB window");

    test_case("loop form: the master leaves early -> DLP_ERR_STATE everywhere, then a new map works");
    struct map_ctx c;
    ctx_init(&c, 20000, S_SMALL, 99);
    dlp_map *map = NULL;
    ASSERT_OK(dlp_map_begin(&map, 20000, check_work, &c, NULL));
    long i, got = 0;
    const void *data;
    size_t len;
    while (got < 10 && dlp_map_next(map, &i, &data, &len))
        got++;
    int rc = dlp_map_end(&map);
    ASSERT_RC(rc, DLP_ERR_STATE);
    ASSERT_NULL(map);
    free(c.seen);
    loop_form_once(100, S_SMALL, NULL, "after a loop left early");

    test_case("loop form misuse");
    ASSERT_RC(dlp_map_begin(NULL, 5, check_work, NULL, NULL), DLP_ERR_ARG);
    map = (dlp_map *)&c;
    ASSERT_RC(dlp_map_begin(&map, 5, NULL, NULL, NULL), DLP_ERR_ARG);
    ASSERT_NULL(map);
    ASSERT_RC(dlp_map_begin(&map, -1, check_work, NULL, NULL), DLP_ERR_ARG);
    ASSERT_EQ(dlp_map_next(NULL, &i, &data, &len), 0);
    ASSERT_RC(dlp_map_end(NULL), DLP_ERR_ARG);
    ASSERT_RC(dlp_map_end(&map), DLP_ERR_ARG);
}

/* ---------------------------------------------------- window, tiny results -- */

/* The master's own team against a slow on_result, with 8-byte results and a
 * window of 100 results' bytes: its threads reserve window bytes in grants
 * and hand over batches, but may never run further ahead of on_result than
 * the window (at most 100 results: a result costs its 8 bytes, more when a
 * run of consecutive items begins), plus one result and one running item
 * per thread. Counted on the master, whose own results say so (their
 * bytes: the rank). */
struct ahead_ctx {
    _Atomic long started; /* items the master's team started */
    long handled;         /* of them handled by on_result */
    long worst;           /* started - handled at its largest */
};

static int ahead_work(long i, void *vctx, dlp_buf *out)
{
    (void)i;
    struct ahead_ctx *c = vctx;
    if (g_rank == 0)
        atomic_fetch_add(&c->started, 1);
    long rank = g_rank;
    return dlp_buf_append(out, &rank, sizeof rank) != DLP_OK;
}

static int ahead_result(long i, const void *data, size_t len, void *vctx)
{
    (void)i;
    struct ahead_ctx *c = vctx;
    long rank;
    ASSERT_EQ_U64(len, sizeof rank);
    memcpy(&rank, data, sizeof rank);
    if (rank == 0) {
        long ahead = atomic_load(&c->started) - ++c->handled;
        c->worst = ahead > c->worst ? ahead : c->worst;
    }
    if ((i & 3) == 0)
        test_sleep_us(50);
    return 0;
}

static void check_window_tiny(void)
{
    const long records = 100, record = 8; /* the least a result costs: its bytes */
    test_case("window: 8-byte results, opts.inflight = 100 x 8 bytes, slow on_result");
    struct ahead_ctx c = {0, 0, 0};
    dlp_opts o = DLP_OPTS_INIT;
    o.inflight = (size_t)(records * record);
    ASSERT_OK(dlp_map_unordered(4000, ahead_work, ahead_result, &c, &o));
    if (g_rank != 0)
        return;
    long bound = records + 2L * g_threads;
    printf("    the master's team ran at most %ld items ahead of on_result (bound %ld)\n",
           c.worst, bound);
    fflush(stdout);
    ASSERT_LE(c.worst, bound);
}

/* --------------------------------------------------------- memory bound -- */

static int reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* A field of /proc/self/status in KiB ("VmHWM", "VmRSS"), or -1. */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kib = atol(line + klen + 1);
            break;
        }
    fclose(f);
    return kib;
}

/* A slow callback (3 ms per 256 KiB result) with a 1 MiB window: without
 * the window the workers would pile up n x 256 KiB = 100 MiB of results on
 * the master; with it the master holds at most about size x inflight, plus
 * a result per thread (the bound below adds 16 MiB for the allocator and
 * MPI). Each rank measures its own peak RSS growth over the call. */
static void check_memory_bound(void)
{
    const long n = 400;
    const size_t result = 256 * KiB, inflight = 1 * MiB, slack = 16 * MiB;
    test_case("memory bound: 256 KiB results, callback 3 ms each, opts.inflight = 1 MiB");
    dlp_opts o = DLP_OPTS_INIT;
    o.inflight = inflight;

    struct map_ctx c; /* warm-up: MPI's and the allocator's one-time buffers */
    ctx_init(&c, 20, S_FIXED, 77);
    c.fixed = result;
    ASSERT_OK(dlp_map_unordered(c.n, check_work, check_result, &c, &o));
    ctx_check(&c);

    ctx_init(&c, n, S_FIXED, 78);
    c.fixed = result;
    c.cb_sleep_us = 3000;
    /* hand the warm-up's freed memory back, or the call would reuse it unseen */
    malloc_trim(0);
    ASSERT_OK(dlp_barrier());
    long rss0 = status_kib("VmRSS");
    int peak_ok = reset_peak_rss() == 0;
    double t0 = test_now();
    ASSERT_OK(dlp_map_unordered(n, check_work, check_result, &c, &o));
    double took = test_now() - t0;
    long hwm = status_kib("VmHWM");
    ctx_check(&c);

    long growth = peak_ok && rss0 >= 0 && hwm >= 0 ? hwm - rss0 : -1;
    long worker_growth = g_rank == 0 ? -1 : growth, worker_max = -1, ok_all = peak_ok, ok_min;
    ASSERT_MPI(MPI_Allreduce(&worker_growth, &worker_max, 1, MPI_LONG, MPI_MAX, dlp_comm()));
    ASSERT_MPI(MPI_Allreduce(&ok_all, &ok_min, 1, MPI_LONG, MPI_MIN, dlp_comm()));
    /* master: every rank's window, a result per thread; a worker: its window
     * (plus one batch beyond it) and two results per thread (the pending
     * batch, its threads' buffers) */
    long bound = (long)(((size_t)g_size * inflight + (size_t)g_threads * result + slack) / KiB);
    long worker_bound = (long)((2 * inflight + 2 * (size_t)g_threads * result + slack) / KiB);
    if (g_rank == 0) {
        printf("    %ld results of %zu KiB in %.2f s (callback alone: %.2f s); "
               "without the window the master would hold up to %zu KiB\n",
               n, result / KiB, took, (double)n * (double)c.cb_sleep_us * 1e-6,
               (size_t)n * result / KiB);
        if (!ok_min) {
            printf("    peak RSS not measured: /proc/self/clear_refs cannot be written\n");
        } else {
            printf("    peak RSS growth on the master: %ld KiB, bound %ld KiB = %d ranks x "
                   "%zu KiB inflight + %d threads x %zu KiB + %zu KiB slack%s\n",
                   growth, bound, g_size, inflight / KiB, g_threads, result / KiB,
                   slack / KiB, MAP_RSS_MEANINGFUL ? "" : " (not checked: sanitizer or valgrind)");
            if (g_size > 1)
                printf("    peak RSS growth on the other ranks: at most %ld KiB, bound %ld "
                       "KiB\n",
                       worker_max, worker_bound);
        }
        fflush(stdout);
    }
    if (ok_min && MAP_RSS_MEANINGFUL) {
        if (g_rank == 0)
            ASSERT_LE(growth, bound);
        else
            ASSERT_LE(growth, worker_bound);
    }
}

/* ------------------------------------------------------------ failures -- */

struct fail_ctx {
    long n;
    int fail_rank;       /* this rank's first item fails (work) */
    _Atomic long failed; /* 1 + the item that failed here, 0 = none yet */
    long cb_fail_at;     /* on_result fails on this item (-1: never) */
    long cb_calls, cb_after; /* on_result calls; calls after it failed */
    int cb_failed;
    long cb_sleep_us;
    size_t len;          /* bytes per result */
    long slow_us;        /* the other ranks' work sleeps this long per item */
    int mode;            /* 0: return 3; 1: all items fail; 2: reserve too much */
};

static int fail_work(long i, void *vctx, dlp_buf *out)
{
    struct fail_ctx *c = vctx;
    if (c->len > 0 && !dlp_buf_reserve(out, c->len))
        return 5;
    if (c->mode == 1)
        return 4;
    if (g_rank == c->fail_rank) {
        long none = 0;
        if (atomic_compare_exchange_strong(&c->failed, &none, i + 1)) {
            if (c->mode == 2) {
                /* a failed reserve the work ignores: the item fails anyway */
                if (dlp_buf_reserve(out, (size_t)1 << 31) != NULL)
                    TEST_FAIL("dlp_buf_reserve(2 GiB) for item %ld did not fail", i);
                return 0;
            }
            return 3;
        }
    }
    if (c->slow_us && g_rank != c->fail_rank)
        test_sleep_us(c->slow_us);
    return 0;
}

static int fail_result(long i, const void *data, size_t len, void *vctx)
{
    (void)data;
    (void)len;
    struct fail_ctx *c = vctx;
    if (g_rank != 0)
        TEST_FAIL("on_result(%ld) called on rank %d", i, g_rank);
    c->cb_calls++;
    if (c->cb_failed)
        c->cb_after++;
    if (c->cb_sleep_us)
        test_sleep_us(c->cb_sleep_us);
    if (i == c->cb_fail_at) {
        c->cb_failed = 1;
        return 7;
    }
    return 0;
}

/* rc must be `code` on this rank (every rank asserts it) with a report that
 * contains each of the given texts. */
static void expect_error(int rc, int code, const char *text1, const char *text2)
{
    ASSERT_RC(rc, code);
    ASSERT_LAST_ERROR_SET();
    if (text1)
        ASSERT_STR_CONTAINS(dlp_last_error(), text1);
    if (text2)
        ASSERT_STR_CONTAINS(dlp_last_error(), text2);
    if (g_rank == 0)
        printf("    report: %s\n", dlp_last_error());
    ASSERT_OK(dlp_barrier());
}

/* The item that failed on some rank (the maximum of 1 + item), -1 if none. */
static long failed_item(struct fail_ctx *c)
{
    long mine = atomic_load(&c->failed), all = 0;
    ASSERT_MPI(MPI_Allreduce(&mine, &all, 1, MPI_LONG, MPI_MAX, dlp_comm()));
    return all - 1;
}

static void check_failures(void)
{
    char text[64];
    struct fail_ctx c;

    test_case("work fails on the first item of the last rank");
    memset(&c, 0, sizeof c);
    c.n = 20000;
    c.fail_rank = g_size - 1;
    c.cb_fail_at = -1;
    c.len = 16;
    c.slow_us = g_size > 1 ? 500 : 0; /* leave items for the last rank, however late it starts */
    int rc = dlp_map_unordered(c.n, fail_work, fail_result, &c, NULL);
    long item = failed_item(&c);
    if (item < 0)
        TEST_FAIL("rank %d computed no item, so nothing failed (call returned %d)", g_size - 1,
                  rc);
    snprintf(text, sizeof text, "item %ld failed", item);
    expect_error(rc, DLP_ERR_ITEM, text, "work returned 3");
    char where[32];
    snprintf(where, sizeof where, "rank %d", g_size - 1);
    ASSERT_STR_CONTAINS(dlp_last_error(), where);
    exactly_once(1000, S_SMALL, NULL, 0, 0, "after a failing work");

    test_case("work fails on every item");
    memset(&c, 0, sizeof c);
    c.n = 5000;
    c.fail_rank = -1;
    c.cb_fail_at = -1;
    c.mode = 1;
    expect_error(dlp_map_unordered(c.n, fail_work, fail_result, &c, NULL), DLP_ERR_ITEM,
                 "work returned 4", NULL);
    exactly_once(500, S_MEDIUM, NULL, 0, 0, "after every item failed");

    test_case("n = 2^40: work fails on every item; the call stops everywhere");
    memset(&c, 0, sizeof c);
    c.n = 1L << 40;
    c.fail_rank = -1;
    c.cb_fail_at = -1;
    c.mode = 1;
    expect_error(dlp_map_unordered(c.n, fail_work, fail_result, &c, NULL), DLP_ERR_ITEM,
                 "work returned 4", NULL);

    test_case("on_result fails on item 123 of 2000");
    memset(&c, 0, sizeof c);
    c.n = 2000;
    c.fail_rank = -1;
    c.cb_fail_at = 123;
    c.len = 100;
    expect_error(dlp_map_unordered(c.n, fail_work, fail_result, &c, NULL), DLP_ERR_ITEM,
                 "item 123 failed", "on_result returned 7");
    if (g_rank == 0) {
        ASSERT_EQ(c.cb_failed, 1);
        ASSERT_EQ(c.cb_after, 0); /* no callback after the one that failed */
    }
    exactly_once(1000, S_SMALL, NULL, 0, 0, "after a failing on_result");

    /* the workers wait for credits while the master's callback is slow, then
     * it fails: the master must still return their credits */
    test_case("on_result fails while the workers wait for credits");
    memset(&c, 0, sizeof c);
    c.n = 600;
    c.fail_rank = -1;
    c.cb_fail_at = 60;
    c.cb_sleep_us = 1000;
    c.len = 32 * KiB;
    dlp_opts o = DLP_OPTS_INIT;
    o.inflight = 64 * KiB;
    expect_error(dlp_map_unordered(c.n, fail_work, fail_result, &c, &o), DLP_ERR_ITEM,
                 "item 60 failed", "on_result returned 7");
    if (g_rank == 0)
        ASSERT_EQ(c.cb_after, 0);
    exactly_once(300, S_BIG, &o, 0, 0, "after a failing on_result, 64 KiB window");

    test_case("work fails on the last rank while its window is full");
    memset(&c, 0, sizeof c);
    c.n = 3000;
    c.fail_rank = g_size - 1;
    c.cb_fail_at = -1;
    c.cb_sleep_us = 200;
    c.len = 32 * KiB;
    c.slow_us = g_size > 1 ? 500 : 0;
    rc = dlp_map_unordered(c.n, fail_work, fail_result, &c, &o);
    item = failed_item(&c);
    ASSERT_GE(item, 0);
    snprintf(text, sizeof text, "item %ld failed", item);
    expect_error(rc, DLP_ERR_ITEM, text, "work returned 3");

    /* the work ignores a failed dlp_buf_reserve and returns 0: the item
     * fails anyway (its result cannot be what the work meant) */
    test_case("work ignores a failed dlp_buf_reserve (2 GiB)");
    memset(&c, 0, sizeof c);
    c.n = 2000;
    c.fail_rank = g_size - 1;
    c.cb_fail_at = -1;
    c.mode = 2;
    c.slow_us = g_size > 1 ? 500 : 0;
    rc = dlp_map_unordered(c.n, fail_work, fail_result, &c, NULL);
    item = failed_item(&c);
    ASSERT_GE(item, 0);
    if (rc != DLP_ERR_ARG && rc != DLP_ERR_ITEM)
        TEST_FAIL("the call returned %d (%s), expected DLP_ERR_ARG or DLP_ERR_ITEM", rc,
                  dlp_strerror(rc));
    int lo = rc, hi = rc;
    ASSERT_MPI(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT, MPI_MIN, dlp_comm()));
    ASSERT_MPI(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT, MPI_MAX, dlp_comm()));
    ASSERT_EQ(lo, hi); /* the same code on every rank */
    snprintf(text, sizeof text, "item %ld failed", item);
    expect_error(rc, rc, text, NULL);
    exactly_once(1000, S_MEDIUM, NULL, 0, 0, "after a failed reserve");
}

/* -------------------------------------------------------------- misuse -- */

static int noop_work(long i, void *ctx, dlp_buf *out)
{
    (void)i;
    (void)ctx;
    (void)out;
    return 0;
}

/* Collectives inside work and on_result are refused. */
struct nest_ctx {
    int work_tried, work_rc; /* item 0 ran here; what a nested map returned */
    int cb_tried, cb_rc;     /* the same for dlp_barrier() in on_result */
};

static int nest_work(long i, void *vctx, dlp_buf *out)
{
    struct nest_ctx *c = vctx;
    (void)out;
    if (i == 0) { /* one thread of one rank */
        c->work_rc = dlp_map_unordered(1, noop_work, test_ignore_result, NULL, NULL);
        c->work_tried = 1;
    }
    return 0;
}

static int nest_result(long i, const void *data, size_t len, void *vctx)
{
    (void)data;
    (void)len;
    struct nest_ctx *c = vctx;
    if (i == 1) {
        c->cb_rc = dlp_barrier();
        c->cb_tried = 1;
    }
    return 0;
}

/* Calls that misuse the API on every rank (or on one rank) fail on every
 * rank with the given code and a message; the library keeps working. */
#define ASSERT_ERR(expr, code)                                                       \
    do {                                                                             \
        ASSERT_RC(expr, code);                                                       \
        ASSERT_LAST_ERROR_SET();                                                     \
    } while (0)

static void check_misuse(void)
{
    int last = g_rank == g_size - 1;
    dlp_opts o = DLP_OPTS_INIT;

    test_case("misuse: NULL work, NULL on_result on the master, n < 0");
    ASSERT_ERR(dlp_map_unordered(10, NULL, test_ignore_result, NULL, NULL), DLP_ERR_ARG);
    ASSERT_STR_CONTAINS(dlp_last_error(), "work");
    ASSERT_ERR(dlp_map_unordered(10, last ? NULL : noop_work, test_ignore_result, NULL, NULL),
               DLP_ERR_ARG);
    ASSERT_ERR(dlp_map_unordered(10, noop_work, g_rank == 0 ? NULL : test_ignore_result, NULL, NULL),
               DLP_ERR_ARG);
    if (g_rank == 0) /* the others' report names the rank that refused */
        ASSERT_STR_CONTAINS(dlp_last_error(), "on_result");
    ASSERT_ERR(dlp_map_unordered(10, noop_work, NULL, NULL, NULL), DLP_ERR_ARG);
    ASSERT_ERR(dlp_map_unordered(-1, noop_work, test_ignore_result, NULL, NULL), DLP_ERR_ARG);
    ASSERT_ERR(dlp_map_unordered(LONG_MIN, noop_work, test_ignore_result, NULL, NULL), DLP_ERR_ARG);
    exactly_once(100, S_SMALL, NULL, 0, 0, "after bad arguments");

    test_case("misuse: opts.inflight above 1 GiB, bad DLP_INFLIGHT");
    o.inflight = ((size_t)1 << 30) + 1;
    ASSERT_ERR(dlp_map_unordered(10, noop_work, test_ignore_result, NULL, &o), DLP_ERR_OPTION);
    ASSERT_STR_CONTAINS(dlp_last_error(), "inflight");
    o.inflight = SIZE_MAX;
    ASSERT_ERR(dlp_map_unordered(10, noop_work, test_ignore_result, NULL, &o), DLP_ERR_OPTION);
    o.inflight = last ? ((size_t)1 << 31) : 0; /* on one rank only */
    ASSERT_ERR(dlp_map_unordered(10, noop_work, test_ignore_result, NULL, &o), DLP_ERR_OPTION);
    const char *bad[] = {"garbage", "0", "-5", "2G", "12Q", "1.5M", "K"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        setenv("DLP_INFLIGHT", bad[k], 1);
        ASSERT_ERR(dlp_map_unordered(10, noop_work, test_ignore_result, NULL, NULL), DLP_ERR_OPTION);
        ASSERT_STR_CONTAINS(dlp_last_error(), "DLP_INFLIGHT");
    }
    if (last) /* on one rank only */
        setenv("DLP_INFLIGHT", "garbage", 1);
    else
        unsetenv("DLP_INFLIGHT");
    ASSERT_ERR(dlp_map_unordered(10, noop_work, test_ignore_result, NULL, NULL), DLP_ERR_OPTION);
    unsetenv("DLP_INFLIGHT");
    exactly_once(100, S_SMALL, NULL, 0, 0, "after bad options");

    test_case("misuse: dlp_buf_* with NULL");
    ASSERT_ERR(dlp_buf_append(NULL, "x", 1), DLP_ERR_ARG);
    ASSERT_ERR(dlp_buf_append(NULL, NULL, 0), DLP_ERR_ARG);
    ASSERT_ERR(dlp_buf_printf(NULL, "%d", 1), DLP_ERR_ARG);
    ASSERT_NULL(dlp_buf_reserve(NULL, 1));
    ASSERT_LAST_ERROR_SET();

    test_case("misuse: a map inside work, a barrier inside on_result");
    struct nest_ctx nc = {0, 0, 0, 0};
    ASSERT_OK(dlp_map_unordered(50, nest_work, nest_result, &nc, NULL));
    int tried = 0;
    ASSERT_MPI(MPI_Allreduce(&nc.work_tried, &tried, 1, MPI_INT, MPI_SUM, dlp_comm()));
    ASSERT_EQ(tried, 1); /* item 0 ran once, somewhere */
    if (nc.work_tried)
        ASSERT_RC(nc.work_rc, DLP_ERR_STATE);
    if (g_rank == 0) {
        ASSERT_EQ(nc.cb_tried, 1);
        ASSERT_RC(nc.cb_rc, DLP_ERR_STATE);
    }
    exactly_once(100, S_SMALL, NULL, 0, 0, "after nested calls");
}

/* ------------------------------------------------------------ dlp_buf -- */

/* Item i's result: "item <i>:" (printf), then i % 7 bytes 'a'.. (append), a
 * reserved block of i % 300 pattern bytes, and a printf longer than the
 * buffer's first allocation; the master rebuilds it. */
static size_t buf_expected(long i, unsigned char *dst, size_t cap)
{
    char head[64];
    int h = snprintf(head, sizeof head, "item %ld:", i);
    size_t k = 0;
    memcpy(dst, head, (size_t)h);
    k += (size_t)h;
    for (long a = 0; a < i % 7; a++)
        dst[k++] = (unsigned char)('a' + a);
    size_t r = (size_t)(i % 300);
    fill(dst + k, r, 99, i);
    k += r;
    int t = snprintf((char *)dst + k, cap - k, "|%0*ld|%s", (int)(i % 500), i, "end");
    return k + (size_t)t;
}

struct buf_ctx {
    long n;
    unsigned char *seen;
    _Atomic long bad; /* 1 + an item whose dlp_buf call misbehaved */
};

#define BUF_MAX 2048

static int buf_work(long i, void *vctx, dlp_buf *out)
{
    struct buf_ctx *c = vctx;
    int ok = dlp_buf_printf(out, "item %ld:", i) == DLP_OK;
    const char letters[] = "abcdefg";
    ok = ok && dlp_buf_append(out, letters, (size_t)(i % 7)) == DLP_OK;
    ok = ok && dlp_buf_append(out, NULL, 0) == DLP_OK;     /* nothing */
    ok = ok && dlp_buf_append(out, NULL, 5) == DLP_ERR_ARG; /* refused, nothing added */
    ok = ok && dlp_buf_printf(out, NULL) == DLP_ERR_ARG;
    ok = ok && dlp_buf_printf(out, "%s", "") == DLP_OK;
    size_t r = (size_t)(i % 300);
    unsigned char *p = dlp_buf_reserve(out, r);
    if (!p && r > 0)
        ok = 0;
    if (p)
        fill(p, r, 99, i);
    ok = ok && dlp_buf_printf(out, "|%0*ld|%s", (int)(i % 500), i, "end") == DLP_OK;
    if (!ok)
        atomic_store(&c->bad, i + 1);
    return 0;
}

static int buf_result(long i, const void *data, size_t len, void *vctx)
{
    struct buf_ctx *c = vctx;
    unsigned char want[BUF_MAX];
    size_t wlen = buf_expected(i, want, sizeof want);
    if (c->seen[i]++)
        TEST_FAIL("item %ld delivered twice", i);
    ASSERT_EQ_U64(len, wlen);
    ASSERT_BYTES_EQ(data, want, len);
    return 0;
}

static void check_buf(void)
{
    test_case("dlp_buf_printf, dlp_buf_append and dlp_buf_reserve combined");
    struct buf_ctx c = {3000, NULL, 0};
    c.seen = calloc((size_t)c.n, 1);
    ASSERT_NOT_NULL(c.seen);
    ASSERT_OK(dlp_map_unordered(c.n, buf_work, buf_result, &c, NULL));
    long bad = atomic_load(&c.bad);
    if (bad)
        TEST_FAIL("a dlp_buf call of item %ld returned something unexpected", bad - 1);
    if (g_rank == 0)
        for (long i = 0; i < c.n; i++)
            if (c.seen[i] != 1)
                TEST_FAIL("item %ld seen %d times", i, c.seen[i]);
    free(c.seen);
}

/* dlp_buf_reserve(out, 0) as the first call on a thread's fresh buffer:
 * "NULL on error", so a 0-byte reserve must not return NULL. */
static int reserve0_work(long i, void *vctx, dlp_buf *out)
{
    _Atomic long *bad = vctx;
    if (dlp_buf_reserve(out, 0) == NULL)
        atomic_store(bad, i + 1);
    return 0;
}

static void check_reserve_zero(void)
{
    test_case("dlp_buf_reserve(out, 0) on a fresh buffer is not an error");
    _Atomic long bad = 0;
    ASSERT_OK(dlp_map_unordered(20, reserve0_work, test_ignore_result, &bad, NULL));
    long b = atomic_load(&bad), any = 0;
    ASSERT_MPI(MPI_Allreduce(&b, &any, 1, MPI_LONG, MPI_MAX, dlp_comm()));
    if (any && g_rank == 0)
        EXPECT_FAIL("dlp_buf_reserve(out, 0) returned NULL (item %ld), and it is no error",
                   any - 1);
}

/* ------------------------------------------------------- dense results -- */

static void check_handler_dense(dlp_results *r, long n)
{
    if (g_rank != 0)
        return;
    const long *d = dlp_results_data(r);
    for (long i = 0; i < n; i++)
        if (d[i] != i * 5 + 1)
            TEST_FAIL("dense result of item %ld is %ld, expected %ld", i, d[i], i * 5 + 1);
}

static void check_dense(void)
{
    test_case("opts.results: dense results filled by work, on the master after the call");
    const long n = 5000;
    dlp_results *r = NULL;
    ASSERT_OK(dlp_results_create(&r, n, sizeof(long)));
    struct map_ctx c;
    ctx_init(&c, n, S_SMALL, 4242);
    c.dense = r;
    dlp_opts o = DLP_OPTS_INIT;
    o.results = r;
    ASSERT_OK(dlp_map_unordered(n, check_work, check_result, &c, &o));
    ctx_check(&c);
    if (g_rank == 0) {
        const long *d = dlp_results_data(r);
        ASSERT_NOT_NULL(d);
        for (long i = 0; i < n; i++)
            if (d[i] != i * 3 + 11)
                TEST_FAIL("dense result of item %ld is %ld, expected %ld", i, d[i], i * 3 + 11);
    }
    ASSERT_OK(dlp_results_destroy(&r));

    test_case("dense results not attached: work writes them, opts.results NULL");
    ASSERT_OK(dlp_results_create(&r, n, sizeof(long)));
    ctx_init(&c, n, S_SMALL, 4343);
    c.dense = r;
    ASSERT_RC(dlp_map_unordered(n, check_work, check_result, &c, NULL), DLP_ERR_STATE);
    ASSERT_STR_CONTAINS(dlp_last_error(),
                        "r is not attached to the running call dlp_map_unordered");
    ASSERT_STR_CONTAINS(dlp_last_error(), "set opts.results = r");
    free(c.seen);

    /* the master's result handlers write the master's own array: allowed */
    test_case("dense results not attached, written by on_result on the master");
    ctx_init(&c, n, S_SMALL, 4444);
    c.handled = r;
    ASSERT_OK(dlp_map_unordered(n, check_work, check_result, &c, NULL));
    ctx_check(&c);
    check_handler_dense(r, n);
    ASSERT_OK(dlp_results_destroy(&r));

    test_case("dense results not attached, written in the master's dlp_map_next loop");
    ASSERT_OK(dlp_results_create(&r, n, sizeof(long)));
    ctx_init(&c, n, S_SMALL, 4545);
    c.handled = r;
    dlp_map *m = NULL;
    ASSERT_OK(dlp_map_begin(&m, n, check_work, &c, NULL));
    long i;
    const void *data;
    size_t len;
    while (dlp_map_next(m, &i, &data, &len))
        ASSERT_EQ(check_result(i, data, len, &c), 0);
    ASSERT_OK(dlp_map_end(&m));
    ctx_check(&c);
    check_handler_dense(r, n);
    ASSERT_OK(dlp_results_destroy(&r));
}

/* ------------------------------------------------------- back to back -- */

static long b2b_count[7];

static int b2b_work(long i, void *ctx, dlp_buf *out)
{
    (void)ctx;
    return dlp_buf_printf(out, "%ld", i * 11);
}

static int b2b_result(long i, const void *data, size_t len, void *ctx)
{
    (void)ctx;
    char want[32];
    int w = snprintf(want, sizeof want, "%ld", i * 11);
    ASSERT_EQ_U64(len, (size_t)w);
    ASSERT_BYTES_EQ(data, want, len);
    b2b_count[i]++;
    return 0;
}

/* `total` calls of n = 7; the first sixth warms up, then VmRSS, heap and
 * mappings must not grow. */
static void check_back_to_back(int total)
{
    char name[128];
    snprintf(name, sizeof name, "%d back-to-back map calls of n = 7: no leak", total);
    test_case(name);
    memset(b2b_count, 0, sizeof b2b_count);
    const int warm = total / 6, calls = total - warm;
    for (int k = 0; k < warm; k++)
        ASSERT_OK(dlp_map_unordered(7, b2b_work, b2b_result, NULL, NULL));
    long rss0 = test_rss_kib(), heap0 = test_heap_bytes(), maps0 = test_map_count();
    for (int k = 0; k < calls; k++)
        ASSERT_OK(dlp_map_unordered(7, b2b_work, b2b_result, NULL, NULL));
    long rss1 = test_rss_kib(), heap1 = test_heap_bytes(), maps1 = test_map_count();
    if (g_rank == 0)
        for (int i = 0; i < 7; i++)
            ASSERT_EQ(b2b_count[i], total);
    char what[64];
    snprintf(what, sizeof what, "%d map calls", calls);
    ASSERT_RSS_GROWTH(rss1 - rss0, 2048, what);
    ASSERT_HEAP_GROWTH(heap1 - heap0, 256 * 1024, what);
    if (maps1 > maps0 + 4)
        TEST_FAIL("memory mappings grew from %ld to %ld over %d calls", maps0, maps1, calls);
}

/* ------------------------------------------------------- kept batches -- */

static long minor_faults(void)
{
    struct rusage ru;
    ASSERT_EQ(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_minflt;
}

/* on_result of the kept-batches case: the first result of a call waits
 * until the master's team put more than half of its 8 MiB window into
 * batches (1200 results of 4000 bytes: 4.8 MiB; with more ranks, which
 * share the items, that over the ranks), or a second passed. */
static int slow_first_result(long i, const void *data, size_t len, void *vctx)
{
    struct map_ctx *c = vctx;
    const long half_window = 1200 / g_size;
    for (int k = 0; c->calls == 0 && k < 1000 && atomic_load(&c->computed) < half_window; k++)
        test_sleep_us(1000);
    return check_result(i, data, len, vctx);
}

/* One map call of n results of `fixed` bytes with an opts.inflight window
 * (the first result waits while the team fills it, if slow); returns the
 * heap bytes in use after it. */
static long heap_after_map(long n, size_t fixed, size_t window, int slow, uint64_t salt)
{
    dlp_opts o = DLP_OPTS_INIT;
    o.inflight = window;
    struct map_ctx c;
    ctx_init(&c, n, S_FIXED, salt);
    c.fixed = fixed;
    ASSERT_OK(dlp_map_unordered(n, check_work, slow ? slow_first_result : check_result, &c, &o));
    ctx_check(&c);
    return test_heap_bytes();
}

/* Batch memory is kept from one map call to the next (lib/api/map_cache.c):
 * what the call's spare list holds at its end, up to the call's bound
 * (window + window / 4 + 1 MiB) and 16 MiB in all, so the next call does
 * not fault those pages in again. The heap in use shows it, whatever the
 * schedule:
 * - a call with a 64 KiB window leaves at most its bound (1.08 MiB) kept;
 * - each of 6 calls whose 8 MiB window holds more than half its bytes in
 *   batches (4000-byte results, the first one handled late) leaves at
 *   least 4 MiB more kept than that, and at most its bound (11 MiB) and
 *   1 MiB (the rest of the heap varies a little too);
 * - a last 64 KiB-window call gives the kept memory back down to its bound
 *   (and 512 KiB).
 * Checked with one rank (glibc only): with more, the master also receives
 * batches from the other ranks, and how much it holds varies. The minor
 * page faults per call (malloc_trim between calls returns every free page)
 * are printed, not checked: how far a call outgrows the kept memory
 * depends on the sizes of its batches, which depend on timing. */
static void check_batches_kept(void)
{
#if defined(__GLIBC__)
    const int glibc = 1;
#else
    const int glibc = 0;
#endif
    const long n = 6000;
    const int calls = 6;
    /* window + window / 4 + 1 MiB, and some of the rest of the heap */
    const long small_bound = 64 * 1024 + 16 * 1024 + MiB + MiB / 2;
    const long big_bound = 8 * MiB + 2 * MiB + MiB + MiB;
    test_case("kept batches: an 8 MiB window's batches kept between calls, within the bound");
    long small0 = heap_after_map(200, 8, 64 * 1024, 0, 975);
    long kept_min = LONG_MAX, kept_max = 0, faults = 0;
    for (int k = 0; k < calls; k++) {
        long f0 = minor_faults();
        long kept = heap_after_map(n, 4000, 8 * MiB, 1, test_mix((uint64_t)k + 977)) - small0;
        faults += minor_faults() - f0;
        kept_min = kept < kept_min ? kept : kept_min;
        kept_max = kept > kept_max ? kept : kept_max;
#if defined(__GLIBC__)
        malloc_trim(0);
#endif
    }
    long small1 = heap_after_map(200, 8, 64 * 1024, 0, 976);
    int checked = TEST_RSS_MEANINGFUL && glibc && g_size == 1;
    if (g_rank == 0) {
        printf("    heap kept after an 8 MiB-window call: %ld to %ld KiB more than after a 64 KiB-window"
               " call; after the next 64 KiB-window call: %+ld KiB%s\n",
               kept_min / 1024, kept_max / 1024, (small1 - small0) / 1024,
               checked ? "" : " (not checked)");
        printf("    minor page faults per 8 MiB-window call: %ld (not checked)\n", faults / calls);
    }
    if (checked) {
        ASSERT_GE(kept_min, (long)(4 * MiB));
        ASSERT_LE(kept_max, big_bound);
        ASSERT_LE(small1 - small0, small_bound);
    }
}

/* ------------------------------------------------------------ progress -- */

/* DLP_PROGRESS=1 with a label: the master's stderr (redirected to a file for
 * the call) ends with "<label>: n/n items (100%) ..." (lib/parts/progress.h,
 * plain form, since the file is not a terminal). */
static void check_progress(void)
{
    test_case("progress: DLP_PROGRESS=1, DLP_PROGRESS_INTERVAL=0.05, a label");
    const long n = 300;
    const char *label = "map progress test";
    char path[64] = "";
    int saved = -1;
    setenv("DLP_PROGRESS", "1", 1);
    setenv("DLP_PROGRESS_INTERVAL", "0.05", 1);
    if (g_rank == 0) {
        /* in the working directory: a failure inside the call lands there */
        snprintf(path, sizeof path, "test_map_progress.%ld.txt", (long)getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            TEST_FAIL("cannot create %s", path);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        ASSERT_GE(saved, 0);
        ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
        close(fd);
    }
    struct map_ctx c;
    ctx_init(&c, n, S_SMALL, 555);
    c.cb_sleep_us = 1000; /* 0.3 s: a few interval lines too */
    dlp_opts o = DLP_OPTS_INIT;
    o.label = label;
    int rc = dlp_map_unordered(n, check_work, check_result, &c, &o);
    if (g_rank == 0) {
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    unsetenv("DLP_PROGRESS");
    unsetenv("DLP_PROGRESS_INTERVAL");
    ASSERT_OK(rc);
    ctx_check(&c);
    if (g_rank != 0)
        return;
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    char line[1024], final[1024] = "";
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        ASSERT_STR_CONTAINS(line, label); /* every line, and nothing else, on stderr */
        snprintf(final, sizeof final, "%s", line);
    }
    fclose(f);
    remove(path);
    printf("    %d progress line(s), the last: %s", lines, final[0] ? final : "(none)\n");
    fflush(stdout);
    char want[128];
    snprintf(want, sizeof want, "%s: %ld/%ld items (100%%)", label, n, n);
    ASSERT_STR_CONTAINS(final, want);
    /* 0.3 s of callbacks at 0.05 s intervals: lines before the final one,
     * also when the results reach the consumer in one large batch */
    if (lines < 2)
        EXPECT_FAIL("only %d progress line in a call of %.2f s at DLP_PROGRESS_INTERVAL=0.05: "
                   "no line while on_result ran",
                   lines, (double)n * (double)c.cb_sleep_us * 1e-6);
}

/* Arguments: --calls=N back-to-back calls (default 200; fewer where ranks x
 * threads oversubscribe the cores), --no-progress skips the progress case.
 * Checks marked "the run goes on" fail the test only at the end. */
int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    int calls = 200, progress = 1;
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "--calls=", 8) == 0)
            calls = atoi(argv[a] + 8);
        else if (strcmp(argv[a], "--no-progress") == 0)
            progress = 0;
    }
    ASSERT_GE(calls, 12);
    check_memory_bound(); /* first: before other cases enlarge the heap */
    check_sizes();
    check_window_tiny();
    check_failures();
    check_misuse();
    check_buf();
    check_dense();
    check_loop_form();
    check_back_to_back(calls);
    check_batches_kept();
    if (progress)
        check_progress();
    check_reserve_zero();
    return test_end("test_map");
}
