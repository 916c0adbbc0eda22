/* The journal (opts.journal / DLP_JOURNAL) and SIGTERM/SIGINT during a call.
 *
 * test_journal DIR
 *   The in-process cases; rank 0 creates DIR and empties it, each case has a
 *   journal file of its own there. The test reads and writes journal files
 *   itself, following lib/parts/journal.h (the file magic, then records of
 *   {u32 magic, u32 type, u64 call, u64 bytes, payload, u64 FNV-1a}), so it
 *   can check what the library wrote and give a call the journal an earlier
 *   run would have left: the records of call #s copied as call #t (the call
 *   number is the count of parallel calls the process began, which the test
 *   keeps too). Cases:
 *   - every form (managed, round robin, loop form both ways, map with
 *     on_result, map loop form): a fresh journal records each item once and
 *     nothing else; resumed, the call runs nothing and says "n of n items
 *     are done, 0 to run";
 *   - a journal written by hand (done ranges, a failed item done again
 *     later, a done item failed later, a failed item): every form runs
 *     exactly the items not done, says how many, and completes the journal;
 *   - DLP_JOURNAL, and opts.journal winning over it; other ranks' paths are
 *     not used; a journal on one rank only is a mismatch;
 *   - refused with DLP_ERR_JOURNAL, the file untouched, nothing run, the
 *     call number not used up: another n or function for this call (both
 *     values in the message), not a journal, a record corrupted in the
 *     middle, a bad record header in the middle, records out of order or out
 *     of range, a journal locked by another process (a forked child);
 *     DLP_ERR_OPTION for results, collector, an empty path and bad
 *     DLP_JOURNAL_SYNC; DLP_ERR_SYSTEM for a directory that does not exist;
 *   - torn tails dropped with a message giving their size (a record cut
 *     short, a last record with a bad checksum, trailing zeros, part of a
 *     header, part of the file magic, an empty file): their items run again;
 *   - failed items (skip: body, dlp_loop_fail of the running item, map
 *     work, map on_result) are not recorded: the rerun runs exactly those,
 *     a third run nothing; under abort and after an early dlp_map_end() the
 *     journal holds exactly the items that were done, and the rerun runs
 *     the others; on_error = retry records the retried items;
 *   - two calls in one journal file, n = 0, DLP_JOURNAL_SYNC;
 *   - signals: the library's handler stays from call to call (also over
 *     a call with DLP_SIGNALS=0); a handler the program installs after a
 *     call wins (and gets the signal) until the program puts the library's
 *     back (test_signals: between calls, after dlp_finalize); last,
 *     SIGTERM raised in a body on one
 *     rank: DLP_ERR_INTERRUPTED on every rank, the counts of its message
 *     against the journal, and the next call refused at once.
 *
 * test_journal DIR --loop-fail-earlier
 *   Only this: in the loop form, a thread calls dlp_loop_fail() for the
 *   item it finished before the one it runs now; the journal must not take
 *   that item for done (the call writes a FAILED record for it).
 *
 * test_journal --work DIR --form=F --n=N --calls=C --item-ms=M --run=K [--slow=I:MS]
 *   C calls (F: managed, rr, loop, map, mapnext) of n items each with the
 *   journal of DLP_JOURNAL, for tests/journal_kill.sh: each rank writes its
 *   pid to DIR/pid.<rank>; item i of call c sleeps M ms (item I = c n + i
 *   sleeps MS ms) and then appends "K <seconds since the epoch>" to
 *   DIR/out/<c n + i> (map: on_result does, on the master); the first
 *   written output creates DIR/started. A rank's stdout and stderr go to
 *   DIR/rank.<K>.<rank>.
 *   After an interrupted call a second call must be refused at once. Exit
 *   status 0 (done), 3 (DLP_ERR_INTERRUPTED), 4 (another error), also
 *   written to DIR/exit.<rank> (after a signal, mpiexec's own status is
 *   not always the ranks'). */
#include "test_forms.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *g_dir;
/* Parallel calls this process began: the library's number of the last. */
static unsigned long g_calls;

/* ------------------------------------------------------ journal files -- */

#define J_REC_MAGIC 0x52504c44u
#define J_FUNC_BYTES 40
enum { J_CALL = 1, J_DONE = 2, J_FAILED = 3, J_RUN = 4, J_BITS = 5 };
static const char j_magic[8] = {'d', 'l', 'p', 'j', 'r', 'n', 'l', '1'};

struct jhead {
    uint32_t magic, type;
    uint64_t seq, bytes;
};
_Static_assert(sizeof(struct jhead) == 24, "record header of lib/parts/journal.h");

static uint64_t j_fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < len; k++)
        h = (h ^ b[k]) * 0x100000001b3ULL;
    return h;
}
#define J_SEED 0xcbf29ce484222325ULL

static char *path_in_dir(const char *name)
{
    static char paths[8][1024];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", g_dir, name);
    return p;
}

/* The whole file (NULL and *len = -1 when it does not exist). */
static unsigned char *slurp(const char *path, long *len)
{
    *len = -1;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (errno != ENOENT)
            TEST_FAIL("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    ASSERT_EQ(fstat(fd, &st), 0);
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    ASSERT_NOT_NULL(buf);
    long got = 0;
    while (got < (long)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)(st.st_size - got));
        if (r <= 0)
            TEST_FAIL("reading %s: %s", path, r < 0 ? strerror(errno) : "it shrank");
        got += r;
    }
    close(fd);
    *len = got;
    return buf;
}

static void spill(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        TEST_FAIL("cannot create %s: %s", path, strerror(errno));
    if (len > 0 && write(fd, data, len) != (ssize_t)len)
        TEST_FAIL("cannot write %s: %s", path, strerror(errno));
    close(fd);
}

/* A journal as the library must write it: every record checks out. */
struct jrec {
    uint32_t type;
    uint64_t seq, bytes;
    long off; /* of the header */
};
struct jfile {
    unsigned char *buf;
    long size, nrec;
    struct jrec *rec;
};

static void jfile_load(const char *path, struct jfile *f)
{
    memset(f, 0, sizeof *f);
    f->buf = slurp(path, &f->size);
    if (!f->buf)
        TEST_FAIL("the journal %s does not exist", path);
    if (f->size < 8 || memcmp(f->buf, j_magic, 8) != 0)
        TEST_FAIL("the journal %s (%ld bytes) does not start with \"dlpjrnl1\"", path, f->size);
    f->rec = malloc(sizeof *f->rec * (size_t)(f->size / 32 + 1));
    ASSERT_NOT_NULL(f->rec);
    for (long off = 8; off < f->size;) {
        struct jhead h;
        if (f->size - off < (long)sizeof h)
            TEST_FAIL("journal %s: %ld bytes at byte %ld, less than a record header", path,
                      f->size - off, off);
        memcpy(&h, f->buf + off, sizeof h);
        long end = off + (long)sizeof h + (long)h.bytes + 8;
        if (h.magic != J_REC_MAGIC || h.type < J_CALL || h.type > J_BITS ||
            h.bytes > (1u << 30) || end > f->size)
            TEST_FAIL("journal %s: no valid record at byte %ld of %ld (magic 0x%08x, type %u, "
                      "%llu bytes)",
                      path, off, f->size, (unsigned)h.magic, (unsigned)h.type,
                      (unsigned long long)h.bytes);
        uint64_t check, want = j_fnv(J_SEED, f->buf + off, sizeof h + h.bytes);
        memcpy(&check, f->buf + end - 8, 8);
        if (check != want)
            TEST_FAIL("journal %s: record at byte %ld: checksum %016llx, computed %016llx", path,
                      off, (unsigned long long)check, (unsigned long long)want);
        f->rec[f->nrec++] = (struct jrec){h.type, h.seq, h.bytes, off};
        off = end;
    }
}

static void jfile_free(struct jfile *f)
{
    free(f->buf);
    free(f->rec);
}

/* What a journal says about call #seq. */
struct jcall {
    long calls;             /* its CALL records */
    int64_t n;              /* of the first */
    char func[J_FUNC_BYTES];
    long done, again;       /* items done; items recorded done while they were */
    long done_recs, failed_recs;
};

/* done[n]: the items done: a DONE record covers it in a later run (RUN
 * records) than every FAILED record of it. Ranges outside 0..n-1 fail the
 * test. */
static void jfile_call(const struct jfile *f, uint64_t seq, long n, char *done, struct jcall *c)
{
    memset(c, 0, sizeof *c);
    memset(done, 0, (size_t)n);
    unsigned char *times = calloc((size_t)n + 1, 1);
    long *done_run = calloc((size_t)n + 1, sizeof(long)),
         *failed_run = calloc((size_t)n + 1, sizeof(long));
    ASSERT_NOT_NULL(times);
    ASSERT_NOT_NULL(done_run);
    ASSERT_NOT_NULL(failed_run);
    for (long i = 0; i < n; i++)
        done_run[i] = failed_run[i] = -1;
    long run = 0;
    for (long k = 0; k < f->nrec; k++) {
        const struct jrec *r = &f->rec[k];
        const unsigned char *p = f->buf + r->off + sizeof(struct jhead);
        if (r->seq != seq)
            continue;
        if (r->type == J_CALL) {
            ASSERT_EQ(r->bytes, 8 + J_FUNC_BYTES);
            if (c->calls++ == 0) {
                memcpy(&c->n, p, 8);
                memcpy(c->func, p + 8, J_FUNC_BYTES);
                c->func[J_FUNC_BYTES - 1] = '\0';
            }
            continue;
        }
        if (c->calls == 0)
            TEST_FAIL("journal: a record of call #%llu at byte %ld before its CALL record",
                      (unsigned long long)seq, r->off);
        if (r->type == J_RUN) {
            run++;
            continue;
        }
        if (r->type == J_BITS) { /* int64 first item, then a bit per item */
            int64_t first;
            ASSERT_GE(r->bytes, 8);
            memcpy(&first, p, 8);
            c->done_recs++;
            for (long j = 0; j < ((long)r->bytes - 8) * 8; j++) {
                if (!(p[8 + j / 8] >> (j % 8) & 1))
                    continue;
                if (first < 0 || first + j >= n)
                    TEST_FAIL("journal: done item %lld of call #%llu, n = %ld (byte %ld)",
                              (long long)(first + j), (unsigned long long)seq, n, r->off);
                times[first + j] += done_run[first + j] > failed_run[first + j] &&
                                    times[first + j] < 255;
                done_run[first + j] = run;
            }
            continue;
        }
        long width = r->type == J_DONE ? 16 : 8;
        if (r->bytes % (uint64_t)width != 0)
            TEST_FAIL("journal: record at byte %ld (type %u) has %llu bytes", r->off,
                      (unsigned)r->type, (unsigned long long)r->bytes);
        c->done_recs += r->type == J_DONE;
        c->failed_recs += r->type == J_FAILED;
        for (long j = 0; j < (long)r->bytes / width; j++) {
            int64_t v[2] = {0, 0};
            memcpy(v, p + j * width, (size_t)width);
            if (r->type == J_FAILED) {
                if (v[0] < 0 || v[0] >= n)
                    TEST_FAIL("journal: failed item %lld of call #%llu, n = %ld", (long long)v[0],
                              (unsigned long long)seq, n);
                failed_run[v[0]] = run;
                continue;
            }
            if (v[0] < 0 || v[0] >= v[1] || v[1] > n)
                TEST_FAIL("journal: done range [%lld, %lld) of call #%llu, n = %ld (byte %ld)",
                          (long long)v[0], (long long)v[1], (unsigned long long)seq, n, r->off);
            for (long i = v[0]; i < v[1]; i++) {
                times[i] += done_run[i] > failed_run[i] && times[i] < 255; /* done again */
                done_run[i] = run;
            }
        }
    }
    for (long i = 0; i < n; i++)
        done[i] = (char)(done_run[i] >= 0 && done_run[i] > failed_run[i]);
    free(done_run);
    free(failed_run);
    for (long i = 0; i < n; i++) {
        c->done += done[i];
        c->again += times[i] > 0;
    }
    free(times);
}

/* Journal bytes built by the test. */
struct jbuild {
    unsigned char *p;
    size_t len, cap;
};

static void jb_put(struct jbuild *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ASSERT_NOT_NULL(b->p);
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

static void jb_start(struct jbuild *b)
{
    memset(b, 0, sizeof *b);
    jb_put(b, j_magic, sizeof j_magic);
}

static void jb_record(struct jbuild *b, uint32_t type, uint64_t seq, const void *payload,
                      size_t bytes)
{
    struct jhead h = {J_REC_MAGIC, type, seq, bytes};
    size_t at = b->len;
    jb_put(b, &h, sizeof h);
    if (bytes)
        jb_put(b, payload, bytes);
    uint64_t check = j_fnv(J_SEED, b->p + at, sizeof h + bytes);
    jb_put(b, &check, sizeof check);
}

static void jb_call(struct jbuild *b, uint64_t seq, long n, const char *func)
{
    unsigned char rec[8 + J_FUNC_BYTES] = {0};
    int64_t n64 = n;
    memcpy(rec, &n64, 8);
    snprintf((char *)rec + 8, J_FUNC_BYTES, "%s", func);
    jb_record(b, J_CALL, seq, rec, sizeof rec);
}

static void jb_done(struct jbuild *b, uint64_t seq, long start, long end)
{
    int64_t r[2] = {start, end};
    jb_record(b, J_DONE, seq, r, sizeof r);
}

static void jb_failed(struct jbuild *b, uint64_t seq, long item)
{
    int64_t v = item;
    jb_record(b, J_FAILED, seq, &v, sizeof v);
}

/* A run of call #seq starts (the library writes one each time). */
static void jb_run(struct jbuild *b, uint64_t seq)
{
    jb_record(b, J_RUN, seq, NULL, 0);
}

/* Append the records of call #from as call #to. */
static void jb_copy_call(struct jbuild *b, const struct jfile *f, uint64_t from, uint64_t to)
{
    for (long k = 0; k < f->nrec; k++)
        if (f->rec[k].seq == from)
            jb_record(b, f->rec[k].type, to, f->buf + f->rec[k].off + sizeof(struct jhead),
                      f->rec[k].bytes);
}

/* Rank 0: the journal at path gets call #from's records again as the next
 * call's, as if the program ran again. Collective. */
static void resume_as_next(const char *path, unsigned long from)
{
    if (g_rank == 0) {
        struct jfile f;
        jfile_load(path, &f);
        struct jbuild b = {NULL, 0, 0};
        jb_put(&b, f.buf, (size_t)f.size);
        jb_copy_call(&b, &f, from, g_calls + 1);
        spill(path, b.p, b.len);
        free(b.p);
        jfile_free(&f);
    }
    ASSERT_OK(dlp_barrier());
}

/* --------------------------------------------------- stderr of rank 0 -- */

static int g_saved_fd = -1;
static char g_capture[1024];

/* Rank 0 sends fd 2 to a file until stderr_end(); others do nothing. */
static void stderr_begin(void)
{
    if (g_rank != 0)
        return;
    snprintf(g_capture, sizeof g_capture, "%s/stderr.%ld", g_dir, (long)getpid());
    fflush(stderr);
    g_saved_fd = dup(STDERR_FILENO);
    int fd = open(g_capture, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (g_saved_fd < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0)
        TEST_FAIL("cannot send stderr to %s: %s", g_capture, strerror(errno));
    close(fd);
}

/* What rank 0 wrote meanwhile, shown on stdout (free() it); "" elsewhere. */
static char *stderr_end(void)
{
    if (g_rank != 0)
        return calloc(1, 1);
    fflush(stderr);
    ASSERT_GE(dup2(g_saved_fd, STDERR_FILENO), 0);
    close(g_saved_fd);
    long len;
    char *text = (char *)slurp(g_capture, &len);
    ASSERT_NOT_NULL(text);
    text[len] = '\0';
    unlink(g_capture);
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        int l = nl ? (int)(nl - line) : (int)strlen(line);
        printf("    stderr: %.*s\n", l, line);
        line += l + (nl != NULL);
    }
    fflush(stdout);
    return text;
}

/* ---------------------------------------------------- the call forms -- */

/* The forms of tests/test_forms.h (the range forms too), and one more: dlp_map_begin/next. */
enum { F_MAPNEXT = TEST_ALL_FORMS, F_COUNT };

static const char *form_name(int form)
{
    return form == F_MAPNEXT ? "dlp_map_begin/next" : test_form_name(form);
}

/* The function a journal records for the form. */
static const char *form_func(int form)
{
    return form == F_MAPNEXT ? "dlp_map_begin" : test_form_call(form);
}

/* Which items fail, and how. */
enum kind {
    K_NONE,
    K_SEVEN,   /* i % 7 == 3: body, work, or dlp_loop_fail of the running item */
    K_RESULT,  /* map: on_result fails for i % 11 == 5 */
    K_EARLIER, /* loop form: a thread fails i % 13 == 0 after it took its next item */
    K_FIRST,   /* i % 7 == 3 fail their first run on each rank (retry) */
    K_RAISE    /* the last rank raises SIGTERM in its 20th item */
};

struct ctx {
    int form, kind;
    long n;
    int *runs;     /* [n] runs on this rank (body, work or loop) */
    int *ok;       /* [n] done here: body 0, loop item not failed, on_result 0, received */
    long item_us;  /* every item sleeps this long */
    long stop_after; /* map loop form: dlp_map_end() after this many results (-1: all) */
    long taken;      /* items taken on this rank (atomic) */
};

static void ctx_init(struct ctx *c, int form, int kind, long n)
{
    *c = (struct ctx){.form = form,
                      .kind = kind,
                      .n = n,
                      .runs = calloc((size_t)n + 1, sizeof(int)),
                      .ok = calloc((size_t)n + 1, sizeof(int)),
                      .stop_after = -1};
    ASSERT_TRUE(c->runs && c->ok);
}

static void ctx_free(struct ctx *c)
{
    free(c->runs);
    free(c->ok);
}

/* Run item i here; 1 when it fails. */
static int run_item(struct ctx *c, long i)
{
    if (i < 0 || i >= c->n)
        TEST_FAIL("item %ld handed out, n = %ld", i, c->n);
    int before = __atomic_fetch_add(&c->runs[i], 1, __ATOMIC_RELAXED);
    long k = __atomic_fetch_add(&c->taken, 1, __ATOMIC_RELAXED);
    if (c->item_us > 0)
        test_sleep_us(c->item_us);
    if (c->kind == K_RAISE && g_rank == g_size - 1 && k == 19)
        raise(SIGTERM);
    if (c->kind == K_SEVEN)
        return i % 7 == 3;
    if (c->kind == K_FIRST)
        return i % 7 == 3 && before == 0;
    return 0;
}

static int body(long i, void *vc)
{
    struct ctx *c = vc;
    if (run_item(c, i))
        return 3;
    c->ok[i] = 1;
    return 0;
}

/* The map's body (its on_result marks the item done). */
static int map_body(long i, void *vc)
{
    return run_item(vc, i) ? 4 : 0;
}

static int work(long i, void *vc, dlp_buf *out)
{
    if (run_item(vc, i))
        return 4;
    return dlp_buf_append(out, &i, sizeof i) == DLP_OK ? 0 : 5;
}

static int result_ok(long i, const void *data, size_t len)
{
    long got = -1;
    if (len == sizeof got)
        memcpy(&got, data, sizeof got);
    if (got != i)
        TEST_FAIL("the result of item %ld holds %ld (%zu bytes)", i, got, len);
    return 1;
}

static int on_result(long i, const void *data, size_t len, void *vc)
{
    struct ctx *c = vc;
    result_ok(i, data, len);
    if (c->kind == K_RESULT && i % 11 == 5)
        return 6;
    c->ok[i] = 1;
    return 0;
}

/* A thread's previous item fails after it ended (K_EARLIER). */
static void fail_earlier(struct ctx *c, dlp_loop *loop, long prev)
{
    if (prev < 0 || c->kind != K_EARLIER || prev % 13 != 0)
        return;
    c->ok[prev] = 0;
    ASSERT_OK(dlp_loop_fail(loop, prev, "item %ld failed after it ended", prev));
    if (prev / 13 % 16 == 1) /* 13, 221, 429 ...: let the journal record that first */
        test_sleep_us(150000);
}

/* The loop form under K_EARLIER (the other kinds: test_run_call). */
static int run_loop(struct ctx *c, const dlp_opts *opts)
{
    dlp_opts o = opts ? *opts : (dlp_opts)DLP_OPTS_INIT;
    o.split = test_form_round_robin(c->form) ? DLP_SPLIT_ROUND_ROBIN : DLP_SPLIT_MANAGED;
    dlp_loop *loop = NULL;
    int rc = dlp_loop_begin(&loop, c->n, &o);
    if (rc != DLP_OK)
        return rc;
#pragma omp parallel
    {
        long i, prev = -1;
        while (dlp_loop_next(loop, &i)) {
            fail_earlier(c, loop, prev);
            prev = -1;
            if (run_item(c, i)) {
                ASSERT_OK(dlp_loop_fail(loop, i, "item %ld refused", i));
            } else {
                c->ok[i] = 1;
                prev = i;
            }
        }
        fail_earlier(c, loop, prev);
    }
    return dlp_loop_end(&loop);
}

/* The range form (dlp_loop_next_range): K_EARLIER fails the last item
 * i % 13 == 0 of the thread's previous batch after it took the next. */
static int run_range(struct ctx *c, const dlp_opts *opts)
{
    dlp_opts o = opts ? *opts : (dlp_opts)DLP_OPTS_INIT;
    o.split = test_forms[c->form].split;
    dlp_loop *loop = NULL;
    int rc = dlp_loop_begin(&loop, c->n, &o);
    if (rc != DLP_OK)
        return rc;
#pragma omp parallel
    {
        long b, e, s, prev = -1;
        while (dlp_loop_next_range(loop, &b, &e, &s)) {
            fail_earlier(c, loop, prev);
            prev = -1;
            for (long i = b; i < e; i += s) {
                if (run_item(c, i)) {
                    ASSERT_OK(dlp_loop_fail(loop, i, "item %ld refused", i));
                } else {
                    c->ok[i] = 1;
                    prev = i % 13 == 0 ? i : prev;
                }
            }
        }
        fail_earlier(c, loop, prev);
    }
    return dlp_loop_end(&loop);
}

static int run_map_loop(struct ctx *c, const dlp_opts *opts)
{
    dlp_map *map = NULL;
    int rc = dlp_map_begin(&map, c->n, work, c, opts);
    if (rc != DLP_OK)
        return rc;
    long i, got = 0;
    const void *data;
    size_t len;
    while (dlp_map_next(map, &i, &data, &len)) {
        result_ok(i, data, len);
        c->ok[i] = 1;
        if (++got == c->stop_after)
            break;
    }
    return dlp_map_end(&map);
}

static int run_form(struct ctx *c, const dlp_opts *o)
{
    if (c->form == F_MAPNEXT)
        return run_map_loop(c, o);
    if (test_forms[c->form].loop == 2)
        return run_range(c, o);
    if (test_form_loop(c->form) && c->kind == K_EARLIER)
        return run_loop(c, o);
    struct test_call call = {c->form, c->n, c->form == TEST_MAP ? map_body : body, c, o, 0,
                             on_result};
    return test_run_call(&call);
}

/* Sums over the ranks of runs[] and ok[] (every rank gets them). */
static void sum_over_ranks(const struct ctx *c, int *runs, int *ok)
{
    ASSERT_MPI(MPI_Allreduce(c->runs, runs, (int)c->n, MPI_INT, MPI_SUM, dlp_comm()));
    ASSERT_MPI(MPI_Allreduce(c->ok, ok, (int)c->n, MPI_INT, MPI_SUM, dlp_comm()));
}

/* ------------------------------------------------- a journaled call -- */

/* One call with the journal at path, which holds `before` (done items,
 * [n], the same on every rank) for it. Checks the status, which items ran,
 * the resume line (and want_err, when set, in rank 0's stderr), and that
 * the journal then holds exactly before plus the items done in this call.
 * Returns that set in after[n] on every rank. all_out: every item not done
 * before was handed out (no abort). */
static void journaled_call(struct ctx *c, const dlp_opts *opts, const char *path,
                           const char *before, int want, int all_out, char *after,
                           const char *want_err)
{
    long n = c->n, done_before = 0;
    for (long i = 0; i < n; i++)
        done_before += before[i] != 0;
    unsigned long seq = g_calls + 1;
    stderr_begin();
    double t0 = test_now();
    int rc = run_form(c, opts);
    double dt = test_now() - t0;
    char *err = stderr_end();
    g_calls++;
    if (rc != want)
        TEST_FAIL("%s returned %d (%s), expected %d (%s); dlp_last_error(): %s",
                  form_name(c->form), rc, dlp_strerror(rc), want, dlp_strerror(want),
                  dlp_last_error());
    int *runs = malloc(sizeof(int) * (size_t)n + 1), *ok = malloc(sizeof(int) * (size_t)n + 1);
    ASSERT_TRUE(runs && ok);
    sum_over_ranks(c, runs, ok);
    long ran = 0, oks = 0;
    for (long i = 0; i < n; i++) {
        /* retried items run again, at most once per rank and once more */
        int most = before[i] ? 0 : c->kind == K_FIRST && i % 7 == 3 ? g_size + 1 : 1;
        int least = before[i] || !all_out ? 0 : 1;
        if (runs[i] > most || runs[i] < least)
            TEST_FAIL("item %ld ran %d times, expected %d..%d (done before: %s, %ld of %ld "
                      "items were)",
                      i, runs[i], least, most, before[i] ? "yes" : "no", done_before, n);
        if (ok[i] && before[i])
            TEST_FAIL("item %ld was done before and again", i);
        ran += runs[i];
        oks += ok[i] != 0;
        after[i] = (char)(before[i] || ok[i]);
    }
    if (g_rank == 0) {
        char line[1400];
        snprintf(line, sizeof line,
                 "dlp_mpi: %s: journal %s: call #%lu resumes: %ld of %ld items are done, %ld "
                 "to run\n",
                 form_func(c->form), path, seq, done_before, n, n - done_before);
        if (done_before > 0)
            ASSERT_STR_CONTAINS(err, line);
        else if (strstr(err, "resumes"))
            TEST_FAIL("a resume line with nothing done before: %s", err);
        if (want_err)
            ASSERT_STR_CONTAINS(err, want_err);
        else if (strstr(err, "dropped"))
            TEST_FAIL("rank 0 dropped part of the journal: %s", err);

        struct jfile f;
        jfile_load(path, &f);
        char *done = malloc((size_t)n + 1);
        ASSERT_NOT_NULL(done);
        struct jcall jc;
        jfile_call(&f, seq, n, done, &jc);
        ASSERT_EQ(jc.calls, 1);
        ASSERT_EQ(jc.n, n);
        if (strcmp(jc.func, form_func(c->form)) != 0)
            TEST_FAIL("the journal records call #%lu as \"%s\", the call is %s", seq, jc.func,
                      form_func(c->form));
        for (long i = 0; i < n; i++)
            if (done[i] != after[i])
                TEST_FAIL("item %ld: the journal says %s, expected %s (done before: %s; done "
                          "in the call: %s; the journal holds %ld done, %ld expected)",
                          i, done[i] ? "done" : "not done", after[i] ? "done" : "not done",
                          before[i] ? "yes" : "no", ok[i] ? "yes" : "no", jc.done,
                          done_before + oks);
        ASSERT_EQ(jc.again, 0);
        printf("    call #%lu (%s, n = %ld) returned %s in %.3f s: %ld done before, %ld runs, "
               "%ld done now; the journal holds %ld done in %ld DONE and %ld FAILED records\n",
               seq, form_name(c->form), n, dlp_strerror(rc), dt, done_before, ran, oks, jc.done,
               jc.done_recs, jc.failed_recs);
        fflush(stdout);
        free(done);
        jfile_free(&f);
    }
    free(err);
    free(runs);
    free(ok);
}

static char *zeros(long n)
{
    char *z = calloc((size_t)n + 1, 1);
    ASSERT_NOT_NULL(z);
    return z;
}

/* Rank 0 makes dir empty (creating it); every rank waits. */
static void empty_dir(void)
{
    if (g_rank == 0) {
        if (mkdir(g_dir, 0755) != 0 && errno != EEXIST)
            TEST_FAIL("cannot create %s: %s", g_dir, strerror(errno));
        DIR *d = opendir(g_dir);
        if (!d)
            TEST_FAIL("cannot read %s: %s", g_dir, strerror(errno));
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlink(path_in_dir(e->d_name));
        closedir(d);
    }
    ASSERT_OK(dlp_barrier());
}

static dlp_opts journal_opts(const char *path, int on_error)
{
    dlp_opts o = DLP_OPTS_INIT;
    o.journal = path;
    o.on_error = on_error;
    return o;
}

/* ------------------------------------------------------------- cases -- */

/* Start the case "<what>: <form>"; its journal is DIR/<prefix>_<form>.jnl. */
static const char *form_case(int form, const char *what, const char *prefix)
{
    static char name[300];
    char file[64];
    snprintf(name, sizeof name, "%s: %s", what, form_name(form));
    test_case(name);
    snprintf(file, sizeof file, "%s_%d.jnl", prefix, form);
    return path_in_dir(file);
}

/* A fresh journal records every item once; the resumed call runs none. */
static void case_fresh(void)
{
    for (int f = 0; f < F_COUNT; f++) {
        const char *path = form_case(f, "a fresh journal, then resumed", "fresh");
        long n = 500;
        dlp_opts o = journal_opts(path, 0);
        struct ctx c;
        char *none = zeros(n), *after = zeros(n), *again = zeros(n);
        ctx_init(&c, f, K_NONE, n);
        journaled_call(&c, &o, path, none, DLP_OK, 1, after, NULL);
        ctx_free(&c);
        resume_as_next(path, g_calls);
        ctx_init(&c, f, K_NONE, n);
        journaled_call(&c, &o, path, after, DLP_OK, 1, again, NULL);
        ctx_free(&c);
        free(none);
        free(after);
        free(again);
    }
}

/* The test's own journal for call #seq of n = 600: run 1: done [0,100)
 * and [250,300), 50 failed, 260 done then failed (within a run a failure
 * wins), 400 failed; run 2: 50 done again, 599 done, 400 failed again.
 * 150 items are done. */
static char *handmade(struct jbuild *b, unsigned long seq, const char *func)
{
    jb_start(b);
    jb_call(b, seq - 1, 600, "dlp_split_managed"); /* another call: ignored */
    jb_done(b, seq - 1, 0, 600);
    jb_call(b, seq, 600, func);
    jb_run(b, seq);
    jb_done(b, seq, 0, 100);
    jb_failed(b, seq, 50);
    jb_done(b, seq, 250, 300);
    jb_failed(b, seq, 260);
    jb_failed(b, seq, 400);
    jb_done(b, seq, 260, 261); /* the same run: the failure still wins */
    jb_run(b, seq);
    jb_done(b, seq, 50, 51);
    jb_failed(b, seq, 400);
    jb_done(b, seq, 599, 600);
    jb_done(b, seq + 1, 300, 400); /* a later call: ignored */
    char *before = zeros(600);
    for (long i = 0; i < 600; i++)
        before[i] = (char)(i < 100 || (i >= 250 && i < 300 && i != 260) || i == 599);
    return before;
}

static void case_handmade(void)
{
    for (int f = 0; f < F_COUNT; f++) {
        const char *path = form_case(f, "a journal written by the test", "handmade");
        struct jbuild b;
        char *before = handmade(&b, g_calls + 1, form_func(f)), *after = zeros(600);
        long count = 0;
        for (long i = 0; i < 600; i++)
            count += before[i];
        ASSERT_EQ(count, 150);
        if (g_rank == 0) {
            spill(path, b.p, b.len);
            /* the test reads its own file as it expects the library to */
            struct jfile jf;
            struct jcall jc;
            char *done = zeros(600);
            jfile_load(path, &jf);
            jfile_call(&jf, g_calls + 1, 600, done, &jc);
            ASSERT_EQ(jc.done, 150);
            ASSERT_BYTES_EQ(done, before, 600);
            free(done);
            jfile_free(&jf);
        }
        free(b.p);
        ASSERT_OK(dlp_barrier());
        dlp_opts o = journal_opts(path, 0);
        struct ctx c;
        ctx_init(&c, f, K_NONE, 600);
        c.item_us = f == TEST_MANAGED ? 300 : 0;
        journaled_call(&c, &o, path, before, DLP_OK, 1, after, NULL);
        ctx_free(&c);
        free(before);
        free(after);
    }
}

/* DLP_JOURNAL; opts.journal wins; the other ranks' paths are not used. */
static void case_environment(void)
{
    test_case("DLP_JOURNAL names the journal (opts NULL)");
    const char *env_path = path_in_dir("env.jnl");
    setenv("DLP_JOURNAL", env_path, 1);
    long n = 300;
    char *none = zeros(n), *after = zeros(n);
    struct ctx c;
    ctx_init(&c, TEST_ROUND_ROBIN, K_NONE, n);
    journaled_call(&c, NULL, env_path, none, DLP_OK, 1, after, NULL);
    ctx_free(&c);
    long env_len = 0;
    free(slurp(env_path, &env_len));

    test_case("opts.journal wins over DLP_JOURNAL");
    const char *opt_path = path_in_dir("opts.jnl");
    dlp_opts o = journal_opts(opt_path, 0);
    ctx_init(&c, TEST_MANAGED, K_NONE, n);
    journaled_call(&c, &o, opt_path, none, DLP_OK, 1, after, NULL);
    ctx_free(&c);
    long env_len2 = 0;
    free(slurp(env_path, &env_len2));
    if (g_rank == 0)
        ASSERT_EQ(env_len2, env_len);
    unsetenv("DLP_JOURNAL");

    test_case("only the master's path is used (other ranks pass another one)");
    char other[64];
    snprintf(other, sizeof other, "other_rank_%d.jnl", g_rank);
    const char *mine = g_rank == 0 ? path_in_dir("master.jnl") : path_in_dir(other);
    o = journal_opts(mine, 0);
    ctx_init(&c, TEST_LOOP_MANAGED, K_NONE, n);
    journaled_call(&c, &o, path_in_dir("master.jnl"), none, DLP_OK, 1, after, NULL);
    ctx_free(&c);
    long len = 0;
    free(slurp(mine, &len));
    if (g_rank != 0 && len != -1)
        TEST_FAIL("rank %d's journal path %s was created (%ld bytes)", g_rank, mine, len);
    free(none);
    free(after);
}

/* A call refused before any item ran: the status on every rank, text in
 * the message of rank `where` (-1: of every rank), the journal file
 * unchanged (or still missing), the call number not used. */
static void refused(int form, long n, const dlp_opts *o, const char *path, int want,
                    const char *text, int where)
{
    long len0 = 0, len1 = 0;
    unsigned char *was = g_rank == 0 && path ? slurp(path, &len0) : NULL;
    struct ctx c;
    ctx_init(&c, form, K_NONE, n);
    stderr_begin();
    int rc = run_form(&c, o);
    free(stderr_end());
    if (rc != want)
        TEST_FAIL("%s returned %d (%s), expected %d (%s); dlp_last_error(): %s",
                  form_name(form), rc, dlp_strerror(rc), want, dlp_strerror(want),
                  dlp_last_error());
    if (g_rank == where || where < 0)
        ASSERT_STR_CONTAINS(dlp_last_error(), text);
    int ran = 0;
    for (long i = 0; i < n; i++)
        ran += c.runs[i];
    ASSERT_EQ(ran, 0);
    if (g_rank == 0) {
        printf("    refused: %s\n", dlp_last_error());
        fflush(stdout);
    }
    if (g_rank == 0 && path) {
        unsigned char *now = slurp(path, &len1);
        ASSERT_EQ(len1, len0);
        if (len0 > 0)
            ASSERT_BYTES_EQ(now, was, len0);
        free(now);
    }
    free(was);
    ctx_free(&c);
}

/* Rank 0 writes bytes as the journal at path. */
static void put_file(const char *path, const void *data, size_t len)
{
    if (g_rank == 0)
        spill(path, data, len);
    ASSERT_OK(dlp_barrier());
}

/* A journal of call #seq, n = 600, three DONE records of 10 items; *off
 * gets the offsets of the records (CALL, DONE, DONE, DONE) and the end. */
static void three_records(struct jbuild *b, unsigned long seq, const char *func, long off[5])
{
    jb_start(b);
    off[0] = (long)b->len;
    jb_call(b, seq, 600, func);
    for (int k = 0; k < 3; k++) {
        off[k + 1] = (long)b->len;
        jb_done(b, seq, 10L * k, 10L * k + 10);
    }
    off[4] = (long)b->len;
}

/* three_records() with the length of the middle DONE record damaged (to_end:
 * set to reach the end of the file; else one bit flipped, + 128 KiB): refused,
 * the message says what the record looks like and where the valid record
 * after it is, the file is left as it was. */
static void length_refused(const char *what, const char *path, const dlp_opts *o, int to_end,
                           const char *looks)
{
    struct jbuild b;
    long off[5];
    char text[600];
    test_case(what);
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    uint64_t len;
    memcpy(&len, b.p + off[2] + 16, sizeof len);
    len = to_end ? (uint64_t)(off[4] - off[2] - 32) : len ^ ((uint64_t)2 << 16);
    memcpy(b.p + off[2] + 16, &len, sizeof len);
    put_file(path, b.p, b.len);
    snprintf(text, sizeof text,
             "journal %s is corrupted: the record at byte %ld looks like %s, but a valid record "
             "follows at byte %ld of %ld",
             path, off[2], looks, off[3], off[4]);
    refused(TEST_MANAGED, 600, o, path, DLP_ERR_JOURNAL, text, 0);
    free(b.p);
}

static void case_refused(void)
{
    const char *path = path_in_dir("refused.jnl");
    dlp_opts o = journal_opts(path, 0);
    struct jbuild b;
    char text[512];
    long off[5];

    test_case("refused: the journal recorded this call with another n");
    jb_start(&b);
    jb_call(&b, g_calls + 1, 601, "dlp_split_managed");
    jb_done(&b, g_calls + 1, 0, 10);
    put_file(path, b.p, b.len);
    snprintf(text, sizeof text,
             "journal %s recorded call #%lu as dlp_split_managed with n = 601; this call is "
             "dlp_split_managed with n = 600",
             path, g_calls + 1);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    if (g_size > 1 && g_rank != 0)
        ASSERT_STR_CONTAINS(dlp_last_error(), "rank 0");
    free(b.p);

    test_case("refused: the journal recorded this call as another function");
    jb_start(&b);
    jb_call(&b, g_calls + 1, 600, "dlp_split_round_robin");
    put_file(path, b.p, b.len);
    snprintf(text, sizeof text,
             "recorded call #%lu as dlp_split_round_robin with n = 600; this call is "
             "dlp_map_unordered with n = 600",
             g_calls + 1);
    refused(TEST_MAP, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    snprintf(text, sizeof text, "this call is dlp_loop_begin with n = 600");
    refused(TEST_LOOP_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    free(b.p);

    test_case("refused: not a journal");
    put_file(path, "hello, world\n", 13);
    snprintf(text, sizeof text, "%s is not a dlp_mpi journal", path);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    put_file(path, "dlpX", 4);
    refused(TEST_ROUND_ROBIN, 600, &o, path, DLP_ERR_JOURNAL, text, 0);

    test_case("refused: a record in the middle has a bad checksum");
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    b.p[off[2] + 30] ^= 0x01; /* the payload of the middle DONE */
    put_file(path, b.p, b.len);
    snprintf(text, sizeof text,
             "journal %s is corrupted: bad checksum in the record at byte %ld (%ld more bytes "
             "follow it)",
             path, off[2], off[4] - off[3]);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    free(b.p);

    /* A damaged length field is not a torn tail when a valid record follows
     * (it used to be taken for one: the file was cut there). */
    length_refused("refused: a bit flip in the length of a record in the middle", path, &o, 0,
                   "a record cut short");
    length_refused("refused: the length of a record in the middle reaches the end of the file",
                   path, &o, 1, "a last record with a bad checksum");

    test_case("refused: no valid record header in the middle");
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    b.p[off[2]] ^= 0xff; /* the record magic */
    put_file(path, b.p, b.len);
    snprintf(text, sizeof text, "journal %s is corrupted: no valid record at byte %ld of %ld",
             path, off[2], off[4]);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    free(b.p);

    test_case("refused: done items before the call record");
    jb_start(&b);
    jb_done(&b, g_calls + 1, 0, 10);
    jb_call(&b, g_calls + 1, 600, "dlp_split_managed");
    put_file(path, b.p, b.len);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, "before its call record", 0);
    free(b.p);

    test_case("refused: a done range beyond n");
    jb_start(&b);
    jb_call(&b, g_calls + 1, 600, "dlp_split_managed");
    jb_done(&b, g_calls + 1, 590, 700);
    put_file(path, b.p, b.len);
    snprintf(text, sizeof text, "done range [590, 700) of call #%lu with n = 600", g_calls + 1);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    free(b.p);

    test_case("refused: the call recorded twice");
    jb_start(&b);
    jb_call(&b, g_calls + 1, 600, "dlp_split_managed");
    jb_call(&b, g_calls + 1, 600, "dlp_split_managed");
    put_file(path, b.p, b.len);
    snprintf(text, sizeof text, "call #%lu is recorded twice", g_calls + 1);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    free(b.p);

    test_case("refused: results or collector with a journal");
    if (g_rank == 0)
        unlink(path);
    ASSERT_OK(dlp_barrier());
    dlp_results *res = NULL;
    ASSERT_OK(dlp_results_create(&res, 600, sizeof(long)));
    dlp_opts r = o;
    r.results = res;
    refused(TEST_MANAGED, 600, &r, path, DLP_ERR_OPTION, "cannot be combined with opts.results", -1);
    setenv("DLP_JOURNAL", path, 1);
    dlp_opts r2 = DLP_OPTS_INIT;
    r2.results = res;
    refused(TEST_ROUND_ROBIN, 600, &r2, path, DLP_ERR_OPTION, "cannot be combined with opts.results", -1);
    unsetenv("DLP_JOURNAL");
    ASSERT_OK(dlp_results_destroy(&res));
    dlp_collector *col = NULL;
    ASSERT_OK(dlp_collector_create(&col));
    r = o;
    r.collector = col;
    refused(TEST_LOOP_MANAGED, 600, &r, path, DLP_ERR_OPTION, "cannot be combined with opts.collector", -1);
    ASSERT_OK(dlp_collector_destroy(&col));
    long len = 0;
    free(slurp(path, &len));
    ASSERT_EQ(len, -1); /* not even created */

    test_case("refused: an empty path, a bad DLP_JOURNAL_SYNC, a missing directory");
    r = journal_opts("", 0);
    refused(TEST_MANAGED, 600, &r, NULL, DLP_ERR_OPTION, "empty path", -1);
    setenv("DLP_JOURNAL_SYNC", "abc", 1);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_OPTION, "DLP_JOURNAL_SYNC", -1);
    setenv("DLP_JOURNAL_SYNC", "-1", 1);
    refused(TEST_MAP, 600, &o, path, DLP_ERR_OPTION, "DLP_JOURNAL_SYNC", -1);
    unsetenv("DLP_JOURNAL_SYNC");
    const char *nowhere = path_in_dir("no/such/dir.jnl");
    r = journal_opts(nowhere, 0);
    refused(TEST_MANAGED, 600, &r, NULL, DLP_ERR_SYSTEM, "cannot open the journal", 0);

    if (g_size > 1) {
        test_case("refused: a journal on the last rank only");
        dlp_opts some = journal_opts(g_rank == g_size - 1 ? path : NULL, 0);
        refused(TEST_MANAGED, 600, &some, NULL, DLP_ERR_MISMATCH, "journal", -1);
        ASSERT_EQ(dlp_failures(NULL), 0);
    }
}

/* A child process holds a write lock on path until *release is closed. */
static pid_t lock_in_child(const char *path, int *release)
{
    int ready[2], hold[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(hold), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        int fd = open(path, O_RDWR);
        struct flock lk;
        memset(&lk, 0, sizeof lk);
        lk.l_type = F_WRLCK;
        lk.l_whence = SEEK_SET;
        char said = fd >= 0 && fcntl(fd, F_SETLK, &lk) == 0 ? 'y' : 'n';
        char wait_for;
        if (write(ready[1], &said, 1) == 1)
            while (read(hold[0], &wait_for, 1) > 0)
                ;
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char said = 0;
    ASSERT_EQ(read(ready[0], &said, 1), 1);
    close(ready[0]);
    if (said != 'y')
        TEST_FAIL("the child process could not lock %s", path);
    struct flock lk;
    memset(&lk, 0, sizeof lk);
    lk.l_type = F_WRLCK;
    lk.l_whence = SEEK_SET;
    int fd = open(path, O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(fcntl(fd, F_GETLK, &lk), 0);
    close(fd);
    ASSERT_EQ(lk.l_pid, pid);
    *release = hold[1];
    return pid;
}

/* The files a job writes (issue 14, defect 8): the journal is created mode
 * 0600 and never through a symbolic link; a journal another user owns, that
 * its group or others can write, or that is not a regular file is refused
 * (DLP_ERR_JOURNAL, the file as it was); DLP_TRACE replaces a symbolic link
 * planted at its path instead of writing through it. */
static void case_files(void)
{
    char text[600];
    const char *path = path_in_dir("files.jnl");
    const char *target = path_in_dir("files.target");
    dlp_opts o = journal_opts(path, 0);
    struct jbuild b;
    long off[5];

    test_case("files: a new journal is created mode 0600");
    if (g_rank == 0) {
        unlink(path);
        umask(022);
    }
    ASSERT_OK(dlp_barrier());
    struct ctx c;
    ctx_init(&c, TEST_MANAGED, K_NONE, 50);
    ASSERT_OK(run_form(&c, &o));
    ctx_free(&c);
    g_calls++;
    if (g_rank == 0) {
        struct stat st;
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ((int)(st.st_mode & 0777), 0600);
    }

    test_case("files: a dangling symbolic link at the journal's path is not followed");
    if (g_rank == 0) {
        unlink(path);
        unlink(target);
        ASSERT_EQ(symlink(target, path), 0);
    }
    ASSERT_OK(dlp_barrier());
    snprintf(text, sizeof text, "the journal %s is a symbolic link: refusing to follow it",
             path);
    refused(TEST_MANAGED, 600, &o, NULL, DLP_ERR_JOURNAL, text, 0);
    if (g_rank == 0) {
        ASSERT_EQ(access(target, F_OK), -1); /* not created through the link */
        unlink(path);
    }

    test_case("files: a journal that others or its group can write is refused");
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    put_file(path, b.p, b.len);
    static const struct {
        int mode;
        const char *who;
    } modes[] = {{0666, "others"}, {0620, "its group"}, {0602, "others"}};
    for (int k = 0; k < 3; k++) {
        if (g_rank == 0)
            ASSERT_EQ(chmod(path, (mode_t)modes[k].mode), 0);
        ASSERT_OK(dlp_barrier());
        snprintf(text, sizeof text,
                 "the journal %s can be written by %s (mode %04o): refusing to trust it", path,
                 modes[k].who, modes[k].mode);
        refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    }

    test_case("files: a journal another user owns is refused");
    int chowned = 1;
    if (g_rank == 0)
        chowned = chmod(path, 0600) == 0 && chown(path, 65534, 65534) == 0;
    ASSERT_MPI(MPI_Bcast(&chowned, 1, MPI_INT, 0, dlp_comm()));
    if (chowned) {
        snprintf(text, sizeof text,
                 "the journal %s belongs to uid 65534, not to this user (uid %ld): refusing to "
                 "trust it",
                 path, (long)geteuid());
        refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    } else if (g_rank == 0) {
        printf("    (not checked: chown to uid 65534 needs root)\n");
    }
    free(b.p);

    test_case("files: a FIFO at the journal's path is refused, without blocking");
    if (g_rank == 0) {
        unlink(path);
        ASSERT_EQ(mkfifo(path, 0600), 0);
    }
    ASSERT_OK(dlp_barrier());
    snprintf(text, sizeof text, "the journal %s is not a regular file", path);
    refused(TEST_MANAGED, 600, &o, NULL, DLP_ERR_JOURNAL, text, 0);
    if (g_rank == 0)
        unlink(path);

    test_case("files: DLP_TRACE replaces a symbolic link planted at its path");
    const char *trace = path_in_dir("files.trace.json");
    if (g_rank == 0) {
        unlink(trace);
        unlink(target);
        ASSERT_EQ(symlink(target, trace), 0);
        setenv("DLP_TRACE", trace, 1);
    }
    ASSERT_OK(dlp_barrier());
    ctx_init(&c, TEST_MANAGED, K_NONE, 50);
    ASSERT_OK(run_form(&c, NULL));
    ctx_free(&c);
    g_calls++;
    if (g_rank == 0) {
        unsetenv("DLP_TRACE");
        struct stat st;
        ASSERT_EQ(lstat(trace, &st), 0);
        ASSERT_TRUE(S_ISREG(st.st_mode));
        ASSERT_EQ(access(target, F_OK), -1);
        long len = 0;
        unsigned char *json = slurp(trace, &len);
        ASSERT_NOT_NULL(json);
        json[len] = '\0';
        ASSERT_STR_CONTAINS((char *)json, "traceEvents");
        free(json);
        /* no temporary file left next to it */
        DIR *d = opendir(g_dir);
        ASSERT_NOT_NULL(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strstr(e->d_name, ".tmp."))
                TEST_FAIL("a temporary file is left next to the trace: %s", e->d_name);
        closedir(d);
        unlink(trace);
    }
    ASSERT_OK(dlp_barrier());
}

static void case_locked(void)
{
    test_case("refused: the journal is locked by another process");
    const char *path = path_in_dir("locked.jnl");
    struct jbuild b;
    long off[5];
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    put_file(path, b.p, b.len);
    free(b.p);
    pid_t child = -1;
    int release = -1;
    if (g_rank == 0)
        child = lock_in_child(path, &release);
    ASSERT_OK(dlp_barrier());
    dlp_opts o = journal_opts(path, 0);
    char text[1200];
    snprintf(text, sizeof text, "cannot lock the journal %s: another process is using it", path);
    refused(TEST_MANAGED, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    refused(F_MAPNEXT, 600, &o, path, DLP_ERR_JOURNAL, text, 0);
    if (g_rank == 0) {
        close(release);
        int status = -1;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        ASSERT_EQ(status, 0);
    }
    ASSERT_OK(dlp_barrier());

    test_case("the same journal once the other process has gone");
    char *before = zeros(600), *after = zeros(600);
    memset(before, 1, 30);
    struct ctx c;
    ctx_init(&c, TEST_MANAGED, K_NONE, 600);
    journaled_call(&c, &o, path, before, DLP_OK, 1, after, NULL);
    ctx_free(&c);
    free(before);
    free(after);
}

/* A torn tail: the journal is `bytes`; the call must drop `dropped` bytes
 * from byte `at` (none: dropped 0) and run the items not in [0, done). */
/* Peak resident memory of this process (KiB), or 0. */
static long peak_rss_kib(void)
{
    long kib = 0;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static void torn_sparse(const char *what, const unsigned char *bytes, long len, long sparse,
                        long at, long dropped, const char *why, long done)
{
    test_case(what);
    const char *path = path_in_dir("torn.jnl");
    put_file(path, bytes, (size_t)len);
    if (sparse > 0) { /* a hole up to `sparse` bytes */
        if (g_rank == 0 && truncate(path, (off_t)sparse) != 0)
            TEST_FAIL("truncate(%s, %ld): %s", path, sparse, strerror(errno));
        ASSERT_OK(dlp_barrier());
    }
    long peak0 = peak_rss_kib();
    long n = 600;
    char *before = zeros(n), *after = zeros(n), text[1400];
    memset(before, 1, (size_t)done);
    snprintf(text, sizeof text,
             "journal %s: dropped the last %ld bytes (from byte %ld: %s, from an interrupted "
             "write); the items they recorded will run again",
             path, dropped, at, why);
    dlp_opts o = journal_opts(path, 0);
    struct ctx c;
    ctx_init(&c, TEST_MANAGED, K_NONE, n);
    journaled_call(&c, &o, path, before, DLP_OK, 1, after, dropped > 0 ? text : NULL);
    if (sparse > 0) /* read in bounded memory, not the whole file at once */
        ASSERT_RSS_GROWTH(peak_rss_kib() - peak0, 64 * 1024L, "reading a sparse journal (peak)");
    ctx_free(&c);
    free(before);
    free(after);
}

static void torn(const char *what, const unsigned char *bytes, long len, long at, long dropped,
                 const char *why, long done)
{
    torn_sparse(what, bytes, len, 0, at, dropped, why, done);
}

static void case_torn(void)
{
    struct jbuild b;
    long off[5];
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    long last = off[4] - off[3];
    torn("torn: the last record cut short", b.p, off[4] - 5, off[3], last - 5,
         "a record cut short", 20);
    free(b.p);
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    b.p[off[4] - 1] ^= 0x40;
    torn("torn: the last record has a bad checksum", b.p, off[4], off[3], last,
         "a last record with a bad checksum", 20);
    free(b.p);
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    unsigned char *z = calloc(4096, 1);
    ASSERT_NOT_NULL(z);
    jb_put(&b, z, 4096);
    torn("torn: 4096 zero bytes after the last record", b.p, (long)b.len, off[4], 4096,
         "an incomplete record", 30);
    free(z);
    free(b.p);
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    jb_done(&b, g_calls + 1, 30, 40);
    torn("torn: 10 bytes of a record header", b.p, off[4] + 10, off[4], 10,
         "an incomplete record", 30);
    free(b.p);
    three_records(&b, g_calls + 1, "dlp_split_managed", off);
    torn_sparse("torn: a hole of 512 MiB after the last record (a sparse file)", b.p, off[4],
                512L << 20, off[4], (512L << 20) - off[4], "an incomplete record", 30);
    free(b.p);
    torn("torn: 4 bytes of the file magic (a new journal)", (const unsigned char *)"dlpj", 4, 0,
         0, NULL, 0);
    torn("torn: an empty file (a new journal)", (const unsigned char *)"", 0, 0, 0, NULL, 0);
}

/* Call 1 with on_error (want: its status); the rerun must run exactly the
 * items call 1 did not do, a third run nothing. */
static void fail_then_resume(int form, int kind, int on_error, int want, long n, long item_us,
                             long stop_after, const char *what)
{
    char prefix[32], full[200];
    snprintf(prefix, sizeof prefix, "fail_%lu", g_calls + 1);
    snprintf(full, sizeof full, "%s; the reruns run exactly the items not done", what);
    const char *path = form_case(form, full, prefix);
    dlp_opts o = journal_opts(path, on_error);
    if (on_error == DLP_ON_ERROR_RETRY)
        o.retries = g_size;
    char *none = zeros(n), *after = zeros(n), *again = zeros(n), *third = zeros(n);
    struct ctx c;
    ctx_init(&c, form, kind, n);
    c.item_us = item_us;
    c.stop_after = stop_after;
    int all_out = on_error != DLP_ON_ERROR_ABORT && stop_after < 0;
    journaled_call(&c, &o, path, none, want, all_out, after, NULL);
    ctx_free(&c);
    long done = 0;
    for (long i = 0; i < n; i++)
        done += after[i];
    if (want != DLP_OK && done == n)
        TEST_FAIL("the failed call did all %ld items", n);
    dlp_opts plain = journal_opts(path, 0);
    for (int k = 0; k < 2; k++) {
        resume_as_next(path, g_calls);
        ctx_init(&c, form, K_NONE, n);
        journaled_call(&c, &plain, path, k == 0 ? after : again, DLP_OK, 1,
                       k == 0 ? again : third, NULL);
        ctx_free(&c);
    }
    free(none);
    free(after);
    free(again);
    free(third);
}

static void case_failures(void)
{
    enum { SKIP = DLP_ON_ERROR_SKIP, ABORT = DLP_ON_ERROR_ABORT, RETRY = DLP_ON_ERROR_RETRY };
    static const struct {
        int form, kind, on_error, want;
        long n, item_us, stop_after;
        const char *what;
    } cases[] = {
        {TEST_MANAGED, K_SEVEN, SKIP, DLP_SKIPPED, 400, 0, -1, "i % 7 == 3 fail under skip"},
        {TEST_ROUND_ROBIN, K_SEVEN, SKIP, DLP_SKIPPED, 400, 0, -1, "i % 7 == 3 fail under skip"},
        {TEST_LOOP_MANAGED, K_SEVEN, SKIP, DLP_SKIPPED, 400, 0, -1,
         "dlp_loop_fail for the running item i % 7 == 3 under skip"},
        {TEST_MAP, K_SEVEN, SKIP, DLP_SKIPPED, 400, 0, -1, "work fails for i % 7 == 3 under skip"},
        {TEST_MAP, K_RESULT, SKIP, DLP_SKIPPED, 400, 0, -1,
         "on_result fails for i % 11 == 5 under skip"},
        {F_MAPNEXT, K_SEVEN, SKIP, DLP_SKIPPED, 400, 0, -1,
         "work fails for i % 7 == 3 under skip"},
        {TEST_MANAGED, K_SEVEN, ABORT, DLP_ERR_ITEM, 1000, 50, -1, "i % 7 == 3 fail under abort"},
        {TEST_LOOP_ROUND_ROBIN, K_SEVEN, ABORT, DLP_ERR_ITEM, 1000, 50, -1,
         "dlp_loop_fail for the running item under abort"},
        {TEST_MAP, K_RESULT, ABORT, DLP_ERR_ITEM, 1000, 50, -1, "on_result fails under abort"},
        {F_MAPNEXT, K_NONE, 0, DLP_ERR_STATE, 1000, 50, 100, "dlp_map_end() after 100 results"},
        {TEST_MANAGED, K_FIRST, RETRY, DLP_OK, 400, 0, -1, "i % 7 == 3 fail once per rank, retry"},
        {TEST_MAP, K_FIRST, RETRY, DLP_OK, 400, 0, -1, "work fails once per rank, retry"},
        {TEST_RANGE_MANAGED, K_SEVEN, SKIP, DLP_SKIPPED, 4000, 0, -1,
         "dlp_loop_fail for items i % 7 == 3 of a range under skip"},
        {TEST_RANGE_ROUND_ROBIN, K_SEVEN, SKIP, DLP_SKIPPED, 4000, 0, -1,
         "dlp_loop_fail for items i % 7 == 3 of a range under skip"},
        {TEST_RANGE_MANAGED, K_SEVEN, ABORT, DLP_ERR_ITEM, 4000, 0, -1,
         "dlp_loop_fail for an item of a range under abort"},
        {TEST_RANGE_ROUND_ROBIN, K_SEVEN, ABORT, DLP_ERR_ITEM, 4000, 0, -1,
         "dlp_loop_fail for an item of a range under abort"},
        {TEST_RANGE_ROUND_ROBIN, K_EARLIER, SKIP, DLP_SKIPPED, 4000, 0, -1,
         "dlp_loop_fail for an item of the previous range"}};

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        fail_then_resume(cases[k].form, cases[k].kind, cases[k].on_error, cases[k].want,
                         cases[k].n, cases[k].item_us, cases[k].stop_after, cases[k].what);
}

/* --loop-fail-earlier: dlp_loop_fail() for the item a thread finished
 * before the one it runs now (K_EARLIER; some such threads then wait for
 * a journal tick): the journal must not take it for done. */
static void case_loop_fail_earlier(void)
{
    const char *what = "dlp_loop_fail for i % 13 == 0 after the thread took its next item";
    fail_then_resume(TEST_LOOP_ROUND_ROBIN, K_EARLIER, DLP_ON_ERROR_SKIP, DLP_SKIPPED, 1200, 400, -1,
                     what);
    fail_then_resume(TEST_LOOP_MANAGED, K_EARLIER, DLP_ON_ERROR_SKIP, DLP_SKIPPED, 1200, 400, -1,
                     what);
}

/* dlp_loop_fail() with an item outside 0..n-1 (-1, the header's "not about
 * one item"; n; LONG_MIN; LONG_MAX) while the thread runs item 5, under
 * skip: DLP_ERR_ARG each time, the call lists those reports (DLP_SKIPPED)
 * and the journal records every item done, nothing failed, nothing out of
 * range (before the fix, -1 was journaled as ~-1 = "item 0 failed" and n as
 * a negative item). */
static void case_loop_fail_bad_item(void)
{
    test_case("dlp_loop_fail with items -1, n, LONG_MIN, LONG_MAX: DLP_ERR_ARG, not journaled");
    const long n = 64;
    const char *path = path_in_dir("bad_item.jnl");
    dlp_opts o = journal_opts(path, DLP_ON_ERROR_SKIP);
    dlp_loop *loop = NULL;
    ASSERT_OK(dlp_loop_begin(&loop, n, &o));
    const long bad[] = {-1, n, LONG_MIN, LONG_MAX};
    int wrong = 0;
#pragma omp parallel
    {
        long i;
        while (dlp_loop_next(loop, &i))
            if (i == 5)
                for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                    int rc = dlp_loop_fail(loop, bad[k], "bad item %ld", bad[k]);
                    if (rc != DLP_ERR_ARG) {
#pragma omp critical
                        {
                            printf("dlp_loop_fail(loop, %ld) returned %d (%s), expected %d "
                                   "(%s)\n",
                                   bad[k], rc, dlp_strerror(rc), DLP_ERR_ARG,
                                   dlp_strerror(DLP_ERR_ARG));
                            wrong++;
                        }
                    } else {
                        ASSERT_STR_CONTAINS(dlp_last_error(), "is not one of the loop's items");
                    }
                }
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_RC(dlp_loop_end(&loop), DLP_SKIPPED);
    g_calls++;
    ASSERT_STR_CONTAINS(dlp_last_error(), "is not one of the loop's items 0..63");
    if (g_rank == 0) {
        struct jfile f;
        jfile_load(path, &f); /* fails on records out of range */
        char done[64];
        struct jcall jc;
        jfile_call(&f, g_calls, n, done, &jc);
        ASSERT_EQ(jc.done, n);
        ASSERT_EQ(jc.failed_recs, 0);
        jfile_free(&f);
    }
    ASSERT_OK(dlp_barrier());
}

/* Two calls in one journal, n = 0 between them, DLP_JOURNAL_SYNC. */
static void case_sharing(void)
{
    test_case("two calls and a call with n = 0 in one journal, DLP_JOURNAL_SYNC=0");
    const char *path = path_in_dir("shared.jnl");
    dlp_opts o = journal_opts(path, 0);
    setenv("DLP_JOURNAL_SYNC", "0", 1);
    char *none = zeros(300), *after = zeros(300);
    struct ctx c;
    ctx_init(&c, TEST_ROUND_ROBIN, K_NONE, 300);
    journaled_call(&c, &o, path, none, DLP_OK, 1, after, NULL);
    ctx_free(&c);
    unsigned long first = g_calls;
    ctx_init(&c, TEST_MANAGED, K_NONE, 0);
    journaled_call(&c, &o, path, none, DLP_OK, 1, after, NULL);
    ctx_free(&c);
    setenv("DLP_JOURNAL_SYNC", "0.05", 1);
    ctx_init(&c, F_MAPNEXT, K_NONE, 200);
    c.item_us = 2000;
    journaled_call(&c, &o, path, none, DLP_OK, 1, after, NULL);
    ctx_free(&c);
    unsetenv("DLP_JOURNAL_SYNC");
    if (g_rank == 0) { /* the first call is still there, complete */
        struct jfile f;
        struct jcall jc;
        char *done = zeros(300);
        jfile_load(path, &f);
        jfile_call(&f, first, 300, done, &jc);
        ASSERT_EQ(jc.calls, 1);
        ASSERT_EQ(jc.done, 300);
        jfile_free(&f);
        free(done);
    }
    free(none);
    free(after);
}

/* ----------------------------------------------------------- signals -- */

static _Atomic int g_own_handler_calls;
static void own_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_own_handler_calls, 1);
}

/* The dispositions a body sees: 0 default, 1 the program's, 2 another. */
struct seen {
    _Atomic int term, intr, raise_on_last;
};

static int disposition(int sig)
{
    struct sigaction now;
    ASSERT_EQ(sigaction(sig, NULL, &now), 0);
    if (now.sa_handler == SIG_DFL)
        return 0;
    return now.sa_handler == own_handler ? 1 : 2;
}

static int look_body(long i, void *vs)
{
    struct seen *s = vs;
    atomic_store(&s->term, disposition(SIGTERM));
    atomic_store(&s->intr, disposition(SIGINT));
    if (atomic_load(&s->raise_on_last) && g_rank == g_size - 1 && i == g_size - 1)
        raise(SIGTERM);
    return 0;
}

/* A round-robin call of 2 items per rank; the dispositions its bodies saw
 * on this rank, and after it (the same: the library's handler stays from
 * call to call, until dlp_finalize(); test_signals checks the rest). */
static void dispositions(int raise_term, int want_term, int want_int, const char *what)
{
    test_case(what);
    struct seen s;
    atomic_store(&s.term, -1);
    atomic_store(&s.intr, -1);
    atomic_store(&s.raise_on_last, raise_term);
    ASSERT_OK(dlp_split_round_robin(2L * g_size, look_body, &s, NULL));
    g_calls++;
    ASSERT_EQ(atomic_load(&s.term), want_term);
    ASSERT_EQ(atomic_load(&s.intr), want_int);
    ASSERT_EQ(disposition(SIGTERM), want_term);
    ASSERT_EQ(disposition(SIGINT), want_int);
}

static void case_signals(void)
{
    /* the earlier cases' calls installed the library's handler */
    test_case("signals: the library's handler, installed by an earlier call");
    ASSERT_EQ(disposition(SIGTERM), 2);
    ASSERT_EQ(disposition(SIGINT), 2);
    dispositions(0, 2, 2, "signals: the library's handler during a call and after it");
    setenv("DLP_SIGNALS", "0", 1);
    dispositions(0, 2, 2, "signals: DLP_SIGNALS=0, the handler stays (it passes them on)");
    setenv("DLP_SIGNALS", "1", 1);
    dispositions(0, 2, 2, "signals: DLP_SIGNALS=1");
    setenv("DLP_SIGNALS", "maybe", 1);
    test_case("signals: DLP_SIGNALS=maybe is refused");
    refused(TEST_MANAGED, 100, NULL, NULL, DLP_ERR_OPTION, "DLP_SIGNALS", -1);
    unsetenv("DLP_SIGNALS");

    /* a handler the program installs after a call wins; putting back the
     * disposition it replaced hands SIGTERM back to the library */
    struct sigaction own, library;
    memset(&own, 0, sizeof own);
    own.sa_handler = own_handler;
    sigemptyset(&own.sa_mask);
    ASSERT_EQ(sigaction(SIGTERM, &own, &library), 0);
    dispositions(1, 1, 2, "signals: the program's own SIGTERM handler wins, and gets it");
    ASSERT_EQ(atomic_load(&g_own_handler_calls), g_rank == g_size - 1 ? 1 : 0);
    ASSERT_EQ(sigaction(SIGTERM, &library, NULL), 0);
    dispositions(0, 2, 2, "signals: the library's again after the program put it back");
}

/* Last: SIGTERM raised in a body of the last rank. */
static void case_interrupted(void)
{
    test_case("SIGTERM in the 20th item of the last rank: DLP_ERR_INTERRUPTED everywhere");
    const char *path = path_in_dir("interrupted.jnl");
    long n = 300L * g_size;
    dlp_opts o = journal_opts(path, 0);
    char *none = zeros(n), *after = zeros(n);
    struct ctx c;
    ctx_init(&c, TEST_MANAGED, K_RAISE, n);
    c.item_us = 1000;
    unsigned long seq = g_calls + 1;
    journaled_call(&c, &o, path, none, DLP_ERR_INTERRUPTED, 0, after, NULL);
    ctx_free(&c);
    long done = 0;
    for (long i = 0; i < n; i++)
        done += after[i];
    const char *msg = dlp_last_error();
    char text[1400];
    snprintf(text, sizeof text,
             "interrupted by SIGTERM (on 1 of %d ranks, first rank %d): work stopped after the "
             "running items; %ld of n = %ld items remain",
             g_size, g_size - 1, n - done, n);
    ASSERT_STR_CONTAINS(msg, text);
    snprintf(text, sizeof text, "; the journal %s records the %ld done: run again to resume",
             path, done);
    ASSERT_STR_CONTAINS(msg, text);
    if (done >= n)
        TEST_FAIL("all %ld items were done after SIGTERM in the 20th item of rank %d", n,
                  g_size - 1);
    if (g_rank == 0)
        printf("    call #%lu: %s\n", seq, msg);

    test_case("after SIGTERM: the next call is refused at once");
    double t0 = test_now();
    /* the rank that caught it says so; the others that it refused */
    refused(TEST_MANAGED, n, &o, path, DLP_ERR_INTERRUPTED, "SIGTERM arrived during an earlier call",
            g_size - 1);
    if (g_rank != g_size - 1)
        ASSERT_STR_CONTAINS(dlp_last_error(), "DLP_ERR_INTERRUPTED");
    refused(TEST_MAP, 10, NULL, NULL, DLP_ERR_INTERRUPTED, "SIGTERM arrived during an earlier call",
            g_size - 1);
    double dt = test_now() - t0;
    if (dt > 5)
        TEST_FAIL("two refused calls took %.2f s", dt);
    ASSERT_OK(dlp_barrier());
    free(none);
    free(after);
}

/* ------------------------------------------------------------ --work -- */

struct work_args {
    const char *dir;
    int form, run, calls;
    long n, base, item_us, slow_item, slow_us; /* base: call * n */
    _Atomic int started;
};

static void work_output(struct work_args *w, long i)
{
    char path[1200], line[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(path, sizeof path, "%s/out/%ld", w->dir, w->base + i);
    int len = snprintf(line, sizeof line, "%d %lld.%06ld\n", w->run, (long long)ts.tv_sec,
                       ts.tv_nsec / 1000);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || write(fd, line, (size_t)len) != len)
        TEST_FAIL("cannot append to %s: %s", path, strerror(errno));
    close(fd);
    int was = 0;
    if (atomic_compare_exchange_strong(&w->started, &was, 1)) {
        snprintf(path, sizeof path, "%s/started", w->dir);
        spill(path, "", 0);
    }
}

static void work_sleep(struct work_args *w, long i)
{
    test_sleep_us(w->base + i == w->slow_item ? w->slow_us : w->item_us);
}

static int work_body(long i, void *vw)
{
    work_sleep(vw, i);
    work_output(vw, i);
    return 0;
}

static int work_map(long i, void *vw, dlp_buf *out)
{
    work_sleep(vw, i);
    return dlp_buf_append(out, &i, sizeof i);
}

static int work_result(long i, const void *data, size_t len, void *vw)
{
    result_ok(i, data, len);
    work_output(vw, i);
    return 0;
}

/* The map's work: the master writes the outputs (work_result). */
static int work_map_body(long i, void *vw)
{
    work_sleep(vw, i);
    return 0;
}

static int work_call(struct work_args *w)
{
    if (w->form == F_MAPNEXT) {
        dlp_map *map = NULL;
        int rc = dlp_map_begin(&map, w->n, work_map, w, NULL);
        if (rc != DLP_OK)
            return rc;
        long i;
        const void *data;
        size_t len;
        while (dlp_map_next(map, &i, &data, &len))
            work_result(i, data, len, w);
        return dlp_map_end(&map);
    }
    struct test_call call = {w->form, w->n, w->form == TEST_MAP ? work_map_body : work_body, w,
                             NULL, 0, work_result};
    return test_run_call(&call);
}

static long work_number(const char *arg, const char *prefix)
{
    char *end = NULL;
    long v = strtol(arg + strlen(prefix), &end, 10);
    if (end == arg + strlen(prefix) || (*end != '\0' && *end != ':') || v < 0)
        TEST_FAIL("bad argument \"%s\"", arg);
    return v;
}

static int work_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int form;
    } forms[] = {{"managed", TEST_MANAGED}, {"rr", TEST_ROUND_ROBIN}, {"loop", TEST_LOOP_MANAGED},
                 {"map", TEST_MAP},         {"mapnext", F_MAPNEXT}, {"range", TEST_RANGE_MANAGED}};
    struct work_args w;
    memset(&w, 0, sizeof w);
    w.form = TEST_MANAGED;
    w.calls = 1;
    w.slow_item = -1;
    if (argc < 3)
        TEST_FAIL("usage: test_journal --work DIR [--form=F] [--n=N] [--calls=C] [--item-ms=M] "
                  "[--run=K] [--slow=I:MS]");
    w.dir = argv[2];
    for (int a = 3; a < argc; a++) {
        const char *s = argv[a];
        if (strncmp(s, "--form=", 7) == 0) {
            w.form = -1;
            for (size_t f = 0; f < sizeof forms / sizeof *forms; f++)
                if (strcmp(s + 7, forms[f].name) == 0)
                    w.form = forms[f].form;
            if (w.form < 0)
                TEST_FAIL("unknown form in \"%s\"", s);
        } else if (strncmp(s, "--n=", 4) == 0) {
            w.n = work_number(s, "--n=");
        } else if (strncmp(s, "--item-ms=", 10) == 0) {
            w.item_us = 1000 * work_number(s, "--item-ms=");
        } else if (strncmp(s, "--run=", 6) == 0) {
            w.run = (int)work_number(s, "--run=");
        } else if (strncmp(s, "--calls=", 8) == 0) {
            w.calls = (int)work_number(s, "--calls=");
        } else if (strncmp(s, "--slow=", 7) == 0 && strchr(s, ':')) {
            w.slow_item = work_number(s, "--slow=");
            w.slow_us = 1000 * work_number(strchr(s, ':'), ":");
        } else {
            TEST_FAIL("unknown argument \"%s\"", s);
        }
    }
    if (!getenv("DLP_JOURNAL"))
        TEST_FAIL("--work needs DLP_JOURNAL");
    char path[1200], tmp[1300], pid[300];
    /* hydra may drop what a rank wrote just before the job was aborted */
    snprintf(path, sizeof path, "%s/rank.%d.%d", w.dir, w.run, g_rank);
    int out = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
        TEST_FAIL("cannot write %s: %s", path, strerror(errno));
    close(out);
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(path, sizeof path, "%s/pid.%d", w.dir, g_rank);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* "<pid> <host>": on separate hosts a pid names a process of its host */
    char host[256] = "?";
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "?");
    int len = snprintf(pid, sizeof pid, "%ld %s\n", (long)getpid(), host);
    spill(tmp, pid, (size_t)len);
    ASSERT_EQ(rename(tmp, path), 0);
    ASSERT_OK(dlp_barrier());
    int rc = DLP_OK;
    for (int call = 0; call < w.calls && rc == DLP_OK; call++) {
        double t0 = test_now();
        w.base = call * w.n;
        rc = work_call(&w);
        if (g_rank == 0) {
            printf("work: run %d: call #%d, %s of n = %ld, returned %s after %.3f s\n", w.run,
                   call + 1, form_func(w.form), w.n, dlp_strerror(rc), test_now() - t0);
            if (rc != DLP_OK)
                fprintf(stderr, "work: run %d: %s\n", w.run, dlp_last_error());
        }
        fflush(stdout);
        fflush(stderr);
    }
    if (rc == DLP_ERR_INTERRUPTED) {
        double t1 = test_now();
        int again = dlp_split_managed(w.n, work_body, &w, NULL);
        double dt = test_now() - t1;
        if (g_rank == 0)
            printf("work: a later call returned %s after %.3f s\n", dlp_strerror(again), dt);
        if (again != DLP_ERR_INTERRUPTED || dt > 2)
            TEST_FAIL("the call after the interrupted one returned %s after %.3f s",
                      dlp_strerror(again), dt);
    }
    fflush(stdout);
    ASSERT_OK(dlp_finalize());
    /* hydra's own status after it forwarded a signal is not the ranks' */
    int status = rc == DLP_OK ? 0 : rc == DLP_ERR_INTERRUPTED ? 3 : 4;
    snprintf(path, sizeof path, "%s/exit.%d", w.dir, g_rank);
    len = snprintf(pid, sizeof pid, "%d\n", status);
    spill(path, pid, (size_t)len);
    return status;
}

/* ------------------------------------------------------------- main -- */

/* Run a part of the cases; rank 0 says how long it took. */
static void timed(void (*part)(void), const char *what)
{
    double t = test_now();
    part();
    if (g_rank == 0)
        printf("  -- %s: %.2f s\n", what, test_now() - t);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int work = argc >= 2 && strcmp(argv[1], "--work") == 0;
    if (work) /* a job of tests/journal_kill.sh: its knobs are on purpose */
        unsetenv("DLP_ON_ERROR");
    else
        test_clear_knobs();
    test_init(&argc, &argv);
    if (work)
        return work_main(argc, argv);
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--loop-fail-earlier") != 0))
        TEST_FAIL("usage: test_journal DIR [--loop-fail-earlier], or test_journal --work DIR "
                  "...");
    g_dir = argv[1];
    empty_dir();
    double t0 = test_now();
    if (argc == 3) {
        case_loop_fail_earlier();
        ASSERT_OK(dlp_finalize());
        if (g_rank == 0)
            printf("test_journal --loop-fail-earlier: passed in %.1f s\n", test_now() - t0);
        return 0;
    }
    timed(case_fresh, "fresh journals");
    timed(case_handmade, "journals written by the test");
    timed(case_environment, "DLP_JOURNAL");
    timed(case_refused, "refused journals");
    timed(case_locked, "a locked journal");
    timed(case_files, "the files a job writes");
    timed(case_torn, "torn tails");
    timed(case_failures, "failed items");
    timed(case_loop_fail_bad_item, "dlp_loop_fail with a bad item");
    timed(case_sharing, "one journal, several calls");
    timed(case_signals, "signal dispositions");
    timed(case_interrupted, "SIGTERM in a body (last)");
    return test_end("test_journal");
}
