/* The public loop form: dlp_loop_begin, dlp_loop_next, dlp_loop_next_range,
 * dlp_loop_fail, dlp_loop_end (include/dlp_mpi.h), on the call of loop.h. */
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "loop.h"
#include "reduce.h"
#include "runtime.h"
#include "take.h"

static _Thread_local struct dlp__pos tls_pos;

int dlp_loop_begin(dlp_loop **loop, long n, const dlp_opts *opts)
{
    return dlp__loop_begin(loop, n, opts, -1, NULL, "dlp_loop_begin");
}

enum { FORM_ITEMS = 1, FORM_RANGES = 2 };

/* A thread takes in `form` although the loop's threads take the other
 * way: the call fails on every rank (the items' bookkeeping differs). */
static int wrong_form(dlp_loop *loop, int form)
{
    static const char *name[] = {"", "dlp_loop_next()", "dlp_loop_next_range()"};
    dlp__loop_misuse(loop, DLP_ERR_STATE,
                     "%s in a loop whose threads take items with %s: a loop takes its items "
                     "one way, all of them with dlp_loop_next() or all with "
                     "dlp_loop_next_range()",
                     name[form], name[form == FORM_ITEMS ? FORM_RANGES : FORM_ITEMS]);
    return 0;
}

/* The calling thread's first take in the call: the loop's form is the
 * first thread's. 1 when the thread may take in `form`. */
static int first_take(dlp_loop *loop, struct dlp__pos *pos, int form)
{
    int none = 0;
    if (!atomic_compare_exchange_strong(&loop->form, &none, form) && none != form)
        return wrong_form(loop, form);
    dlp__pos_enter(loop, pos);
    pos->ranged = form == FORM_RANGES;
    return 1;
}

/* dlp_loop_next's take, once the thread may take items. */
static inline int next_item(dlp_loop *loop, struct dlp__pos *pos, long *i)
{
    if (dlp__loop_take(loop, pos, i))
        return 1;
    dlp__loop_leave(loop, pos);
    return 0;
}

/* dlp_loop_next, the thread's first take in the call (or one in the wrong
 * form): apart, so that the per-item path of dlp_loop_next joins no path
 * with calls. There GCC computes tls_pos's address once per item; it
 * computed it again at such a join, a second call of __tls_get_addr in the
 * shared library on every item. */
static int next_first(dlp_loop *loop, struct dlp__pos *pos, long *i)
{
    if (pos->seq == loop->seq) /* the thread takes ranges */
        return wrong_form(loop, FORM_ITEMS);
    if (!first_take(loop, pos, FORM_ITEMS))
        return 0;
    return next_item(loop, pos, i);
}

int dlp_loop_next(dlp_loop *loop, long *i)
{
    if (!loop || !i)
        return 0;
    struct dlp__pos *pos = &tls_pos;
    if (pos->seq != loop->seq || pos->ranged)
        return next_first(loop, pos, i);
    return next_item(loop, pos, i);
}

int dlp_loop_next_range(dlp_loop *loop, long *begin, long *end, long *step)
{
    if (!loop || !begin || !end || !step)
        return 0;
    struct dlp__pos *pos = &tls_pos;
    if (pos->seq != loop->seq) {
        if (!first_take(loop, pos, FORM_RANGES))
            return 0;
    } else if (!pos->ranged) {
        return wrong_form(loop, FORM_RANGES);
    }
    if (pos->rcount > 0)
        dlp__finish_range(loop, pos);
    dlp__loop_idle(pos);
    long first, count;
    if (!dlp__take_range(loop, pos, &first, &count)) {
        dlp__loop_leave(loop, pos);
        return 0;
    }
    long stride = loop->cursor->stride;
    pos->rfirst = first;
    pos->rcount = count;
    pos->rstride = stride;
    if (pos->slot)
        dlp__watch_range(pos->slot, first, first + (count - 1) * stride, dlp__now());
    if (pos->tracer)
        dlp__trace_item(&loop->trace, pos->tracer, pos->j, first, count);
    *begin = first;
    *end = first + (count - 1) * stride + 1;
    *step = stride;
    return 1;
}

/* Is item i one of the thread's range-form batch? */
static int in_batch(const struct dlp__pos *pos, long i)
{
    long d = i - pos->rfirst;
    return pos->rcount > 0 && d >= 0 && d % pos->rstride == 0 && d / pos->rstride < pos->rcount;
}

static void fail_item(dlp_loop *loop, long i, const char *msg)
{
    dlp__loop_item_failure(loop, i, omp_get_thread_num(), DLP_ERR_ITEM, 0, msg);
    if (tls_pos.seq == loop->seq && tls_pos.cur == i) { /* the item ended, failed */
        if (loop->o.reduce)
            dlp__reduce_item_end(0);
        tls_pos.cur = -1;
        dlp__loop_idle(&tls_pos);
    } else if (tls_pos.seq == loop->seq && in_batch(&tls_pos, i)) {
        /* an item of the thread's batch: the rest of the batch goes on */
        if (i != tls_pos.rlastfail)
            tls_pos.rfailed++;
        tls_pos.rlastfail = i;
        if (loop->journaled)
            dlp__loop_note(loop, &tls_pos.js, ~i);
    } else if (loop->journaled) { /* perhaps noted as done already: the failure wins */
        struct dlp__jslot *js = tls_pos.seq == loop->seq ? tls_pos.js : NULL;
        dlp__loop_note(loop, &js, ~i);
        if (tls_pos.seq == loop->seq)
            tls_pos.js = js;
    }
}

int dlp_loop_fail(dlp_loop *loop, long i, const char *fmt, ...)
{
    if (!loop)
        return dlp__fail(DLP_ERR_ARG, "dlp_loop_fail", "loop is NULL");
    char msg[512] = "failed";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (i < 0 || i >= loop->n) { /* not an item: fail the call, journal nothing */
        dlp__loop_failure(loop, -1, omp_get_thread_num(), DLP_ERR_ARG,
                          "dlp_loop_fail: item %ld is not one of the loop's items 0..%ld "
                          "(n = %ld): %s",
                          i, loop->n - 1, loop->n, msg);
        return dlp__fail(DLP_ERR_ARG, "dlp_loop_fail",
                         "item %ld is not one of the loop's items 0..%ld (n = %ld)", i,
                         loop->n - 1, loop->n);
    }
    fail_item(loop, i, msg);
    return DLP_OK;
}

int dlp__loop_fail_current(const char *msg)
{
    struct dlp_loop *L = dlp__loop_running(); /* tls_pos: the loop form's threads only */
    if (!L || tls_pos.seq != L->seq || tls_pos.cur < 0)
        return DLP_ERR_STATE;
    fail_item(L, tls_pos.cur, msg);
    return DLP_OK;
}

int dlp_loop_end(dlp_loop **loop)
{
    if (!loop || !*loop)
        return dlp__fail(DLP_ERR_ARG, "dlp_loop_end", "loop is NULL");
    DLP_CALL(dlp__check_main("dlp_loop_end"));
    (*loop)->func = "dlp_loop_end";
    return dlp__loop_end(loop);
}
