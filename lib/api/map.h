/* Internals of dlp_map_unordered shared by its parts: map.c (the calls and
 * the team threads), map_sender.c (every other rank's helper thread) and
 * map_consumer.c (the master's). See map.c for the protocol. */
#ifndef DLP_LIB_MAP_H
#define DLP_LIB_MAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/* Wire format: a batch is a head, then runs. A run is the results of
 * consecutive items of one size (a team thread's items mostly come in
 * runs: it claims blocks of tickets): a head, then each result's bytes
 * padded to 8. Tiny results so cost their bytes, not a head each. */
struct batch_head {
    unsigned long seq;
    long records; /* results, in all runs */
    long bytes;   /* of the runs (what the ack returns) */
    int last;   /* end marker: the rank's team is done (records 0) */
    int pad;
};
struct run_head {
    long item;      /* the first */
    uint32_t len;   /* of each result (at most 1 GiB) */
    uint32_t count; /* results: items item .. item + count - 1 */
};
struct ack {
    unsigned long seq;
    long bytes;
    int final;
    int pad;
};

#define PAD8(x) (((x) + 7u) & ~(size_t)7u)

/* A batch waiting on the master for the callback. */
struct batch {
    struct batch *next;
    char *p;    /* batch_head + runs */
    void *mem;  /* what to free */
    size_t len; /* of p */
    int rank;
};

/* A batch a team thread handed to its rank's helper: this head, then the
 * batch (batch_head + runs), in one allocation. */
struct handed {
    struct handed *next;
    size_t len; /* of the batch, with its head */
    size_t cap; /* bytes allocated, with this head */
    size_t pad; /* keeps the batch 16-byte aligned */
};
#define HANDED_BATCH(h) ((char *)(h) + sizeof(struct handed))

/* The master's consumer: batches in arrival order and the one being read. */
struct consumer {
    struct batch *head, **tail;
    struct batch *cur;   /* batch being handed out */
    const char *at;      /* its next result's bytes, or next run's head */
    const char *end;     /* of its runs */
    long left;           /* its results not handed out yet */
    long run_item;       /* the current run's next item */
    long run_left;       /* its results not handed out yet */
    size_t run_len;      /* of each of its results */
    int others, ended;   /* other ranks, those whose end marker was handled */
    int mine_done;       /* the master's own team is done */
    int finished;        /* every result is in */
    unsigned backoff;
    double last_ask;     /* dlp__now_coarse() when it last asked the threads for theirs */
    int busy_ranks, busy_nodes;
    long stride, since_look; /* results between looks at the clock (progress) */
    double last_look;
    int *busy_on_node;   /* [nodes] busy ranks of each node (progress) */
};

/* A team thread's results: the batch it appends to, its own (no lock, no
 * atomic per result), and the batches it handed to the helper. */
struct map_slot {
    /* the thread's own */
    _Alignas(64) struct handed *cur; /* the batch being filled, or NULL */
    size_t len, cap;                 /* of it: bytes used (with both heads), allocated */
    long records;
    size_t run;       /* offset in cur of the open run's head, or 0 */
    long run_next;    /* the item that would join it */
    uint32_t run_len, run_count; /* its results' length, its results so far */
    size_t last;   /* bytes of the last batch handed (sizes the next one) */
    size_t credit; /* window bytes the thread reserved and not used yet */
    /* shared with the helper */
    _Alignas(64) _Atomic(struct handed *) ready; /* handed batches, newest first */
    _Atomic int want; /* the helper asks for the results so far */
};

/* How long results that fill no ring threshold wait for the helper at
 * most, microseconds: its nap while its team computes. */
#define DLP__MAP_LINGER_US 2000u
/* Longest sleep of a team thread waiting for room (a safety net: the
 * helpers wake it when they give bytes back). */
#define DLP__MAP_ROOM_NAP_US 20000u
/* Ring threshold and credit grant at most, bytes (see map.c). Every
 * hand-over wakes the helper, which then runs on the team's cores: with
 * few threads per rank (where the window allows large batches) tiny
 * results should hand over rarely. */
#define DLP__MAP_RING_MAX ((size_t)1 << 20)
#define DLP__MAP_GRANT_MAX ((size_t)16 << 10)
/* Bytes of batches kept for reuse at most, besides the window's and a
 * quarter of it (spare_max): a batch freed and allocated again costs
 * fresh pages (malloc trims its heaps). */
#define DLP__MAP_SPARE_BYTES ((size_t)1 << 20)

struct dlp_map {
    struct dlp_loop *L;
    dlp_work_fn work;
    dlp_result_fn on_result;
    void *ctx;
    size_t window;
    size_t ring_bytes;    /* a slot rings the helper when its results reach this */
    size_t grant;         /* window bytes a thread reserves at a time */

    struct map_slot *slots; /* [nslots]: one per team thread */
    int nslots;

    _Atomic size_t held;  /* this rank's window bytes reserved: results the master
                             has not handled, and the threads' unused credits */
    _Atomic int bell;     /* wakes the helper (doorbell.h) */
    _Atomic int team_done;
    _Atomic int room_waiters; /* team threads waiting for room */
    pthread_mutex_t spare_lock; /* guards spare, spares */
    struct handed *spare; /* batches done with, for the next ones */
    size_t spare_bytes;   /* their caps */
    size_t spare_max;     /* of spare_bytes: window + window / 4 + DLP__MAP_SPARE_BYTES */
    pthread_mutex_t room_lock; /* with room_cond: they sleep until bytes come back */
    pthread_cond_t room_cond;
    pthread_t helper;

    pthread_t team;       /* loop form: the thread running the team */
    int has_team_thread;
    int has_helper;

    long consumed;        /* master: results handed to the callback or loop */
    long done;            /* master: of them handled (added to the loop's count at the end) */
    long last;            /* master, loop form: the item dlp_map_next() returned last
                             (done when the loop asks for the next), or -1 */
    struct dlp__jslot *js; /* master: the journal's buffer of the consumer */
    int stopped;          /* master: discard the rest (callback failed, loop left) */
    struct consumer in;   /* master */
};

#define CHECK(who, call) DLP__HELPER_CHECK(who, call)

/** Helper: every batch the team threads handed over so far, oldest
 *  first per thread (NULL: none). The caller owns them. */
struct handed *dlp__map_take(struct dlp_map *m);

/** Helper: has a team thread handed over a batch? (The re-check after
 *  arming the doorbell: the threads ring when they hand one over.) */
int dlp__map_ready(struct dlp_map *m);

/** Helper: ask every team thread for the results it holds (each hands them
 *  over when its current item ends) if DLP__MAP_LINGER_US passed since
 *  the last time (*last: then, dlp__now_coarse(); updated): so a result
 *  waits about that long for the helper at most, not for a full batch. */
void dlp__map_ask(struct dlp_map *m, double *last);

/** Helper: a handed batch is done with (handled, or sent): kept for the
 *  next batches (a few), else freed. */
void dlp__map_recycle(struct dlp_map *m, struct handed *h);

/** A kept batch's memory (h->cap bytes): the first of at least want
 *  bytes, else the first kept (smaller: the caller grows it), or NULL:
 *  none is kept. */
struct handed *dlp__map_spare(struct dlp_map *m, size_t want);

/** Helper: bytes of results handled by the master come back to the
 *  window; wakes the team threads waiting for room. */
void dlp__map_release(struct dlp_map *m, size_t bytes);

/** Every other rank's helper: ships batches, gets credits back. */
void *dlp__map_sender_main(void *map);

/** Master: set up / free the consumer. */
void dlp__map_consumer_init(struct dlp_map *m);
void dlp__map_consumer_free(struct dlp_map *m);

/** Master: the next result in arrival order (1), or 0 when every rank's
 *  results are in. The data stays valid until the next call. Results
 *  arriving while m->stopped are dropped. */
int dlp__map_consumer_next(struct dlp_map *m, long *item, const void **data, size_t *len);

/** Master's helper thread of dlp_map_unordered(): runs the callback. */
void *dlp__map_consumer_main(void *map);

#endif
