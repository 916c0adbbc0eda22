/* A fuzz of the journal reader (lib/base/journal_file.c) alone: single-bit flips
 * and truncations of a valid journal.
 *
 * test_journal_fuzz [--random=N] [--seed=S] [--step=K] [--scale=M]
 *   A valid journal of call #1 (n = 1000 x M): CALL, RUN, DONE ranges, a
 *   BITS bitmap, FAILED items, a second RUN that does some failed items
 *   again, more failures, with records of call #2 between them. Its done
 *   set, and that of every prefix of whole records, is the reference.
 *   - every truncation (every K-th length with --step; a prefix of the file
 *     magic is a new journal): DLP_OK with exactly the done set of the whole
 *     records it keeps (the cut record is a torn tail);
 *   - every single-bit flip (every K-th bit): DLP_ERR_JOURNAL (the file then
 *     left as it was), or DLP_OK with a done set inside the original's, or,
 *     for a flip in the last record (dropped as a torn tail), exactly the
 *     done set without it: never an item done that the journal did not
 *     record as done;
 *   - N random cases more (default 0): 2 to 8 bit flips anywhere, or a
 *     random byte run overwritten, then the same check as for one flip
 *     against "a subset of the original's set, or an error", and as
 *     with truncation when the file was cut too.
 *   Each case runs under alarm(10): a hang fails it. Prints the counts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_check.h"

#include "error.h"
#include "journal_file.h"

#define FUNC "dlp_split_managed"

static long g_n = 1000;
static char g_path[256];
static FILE *g_err; /* stderr, which the reader's notes do not reach */

static void die(const char *fmt, const char *a, long b)
{
    FILE *e = g_err ? g_err : stderr;
    fprintf(e, "test_journal_fuzz: ");
    fprintf(e, fmt, a, b);
    fprintf(e, "\n");
    exit(1);
}

/* ---------------------------------------------------- a journal built -- */

struct jb {
    unsigned char *p;
    size_t len, cap;
    long bounds[64]; /* offsets where records end (bounds[0]: after the magic) */
    int nb;
};

static void put(struct jb *b, const void *d, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            die("out of memory%s%ld", "", 0);
    }
    memcpy(b->p + b->len, d, len);
    b->len += len;
}

static void record(struct jb *b, uint32_t type, uint64_t seq, const void *payload, size_t bytes)
{
    struct dlp__jrec_head h = {DLP__JREC_MAGIC, type, seq, bytes};
    size_t at = b->len;
    put(b, &h, sizeof h);
    if (bytes)
        put(b, payload, bytes);
    uint64_t sum = dlp__fnv1a(DLP__FNV_SEED, b->p + at, sizeof h + bytes);
    put(b, &sum, sizeof sum);
    b->bounds[b->nb++] = (long)b->len;
}

static void call(struct jb *b, uint64_t seq, long n)
{
    struct dlp__jcall_rec c;
    memset(&c, 0, sizeof c);
    c.n = n;
    snprintf(c.func, sizeof c.func, "%s", FUNC);
    record(b, DLP__JREC_CALL, seq, &c, sizeof c);
}

static void done(struct jb *b, uint64_t seq, const int64_t *ranges, int pairs)
{
    record(b, DLP__JREC_DONE, seq, ranges, (size_t)pairs * 16);
}

static void build(struct jb *b)
{
    memset(b, 0, sizeof *b);
    put(b, DLP__JFILE_MAGIC, 8);
    b->bounds[b->nb++] = 8;
    long n = g_n, q = n / 10;
    call(b, 1, n);
    call(b, 2, 77);
    record(b, DLP__JREC_RUN, 1, NULL, 0);
    int64_t r1[] = {0, q, 2 * q, 2 * q + 5, 3 * q, 4 * q};
    done(b, 1, r1, 3);
    /* a bitmap from 5q: every third item of 2q */
    size_t nbits = (size_t)(2 * q);
    unsigned char *bits = calloc(8 + (nbits + 7) / 8, 1);
    int64_t start = 5 * q;
    memcpy(bits, &start, 8);
    for (size_t j = 0; j < nbits; j += 3)
        bits[8 + j / 8] |= (unsigned char)(1u << (j % 8));
    record(b, DLP__JREC_BITS, 1, bits, 8 + (nbits + 7) / 8);
    free(bits);
    int64_t r2[] = {0, 3};
    done(b, 2, r2, 1);
    int64_t f1[] = {1, 2, 3 * q + 1, 5 * q + 3};
    record(b, DLP__JREC_FAILED, 1, f1, sizeof f1);
    record(b, DLP__JREC_RUN, 1, NULL, 0);
    int64_t r3[] = {1, 2, 8 * q, 8 * q + 10};
    done(b, 1, r3, 2);
    int64_t f2[] = {0, 8 * q + 4};
    record(b, DLP__JREC_FAILED, 1, f2, sizeof f2);
    int64_t r4[] = {9 * q, n};
    done(b, 1, r4, 1);
}

/* ------------------------------------------------------------ reading -- */

/* Read bytes as the journal: its status, the done set in set[n]. */
static int read_as_journal(const unsigned char *bytes, size_t len, char *set)
{
    int fd = open(g_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (len && write(fd, bytes, len) != (ssize_t)len))
        die("cannot write %s (%ld)", g_path, errno);
    struct dlp__ranges skip = {NULL, 0, 0};
    int has_call = 0;
    alarm(10);
    int rc = dlp__journal_read(fd, g_path, 1, g_n, FUNC, &skip, &has_call);
    alarm(0);
    close(fd);
    memset(set, 0, (size_t)g_n);
    for (long k = 0; k < skip.len; k++)
        for (long i = skip.r[k][0]; i < skip.r[k][1]; i++) {
            if (i < 0 || i >= g_n)
                die("the reader gave item %s%ld, outside 0..n-1", "", i);
            set[i] = 1;
        }
    dlp__ranges_free(&skip);
    return rc;
}

/* The file after a failed read: as it was (the reader repairs only torn
 * tails). */
static int file_is(const unsigned char *bytes, size_t len)
{
    FILE *f = fopen(g_path, "rb");
    if (!f)
        return 0;
    unsigned char *got = malloc(len + 1);
    size_t k = fread(got, 1, len + 1, f);
    fclose(f);
    int same = k == len && memcmp(got, bytes, len) == 0;
    free(got);
    return same;
}

static int subset(const char *a, const char *b)
{
    for (long i = 0; i < g_n; i++)
        if (a[i] && !b[i])
            return 0;
    return 1;
}

static long first_extra(const char *a, const char *b)
{
    for (long i = 0; i < g_n; i++)
        if (a[i] && !b[i])
            return i;
    return -1;
}

struct counts {
    long cases, ok, refused;
};

/* rc must be DLP_OK (or, with refused_ok, DLP_ERR_JOURNAL) */
#define CHECK_READ(rc, refused_ok)                                                           \
    CHECK_MSG((rc) == DLP_OK || ((refused_ok) && (rc) == DLP_ERR_JOURNAL),                   \
              "the reader returned %d (%s), expected DLP_OK%s: %s", rc, dlp_strerror(rc),     \
              (refused_ok) ? " or DLP_ERR_JOURNAL" : "", dlp_last_error())
/* item: -1, or an item done that the journal did not record as done */
#define CHECK_NO_EXTRA(item)                                                                 \
    CHECK_MSG((item) < 0, "item %ld done, but the journal did not record it as done", item)

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_journal_fuzz: FAILED: a read took more than 10 s (hang)\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(2);
}

int main(int argc, char **argv)
{
    long random_cases = 0, step = 1, scale = 1;
    unsigned long long seed = 1;
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "--random=", 9) == 0)
            random_cases = strtol(argv[a] + 9, NULL, 10);
        else if (strncmp(argv[a], "--seed=", 7) == 0)
            seed = strtoull(argv[a] + 7, NULL, 10);
        else if (strncmp(argv[a], "--step=", 7) == 0)
            step = strtol(argv[a] + 7, NULL, 10);
        else if (strncmp(argv[a], "--scale=", 8) == 0)
            scale = strtol(argv[a] + 8, NULL, 10);
        else
            die("unknown argument %s%ld", argv[a], 0);
    }
    if (step < 1 || scale < 1)
        die("--step and --scale must be >= 1%s%ld", "", 0);
    g_n *= scale;
    signal(SIGALRM, on_alarm);
    /* on tmpfs where there is one: dropping a torn tail fsyncs the file */
    char dir[64];
    snprintf(dir, sizeof dir, "%s/dlp_jfuzz.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        die("mkdtemp: errno %s%ld", "", errno);
    snprintf(g_path, sizeof g_path, "%s/j", dir);
    /* the reader's notes of dropped tails (one per case) go to /dev/null,
     * this program's own messages to the real stderr */
    int saved = dup(STDERR_FILENO);
    g_err = saved >= 0 ? fdopen(saved, "w") : NULL;
    if (!g_err || !freopen("/dev/null", "w", stderr))
        die("cannot set up stderr%s%ld", "", 0);
    setvbuf(g_err, NULL, _IOLBF, 0);
    check_stream = g_err;

    struct jb b;
    build(&b);
    char *orig = malloc((size_t)g_n), *got = malloc((size_t)g_n);
    char **pref = calloc((size_t)b.nb, sizeof *pref);
    if (read_as_journal(b.p, b.len, orig) != DLP_OK)
        die("the valid journal was refused: %s%ld", dlp_last_error(), 0);
    long norig = 0;
    for (long i = 0; i < g_n; i++)
        norig += orig[i];
    for (int k = 0; k < b.nb; k++) {
        pref[k] = malloc((size_t)g_n);
        if (read_as_journal(b.p, (size_t)b.bounds[k], pref[k]) != DLP_OK)
            die("a prefix of whole records was refused: %s%ld", dlp_last_error(), k);
    }

    struct counts trunc = {0, 0, 0}, flips = {0, 0, 0}, rnd = {0, 0, 0};
    /* truncations */
    for (long len = 0; len < (long)b.len; len += step) {
        trunc.cases++;
        check_case("truncation to %ld bytes", len);
        int rc = read_as_journal(b.p, (size_t)len, got);
        int k = 0;
        while (k + 1 < b.nb && b.bounds[k + 1] <= len)
            k++;
        const char *want = len < 8 ? NULL : pref[k];
        if (!CHECK_READ(rc, 0))
            continue;
        trunc.ok++;
        long i = 0;
        while (i < g_n && got[i] == (want ? want[i] : 0))
            i++;
        CHECK_MSG(i == g_n, "the done set differs from the whole records': item %ld: %d, "
                  "expected %d", i, i < g_n ? got[i] : 0, i < g_n && want ? want[i] : 0);
    }
    /* single-bit flips */
    unsigned char *m = malloc(b.len);
    long last_start = b.bounds[b.nb - 2];
    for (long bit = 0; bit < (long)b.len * 8; bit += step) {
        flips.cases++;
        check_case("flip of bit %ld", bit);
        memcpy(m, b.p, b.len);
        m[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        int rc = read_as_journal(m, b.len, got);
        if (!CHECK_READ(rc, 1))
            continue;
        if (rc == DLP_ERR_JOURNAL) {
            flips.refused++;
            CHECK_MSG(file_is(m, b.len), "refused, but the file was changed");
            continue;
        }
        flips.ok++;
        int in_last = bit / 8 >= last_start;
        /* the last record may be dropped as a torn tail */
        CHECK_NO_EXTRA(subset(got, orig) || (in_last && memcmp(got, pref[b.nb - 2],
                                                               (size_t)g_n) == 0)
                           ? -1
                           : first_extra(got, orig));
    }
    /* random cases */
    unsigned long long st = seed * 0x9e3779b97f4a7c15ull + 1;
#define NEXT() (st = st * 6364136223846793005ull + 1442695040888963407ull, st >> 33)
    for (long c = 0; c < random_cases; c++) {
        rnd.cases++;
        check_case("random case %ld (seed %llu)", c, seed);
        memcpy(m, b.p, b.len);
        size_t len = b.len;
        if (NEXT() % 2) {
            long flipsn = 2 + (long)(NEXT() % 7);
            for (long f = 0; f < flipsn; f++) {
                long bit = (long)(NEXT() % (b.len * 8));
                m[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            }
        } else {
            size_t at = NEXT() % b.len, run = 1 + NEXT() % 32;
            for (size_t k = at; k < at + run && k < b.len; k++)
                m[k] = (unsigned char)NEXT();
        }
        if (NEXT() % 4 == 0)
            len = (size_t)(NEXT() % (b.len + 1));
        int rc = read_as_journal(m, len, got);
        if (!CHECK_READ(rc, 1))
            continue;
        if (rc == DLP_ERR_JOURNAL) {
            rnd.refused++;
            continue;
        }
        rnd.ok++;
        /* allowed: inside the original's set, or inside the set of some
         * prefix of whole records (a dropped tail that held failures) */
        int fine = subset(got, orig);
        for (int k = 0; !fine && k < b.nb; k++)
            fine = subset(got, pref[k]);
        CHECK_NO_EXTRA(fine ? -1 : first_extra(got, orig));
    }
    unlink(g_path);
    rmdir(dir);
    FILE *out = stdout;
    fprintf(out,
            "test_journal_fuzz: journal of %zu bytes in %d records, n = %ld, %ld done; "
            "%ld truncations (%ld read, %ld refused), %ld single-bit flips (%ld read, %ld "
            "refused), %ld random cases (%ld read, %ld refused); %ld failures\n",
            b.len, b.nb - 1, g_n, norig, trunc.cases, trunc.ok, trunc.refused, flips.cases,
            flips.ok, flips.refused, rnd.cases, rnd.ok, rnd.refused, check_failures());
    for (int k = 0; k < b.nb; k++)
        free(pref[k]);
    free(pref);
    free(m);
    free(orig);
    free(got);
    free(b.p);
    return check_end("test_journal_fuzz");
}
