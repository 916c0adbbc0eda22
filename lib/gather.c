/* dlp_gather: variable-size bytes from every rank to the master, in rank
 * order, through the node leaders (rank -> node leader -> master). The
 * master receives every part straight into its final place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "loop.h"
#include "runtime.h"
#include "transfer.h"

static const char *const func = "dlp_gather";

/* Every rank learns whether all ranks are fine to go on. */
static int all_agree(int ok, int *all_ok)
{
    DLP_MPI_CALL(MPI_Allreduce(&ok, all_ok, 1, MPI_INT, MPI_MIN, dlp__rt.comm));
    return DLP_OK;
}

static int gather_master(const void *buf, uint64_t *lens64, void **all, size_t *lens, int ok)
{
    const struct dlp__runtime *rt = &dlp__rt;
    uint64_t total = 0;
    size_t *off = malloc(sizeof *off * (size_t)rt->size);
    for (int w = 0; off && w < rt->size; w++) {
        off[w] = (size_t)total;
        total += lens64[w];
    }
    char *out = off ? malloc(total ? (size_t)total : 1) : NULL;
    int all_ok = 0;
    int rc = all_agree(ok && out, &all_ok);
    if (rc == DLP_OK && !all_ok)
        rc = out ? dlp__fail(DLP_ERR_ARG, func, "another rank failed (see its message)")
                 : dlp__fail(DLP_ERR_NOMEM, func, "%llu bytes on the master",
                             (unsigned long long)total);
    if (rc == DLP_OK && lens64[0])
        memcpy(out, buf, (size_t)lens64[0]);
    /* node 0's members send to the master directly; other nodes through
     * their leader, one part per rank in rank order */
    for (int w = 1; rc == DLP_OK && w < rt->size; w++) {
        int peer = rt->node_of_rank[w] == 0 ? w : rt->node_leader[rt->node_of_rank[w]];
        rc = dlp__transfer_bytes(0, out + off[w], (size_t)lens64[w], peer, DLP__TAG_GATHER,
                                 rt->comm, func);
    }
    free(off);
    if (rc != DLP_OK) {
        free(out);
        return rc;
    }
    for (int w = 0; w < rt->size; w++)
        lens[w] = (size_t)lens64[w];
    *all = out;
    return DLP_OK;
}

static int gather_leader(const void *buf, size_t len, const uint64_t *node_lens, int ok)
{
    const struct dlp__runtime *rt = &dlp__rt;
    uint64_t staged = 0;
    for (int m = 1; m < rt->node_size; m++)
        staged += node_lens[m];
    char *stage = malloc(staged ? (size_t)staged : 1);
    int all_ok = 0;
    int rc = all_agree(ok && stage, &all_ok);
    if (rc == DLP_OK && !all_ok)
        rc = stage ? dlp__fail(DLP_ERR_ARG, func, "another rank failed (see its message)")
                   : dlp__fail(DLP_ERR_NOMEM, func, "%llu bytes on a node leader",
                               (unsigned long long)staged);
    /* members of this node: world ranks in node-rank order */
    int *member = malloc(sizeof(int) * (size_t)rt->node_size);
    if (rc == DLP_OK && !member)
        dlp__helper_abort(func, "out of memory after agreement", MPI_SUCCESS);
    for (int w = 0, m = 0; rc == DLP_OK && w < rt->size; w++)
        if (rt->node_of_rank[w] == rt->node)
            member[m++] = w;
    size_t pos = 0;
    for (int m = 1; rc == DLP_OK && m < rt->node_size; m++) {
        rc = dlp__transfer_bytes(0, stage + pos, (size_t)node_lens[m], member[m],
                                 DLP__TAG_GATHER, rt->comm, func);
        pos += (size_t)node_lens[m];
    }
    if (rc == DLP_OK)
        rc = dlp__transfer_bytes(1, (char *)(uintptr_t)buf, len, 0, DLP__TAG_GATHER, rt->comm,
                                 func);
    pos = 0;
    for (int m = 1; rc == DLP_OK && m < rt->node_size; m++) {
        rc = dlp__transfer_bytes(1, stage + pos, (size_t)node_lens[m], 0, DLP__TAG_GATHER,
                                 rt->comm, func);
        pos += (size_t)node_lens[m];
    }
    free(member);
    free(stage);
    return rc;
}

int dlp_gather(const void *buf, size_t len, void **all, size_t *lens)
{
    DLP_CALL(dlp__check_idle(func));
    const struct dlp__runtime *rt = &dlp__rt;
    int ok = 1;
    if (!buf && len > 0)
        ok = dlp__fail(DLP_ERR_ARG, func, "buf is NULL but len = %zu", len) == DLP_OK;
    else if (!all)
        ok = dlp__fail(DLP_ERR_ARG, func, "all is NULL") == DLP_OK;
    else if (rt->rank == 0 && !lens)
        ok = dlp__fail(DLP_ERR_ARG, func, "lens is NULL on the master") == DLP_OK;
    if (all)
        *all = NULL;
    uint64_t len64 = len, *lens64 = NULL, *node_lens = NULL;
    if (rt->rank == 0)
        lens64 = malloc(sizeof *lens64 * (size_t)rt->size);
    if (rt->node_rank == 0)
        node_lens = malloc(sizeof *node_lens * (size_t)rt->node_size);
    int rc = DLP_OK;
    if ((rt->rank == 0 && !lens64) || (rt->node_rank == 0 && !node_lens)) {
        /* still take part in the collectives below, then report */
        rc = dlp__fail(DLP_ERR_NOMEM, func, "length tables");
        ok = 0;
    }
    uint64_t dummy[1];
    DLP_MPI_CALL(MPI_Gather(&len64, 1, MPI_UINT64_T, lens64 ? lens64 : dummy, 1, MPI_UINT64_T, 0,
                            rt->comm));
    DLP_MPI_CALL(MPI_Gather(&len64, 1, MPI_UINT64_T, node_lens ? node_lens : dummy, 1,
                            MPI_UINT64_T, 0, rt->node_comm));
    if (rt->rank == 0) {
        rc = gather_master(buf, lens64, all, lens, ok);
    } else if (rt->node_rank == 0) {
        rc = gather_leader(buf, len, node_lens, ok);
    } else {
        int all_ok = 0;
        rc = all_agree(ok, &all_ok);
        if (rc == DLP_OK && !all_ok)
            rc = ok ? dlp__fail(DLP_ERR_ARG, func, "another rank failed (see its message)")
                    : DLP_ERR_ARG;
        if (rc == DLP_OK)
            rc = dlp__transfer_bytes(1, (char *)(uintptr_t)buf, len,
                                     dlp__rt.node_leader[rt->node], DLP__TAG_GATHER, rt->comm,
                                     func);
    }
    free(lens64);
    free(node_lens);
    return rc;
}
