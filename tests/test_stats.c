/* DLP_STATS' idle time (tests/CMakeLists.txt, stats_idle.*): rank 0's items
 * are empty, rank 1's sleep 50 ms each (round robin, 2 ranks). Run with
 * DLP_STATS=on, the master's table must count the time rank 0 waits for
 * the call to end as idle: its idle_s at least half of rank 1's busy_s. */
#include "test_util.h"

static int body(long i, void *ctx)
{
    (void)ctx;
    if (i % 2 == 1)
        test_sleep_us(50000);
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
    ASSERT_OK(dlp_finalize());
    return 0;
}
