/* Unit test of AUTO's chunk time under the dispatcher's load
 * (dlp__schedule_chunk_time, lib/policy/schedule.c), without MPI: it stays at
 * DLP_CHUNK_TIME's value while the dispatcher has room, grows to
 * nodes * service / DLP__LOAD_TARGET when it has not, up to
 * DLP__CHUNK_TIME_GROWN_MAX, and never when the user set it. Then a whole
 * call of the AUTO policy (selfsched.h) at the grown chunk time: fewer
 * requests, the same small chunks at the end (FAC2's half shares rule
 * there). Every failed check prints both values. */
#include "test_check.h"

#include "schedule.h"

/* One call of n items over p equal nodes asking in turn at `rate` items/s
 * each, AUTO with chunk time `target`. Counts the requests and the largest
 * chunk handed out once at most `tail` items were left. */
static void auto_call(long n, int p, double rate, double target, long tail, long *requests,
                      long *tail_max)
{
    struct dlp__ss_state s;
    struct dlp__ss_spec spec = {.kind = DLP__SS_AUTO, .k = 0};
    dlp__ss_init(&s, &spec, n, p);
    struct dlp__ss_worker w = {.weight = 1, .weight_sum = p, .rate = rate, .target = target};
    *requests = *tail_max = 0;
    for (long c = 1; c > 0;) {
        long left = s.remaining;
        c = dlp__ss_next(&s, (int)(*requests % p), &w);
        *requests += c > 0;
        if (left <= tail && c > *tail_max)
            *tail_max = c;
    }
}

int main(void)
{
    const double tau = 0.010, grown_max = DLP__CHUNK_TIME_GROWN_MAX;

    check_case("the dispatcher has room: DLP_CHUNK_TIME's value");
    /* 31 remote nodes at 3 us each: busy 31 * 3e-6 / 0.01 = 0.0093 */
    CHECK_NEAR("32 nodes", dlp__schedule_chunk_time(tau, 0, 31, 3e-6), tau, 0);
    CHECK_NEAR("no remote node", dlp__schedule_chunk_time(tau, 0, 0, 3e-6), tau, 0);
    CHECK_NEAR("service unknown", dlp__schedule_chunk_time(tau, 0, 9999, 0), tau, 0);

    check_case("loaded: grown to nodes * service / LOAD_TARGET");
    /* 9,999 remote nodes at 3 us: 10 ms would keep it 3 times over busy */
    CHECK_NEAR("10,000 nodes", dlp__schedule_chunk_time(tau, 0, 9999, 3e-6),
               9999 * 3e-6 / DLP__LOAD_TARGET, 1e-12);
    CHECK_NEAR("busy exactly LOAD_TARGET at the result",
               9999 * 3e-6 / dlp__schedule_chunk_time(tau, 0, 9999, 3e-6), DLP__LOAD_TARGET,
               1e-12);
    CHECK_NEAR("up to GROWN_MAX", dlp__schedule_chunk_time(tau, 0, 9999, 2e-3), grown_max, 0);

    check_case("DLP_CHUNK_TIME set by the user: never grown");
    CHECK_NEAR("fixed", dlp__schedule_chunk_time(tau, 1, 9999, 3e-6), tau, 0);
    CHECK_NEAR("a value above GROWN_MAX stays", dlp__schedule_chunk_time(5.0, 0, 9999, 3e-6),
               5.0, 0);

    check_case("a call at the grown chunk time: fewer requests, the same tail");
    /* 100 nodes at 10,000 items/s: 100 items per chunk at 10 ms, 594 at
     * the 59.4 ms that 99 nodes at 300 us ask for */
    const long n = 2000000;
    const int p = 100;
    const double rate = 1e4, grown = dlp__schedule_chunk_time(tau, 0, p - 1, 3e-4);
    CHECK_NEAR("grown", grown, 99 * 3e-4 / DLP__LOAD_TARGET, 1e-12);
    /* below 2 * p * (rate * tau) items left, FAC2's half share is under
     * either cap */
    const long tail = 2L * p * (long)(rate * tau);
    long req_base, req_grown, tail_base, tail_grown;
    auto_call(n, p, rate, tau, tail, &req_base, &tail_base);
    auto_call(n, p, rate, grown, tail, &req_grown, &tail_grown);
    CHECK_MSG(req_grown * 4 < req_base, "requests %ld at %.1f ms, %ld at 10 ms", req_grown,
              1e3 * grown, req_base);
    CHECK_EQ(tail_grown, tail_base);
    CHECK_MSG(tail_grown <= (long)(rate * tau), "largest tail chunk %ld > %ld", tail_grown,
              (long)(rate * tau));

    return check_end("test_chunk_time");
}
