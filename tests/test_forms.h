/* The call forms of the MPI tests: one body, a dlp_body_fn, run in any of
 * them by test_run_form(), so that a case loops over the forms instead of
 * writing each call out:
 *     for (int f = 0; f < TEST_FORMS; f++) {
 *         test_case(test_form_name(f));
 *         ASSERT_OK(test_run_form(f, n, body, &ctx, &opts, 0));
 *     }
 * The forms that run a body item by item come first, the map last:
 * f < TEST_BODY_FORMS are the forms that take opts.results and
 * opts.collector. Header-only; includes test_util.h.
 *
 * A new form is added here alone: its enumerator (a body form before
 * TEST_MAP), its row of test_forms[] and its case in test_run_call(). Every
 * test that loops over the forms then runs it.
 *
 * The range loop form (dlp_loop_next_range) comes after TEST_FORMS, up to
 * TEST_ALL_FORMS: a test takes it on by looping to TEST_ALL_FORMS. Its
 * items go to the body one at a time; a body that fails an item must not
 * have added to a reduction for it, and dlp_item_fail is refused there. */
#ifndef DLP_TEST_FORMS_H
#define DLP_TEST_FORMS_H

#include <omp.h>

#include "test_util.h"

enum test_form {
    TEST_MANAGED,          /* dlp_split_managed */
    TEST_ROUND_ROBIN,      /* dlp_split_round_robin */
    TEST_LOOP_MANAGED,     /* dlp_loop_begin (opts.split managed), dlp_loop_next */
    TEST_LOOP_ROUND_ROBIN, /* the same, opts.split round robin */
    TEST_MAP,              /* dlp_map_unordered, the body as the work function */
    TEST_FORMS,
    TEST_RANGE_MANAGED = TEST_FORMS, /* dlp_loop_begin, dlp_loop_next_range */
    TEST_RANGE_ROUND_ROBIN,          /* the same, opts.split round robin */
    TEST_ALL_FORMS
};
#define TEST_BODY_FORMS TEST_MAP

static const struct test_form_info {
    const char *name; /* for case names */
    const char *call; /* the function that starts the call (a journal records it) */
    int loop;         /* the loop form: dlp_loop_begin ... dlp_loop_end (2: by ranges) */
    int split;        /* its splitting: DLP_SPLIT_MANAGED or DLP_SPLIT_ROUND_ROBIN */
} test_forms[TEST_ALL_FORMS] = {
    [TEST_MANAGED] = {"dlp_split_managed", "dlp_split_managed", 0, DLP_SPLIT_MANAGED},
    [TEST_ROUND_ROBIN] = {"dlp_split_round_robin", "dlp_split_round_robin", 0,
                          DLP_SPLIT_ROUND_ROBIN},
    [TEST_LOOP_MANAGED] = {"loop form, managed", "dlp_loop_begin", 1, DLP_SPLIT_MANAGED},
    [TEST_LOOP_ROUND_ROBIN] = {"loop form, round robin", "dlp_loop_begin", 1,
                               DLP_SPLIT_ROUND_ROBIN},
    [TEST_MAP] = {"dlp_map_unordered", "dlp_map_unordered", 0, DLP_SPLIT_MANAGED},
    [TEST_RANGE_MANAGED] = {"range loop form, managed", "dlp_loop_begin", 2, DLP_SPLIT_MANAGED},
    [TEST_RANGE_ROUND_ROBIN] = {"range loop form, round robin", "dlp_loop_begin", 2,
                                DLP_SPLIT_ROUND_ROBIN},
};

static inline const char *test_form_name(int form)
{
    return form >= 0 && form < TEST_ALL_FORMS ? test_forms[form].name : "(no such form)";
}

/* The function that starts the form's call. */
static inline const char *test_form_call(int form)
{
    return form >= 0 && form < TEST_ALL_FORMS ? test_forms[form].call : "(no such form)";
}

/* Rank r gets items r, r + size, ... (the rest: whichever rank asks). */
static inline int test_form_round_robin(int form)
{
    return form >= 0 && form < TEST_ALL_FORMS && test_forms[form].split == DLP_SPLIT_ROUND_ROBIN;
}

static inline int test_form_loop(int form)
{
    return form >= 0 && form < TEST_ALL_FORMS && test_forms[form].loop;
}

/* One call. */
struct test_call {
    int form;
    long n;
    dlp_body_fn body;
    void *ctx;            /* body's (and on_result's) */
    const dlp_opts *opts; /* NULL: the defaults; the loop forms set .split */
    int threads;          /* the loop forms' region: its size, 0 = the default, -1 = no
                             region (the calling thread alone takes the items) */
    dlp_result_fn on_result; /* TEST_MAP: called on the master with each item's result,
                                its index as a long (NULL: no results) */
};

/* The message of a loop form's item whose body returned V (dlp_loop_fail). */
#define TEST_LOOP_FAIL_FMT "loop item %ld: body returned %d"

/* The loop form's items on this thread: a body's non-zero return fails the
 * item with dlp_loop_fail (TEST_LOOP_FAIL_FMT). */
static inline void test__loop_item(dlp_loop *loop, const struct test_call *c, long i)
{
    int v = c->body(i, c->ctx);
    if (v != 0)
        ASSERT_OK(dlp_loop_fail(loop, i, TEST_LOOP_FAIL_FMT, i, v));
}

static inline void test__loop_items(dlp_loop *loop, const struct test_call *c)
{
    long i, b, e, s;
    if (test_forms[c->form].loop == 2) {
        while (dlp_loop_next_range(loop, &b, &e, &s))
            for (i = b; i < e; i += s)
                test__loop_item(loop, c, i);
    } else {
        while (dlp_loop_next(loop, &i))
            test__loop_item(loop, c, i);
    }
}

static inline int test__loop(const struct test_call *c)
{
    dlp_opts o = c->opts ? *c->opts : (dlp_opts)DLP_OPTS_INIT;
    o.split = test_forms[c->form].split;
    dlp_loop *loop = NULL;
    int rc = dlp_loop_begin(&loop, c->n, &o);
    if (rc != DLP_OK) {
        ASSERT_NULL(loop);
        return rc;
    }
    ASSERT_NOT_NULL(loop);
    if (c->threads < 0) {
        test__loop_items(loop, c);
    } else {
        int nt = c->threads > 0 ? c->threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt)
        test__loop_items(loop, c);
    }
    long i, e, s; /* an exhausted loop stays exhausted */
    if (test_forms[c->form].loop == 2)
        ASSERT_EQ(dlp_loop_next_range(loop, &i, &e, &s), 0);
    else
        ASSERT_EQ(dlp_loop_next(loop, &i), 0);
    rc = dlp_loop_end(&loop);
    ASSERT_NULL(loop);
    return rc;
}

static inline int test__work(long i, void *vc, dlp_buf *out)
{
    const struct test_call *c = vc;
    int v = c->body(i, c->ctx);
    if (v == 0 && c->on_result)
        ASSERT_OK(dlp_buf_append(out, &i, sizeof i));
    return v;
}

static inline int test__result(long i, const void *data, size_t len, void *vc)
{
    const struct test_call *c = vc;
    return c->on_result(i, data, len, c->ctx);
}

/* Run the call in its form; the call's status. */
static inline int test_run_call(const struct test_call *call)
{
    struct test_call c = *call;
    switch (c.form) {
    case TEST_MANAGED: return dlp_split_managed(c.n, c.body, c.ctx, c.opts);
    case TEST_ROUND_ROBIN: return dlp_split_round_robin(c.n, c.body, c.ctx, c.opts);
    case TEST_LOOP_MANAGED:
    case TEST_LOOP_ROUND_ROBIN:
    case TEST_RANGE_MANAGED:
    case TEST_RANGE_ROUND_ROBIN: return test__loop(&c);
    case TEST_MAP:
        return dlp_map_unordered(c.n, test__work, c.on_result ? test__result : test_ignore_result,
                                 &c, c.opts);
    default: TEST_FAIL("test_run_call: no form %d", c.form);
    }
}

/* body over items 0 .. n-1 in form (threads: see struct test_call). */
static inline int test_run_form(int form, long n, dlp_body_fn body, void *ctx,
                                const dlp_opts *opts, int threads)
{
    struct test_call c = {form, n, body, ctx, opts, threads, NULL};
    return test_run_call(&c);
}

#endif
