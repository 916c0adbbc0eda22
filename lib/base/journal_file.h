/* The journal's file (see journal.h for what it records): its format, and
 * reading it in bounded memory.
 *
 * The file: the 8 bytes "dlpjrnl1", then records of
 *     u32 magic, u32 type, u64 call number, u64 payload bytes,
 *     payload, u64 FNV-1a checksum of all that
 * in the host's byte order. The reader holds at most two chunks of the file
 * (DLP__JFILE_CHUNK bytes each) besides the done ranges it collects, however
 * large the file or its records are. */
#ifndef DLP_LIB_JOURNAL_FILE_H
#define DLP_LIB_JOURNAL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "ranges.h"

#define DLP__JFILE_MAGIC "dlpjrnl1"
#define DLP__JREC_MAGIC 0x52504c44u /* "DLPR" */
enum {
    DLP__JREC_CALL = 1,   /* n and the function of a call */
    DLP__JREC_DONE = 2,   /* int64 {start, end} ranges */
    DLP__JREC_FAILED = 3, /* int64 items */
    DLP__JREC_RUN = 4,    /* a run of the call starts */
    DLP__JREC_BITS = 5    /* int64 first item, then a bit per item from it */
};
/** Largest payload of a record. */
#define DLP__JREC_MAX_BYTES ((uint64_t)1 << 31)
#define DLP__JFUNC_BYTES 40
/** Bytes the reader reads at a time. */
#define DLP__JFILE_CHUNK ((size_t)1 << 18)

struct dlp__jrec_head {
    uint32_t magic, type;
    uint64_t seq, bytes;
};
struct dlp__jcall_rec {
    int64_t n;
    char func[DLP__JFUNC_BYTES];
};

#define DLP__FNV_SEED 0xcbf29ce484222325ull

/** FNV-1a of len bytes at p, continuing from h (start: DLP__FNV_SEED). */
static inline uint64_t dlp__fnv1a(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < len; k++) {
        h ^= b[k];
        h *= 0x100000001b3ull;
    }
    return h;
}

/** Make room for need elements of elem bytes in *p (capacity *cap,
 *  doubled); 0, or -1 when out of memory (*p unchanged). */
int dlp__array_grow(void **p, long *cap, long need, size_t elem);

/** write() all len bytes (again after EINTR); 0, or -1 with errno. */
int dlp__write_all(int fd, const void *p, size_t len);

/** Read the journal open (read-write, locked by the caller) at fd, named
 *  path in messages, for call number seq of n items of function func:
 *  a file shorter than the magic (new, or its first write was cut) is made
 *  an empty journal; a record cut short by the end of the file (or the last
 *  record, with a bad checksum, or trailing zeros) is dropped, the file
 *  truncated there, with a message on stderr; *has_call says whether the file
 *  holds the call's CALL record; skip (empty on entry) gets the call's done
 *  items, normalized. Errors, the file left as it is: DLP_ERR_JOURNAL for a
 *  file that is not a journal, a corrupted record that is not cut short by the
 *  end of the file (also a length field that reaches past the end when a
 *  valid record follows), anything out of range, or a call recorded with
 *  another n or function; DLP_ERR_SYSTEM for I/O errors; DLP_ERR_NOMEM.
 *  Not collective; one thread. */
int dlp__journal_read(int fd, const char *path, unsigned long seq, long n, const char *func,
                      struct dlp__ranges *skip, int *has_call);

#endif
