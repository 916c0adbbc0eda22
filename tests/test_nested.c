/* OpenMP inside an item: an item's own `#pragma omp parallel` gets the
 * inner team size docs/guide.md documents, and the library's team threads
 * times the inner threads never exceed the cores the environment asks for.
 *
 * Arguments (what the environment of the test asks for, see
 * tests/CMakeLists.txt): --team=T the library's team size, --inner=I the
 * threads each item's region must get, --cores=C the most threads the
 * items' regions may run at once on a rank. Every call form that runs the
 * library's team is checked: managed, round robin, a map, and the retry
 * rounds of on_error = retry. */
#include "test_util.h"

#include <omp.h>
#include <stdatomic.h>

static int want_team, want_inner, want_cores;

struct seen {
    _Atomic int team_min, team_max;   /* omp_get_num_threads() around the item */
    _Atomic int inner_min, inner_max; /* omp_get_num_threads() in its region */
    _Atomic int running, running_max; /* threads inside items' regions at once */
    _Atomic long items;
    _Atomic int failed_once;          /* retry: item 3 fails its first run */
    int fail_first;
};

static void seen_init(struct seen *s, int fail_first)
{
    atomic_init(&s->team_min, 1 << 30);
    atomic_init(&s->team_max, 0);
    atomic_init(&s->inner_min, 1 << 30);
    atomic_init(&s->inner_max, 0);
    atomic_init(&s->running, 0);
    atomic_init(&s->running_max, 0);
    atomic_init(&s->items, 0);
    atomic_init(&s->failed_once, 0);
    s->fail_first = fail_first;
}

static void note_min(_Atomic int *m, int v)
{
    int cur = atomic_load(m);
    while (v < cur && !atomic_compare_exchange_weak(m, &cur, v))
        ;
}

static void note_max(_Atomic int *m, int v)
{
    int cur = atomic_load(m);
    while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
        ;
}

/* The item: a parallel region of its own, as a user's body would have. */
static int item(long i, struct seen *s)
{
    int team = omp_get_num_threads();
    note_min(&s->team_min, team);
    note_max(&s->team_max, team);
#pragma omp parallel
    {
        int now = atomic_fetch_add(&s->running, 1) + 1;
        note_max(&s->running_max, now);
        int inner = omp_get_num_threads();
        note_min(&s->inner_min, inner);
        note_max(&s->inner_max, inner);
        test_busy(i, 200);
        test_sleep_us(200);
        atomic_fetch_sub(&s->running, 1);
    }
    atomic_fetch_add(&s->items, 1);
    /* item 3 fails on the rank that runs it first (round robin), once */
    if (s->fail_first && i == 3 && dlp_rank() == 3 % dlp_size() &&
        !atomic_exchange(&s->failed_once, 1))
        return 1;
    return 0;
}

static int body(long i, void *ctx) { return item(i, ctx); }

static int work(long i, void *ctx, dlp_buf *out)
{
    (void)out;
    return item(i, ctx);
}

/* The sizes this rank's items saw (a rank may get no items of a managed
 * call: then there is nothing to check here); every item ran. */
static void check(struct seen *s, long n)
{
    long mine = atomic_load(&s->items), total = 0;
    ASSERT_MPI(MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, dlp_comm()));
    ASSERT_GE(total, n);
    if (mine == 0)
        return;
    int team_min = atomic_load(&s->team_min), team_max = atomic_load(&s->team_max);
    int inner_min = atomic_load(&s->inner_min), inner_max = atomic_load(&s->inner_max);
    int at_once = atomic_load(&s->running_max);
    ASSERT_EQ(team_min, want_team);
    ASSERT_EQ(team_max, want_team);
    ASSERT_EQ(inner_min, want_inner);
    ASSERT_EQ(inner_max, want_inner);
    ASSERT_LE(want_team * want_inner, want_cores);
    ASSERT_LE(at_once, want_cores);
    if (dlp_rank() == 0)
        printf("    team %d x inner %d threads, at most %d in items' regions at once "
               "(cores asked for: %d)\n",
               want_team, want_inner, at_once, want_cores);
}

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "--team=", 7) == 0)
            want_team = atoi(argv[a] + 7);
        else if (strncmp(argv[a], "--inner=", 8) == 0)
            want_inner = atoi(argv[a] + 8);
        else if (strncmp(argv[a], "--cores=", 8) == 0)
            want_cores = atoi(argv[a] + 8);
    }
    ASSERT_OK(dlp_init(&argc, &argv));
    if (want_team < 1 || want_inner < 1 || want_cores < 1)
        TEST_FAIL("usage: test_nested --team=T --inner=I --cores=C");
    printf("rank %d: OMP_NUM_THREADS=%s OMP_MAX_ACTIVE_LEVELS=%s DLP_THREADS=%s\n", dlp_rank(),
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "",
           getenv("OMP_MAX_ACTIVE_LEVELS") ? getenv("OMP_MAX_ACTIVE_LEVELS") : "",
           getenv("DLP_THREADS") ? getenv("DLP_THREADS") : "");
    ASSERT_EQ(dlp_threads(), want_team);
    const long n = 24;
    struct seen s;

    test_case("dlp_split_managed: an item's own parallel region");
    seen_init(&s, 0);
    ASSERT_OK(dlp_split_managed(n, body, &s, NULL));
    check(&s, n);

    test_case("dlp_split_round_robin: an item's own parallel region");
    seen_init(&s, 0);
    ASSERT_OK(dlp_split_round_robin(n, body, &s, NULL));
    ASSERT_EQ(atomic_load(&s.items), (n - 1 - dlp_rank()) / dlp_size() + 1);
    check(&s, n);

    test_case("dlp_map_unordered: a work function's own parallel region");
    seen_init(&s, 0);
    ASSERT_OK(dlp_map_unordered(n, work, test_ignore_result, &s, NULL));
    check(&s, n);

    test_case("on_error = retry: the retried item's region too");
    dlp_opts o = DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_RETRY;
    o.threads = want_team;
    seen_init(&s, 1);
    ASSERT_OK(dlp_split_round_robin(n, body, &s, &o));
    check(&s, n);

    ASSERT_OK(dlp_finalize());
    printf("test_nested: all cases passed\n");
    return 0;
}
