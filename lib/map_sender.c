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
    char **buf;
    int len, cap;
};

static void sends_add(struct sends *s, MPI_Request r, char *buf)
{
    if (s->len == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        MPI_Request *rq = realloc(s->req, (size_t)cap * sizeof *rq);
        if (rq)
            s->req = rq;
        char **b = realloc(s->buf, (size_t)cap * sizeof *b);
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

/* Free the completed sends; 1 if any completed. */
static int sends_reap(struct sends *s)
{
    int any = 0;
    for (int k = 0; k < s->len;) {
        int done = 0;
        CHECK("map sender", MPI_Test(&s->req[k], &done, MPI_STATUS_IGNORE));
        if (done) {
            free(s->buf[k]);
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

    while (!final || sends.len > 0) {
        int busy = sends_reap(&sends);
        int got = 0;
        while (!final) {
            CHECK("map sender", MPI_Test(&ack_req, &got, MPI_STATUS_IGNORE));
            if (!got)
                break;
            if (ack.seq != L->seq || ack.bytes < 0 || (size_t)ack.bytes > unacked)
                dlp__helper_abort("map sender", "ack for another call", MPI_SUCCESS);
            unacked -= (size_t)ack.bytes;
            atomic_fetch_sub(&m->held, (size_t)ack.bytes);
            busy = 1;
            final = ack.final;
            if (!final)
                CHECK("map sender", MPI_Irecv(&ack, (int)sizeof ack, MPI_BYTE, 0,
                                              DLP__TAG_MAP_ACK, comm, &ack_req));
        }
        if (!end_sent) {
            /* team_done first: results appended before it are then pending */
            int done = atomic_load(&m->team_done);
            /* within the window; one larger batch when nothing is in flight */
            size_t room = unacked == 0            ? SIZE_MAX
                          : unacked < m->window ? m->window - unacked
                                                : 0;
            size_t len = 0;
            char *p = dlp__map_take_pending(m, room, &len);
            if (p) {
                MPI_Request r;
                CHECK("map sender", MPI_Isend_c(p, (MPI_Count)len, MPI_BYTE, 0, DLP__TAG_MAP,
                                                comm, &r));
                sends_add(&sends, r, p);
                unacked += len - sizeof(struct batch_head);
                busy = 1;
            } else if (done && dlp__map_pending_records(m) == 0) {
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
        } else if (sends.len > 0 || unacked > 0 || end_sent) {
            /* the master owes an answer: poll for it */
            dlp__sleep_us(backoff);
            backoff = backoff * 2 > DLP__POLL_MAX_US ? DLP__POLL_MAX_US : backoff * 2;
        } else {
            /* sleep until rung (results appended, team done) */
            dlp__doorbell_arm(&m->bell);
            if (dlp__map_pending_records(m) > 0 || atomic_load(&m->team_done))
                dlp__doorbell_disarm(&m->bell);
            else
                dlp__doorbell_wait(&m->bell, DLP__AGENT_NAP_US);
        }
    }
    free(sends.req);
    free(sends.buf);
    return NULL;
}

