/* dlp_item_fail(): why an item failed, from the thread running it (item.h). */
#include "item.h"

#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "loop.h"

static _Thread_local struct dlp__item *current;

void dlp__item_attach(struct dlp__item *it)
{
    it->running = 0;
    current = it;
}

void dlp__item_detach(void) { current = NULL; }

void dlp__item_failed(struct dlp_loop *L, const struct dlp__item *it, const char *who, int rc,
                      int round, int retries, int origin)
{
    char ret[64] = "", more[96] = "", msg[DLP__ITEM_WHY_MAX + sizeof ret + sizeof more + 8];
    if (rc != 0)
        snprintf(ret, sizeof ret, "%s returned %d", who, rc);
    if (round > 0)
        snprintf(more, sizeof more, "retry %d of %d; it failed first on rank %d", round,
                 retries, origin);
    if (!it->failed)
        snprintf(msg, sizeof msg, "%s%s%s%s", ret, round > 0 ? " (" : "", more,
                 round > 0 ? ")" : "");
    else if (rc != 0 || round > 0)
        snprintf(msg, sizeof msg, "%s (%s%s%s)", it->why, ret, rc != 0 && round > 0 ? "; " : "",
                 more);
    else
        snprintf(msg, sizeof msg, "%s", it->why);
    dlp__loop_item_failure(L, it->i, omp_get_thread_num(), DLP_ERR_ITEM, rc, msg);
}

int dlp_item_fail(const char *fmt, ...)
{
    char msg[DLP__ITEM_WHY_MAX] = "failed (dlp_item_fail)";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    struct dlp__item *it = current;
    if (it && it->running) {
        if (!it->failed) { /* the first reason stands */
            it->failed = 1;
            memcpy(it->why, msg, sizeof it->why);
        }
        return DLP_OK;
    }
    if (dlp__loop_fail_current(msg) == DLP_OK)
        return DLP_OK;
    return dlp__fail(DLP_ERR_STATE, "dlp_item_fail",
                     "the calling thread is not running an item of a parallel call (call it "
                     "from a body of dlp_split_*, a work function of dlp_map_*, or the thread "
                     "of a dlp_loop_next() item, before it takes the next; a batch of "
                     "dlp_loop_next_range() fails its item i with dlp_loop_fail(loop, i, ...)): "
                     "\"%s\"",
                     msg);
}
