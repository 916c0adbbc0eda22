/* Internals of dlp_map_unordered shared by its parts: map.c (the calls and
 * the team threads), map_sender.c (every other rank's helper thread) and
 * map_consumer.c (the master's). See map.c for the protocol. */
#ifndef DLP_LIB_MAP_H
#define DLP_LIB_MAP_H

#include <pthread.h>
#include <stdint.h>

#include "loop.h"

/* Wire format: a batch is a head, then records, each a head and its bytes
 * padded to 8. */
struct batch_head {
    unsigned long seq;
    long records;
    long bytes; /* of the records (what the ack returns) */
    int last;   /* end marker: the rank's team is done (records 0) */
    int pad;
};
struct record_head {
    long item;
    uint64_t len;
};
struct ack {
    unsigned long seq;
    long bytes;
    int final;
    int pad;
};

#define PAD8(x) (((x) + 7u) & ~(size_t)7u)
#define RECORD_BYTES(len) (sizeof(struct record_head) + PAD8(len))

/* A batch waiting on the master for the callback. */
struct batch {
    struct batch *next;
    char *p; /* batch_head + records */
    int rank;
};

/* The master's consumer: batches in arrival order and the one being read. */
struct consumer {
    struct batch *head, **tail;
    struct batch *cur;   /* batch being handed out */
    const char *at;      /* its next record */
    long left;           /* its records not handed out yet */
    int others, ended;   /* other ranks, those whose end marker was handled */
    int mine_done;       /* the master's own team is done */
    int finished;        /* every result is in */
    unsigned backoff;
    int busy_ranks, busy_nodes;
    long stride, since_look; /* results between looks at the clock (progress) */
    double last_look;
    int *busy_on_node;   /* [nodes] busy ranks of each node (progress) */
};

struct dlp_map {
    struct dlp_loop *L;
    dlp_work_fn work;
    dlp_result_fn on_result;
    void *ctx;
    size_t window;

    pthread_mutex_t lock; /* guards pending */
    char *pending;        /* batch_head + records appended so far */
    size_t pending_len, pending_cap;
    long pending_records;

    _Atomic size_t held;  /* this rank's result bytes the master has not handled */
    _Atomic int bell;     /* wakes the helper (doorbell.h) */
    _Atomic int team_done;
    pthread_t helper;

    pthread_t team;       /* loop form: the thread running the team */
    int has_team_thread;
    int has_helper;

    long consumed;        /* master: results handed to the callback or loop */
    long last;            /* master, loop form: the item dlp_map_next() returned last
                             (done when the loop asks for the next), or -1 */
    struct dlp__jslot *js; /* master: the journal's buffer of the consumer */
    int stopped;          /* master: discard the rest (callback failed, loop left) */
    struct consumer in;   /* master */
};

#define CHECK(who, call) DLP__HELPER_CHECK(who, call)

/** Take the pending batch, its head filled in, if it has results and at
 *  most room bytes of them (else NULL); *len: its bytes with the head. The
 *  caller owns it. */
char *dlp__map_take_pending(struct dlp_map *m, size_t room, size_t *len);

/** Records appended and not taken yet. */
long dlp__map_pending_records(struct dlp_map *m);

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
