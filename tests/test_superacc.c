/* The exact accumulator of DLP_REDUCE_SUM_REPRO alone (lib/policy/superacc.c):
 * sums whose exact value lies exactly halfway between two doubles (ties to
 * even, also negative, subnormal and at the overflow threshold), ties
 * broken by a far smaller term above or below, huge and tiny terms that
 * cancel (1e308 + 1 - 1e308, 2^53 + 1 + 1) in every order, each compared
 * with the exactly rounded value; and order independence: random terms in
 * shuffled orders and split into combined parts give the same bits as an
 * exact 128-bit integer reference rounded once. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "superacc.h"

__extension__ typedef __int128 i128;

static int failures;

static uint64_t bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* The superaccumulator's sum of x[0..n) in the order of idx. */
static double sum_in_order(const double *x, const int *idx, int n)
{
    struct dlp__superacc a;
    dlp__superacc_init(&a);
    for (int k = 0; k < n; k++)
        dlp__superacc_add(&a, x[idx[k]]);
    return dlp__superacc_round(&a);
}

/* Next permutation of idx (lexicographic); 0 after the last. */
static int next_perm(int *idx, int n)
{
    int i = n - 2;
    while (i >= 0 && idx[i] >= idx[i + 1])
        i--;
    if (i < 0)
        return 0;
    int j = n - 1;
    while (idx[j] <= idx[i])
        j--;
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
    for (int a = i + 1, b = n - 1; a < b; a++, b--) {
        t = idx[a];
        idx[a] = idx[b];
        idx[b] = t;
    }
    return 1;
}

/* Every order of x[0..n) (n <= 6) sums to want, bit for bit. */
static void check_sum(const char *what, const double *x, int n, double want)
{
    int idx[6];
    for (int k = 0; k < n; k++)
        idx[k] = k;
    int orders = 0;
    do {
        double got = sum_in_order(x, idx, n);
        orders++;
        if (bits(got) != bits(want)) {
            printf("FAILED: %s: order", what);
            for (int k = 0; k < n; k++)
                printf(" %a", x[idx[k]]);
            printf(" sums to %a (%.17g), expected %a (%.17g)\n", got, got, want, want);
            failures++;
            return;
        }
    } while (next_perm(idx, n));
    printf("ok: %s (%d orders): %a\n", what, orders, want);
}

#define CHECK_SUM(what, want, ...)                                           \
    do {                                                                     \
        const double xs_[] = {__VA_ARGS__};                                  \
        check_sum(what, xs_, (int)(sizeof xs_ / sizeof xs_[0]), want);       \
    } while (0)

static void ties(void)
{
    const double u = ldexp(1, -52); /* the ulp of 1 */
    CHECK_SUM("1 + 2^-53: a tie, to even (1)", 1.0, 1.0, u / 2);
    CHECK_SUM("1 + 3 2^-53: a tie, to even (1 + 2^-51)", 1.0 + 2 * u, 1.0, u, u / 2);
    CHECK_SUM("1 + 2^-53 + 2^-200: above the tie", 1.0 + u, 1.0, u / 2, ldexp(1, -200));
    CHECK_SUM("1 + 2^-53 - 2^-200: below the tie", 1.0, 1.0, u / 2, -ldexp(1, -200));
    CHECK_SUM("1 + 2^-53 + 2^-1074: above the tie by the least subnormal", 1.0 + u, 1.0, u / 2,
              ldexp(1, -1074));
    CHECK_SUM("-(1 + 2^-53): a negative tie, to even", -1.0, -1.0, -u / 2);
    CHECK_SUM("-(1 + 3 2^-53): a negative tie, to even", -1.0 - 2 * u, -1.0, -u, -u / 2);
    const double p53 = ldexp(1, 53);
    CHECK_SUM("2^53 + 1: a tie, to even (2^53)", p53, p53, 1.0);
    CHECK_SUM("2^53 + 1 + 1 = 2^53 + 2 exactly, in every order", p53 + 2, p53, 1.0, 1.0);
    CHECK_SUM("2^53 + 3: a tie, to even (2^53 + 4)", p53 + 4, p53, 1.0, 2.0);
    CHECK_SUM("2^53 + 1 + 2^-30: above the tie", p53 + 2, p53, 1.0, ldexp(1, -30));
    CHECK_SUM("2^53 + 1 - 2^-30: below the tie", p53, p53, 1.0, -ldexp(1, -30));
    CHECK_SUM("2^53 + 1 + 1 + 1 + 1 + 1: 2^53 + 5, a tie, to even (2^53 + 4)", p53 + 4, p53, 1.0,
              1.0, 1.0, 1.0, 1.0);
    /* a tie far from 1: exponent 1000 and -1000 */
    CHECK_SUM("2^1000 (1 + 2^-53): a tie, to even", ldexp(1, 1000), ldexp(1, 1000),
              ldexp(1, 1000 - 53));
    CHECK_SUM("2^-1000 (1 + 3 2^-53): a tie, to even", ldexp(1 + 2 * u, -1000), ldexp(1, -1000),
              ldexp(1, -1052), ldexp(1, -1053));
    /* the overflow threshold: DBL_MAX + half its ulp is a tie that rounds to
     * even, up, to 2^1024 = inf; a little less stays DBL_MAX */
    CHECK_SUM("DBL_MAX + 2^970: a tie at the top, to inf", INFINITY, DBL_MAX, ldexp(1, 970));
    CHECK_SUM("DBL_MAX + 2^970 - 2^-1074: just below it", DBL_MAX, DBL_MAX, ldexp(1, 970),
              -ldexp(1, -1074));
    CHECK_SUM("DBL_MAX + DBL_MAX - DBL_MAX: no overflow inside", DBL_MAX, DBL_MAX, DBL_MAX,
              -DBL_MAX);
    /* subnormals are exact multiples of 2^-1074: no rounding */
    CHECK_SUM("2^-1074 + 2^-1074", ldexp(1, -1073), ldexp(1, -1074), ldexp(1, -1074));
    CHECK_SUM("DBL_MIN - 2^-1074: a subnormal", DBL_MIN - ldexp(1, -1074), DBL_MIN,
              -ldexp(1, -1074));
    CHECK_SUM("DBL_MIN (1 + 2^-52) - DBL_MIN / 2: subnormal boundary",
              DBL_MIN / 2 + ldexp(1, -1074), DBL_MIN * (1 + u), -DBL_MIN / 2);
}

static void cancellation(void)
{
    CHECK_SUM("1e308 + 1 - 1e308 = 1", 1.0, 1e308, 1.0, -1e308);
    CHECK_SUM("1e308 + 1e-308 - 1e308 = 1e-308", 1e-308, 1e308, 1e-308, -1e308);
    CHECK_SUM("1e308 + 1e308 + 1 - 1e308 - 1e308 = 1", 1.0, 1e308, 1e308, 1.0, -1e308, -1e308);
    CHECK_SUM("2^-1074 + 1e308 - 1e308 = 2^-1074", ldexp(1, -1074), ldexp(1, -1074), 1e308,
              -1e308);
    CHECK_SUM("1e16 + 1 - 1e16 + 1 = 2", 2.0, 1e16, 1.0, -1e16, 1.0);
    CHECK_SUM("0.1 + 0.2 - 0.3: the exact binary residue", ldexp(1, -55), 0.1, 0.2, -0.3);
    CHECK_SUM("x - x for x = DBL_MAX, 1, 2^-1074: 0", 0.0, DBL_MAX, -DBL_MAX, 1.0, -1.0,
              ldexp(1, -1074), -ldexp(1, -1074));
}

/* Random k 2^e (k of 40 bits, e in -30..30): exact in 128 bits scaled by
 * 2^30 (n k 2^60 < 2^112), so the reference is one integer sum rounded
 * once (by the integer-to-double conversion; ldexp is exact here). */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double round_i128(i128 s)
{
    /* the conversion of a 128-bit integer rounds to nearest, ties to even */
    return ldexp((double)s, -30);
}

static void random_orders(void)
{
    enum { N = 2000, ROUNDS = 200 };
    static double x[N];
    static int idx[N];
    for (int round = 0; round < ROUNDS; round++) {
        i128 s = 0;
        for (int k = 0; k < N; k++) {
            int64_t m = (int64_t)(next_rand() >> 24) - ((int64_t)1 << 39);
            int e = (int)(next_rand() % 61) - 30;
            x[k] = ldexp((double)m, e);
            s += (i128)m * ((i128)1 << (e + 30));
            idx[k] = k;
        }
        double want = round_i128(s);
        for (int order = 0; order < 4; order++) {
            for (int k = N - 1; k > 0; k--) { /* Fisher-Yates */
                int j = (int)(next_rand() % (uint64_t)(k + 1));
                int t = idx[k];
                idx[k] = idx[j];
                idx[j] = t;
            }
            /* in parts combined in turn, as threads and ranks are */
            struct dlp__superacc all, part;
            dlp__superacc_init(&all);
            int cut = (int)(next_rand() % N);
            dlp__superacc_init(&part);
            for (int k = 0; k < cut; k++)
                dlp__superacc_add(&part, x[idx[k]]);
            dlp__superacc_combine(&all, &part);
            dlp__superacc_init(&part);
            for (int k = cut; k < N; k++)
                dlp__superacc_add(&part, x[idx[k]]);
            dlp__superacc_combine(&all, &part);
            double got = dlp__superacc_round(&all);
            if (bits(got) != bits(want)) {
                printf("FAILED: random round %d, order %d (cut %d): %a (%.17g), expected %a "
                       "(%.17g)\n",
                       round, order, cut, got, got, want, want);
                failures++;
                return;
            }
        }
    }
    printf("ok: %d random sums of %d terms, 4 orders each, bitwise the exact rounding\n", ROUNDS,
           N);
}

int main(void)
{
    ties();
    cancellation();
    random_orders();
    if (failures) {
        printf("test_superacc: %d failed\n", failures);
        return 1;
    }
    printf("test_superacc: all cases passed\n");
    return 0;
}
