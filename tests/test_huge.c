/* Calls with n up to LONG_MAX that stop early (issue 14, defect 4): every
 * form (managed, round robin, the loop form both ways, map) with every node-
 * and thread-level schedule (fixed chunks of 1, auto, static, gss, tss, fac2,
 * wf, awf) at n = LONG_MAX, LONG_MAX - 1 and 2^62 + 3, under on_error abort
 * with a body that fails every item: the call must return DLP_ERR_ITEM on
 * every rank after running a few items (one per thread at most before it
 * sees the stop), each inside 0..n-1. With fixed chunks of 1 at n = LONG_MAX
 * every form also runs 70000 items per rank first: more chunks than a node's
 * chunk table holds, unless the smallest chunk (n / 65536) is right. The chunk sizes and the per-node chunk
 * tables are computed from n at the start of the call, so a signed overflow
 * there (the smallest chunk was ceil(n / 65536) as (n + 65535) / 65536) ends
 * the job with "the chunk table is full" or a wrong item; under UBSan any
 * overflow is reported. */
#include "test_forms.h"

#include <limits.h>

struct ctx {
    long n;
    long ran;  /* items run on this rank (atomic) */
    long ok;   /* the first `ok` items a rank runs succeed, the others fail */
    long bad;  /* an item outside 0..n-1 + 1, or 0 */
};

static int fail_body(long i, void *vc)
{
    struct ctx *c = vc;
    if (i < 0 || i >= c->n)
        __atomic_store_n(&c->bad, i == LONG_MAX ? LONG_MAX : i + 1, __ATOMIC_RELAXED);
    return __atomic_fetch_add(&c->ran, 1, __ATOMIC_RELAXED) < c->ok ? 0 : 7;
}

int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    const long sizes[] = {LONG_MAX, LONG_MAX - 1, (1L << 62) + 3};
    const int schedules[] = {DLP_SCHEDULE_FIXED, DLP_SCHEDULE_AUTO, DLP_SCHEDULE_STATIC,
                             DLP_SCHEDULE_GSS,   DLP_SCHEDULE_TSS,  DLP_SCHEDULE_FAC2,
                             DLP_SCHEDULE_WF,    DLP_SCHEDULE_AWF};
    const int threads = omp_get_max_threads();
    long calls = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int form = 0; form < TEST_FORMS; form++)
            for (size_t k = 0; k < sizeof schedules / sizeof schedules[0]; k++) {
                char name[200];
                snprintf(name, sizeof name,
                         "%s, n = %ld, schedule %d (both levels), chunk 1, %s", test_form_name(form),
                         sizes[s], schedules[k],
                         s == 0 && schedules[k] == DLP_SCHEDULE_FIXED
                             ? "70000 items per rank succeed first"
                             : "every item fails");
                test_case(name);
                int many = s == 0 && schedules[k] == DLP_SCHEDULE_FIXED;
                struct ctx c = {.n = sizes[s], .ok = many ? 70000 : 0};
                dlp_opts o = DLP_OPTS_INIT;
                o.on_error = DLP_ON_ERROR_ABORT;
                o.schedule = schedules[k];
                o.thread_schedule = schedules[k];
                o.chunk = 1;
                o.thread_chunk = 1;
                int rc = test_run_form(form, c.n, fail_body, &c, &o, 0);
                if (rc != DLP_ERR_ITEM)
                    TEST_FAIL("%s returned %d (%s), expected %d (%s); dlp_last_error(): %s",
                              name, rc, dlp_strerror(rc), DLP_ERR_ITEM,
                              dlp_strerror(DLP_ERR_ITEM), dlp_last_error());
                ASSERT_STR_CONTAINS(dlp_last_error(), "fail");
                ASSERT_EQ(c.bad, 0);
                /* each thread stops after its first failed item, give or take
                 * the items it had taken before the stop reached it */
                ASSERT_GE(c.ran, 0);
                ASSERT_LE(c.ran, c.ok + 64L * threads);
                calls++;
            }
    test_case("end");
    ASSERT_OK(dlp_finalize());
    if (g_rank == 0)
        printf("test_huge: %ld calls with n up to LONG_MAX stopped early, as expected\n",
               calls);
    return 0;
}
