/* dlp_bcast, dlp_barrier, dlp_call_on_root_and_bcast. */
#include <stdint.h>

#include "error.h"
#include "runtime.h"
#include "transfer.h"
#include "wait.h"

/* Wait for every rank to enter func (see dlp__wait_arrival). */
static int arrive(MPI_Request *req, const char *func)
{
    return dlp__fail_mpi(func, "waiting for the other ranks", dlp__wait_arrival(req, func));
}

/* Agree on (ok, len, root) across ranks; DLP_OK when all ranks are fine. */
static int agree(int ok, size_t len, int root, const char *func)
{
    long mine[5] = {ok ? 0 : 1, (long)len, -(long)len, root, -root}, max[5];
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallreduce(mine, max, 5, MPI_LONG, MPI_MAX, dlp__rt.comm, &req));
    DLP_CALL(arrive(&req, func));
    if (!ok)
        return DLP_ERR_ARG; /* message already recorded */
    if (max[0])
        return dlp__fail(DLP_ERR_ARG, func, "another rank passed invalid arguments");
    if (max[1] != -max[2])
        return dlp__fail(DLP_ERR_MISMATCH, func, "ranks disagree on len: %ld..%ld", -max[2],
                         max[1]);
    if (max[3] != -max[4])
        return dlp__fail(DLP_ERR_MISMATCH, func, "ranks disagree on root: %ld..%ld", -max[4],
                         max[3]);
    return DLP_OK;
}

static int bcast_bytes(char *buf, size_t len, int root, const char *func)
{
    size_t off = 0;
    do {
        size_t part = len - off < (size_t)DLP__MESSAGE_BYTES ? len - off : (size_t)DLP__MESSAGE_BYTES;
        DLP_CALL(dlp__fail_mpi(func, "MPI_Bcast",
                               MPI_Bcast(buf + off, (int)part, MPI_BYTE, root, dlp__rt.comm)));
        off += part;
    } while (off < len);
    return DLP_OK;
}

int dlp_bcast(void *buf, size_t len, int root)
{
    static const char *func = "dlp_bcast";
    DLP_CALL(dlp__check_idle(func));
    int ok = 1;
    if (!buf && len > 0)
        ok = !dlp__fail(DLP_ERR_ARG, func, "buf is NULL but len = %zu", len);
    else if (root < 0 || root >= dlp__rt.size)
        ok = !dlp__fail(DLP_ERR_ARG, func, "root = %d is not a rank (size %d)", root,
                        dlp__rt.size);
    DLP_CALL(agree(ok, len, root, func));
    return bcast_bytes(buf, len, root, func);
}

int dlp_barrier(void)
{
    DLP_CALL(dlp__check_idle("dlp_barrier"));
    MPI_Request req;
    DLP_MPI_CALL(MPI_Ibarrier(dlp__rt.comm, &req));
    return arrive(&req, "dlp_barrier");
}

int dlp_call_on_root_and_bcast(dlp_root_fn fn, void *ctx, void *out, size_t len)
{
    static const char *func = "dlp_call_on_root_and_bcast";
    DLP_CALL(dlp__check_idle(func));
    int ok = 1;
    if (!fn)
        ok = !DLP_FAIL(DLP_ERR_ARG, func, "fn is NULL");
    else if (!out && len > 0)
        ok = !dlp__fail(DLP_ERR_ARG, func, "out is NULL but len = %zu", len);
    DLP_CALL(agree(ok, len, 0, func));
    int frc = dlp__rt.rank == 0 ? fn(ctx, out, len) : 0;
    DLP_MPI_CALL(MPI_Bcast(&frc, 1, MPI_INT, 0, dlp__rt.comm));
    if (frc != 0)
        return dlp__fail(DLP_ERR_ITEM, func, "fn returned %d on the master (rank 0, host of "
                                             "rank 0)", frc);
    return bcast_bytes(out, len, 0, func);
}
