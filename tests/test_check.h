/* Checks for the MPI-free unit tests (tests/CMakeLists.txt: dlp_unit_test).
 * A failed check prints file:line, the current case, what was checked and
 * both values, counts the failure, and the test goes on (one finding does
 * not hide the others); check_end() prints the summary and gives the exit
 * status. Every check returns 1 when it held, 0 when not:
 *     if (!CHECK_EQ(c, want)) break;
 * No MPI, no dlp_mpi calls (for the MPI tests: test_util.h). Header-only.
 *
 *     check_case("parse \"%s\"", text);   the case named in failures
 *     CHECK_EQ(actual, expected)          integers, both printed
 *     CHECK(cond, a, b)                   cond, a and b printed when false
 *     CHECK_NEAR(what, actual, expected, tol)   doubles
 *     CHECK_STR(actual, expected)         strings, escaped when printed
 *     CHECK_HAS(text, part), CHECK_HAS_NOT(text, part)
 *     CHECK_MSG(cond, fmt, ...)           cond, with a message of its own
 *     CHECK_FAIL(fmt, ...)                a failure found by other means
 *     return check_end("test_x");         the summary and exit status */
#ifndef DLP_TEST_CHECK_H
#define DLP_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char check__case[256] = "(setup)";
static long check__failures, check__count;
/* Where failures are printed (NULL: stderr), for a test that redirects stderr. */
static FILE *check_stream;

static inline FILE *check__out(void)
{
    return check_stream ? check_stream : stderr;
}

/* Name the case that the following checks belong to (printf-style). */
static inline void check_case(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static inline void check_case(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(check__case, sizeof check__case, fmt, ap);
    va_end(ap);
}

/* Count a failed check and print its head line plus fmt (may be ""); returns 0. */
static inline int check__fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static inline int check__fail(const char *file, int line, const char *fmt, ...)
{
    check__count++;
    check__failures++;
    FILE *o = check__out();
    fprintf(o, "%s:%d: FAILED in case \"%s\": ", file, line, check__case);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o, fmt, ap);
    va_end(ap);
    fputc('\n', o);
    return 0;
}

static inline int check__pass(void)
{
    check__count++;
    return 1;
}

/* Print s (to the failures' stream) in quotes, with \r, \n, ESC and other
 * control bytes visible. */
static inline void check_escaped(const char *s)
{
    FILE *o = check__out();
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r')
            fputs("\\r", o);
        else if (c == '\n')
            fputs("\\n", o);
        else if (c == 033)
            fputs("\\033", o);
        else if (c < 0x20 || c == 0x7f)
            fprintf(o, "\\x%02x", c);
        else
            fputc(c, o);
    }
    fputs("\"\n", o);
}

static inline int check__long(const char *file, int line, const char *what, long long actual,
                              long long expected)
{
    if (actual == expected)
        return check__pass();
    return check__fail(file, line, "%s\n  expected: %lld\n  actual:   %lld", what, expected,
                       actual);
}

static inline int check__true(const char *file, int line, const char *what, int ok, long long a,
                              long long b)
{
    if (ok)
        return check__pass();
    return check__fail(file, line, "%s (values %lld, %lld)", what, a, b);
}

static inline int check__near(const char *file, int line, const char *what, double actual,
                              double expected, double tol)
{
    double d = actual - expected;
    if (d <= tol && d >= -tol)
        return check__pass();
    return check__fail(file, line, "%s\n  expected: %.9g (+-%g)\n  actual:   %.9g", what,
                       expected, tol, actual);
}

static inline int check__str(const char *file, int line, const char *what, const char *actual,
                             const char *expected)
{
    if (strcmp(actual, expected) == 0)
        return check__pass();
    check__fail(file, line, "%s", what);
    fputs("  expected: ", check__out());
    check_escaped(expected);
    fputs("  actual:   ", check__out());
    check_escaped(actual);
    return 0;
}

static inline int check__has(const char *file, int line, const char *what, const char *text,
                             const char *part, int want)
{
    if ((strstr(text, part) != NULL) == want)
        return check__pass();
    check__fail(file, line, "%s", what);
    fprintf(check__out(), "  expected %s: ", want ? "to contain" : "not to contain");
    check_escaped(part);
    fputs("  actual text:         ", check__out());
    check_escaped(text);
    return 0;
}

#define CHECK_EQ(actual, expected)                                                           \
    check__long(__FILE__, __LINE__, #actual " == " #expected, (long long)(actual),           \
                (long long)(expected))
/* cond, and the two values it compares (printed on failure) */
#define CHECK(cond, a, b)                                                                    \
    check__true(__FILE__, __LINE__, #cond, (cond) != 0, (long long)(a), (long long)(b))
#define CHECK_NEAR(what, actual, expected, tol)                                              \
    check__near(__FILE__, __LINE__, what, actual, expected, tol)
#define CHECK_STR(actual, expected) check__str(__FILE__, __LINE__, #actual, actual, expected)
#define CHECK_HAS(text, part)                                                                \
    check__has(__FILE__, __LINE__, #text " has " #part, text, part, 1)
#define CHECK_HAS_NOT(text, part)                                                            \
    check__has(__FILE__, __LINE__, #text " lacks " #part, text, part, 0)
#define CHECK_MSG(cond, ...)                                                                 \
    ((cond) ? check__pass() : check__fail(__FILE__, __LINE__, __VA_ARGS__))
#define CHECK_FAIL(...) check__fail(__FILE__, __LINE__, __VA_ARGS__)

/* Count k comparisons a test made itself (and found equal) as checks. */
static inline void check_counted(long k)
{
    check__count += k;
}

/* The failures so far. */
static inline long check_failures(void)
{
    return check__failures;
}

/* Print the summary; the exit status for main(): 0 when every check held. */
static inline int check_end(const char *name)
{
    if (check__failures) {
        fprintf(check__out(), "%s: %ld of %ld checks FAILED\n", name, check__failures,
                check__count);
        return 1;
    }
    printf("%s: all %ld checks passed\n", name, check__count);
    return 0;
}

#endif
