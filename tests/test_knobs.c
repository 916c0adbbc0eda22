/* The DLP_* knobs read at every parallel call, over bad values.
 *
 * test_knobs DIR [--random=N] [--seed=S] [--rules-only]
 *   Every rank works in DIR (rank 0 creates it), where path knobs
 *   (DLP_JOURNAL, DLP_TRACE) put their files.
 *   - The rules (docs/configuration.md, "Rules"): an on/off knob (DLP_SIGNALS,
 *     DLP_STATS, DLP_TRACE_ITEMS) takes 1, on, yes, true or 0, off, no, false,
 *     anything else is DLP_ERR_OPTION naming it: DLP_STATS=no, off, false, 0
 *     print no stats (any value not starting with 0 used to turn them on),
 *     1 and yes do; a numeric knob's value starts with a digit (seconds also
 *     with '.'), in decimal: a leading space, tab, '+' or '-', hex, inf, nan
 *     and trailing text are DLP_ERR_OPTION naming it (strtol took a leading
 *     space or '+').
 *   - The fuzz: every knob over a fixed list of bad values (empty, spaces,
 *     signs, huge, overflowing, garbage, long) and N random strings per
 *     knob (--random, default 0; seed S): every call returns DLP_OK or
 *     DLP_ERR_OPTION (with the knob's name in the message; a path knob also
 *     DLP_ERR_JOURNAL or DLP_ERR_SYSTEM), the same on every rank, never a
 *     crash (run it under ASan + UBSan). The count of cases is printed.
 *     --rules-only: not the fuzz (the layouts of several ranks, where every
 *     call costs collectives).
 *   - Changes between calls: a knob's text changed in place (putenv's
 *     buffer) and omp_set_num_threads() both set the next call's team (a
 *     call reuses the last resolution of its options while what it read
 *     is the same).
 * The knobs read once by dlp_init (DLP_NODE_DOORBELL, DLP_NODE_DOORBELL_HOST,
 * DLP_HWLOC_IO, DLP_LIVENESS_TIMEOUT: a warning, then the default) are not
 * covered here (DLP_LIVENESS_TIMEOUT: liveness_bad_knob in
 * tests/CMakeLists.txt). */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *g_dir;
static char g_capture[1024];
static int g_saved_fd = -1;

enum kind { NUM, SECONDS, BOOL, WORDS, PATH };
static const struct knob {
    const char *name;
    enum kind kind;
    int random; /* random values too (not where a valid one could end the job) */
} knobs[] = {
    {"DLP_SCHEDULE", WORDS, 1},
    {"DLP_CHUNK", NUM, 1},
    {"DLP_CHUNK_TIME", NUM, 1},
    {"DLP_THREADS", NUM, 0}, /* 4096 threads is valid */
    {"DLP_PROGRESS", WORDS, 1},
    {"DLP_PROGRESS_INTERVAL", SECONDS, 1},
    {"DLP_INFLIGHT", NUM, 1},
    {"DLP_ON_ERROR", WORDS, 1},
    {"DLP_TIME_LIMIT", SECONDS, 1},
    {"DLP_JOURNAL", PATH, 1},
    {"DLP_JOURNAL_SYNC", SECONDS, 1},
    {"DLP_GRACE", SECONDS, 1},
    {"DLP_SIGNALS", BOOL, 1},
    {"DLP_COLLECTIVE_TIMEOUT", SECONDS, 0}, /* a small valid one ends a slow job */
    {"DLP_HELPER_SLICE", NUM, 1},
    {"DLP_STATS", BOOL, 1},
    {"DLP_TRACE", PATH, 1},
    {"DLP_TRACE_ITEMS", BOOL, 1},
    {"DLP_TRACE_MAX_SPANS", NUM, 1},
};
#define KNOBS (sizeof knobs / sizeof knobs[0])

/* Rank 0's stderr into a file between capture_begin() and capture_end(). */
static void capture_begin(void)
{
    if (g_rank != 0)
        return;
    snprintf(g_capture, sizeof g_capture, "stderr.%ld", (long)getpid());
    fflush(stderr);
    g_saved_fd = dup(STDERR_FILENO);
    int fd = open(g_capture, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (g_saved_fd < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0)
        TEST_FAIL("cannot send stderr to %s: %s", g_capture, strerror(errno));
    close(fd);
}

/* What rank 0 wrote to stderr (other ranks: ""); free it. */
static char *capture_end(void)
{
    char *text = calloc(1 << 16, 1);
    ASSERT_NOT_NULL(text);
    if (g_rank != 0)
        return text;
    fflush(stderr);
    ASSERT_GE(dup2(g_saved_fd, STDERR_FILENO), 0);
    close(g_saved_fd);
    FILE *f = fopen(g_capture, "r");
    ASSERT_NOT_NULL(f);
    size_t len = fread(text, 1, (1 << 16) - 1, f);
    text[len] = '\0';
    fclose(f);
    unlink(g_capture);
    return text;
}

static int noop(long i, void *ctx)
{
    (void)i, (void)ctx;
    return 0;
}

/* One call with var=value (NULL: unset) on every rank; returns its status,
 * the same on every rank; *err gets rank 0's stderr. */
static int call_with(const char *var, const char *value, char **err)
{
    if (value)
        setenv(var, value, 1);
    else
        unsetenv(var);
    dlp_opts o = DLP_OPTS_INIT;
    o.on_error = DLP_ON_ERROR_SKIP; /* a valid DLP_TIME_LIMIT only reports */
    capture_begin();
    int rc = dlp_split_managed(20, noop, NULL, &o);
    char *text = capture_end();
    unsetenv(var);
    int lo = 0, hi = 0;
    ASSERT_MPI(MPI_Allreduce(&rc, &lo, 1, MPI_INT, MPI_MIN, dlp_comm()));
    ASSERT_MPI(MPI_Allreduce(&rc, &hi, 1, MPI_INT, MPI_MAX, dlp_comm()));
    if (lo != hi)
        TEST_FAIL("%s=\"%s\": the ranks returned different statuses (%d .. %d)", var,
                  value ? value : "(unset)", lo, hi);
    if (err)
        *err = text;
    else
        free(text);
    return rc;
}

static void expect(const char *var, const char *value, int want)
{
    int rc = call_with(var, value, NULL);
    if (rc != want)
        TEST_FAIL("%s=\"%s\": the call returned %d (%s), expected %d (%s); dlp_last_error(): "
                  "%s",
                  var, value, rc, dlp_strerror(rc), want, dlp_strerror(want), dlp_last_error());
    if (want == DLP_ERR_OPTION) {
        char named[300];
        snprintf(named, sizeof named, "%s=\"%s\"", var, value);
        ASSERT_STR_CONTAINS(dlp_last_error(), named);
    }
}

/* DLP_STATS=value: stats printed by rank 0 or not. */
static void stats(const char *value, int want_printed)
{
    char *err = NULL;
    int rc = call_with("DLP_STATS", value, &err);
    if (rc != DLP_OK)
        TEST_FAIL("DLP_STATS=\"%s\": the call returned %d (%s): %s", value, rc, dlp_strerror(rc),
                  dlp_last_error());
    int printed = strstr(err, "dlp_mpi: stats of") != NULL;
    if (g_rank == 0 && printed != want_printed)
        TEST_FAIL("DLP_STATS=\"%s\": the stats were %s, expected %s; stderr: %s", value,
                  printed ? "printed" : "not printed", want_printed ? "printed" : "not printed",
                  err);
    free(err);
}

static void check_rules(void)
{
    test_case("on/off knobs: DLP_STATS=no/off/false/0 print no stats, 1/yes/on/true do");
    static const char *const off[] = {"0", "no", "off", "false"};
    static const char *const on[] = {"1", "yes", "on", "true"};
    for (int k = 0; k < 4; k++) {
        stats(off[k], 0);
        stats(on[k], 1);
    }

    test_case("on/off knobs: anything else is DLP_ERR_OPTION naming the knob");
    static const char *const bool_knobs[] = {"DLP_STATS", "DLP_TRACE_ITEMS", "DLP_SIGNALS"};
    static const char *const not_bool[] = {"garbage", "2", " 1", "1 ", "On", "YES", "+1",
                                           "-1",      "00", "nope", "y",  "t"};
    for (int b = 0; b < 3; b++)
        for (size_t v = 0; v < sizeof not_bool / sizeof *not_bool; v++)
            expect(bool_knobs[b], not_bool[v], DLP_ERR_OPTION);
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 4; k++) {
            expect(bool_knobs[b], off[k], DLP_OK);
            expect(bool_knobs[b], on[k], DLP_OK);
        }

    test_case("numeric knobs: one rule, the value starts with a digit, in decimal");
    for (size_t k = 0; k < KNOBS; k++) {
        if (knobs[k].kind != NUM && knobs[k].kind != SECONDS)
            continue;
        static const char *const bad[] = {" 2", "\t2", "+2", "-2", "2 ", "2x", "x2", "",
                                          "0x10", "inf", "nan", " +2"};
        for (size_t v = 0; v < sizeof bad / sizeof *bad; v++)
            if (bad[v][0]) /* empty is unset: the default */
                expect(knobs[k].name, bad[v], DLP_ERR_OPTION);
        expect(knobs[k].name, "", DLP_OK);
        /* a valid value of each (DLP_COLLECTIVE_TIMEOUT: long enough for any machine) */
        const char *good = strcmp(knobs[k].name, "DLP_COLLECTIVE_TIMEOUT") == 0 ? "600"
                           : strcmp(knobs[k].name, "DLP_HELPER_SLICE") == 0    ? "100"
                                                                                : "2";
        expect(knobs[k].name, good, DLP_OK);
        if (knobs[k].kind == SECONDS)
            expect(knobs[k].name, ".5e1", DLP_OK);
    }

    test_case("a knob set after many other DLP_ variables is still read");
    enum { OTHERS = 100 }; /* more than the library's one-pass table holds */
    char name[32];
    for (int k = 0; k < OTHERS; k++) {
        snprintf(name, sizeof name, "DLP_TEST_UNUSED_%d", k);
        setenv(name, "1", 1);
    }
    expect("DLP_SCHEDULE", "garbage", DLP_ERR_OPTION);
    expect("DLP_THREADS", "0", DLP_ERR_OPTION);
    for (int k = 0; k < OTHERS; k++) {
        snprintf(name, sizeof name, "DLP_TEST_UNUSED_%d", k);
        unsetenv(name);
    }
    expect("DLP_SCHEDULE", "garbage", DLP_ERR_OPTION);
}

/* ------------------------------------------------ changes between calls -- */

static _Atomic int team_seen;

static int note_team(long i, void *ctx)
{
    (void)i, (void)ctx;
    atomic_store(&team_seen, omp_get_num_threads());
    return 0;
}

/* The team size the items of one round-robin call see. */
static int team_of_call(void)
{
    atomic_store(&team_seen, 0);
    dlp_opts o = DLP_OPTS_INIT;
    ASSERT_OK(dlp_split_round_robin(8L * dlp_size(), note_team, NULL, &o));
    return atomic_load(&team_seen);
}

static void check_changes(void)
{
    test_case("a knob's text changed in place between calls is read");
    static char threads[] = "DLP_THREADS=1"; /* putenv keeps this buffer */
    char *digit = threads + sizeof threads - 2;
    if (putenv(threads) != 0)
        TEST_FAIL("putenv: %s", strerror(errno));
    ASSERT_EQ(team_of_call(), 1);
    *digit = '2';
    ASSERT_EQ(team_of_call(), 2);
    *digit = '1';
    ASSERT_EQ(team_of_call(), 1);
    unsetenv("DLP_THREADS");

    test_case("omp_set_num_threads() between calls sets the next call's team");
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    ASSERT_EQ(team_of_call(), 1);
    omp_set_num_threads(2);
    ASSERT_EQ(team_of_call(), 2);
    omp_set_num_threads(saved);
}

/* --------------------------------------------------------------- fuzz -- */

static const char *const fixed_values[] = {
    "", " ", "  ", "\t", "\n", "0", "1", "-0", "-1", "+1", " 1", "1 ", "01", "2",
    "99999999999999999999999", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "18446744073709551616", "1e999", "1e-999", "-1e999", "0x10", "0x",
    "1e", "e1", ".", "..", "1.2.3", "inf", "-inf", "nan", "NaN", "abc", "on", "off", "yes", "no",
    "true", "false", "auto", "tty", "abort", "skip", "retry", "retry=", "retry=0", "retry= 1",
    "retry=+1", "retry=101", "retry=99999999999999999999", "fixed", "fixed:", "fixed:0",
    "fixed: 1", "fixed:+1", "fixed:-1", "fixed:99999999999999999999", "gss:1/", "/", "auto/",
    "/auto", "auto/auto/auto", "fixed:1/fixed:1", "1K", "1k ", "1G", "2G", "1T", "0K", "K",
    "1KK", "%s%s%s%n", "\xff\xfe", "\"", "'", "\\", ";", "$(echo)", "-", "+", "=", ":"};

static char *long_value(void)
{
    char *v = malloc(5001);
    ASSERT_NOT_NULL(v);
    memset(v, '9', 5000);
    v[5000] = '\0';
    return v;
}

/* A random short string over characters that parsers care about. */
static void random_value(unsigned long long *state, char *out, size_t cap)
{
    static const char chars[] = " \t+-0123456789.eExXkKmMgG:/=abcfinorstuy";
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    size_t len = (size_t)(*state >> 59) % (cap - 1);
    for (size_t k = 0; k < len; k++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        out[k] = chars[(*state >> 33) % (sizeof chars - 1)];
    }
    out[len] = '\0';
}

static long fuzz_one(const struct knob *k, const char *value)
{
    /* DLP_COLLECTIVE_TIMEOUT / DLP_THREADS: only values that cannot end or
     * swamp the job (a valid number must be large / small) */
    char *end = NULL;
    double num = strtod(value, &end);
    if (strcmp(k->name, "DLP_COLLECTIVE_TIMEOUT") == 0 && end != value && num < 60)
        return 0;
    if (strcmp(k->name, "DLP_THREADS") == 0 && end != value && num > 8 && num <= 4096)
        return 0;
    int rc = call_with(k->name, value, NULL);
    int path = k->kind == PATH;
    if (rc == DLP_ERR_OPTION) {
        ASSERT_STR_CONTAINS(dlp_last_error(), k->name);
    } else if (rc != DLP_OK && !(path && (rc == DLP_ERR_JOURNAL || rc == DLP_ERR_SYSTEM))) {
        TEST_FAIL("%s=\"%s\": the call returned %d (%s); dlp_last_error(): %s", k->name, value,
                  rc, dlp_strerror(rc), dlp_last_error());
    }
    return 1;
}

static long fuzz(long random_per_knob, unsigned long long seed)
{
    test_case("every knob over bad values: DLP_OK or DLP_ERR_OPTION naming it, never a crash");
    long cases = 0;
    char *big = long_value();
    for (size_t k = 0; k < KNOBS; k++) {
        for (size_t v = 0; v < sizeof fixed_values / sizeof *fixed_values; v++)
            cases += fuzz_one(&knobs[k], fixed_values[v]);
        cases += fuzz_one(&knobs[k], big);
        if (!knobs[k].random)
            continue;
        unsigned long long state = seed ^ (0x9e3779b97f4a7c15ull * (k + 1));
        for (long r = 0; r < random_per_knob; r++) {
            char value[24];
            random_value(&state, value, sizeof value);
            cases += fuzz_one(&knobs[k], value);
        }
    }
    free(big);
    return cases;
}

int main(int argc, char **argv)
{
    ASSERT_OK(dlp_init(&argc, &argv));
    g_rank = dlp_rank();
    long random_per_knob = 0;
    int rules_only = 0;
    unsigned long long seed = 1;
    if (argc < 2)
        TEST_FAIL("usage: test_knobs DIR [--random=N] [--seed=S] [--rules-only]");
    g_dir = argv[1];
    for (int a = 2; a < argc; a++) {
        if (strncmp(argv[a], "--random=", 9) == 0)
            random_per_knob = strtol(argv[a] + 9, NULL, 10);
        else if (strcmp(argv[a], "--rules-only") == 0)
            rules_only = 1;
        else if (strncmp(argv[a], "--seed=", 7) == 0)
            seed = strtoull(argv[a] + 7, NULL, 10);
        else
            TEST_FAIL("unknown argument %s", argv[a]);
    }
    for (size_t k = 0; k < KNOBS; k++)
        unsetenv(knobs[k].name);
    if (g_rank == 0 && mkdir(g_dir, 0700) != 0 && errno != EEXIST)
        TEST_FAIL("cannot create %s: %s", g_dir, strerror(errno));
    ASSERT_OK(dlp_barrier());
    if (chdir(g_dir) != 0)
        TEST_FAIL("cannot enter %s: %s", g_dir, strerror(errno));
    check_rules();
    check_changes();
    long cases = rules_only ? 0 : fuzz(random_per_knob, seed);
    test_case("end");
    ASSERT_OK(dlp_finalize());
    if (g_rank == 0)
        printf("test_knobs: the rules hold; knob fuzz: %ld cases over %zu knobs (%ld random "
               "per knob, seed %llu), no crash, every status DLP_OK or DLP_ERR_OPTION\n",
               cases, KNOBS, random_per_knob, seed);
    return 0;
}
