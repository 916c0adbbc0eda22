/* Assertions for the dlp_mpi tests: on failure they print what failed (both
 * values, file:line, rank, current case) and end the whole job with a non-zero
 * status: MPI_Abort while MPI is up, so no other rank is left hanging, else
 * exit(1). Usable from any thread. Header-only. */
#ifndef DLP_TEST_UTIL_H
#define DLP_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <malloc.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlp_mpi.h"

/* Sleep us microseconds (resumed after signals). */
static inline void test_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Monotonic seconds. */
static inline double test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A map's on_result that takes every result and does nothing with it. */
static inline int test_ignore_result(long i, const void *data, size_t len, void *ctx)
{
    (void)i;
    (void)data;
    (void)len;
    (void)ctx;
    return 0;
}

/* Name of the case being run, printed with every failure. */
static const char *test__case = "(setup)";

/* Rank in MPI_COMM_WORLD, or -1 when MPI is not running. */
static inline int test__world_rank(void)
{
    int up = 0, down = 0, rank = -1;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

/* Print a failure as one line, written at once (ranks share the terminal):
 * file:line, the rank, the case, note, the message. */
static inline void test__report(const char *file, int line, const char *note, const char *fmt,
                                va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;

static inline void test__report(const char *file, int line, const char *note, const char *fmt,
                                va_list ap)
{
    char msg[3072];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "%s:%d: FAILED on rank %d in case \"%s\"%s: %s\n", file, line,
            test__world_rank(), test__case, note, msg);
    fflush(stderr);
}

/* Print the failure and end the job (never returns). */
static inline void test__fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((noreturn, format(printf, 3, 4)))
#endif
    ;

static inline void test__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    test__report(file, line, "", fmt, ap);
    va_end(ap);
    int rank = test__world_rank();
    const char *last = dlp_last_error();
    if (last && *last)
        fprintf(stderr, "    dlp_last_error() on this thread (maybe from an earlier call): %s\n",
                last);
    fflush(stderr);
    fflush(stdout);
    if (rank >= 0)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

#define TEST_FAIL(...) test__fail(__FILE__, __LINE__, __VA_ARGS__)

/* Integer comparisons: both sides as long long. */
#define TEST__CMP(a, op, b)                                                          \
    do {                                                                             \
        long long test__a = (long long)(a), test__b = (long long)(b);                \
        if (!(test__a op test__b))                                                   \
            TEST_FAIL("ASSERT(%s %s %s): %s = %lld, %s = %lld", #a, #op, #b, #a,     \
                      test__a, #b, test__b);                                         \
    } while (0)

#define ASSERT_EQ(a, b) TEST__CMP(a, ==, b)
#define ASSERT_NE(a, b) TEST__CMP(a, !=, b)
#define ASSERT_LT(a, b) TEST__CMP(a, <, b)
#define ASSERT_LE(a, b) TEST__CMP(a, <=, b)
#define ASSERT_GT(a, b) TEST__CMP(a, >, b)
#define ASSERT_GE(a, b) TEST__CMP(a, >=, b)

/* Unsigned 64-bit comparison (sizes, sums of indices). */
#define ASSERT_EQ_U64(a, b)                                                          \
    do {                                                                             \
        uint64_t test__a = (uint64_t)(a), test__b = (uint64_t)(b);                   \
        if (test__a != test__b)                                                      \
            TEST_FAIL("ASSERT_EQ_U64(%s, %s): %s = %" PRIu64 ", %s = %" PRIu64, #a, #b, \
                      #a, test__a, #b, test__b);                                     \
    } while (0)

#define ASSERT_TRUE(c)                                                               \
    do {                                                                             \
        if (!(c))                                                                    \
            TEST_FAIL("ASSERT_TRUE(%s) is false", #c);                               \
    } while (0)

#define ASSERT_NULL(p)                                                               \
    do {                                                                             \
        const void *test__p = (const void *)(p);                                     \
        if (test__p != NULL)                                                         \
            TEST_FAIL("ASSERT_NULL(%s): it is %p", #p, test__p);                     \
    } while (0)

#define ASSERT_NOT_NULL(p)                                                           \
    do {                                                                             \
        if ((const void *)(p) == NULL)                                               \
            TEST_FAIL("ASSERT_NOT_NULL(%s): it is NULL", #p);                        \
    } while (0)

/* A dlp status: expected code, with names and the library's last message. */
#define ASSERT_RC(expr, want)                                                        \
    do {                                                                             \
        int test__rc = (expr), test__want = (want);                                  \
        if (test__rc != test__want)                                                  \
            TEST_FAIL("%s returned %d (%s), expected %d (%s)", #expr, test__rc,       \
                      dlp_strerror(test__rc), test__want, dlp_strerror(test__want));  \
    } while (0)

#define ASSERT_OK(expr) ASSERT_RC(expr, DLP_OK)

/* An MPI call that must succeed. */
#define ASSERT_MPI(expr)                                                             \
    do {                                                                             \
        int test__rc = (expr);                                                       \
        if (test__rc != MPI_SUCCESS) {                                               \
            char test__s[MPI_MAX_ERROR_STRING];                                      \
            int test__l = 0;                                                         \
            MPI_Error_string(test__rc, test__s, &test__l);                           \
            TEST_FAIL("%s failed: %s", #expr, test__s);                              \
        }                                                                            \
    } while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                             \
    do {                                                                             \
        const char *test__h = (hay), *test__n = (needle);                            \
        if (!test__h || !test__n || !strstr(test__h, test__n))                       \
            TEST_FAIL("%s does not contain \"%s\": it is \"%s\"", #hay,              \
                      test__n ? test__n : "(null)", test__h ? test__h : "(null)");    \
    } while (0)

/* dlp_last_error() must be non-empty (after a failed call). */
#define ASSERT_LAST_ERROR_SET()                                                      \
    do {                                                                             \
        const char *test__m = dlp_last_error();                                      \
        if (!test__m || !*test__m)                                                   \
            TEST_FAIL("dlp_last_error() is empty after a failed call");              \
    } while (0)

/* Compare two byte ranges; report the first differing offset. */
#define ASSERT_BYTES_EQ(got, want, len)                                              \
    do {                                                                             \
        const unsigned char *test__g = (const unsigned char *)(got);                 \
        const unsigned char *test__w = (const unsigned char *)(want);                \
        size_t test__n = (size_t)(len);                                              \
        if (test__n && memcmp(test__g, test__w, test__n) != 0) {                     \
            size_t test__k = 0;                                                      \
            while (test__g[test__k] == test__w[test__k])                             \
                test__k++;                                                           \
            TEST_FAIL("%s and %s differ at byte %zu of %zu: 0x%02x != 0x%02x", #got, \
                      #want, test__k, test__n, test__g[test__k], test__w[test__k]);  \
        }                                                                            \
    } while (0)

/* EXPECT_*: checks that let the run go on. A failed one prints one line like
 * an ASSERT_* (rank, case, both values) marked "(the run goes on)", counts,
 * and the test continues: later cases still run, so one finding does not
 * hide the others (for the library's behaviour, where the test itself is
 * sound). They never change which collectives a rank calls. test_end()
 * (or test_expect_end()) then fails the test if one failed on any rank. */
static int test__expect_failed;

static inline void test__expect_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static inline void test__expect_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    test__report(file, line, " (the run goes on)", fmt, ap);
    va_end(ap);
    __atomic_fetch_add(&test__expect_failed, 1, __ATOMIC_RELAXED);
}

#define EXPECT_FAIL(...) test__expect_fail(__FILE__, __LINE__, __VA_ARGS__)
/* ok, else the printf-style message */
#define EXPECT(ok, ...)                                                              \
    do {                                                                             \
        if (!(ok))                                                                   \
            EXPECT_FAIL(__VA_ARGS__);                                                \
    } while (0)

#define TEST__EXPECT_CMP(a, op, b)                                                   \
    do {                                                                             \
        long long test__a = (long long)(a), test__b = (long long)(b);                \
        if (!(test__a op test__b))                                                   \
            EXPECT_FAIL("EXPECT(%s %s %s): %s = %lld, %s = %lld", #a, #op, #b, #a,     \
                        test__a, #b, test__b);                                       \
    } while (0)

#define EXPECT_EQ(a, b) TEST__EXPECT_CMP(a, ==, b)
#define EXPECT_LE(a, b) TEST__EXPECT_CMP(a, <=, b)
#define EXPECT_GE(a, b) TEST__EXPECT_CMP(a, >=, b)

/* A dlp status, with both codes' names and the library's message. */
#define EXPECT_RC(expr, want)                                                        \
    do {                                                                             \
        int test__rc = (expr), test__want = (want);                                  \
        if (test__rc != test__want)                                                  \
            EXPECT_FAIL("%s returned %d (%s), expected %d (%s); dlp_last_error(): %s", \
                        #expr, test__rc, dlp_strerror(test__rc), test__want,         \
                        dlp_strerror(test__want), dlp_last_error());                 \
    } while (0)

#define EXPECT_CONTAINS(hay, needle)                                                 \
    do {                                                                             \
        const char *test__h = (hay), *test__n = (needle);                            \
        if (!test__h || !test__n || !strstr(test__h, test__n))                       \
            EXPECT_FAIL("%s does not contain \"%s\": it is \"%s\"", #hay,             \
                        test__n ? test__n : "(null)", test__h ? test__h : "(null)");  \
    } while (0)

/* The failed EXPECT_* of this rank so far. */
static inline int test_expect_failed_here(void)
{
    return __atomic_load_n(&test__expect_failed, __ATOMIC_RELAXED);
}

/* Collective (dlp_comm()): the failed EXPECT_* of all ranks so far. */
static inline int test_expect_failed_all(void)
{
    int mine = test_expect_failed_here(), all = 0;
    ASSERT_MPI(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_SUM, dlp_comm()));
    return all;
}

/* Collective: end the job when an EXPECT_* failed on any rank. */
static inline void test_expect_end(void)
{
    int failed = test_expect_failed_all();
    test__case = "end";
    if (failed)
        TEST_FAIL("%d check(s) failed above (\"the run goes on\")", failed);
}

/* Start a named case; the master logs it so a failing run shows how far it got. */
static inline void test_case(const char *name)
{
    test__case = name;
    if (test__world_rank() <= 0) {
        printf("case: %s\n", name);
        fflush(stdout);
    }
}

/* Deterministic pseudo-random bits of a 64-bit value (splitmix64 finaliser). */
static inline uint64_t test_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Byte j of the expected result of item i (with a per-case salt). */
static inline unsigned char test_pattern(uint64_t salt, uint64_t i, uint64_t j)
{
    return (unsigned char)(test_mix(salt ^ (i * 0x100000001b3ULL) ^ (j >> 3)) >> (8 * (j & 7)));
}

/* AddressSanitizer keeps freed memory in quarantine: VmRSS bounds mean nothing
 * there (its leak checker runs at exit instead). Nor under valgrind, whose
 * own memory is resident in the process (memcheck checks leaks at exit). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TEST_UNDER_VALGRIND (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef TEST_UNDER_VALGRIND
#define TEST_UNDER_VALGRIND 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_RSS_MEANINGFUL 0
#endif
#endif
#ifndef TEST_RSS_MEANINGFUL
#define TEST_RSS_MEANINGFUL (!TEST_UNDER_VALGRIND)
#endif

/* VmRSS growth (KiB, the maximum over the ranks of dlp_comm()) must stay
 * within bound_kib; printed on the master. */
#define ASSERT_RSS_GROWTH(growth_kib, bound_kib, what)                               \
    do {                                                                             \
        long test__g = (growth_kib), test__max = 0;                                  \
        ASSERT_MPI(MPI_Allreduce(&test__g, &test__max, 1, MPI_LONG, MPI_MAX,         \
                                 dlp_comm()));                                       \
        if (test__world_rank() == 0)                                                 \
            printf("    VmRSS growth over %s: at most %ld KiB on a rank%s\n", what,    \
                   test__max, TEST_RSS_MEANINGFUL ? "" : " (not checked: ASan or valgrind)");    \
        if (TEST_RSS_MEANINGFUL)                                                     \
            ASSERT_LE(test__max, bound_kib);                                         \
    } while (0)

/* Bytes of heap in use (glibc mallinfo2: all arenas, plus mmapped blocks). */
static inline long test_heap_bytes(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 m = mallinfo2();
    return (long)(m.uordblks + m.hblkhd);
#else
    return 0;
#endif
}

/* Heap bytes in use may grow by at most bound_bytes (maximum over the ranks). */
#define ASSERT_HEAP_GROWTH(growth_bytes, bound_bytes, what)                          \
    do {                                                                             \
        long test__g = (growth_bytes), test__max = 0;                                \
        ASSERT_MPI(MPI_Allreduce(&test__g, &test__max, 1, MPI_LONG, MPI_MAX,         \
                                 dlp_comm()));                                       \
        if (test__world_rank() == 0)                                                 \
            printf("    heap in use grew over %s: at most %ld bytes on a rank%s\n",    \
                   what, test__max, TEST_RSS_MEANINGFUL ? "" : " (not checked: ASan or valgrind)"); \
        if (TEST_RSS_MEANINGFUL)                                                     \
            ASSERT_LE(test__max, bound_bytes);                                       \
    } while (0)

/* Number of memory mappings of this process (lines of /proc/self/maps), or -1. */
static inline long test_map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long lines = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF)
        lines += ch == '\n';
    fclose(f);
    return lines;
}

/* Resident set size of this process in KiB (from /proc/self/status), or -1. */
static inline long test_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ----------------------------------------------------- a test's main() -- */

/* This rank, the ranks and the team size, set by test_begin(). */
static int g_rank = -1, g_size, g_threads;

/* The DLP_* knobs a test must not inherit from the caller's environment:
 * each changes what its cases expect. (The harness sets others on purpose,
 * e.g. DLP_STATS, DLP_NODE_DOORBELL, DLP_COLLECTIVE_TIMEOUT: they stay.) */
static const char *const test_knobs[] = {
    "DLP_SCHEDULE", "DLP_CHUNK",       "DLP_CHUNK_TIME", "DLP_THREADS",
    "DLP_ON_ERROR", "DLP_TIME_LIMIT",  "DLP_INFLIGHT",   "DLP_PROGRESS",
    "DLP_PROGRESS_INTERVAL", "DLP_JOURNAL", "DLP_JOURNAL_SYNC", "DLP_SIGNALS",
    "DLP_GRACE"};

static inline void test_clear_knobs(void)
{
    for (size_t k = 0; k < sizeof test_knobs / sizeof *test_knobs; k++)
        unsetenv(test_knobs[k]);
}

static double test__t0;

/* After test_clear_knobs() (and the knobs the test sets on purpose):
 * dlp_init, then g_rank, g_size, g_threads. */
static inline void test_init(int *argc, char ***argv)
{
    test__t0 = test_now();
    ASSERT_OK(dlp_init(argc, argv));
    g_rank = dlp_rank();
    g_size = dlp_size();
    g_threads = dlp_threads();
}

/* The start of a test's main(): test_clear_knobs(), then test_init(). */
static inline void test_begin(int *argc, char ***argv)
{
    test_clear_knobs();
    test_init(argc, argv);
}

/* The end of a test's main(): test_expect_end(), dlp_finalize, and the
 * master's pass line "<name>: all cases passed in <s> s". Returns main()'s
 * status, 0. */
static inline int test_end(const char *name)
{
    test_expect_end();
    int rank = g_rank;
    ASSERT_OK(dlp_finalize());
    if (rank == 0)
        printf("%s: all cases passed in %.1f s\n", name, test_now() - test__t0);
    return 0;
}

/* A little CPU work whose cost depends on i (uneven items, no timing asserted). */
static inline void test_busy(long i, int scale)
{
    volatile uint64_t x = (uint64_t)i;
    int reps = (int)(test_mix((uint64_t)i) % 8u) * scale;
    for (int k = 0; k < reps; k++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    (void)x;
}

#endif
