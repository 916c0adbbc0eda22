/* Bounded-size messages for item ranges and byte buffers (see transfer.h). */
#include "transfer.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlp_mpi.h"
#include "error.h"

/* Contiguous runs of at least this many bytes go as messages of their own,
 * straight from and into place: MPI moves them with one copy (MPICH over
 * UCX on one host: a single-copy read of the sender's pages), where a
 * derived datatype goes through MPICH's pack path in small fragments. */
#define DIRECT_MIN (64L << 10)
/* Everything else travels packed, in messages of a slot's size, WINDOW of
 * them in flight: the sender packs the next slots while the receiver takes
 * the last ones apart. A slot is an eighth of the packed bytes (so that
 * even a few MiB are pipelined), at least SLOT_MIN and at most SLOT_MAX:
 * each message costs a rendezvous of both ranks, and on a loaded node
 * (2 cores, load 6-12) 4 MiB slots moved 128 MiB of round-robin results in
 * 0.08-0.10 s, 256 KiB slots (L2-sized) in 0.17-0.24 s. */
#define SLOT_MIN (256L << 10)
#define SLOT_MAX (4L << 20)
#define WINDOW 4

/* A position in a segment list: segment s, its first `done` items passed. */
struct walk {
    const struct dlp__segment *segs;
    long nsegs, s, done;
    size_t elem, slot; /* slot: bytes of a packed message at most */
};

/* One message: direct (at base + first * elem, bytes) or packed (the items
 * from `from` on, bytes of them). */
struct msg {
    int direct;
    long first;
    size_t bytes;
    struct walk from;
};

static int contiguous(const struct dlp__segment *g) { return g->stride == 1 || g->count == 1; }

/* Segment g goes in direct messages (else packed). */
static int is_direct(const struct dlp__segment *g, size_t elem)
{
    return contiguous(g) ? (size_t)g->count * elem >= (size_t)DIRECT_MIN
                         : elem >= (size_t)DIRECT_MIN;
}

/* Past segments with nothing left (count 0, or every item passed). */
static void skip_empty(struct walk *w)
{
    while (w->s < w->nsegs && w->done >= w->segs[w->s].count) {
        w->s++;
        w->done = 0;
    }
}

/* The next message from w on (0: none left); advances w past it. Both sides
 * call it on the same segments and get the same messages. */
static int next_msg(struct walk *w, struct msg *m)
{
    skip_empty(w);
    if (w->s >= w->nsegs)
        return 0;
    const struct dlp__segment *g = &w->segs[w->s];
    if (is_direct(g, w->elem)) {
        long most = contiguous(g) ? DLP__MESSAGE_BYTES / (long)w->elem : 1;
        if (most < 1)
            most = 1;
        long k = g->count - w->done < most ? g->count - w->done : most;
        m->direct = 1;
        m->first = g->first + w->done * g->stride;
        m->bytes = (size_t)k * w->elem;
        w->done += k;
        return 1;
    }
    m->direct = 0;
    m->from = *w;
    m->bytes = 0;
    while (w->s < w->nsegs && !is_direct(&w->segs[w->s], w->elem)) {
        g = &w->segs[w->s];
        long room = (long)((w->slot - m->bytes) / w->elem);
        if (room == 0)
            break;
        long k = g->count - w->done < room ? g->count - w->done : room;
        m->bytes += (size_t)k * w->elem;
        w->done += k;
        skip_empty(w);
    }
    return 1;
}

/* Strided copies with the item size known to the compiler for the common
 * sizes. to_slot: from place (base) into the slot, else back. */
#define STRIDED_COPY(SIZE)                                                                     \
    do {                                                                                       \
        if (to_slot)                                                                           \
            for (long j = 0; j < k; j++)                                                       \
                memcpy(slot + (size_t)j * (SIZE), at + (size_t)j * step, (SIZE));              \
        else                                                                                   \
            for (long j = 0; j < k; j++)                                                       \
                memcpy(at + (size_t)j * step, slot + (size_t)j * (SIZE), (SIZE));              \
    } while (0)

/* Pack (to_slot) or unpack the packed message m between slot and base. */
static void copy_packed(int to_slot, char *base, char *slot, const struct msg *m)
{
    struct walk w = m->from;
    const size_t elem = w.elem;
    size_t left = m->bytes;
    while (left > 0) {
        skip_empty(&w);
        const struct dlp__segment *g = &w.segs[w.s];
        long k = g->count - w.done;
        if ((size_t)k * elem > left)
            k = (long)(left / elem);
        char *at = base + (size_t)(g->first + w.done * g->stride) * elem;
        size_t step = (size_t)g->stride * elem;
        if (contiguous(g)) {
            if (to_slot)
                memcpy(slot, at, (size_t)k * elem);
            else
                memcpy(at, slot, (size_t)k * elem);
        } else if (elem == 8) {
            STRIDED_COPY(8);
        } else if (elem == 4) {
            STRIDED_COPY(4);
        } else if (elem == 16) {
            STRIDED_COPY(16);
        } else {
            STRIDED_COPY(elem);
        }
        slot += (size_t)k * elem;
        left -= (size_t)k * elem;
        w.done += k;
    }
}

/* Bytes of one slot for these segments (0: nothing is packed). */
static size_t slot_bytes(size_t elem, const struct dlp__segment *segs, long nsegs)
{
    size_t packed = 0;
    for (long s = 0; s < nsegs; s++)
        if (segs[s].count > 0 && !is_direct(&segs[s], elem))
            packed += (size_t)segs[s].count * elem;
    size_t slot = packed / 8;
    if (slot < (size_t)SLOT_MIN)
        slot = (size_t)SLOT_MIN;
    if (slot > (size_t)SLOT_MAX)
        slot = (size_t)SLOT_MAX;
    return packed < slot ? packed : slot; /* (>= elem: packed items are < DIRECT_MIN) */
}

size_t dlp__transfer_stage_bytes(size_t elem, const struct dlp__segment *segs, long nsegs)
{
    if (elem == 0 || elem > (size_t)INT_MAX)
        return 0;
    return slot_bytes(elem, segs, nsegs) * WINDOW;
}

int dlp__transfer_segments(int send, char *base, size_t elem, const struct dlp__segment *segs,
                           long nsegs, char *stage, int peer, int tag, MPI_Comm comm,
                           const char *func)
{
    if (elem == 0 || elem > (size_t)INT_MAX)
        return dlp__fail(DLP_ERR_ARG, func, "element size %zu out of range", elem);
    const size_t slot = slot_bytes(elem, segs, nsegs);
    struct walk w = {segs, nsegs, 0, 0, elem, slot};
    MPI_Request req[WINDOW];
    struct msg pend[WINDOW];
    for (int p = 0; p < WINDOW; p++)
        req[p] = MPI_REQUEST_NULL;
    int mrc = MPI_SUCCESS;
    if (send) {
        struct msg m = {0};
        for (long q = 0; mrc == MPI_SUCCESS && next_msg(&w, &m); q++) {
            int p = (int)(q % WINDOW);
            mrc = MPI_Wait(&req[p], MPI_STATUS_IGNORE); /* slot p is free again */
            if (mrc != MPI_SUCCESS)
                break;
            char *at = stage + (size_t)p * slot;
            if (!m.direct)
                copy_packed(1, base, at, &m);
            mrc = MPI_Isend(m.direct ? base + (size_t)m.first * elem : at, (int)m.bytes,
                            MPI_BYTE, peer, tag, comm, &req[p]);
        }
    } else {
        /* receives posted WINDOW ahead, completed and unpacked in order */
        int more = 1;
        long posted = 0;
        for (long q = 0; mrc == MPI_SUCCESS; q++) {
            while (more && mrc == MPI_SUCCESS && posted < q + WINDOW) {
                int p = (int)(posted % WINDOW);
                more = next_msg(&w, &pend[p]);
                if (!more)
                    break;
                char *to = pend[p].direct ? base + (size_t)pend[p].first * elem
                                          : stage + (size_t)p * slot;
                mrc = MPI_Irecv(to, (int)pend[p].bytes, MPI_BYTE, peer, tag, comm, &req[p]);
                posted++;
            }
            if (q >= posted || mrc != MPI_SUCCESS)
                break;
            int p = (int)(q % WINDOW);
            mrc = MPI_Wait(&req[p], MPI_STATUS_IGNORE);
            if (mrc == MPI_SUCCESS && !pend[p].direct)
                copy_packed(0, base, stage + (size_t)p * slot, &pend[p]);
        }
    }
    if (mrc != MPI_SUCCESS) {
        /* receives: cancelled and completed, so nothing writes into place
         * or into the stage later; sends complete in the background (or
         * not: after an MPI error the job is going down) */
        for (int p = 0; p < WINDOW; p++) {
            if (req[p] == MPI_REQUEST_NULL)
                continue;
            if (!send && MPI_Cancel(&req[p]) == MPI_SUCCESS)
                MPI_Wait(&req[p], MPI_STATUS_IGNORE);
            else
                MPI_Request_free(&req[p]);
        }
    } else {
        for (int p = 0; p < WINDOW && mrc == MPI_SUCCESS; p++)
            mrc = MPI_Wait(&req[p], MPI_STATUS_IGNORE);
    }
    return mrc == MPI_SUCCESS ? DLP_OK
                              : dlp__fail_mpi(func, send ? "sending results" : "receiving results",
                                              mrc);
}

/* ------------------------------------------------------------- bytes -- */

int dlp__transfer_wait(MPI_Request *req)
{
    int flag = 0, mrc;
    while ((mrc = MPI_Test(req, &flag, MPI_STATUS_IGNORE)) == MPI_SUCCESS && !flag)
        sched_yield();
    return mrc;
}

/* Record the failed MPI call of a transfer with peer: "<what> (MPI_Isend
 * to rank P) failed: <MPI's text>". Returns DLP_ERR_MPI. */
static int transfer_failed(const char *func, const char *what, int send, int peer, int mrc)
{
    char where[256];
    snprintf(where, sizeof where, "%s (%s rank %d)", what,
             send ? "MPI_Isend to" : "MPI_Irecv from", peer);
    return dlp__fail_mpi(func, where, mrc);
}

/* Send (send = 1) or receive the bytes at buf: one message, waited for. */
static int one_message(int send, void *buf, size_t bytes, int peer, int tag, MPI_Comm comm)
{
    MPI_Request req;
    int mrc = send ? MPI_Isend(buf, (int)bytes, MPI_BYTE, peer, tag, comm, &req)
                   : MPI_Irecv(buf, (int)bytes, MPI_BYTE, peer, tag, comm, &req);
    return mrc == MPI_SUCCESS ? dlp__transfer_wait(&req) : mrc;
}

/* len bytes in messages of at most DLP__MESSAGE_BYTES; at least `least`
 * messages (0 or 1). */
static int move(int send, void *buf, size_t len, int least, int peer, int tag, MPI_Comm comm,
                const char *what, const char *func)
{
    size_t off = 0;
    for (int m = 0; off < len || m < least; m = 1) {
        size_t part = len - off < (size_t)DLP__MESSAGE_BYTES ? len - off
                                                              : (size_t)DLP__MESSAGE_BYTES;
        int mrc = one_message(send, (char *)buf + off, part, peer, tag, comm);
        if (mrc != MPI_SUCCESS)
            return transfer_failed(func, what, send, peer, mrc);
        off += part;
    }
    return DLP_OK;
}

int dlp__move_bytes(int send, void *buf, size_t len, int peer, int tag, MPI_Comm comm,
                    const char *what, const char *func)
{
    return move(send, buf, len, 0, peer, tag, comm, what, func);
}

int dlp__send_bytes(const void *buf, size_t len, int peer, int tag, MPI_Comm comm,
                    const char *func)
{
    /* the sends only read buf (MPI_Isend's buffer is const) */
    void *out;
    memcpy(&out, &buf, sizeof out);
    return move(1, out, len, 1, peer, tag, comm, "sending bytes", func);
}

int dlp__recv_bytes(void *buf, size_t len, int peer, int tag, MPI_Comm comm, const char *func)
{
    return move(0, buf, len, 1, peer, tag, comm, "receiving bytes", func);
}

int dlp__move_pieces(int send, int k, const int *lens, const MPI_Aint *disp, void *first,
                     int peer, int tag, MPI_Comm comm, const char *what, const char *func)
{
    int mrc;
    if (k == 1) {
        mrc = one_message(send, first, (size_t)lens[0], peer, tag, comm);
    } else {
        MPI_Datatype type;
        MPI_Request req;
        if ((mrc = MPI_Type_create_hindexed(k, lens, disp, MPI_BYTE, &type)) == MPI_SUCCESS &&
            (mrc = MPI_Type_commit(&type)) == MPI_SUCCESS) {
            mrc = send ? MPI_Isend(MPI_BOTTOM, 1, type, peer, tag, comm, &req)
                       : MPI_Irecv(MPI_BOTTOM, 1, type, peer, tag, comm, &req);
            if (mrc == MPI_SUCCESS)
                mrc = dlp__transfer_wait(&req);
            MPI_Type_free(&type);
        }
    }
    return mrc == MPI_SUCCESS ? DLP_OK : transfer_failed(func, what, send, peer, mrc);
}

/* Receive the next message with tag from src, whatever its size (at most
 * cap); *got: its bytes. Returns the MPI status code. */
static int recv_probed(void *buf, size_t cap, int src, int tag, MPI_Comm comm, int *got)
{
    MPI_Message msg;
    MPI_Status st;
    int flag = 0, mrc;
    while ((mrc = MPI_Improbe(src, tag, comm, &flag, &msg, &st)) == MPI_SUCCESS && !flag)
        sched_yield();
    if (mrc != MPI_SUCCESS)
        return mrc;
    int count = 0;
    if ((mrc = MPI_Get_count(&st, MPI_BYTE, &count)) != MPI_SUCCESS)
        return mrc;
    if (count < 0 || (size_t)count > cap)
        return MPI_ERR_TRUNCATE;
    MPI_Request req;
    mrc = MPI_Imrecv(buf, count, MPI_BYTE, &msg, &req);
    if (mrc == MPI_SUCCESS)
        mrc = dlp__transfer_wait(&req);
    *got = count;
    return mrc;
}

int dlp__relay_bytes(int from, int to, size_t total, unsigned char *stage, size_t cap, int tag,
                     MPI_Comm comm, const char *what, const char *func)
{
    if (total == 0)
        return DLP_OK;
    unsigned char *buf[2] = {stage, stage + cap};
    int size[2] = {0, 0}, j = 0;
    size_t done = 0;
    int mrc = recv_probed(buf[0], cap, from, tag, comm, &size[0]);
    while (mrc == MPI_SUCCESS) {
        MPI_Request req;
        mrc = MPI_Isend(buf[j], size[j], MPI_BYTE, to, tag, comm, &req);
        if (mrc != MPI_SUCCESS)
            break;
        done += (size_t)size[j];
        if (done < total)
            mrc = recv_probed(buf[1 - j], cap, from, tag, comm, &size[1 - j]);
        int mrc2 = dlp__transfer_wait(&req);
        if (mrc == MPI_SUCCESS)
            mrc = mrc2;
        if (done >= total)
            break;
        j = 1 - j;
    }
    if (mrc == MPI_SUCCESS)
        return DLP_OK;
    char where[256];
    snprintf(where, sizeof where, "%s (relay from rank %d to rank %d)", what, from, to);
    return dlp__fail_mpi(func, where, mrc);
}
