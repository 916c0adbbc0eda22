/* Variable-size results (dlp_collector_*). Every item i adds one result
 * whose length and bytes are a function of i (0 bytes for some, a few of
 * several MiB), items with i % 7 == 3 a second one; after the call the
 * master checks the count, the item order (and the add order of an item's
 * two results), every length and every byte; the other ranks hold nothing.
 *
 * Two ways in:
 *   direct  the internal interface lib/call/call_features.c calls (dlp__collector_begin,
 *           _collect, _abandon) around the test's own `#pragma omp parallel
 *           for` over this rank's items i = rank, rank + size, ...
 *   calls   dlp_split_managed / dlp_split_round_robin / the loop form with
 *           opts.collector (a small probe first, so that a broken wiring
 *           is named as such).
 * Plus misuse (every error code of the API), an error on one rank reported
 * on every rank, one collector reused across many calls without memory
 * growth.
 *
 * Arguments: --calls=N back-to-back calls of the reuse cases (default 50);
 * large: only the case above 2 GiB (one result of 2^31 + 17 bytes). */
#include "test_forms.h"

#include <omp.h>
#include <stdatomic.h>

#include "collector.h"

static const char *const CALL = "test_collector";

/* ------------------------------------------------------------ results -- */

/* What a case adds. */
struct spec {
    long n;
    uint64_t salt;
    int big;   /* two items with results of several MiB */
    int empty; /* every result has 0 bytes */
    int tiny;  /* results of 0 to 8 bytes (many records per message) */
};

static int n_results(long i) { return i % 7 == 3 ? 2 : 1; }

static size_t result_len(const struct spec *s, long i, int r)
{
    if (s->empty)
        return 0;
    if (s->tiny)
        return (size_t)(i % 9);
    if (r == 1)
        return (size_t)(i % 50);
    if (s->big && s->n >= 3 && i == s->n / 3)
        return ((size_t)3 << 20) + 5;
    if (s->big && s->n >= 3 && i == s->n - 2)
        return ((size_t)5 << 20) + 1;
    if (i % 97 == 5)
        return 0;
    return (size_t)(test_mix(s->salt ^ (uint64_t)i) % 300) + (i % 11 == 0 ? 4000 : 0);
}

static void fill_result(unsigned char *p, size_t len, uint64_t salt, long i, int r)
{
    uint64_t key = salt ^ ((uint64_t)i * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)r << 62);
    size_t j = 0;
    for (; j + 8 <= len; j += 8) {
        uint64_t w = test_mix(key + (j >> 3));
        memcpy(p + j, &w, 8);
    }
    if (j < len) {
        uint64_t w = test_mix(key + (j >> 3));
        memcpy(p + j, &w, len - j);
    }
}

/* Add item i's results; returns the first non-OK status. */
static int add_item(dlp_collector *c, const struct spec *s, long i)
{
    unsigned char small[8192];
    for (int r = 0; r < n_results(i); r++) {
        size_t len = result_len(s, i, r);
        unsigned char *buf = len <= sizeof small ? small : malloc(len);
        if (!buf)
            TEST_FAIL("out of memory for a result of %zu bytes", len);
        fill_result(buf, len, s->salt, i, r);
        int rc = dlp_collector_add(c, i, len ? buf : NULL, len);
        if (buf != small)
            free(buf);
        if (rc != DLP_OK)
            return rc;
    }
    return DLP_OK;
}

/* The master holds exactly the results of items 0..n-1 in item order; the
 * other ranks hold nothing. */
static void check_results(const dlp_collector *c, const struct spec *s, const char *name)
{
    long count = dlp_collector_count(c);
    if (g_rank != 0) {
        ASSERT_EQ(count, 0);
        ASSERT_RC(dlp_collector_get(c, 0, NULL, NULL, NULL), DLP_ERR_ARG);
        ASSERT_RC(dlp_collector_buffer(c, NULL, NULL, NULL, NULL), DLP_ERR_ARG);
        return;
    }
    long want = 0;
    size_t bytes = 0;
    for (long i = 0; i < s->n; i++)
        for (int r = 0; r < n_results(i); r++, want++)
            bytes += result_len(s, i, r);
    ASSERT_EQ(count, want);
    const void *data = NULL;
    const size_t *offsets = NULL;
    const long *items = NULL;
    long cnt = -1;
    ASSERT_OK(dlp_collector_buffer(c, &data, &offsets, &items, &cnt));
    ASSERT_EQ(cnt, count);
    ASSERT_NOT_NULL(data);
    ASSERT_NOT_NULL(offsets);
    ASSERT_NOT_NULL(items);
    ASSERT_EQ(offsets[0], 0);
    ASSERT_EQ_U64(offsets[count], bytes);
    size_t cap = 1 << 16;
    unsigned char *exp = malloc(cap);
    ASSERT_NOT_NULL(exp);
    long k = 0;
    for (long i = 0; i < s->n; i++) {
        for (int r = 0; r < n_results(i); r++, k++) {
            if (items[k] != i)
                TEST_FAIL("%s: result %ld is of item %ld, expected item %ld (its result %d)", name,
                          k, items[k], i, r);
            size_t len = result_len(s, i, r), got = offsets[k + 1] - offsets[k];
            if (got != len)
                TEST_FAIL("%s: result %ld (item %ld, its result %d) has %zu bytes, expected %zu",
                          name, k, i, r, got, len);
            if (len > cap) {
                free(exp);
                cap = len;
                exp = malloc(cap);
                ASSERT_NOT_NULL(exp);
            }
            fill_result(exp, len, s->salt, i, r);
            const unsigned char *p = (const unsigned char *)data + offsets[k];
            if (len && memcmp(p, exp, len) != 0) {
                size_t j = 0;
                while (p[j] == exp[j])
                    j++;
                TEST_FAIL("%s: item %ld, result %d, byte %zu of %zu is 0x%02x, expected 0x%02x",
                          name, i, r, j, len, p[j], exp[j]);
            }
            if (k % 97 == 0 || len > (1u << 20)) {
                long gi = -1;
                const void *gd = NULL;
                size_t gl = 0;
                ASSERT_OK(dlp_collector_get(c, k, &gi, &gd, &gl));
                ASSERT_EQ(gi, i);
                ASSERT_EQ(gl, len);
                ASSERT_TRUE(gd == (const void *)p);
            }
        }
    }
    free(exp);
    ASSERT_RC(dlp_collector_get(c, count, NULL, NULL, NULL), DLP_ERR_ARG);
}

/* ------------------------------------------------------------- direct -- */

/* One call through the internal interface: this rank's items round robin,
 * added by `threads` threads (0 = the OpenMP default). */
static void direct_call(dlp_collector *c, const struct spec *s, int threads)
{
    ASSERT_OK(dlp__collector_begin(c, s->n, CALL));
    ASSERT_EQ(dlp_collector_count(c), 0);
    long failed = 0, first_bad = -1;
    int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt) reduction(+ : failed)
    for (long i = g_rank; i < s->n; i += g_size) {
        if (add_item(c, s, i) != DLP_OK) {
            failed++;
#pragma omp critical
            first_bad = first_bad < 0 ? i : first_bad;
        }
    }
    if (failed)
        TEST_FAIL("%ld adds failed, first of item %ld", failed, first_bad);
    ASSERT_OK(dlp__collector_collect(c, CALL));
}

static void direct_case(long n, uint64_t salt, int big, int empty, int threads, const char *what)
{
    char name[256];
    snprintf(name, sizeof name, "direct: n = %ld%s%s%s, %d threads%s%s", n,
             big ? ", results of 3 and 5 MiB" : "",
             empty > 1 ? ", results of 0 to 8 bytes" : empty ? ", every result 0 bytes" : "",
             n < g_size ? ", some ranks add nothing" : "",
             threads > 0 ? threads : omp_get_max_threads(), what ? ", " : "", what ? what : "");
    test_case(name);
    struct spec s = {n, salt, big, empty == 1, empty > 1};
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_create(&c));
    ASSERT_NOT_NULL(c);
    direct_call(c, &s, threads);
    check_results(c, &s, name);
    ASSERT_OK(dlp_collector_destroy(&c));
    ASSERT_NULL(c);
}

static void check_direct(void)
{
    direct_case(0, 1, 0, 0, 0, NULL);
    direct_case(1, 2, 0, 0, 0, NULL);
    direct_case(3, 3, 0, 0, 0, NULL);
    direct_case(1000, 4, 0, 0, 0, NULL);
    direct_case(1000, 5, 0, 1, 0, NULL);
    direct_case(20000, 6, 1, 0, 0, NULL);
    direct_case(20000, 7, 0, 0, 8, "more threads than cores");
    direct_case(70001, 8, 0, 0, 0, "n above 2^16 (two radix passes)");
    direct_case(400000, 9, 0, 2, 0, "messages of 65536 pieces");
}

/* ------------------------------------------------------------- misuse -- */

static void check_misuse(void)
{
    test_case("misuse: NULL handles");
    ASSERT_RC(dlp_collector_create(NULL), DLP_ERR_ARG);
    ASSERT_LAST_ERROR_SET();
    ASSERT_OK(dlp_collector_destroy(NULL));
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_destroy(&c));
    ASSERT_RC(dlp_collector_add(NULL, 0, "x", 1), DLP_ERR_ARG);
    ASSERT_LT(dlp_collector_count(NULL), 0);
    ASSERT_RC(dlp_collector_get(NULL, 0, NULL, NULL, NULL), DLP_ERR_ARG);
    ASSERT_RC(dlp_collector_buffer(NULL, NULL, NULL, NULL, NULL), DLP_ERR_ARG);

    test_case("misuse: a fresh collector is empty");
    ASSERT_OK(dlp_collector_create(&c));
    ASSERT_EQ(dlp_collector_count(c), 0);
    ASSERT_RC(dlp_collector_get(c, 0, NULL, NULL, NULL), DLP_ERR_ARG);
    if (g_rank == 0) {
        const void *data = NULL;
        const size_t *offsets = NULL;
        const long *items = NULL;
        long count = -1;
        ASSERT_OK(dlp_collector_buffer(c, &data, &offsets, &items, &count));
        ASSERT_EQ(count, 0);
        ASSERT_NOT_NULL(offsets);
        ASSERT_EQ(offsets[0], 0);
        ASSERT_OK(dlp_collector_buffer(c, NULL, NULL, NULL, NULL));
    } else {
        ASSERT_RC(dlp_collector_buffer(c, NULL, NULL, NULL, &(long){0}), DLP_ERR_ARG);
        ASSERT_STR_CONTAINS(dlp_last_error(), "master");
    }

    test_case("misuse: add outside a call is DLP_ERR_STATE");
    ASSERT_RC(dlp_collector_add(c, 0, "x", 1), DLP_ERR_STATE);
    ASSERT_STR_CONTAINS(dlp_last_error(), "dlp_collector_add");
    ASSERT_STR_CONTAINS(dlp_last_error(), "item 0");

    test_case("misuse: item out of range, NULL data");
    ASSERT_OK(dlp__collector_begin(c, 10, CALL));
    ASSERT_RC(dlp__collector_begin(c, 10, CALL), DLP_ERR_STATE);
    ASSERT_RC(dlp_collector_destroy(&c), DLP_ERR_STATE);
    ASSERT_NOT_NULL(c);
    ASSERT_RC(dlp_collector_add(c, -1, "x", 1), DLP_ERR_ARG);
    ASSERT_STR_CONTAINS(dlp_last_error(), "item -1");
    ASSERT_RC(dlp_collector_add(c, 10, "x", 1), DLP_ERR_ARG);
    ASSERT_STR_CONTAINS(dlp_last_error(), "n = 10");
    ASSERT_RC(dlp_collector_add(c, 3, NULL, 5), DLP_ERR_ARG);
    ASSERT_STR_CONTAINS(dlp_last_error(), "NULL");
    ASSERT_OK(dlp_collector_add(c, 3, NULL, 0)); /* an empty result */
    if (g_rank == 0)
        ASSERT_OK(dlp_collector_add(c, 9, "abc", 3));
    ASSERT_OK(dlp__collector_collect(c, CALL));
    ASSERT_EQ(dlp_collector_count(c), g_rank == 0 ? g_size + 1 : 0);
    if (g_rank == 0) {
        long i = -1;
        const void *d = NULL;
        size_t len = 99;
        for (long k = 0; k < g_size; k++) {
            ASSERT_OK(dlp_collector_get(c, k, &i, &d, &len));
            ASSERT_EQ(i, 3);
            ASSERT_EQ(len, 0);
        }
        ASSERT_OK(dlp_collector_get(c, g_size, &i, &d, &len));
        ASSERT_EQ(i, 9);
        ASSERT_EQ(len, 3);
        ASSERT_BYTES_EQ(d, "abc", 3);
        ASSERT_OK(dlp_collector_get(c, g_size, NULL, NULL, NULL));
    }
    ASSERT_RC(dlp_collector_get(c, -1, NULL, NULL, NULL), DLP_ERR_ARG);
    ASSERT_RC(dlp_collector_get(c, g_size + 1, NULL, NULL, NULL), DLP_ERR_ARG);
    ASSERT_STR_CONTAINS(dlp_last_error(), "k = ");
    ASSERT_RC(dlp_collector_add(c, 3, "x", 1), DLP_ERR_STATE); /* the call ended */

    test_case("misuse: an abandoned call keeps nothing and accepts no adds");
    ASSERT_OK(dlp__collector_begin(c, 5, CALL));
    ASSERT_EQ(dlp_collector_count(c), 0); /* the previous contents are dropped */
    ASSERT_OK(dlp_collector_add(c, 1, "x", 1));
    dlp__collector_abandon(c);
    ASSERT_RC(dlp_collector_add(c, 1, "x", 1), DLP_ERR_STATE);
    ASSERT_EQ(dlp_collector_count(c), 0);

    test_case("misuse: an add out of memory on the last rank fails the collect everywhere");
    ASSERT_OK(dlp__collector_begin(c, 5, CALL));
    ASSERT_OK(dlp_collector_add(c, 2, "yy", 2));
    if (g_rank == g_size - 1)
        ASSERT_RC(dlp_collector_add(c, 4, "z", SIZE_MAX / 2), DLP_ERR_NOMEM);
    int rc = dlp__collector_collect(c, CALL);
    ASSERT_RC(rc, DLP_ERR_NOMEM);
    ASSERT_STR_CONTAINS(dlp_last_error(), g_rank == g_size - 1 ? "could not be stored" : "rank");
    if (g_rank == 0)
        printf("    report on the master: %s\n", dlp_last_error());
    ASSERT_EQ(dlp_collector_count(c), 0);
    ASSERT_RC(dlp_collector_add(c, 2, "x", 1), DLP_ERR_STATE);

    test_case("misuse: the collector works again after the failed collect");
    struct spec s = {500, 77, 0, 0, 0};
    direct_call(c, &s, 0);
    check_results(c, &s, "after a failed collect");
    ASSERT_OK(dlp_collector_destroy(&c));
    ASSERT_NULL(c);
}

/* ------------------------------------------------------ back to back -- */

static void check_reuse(int calls)
{
    char name[128];
    snprintf(name, sizeof name, "direct: one collector across %d calls, no memory growth",
             calls);
    test_case(name);
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_create(&c));
    const int warm = calls / 5;
    long rss0 = 0, heap0 = 0;
    for (int k = 0; k < calls; k++) {
        if (k == warm) { /* measured with an empty collector, like at the end */
            ASSERT_OK(dlp__collector_begin(c, 0, CALL));
            ASSERT_OK(dlp__collector_collect(c, CALL));
            rss0 = test_rss_kib();
            heap0 = test_heap_bytes();
        }
        /* alternate sizes, so blocks are freed and allocated anew; results
         * of several MiB only in the warm-up, as glibc keeps freed blocks of
         * that size for reuse (its mmap threshold grows) */
        struct spec s = {k % 2 ? 3000 : 700, (uint64_t)k * 31 + 5, k % 5 == 1 && k < warm, 0, 0};
        direct_call(c, &s, 0);
        check_results(c, &s, name);
    }
    /* the last call's results are still held: drop them before measuring */
    ASSERT_OK(dlp__collector_begin(c, 0, CALL));
    ASSERT_OK(dlp__collector_collect(c, CALL));
    char what[64];
    snprintf(what, sizeof what, "%d calls", calls - warm);
    ASSERT_RSS_GROWTH(test_rss_kib() - rss0, 8192, what);
    ASSERT_HEAP_GROWTH(test_heap_bytes() - heap0, 256 * 1024, what);
    ASSERT_OK(dlp_collector_destroy(&c));
}

/* ---------------------------------------------------- the public calls -- */

struct body_ctx {
    dlp_collector *c;
    const struct spec *s;
    long fail_at; /* the body fails on this item (-1: none) */
    _Atomic int first_rc;
};

static int collect_body(long i, void *vctx)
{
    struct body_ctx *b = vctx;
    int rc = add_item(b->c, b->s, i);
    if (rc != DLP_OK) {
        int zero = 0;
        atomic_compare_exchange_strong(&b->first_rc, &zero, rc);
        return 1;
    }
    return i == b->fail_at ? 7 : 0;
}

static int run_form(int form, dlp_collector *c, const struct spec *s, long fail_at,
                    int *add_rc)
{
    struct body_ctx b = {c, s, fail_at, 0};
    dlp_opts o = DLP_OPTS_INIT;
    o.collector = c;
    int rc = test_run_form(form, s->n, collect_body, &b, &o, 0);
    if (add_rc)
        *add_rc = atomic_load(&b.first_rc);
    return rc;
}

/* Does this build pass opts.collector to the calls? (Adds succeed in a
 * call's bodies and the master holds them afterwards, on every rank.) */
static int collector_wired(void)
{
    test_case("probe: is opts.collector wired into the parallel calls?");
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_create(&c));
    struct spec s = {2L * g_size, 3, 0, 1, 0};
    int add_rc = 0;
    ASSERT_OK(run_form(TEST_ROUND_ROBIN, c, &s, -1, &add_rc));
    long want = 0;
    for (long i = 0; i < s.n; i++)
        want += n_results(i);
    int mine = add_rc == DLP_OK && dlp_collector_count(c) == (g_rank == 0 ? want : 0), all = 0;
    ASSERT_MPI(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, dlp_comm()));
    ASSERT_OK(dlp_collector_destroy(&c));
    return all;
}

static void call_case(int form, long n, uint64_t salt, int big, int tiny)
{
    char name[256];
    snprintf(name, sizeof name, "%s with opts.collector: n = %ld%s%s", test_form_name(form), n,
             big ? ", results of 3 and 5 MiB" : "", tiny ? ", results of 0 to 8 bytes" : "");
    test_case(name);
    struct spec s = {n, salt, big, 0, tiny};
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_create(&c));
    int add_rc = 0;
    ASSERT_OK(run_form(form, c, &s, -1, &add_rc));
    ASSERT_RC(add_rc, DLP_OK);
    check_results(c, &s, name);
    ASSERT_OK(dlp_collector_destroy(&c));
}

static int create_in_body(long i, void *ctx)
{
    (void)i;
    dlp_collector *tmp = (dlp_collector *)ctx; /* must be set to NULL */
    int rc = dlp_collector_create(&tmp);
    return rc == DLP_ERR_STATE && tmp == NULL ? 0 : 1;
}

static int add_without_collector(long i, void *ctx)
{
    return dlp_collector_add((dlp_collector *)ctx, i, "x", 1) == DLP_ERR_STATE ? 0 : 1;
}

/* Cases through the public calls that hold without the wiring too. */
static void check_calls_unwired(void)
{
    test_case("misuse: dlp_collector_create inside a body is DLP_ERR_STATE");
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_create(&c));
    ASSERT_OK(dlp_split_round_robin(4L * g_size, create_in_body, c, NULL));

    test_case("misuse: add in a call without opts.collector = c is DLP_ERR_STATE");
    ASSERT_OK(dlp_split_managed(4L * g_size, add_without_collector, c, NULL));
    ASSERT_OK(dlp_collector_destroy(&c));
}

static int destroy_in_body(long i, void *ctx)
{
    dlp_collector *c = ctx;
    if (dlp_collector_destroy(&c) != DLP_ERR_STATE || c == NULL)
        return 1;
    return dlp_collector_add(ctx, i, &i, sizeof i) == DLP_OK ? 0 : 1;
}

static void check_calls(int calls)
{
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        call_case(f, 0, 11, 0, 0);
        call_case(f, 1, 12, 0, 0);
        call_case(f, 5000, 13 + (uint64_t)f, 0, 0);
    }
    call_case(TEST_MANAGED, 20000, 21, 1, 0);
    call_case(TEST_LOOP_ROUND_ROBIN, 20000, 22, 1, 0);
    call_case(TEST_MANAGED, 300000, 23, 0, 1);

    test_case("calls: a failing body gives DLP_ERR_ITEM and an empty collector, then it works");
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_create(&c));
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        struct spec s = {3000, 31 + (uint64_t)f, 0, 0, 0};
        ASSERT_RC(run_form(f, c, &s, 2222, NULL), DLP_ERR_ITEM);
        ASSERT_STR_CONTAINS(dlp_last_error(), "2222");
        ASSERT_EQ(dlp_collector_count(c), 0);
        ASSERT_RC(dlp_collector_add(c, 1, "x", 1), DLP_ERR_STATE);
        ASSERT_OK(run_form(f, c, &s, -1, NULL));
        check_results(c, &s, "after a failing call");
    }

    test_case("calls: destroying the collector from a body is DLP_ERR_STATE");
    dlp_opts o = DLP_OPTS_INIT;
    o.collector = c;
    ASSERT_OK(dlp_split_managed(100, destroy_in_body, c, &o));
    ASSERT_EQ(dlp_collector_count(c), g_rank == 0 ? 100 : 0);

    char name[128];
    snprintf(name, sizeof name, "calls: one collector across %d calls, no memory growth", calls);
    test_case(name);
    const int warm = calls / 5;
    long rss0 = 0, heap0 = 0;
    for (int k = 0; k < calls; k++) {
        if (k == warm) { /* measured with an empty collector, like at the end */
            struct spec none = {0, 0, 0, 0, 0};
            ASSERT_OK(run_form(TEST_ROUND_ROBIN, c, &none, -1, NULL));
            rss0 = test_rss_kib();
            heap0 = test_heap_bytes();
        }
        struct spec s = {k % 2 ? 2000 : 300, (uint64_t)k * 7 + 1, 0, 0, 0};
        ASSERT_OK(run_form(k % TEST_BODY_FORMS, c, &s, -1, NULL));
        check_results(c, &s, name);
    }
    struct spec none = {0, 0, 0, 0, 0};
    ASSERT_OK(run_form(TEST_ROUND_ROBIN, c, &none, -1, NULL));
    char what[64];
    snprintf(what, sizeof what, "%d calls", calls - warm);
    ASSERT_RSS_GROWTH(test_rss_kib() - rss0, 8192, what);
    ASSERT_HEAP_GROWTH(test_heap_bytes() - heap0, 256 * 1024, what);
    ASSERT_OK(dlp_collector_destroy(&c));
}

/* -------------------------------------------------------------- large -- */

/* Above 2 GiB: the last rank adds one result of 2^31 + 17 bytes (item 1),
 * every rank 24 results of 16 MiB + r (items 2 + ...), round robin. On a
 * second node that is not the leader, it travels through the leader in
 * messages of 256 MiB. */
static size_t large_len(long i)
{
    return i == 1 ? ((size_t)1 << 31) + 17 : i == 0 ? 0 : ((size_t)16 << 20) + (size_t)i;
}

static void fill_large(unsigned char *p, size_t len, long i)
{
    size_t words = len / 8;
#pragma omp parallel for schedule(static)
    for (size_t w = 0; w < words; w++) {
        uint64_t v = test_mix(((uint64_t)i << 40) ^ w);
        memcpy(p + 8 * w, &v, 8);
    }
    for (size_t k = 8 * words; k < len; k++)
        p[k] = (unsigned char)(test_mix(((uint64_t)i << 40) ^ (k / 8)) >> (8 * (k % 8)));
}

static size_t check_large_bytes(const unsigned char *p, size_t len, long i)
{
    size_t words = len / 8, first = len;
#pragma omp parallel for schedule(static) reduction(min : first)
    for (size_t w = 0; w < words; w++) {
        uint64_t v = test_mix(((uint64_t)i << 40) ^ w), got;
        memcpy(&got, p + 8 * w, 8);
        if (got != v && 8 * w < first)
            first = 8 * w;
    }
    for (size_t k = 8 * words; k < len && first == len; k++)
        if (p[k] != (unsigned char)(test_mix(((uint64_t)i << 40) ^ (k / 8)) >> (8 * (k % 8))))
            first = k;
    return first;
}

static void check_large(void)
{
    test_case("direct: above 2 GiB, one result of 2^31 + 17 bytes from the last rank");
    const long n = 2 + 24L * g_size;
    dlp_collector *c = NULL;
    ASSERT_OK(dlp_collector_create(&c));
    ASSERT_OK(dlp__collector_begin(c, n, CALL));
    for (long i = 0; i < n; i++) {
        int owner = i == 1 ? g_size - 1 : (int)(i % g_size);
        if (owner != g_rank)
            continue;
        size_t len = large_len(i);
        unsigned char *buf = malloc(len ? len : 1);
        ASSERT_NOT_NULL(buf);
        fill_large(buf, len, i);
        ASSERT_OK(dlp_collector_add(c, i, buf, len));
        free(buf);
    }
    ASSERT_OK(dlp_barrier()); /* time the collect alone */
    double t0 = MPI_Wtime();
    ASSERT_OK(dlp__collector_collect(c, CALL));
    double t = MPI_Wtime() - t0;
    if (g_rank == 0) {
        ASSERT_EQ(dlp_collector_count(c), n);
        size_t total = 0;
        for (long k = 0; k < n; k++) {
            long i = -1;
            const void *d = NULL;
            size_t len = 0;
            ASSERT_OK(dlp_collector_get(c, k, &i, &d, &len));
            ASSERT_EQ(i, k);
            ASSERT_EQ_U64(len, large_len(k));
            size_t bad = check_large_bytes(d, len, k);
            if (bad != len)
                TEST_FAIL("item %ld: byte %zu of %zu is wrong", k, bad, len);
            total += len;
        }
        printf("    collected %zu bytes in %.2f s\n", total, t);
    } else {
        ASSERT_EQ(dlp_collector_count(c), 0);
    }
    ASSERT_OK(dlp_collector_destroy(&c));
}

int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    int calls = 50, large = 0;
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "--calls=", 8) == 0)
            calls = atoi(argv[a] + 8);
        else if (strcmp(argv[a], "large") == 0)
            large = 1;
        else
            TEST_FAIL("unknown argument \"%s\" (--calls=N, large)", argv[a]);
    }
    ASSERT_GE(calls, 10);
    if (large) {
        check_large();
    } else {
        check_misuse();
        check_direct();
        check_reuse(calls);
        check_calls_unwired();
        if (!collector_wired())
            TEST_FAIL("opts.collector is not wired into the parallel calls: adds in the bodies "
                      "fail or the master does not hold the results afterwards");
        check_calls(calls);
    }
    return test_end("test_collector");
}
