/* The callback forms: the library runs the OpenMP team over a call. */
#include <omp.h>

#include "error.h"
#include "loop.h"

static int run_team(long n, dlp_body_fn body, void *ctx, const dlp_opts *opts, int split,
                    const char *func)
{
    struct dlp_loop *L = NULL;
    DLP_CALL(dlp__loop_begin(&L, n, opts, split, body ? NULL : "body is NULL", func));
#pragma omp parallel num_threads(L->o.threads) default(none) shared(L, body, ctx)
    {
        struct dlp__pos pos = {0, 0, NULL};
        long i;
        while (dlp__loop_take(L, &pos, &i)) {
            int rc = body(i, ctx);
            if (rc != 0) {
                dlp__loop_failure(L, i, omp_get_thread_num(), DLP_ERR_ITEM,
                                  "body returned %d", rc);
                if (!L->failures.keep_all)
                    break;
            }
        }
        dlp__loop_idle(&pos); /* also after a failure: the item ended */
    }
    return dlp__loop_end(&L);
}

int dlp_split_managed(long n, dlp_body_fn body, void *ctx, const dlp_opts *opts)
{
    return run_team(n, body, ctx, opts, DLP_SPLIT_MANAGED, "dlp_split_managed");
}

int dlp_split_round_robin(long n, dlp_body_fn body, void *ctx, const dlp_opts *opts)
{
    return run_team(n, body, ctx, opts, DLP_SPLIT_ROUND_ROBIN, "dlp_split_round_robin");
}
