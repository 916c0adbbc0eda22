/* Bounded-size messages for item ranges and byte buffers (see transfer.h). */
#include "transfer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dlp_mpi.h"
#include "error.h"

#define PIECES_PER_MESSAGE 1024
/* Strided items travel packed, in messages of at most this many bytes:
 * MPICH 4.0.2 copies the blocks of a vector type one by one (about
 * 0.65 GB/s for 8-byte items), a memcpy loop is ten times faster. */
#define PACK_BYTES (16L << 20)
/* Items this large or larger travel as vector blocks, unpacked. */
#define PACK_ITEM_MAX 4096

struct batch {
    int n;
    long bytes;
    MPI_Datatype type[PIECES_PER_MESSAGE];
    MPI_Aint disp[PIECES_PER_MESSAGE];
};

static void batch_release(struct batch *b)
{
    for (int i = 0; i < b->n; i++)
        MPI_Type_free(&b->type[i]);
    b->n = 0;
    b->bytes = 0;
}

static int batch_flush(struct batch *b, int send, char *base, int peer, int tag, MPI_Comm comm,
                       const char *func)
{
    if (b->n == 0)
        return DLP_OK;
    int ones[PIECES_PER_MESSAGE];
    for (int i = 0; i < b->n; i++)
        ones[i] = 1;
    MPI_Datatype msg;
    int mrc = MPI_Type_create_struct(b->n, ones, b->disp, b->type, &msg);
    if (mrc == MPI_SUCCESS)
        mrc = MPI_Type_commit(&msg);
    if (mrc == MPI_SUCCESS) {
        mrc = send ? MPI_Send(base, 1, msg, peer, tag, comm)
                   : MPI_Recv(base, 1, msg, peer, tag, comm, MPI_STATUS_IGNORE);
        MPI_Type_free(&msg);
    }
    batch_release(b);
    return mrc == MPI_SUCCESS ? DLP_OK
                              : dlp__fail_mpi(func, send ? "sending results" : "receiving results",
                                              mrc);
}

/* cnt items first, first + stride ... packed into one message. */
static int transfer_packed(int send, char *base, size_t elem, long first, long cnt, long stride,
                           char *pack, int peer, int tag, MPI_Comm comm, const char *func)
{
    size_t step = (size_t)stride * elem;
    char *at = base + (size_t)first * elem;
    int bytes = (int)((size_t)cnt * elem), mrc;
    if (send) {
        for (long k = 0; k < cnt; k++)
            memcpy(pack + (size_t)k * elem, at + (size_t)k * step, elem);
        mrc = MPI_Send(pack, bytes, MPI_BYTE, peer, tag, comm);
    } else {
        mrc = MPI_Recv(pack, bytes, MPI_BYTE, peer, tag, comm, MPI_STATUS_IGNORE);
        for (long k = 0; mrc == MPI_SUCCESS && k < cnt; k++)
            memcpy(at + (size_t)k * step, pack + (size_t)k * elem, elem);
    }
    return mrc == MPI_SUCCESS ? DLP_OK
                              : dlp__fail_mpi(func, send ? "sending results" : "receiving results",
                                              mrc);
}

int dlp__transfer_segments(int send, char *base, size_t elem, const struct dlp__segment *segs,
                           long nsegs, int peer, int tag, MPI_Comm comm, const char *func)
{
    if (elem == 0 || elem > (size_t)INT_MAX)
        return dlp__fail(DLP_ERR_ARG, func, "element size %zu out of range", elem);
    long per_piece = DLP__MESSAGE_BYTES / (long)elem;
    if (per_piece < 1)
        per_piece = 1;
    long per_pack = PACK_BYTES / (long)elem;
    if (per_pack < 1)
        per_pack = 1;
    long most = 0; /* items of the largest strided piece */
    for (long s = 0; s < nsegs && elem < PACK_ITEM_MAX; s++)
        if (segs[s].stride != 1 && segs[s].count > 1 && segs[s].count > most)
            most = segs[s].count < per_pack ? segs[s].count : per_pack;
    char *pack = most > 0 ? malloc((size_t)most * elem) : NULL;
    if (most > 0 && !pack)
        return dlp__fail(DLP_ERR_NOMEM, func, "a pack buffer of %ld bytes", most * (long)elem);
    struct batch b = {0};
    int rc = DLP_OK;
    for (long s = 0; s < nsegs && rc == DLP_OK; s++) {
        int strided = segs[s].stride != 1 && segs[s].count > 1 && elem < PACK_ITEM_MAX;
        for (long done = 0; done < segs[s].count && rc == DLP_OK;) {
            long cap = strided ? per_pack : per_piece;
            long cnt = segs[s].count - done < cap ? segs[s].count - done : cap;
            long first = segs[s].first + done * segs[s].stride;
            if (strided) { /* in order: what is batched goes first */
                rc = batch_flush(&b, send, base, peer, tag, comm, func);
                if (rc == DLP_OK)
                    rc = transfer_packed(send, base, elem, first, cnt, segs[s].stride, pack,
                                         peer, tag, comm, func);
                done += cnt;
                continue;
            }
            MPI_Datatype piece; /* contiguous, or blocks of large items */
            int mrc = segs[s].stride == 1 || cnt == 1
                          ? MPI_Type_contiguous((int)(cnt * (long)elem), MPI_BYTE, &piece)
                          : MPI_Type_create_hvector((int)cnt, (int)elem,
                                                    (MPI_Aint)(segs[s].stride * (long)elem),
                                                    MPI_BYTE, &piece);
            if (mrc != MPI_SUCCESS) {
                rc = dlp__fail_mpi(func, "building a datatype", mrc);
                break;
            }
            b.type[b.n] = piece;
            b.disp[b.n] = (MPI_Aint)first * (MPI_Aint)elem;
            b.n++;
            b.bytes += cnt * (long)elem;
            done += cnt;
            if (b.n == PIECES_PER_MESSAGE || b.bytes >= DLP__MESSAGE_BYTES)
                rc = batch_flush(&b, send, base, peer, tag, comm, func);
        }
    }
    if (rc == DLP_OK)
        rc = batch_flush(&b, send, base, peer, tag, comm, func);
    batch_release(&b);
    free(pack);
    return rc;
}

static size_t message_part(size_t left)
{
    return left < (size_t)DLP__MESSAGE_BYTES ? left : (size_t)DLP__MESSAGE_BYTES;
}

int dlp__send_bytes(const void *buf, size_t len, int peer, int tag, MPI_Comm comm,
                    const char *func)
{
    size_t off = 0;
    do {
        size_t part = message_part(len - off);
        int mrc = MPI_Send((const char *)buf + off, (int)part, MPI_BYTE, peer, tag, comm);
        if (mrc != MPI_SUCCESS)
            return dlp__fail_mpi(func, "MPI_Send", mrc);
        off += part;
    } while (off < len);
    return DLP_OK;
}

int dlp__recv_bytes(void *buf, size_t len, int peer, int tag, MPI_Comm comm, const char *func)
{
    size_t off = 0;
    do {
        size_t part = message_part(len - off);
        int mrc = MPI_Recv((char *)buf + off, (int)part, MPI_BYTE, peer, tag, comm,
                           MPI_STATUS_IGNORE);
        if (mrc != MPI_SUCCESS)
            return dlp__fail_mpi(func, "MPI_Recv", mrc);
        off += part;
    } while (off < len);
    return DLP_OK;
}
