/* dlp_bcast, dlp_barrier, dlp_call_on_root_and_bcast. Each starts with the
 * collective entry (entry.h), which carries and compares its arguments. */
#include <limits.h>
#include <stdint.h>

#include "entry.h"
#include "error.h"
#include "runtime.h"
#include "transfer.h"

/* Enter func with (len, root), then check that every rank passed the same.
 * Returns status when it is an error (the analyzer cannot see that
 * dlp__enter does). */
static int enter_bcast(int status, size_t len, int root, const char *func)
{
    const long mine[2] = {(long)len, root};
    const struct dlp__entry *all;
    DLP_CALL(dlp__enter_uniform(func, NULL, status, mine, sizeof mine, &all));
    DLP_CALL(status);
    if (!all) /* the same on every rank */
        return DLP_OK;
    DLP_CALL(dlp__entry_same_long(all, 0, "len", func));
    return dlp__entry_same_long(all, 1, "root", func);
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
    int rc = DLP_OK;
    if (!buf && len > 0)
        rc = dlp__fail(DLP_ERR_ARG, func, "buf is NULL but len = %zu", len);
    else if (root < 0 || root >= dlp__rt.size)
        rc = dlp__fail(DLP_ERR_ARG, func, "root = %d is not a rank (size %d)", root,
                       dlp__rt.size);
    else if (len > (size_t)LONG_MAX)
        rc = dlp__fail(DLP_ERR_ARG, func, "len = %zu is too large", len);
    DLP_CALL(enter_bcast(rc, len, root, func));
    return bcast_bytes(buf, len, root, func);
}

int dlp_barrier(void)
{
    static const char *func = "dlp_barrier";
    DLP_CALL(dlp__check_idle(func));
    /* the entry is the barrier: no rank leaves it before every rank is in */
    return dlp__enter(func, NULL, DLP_OK, NULL, 0, NULL);
}

int dlp_call_on_root_and_bcast(dlp_root_fn fn, void *ctx, void *out, size_t len)
{
    static const char *func = "dlp_call_on_root_and_bcast";
    DLP_CALL(dlp__check_idle(func));
    int rc = DLP_OK;
    if (!fn)
        rc = DLP_FAIL(DLP_ERR_ARG, func, "fn is NULL");
    else if (!out && len > 0)
        rc = dlp__fail(DLP_ERR_ARG, func, "out is NULL but len = %zu", len);
    else if (len > (size_t)LONG_MAX)
        rc = dlp__fail(DLP_ERR_ARG, func, "len = %zu is too large", len);
    DLP_CALL(enter_bcast(rc, len, 0, func));
    int frc = dlp__rt.rank == 0 ? fn(ctx, out, len) : 0;
    DLP_MPI_CALL(MPI_Bcast(&frc, 1, MPI_INT, 0, dlp__rt.comm));
    if (frc != 0)
        return dlp__fail(DLP_ERR_ITEM, func, "fn returned %d on the master (rank 0, host of "
                                             "rank 0)", frc);
    return bcast_bytes(out, len, 0, func);
}
