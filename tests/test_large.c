/* Large cases (label "large"): totals above 2 GiB and indices above 2^31.
 *   dense   dlp_results of n = 2^27 + 3 items of 24 bytes (3 GiB + 72 bytes),
 *           managed, checked byte for byte on the master
 *   gather  dlp_gather with 2^31 + 17 bytes from the last rank (one
 *           contribution above INT_MAX) and 2^28 + 3r from the others
 *   index   loop form over n = 2^31 + 2^20 empty items: count and sum of the
 *           indices, and every index around 2^31 exactly once
 * Arguments: any of dense, gather, index (default: all). */
#include "test_util.h"

#include <omp.h>


/* 8 bytes of the pattern for word w of stream s. */
static inline uint64_t word_of(uint64_t salt, uint64_t s, uint64_t w)
{
    return test_mix(salt ^ (s << 40) ^ w);
}

/* ------------------------------------------------------------- dense -- */

struct dense_ctx {
    dlp_results *r;
    long bad;
};

static int dense_body(long i, void *vctx)
{
    struct dense_ctx *c = vctx;
    uint64_t *slot = dlp_results_at(c->r, i);
    if (!slot) {
        __atomic_store_n(&c->bad, i + 1, __ATOMIC_RELAXED);
        return 0;
    }
    uint64_t w[3] = {word_of(1, 0, 3 * (uint64_t)i), word_of(1, 0, 3 * (uint64_t)i + 1),
                     word_of(1, 0, 3 * (uint64_t)i + 2)};
    memcpy(slot, w, sizeof w);
    return 0;
}

static void check_dense(void)
{
    const long n = (1L << 27) + 3;
    test_case("dense results above 2 GiB: n = 2^27 + 3, elem 24, managed");
    struct dense_ctx c = {NULL, 0};
    ASSERT_OK(dlp_results_create(&c.r, n, 24));
    dlp_opts o = DLP_OPTS_INIT;
    o.results = c.r;
    ASSERT_OK(dlp_split_managed(n, dense_body, &c, &o));
    ASSERT_EQ(c.bad, 0);
    if (g_rank == 0) {
        const uint64_t *data = dlp_results_data(c.r);
        ASSERT_NOT_NULL(data);
        long first_bad = n;
#pragma omp parallel for schedule(static) reduction(min : first_bad)
        for (long i = 0; i < n; i++) {
            uint64_t w[3];
            memcpy(w, (const char *)data + (size_t)i * 24, 24);
            for (int k = 0; k < 3; k++)
                if (w[k] != word_of(1, 0, 3 * (uint64_t)i + (uint64_t)k) && i < first_bad)
                    first_bad = i;
        }
        if (first_bad < n)
            TEST_FAIL("dense item %ld of %ld (byte offset %zu) is wrong", first_bad, n,
                      (size_t)first_bad * 24);
    }
    ASSERT_OK(dlp_results_destroy(&c.r));
    ASSERT_NULL(c.r);
}

/* ------------------------------------------------------------ gather -- */

static size_t gather_len(int r)
{
    return r == g_size - 1 ? ((size_t)1 << 31) + 17 : ((size_t)1 << 28) + 3 * (size_t)r;
}

static void fill_stream(unsigned char *p, size_t len, uint64_t s)
{
    size_t words = len / 8;
#pragma omp parallel for schedule(static)
    for (size_t w = 0; w < words; w++) {
        uint64_t v = word_of(2, s, w);
        memcpy(p + 8 * w, &v, 8);
    }
    for (size_t k = 8 * words; k < len; k++)
        p[k] = (unsigned char)(word_of(2, s, k / 8) >> (8 * (k % 8)));
}

/* Offset of the first wrong byte, or len. */
static size_t check_stream(const unsigned char *p, size_t len, uint64_t s)
{
    size_t words = len / 8, first = len;
#pragma omp parallel for schedule(static) reduction(min : first)
    for (size_t w = 0; w < words; w++) {
        uint64_t v = word_of(2, s, w), got;
        memcpy(&got, p + 8 * w, 8);
        if (got != v && 8 * w < first)
            first = 8 * w;
    }
    for (size_t k = 8 * words; k < len && first == len; k++)
        if (p[k] != (unsigned char)(word_of(2, s, k / 8) >> (8 * (k % 8))))
            first = k;
    return first;
}

static void check_gather(void)
{
    test_case("dlp_gather above 2 GiB (one contribution of 2^31 + 17 bytes)");
    size_t len = gather_len(g_rank);
    unsigned char *buf = malloc(len);
    ASSERT_NOT_NULL(buf);
    fill_stream(buf, len, (uint64_t)g_rank);
    size_t *lens = g_rank == 0 ? malloc(sizeof(size_t) * (size_t)g_size) : NULL;
    void *all = NULL;
    ASSERT_OK(dlp_gather(buf, len, &all, lens));
    free(buf);
    if (g_rank == 0) {
        ASSERT_NOT_NULL(all);
        size_t off = 0;
        for (int r = 0; r < g_size; r++) {
            ASSERT_EQ_U64(lens[r], gather_len(r));
            size_t bad = check_stream((const unsigned char *)all + off, lens[r], (uint64_t)r);
            if (bad != lens[r])
                TEST_FAIL("rank %d's byte %zu (offset %zu of the gathered buffer) is wrong", r,
                          bad, off + bad);
            off += lens[r];
        }
        printf("    gathered %zu bytes\n", off);
        free(all);
        free(lens);
    } else {
        ASSERT_NULL(all);
    }
}

/* ------------------------------------------------------------- index -- */

static void check_index(void)
{
    const long base = 1L << 31, n = base + (1L << 20), lo = base - (1L << 20);
    test_case("loop form over n = 2^31 + 2^20 items: every index, those around 2^31 each once");
    int *win = calloc((size_t)(n - lo), sizeof(int)); /* counts of items lo .. n-1 */
    ASSERT_NOT_NULL(win);
    dlp_opts o = DLP_OPTS_INIT;
    o.split = DLP_SPLIT_MANAGED;
    dlp_loop *loop = NULL;
    ASSERT_OK(dlp_loop_begin(&loop, n, &o));
    unsigned long count = 0, sum = 0, bad = 0;
#pragma omp parallel reduction(+ : count, sum, bad)
    {
        long i;
        while (dlp_loop_next(loop, &i)) {
            count++;
            sum += (unsigned long)i;
            if (i >= lo) {
                if (i < n)
                    __atomic_fetch_add(&win[i - lo], 1, __ATOMIC_RELAXED);
                else
                    bad++;
            } else if (i < 0) {
                bad++;
            }
        }
    }
    ASSERT_OK(dlp_loop_end(&loop));
    unsigned long mine[3] = {count, sum, bad}, tot[3];
    ASSERT_MPI(MPI_Allreduce(mine, tot, 3, MPI_UNSIGNED_LONG, MPI_SUM, dlp_comm()));
    ASSERT_EQ_U64(tot[2], 0);
    ASSERT_EQ_U64(tot[0], (uint64_t)n);
    ASSERT_EQ_U64(tot[1], (uint64_t)n * (uint64_t)(n - 1) / 2);
    /* not MPI_Reduce: MPICH 4.0.2 loses data when the root is alone on its node */
    int *w = calloc((size_t)(n - lo), sizeof(int));
    ASSERT_NOT_NULL(w);
    ASSERT_MPI(MPI_Allreduce(win, w, (int)(n - lo), MPI_INT, MPI_SUM, dlp_comm()));
    if (g_rank == 0)
        for (long k = 0; k < n - lo; k++)
            if (w[k] != 1)
                TEST_FAIL("item %ld ran %d times", lo + k, w[k]);
    free(w);
    free(win);
}

int main(int argc, char **argv)
{
    ASSERT_OK(dlp_init(&argc, &argv));
    g_rank = dlp_rank();
    g_size = dlp_size();
    int do_dense = argc < 2, do_gather = argc < 2, do_index = argc < 2;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "dense") == 0)
            do_dense = 1;
        else if (strcmp(argv[a], "gather") == 0)
            do_gather = 1;
        else if (strcmp(argv[a], "index") == 0)
            do_index = 1;
        else
            TEST_FAIL("unknown case \"%s\" (dense, gather, index)", argv[a]);
    }
    if (do_dense)
        check_dense();
    if (do_gather)
        check_gather();
    if (do_index)
        check_index();
    ASSERT_OK(dlp_finalize());
    if (g_rank == 0)
        printf("test_large: all cases passed\n");
    return 0;
}
