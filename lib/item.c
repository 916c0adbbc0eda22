/* dlp_item_fail(): why an item failed, from the thread running it (item.h). */
#include "item.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "loop.h"

static _Thread_local struct dlp__item *current;

void dlp__item_enter(struct dlp__item *it, long i)
{
    it->i = i;
    it->failed = 0;
    it->why[0] = '\0';
    current = it;
}

void dlp__item_leave(void) { current = NULL; }

void dlp__item_message(const struct dlp__item *it, const char *who, int rc, const char *more,
                       char *buf, size_t len)
{
    char ret[64] = "";
    if (rc != 0)
        snprintf(ret, sizeof ret, "%s returned %d", who, rc);
    const char *sep = rc != 0 && more ? "; " : "";
    if (!it->failed)
        snprintf(buf, len, "%s%s%s%s", ret, more ? " (" : "", more ? more : "", more ? ")" : "");
    else if (rc != 0 || more)
        snprintf(buf, len, "%s (%s%s%s)", it->why, ret, sep, more ? more : "");
    else
        snprintf(buf, len, "%s", it->why);
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
    if (it) {
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
                     "of a dlp_loop_next() item, before it takes the next): \"%s\"",
                     msg);
}
