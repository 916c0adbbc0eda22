/* Unit test of the dispatcher's forecast (lib/policy/forecast.c), without MPI: when
 * it expects each node's next request, and how long it sleeps before, in
 * and after that request's window; that a wake-up with many nodes sleeps
 * until the earliest of their own next looks (the heap against a scan of
 * every node); and nodes skipped for their doorbell. Every failed check
 * prints the case, the expected and the actual value; no timing (the clock
 * is passed in). */
#include <stdlib.h>

#include "test_check.h"

#include "forecast.h"

/* The nap in microseconds as a double, at time now (a wake-up: the due
 * looks are taken). */
static double nap_us(struct dlp__forecast *f, double now)
{
    return (double)dlp__forecast_nap(f, now, NULL, DLP__FORECAST_IDLE_MAX_US);
}

static int odd(int k) { return k % 2; }

/* Many nodes: every wake-up sleeps for the shortest nap of the nodes whose
 * window started and of the node whose window starts next, each computed
 * by a forecast of that node alone (node 1 of a forecast of 2): the heap
 * and the due list against a scan. Nodes are answered at random wake-ups
 * with random chunks and rates (a fixed LCG), some drop out. */
static void check_many(double t0)
{
    enum { K = 50, WAKES = 3000 };
    struct dlp__forecast f, *alone = malloc(sizeof *alone * K);
    if (!alone || dlp__forecast_init(&f, K, t0) != 0) {
        CHECK_FAIL("out of memory");
        free(alone);
        return;
    }
    for (int k = 1; k < K; k++)
        if (dlp__forecast_init(&alone[k], 2, t0) != 0)
            CHECK_FAIL("out of memory");
    unsigned long x = 12345;
    double now = t0;
    char gone[K] = {0};
    long bad = 0;
    for (int w = 0; w < WAKES && !bad; w++) {
        unsigned want_us = DLP__FORECAST_IDLE_MAX_US, next_us = DLP__FORECAST_IDLE_MAX_US;
        double next = 1e300; /* the earliest window still to start */
        unsigned got = dlp__forecast_nap(&f, now, NULL, DLP__FORECAST_IDLE_MAX_US);
        for (int k = 1; k < K; k++) {
            if (gone[k])
                continue;
            unsigned n = dlp__forecast_nap(&alone[k], now, NULL, DLP__FORECAST_IDLE_MAX_US);
            if (alone[k].ndue > 0)
                want_us = n < want_us ? n : want_us;
            else if (alone[k].looks.key[1] < next) {
                next = alone[k].looks.key[1];
                next_us = n;
            }
        }
        want_us = next_us < want_us ? next_us : want_us;
        if (got != want_us) {
            check_case("many nodes, wake-up %d at +%.6f s", w, now - t0);
            CHECK_EQ(got, want_us);
            bad++;
        }
        now += 1e-6 * got;
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        int k = 1 + (int)((x >> 33) % (K - 1));
        if (gone[k])
            continue;
        if ((x >> 20) % 97 == 0) { /* it got nothing: no more requests */
            gone[k] = 1;
            dlp__forecast_drop(&f, k);
            continue;
        }
        long count = 1 + (long)((x >> 40) % 64), low = (long)((x >> 50) % 8);
        double rate = 100.0 * (double)(1 + (x >> 12) % 100);
        dlp__forecast_answered(&f, k, now, count, rate, (long)((x >> 24) % 5), low);
        dlp__forecast_answered(&alone[k], 1, now, count, rate, (long)((x >> 24) % 5), low);
    }
    for (int k = 1; k < K; k++)
        dlp__forecast_free(&alone[k]);
    free(alone);
    dlp__forecast_free(&f);
}

int main(void)
{
    const double fine = DLP__FORECAST_FINE_US, max = DLP__FORECAST_MAX_US,
                 idle = DLP__FORECAST_IDLE_MAX_US;
    struct dlp__forecast f;
    double t0 = 100.0;
    if (dlp__forecast_init(&f, 3, t0) != 0) {
        fprintf(stderr, "test_forecast.c: out of memory\n");
        return 1;
    }

    check_case("start of a call: every node asks at once");
    CHECK_NEAR("nap at the start", nap_us(&f, t0), fine, 0);

    check_case("node 1 answered: 10 items at 1000/s, none left, low 2");
    dlp__forecast_answered(&f, 1, t0, 10, 1000.0, 0, 2);
    CHECK_NEAR("expect", f.expect[1], t0 + 0.008, 1e-12);
    CHECK_NEAR("horizon", f.horizon[1], 0.008, 1e-12);
    /* node 2 is still due now: it rules */
    CHECK_NEAR("nap while node 2 is due", nap_us(&f, t0), fine, 0);
    dlp__forecast_answered(&f, 2, t0, 1000, 1000.0, 0, 2); /* due in 0.998 s */

    check_case("approaching node 1's request (guard 0.8 + 0.25 ms)");
    /* 8 ms ahead: half of what is left (4 ms) beats 8 - 1.05 ms */
    CHECK_NEAR("nap 8 ms ahead", nap_us(&f, t0), 4000, 1);
    CHECK_NEAR("nap 4 ms ahead", nap_us(&f, t0 + 0.004), 2000, 1);
    /* 2 ms ahead: until - guard = 0.95 ms, below the floor of max */
    CHECK_NEAR("nap 2 ms ahead", nap_us(&f, t0 + 0.006), 950, 1);
    CHECK_NEAR("nap in the window", nap_us(&f, t0 + 0.00696), fine, 0);
    CHECK_NEAR("nap at the due time", nap_us(&f, t0 + 0.008), fine, 0);

    check_case("node 1's request is late");
    CHECK_NEAR("nap at the guard's end", nap_us(&f, t0 + 0.00905), fine, 1);
    CHECK_NEAR("nap 0.4 ms late", nap_us(&f, t0 + 0.00945), fine + 200, 1);
    CHECK_NEAR("nap 2 ms late (capped: slack 2 ms)", nap_us(&f, t0 + 0.01105), max, 1);
    CHECK_NEAR("nap 10 ms late (capped)", nap_us(&f, t0 + 0.01905), max, 0);

    check_case("node 1 inactive: only node 2, due in ~1 s");
    dlp__forecast_drop(&f, 1);
    CHECK_NEAR("idle cap", nap_us(&f, t0 + 0.01), idle, 0);
    dlp__forecast_drop(&f, 2);
    dlp__forecast_drop(&f, 2); /* twice: nothing */
    check_case("no node active");
    CHECK_NEAR("idle cap", nap_us(&f, t0 + 0.02), idle, 0);
    CHECK_EQ(f.watching, 0);

    dlp__forecast_free(&f);
    if (dlp__forecast_init(&f, 3, t0) != 0) {
        fprintf(stderr, "test_forecast.c: out of memory\n");
        return 1;
    }
    dlp__forecast_answered(&f, 2, t0, 1000, 1000.0, 0, 2); /* node 2: due in ~1 s */

    check_case("unknown rate: it may ask again at once");
    dlp__forecast_answered(&f, 1, t0 + 1, 3, 0.0, 5, 2);
    CHECK_NEAR("expect", f.expect[1], t0 + 1, 0);
    CHECK_NEAR("nap", nap_us(&f, t0 + 1), fine, 0);

    check_case("no rate reported (or a lower one): the one consumed since the last answer");
    /* it held 5 + 3 = 8 items, asks 10 ms later with 0: 800 items/s */
    dlp__forecast_answered(&f, 1, t0 + 1.01, 10, 0.0, 0, 2);
    CHECK_NEAR("expect", f.expect[1], t0 + 1.01 + 8.0 / 800.0, 1e-9);
    check_case("a higher reported rate beats the consumed one");
    /* it held 10, asks 20 ms later with 9: 50 items/s consumed, 1000 reported */
    dlp__forecast_answered(&f, 1, t0 + 1.03, 1, 1000.0, 9, 2);
    CHECK_NEAR("expect", f.expect[1], t0 + 1.03 + 8.0 / 1000.0, 1e-9);

    check_case("at the low-water mark already");
    dlp__forecast_answered(&f, 1, t0 + 2, 1, 500.0, 0, 4);
    CHECK_NEAR("expect", f.expect[1], t0 + 2, 0);

    check_case("a long horizon: the guard stops at GUARD_MAX");
    /* 1 s ahead at 100 items/s (it held 1, asks 10 s later with none: the
     * consumed rate is 0.1/s, below the reported one) */
    dlp__forecast_answered(&f, 1, t0 + 12, 100, 100.0, 0, 0);
    CHECK_NEAR("horizon", f.horizon[1], 1.0, 1e-9);
    double edge = 1e6 * (DLP__FORECAST_GUARD_MAX + 1e-6 * fine);
    double before = t0 + 13 - 1e-6 * (edge + 100), inside = t0 + 13 - 1e-6 * (edge - 100);
    CHECK_NEAR("nap 0.1 ms before the guard", nap_us(&f, before), 100, 1);
    CHECK_NEAR("nap inside the guard", nap_us(&f, inside), fine, 0);

    check_case("long items: a node that holds 10 ms when it asks");
    /* 100 items/s, low 1: 10 ms of slack; due in 20 ms (guard 2 + 1 ms) */
    dlp__forecast_drop(&f, 2); /* node 2, long overdue, would rule */
    dlp__forecast_answered(&f, 1, t0 + 20, 2, 100.0, 1, 1);
    CHECK_NEAR("expect", f.expect[1], t0 + 20.02, 1e-9);
    CHECK_NEAR("nap in the window: slack / 10", nap_us(&f, t0 + 20.0185), 1000, 1);
    CHECK_NEAR("nap 2 ms late", nap_us(&f, t0 + 20.025), 1000 + 1000, 1);
    CHECK_NEAR("nap 20 ms late: slack / 2", nap_us(&f, t0 + 20.043), 5000, 1);

    check_case("a tiny rate: bounded");
    dlp__forecast_answered(&f, 1, t0, 1000000, 1e-9, 0, 1);
    CHECK_NEAR("horizon", f.horizon[1], 3600, 0);
    dlp__forecast_answered(&f, 2, t0, 1000000, 1e-9, 0, 1);
    CHECK_NEAR("nap", nap_us(&f, t0), idle, 0);

    check_case("a nap is never 0");
    dlp__forecast_answered(&f, 1, t0, 12, 1000.0, 0, 2); /* due t0 + 10 ms */
    double n = nap_us(&f, t0 + 0.01 - 0.1 * 0.01 - 250e-6 - 1e-9);
    CHECK_MSG(n >= 1, "nap %g us at the window's edge", n);
    dlp__forecast_free(&f);

    check_case("many nodes: the earliest look rules");
    check_many(t0);

    check_case("nodes with a doorbell are skipped");
    if (dlp__forecast_init(&f, 3, t0) != 0) {
        fprintf(stderr, "test_forecast.c: out of memory\n");
        return 1;
    }
    const unsigned safety = 20000;
    dlp__forecast_answered(&f, 2, t0, 10, 1000.0, 0, 2); /* due t0 + 8 ms */
    /* node 1 (odd: skipped) is due at once, node 2 looked for 4 ms on */
    CHECK_NEAR("nap", dlp__forecast_nap(&f, t0, odd, safety), 4000, 1);
    CHECK_EQ(f.watching, 1);
    CHECK_NEAR("node 1 put off by idle_us", f.looks.key[1], t0 + 0.02, 1e-9);
    dlp__forecast_drop(&f, 2);
    CHECK_EQ(f.watching, 0);
    CHECK_NEAR("only skipped nodes: up to idle_us", dlp__forecast_nap(&f, t0 + 0.001, odd, safety),
               19000, 1);
    check_case("a skipped node polled again (its doorbell is gone)");
    /* never answered, 20 ms overdue: looked for every MAX */
    CHECK_NEAR("nap", nap_us(&f, t0 + 0.02), max, 0);
    CHECK_EQ(f.watching, 1);
    dlp__forecast_free(&f);

    return check_end("test_forecast");
}
