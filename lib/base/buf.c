/* dlp_buf: the output of one map item (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void dlp__buf_free(struct dlp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void *dlp_buf_reserve(dlp_buf *out, size_t len)
{
    static const char *func = "dlp_buf_reserve";
    if (!out) {
        dlp__fail(DLP_ERR_ARG, func, "out is NULL");
        return NULL;
    }
    if (len > DLP__BUF_MAX - out->len) {
        out->failed = DLP_ERR_ARG;
        snprintf(out->why, sizeof out->why,
                 "its result would reach %zu + %zu bytes, more than the %zu bytes one item "
                 "may produce",
                 out->len, len, DLP__BUF_MAX);
        dlp__fail(DLP_ERR_ARG, func, "item %ld: %s", out->item, out->why);
        return NULL;
    }
    size_t need = out->len + len;
    if (need > out->cap || !out->data) { /* also len 0 on a fresh buffer: a valid pointer */
        size_t cap = out->cap ? out->cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(out->data, cap);
        if (!p) {
            out->failed = DLP_ERR_NOMEM;
            snprintf(out->why, sizeof out->why, "out of memory for %zu bytes of its result",
                     cap);
            dlp__fail(DLP_ERR_NOMEM, func, "item %ld: %s", out->item, out->why);
            return NULL;
        }
        out->data = p;
        out->cap = cap;
    }
    void *at = out->data + out->len;
    out->len = need;
    return at;
}

int dlp_buf_append(dlp_buf *out, const void *data, size_t len)
{
    if (out && data && out->data && len <= out->cap - out->len) { /* it fits */
        dlp__copy(out->data + out->len, data, len);
        out->len += len;
        return DLP_OK;
    }
    if (!out)
        return dlp__fail(DLP_ERR_ARG, "dlp_buf_append", "out is NULL");
    if (!data && len > 0)
        return dlp__fail(DLP_ERR_ARG, "dlp_buf_append", "data is NULL but len = %zu", len);
    if (len == 0)
        return DLP_OK;
    void *at = dlp_buf_reserve(out, len);
    if (!at)
        return out->failed;
    dlp__copy(at, data, len);
    return DLP_OK;
}

int dlp_buf_printf(dlp_buf *out, const char *fmt, ...)
{
    static const char *func = "dlp_buf_printf";
    if (!out || !fmt)
        return dlp__fail(DLP_ERR_ARG, func, "%s is NULL", out ? "fmt" : "out");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return dlp__fail(DLP_ERR_ARG, func, "format \"%s\" failed", fmt);
    /* one byte more for vsnprintf's NUL, then drop it */
    char *at = dlp_buf_reserve(out, (size_t)n + 1);
    if (!at)
        return out->failed;
    va_start(ap, fmt);
    vsnprintf(at, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out->len--;
    return DLP_OK;
}
