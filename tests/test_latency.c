/* DLP_STATS' latency summary alone (lib/policy/latency.c): the median and
 * p99 from its bounded histogram against the exact ones of the sorted
 * latencies, within the stated relative error (2^(1/64) - 1), for
 * uniform, log-uniform, two-valued and constant sets, one value, values
 * below and above the histogram's range; the maximum exact; nothing noted
 * gives 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "latency.h"

static int failures;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* err: the allowed relative error; floor: an absolute one (below range) */
static void check(const char *what, const char *q, double got, double want, double err,
                  double floor)
{
    double d = fabs(got - want);
    if (d > err * fabs(want) + floor) {
        fprintf(stderr, "FAIL %s: %s = %.9g ms, exact %.9g ms (relative error %.3g > %.3g)\n",
                what, q, got, want, want != 0 ? d / fabs(want) : d, err);
        failures++;
    }
}

static void compare(const char *what, double *v, long n)
{
    struct dlp__latencies l = {NULL, 0, 0};
    for (long k = 0; k < n; k++)
        dlp__latency_note(&l, v[k]);
    double med, p99, max;
    long got = dlp__latency_summary(&l, &med, &p99, &max);
    dlp__latency_free(&l);
    if (got != n) {
        fprintf(stderr, "FAIL %s: count %ld, noted %ld\n", what, got, n);
        failures++;
        return;
    }
    qsort(v, (size_t)n, sizeof *v, by_value);
    double err = exp2(1.0 / 64) - 1 + 1e-12, floor = 1e3 * ldexp(1.0, DLP__LATENCY_LOW_EXP);
    check(what, "median", med, 1e3 * v[(n - 1) / 2], err, floor);
    check(what, "p99", p99, 1e3 * v[(n * 99 + 99) / 100 - 1], err, floor);
    check(what, "max", max, 1e3 * v[n - 1], 0, 0);
}

int main(void)
{
    enum { N = 100001 };
    double *v = malloc(N * sizeof *v);
    if (!v)
        return 1;
    srand(18);
    for (long k = 0; k < N; k++) /* 0 ... 10 ms */
        v[k] = 0.01 * rand() / RAND_MAX;
    compare("uniform 0-10 ms", v, N);
    for (long k = 0; k < N; k++) /* 1 us ... 10 s */
        v[k] = pow(10, -6 + 7.0 * rand() / RAND_MAX);
    compare("log-uniform 1 us - 10 s", v, N);
    for (long k = 0; k < 1000; k++) /* a tail: p99 falls on the larger value */
        v[k] = k < 985 ? 1e-4 : 0.25;
    compare("two values", v, 1000);
    for (long k = 0; k < 1000; k++)
        v[k] = 3.3e-5;
    compare("constant", v, 1000);
    v[0] = 0.0123;
    compare("one value", v, 1);
    for (long k = 0; k < 200; k++) /* below 1 ns (0 among them) and above 2^10 s */
        v[k] = k < 150 ? 1e-10 * (double)(k % 7) : 2000.0 + (double)k;
    compare("out of range", v, 200);
    struct dlp__latencies none = {NULL, 0, 0};
    double med = 1, p99 = 1, max = 1;
    long n = dlp__latency_summary(&none, &med, &p99, &max);
    if (n != 0 || med != 0 || p99 != 0 || max != 0) {
        fprintf(stderr, "FAIL empty: count %ld, %g %g %g, want 0\n", n, med, p99, max);
        failures++;
    }
    free(v);
    if (failures)
        return 1;
    printf("latency quantiles within %.4f of the exact ones\n", exp2(1.0 / 64) - 1);
    return 0;
}
