/* DLP_STATS' idle time (tests/CMakeLists.txt, stats_idle.*): rank 0's items
 * are empty, rank 1's sleep 50 ms each (round robin, 2 ranks). Run with
 * DLP_STATS=on, the master's table must count the time rank 0 waits for
 * the call to end as idle: its idle_s at least half of rank 1's busy_s.
 * Then two managed calls, one of many requests (chunks of one item), one
 * of two items: on two nodes the dispatcher's line of each must give the
 * CPU of that call only (its thread lives from call to call), at most
 * its wall time. */
#include "test_util.h"

static int body(long i, void *ctx)
{
    (void)ctx;
    if (i % 2 == 1)
        test_sleep_us(50000);
    return 0;
}

/* 100 us of sleep: the dispatcher answers a request per item */
static int busy(long i, void *ctx)
{
    (void)i, (void)ctx;
    test_sleep_us(100);
    return 0;
}

int main(int argc, char **argv)
{
    test_case("dlp_init");
    ASSERT_OK(dlp_init(&argc, &argv));
    ASSERT_EQ(dlp_size(), 2);
    test_case("round robin: rank 0's items empty, rank 1's 50 ms each");
    dlp_opts o = DLP_OPTS_INIT;
    o.threads = 1;
    ASSERT_OK(dlp_split_round_robin(8, body, NULL, &o));
    test_case("managed: 400 chunks of one item, then 2 items");
    dlp_opts m = DLP_OPTS_INIT;
    m.schedule = DLP_SCHEDULE_FIXED;
    m.chunk = 1;
    ASSERT_OK(dlp_split_managed(400, busy, NULL, &m));
    ASSERT_OK(dlp_split_managed(2, busy, NULL, &m));
    ASSERT_OK(dlp_finalize());
    return 0;
}
