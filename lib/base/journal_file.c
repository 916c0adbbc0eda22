/* The journal's file: reading it in bounded memory (see journal_file.h). */
#define _GNU_SOURCE /* SEEK_DATA */
#include "journal_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define HEAD ((long)sizeof(struct dlp__jrec_head))
#define TAIL ((long)sizeof(uint64_t))

int dlp__write_all(int fd, const void *p, size_t len)
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

struct done_rec { long a, b, idx; };   /* a DONE range, its run */
struct failed_rec { long item, idx; }; /* a FAILED item, its run */

/* The file being read, and what it says about the call. */
struct reader {
    int fd;
    const char *path, *func;
    unsigned long seq;
    long size;
    unsigned char *buf, *aux; /* DLP__JFILE_CHUNK bytes each */
    struct done_rec *done;
    long ndone, cdone;
    struct failed_rec *failed;
    long nfailed, cfailed;
    long run; /* RUN records of the call so far */
    int has_call;
    int64_t call_n;
    char call_func[DLP__JFUNC_BYTES];
};

int dlp__array_grow(void **p, long *cap, long need, size_t elem)
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

/* len bytes at off into p; DLP_ERR_SYSTEM when the file cannot give them. */
static int read_at(struct reader *r, long off, void *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t k = pread(r->fd, (char *)p + got, len - got, (off_t)off + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return dlp__fail(DLP_ERR_SYSTEM, r->func, "journal %s: read failed at byte %ld: %s",
                             r->path, off + (long)got,
                             k < 0 ? DLP__ERRNO_TEXT(errno) : "the file shrank");
        got += (size_t)k;
    }
    return DLP_OK;
}

/* Bytes [from, r->size) are all zero (holes skipped with SEEK_DATA). */
static int zero_from(struct reader *r, long from, int *zero)
{
    *zero = 1;
    for (long pos = from; pos < r->size;) {
        off_t d = lseek(r->fd, (off_t)pos, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            return DLP_OK; /* only a hole is left */
        if (d > pos)
            pos = d < (off_t)r->size ? (long)d : r->size;
        long left = r->size - pos;
        if (left <= 0)
            break;
        long k = left < (long)DLP__JFILE_CHUNK ? left : (long)DLP__JFILE_CHUNK;
        DLP_CALL(read_at(r, pos, r->buf, (size_t)k));
        for (long j = 0; j < k; j++)
            if (r->buf[j]) {
                *zero = 0;
                return DLP_OK;
            }
        pos += k;
    }
    return DLP_OK;
}

static int head_ok(const struct dlp__jrec_head *h)
{
    return h->magic == DLP__JREC_MAGIC && h->type >= DLP__JREC_CALL &&
           h->type <= DLP__JREC_BITS && h->bytes <= DLP__JREC_MAX_BYTES &&
           !(h->type == DLP__JREC_BITS && h->bytes < sizeof(int64_t)) &&
           !(h->type == DLP__JREC_DONE && h->bytes % (2 * sizeof(int64_t))) &&
           !(h->type == DLP__JREC_FAILED && h->bytes % sizeof(int64_t)) &&
           !(h->type == DLP__JREC_CALL && h->bytes != sizeof(struct dlp__jcall_rec));
}

/* The checksum over len bytes at off, read into buf in chunks. */
static int checksum(struct reader *r, unsigned char *buf, long off, long len, uint64_t *sum)
{
    uint64_t h = DLP__FNV_SEED;
    for (long at = 0; at < len;) {
        long k = len - at < (long)DLP__JFILE_CHUNK ? len - at : (long)DLP__JFILE_CHUNK;
        DLP_CALL(read_at(r, off + at, buf, (size_t)k));
        h = dlp__fnv1a(h, buf, (size_t)k);
        at += k;
    }
    *sum = h;
    return DLP_OK;
}

/* Whether a whole record with a valid header and checksum ends within the
 * file at off (*ok; reads into aux). */
static int whole_record_at(struct reader *r, long off, int *ok)
{
    struct dlp__jrec_head h;
    *ok = 0;
    if (r->size - off < HEAD + TAIL)
        return DLP_OK;
    DLP_CALL(read_at(r, off, &h, sizeof h));
    if (!head_ok(&h) || (long)h.bytes > r->size - off - HEAD - TAIL)
        return DLP_OK;
    uint64_t sum, check;
    DLP_CALL(checksum(r, r->aux, off, HEAD + (long)h.bytes, &sum));
    DLP_CALL(read_at(r, off + HEAD + (long)h.bytes, &check, sizeof check));
    *ok = sum == check;
    return DLP_OK;
}

/* The first byte in (from, size) where a whole valid record starts, or -1
 * (*at): a record that seems cut short by the end of the file, or the last
 * one, is a torn tail only when none does. */
static int next_record(struct reader *r, long from, long *at)
{
    *at = -1;
    const uint32_t magic = DLP__JREC_MAGIC; /* as the host writes it */
    for (long pos = from + 1; r->size - pos >= HEAD + TAIL;) {
        off_t d = lseek(r->fd, (off_t)pos, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            return DLP_OK;
        if (d > pos) /* a hole: records are never all zero, start 3 bytes before the data */
            pos = (long)d - 3 > pos ? (long)d - 3 : pos;
        long left = r->size - pos;
        if (left < 4)
            return DLP_OK;
        long k = left < (long)DLP__JFILE_CHUNK ? left : (long)DLP__JFILE_CHUNK;
        DLP_CALL(read_at(r, pos, r->buf, (size_t)k));
        for (long j = 0; j + 4 <= k; j++) {
            if (memcmp(r->buf + j, &magic, sizeof magic) != 0)
                continue;
            int ok;
            DLP_CALL(whole_record_at(r, pos + j, &ok));
            if (ok) {
                *at = pos + j;
                return DLP_OK;
            }
        }
        pos += k - 3; /* a magic across the chunk's end is found in the next one */
    }
    return DLP_OK;
}

/* The record at off reaches the end of the file (cut short, or the last
 * one with a bad checksum): drop it, unless a valid record follows it, which
 * means its length field is what is wrong. */
static int torn_tail(struct reader *r, long off, const char *why)
{
    long at;
    DLP_CALL(next_record(r, off, &at));
    if (at >= 0)
        return dlp__fail(DLP_ERR_JOURNAL, r->func,
                         "journal %s is corrupted: the record at byte %ld looks like %s, but "
                         "a valid record follows at byte %ld of %ld (a damaged length or "
                         "checksum, not an interrupted write); it cannot be trusted (move it "
                         "away to start over)",
                         r->path, off, why, at, r->size);
    if (ftruncate(r->fd, (off_t)off) != 0 || fsync(r->fd) != 0)
        return dlp__fail(DLP_ERR_SYSTEM, r->func, "journal %s: cannot drop its torn tail: %s",
                         r->path, DLP__ERRNO_TEXT(errno));
    fprintf(stderr,
            "dlp_mpi: %s: journal %s: dropped the last %ld bytes (from byte %ld: %s, from an "
            "interrupted write); the items they recorded will run again\n",
            r->func, r->path, r->size - off, off, why);
    r->size = off;
    return DLP_OK;
}

static int add_done(struct reader *r, long a, long b)
{
    if (dlp__array_grow((void **)&r->done, &r->cdone, r->ndone + 1, sizeof *r->done) != 0)
        return dlp__fail(DLP_ERR_NOMEM, r->func, "journal %s: %ld done ranges", r->path,
                         r->ndone + 1);
    r->done[r->ndone++] = (struct done_rec){a, b, r->run};
    return DLP_OK;
}

static int out_of_range(struct reader *r, const char *what, long long a, long long b, long off)
{
    return dlp__fail(DLP_ERR_JOURNAL, r->func,
                     "journal %s is corrupted: %s [%lld, %lld) of call #%lu with n = %lld "
                     "(record at byte %ld)",
                     r->path, what, a, b, r->seq, (long long)r->call_n, off);
}

/* A BITS payload's bits from bit j0, len bytes in buf. */
static int take_bits(struct reader *r, int64_t start, long j0, const unsigned char *bits,
                     long len, long off)
{
    long nbits = len * 8;
    for (long j = 0; j < nbits;) {
        if (!(bits[j / 8] >> (j % 8) & 1)) {
            j++;
            continue;
        }
        long a = j;
        while (j < nbits && bits[j / 8] >> (j % 8) & 1)
            j++;
        if (j0 + j > r->call_n - start) /* (0 <= start <= call_n: no overflow) */
            return out_of_range(r, "done items", (long long)start + j0 + a,
                                (long long)start + j0 + j, off);
        DLP_CALL(add_done(r, (long)start + j0 + a, (long)start + j0 + j));
    }
    return DLP_OK;
}

/* len bytes (whole entries) of a DONE or FAILED payload in buf. */
static int take_entries(struct reader *r, uint32_t type, const unsigned char *buf, long len,
                        long off)
{
    if (type == DLP__JREC_DONE) {
        for (long j = 0; j + 16 <= len; j += 16) {
            int64_t v[2];
            memcpy(v, buf + j, sizeof v);
            if (v[0] < 0 || v[0] >= v[1] || v[1] > r->call_n)
                return out_of_range(r, "done range", (long long)v[0], (long long)v[1], off);
            DLP_CALL(add_done(r, (long)v[0], (long)v[1]));
        }
        return DLP_OK;
    }
    long k = len / 8;
    if (dlp__array_grow((void **)&r->failed, &r->cfailed, r->nfailed + k, sizeof *r->failed) != 0)
        return dlp__fail(DLP_ERR_NOMEM, r->func, "journal %s: %ld failed items", r->path,
                         r->nfailed + k);
    for (long j = 0; j < k; j++) {
        int64_t item;
        memcpy(&item, buf + 8 * j, sizeof item);
        if (item < 0 || item >= r->call_n)
            return out_of_range(r, "failed item", (long long)item, (long long)item + 1, off);
        r->failed[r->nfailed++] = (struct failed_rec){(long)item, r->run};
    }
    return DLP_OK;
}

/* One checked record of this call at off: keep what it says (its payload
 * read again, a chunk at a time). */
static int take_record(struct reader *r, const struct dlp__jrec_head *h, long off)
{
    long pay = off + HEAD, bytes = (long)h->bytes;
    if (h->type == DLP__JREC_CALL) {
        struct dlp__jcall_rec c;
        DLP_CALL(read_at(r, pay, &c, sizeof c));
        c.func[DLP__JFUNC_BYTES - 1] = '\0';
        if (r->has_call)
            return dlp__fail(DLP_ERR_JOURNAL, r->func,
                             "journal %s is corrupted: call #%lu is recorded twice (byte %ld)",
                             r->path, r->seq, off);
        r->has_call = 1;
        r->call_n = c.n;
        memcpy(r->call_func, c.func, DLP__JFUNC_BYTES);
        return DLP_OK;
    }
    if (!r->has_call)
        return dlp__fail(DLP_ERR_JOURNAL, r->func,
                         "journal %s is corrupted: items of call #%lu before its call record "
                         "(byte %ld)",
                         r->path, r->seq, off);
    if (h->type == DLP__JREC_RUN) {
        r->run++;
        return DLP_OK;
    }
    int64_t start = 0;
    long skip = 0;
    if (h->type == DLP__JREC_BITS) {
        DLP_CALL(read_at(r, pay, &start, sizeof start));
        if (start < 0 || start > r->call_n)
            return out_of_range(r, "a bitmap from item", (long long)start, (long long)start,
                                off);
        skip = (long)sizeof start;
    }
    /* chunks of whole entries (DLP__JFILE_CHUNK is a multiple of 16) */
    for (long at = skip; at < bytes;) {
        long k = bytes - at < (long)DLP__JFILE_CHUNK ? bytes - at : (long)DLP__JFILE_CHUNK;
        DLP_CALL(read_at(r, pay + at, r->buf, (size_t)k));
        if (h->type == DLP__JREC_BITS)
            DLP_CALL(take_bits(r, start, (at - skip) * 8, r->buf, k, off));
        else
            DLP_CALL(take_entries(r, h->type, r->buf, k, off));
        at += k;
    }
    return DLP_OK;
}

/* Walk the records after the file magic. */
static int scan_records(struct reader *r)
{
    long off = (long)sizeof DLP__JFILE_MAGIC - 1;
    while (off < r->size) {
        long left = r->size - off;
        struct dlp__jrec_head h;
        memset(&h, 0, sizeof h);
        if (left >= HEAD)
            DLP_CALL(read_at(r, off, &h, sizeof h));
        if (left < HEAD || !head_ok(&h)) {
            int zero;
            DLP_CALL(zero_from(r, off, &zero));
            if (left < HEAD || zero)
                return torn_tail(r, off, "an incomplete record");
            return dlp__fail(DLP_ERR_JOURNAL, r->func,
                             "journal %s is corrupted: no valid record at byte %ld of %ld; it "
                             "cannot be trusted (move it away to start over)",
                             r->path, off, r->size);
        }
        if ((long)h.bytes > left - HEAD - TAIL)
            return torn_tail(r, off, "a record cut short");
        long end = off + HEAD + (long)h.bytes + TAIL;
        uint64_t sum, check;
        DLP_CALL(checksum(r, r->buf, off, HEAD + (long)h.bytes, &sum));
        DLP_CALL(read_at(r, end - TAIL, &check, sizeof check));
        if (check != sum) {
            if (end == r->size)
                return torn_tail(r, off, "a last record with a bad checksum");
            return dlp__fail(DLP_ERR_JOURNAL, r->func,
                             "journal %s is corrupted: bad checksum in the record at byte %ld "
                             "(%ld more bytes follow it); it cannot be trusted (move it away "
                             "to start over)",
                             r->path, off, r->size - end);
        }
        if (h.seq == r->seq)
            DLP_CALL(take_record(r, &h, off));
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
static int done_set(struct reader *r, struct dlp__ranges *skip)
{
    if (r->nfailed > 0)
        qsort(r->failed, (size_t)r->nfailed, sizeof *r->failed, by_item_then_idx);
    for (long d = 0; d < r->ndone; d++) {
        long lo = 0, hi = r->nfailed; /* first failed item >= a */
        while (lo < hi) {
            long mid = lo + (hi - lo) / 2;
            if (r->failed[mid].item < r->done[d].a)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (long f = lo; f < r->nfailed && r->failed[f].item < r->done[d].b; f++)
            if (r->failed[f].idx >= 0 && r->failed[f].idx < r->done[d].idx)
                r->failed[f].idx = -1; /* done again in a later run */
    }
    for (long d = 0; d < r->ndone; d++)
        if (dlp__ranges_push(skip, r->done[d].a, r->done[d].b) != 0)
            return dlp__fail(DLP_ERR_NOMEM, r->func, "journal %s: done ranges", r->path);
    dlp__ranges_normalize(skip);
    long k = 0;
    long *still = malloc((size_t)(r->nfailed > 0 ? r->nfailed : 1) * sizeof *still);
    if (!still)
        return dlp__fail(DLP_ERR_NOMEM, r->func, "journal %s: failed items", r->path);
    for (long f = 0; f < r->nfailed; f++)
        if (r->failed[f].idx >= 0)
            still[k++] = r->failed[f].item;
    int bad = dlp__ranges_remove_items(skip, still, k);
    free(still);
    if (bad)
        return dlp__fail(DLP_ERR_NOMEM, r->func, "journal %s: done ranges", r->path);
    return DLP_OK;
}

static int read_journal(struct reader *r, long n, struct dlp__ranges *skip)
{
    const long magic = (long)sizeof DLP__JFILE_MAGIC - 1;
    unsigned char head[sizeof DLP__JFILE_MAGIC - 1];
    long have = r->size < magic ? r->size : magic;
    DLP_CALL(read_at(r, 0, head, (size_t)have));
    if (memcmp(head, DLP__JFILE_MAGIC, (size_t)have) != 0)
        return dlp__fail(DLP_ERR_JOURNAL, r->func,
                         "%s is not a dlp_mpi journal (it does not start with \"%s\"); "
                         "refusing to use it",
                         r->path, DLP__JFILE_MAGIC);
    if (r->size < magic) { /* new, or its first write was cut */
        if (ftruncate(r->fd, 0) != 0 || dlp__write_all(r->fd, DLP__JFILE_MAGIC, (size_t)magic) != 0)
            return dlp__fail(DLP_ERR_SYSTEM, r->func, "journal %s: cannot write: %s", r->path,
                             DLP__ERRNO_TEXT(errno));
        return DLP_OK;
    }
    DLP_CALL(scan_records(r));
    if (r->has_call &&
        (r->call_n != n || strncmp(r->call_func, r->func, DLP__JFUNC_BYTES - 1) != 0))
        return dlp__fail(DLP_ERR_JOURNAL, r->func,
                         "journal %s recorded call #%lu as %s with n = %lld; this call is "
                         "%s with n = %ld: the journal is from another run or program "
                         "(move it away to start over)",
                         r->path, r->seq, r->call_func, (long long)r->call_n, r->func, n);
    return done_set(r, skip);
}

int dlp__journal_read(int fd, const char *path, unsigned long seq, long n, const char *func,
                      struct dlp__ranges *skip, int *has_call)
{
    struct stat st;
    *has_call = 0;
    if (fstat(fd, &st) != 0)
        return dlp__fail(DLP_ERR_SYSTEM, func, "journal %s: %s", path, DLP__ERRNO_TEXT(errno));
    struct reader r;
    memset(&r, 0, sizeof r);
    r.fd = fd;
    r.path = path;
    r.func = func;
    r.seq = seq;
    r.size = (long)st.st_size;
    r.buf = malloc(2 * DLP__JFILE_CHUNK);
    if (!r.buf)
        return dlp__fail(DLP_ERR_NOMEM, func, "journal %s: a read buffer", path);
    r.aux = r.buf + DLP__JFILE_CHUNK;
    int rc = read_journal(&r, n, skip);
    if (rc == DLP_OK)
        *has_call = r.has_call;
    else
        dlp__ranges_free(skip);
    free(r.buf);
    free(r.done);
    free(r.failed);
    return rc;
}
