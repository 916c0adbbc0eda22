/* Bounded-size messages for item ranges and byte buffers (see transfer.h). */
#include "transfer.h"

#include <limits.h>
#include <stdlib.h>

#include "dlp_mpi.h"
#include "error.h"

#define PIECES_PER_MESSAGE 1024

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

int dlp__transfer_segments(int send, char *base, size_t elem, const struct dlp__segment *segs,
                           long nsegs, int peer, int tag, MPI_Comm comm, const char *func)
{
    if (elem == 0 || elem > (size_t)INT_MAX)
        return dlp__fail(DLP_ERR_ARG, func, "element size %zu out of range", elem);
    long per_piece = DLP__MESSAGE_BYTES / (long)elem;
    if (per_piece < 1)
        per_piece = 1;
    struct batch b = {0};
    int rc = DLP_OK;
    for (long s = 0; s < nsegs && rc == DLP_OK; s++) {
        for (long done = 0; done < segs[s].count && rc == DLP_OK;) {
            long cnt = segs[s].count - done < per_piece ? segs[s].count - done : per_piece;
            long first = segs[s].first + done * segs[s].stride;
            MPI_Datatype piece;
            int mrc = MPI_Type_create_hvector((int)cnt, (int)elem, (MPI_Aint)(segs[s].stride * (long)elem),
                                              MPI_BYTE, &piece);
            if (mrc != MPI_SUCCESS) {
                rc = dlp__fail_mpi(func, "MPI_Type_create_hvector", mrc);
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
