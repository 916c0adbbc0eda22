/* The sender of a map call: on every rank but the master, a light thread
 * that ships the rank's pending results to the master as one message per
 * batch, within the rank's credit window, and ends after the master
 * acknowledged the rank's end marker (see map.c). */
#include <stdlib.h>
#include <string.h>

#include "doorbell.h"
#include "map.h"
#include "runtime.h"

struct sends {
    MPI_Request *req;
    void **buf;
    int len, cap;
};

static void sends_add(struct sends *s, MPI_Request r, void *buf)
{
    if (s->len == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        MPI_Request *rq = realloc(s->req, (size_t)cap * sizeof *rq);
        if (rq)
            s->req = rq;
        void **b = realloc(s->buf, (size_t)cap * sizeof *b);
        if (b)
            s->buf = b;
        if (!rq || !b)
            dlp__helper_abort("map sender", "out of memory for the send table", MPI_SUCCESS);
        s->cap = cap;
    }
    s->req[s->len] = r;
    s->buf[s->len] = buf;
    s->len++;
}

/* Recycle the completed sends' batches; 1 if any completed. */
static int sends_reap(struct dlp_map *m, struct sends *s)
{
    int any = 0;
    for (int k = 0; k < s->len;) {
        int done = 0;
        CHECK("map sender", MPI_Test(&s->req[k], &done, MPI_STATUS_IGNORE));
        if (done) {
            if (s->buf[k])
                dlp__map_recycle(m, s->buf[k]);
            s->len--;
            s->req[k] = s->req[s->len];
            s->buf[k] = s->buf[s->len];
            any = 1;
        } else {
            k++;
        }
    }
    return any;
}

void *dlp__map_sender_main(void *arg)
{
    struct dlp_map *m = arg;
    struct dlp_loop *L = m->L;
    MPI_Comm comm = dlp__rt.comm;
    struct sends sends = {NULL, NULL, 0, 0};
    struct ack ack;
    MPI_Request ack_req;
    CHECK("map sender", MPI_Irecv(&ack, (int)sizeof ack, MPI_BYTE, 0, DLP__TAG_MAP_ACK, comm,
                                  &ack_req));
    size_t unacked = 0;
    int end_sent = 0, final = 0;
    struct batch_head end = {.seq = L->seq, .records = 0, .bytes = 0, .last = 1, .pad = 0};
    unsigned backoff = DLP__POLL_MIN_US;
    double last_ask = dlp__now_coarse();

    while (!final || sends.len > 0) {
        int busy = sends_reap(m, &sends);
        int got = 0;
        while (!final) {
            CHECK("map sender", MPI_Test(&ack_req, &got, MPI_STATUS_IGNORE));
            if (!got)
                break;
            if (ack.seq != L->seq || ack.bytes < 0 || (size_t)ack.bytes > unacked)
                dlp__helper_abort("map sender", "ack for another call", MPI_SUCCESS);
            unacked -= (size_t)ack.bytes;
            dlp__map_release(m, (size_t)ack.bytes);
            busy = 1;
            final = ack.final;
            if (!final)
                CHECK("map sender", MPI_Irecv(&ack, (int)sizeof ack, MPI_BYTE, 0,
                                              DLP__TAG_MAP_ACK, comm, &ack_req));
        }
        if (!end_sent) {
            /* team_done first: the threads handed over their last results
             * before it was set. Everything handed over goes: the threads
             * reserve window bytes before they append, so what they hand
             * over fits the window (each may exceed it by one result). */
            int done = atomic_load(&m->team_done);
            dlp__map_ask(m, &last_ask);
            int sent = 0;
            for (struct handed *h = dlp__map_take(m), *next; h; h = next) {
                next = h->next;
                MPI_Request r;
                CHECK("map sender", MPI_Isend_c(HANDED_BATCH(h), (MPI_Count)h->len, MPI_BYTE, 0,
                                                DLP__TAG_MAP, comm, &r));
                sends_add(&sends, r, h);
                unacked += h->len - sizeof(struct batch_head);
                sent = busy = 1;
            }
            if (done && !sent) {
                MPI_Request r;
                CHECK("map sender", MPI_Isend(&end, (int)sizeof end, MPI_BYTE, 0, DLP__TAG_MAP,
                                              comm, &r));
                sends_add(&sends, r, NULL);
                end_sent = 1;
                busy = 1;
            }
        }
        if (busy) {
            backoff = DLP__POLL_MIN_US;
        } else if (end_sent || atomic_load(&m->room_waiters) > 0) {
            /* the master owes an answer that someone waits for (an ack for
             * a thread waiting for room, the final ack): poll for it */
            dlp__sleep_us(backoff);
            backoff = backoff * 2 > DLP__POLL_MAX_US ? DLP__POLL_MAX_US : backoff * 2;
        } else {
            /* sleep until rung (a thread handed over a batch, waits for
             * room, the team is done); sends that complete and acks that
             * nobody waits for yet are taken at the next look */
            dlp__doorbell_arm(&m->bell);
            if (dlp__map_ready(m) || atomic_load(&m->team_done))
                dlp__doorbell_disarm(&m->bell);
            else
                dlp__doorbell_wait(&m->bell, DLP__MAP_LINGER_US);
        }
    }
    free(sends.req);
    free(sends.buf);
    return NULL;
}
