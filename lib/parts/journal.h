/* The journal of a parallel call (opts.journal / DLP_JOURNAL): a file on
 * the master that records which items are done, so that a rerun of the
 * same program skips them.
 *
 * Every rank's threads note the items they finish (or, in a map, the
 * master notes the items whose on_result returned 0) into a small buffer
 * of their own (a slot). A journal thread per rank empties the slots and
 * sends what they held to the master about every DLP__JOURNAL_TICK
 * seconds, as sorted ranges; the master's journal thread merges what came
 * from all ranks over the same interval (round robin's strided items
 * become whole ranges again) and appends it to the file (a write survives
 * a killed process), and fsyncs every
 * sync seconds (DLP_JOURNAL_SYNC) and at the end of the call. A rerun
 * repeats at most the items finished in the last tick before a kill.
 *
 * The file: the 8 bytes "dlpjrnl1", then records of
 *     u32 magic, u32 type, u64 call number, u64 payload bytes,
 *     payload, u64 FNV-1a checksum of all that
 * in the host's byte order; types CALL (n and the function of a call),
 * RUN (a run of the call starts: written every time), DONE (int64 {start,
 * end} ranges), BITS (the same as an int64 first item and a bit per item
 * from it, when that is smaller) and FAILED (int64 items). An item is done when a DONE
 * record covers it in a later run than every FAILED record of it: within
 * one run a failure wins, whatever the order in which the threads' notes
 * reached the file (an item is done at most once per run). A record cut short by
 * a kill or a crash at the end of the file is dropped (its items run
 * again); anything else that does not check out is an error, never
 * trusted. journal_file.h has the format and the reader. */
#ifndef DLP_LIB_JOURNAL_H
#define DLP_LIB_JOURNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ranges.h"

/** Entries a thread buffers before handing them to its rank. */
#define DLP__JBUF_ITEMS 64
/** Seconds between the hand-overs of a thread's buffer and between the
 *  messages of a rank's journal thread. */
#define DLP__JOURNAL_TICK 0.1

/* The call a journal records, and how it reports that it can no longer
 * write: failed(ctx, code, message), a failure of the call (any thread). */
struct dlp__journal_call {
    unsigned long seq;
    long n;
    const char *func;
    void (*failed)(void *ctx, int code, const char *msg);
    void *ctx;
};

/** Slots of thread buffers per rank (more threads share them). */
#define DLP__JOURNAL_SLOTS 1024

/* A thread's buffer: item i done, or ~i (negative) failed. The thread
 * appends under the slot's lock; the rank's journal thread empties every
 * slot every tick, so nothing waits in a buffer longer than a tick (even
 * while its thread runs a long item). */
struct dlp__jslot {
    _Alignas(64) _Atomic int lock;
    int len;
    long entry[DLP__JBUF_ITEMS];
};

struct dlp__journal {
    struct dlp__journal_call call;
    struct dlp__ranges skip;  /* done in earlier runs (every rank) */
    long done_before;         /* items in skip */
    pthread_mutex_t lock;     /* pending list */
    long *pend, npend, cap;
    pthread_t thread;
    int running;
    _Atomic int quit, bell;
    /* master */
    const char *path;
    int fd;
    unsigned long seq;
    long n;
    int has_call;             /* the file has this call's CALL record */
    double sync, synced;      /* fsync interval, time of the last fsync */
    long recorded;            /* items this run's DONE records hold */
    struct dlp__jslot *slots; /* [DLP__JOURNAL_SLOTS] the threads' buffers */
    _Atomic int nslots;       /* slots handed out */
    struct dlp__ranges acc;   /* done ranges received, merged before they are written */
    long *acc_failed, nfailed, cfailed;
    double written;           /* time of the last write */
    int open_ranks;           /* ranks whose last batch has not come */
};

/** Master, before the call's handshake: open (or create, mode 0600) the
 *  journal at path for call number seq with n items, check it, drop a torn
 *  last record, read which items are done (journal_file.h). DLP_ERR_JOURNAL
 *  for a path that is a symbolic link, a file that is not a regular file,
 *  belongs to another user or that its group or others can write, is not a
 *  journal, is corrupted, is in use, or recorded this call with another n
 *  or function; DLP_ERR_SYSTEM for I/O errors. Not collective. */
int dlp__journal_open(struct dlp__journal *J, const char *path, double sync, unsigned long seq,
                      long n, const char *func);

/** After a successful handshake (collective): the master records the call
 *  (if new), every rank learns the done items, and the journal threads
 *  start. Failures abort the job (the ranks already agreed to run). */
void dlp__journal_start(struct dlp__journal *J, const struct dlp__journal_call *L);

/** A buffer for the calling thread (any thread, once per call). */
struct dlp__jslot *dlp__journal_slot(struct dlp__journal *J);

/** Note an entry: item i done, or ~i failed (any thread, its slot). */
void dlp__journal_note(struct dlp__journal *J, struct dlp__jslot *s, long entry);

/** End of the call (collective, main thread, after every thread of the call
 *  left): the last batches reach the master, which writes and fsyncs them.
 *  Frees everything. */
void dlp__journal_finish(struct dlp__journal *J);

/** Close a journal that dlp__journal_open() opened but the call did not
 *  start (its handshake failed). */
void dlp__journal_close(struct dlp__journal *J);

#endif
