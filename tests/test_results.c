/* Results: dense results (dlp_results_*) after managed, round-robin and loop
 * calls, checked byte for byte on the master for several element sizes;
 * dlp_gather with variable sizes (0 bytes on some ranks); dlp_bcast;
 * dlp_call_on_root_and_bcast (incl. a failing fn); dlp_barrier. */
#include "test_forms.h"


/* ------------------------------------------------------- dense results -- */

struct dense_ctx {
    dlp_results *r;
    size_t elem;
    uint64_t salt;
    long n;
    long bad;     /* 1 + item whose slot was NULL */
    long fail_at; /* the body fails on this item (0 = none; set it > 0) */
};

static void fill(unsigned char *p, size_t elem, uint64_t salt, long i)
{
    size_t j = 0;
    for (; j + 8 <= elem; j += 8) {
        uint64_t w = test_mix(salt ^ ((uint64_t)i * 0x100000001b3ULL) ^ (j >> 3));
        memcpy(p + j, &w, 8);
    }
    for (; j < elem; j++)
        p[j] = test_pattern(salt, (uint64_t)i, j);
}

static int dense_body(long i, void *vctx)
{
    struct dense_ctx *c = vctx;
    unsigned char *slot = dlp_results_at(c->r, i);
    if (!slot) {
        __atomic_store_n(&c->bad, i + 1, __ATOMIC_RELAXED);
        return 0;
    }
    fill(slot, c->elem, c->salt, i);
    return c->fail_at > 0 && i == c->fail_at ? 9 : 0;
}

/* The call of the form with the options as they are (opts.results too). */
static int run_form_as(int form, long n, struct dense_ctx *c, dlp_opts o)
{
    return test_run_form(form, n, dense_body, c, &o, 0);
}

static int run_form(int form, long n, struct dense_ctx *c, const dlp_opts *base)
{
    dlp_opts o = base ? *base : (dlp_opts)DLP_OPTS_INIT;
    o.results = c->r;
    return run_form_as(form, n, c, o);
}

/* The master's dense array must hold fill(i) for every item i. */
static void check_dense(const struct dense_ctx *c, const char *name)
{
    if (g_rank != 0 || c->n == 0)
        return;
    const unsigned char *data = dlp_results_data(c->r);
    ASSERT_NOT_NULL(data);
    unsigned char *want = malloc(c->elem);
    ASSERT_NOT_NULL(want);
    for (long i = 0; i < c->n; i++) {
        fill(want, c->elem, c->salt, i);
        const unsigned char *got = data + (size_t)i * c->elem;
        if (memcmp(got, want, c->elem) != 0) {
            size_t j = 0;
            while (got[j] == want[j])
                j++;
            TEST_FAIL("%s: item %ld of %ld, byte %zu of %zu: 0x%02x, expected 0x%02x", name, i,
                      c->n, j, c->elem, got[j], want[j]);
        }
    }
    free(want);
}

static void dense_case(int form, long n, size_t elem, const dlp_opts *opts, const char *what)
{
    char name[256];
    snprintf(name, sizeof name, "dense results, %s, n = %ld, elem %zu%s%s", test_form_name(form), n,
             elem, what ? ", " : "", what ? what : "");
    test_case(name);
    struct dense_ctx c = {NULL, elem, test_mix((uint64_t)n * 131 + elem * 7 + (uint64_t)form), n,
                          0, 0};
    ASSERT_OK(dlp_results_create(&c.r, n, elem));
    ASSERT_NOT_NULL(c.r);
    ASSERT_OK(run_form(form, n, &c, opts));
    ASSERT_EQ(c.bad, 0);
    check_dense(&c, name);
    ASSERT_OK(dlp_results_destroy(&c.r));
    ASSERT_NULL(c.r);
}

static void check_dense_results(int cycles)
{
    const size_t elems[] = {1, 3, 8, 24, 4096};
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        for (size_t k = 0; k < sizeof elems / sizeof elems[0]; k++) {
            size_t e = elems[k];
            dense_case(f, 0, e, NULL, NULL);
            dense_case(f, 1, e, NULL, NULL);
            dense_case(f, 2, e, NULL, NULL);
            dense_case(f, 1000, e, NULL, NULL);
            if (e <= 24)
                dense_case(f, 100003, e, NULL, NULL);
        }
    }
    dlp_opts o = DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_FIXED;
    o.chunk = 1;
    dense_case(TEST_MANAGED, 5000, 24, &o, "FIXED chunk 1");
    dense_case(TEST_LOOP_MANAGED, 5000, 8, &o, "FIXED chunk 1");
    o.chunk = 7;
    dense_case(TEST_MANAGED, 5000, 24, &o, "FIXED chunk 7");
    dense_case(TEST_MANAGED, 1000, 4096, &o, "FIXED chunk 7");
    /* the transfer's paths (lib/base/transfer.c): packed items of the sizes
     * with their own copy loops (4, 8, 16) and others, over many packed
     * messages (more than its window of 8 in flight); items of 64 KiB and
     * more (each a message of its own, also when strided) and just below
     * (a few per packed message); managed chunks both above and below the
     * 64 KiB of a direct message, and small ones packed together */
    dense_case(TEST_ROUND_ROBIN, 100003, 4, NULL, "packed 4-byte items");
    dense_case(TEST_ROUND_ROBIN, 100003, 16, NULL, "packed 16-byte items");
    dense_case(TEST_ROUND_ROBIN, 1000003, 8, NULL, "many packed messages");
    dense_case(TEST_LOOP_ROUND_ROBIN, 300007, 12, NULL, "many packed messages");
    dense_case(TEST_ROUND_ROBIN, 37, 65536, NULL, "strided items of 64 KiB, each a message");
    dense_case(TEST_MANAGED, 37, 65536 + 8, NULL, "items above 64 KiB");
    dense_case(TEST_ROUND_ROBIN, 101, 40000, NULL, "strided items just below 64 KiB, packed");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.schedule = DLP_SCHEDULE_GSS;
    dense_case(TEST_MANAGED, 600001, 8, &o, "GSS: chunks direct and packed");
    dense_case(TEST_LOOP_MANAGED, 200003, 24, &o, "GSS: chunks direct and packed");
    o.schedule = DLP_SCHEDULE_FIXED;
    o.chunk = 8192; /* 64 KiB of 8-byte items: direct, exactly at the bound */
    dense_case(TEST_MANAGED, 100000, 8, &o, "FIXED chunk of 64 KiB");
    o.chunk = 8191;
    dense_case(TEST_MANAGED, 100000, 8, &o, "FIXED chunk of 64 KiB - 8 bytes");
    o = (dlp_opts)DLP_OPTS_INIT;
    o.threads = 1;
    dense_case(TEST_MANAGED, 3000, 24, &o, "opts.threads = 1");
    dense_case(TEST_ROUND_ROBIN, 3000, 24, &o, "opts.threads = 1");

    test_case("dense results: one object reused for two calls");
    struct dense_ctx c = {NULL, 24, 1, 20000, 0, 0};
    ASSERT_OK(dlp_results_create(&c.r, c.n, c.elem));
    ASSERT_OK(run_form(TEST_MANAGED, c.n, &c, NULL));
    check_dense(&c, "reused results, first call (managed)");
    c.salt = 2;
    ASSERT_OK(run_form(TEST_ROUND_ROBIN, c.n, &c, NULL));
    check_dense(&c, "reused results, second call (round robin)");
    c.salt = 3;
    ASSERT_OK(run_form(TEST_LOOP_MANAGED, c.n, &c, NULL));
    check_dense(&c, "reused results, third call (loop form, managed)");
    ASSERT_EQ(c.bad, 0);
    ASSERT_OK(dlp_results_destroy(&c.r));

    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        char nm[128];
        snprintf(nm, sizeof nm, "dense results, %s: a failing body; then a fresh call works",
                 test_form_name(f));
        test_case(nm);
        struct dense_ctx fc = {NULL, 24, 5, 3000, 0, 2222};
        ASSERT_OK(dlp_results_create(&fc.r, fc.n, fc.elem));
        int rc = run_form(f, fc.n, &fc, NULL);
        ASSERT_RC(rc, DLP_ERR_ITEM);
        ASSERT_STR_CONTAINS(dlp_last_error(), "2222");
        ASSERT_OK(dlp_results_destroy(&fc.r));
        ASSERT_NULL(fc.r);
        dense_case(f, 3000, 24, NULL, "after a failing call");
    }

    test_case("dense results: own slots readable on the computing rank");
    struct dense_ctx d = {NULL, 16, 9, 1000, 0, 0};
    ASSERT_OK(dlp_results_create(&d.r, d.n, d.elem));
    ASSERT_OK(run_form(TEST_ROUND_ROBIN, d.n, &d, NULL));
    unsigned char want[16];
    for (long i = g_rank; i < d.n; i += g_size) {
        fill(want, d.elem, d.salt, i);
        ASSERT_BYTES_EQ(dlp_results_at(d.r, i), want, d.elem);
    }
    check_dense(&d, "round robin, elem 16");
    ASSERT_OK(dlp_results_destroy(&d.r));

    char name[128];
    snprintf(name, sizeof name, "dense results: %d create/use/destroy cycles do not leak",
             cycles);
    test_case(name);
    long rss0 = 0, heap0 = 0, maps0 = 0;
    const int warm = cycles / 6;
    for (int k = 0; k < cycles; k++) {
        if (k == warm) {
            rss0 = test_rss_kib();
            heap0 = test_heap_bytes();
            maps0 = test_map_count();
        }
        struct dense_ctx e = {NULL, 64, (uint64_t)k, 64, 0, 0};
        ASSERT_OK(dlp_results_create(&e.r, e.n, e.elem));
        ASSERT_OK(run_form(k % TEST_BODY_FORMS, e.n, &e, NULL));
        check_dense(&e, "create/use/destroy cycle");
        ASSERT_OK(dlp_results_destroy(&e.r));
    }
    char what[64];
    snprintf(what, sizeof what, "%d cycles", cycles - warm);
    ASSERT_RSS_GROWTH(test_rss_kib() - rss0, 2048, what);
    ASSERT_HEAP_GROWTH(test_heap_bytes() - heap0, 256 * 1024, what);
    /* every node-shared segment is unmapped again */
    long maps = test_map_count();
    if (maps > maps0 + 4)
        TEST_FAIL("memory mappings grew from %ld to %ld over %d cycles", maps0, maps,
                  cycles - warm);
}

/* A body writing into results that are not the call's opts.results (none,
 * or another object): on one node the master would see the node-shared
 * slots, across nodes half of them would stay 0. Every rank gets
 * DLP_ERR_STATE naming the fix, under every on_error; the master reads
 * its results after the call as before, and the next call works. */
static void check_results_not_attached(void)
{
    static const int policies[] = {DLP_ON_ERROR_ABORT, DLP_ON_ERROR_SKIP, DLP_ON_ERROR_RETRY};
    static const char *policy_name[] = {"abort", "skip", "retry"};
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        for (int p = 0; p < 3; p++) {
            if (p == 2 && test_form_loop(f))
                continue; /* the loop forms refuse retry */
            for (int other = 0; other < 2; other++) {
                char name[192];
                snprintf(name, sizeof name,
                         "dense results not attached: %s, on_error = %s, opts.results = %s",
                         test_form_name(f), policy_name[p], other ? "another object" : "NULL");
                test_case(name);
                struct dense_ctx c = {NULL, 8, 77, 400, 0, 0};
                dlp_results *attached = NULL;
                ASSERT_OK(dlp_results_create(&c.r, c.n, c.elem));
                if (other)
                    ASSERT_OK(dlp_results_create(&attached, c.n, c.elem));
                dlp_opts o = DLP_OPTS_INIT;
                o.on_error = policies[p];
                o.results = attached;
                ASSERT_RC(run_form_as(f, c.n, &c, o), DLP_ERR_STATE);
                ASSERT_EQ(c.bad, 0); /* the body got a slot it could write */
                ASSERT_STR_CONTAINS(dlp_last_error(), "dlp_results_at(r, ");
                ASSERT_STR_CONTAINS(dlp_last_error(), other ? "is not the results object of "
                                                              "the running call"
                                                            : "r is not attached to the running "
                                                              "call");
                ASSERT_STR_CONTAINS(dlp_last_error(), other ? "pass r as opts.results"
                                                            : "set opts.results = r");
                ASSERT_STR_CONTAINS(dlp_last_error(), "DLP_ERR_STATE");
                const dlp_failure *list = NULL;
                ASSERT_EQ(dlp_failures(&list), 0);
                if (g_rank == 0 && p == 0 && f == 0)
                    printf("    report: %s\n", dlp_last_error());
                /* after the call: the master's slots and data are readable */
                if (g_rank == 0) {
                    ASSERT_NOT_NULL(dlp_results_at(c.r, c.n - 1));
                    ASSERT_TRUE(dlp_results_data(c.r) == dlp_results_at(c.r, 0));
                }
                ASSERT_OK(dlp_results_destroy(&attached));
                /* attached, the same object and body work */
                ASSERT_OK(run_form(f, c.n, &c, NULL));
                check_dense(&c, name);
                ASSERT_OK(dlp_results_destroy(&c.r));
            }
        }
    }
}

/* DLP_RESULTS_AT: the element's type is checked against the object. */
struct triple {
    long a, b, c;
};

struct big {
    long double x[4];
};

struct typed_ctx {
    dlp_results *r;
    int wrong; /* 0: the right type; 1: a pointer to it; 2: a larger type */
};

static int typed_body(long i, void *vctx)
{
    struct typed_ctx *c = vctx;
    if (c->wrong == 1) {
        struct triple **p = DLP_RESULTS_AT(c->r, i, struct triple *); /* sizeof(ptr) */
        *p = NULL;
    } else if (c->wrong == 2) {
        struct big *p = DLP_RESULTS_AT(c->r, i, struct big);
        memset(p, 0xab, sizeof *p); /* writable though larger than the slot */
    } else {
        struct triple *t = DLP_RESULTS_AT(c->r, i, struct triple);
        *t = (struct triple){i, 2 * i, 3 * i};
    }
    return 0;
}

static void check_typed_access(void)
{
    test_case("dlp_results_elem_size");
    dlp_results *r = NULL;
    ASSERT_EQ(dlp_results_elem_size(NULL), 0);
    ASSERT_OK(dlp_results_create(&r, 7, 40));
    ASSERT_EQ(dlp_results_elem_size(r), 40);
    ASSERT_OK(dlp_results_destroy(&r));

    const long n = 300;
    for (int f = 0; f < TEST_BODY_FORMS; f++) {
        for (int wrong = 0; wrong < 3; wrong++) {
            char name[160];
            snprintf(name, sizeof name, "DLP_RESULTS_AT: %s, %s", test_form_name(f),
                     wrong == 0   ? "the element's type"
                     : wrong == 1 ? "a pointer's size: DLP_ERR_ARG everywhere"
                                  : "a larger type: DLP_ERR_ARG everywhere, no crash");
            test_case(name);
            struct typed_ctx c = {NULL, wrong};
            ASSERT_OK(dlp_results_create(&c.r, n, sizeof(struct triple)));
            dlp_opts o = DLP_OPTS_INIT;
            o.results = c.r;
            o.on_error = wrong == 2 ? DLP_ON_ERROR_SKIP : DLP_ON_ERROR_DEFAULT;
            int rc = test_run_form(f, n, typed_body, &c, &o, 0);
            if (wrong == 0) {
                ASSERT_OK(rc);
                if (g_rank == 0)
                    for (long i = 0; i < n; i++) {
                        const struct triple *t = DLP_RESULTS_AT(c.r, i, struct triple);
                        ASSERT_NOT_NULL(t);
                        ASSERT_EQ(t->a, i);
                        ASSERT_EQ(t->c, 3 * i);
                    }
            } else {
                ASSERT_RC(rc, DLP_ERR_ARG);
                char want[128];
                snprintf(want, sizeof want,
                         "sizeof(type) = %zu bytes, but r holds elements of %zu bytes",
                         wrong == 1 ? sizeof(struct triple *) : sizeof(struct big),
                         sizeof(struct triple));
                ASSERT_STR_CONTAINS(dlp_last_error(), want);
                ASSERT_STR_CONTAINS(dlp_last_error(), "DLP_RESULTS_AT(r, ");
                if (g_rank == 0 && f == TEST_MANAGED && wrong == 1)
                    printf("    report: %s\n", dlp_last_error());
            }
            ASSERT_OK(dlp_results_destroy(&c.r));
        }
    }

    test_case("DLP_RESULTS_AT outside a call: NULL and the message on a mismatch");
    ASSERT_OK(dlp_results_create(&r, 10, sizeof(int)));
    ASSERT_NOT_NULL(DLP_RESULTS_AT(r, 3, int));
    ASSERT_NULL(DLP_RESULTS_AT(r, 3, long));
    char want[96];
    snprintf(want, sizeof want, "sizeof(type) = %zu bytes, but r holds elements of %zu bytes",
             sizeof(long), sizeof(int));
    ASSERT_STR_CONTAINS(dlp_last_error(), want);
    ASSERT_NULL(DLP_RESULTS_AT(r, 10, int)); /* out of range */
    ASSERT_OK(dlp_results_destroy(&r));
}

/* ------------------------------------------------------------- gather -- */

/* The master's gathered bytes: every rank's part where it belongs. */
static void check_gathered(const void *all, const size_t *lens, size_t (*len_of)(int rank),
                           uint64_t salt)
{
    size_t off = 0;
    for (int r = 0; r < g_size; r++) {
        size_t want = len_of(r);
        if (lens[r] != want)
            TEST_FAIL("lens[%d] = %zu, expected %zu", r, lens[r], want);
        ASSERT_TRUE(want == 0 || all != NULL);
        const unsigned char *p = (const unsigned char *)all + off;
        for (size_t k = 0; k < want; k++)
            if (p[k] != test_pattern(salt, (uint64_t)r, k))
                TEST_FAIL("rank %d's byte %zu (offset %zu) is 0x%02x, expected 0x%02x", r, k,
                          off + k, p[k], test_pattern(salt, (uint64_t)r, k));
        off += want;
    }
}

/* This rank's contribution. */
static unsigned char *gather_part(size_t (*len_of)(int rank), uint64_t salt, size_t *len)
{
    *len = len_of(g_rank);
    unsigned char *buf = malloc(*len ? *len : 1);
    ASSERT_NOT_NULL(buf);
    for (size_t k = 0; k < *len; k++)
        buf[k] = test_pattern(salt, (uint64_t)g_rank, k);
    return buf;
}

static void gather_case(size_t (*len_of)(int rank), int lens_everywhere, int null_empty,
                        const char *name)
{
    test_case(name);
    uint64_t salt = test_mix((uint64_t)name[0] * 977 + strlen(name));
    size_t len;
    unsigned char *buf = gather_part(len_of, salt, &len);
    size_t *lens = NULL;
    if (g_rank == 0 || lens_everywhere) {
        lens = malloc(sizeof(size_t) * (size_t)g_size);
        for (int r = 0; r < g_size; r++)
            lens[r] = (size_t)-1;
    }
    void *all = &all; /* must be overwritten */
    ASSERT_OK(dlp_gather(null_empty && len == 0 ? NULL : buf, len, &all, lens));
    if (g_rank == 0) {
        if (all == (void *)&all)
            TEST_FAIL("dlp_gather did not set *all on the master");
        check_gathered(all, lens, len_of, salt);
        ASSERT_NOT_NULL(all);
        free(all);
    } else {
        ASSERT_NULL(all);
    }
    free(lens);
    free(buf);
}

/* dlp_gather_into: into the master's buffer with room to spare (the bytes
 * after the contributions stay as they were), or too small (every rank
 * gets DLP_ERR_ARG, the master's message gives both sizes). */
static void gather_into_case(size_t (*len_of)(int rank), size_t spare, int too_small,
                             const char *name)
{
    test_case(name);
    uint64_t salt = test_mix((uint64_t)name[0] * 613 + strlen(name));
    size_t len, total = 0;
    unsigned char *buf = gather_part(len_of, salt, &len);
    for (int r = 0; r < g_size; r++)
        total += len_of(r);
    size_t cap = too_small ? (total > 0 ? total - 1 : 0) : total + spare;
    unsigned char *out = g_rank == 0 ? malloc(cap + 1) : NULL;
    size_t *lens = g_rank == 0 ? malloc(sizeof(size_t) * (size_t)g_size) : NULL;
    if (g_rank == 0) {
        ASSERT_NOT_NULL(out);
        ASSERT_NOT_NULL(lens);
        memset(out, 0xA5, cap + 1);
    }
    int rc = dlp_gather_into(buf, len, out, cap, lens);
    if (too_small) {
        ASSERT_RC(rc, DLP_ERR_ARG);
        char want[96]; /* the same message on every rank */
        snprintf(want, sizeof want, "need %zu bytes, out holds cap = %zu", total, cap);
        ASSERT_STR_CONTAINS(dlp_last_error(), want);
    } else {
        ASSERT_OK(rc);
        if (g_rank == 0) {
            check_gathered(out, lens, len_of, salt);
            for (size_t k = total; k <= cap; k++)
                if (out[k] != 0xA5)
                    TEST_FAIL("byte %zu after the %zu gathered bytes changed to 0x%02x", k,
                              total, out[k]);
        }
    }
    free(out);
    free(lens);
    free(buf);
}

static size_t len_mixed(int r) { return r == 1 ? 0 : (size_t)r * 100003 + 11 + (r == 0) * 5; }
static size_t len_zero(int r) { (void)r; return 0; }
static size_t len_master_zero(int r) { return r == 0 ? 0 : (size_t)r * 13 + 1; }
static size_t len_big(int r) { return (size_t)(8u << 20) + (size_t)r * 4099; }
static size_t len_one(int r) { (void)r; return 1; }

static void check_gather(void)
{
    gather_case(len_mixed, 0, 0, "dlp_gather: variable sizes, rank 1 sends 0 bytes");
    gather_case(len_mixed, 1, 0, "dlp_gather: variable sizes, lens on every rank");
    gather_case(len_mixed, 0, 1, "dlp_gather: variable sizes, NULL buffer for 0 bytes");
    gather_case(len_master_zero, 0, 0, "dlp_gather: the master sends 0 bytes");
    gather_case(len_zero, 0, 0, "dlp_gather: every rank sends 0 bytes");
    gather_case(len_one, 0, 0, "dlp_gather: one byte per rank");
    gather_case(len_big, 0, 0, "dlp_gather: 8 MiB per rank");
    for (int k = 0; k < 50; k++)
        gather_case(len_master_zero, 0, 0, "dlp_gather: repeated");
    gather_into_case(len_mixed, 0, 0, "dlp_gather_into: variable sizes, exact room");
    gather_into_case(len_mixed, 100, 0, "dlp_gather_into: variable sizes, room to spare");
    gather_into_case(len_zero, 0, 0, "dlp_gather_into: every rank sends 0 bytes");
    gather_into_case(len_big, 7, 0, "dlp_gather_into: 8 MiB per rank");
    for (int k = 0; k < 5; k++)
        gather_into_case(len_big, 0, 0, "dlp_gather_into: 8 MiB per rank, repeated");
    gather_into_case(len_mixed, 0, 1, "dlp_gather_into: out one byte too small");
    gather_into_case(len_one, 0, 0, "dlp_gather_into: one byte per rank, after a failure");
}

/* ------------------------------------------------------------- bcast -- */

static void check_bcast(void)
{
    const size_t lens[] = {0, 1, 7, 4096, (size_t)3 << 20};
    for (int root = 0; root < g_size; root += (g_size > 2 ? g_size - 1 : 1)) {
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            char name[128];
            snprintf(name, sizeof name, "dlp_bcast: %zu bytes from rank %d", lens[k], root);
            test_case(name);
            size_t len = lens[k];
            unsigned char *buf = malloc(len + 1);
            for (size_t j = 0; j < len; j++)
                buf[j] = g_rank == root ? test_pattern(root + 17, len, j) : 0;
            ASSERT_OK(dlp_bcast(buf, len, root));
            for (size_t j = 0; j < len; j++)
                if (buf[j] != test_pattern(root + 17, len, j))
                    TEST_FAIL("byte %zu of %zu is 0x%02x, expected 0x%02x", j, len, buf[j],
                              test_pattern(root + 17, len, j));
            free(buf);
        }
    }
}

/* ------------------------------------------- call on root and bcast -- */

struct root_ctx {
    int calls;
    uint64_t salt;
    int fail;
};

static int root_fn(void *vctx, void *out, size_t len)
{
    struct root_ctx *c = vctx;
    c->calls++;
    if (dlp_rank() != 0)
        return 1000; /* must only run on the master */
    for (size_t j = 0; j < len; j++)
        ((unsigned char *)out)[j] = test_pattern(c->salt, 5, j);
    return c->fail;
}

static void check_call_on_root(void)
{
    const size_t lens[] = {1, 8, 1000, 1 << 20};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        test_case("dlp_call_on_root_and_bcast: every rank gets the master's result");
        size_t len = lens[k];
        struct root_ctx c = {0, len * 3 + 1, 0};
        unsigned char *out = calloc(len, 1);
        ASSERT_OK(dlp_call_on_root_and_bcast(root_fn, &c, out, len));
        ASSERT_EQ(c.calls, g_rank == 0);
        for (size_t j = 0; j < len; j++)
            if (out[j] != test_pattern(c.salt, 5, j))
                TEST_FAIL("byte %zu of %zu is 0x%02x, expected 0x%02x", j, len, out[j],
                          test_pattern(c.salt, 5, j));
        free(out);
    }

    test_case("dlp_call_on_root_and_bcast: a failing fn is DLP_ERR_ITEM everywhere");
    struct root_ctx c = {0, 1, 42};
    double out = 0;
    ASSERT_RC(dlp_call_on_root_and_bcast(root_fn, &c, &out, sizeof out), DLP_ERR_ITEM);
    ASSERT_LAST_ERROR_SET();
    ASSERT_EQ(c.calls, g_rank == 0);
    if (g_rank == 0)
        printf("    report: %s\n", dlp_last_error());

    test_case("dlp_call_on_root_and_bcast: works again after a failure");
    c = (struct root_ctx){0, 77, 0};
    unsigned char b[64];
    ASSERT_OK(dlp_call_on_root_and_bcast(root_fn, &c, b, sizeof b));
    for (size_t j = 0; j < sizeof b; j++)
        ASSERT_EQ(b[j], test_pattern(77, 5, j));
}

/* ------------------------------------------------------------ barrier -- */

static void check_barrier(void)
{
    test_case("dlp_barrier: repeated, with MPI traffic in between");
    for (int k = 0; k < 100; k++) {
        ASSERT_OK(dlp_barrier());
        if (k % 25 == 0) {
            int v = k, sum = 0;
            ASSERT_MPI(MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, dlp_comm()));
            ASSERT_EQ(sum, k * g_size);
        }
    }
    /* a barrier orders one-sided writes: each rank puts its rank into the
     * master's window before the barrier; after it, the master sees them all */
    test_case("dlp_barrier orders a put before it");
    int *slots = NULL;
    MPI_Win win;
    ASSERT_MPI(MPI_Win_allocate((MPI_Aint)(sizeof(int) * (size_t)g_size), sizeof(int),
                                MPI_INFO_NULL, dlp_comm(), &slots, &win));
    for (int r = 0; r < g_size; r++)
        slots[r] = -1;
    ASSERT_MPI(MPI_Win_lock_all(0, win));
    ASSERT_OK(dlp_barrier());
    int me = g_rank;
    ASSERT_MPI(MPI_Put(&me, 1, MPI_INT, 0, g_rank, 1, MPI_INT, win));
    ASSERT_MPI(MPI_Win_flush(0, win));
    ASSERT_OK(dlp_barrier());
    if (g_rank == 0) {
        ASSERT_MPI(MPI_Win_sync(win));
        for (int r = 0; r < g_size; r++)
            ASSERT_EQ(slots[r], r);
    }
    ASSERT_MPI(MPI_Win_unlock_all(win));
    ASSERT_MPI(MPI_Win_free(&win));
}

/* Argument --cycles=N: dense-results create/use/destroy cycles of the leak
 * check (default 300; fewer keeps oversubscribed runs short). */
int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    int cycles = 300;
    for (int a = 1; a < argc; a++)
        if (strncmp(argv[a], "--cycles=", 9) == 0)
            cycles = atoi(argv[a] + 9);
    ASSERT_GE(cycles, 12);
    check_dense_results(cycles);
    check_results_not_attached();
    check_typed_access();
    check_gather();
    check_bcast();
    check_call_on_root();
    check_barrier();
    return test_end("test_results");
}
