/* The journal of a parallel call (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doorbell.h"
#include "error.h"
#include "loop.h"
#include "runtime.h"
#include "wait.h"

static const char file_magic[8] = {'d', 'l', 'p', 'j', 'r', 'n', 'l', '1'};
#define REC_MAGIC 0x52504c44u /* "DLPR" */
enum { REC_CALL = 1, REC_DONE = 2, REC_FAILED = 3, REC_RUN = 4, REC_BITS = 5 };
#define REC_MAX_BYTES ((uint64_t)1 << 31)
#define FUNC_BYTES 40
/* Ranges per message of a rank's journal thread. */
#define MSG_RANGES ((long)1 << 22)

struct rec_head {
    uint32_t magic, type;
    uint64_t seq, bytes;
};
struct call_rec {
    int64_t n;
    char func[FUNC_BYTES];
};

static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < len; k++) {
        h ^= b[k];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_SEED 0xcbf29ce484222325ull

static int write_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len > 0) {
        ssize_t w = write(fd, c, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        len -= (size_t)w;
    }
    return 0;
}

/* One record in one write (O_APPEND): a kill cuts it short at worst. */
static int write_record(struct dlp__journal *J, uint32_t type, const void *payload, size_t bytes)
{
    struct rec_head h = {REC_MAGIC, type, J->seq, bytes};
    size_t total = sizeof h + bytes + sizeof(uint64_t);
    char *buf = malloc(total);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(buf, &h, sizeof h);
    if (bytes)
        memcpy(buf + sizeof h, payload, bytes);
    uint64_t check = fnv1a(FNV_SEED, buf, sizeof h + bytes);
    memcpy(buf + sizeof h + bytes, &check, sizeof check);
    int rc = write_all(J->fd, buf, total);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ reading -- */

struct done_rec { long a, b, idx; };     /* a DONE range, its run */
struct failed_rec { long item, idx; };   /* a FAILED item, its run */

struct scan {
    struct done_rec *done;
    long ndone, cdone;
    struct failed_rec *failed;
    long nfailed, cfailed;
    long run;       /* RUN records of the call so far */
    int has_call;
    int64_t call_n;
    char call_func[FUNC_BYTES];
};

static int grow(void **p, long *cap, long need, size_t elem)
{
    if (need <= *cap)
        return 0;
    long c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int all_zero(const char *p, size_t len)
{
    for (size_t k = 0; k < len; k++)
        if (p[k])
            return 0;
    return 1;
}

/* Drop the torn tail at off: truncate, say so. */
static int repair(struct dlp__journal *J, long off, long size, const char *why, const char *func)
{
    if (ftruncate(J->fd, (off_t)off) != 0 || fsync(J->fd) != 0)
        return dlp__fail(DLP_ERR_SYSTEM, func, "journal %s: cannot drop its torn tail: %s",
                         J->path, DLP__ERRNO_TEXT(errno));
    fprintf(stderr,
            "dlp_mpi: %s: journal %s: dropped the last %ld bytes (from byte %ld: %s, from an "
            "interrupted write); the items they recorded will run again\n",
            func, J->path, size - off, off, why);
    return DLP_OK;
}

/* One record of this call: check it, keep what it says. */
static int take_record(struct dlp__journal *J, struct scan *s, const struct rec_head *h,
                       const char *payload, long off, const char *func)
{
    if (h->type == REC_CALL) {
        struct call_rec c;
        if (h->bytes != sizeof c)
            return dlp__fail(DLP_ERR_JOURNAL, func,
                             "journal %s is corrupted: call record at byte %ld has %llu bytes",
                             J->path, off, (unsigned long long)h->bytes);
        memcpy(&c, payload, sizeof c);
        c.func[FUNC_BYTES - 1] = '\0';
        if (s->has_call)
            return dlp__fail(DLP_ERR_JOURNAL, func,
                             "journal %s is corrupted: call #%lu is recorded twice (byte %ld)",
                             J->path, J->seq, off);
        s->has_call = 1;
        s->call_n = c.n;
        memcpy(s->call_func, c.func, FUNC_BYTES);
        return DLP_OK;
    }
    if (!s->has_call)
        return dlp__fail(DLP_ERR_JOURNAL, func,
                         "journal %s is corrupted: items of call #%lu before its call record "
                         "(byte %ld)",
                         J->path, J->seq, off);
    if (h->type == REC_RUN) {
        s->run++;
        return DLP_OK;
    }
    long idx = s->run;
    if (h->type == REC_BITS) { /* int64 start, then a bit per item from start */
        int64_t start;
        memcpy(&start, payload, sizeof start);
        const unsigned char *bits = (const unsigned char *)payload + sizeof start;
        long nbits = (long)(h->bytes - sizeof start) * 8;
        if (start < 0 || start > s->call_n)
            return dlp__fail(DLP_ERR_JOURNAL, func,
                             "journal %s is corrupted: a bitmap from item %lld of call #%lu "
                             "with n = %lld (record at byte %ld)",
                             J->path, (long long)start, J->seq, (long long)s->call_n, off);
        for (long j = 0; j < nbits;) {
            if (!(bits[j / 8] >> (j % 8) & 1)) {
                j++;
                continue;
            }
            long a = j;
            while (j < nbits && bits[j / 8] >> (j % 8) & 1)
                j++;
            if (j > s->call_n - start) /* (start <= call_n: no overflow) */
                return dlp__fail(DLP_ERR_JOURNAL, func,
                                 "journal %s is corrupted: done items [%lld, %lld) of call "
                                 "#%lu with n = %lld (record at byte %ld)",
                                 J->path, (long long)start + a, (long long)start + j, J->seq,
                                 (long long)s->call_n, off);
            if (grow((void **)&s->done, &s->cdone, s->ndone + 1, sizeof *s->done) != 0)
                return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: %ld done ranges", J->path,
                                 s->ndone + 1);
            s->done[s->ndone++] = (struct done_rec){(long)start + a, (long)start + j, idx};
        }
        return DLP_OK;
    }
    if (h->type == REC_DONE) {
        long k = (long)(h->bytes / (2 * sizeof(int64_t)));
        if (grow((void **)&s->done, &s->cdone, s->ndone + k, sizeof *s->done) != 0)
            return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: %ld done ranges", J->path,
                             s->ndone + k);
        for (long j = 0; j < k; j++) {
            int64_t r[2];
            memcpy(r, payload + j * (long)sizeof r, sizeof r);
            if (r[0] < 0 || r[0] >= r[1] || r[1] > s->call_n)
                return dlp__fail(DLP_ERR_JOURNAL, func,
                                 "journal %s is corrupted: done range [%lld, %lld) of call "
                                 "#%lu with n = %lld (record at byte %ld)",
                                 J->path, (long long)r[0], (long long)r[1], J->seq,
                                 (long long)s->call_n, off);
            s->done[s->ndone++] = (struct done_rec){(long)r[0], (long)r[1], idx};
        }
        return DLP_OK;
    }
    long k = (long)(h->bytes / sizeof(int64_t));
    if (grow((void **)&s->failed, &s->cfailed, s->nfailed + k, sizeof *s->failed) != 0)
        return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: %ld failed items", J->path,
                         s->nfailed + k);
    for (long j = 0; j < k; j++) {
        int64_t item;
        memcpy(&item, payload + j * (long)sizeof item, sizeof item);
        if (item < 0 || item >= s->call_n)
            return dlp__fail(DLP_ERR_JOURNAL, func,
                             "journal %s is corrupted: failed item %lld of call #%lu with "
                             "n = %lld (record at byte %ld)",
                             J->path, (long long)item, J->seq, (long long)s->call_n, off);
        s->failed[s->nfailed++] = (struct failed_rec){(long)item, idx};
    }
    return DLP_OK;
}

/* Walk the records after the file magic. */
static int scan_records(struct dlp__journal *J, struct scan *s, const char *buf, long size,
                        const char *func)
{
    long off = sizeof file_magic;
    while (off < size) {
        long left = size - off;
        struct rec_head h;
        if (left < (long)sizeof h || all_zero(buf + off, (size_t)left))
            return repair(J, off, size, "an incomplete record", func);
        memcpy(&h, buf + off, sizeof h);
        if (h.magic != REC_MAGIC || h.type < REC_CALL || h.type > REC_BITS ||
            (h.type == REC_BITS && h.bytes < sizeof(int64_t)) ||
            h.bytes > REC_MAX_BYTES ||
            (h.type == REC_DONE && h.bytes % (2 * sizeof(int64_t))) ||
            (h.type == REC_FAILED && h.bytes % sizeof(int64_t)))
            return dlp__fail(DLP_ERR_JOURNAL, func,
                             "journal %s is corrupted: no valid record at byte %ld of %ld; it "
                             "cannot be trusted (move it away to start over)",
                             J->path, off, size);
        long end = off + (long)sizeof h + (long)h.bytes + (long)sizeof(uint64_t);
        if (end > size)
            return repair(J, off, size, "a record cut short", func);
        uint64_t check;
        memcpy(&check, buf + end - (long)sizeof check, sizeof check);
        if (check != fnv1a(FNV_SEED, buf + off, sizeof h + h.bytes)) {
            if (end == size)
                return repair(J, off, size, "a last record with a bad checksum", func);
            return dlp__fail(DLP_ERR_JOURNAL, func,
                             "journal %s is corrupted: bad checksum in the record at byte %ld "
                             "(%ld more bytes follow it); it cannot be trusted (move it away "
                             "to start over)",
                             J->path, off, size - end);
        }
        if (h.seq == J->seq)
            DLP_CALL(take_record(J, s, &h, buf + off + sizeof h, off, func));
        off = end;
    }
    return DLP_OK;
}

static int by_item_then_idx(const void *a, const void *b)
{
    const struct failed_rec *x = a, *y = b;
    if (x->item != y->item)
        return (x->item > y->item) - (x->item < y->item);
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The done set: every DONE range, less the FAILED items that no DONE
 * record of a later run covers. */
static int done_set(struct dlp__journal *J, struct scan *s, const char *func)
{
    if (s->nfailed > 0)
        qsort(s->failed, (size_t)s->nfailed, sizeof *s->failed, by_item_then_idx);
    for (long d = 0; d < s->ndone; d++) {
        long lo = 0, hi = s->nfailed; /* first failed item >= a */
        while (lo < hi) {
            long mid = lo + (hi - lo) / 2;
            if (s->failed[mid].item < s->done[d].a)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (long f = lo; f < s->nfailed && s->failed[f].item < s->done[d].b; f++)
            if (s->failed[f].idx >= 0 && s->failed[f].idx < s->done[d].idx)
                s->failed[f].idx = -1; /* done again in a later run */
    }
    for (long d = 0; d < s->ndone; d++)
        if (dlp__ranges_push(&J->skip, s->done[d].a, s->done[d].b) != 0)
            return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: done ranges", J->path);
    dlp__ranges_normalize(&J->skip);
    long k = 0;
    long *still = malloc((size_t)(s->nfailed > 0 ? s->nfailed : 1) * sizeof *still);
    if (!still)
        return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: failed items", J->path);
    for (long f = 0; f < s->nfailed; f++)
        if (s->failed[f].idx >= 0)
            still[k++] = s->failed[f].item;
    int bad = dlp__ranges_remove_items(&J->skip, still, k);
    free(still);
    if (bad)
        return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: done ranges", J->path);
    J->done_before = dlp__ranges_total(&J->skip);
    return DLP_OK;
}

static int read_file(struct dlp__journal *J, long n, const char *func)
{
    struct stat st;
    if (fstat(J->fd, &st) != 0)
        return dlp__fail(DLP_ERR_SYSTEM, func, "journal %s: %s", J->path, DLP__ERRNO_TEXT(errno));
    long size = (long)st.st_size;
    char *buf = malloc((size_t)(size > 0 ? size : 1));
    if (!buf)
        return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: %ld bytes", J->path, size);
    long got = 0;
    while (got < size) {
        ssize_t r = pread(J->fd, buf + got, (size_t)(size - got), (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return dlp__fail(DLP_ERR_SYSTEM, func, "journal %s: read failed: %s", J->path,
                             r < 0 ? DLP__ERRNO_TEXT(errno) : "file shrank");
        }
        got += r;
    }
    int rc = DLP_OK;
    long head = size < (long)sizeof file_magic ? size : (long)sizeof file_magic;
    if (memcmp(buf, file_magic, (size_t)head) != 0) {
        rc = dlp__fail(DLP_ERR_JOURNAL, func,
                       "%s is not a dlp_mpi journal (it does not start with \"dlpjrnl1\"); "
                       "refusing to use it",
                       J->path);
    } else if (size < (long)sizeof file_magic) { /* new, or its first write was cut */
        if (ftruncate(J->fd, 0) != 0 || write_all(J->fd, file_magic, sizeof file_magic) != 0)
            rc = dlp__fail(DLP_ERR_SYSTEM, func, "journal %s: cannot write: %s", J->path,
                           DLP__ERRNO_TEXT(errno));
    } else {
        struct scan s;
        memset(&s, 0, sizeof s);
        rc = scan_records(J, &s, buf, size, func);
        if (rc == DLP_OK && s.has_call &&
            (s.call_n != n || strncmp(s.call_func, func, FUNC_BYTES - 1) != 0))
            rc = dlp__fail(DLP_ERR_JOURNAL, func,
                           "journal %s recorded call #%lu as %s with n = %lld; this call is "
                           "%s with n = %ld: the journal is from another run or program "
                           "(move it away to start over)",
                           J->path, J->seq, s.call_func, (long long)s.call_n, func, n);
        if (rc == DLP_OK)
            rc = done_set(J, &s, func);
        J->has_call = s.has_call;
        free(s.done);
        free(s.failed);
    }
    free(buf);
    return rc;
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
    J->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (J->fd < 0)
        return dlp__fail(DLP_ERR_SYSTEM, func, "cannot open the journal %s: %s", path,
                         DLP__ERRNO_TEXT(errno));
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
    int rc = read_file(J, n, func);
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

/* The journal can no longer be written: a failure of the call (the items
 * not recorded run again next time, nothing is trusted wrongly). */
static void write_failed(struct dlp__journal *J, const char *what)
{
    int e = errno;
    if (J->fd >= 0) {
        close(J->fd);
        J->fd = -1;
        dlp__loop_failure(J->L, -1, -1, DLP_ERR_SYSTEM, "journal %s: %s failed: %s", J->path,
                          what, DLP__ERRNO_TEXT(e));
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
    int ok = grow((void **)&J->pend, &J->cap, J->npend + s->len, sizeof *J->pend) == 0;
    if (ok) {
        memcpy(J->pend + J->npend, s->entry, (size_t)s->len * sizeof *s->entry);
        J->npend += s->len;
    }
    pthread_mutex_unlock(&J->lock);
    s->len = 0;
    if (!ok) /* not recorded: they would run again; say it and stop */
        dlp__loop_failure(J->L, -1, -1, DLP_ERR_NOMEM,
                          "out of memory for the journal's list of done items");
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
        return write_record(J, REC_DONE, r->r, pairs);
    unsigned char *b = calloc(bitmap, 1);
    if (!b)
        return write_record(J, REC_DONE, r->r, pairs);
    int64_t s64 = start;
    memcpy(b, &s64, sizeof s64);
    unsigned char *bits = b + sizeof s64;
    for (long k = 0; k < r->len; k++)
        for (long i = r->r[k][0] - start; i < r->r[k][1] - start; i++)
            bits[i / 8] |= (unsigned char)(1u << (i % 8));
    int rc = write_record(J, REC_BITS, b, bitmap);
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
        write_record(J, REC_FAILED, J->acc_failed, (size_t)J->nfailed * sizeof(int64_t)) != 0)
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
    if (grow((void **)&J->acc_failed, &J->cfailed, J->nfailed + nfailed, sizeof(long)) != 0)
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

void dlp__journal_start(struct dlp__journal *J, struct dlp_loop *L)
{
    struct dlp__runtime *rt = &dlp__rt;
    J->L = L;
    if (rt->rank != 0) {
        memset(J, 0, sizeof *J);
        J->L = L;
        J->fd = -1;
        J->seq = L->seq;
        J->n = L->n;
        pthread_mutex_init(&J->lock, NULL);
    } else if (!J->has_call) {
        struct call_rec c;
        memset(&c, 0, sizeof c);
        c.n = J->n;
        snprintf(c.func, sizeof c.func, "%s", L->func);
        if (write_record(J, REC_CALL, &c, sizeof c) != 0 || fsync(J->fd) != 0)
            dlp__helper_abort(L->func, "cannot write the journal's call record", MPI_SUCCESS);
        J->has_call = 1;
    }
    if (rt->rank == 0 && (write_record(J, REC_RUN, NULL, 0) != 0 || fsync(J->fd) != 0))
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
