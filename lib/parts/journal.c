/* The journal of a parallel call (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doorbell.h"
#include "error.h"
#include "fatal.h"
#include "journal_file.h"
#include "runtime.h"
#include "tags.h"
#include "wait.h"

/* Ranges per message of a rank's journal thread. */
#define MSG_RANGES ((long)1 << 22)

/* One record in one write (O_APPEND): a kill cuts it short at worst. */
static int write_record(struct dlp__journal *J, uint32_t type, const void *payload, size_t bytes)
{
    struct dlp__jrec_head h = {DLP__JREC_MAGIC, type, J->seq, bytes};
    size_t total = sizeof h + bytes + sizeof(uint64_t);
    char *buf = malloc(total);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(buf, &h, sizeof h);
    if (bytes)
        memcpy(buf + sizeof h, payload, bytes);
    uint64_t check = dlp__fnv1a(DLP__FNV_SEED, buf, sizeof h + bytes);
    memcpy(buf + sizeof h + bytes, &check, sizeof check);
    int rc = dlp__write_all(J->fd, buf, total);
    free(buf);
    return rc;
}

/* A journal says which items to skip: only a regular file of this user
 * that nobody else can write is trusted. */
static int trusted(struct dlp__journal *J, const char *func)
{
    struct stat st;
    if (fstat(J->fd, &st) != 0)
        return dlp__fail(DLP_ERR_SYSTEM, func, "journal %s: %s", J->path,
                         DLP__ERRNO_TEXT(errno));
    if (!S_ISREG(st.st_mode))
        return dlp__fail(DLP_ERR_JOURNAL, func,
                         "the journal %s is not a regular file: refusing to use it", J->path);
    if (st.st_uid != geteuid())
        return dlp__fail(DLP_ERR_JOURNAL, func,
                         "the journal %s belongs to uid %ld, not to this user (uid %ld): "
                         "refusing to trust it",
                         J->path, (long)st.st_uid, (long)geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return dlp__fail(DLP_ERR_JOURNAL, func,
                         "the journal %s can be written by %s (mode %04o): refusing to trust "
                         "it (chmod go-w %s)",
                         J->path, st.st_mode & S_IWOTH ? "others" : "its group",
                         (unsigned)(st.st_mode & 07777), J->path);
    /* O_NONBLOCK was for the open only (a FIFO planted at the path) */
    int fl = fcntl(J->fd, F_GETFL);
    if (fl < 0 || fcntl(J->fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        return dlp__fail(DLP_ERR_SYSTEM, func, "journal %s: %s", J->path,
                         DLP__ERRNO_TEXT(errno));
    return DLP_OK;
}

int dlp__journal_open(struct dlp__journal *J, const char *path, double sync, unsigned long seq,
                      long n, const char *func)
{
    memset(J, 0, sizeof *J);
    pthread_mutex_init(&J->lock, NULL);
    J->path = path;
    J->seq = seq;
    J->n = n;
    J->sync = sync;
    /* 0600: nobody else can even read-lock it; never through a symlink */
    J->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (J->fd < 0 && errno == ELOOP)
        return dlp__fail(DLP_ERR_JOURNAL, func,
                         "the journal %s is a symbolic link: refusing to follow it (name the "
                         "file itself)",
                         path);
    if (J->fd < 0)
        return dlp__fail(DLP_ERR_SYSTEM, func, "cannot open the journal %s: %s", path,
                         DLP__ERRNO_TEXT(errno));
    int rc = trusted(J, func);
    if (rc != DLP_OK) {
        close(J->fd);
        J->fd = -1;
        return rc;
    }
    struct flock lk;
    memset(&lk, 0, sizeof lk);
    lk.l_type = F_WRLCK;
    lk.l_whence = SEEK_SET;
    if (fcntl(J->fd, F_SETLK, &lk) != 0) {
        int e = errno;
        close(J->fd);
        J->fd = -1;
        return dlp__fail(e == EACCES || e == EAGAIN ? DLP_ERR_JOURNAL : DLP_ERR_SYSTEM, func,
                         "cannot lock the journal %s: %s", path,
                         e == EACCES || e == EAGAIN ? "another process is using it"
                                                    : DLP__ERRNO_TEXT(e));
    }
    rc = dlp__journal_read(J->fd, path, seq, n, func, &J->skip, &J->has_call);
    if (rc == DLP_OK)
        J->done_before = dlp__ranges_total(&J->skip);
    if (rc != DLP_OK)
        dlp__journal_close(J);
    return rc;
}

void dlp__journal_close(struct dlp__journal *J)
{
    if (J->fd >= 0)
        close(J->fd);
    J->fd = -1;
    dlp__ranges_free(&J->skip);
    dlp__ranges_free(&J->acc);
    free(J->slots);
    J->slots = NULL;
    free(J->acc_failed);
    J->acc_failed = NULL;
    free(J->pend);
    J->pend = NULL;
    pthread_mutex_destroy(&J->lock);
}

/* ------------------------------------------------------------ writing -- */

/* A failure of the call (its message formatted as dlp__loop_failure's). */
static void call_failed(struct dlp__journal *J, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_failed(struct dlp__journal *J, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    J->call.failed(J->call.ctx, code, msg);
}

/* The journal can no longer be written: a failure of the call (the items
 * not recorded run again next time, nothing is trusted wrongly). */
static void write_failed(struct dlp__journal *J, const char *what)
{
    int e = errno;
    if (J->fd >= 0) {
        close(J->fd);
        J->fd = -1;
        call_failed(J, DLP_ERR_SYSTEM, "journal %s: %s failed: %s", J->path, what,
                    DLP__ERRNO_TEXT(e));
    }
}

static void slot_lock(struct dlp__jslot *s)
{
    while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
        while (atomic_load_explicit(&s->lock, memory_order_relaxed))
            ;
}

static void slot_unlock(struct dlp__jslot *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* Move a slot's entries to the rank's pending list (slot locked). */
static void slot_empty(struct dlp__journal *J, struct dlp__jslot *s)
{
    if (s->len == 0)
        return;
    pthread_mutex_lock(&J->lock);
    int ok =
        dlp__array_grow((void **)&J->pend, &J->cap, J->npend + s->len, sizeof *J->pend) == 0;
    if (ok) {
        memcpy(J->pend + J->npend, s->entry, (size_t)s->len * sizeof *s->entry);
        J->npend += s->len;
    }
    pthread_mutex_unlock(&J->lock);
    s->len = 0;
    if (!ok) /* not recorded: they would run again; say it and stop */
        call_failed(J, DLP_ERR_NOMEM, "out of memory for the journal's list of done items");
}

/* Take the rank's pending list, with what every slot holds. */
static long *take_pending(struct dlp__journal *J, long *len)
{
    int used = atomic_load(&J->nslots);
    used = used < DLP__JOURNAL_SLOTS ? used : DLP__JOURNAL_SLOTS;
    for (int k = 0; k < used; k++) {
        slot_lock(&J->slots[k]);
        slot_empty(J, &J->slots[k]);
        slot_unlock(&J->slots[k]);
    }
    pthread_mutex_lock(&J->lock);
    long *p = J->pend;
    *len = J->npend;
    J->pend = NULL;
    J->npend = J->cap = 0;
    pthread_mutex_unlock(&J->lock);
    return p;
}

/* Split entries into done ranges and failed items (in place). Returns the
 * number of failed items, moved to the end; *ranges gets the done ones. */
static long split_entries(long *e, long len, struct dlp__ranges *ranges)
{
    long done = 0;
    for (long k = 0; k < len; k++) /* stable for done, failed go to the end */
        if (e[k] >= 0) {
            long t = e[done];
            e[done++] = e[k];
            e[k] = t;
        }
    for (long k = done; k < len; k++)
        e[k] = ~e[k];
    if (dlp__ranges_push_items(ranges, e, done) != 0)
        return -1;
    return len - done;
}

/* Master: one record of the normalized done ranges r: as {start, end}
 * pairs, or as a bitmap from the first item when that is smaller (round
 * robin's strided items of ranks that progress apart do not merge). */
static int write_done(struct dlp__journal *J, const struct dlp__ranges *r)
{
    long start = r->r[0][0], span = r->r[r->len - 1][1] - start;
    size_t pairs = (size_t)r->len * 2 * sizeof(int64_t);
    size_t bitmap = sizeof(int64_t) + ((size_t)span + 7) / 8;
    if (pairs <= bitmap)
        return write_record(J, DLP__JREC_DONE, r->r, pairs);
    unsigned char *b = calloc(bitmap, 1);
    if (!b)
        return write_record(J, DLP__JREC_DONE, r->r, pairs);
    int64_t s64 = start;
    memcpy(b, &s64, sizeof s64);
    unsigned char *bits = b + sizeof s64;
    for (long k = 0; k < r->len; k++)
        for (long i = r->r[k][0] - start; i < r->r[k][1] - start; i++)
            bits[i / 8] |= (unsigned char)(1u << (i % 8));
    int rc = write_record(J, DLP__JREC_BITS, b, bitmap);
    free(b);
    return rc;
}

/* Master: append the merged ranges and failed items as records (every
 * DLP__JOURNAL_TICK, or now with force). */
static void write_merged(struct dlp__journal *J, int force)
{
    double now = dlp__now();
    if (!force && now - J->written < DLP__JOURNAL_TICK)
        return;
    J->written = now;
    struct dlp__ranges *r = &J->acc;
    dlp__ranges_normalize(r);
    if (J->fd >= 0 && r->len > 0) {
        _Static_assert(sizeof(long) == sizeof(int64_t), "64-bit long");
        if (write_done(J, r) != 0)
            write_failed(J, "write");
        else
            J->recorded += dlp__ranges_total(r);
    }
    if (J->fd >= 0 && J->nfailed > 0 &&
        write_record(J, DLP__JREC_FAILED, J->acc_failed, (size_t)J->nfailed * sizeof(int64_t)) != 0)
        write_failed(J, "write");
    r->len = 0;
    J->nfailed = 0;
    if (J->fd >= 0 && (force || now - J->synced >= J->sync)) {
        if (fsync(J->fd) != 0)
            write_failed(J, "fsync");
        J->synced = now;
    }
}

/* Master: keep done ranges and failed items for the next write. */
static void accumulate(struct dlp__journal *J, long (*ranges)[2], long nranges,
                       const long *failed, long nfailed)
{
    for (long k = 0; k < nranges; k++)
        if (dlp__ranges_push(&J->acc, ranges[k][0], ranges[k][1]) != 0)
            dlp__helper_abort("journal", "out of memory for the done ranges", MPI_SUCCESS);
    if (dlp__array_grow((void **)&J->acc_failed, &J->cfailed, J->nfailed + nfailed,
                        sizeof(long)) != 0)
        dlp__helper_abort("journal", "out of memory for the failed items", MPI_SUCCESS);
    if (nfailed)
        memcpy(J->acc_failed + J->nfailed, failed, (size_t)nfailed * sizeof(long));
    J->nfailed += nfailed;
}

/* Master: the own rank's pending entries. */
static void record_own(struct dlp__journal *J)
{
    long len;
    long *e = take_pending(J, &len);
    if (len > 0) {
        struct dlp__ranges r = {NULL, 0, 0};
        long nf = split_entries(e, len, &r);
        if (nf < 0)
            dlp__helper_abort("journal", "out of memory for the done ranges", MPI_SUCCESS);
        accumulate(J, r.r, r.len, e + (len - nf), nf);
        dlp__ranges_free(&r);
    }
    free(e);
}

#define CHECK(call) DLP__HELPER_CHECK("journal", call)

/* Master: record every batch that has arrived. A batch is
 * {seq, last, ranges, failed, 2*ranges longs, failed longs}. */
static void record_arrived(struct dlp__journal *J)
{
    for (;;) {
        int flag = 0;
        MPI_Message msg;
        MPI_Status st;
        CHECK(MPI_Improbe(MPI_ANY_SOURCE, DLP__TAG_JOURNAL, dlp__rt.comm, &flag, &msg, &st));
        if (!flag)
            return;
        int count = 0;
        CHECK(MPI_Get_count(&st, MPI_LONG, &count));
        long *b = malloc((size_t)(count > 0 ? count : 1) * sizeof *b);
        if (!b)
            dlp__helper_abort("journal", "out of memory for a batch", MPI_SUCCESS);
        CHECK(MPI_Mrecv(b, count, MPI_LONG, &msg, MPI_STATUS_IGNORE));
        if (count < 4 || (unsigned long)b[0] != J->seq || b[2] < 0 || b[3] < 0 ||
            4 + 2 * b[2] + b[3] != count)
            dlp__helper_abort("journal", "malformed batch", MPI_SUCCESS);
        accumulate(J, (long(*)[2])(b + 4), b[2], b + 4 + 2 * b[2], b[3]);
        if (b[1])
            J->open_ranks--;
        free(b);
    }
}

/* Other ranks: send the pending entries (last: the final batch). */
static void send_pending(struct dlp__journal *J, int last)
{
    long len;
    long *e = take_pending(J, &len);
    struct dlp__ranges r = {NULL, 0, 0};
    long nf = split_entries(e, len, &r);
    if (nf < 0)
        dlp__helper_abort("journal", "out of memory for the done ranges", MPI_SUCCESS);
    long sent = 0;
    do {
        long k = r.len - sent < MSG_RANGES ? r.len - sent : MSG_RANGES;
        int fin = sent + k == r.len;
        long f = fin ? nf : 0;
        if (k == 0 && f == 0 && !last)
            break;
        long count = 4 + 2 * k + f;
        long *b = malloc((size_t)count * sizeof *b);
        if (!b)
            dlp__helper_abort("journal", "out of memory for a batch", MPI_SUCCESS);
        b[0] = (long)J->seq;
        b[1] = fin && last;
        b[2] = k;
        b[3] = f;
        if (k)
            memcpy(b + 4, r.r + sent, (size_t)k * sizeof *r.r);
        if (f)
            memcpy(b + 4 + 2 * k, e + (len - nf), (size_t)f * sizeof *b);
        CHECK(MPI_Send(b, (int)count, MPI_LONG, 0, DLP__TAG_JOURNAL, dlp__rt.comm));
        free(b);
        sent += k;
    } while (sent < r.len);
    dlp__ranges_free(&r);
    free(e);
}

static void *journal_main(void *arg)
{
    struct dlp__journal *J = arg;
    int master = dlp__rt.rank == 0;
    for (;;) {
        int quit = atomic_load(&J->quit);
        if (master) {
            record_arrived(J);
            record_own(J);
            write_merged(J, quit && J->open_ranks == 0);
            if (quit && J->open_ranks == 0)
                break;
        } else {
            send_pending(J, quit);
            if (quit)
                break;
        }
        dlp__doorbell_arm(&J->bell);
        if (atomic_load(&J->quit) != quit)
            dlp__doorbell_disarm(&J->bell);
        else /* the master looks for the last batches often at the end */
            dlp__doorbell_wait(&J->bell, quit ? 1000u : master ? 20000u
                                                               : (unsigned)(DLP__JOURNAL_TICK * 1e6));
    }
    return NULL;
}

/* ---------------------------------------------------------- the call -- */

/* Every rank learns the done ranges from the master (in pieces below
 * INT_MAX elements). */
static int share_skip(struct dlp__journal *J)
{
    struct dlp__runtime *rt = &dlp__rt;
    long len = J->skip.len;
    MPI_Request req;
    DLP_MPI_CALL(MPI_Ibcast(&len, 1, MPI_LONG, 0, rt->comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (rt->rank != 0) {
        J->skip.r = malloc((size_t)(len > 0 ? len : 1) * sizeof *J->skip.r);
        if (!J->skip.r)
            return DLP_ERR_NOMEM;
        J->skip.len = J->skip.cap = len;
    }
    long piece = (long)1 << 28; /* ranges per broadcast */
    for (long at = 0; at < len; at += piece) {
        long k = len - at < piece ? len - at : piece;
        DLP_MPI_CALL(MPI_Ibcast(J->skip.r + at, (int)(2 * k), MPI_LONG, 0, rt->comm, &req));
        DLP_MPI_CALL(dlp__wait(&req));
    }
    J->done_before = dlp__ranges_total(&J->skip);
    return DLP_OK;
}

void dlp__journal_start(struct dlp__journal *J, const struct dlp__journal_call *L)
{
    struct dlp__runtime *rt = &dlp__rt;
    J->call = *L;
    if (rt->rank != 0) {
        memset(J, 0, sizeof *J);
        J->call = *L;
        J->fd = -1;
        J->seq = L->seq;
        J->n = L->n;
        pthread_mutex_init(&J->lock, NULL);
    } else if (!J->has_call) {
        struct dlp__jcall_rec c;
        memset(&c, 0, sizeof c);
        c.n = J->n;
        snprintf(c.func, sizeof c.func, "%s", L->func);
        if (write_record(J, DLP__JREC_CALL, &c, sizeof c) != 0 || fsync(J->fd) != 0)
            dlp__helper_abort(L->func, "cannot write the journal's call record", MPI_SUCCESS);
        J->has_call = 1;
    }
    if (rt->rank == 0 && (write_record(J, DLP__JREC_RUN, NULL, 0) != 0 || fsync(J->fd) != 0))
        dlp__helper_abort(L->func, "cannot write the journal's run record", MPI_SUCCESS);
    J->slots = calloc(DLP__JOURNAL_SLOTS, sizeof *J->slots);
    if (!J->slots)
        dlp__helper_abort(L->func, "out of memory for the journal's buffers", MPI_SUCCESS);
    if (share_skip(J) != DLP_OK)
        dlp__helper_abort(L->func, "cannot share the journal's done items", MPI_SUCCESS);
    if (rt->rank == 0) {
        J->open_ranks = rt->size - 1;
        J->synced = J->written = dlp__now();
        if (J->done_before > 0)
            fprintf(stderr,
                    "dlp_mpi: %s: journal %s: call #%lu resumes: %ld of %ld items are done, "
                    "%ld to run\n",
                    L->func, J->path, J->seq, J->done_before, J->n, J->n - J->done_before);
    }
    if (pthread_create(&J->thread, NULL, journal_main, J) != 0)
        dlp__helper_abort(L->func, "cannot start the journal thread", MPI_SUCCESS);
    J->running = 1;
}

struct dlp__jslot *dlp__journal_slot(struct dlp__journal *J)
{
    int k = atomic_fetch_add(&J->nslots, 1);
    return &J->slots[k % DLP__JOURNAL_SLOTS];
}

void dlp__journal_note(struct dlp__journal *J, struct dlp__jslot *s, long entry)
{
    slot_lock(s);
    if (s->len == DLP__JBUF_ITEMS)
        slot_empty(J, s);
    s->entry[s->len++] = entry;
    slot_unlock(s);
}

void dlp__journal_finish(struct dlp__journal *J)
{
    if (J->running) {
        atomic_store(&J->quit, 1);
        dlp__doorbell_ring(&J->bell);
        pthread_join(J->thread, NULL);
        J->running = 0;
    }
    dlp__journal_close(J);
}
