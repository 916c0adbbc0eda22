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
#include "wait.h"

static const char *const func = "dlp_gather";

/* Every rank learns whether all ranks are fine to go on. */
static int all_agree(int ok, int *all_ok)
{
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallreduce(&ok, all_ok, 1, MPI_INT, MPI_MIN, dlp__rt.comm, &req));
    return dlp__fail_mpi(func, "waiting for the other ranks", dlp__wait_arrival(&req, func));
}

static int gather_master(const void *buf, const uint64_t *lens64, void **all, size_t *lens,
                         int ok)
{
    const struct dlp__runtime *rt = &dlp__rt;
    const int size = rt->size; /* (a local: the analyzer would re-read it) */
    uint64_t total = 0;
    size_t *off = malloc(sizeof *off * (size_t)size);
    for (int w = 0; off && w < size; w++) {
        off[w] = (size_t)total;
        total += lens64[w];
    }
    char *out = off ? malloc(total ? (size_t)total : 1) : NULL;
    int all_ok = 0;
    int rc = all_agree(ok && out, &all_ok);
    if (rc == DLP_OK && !ok)
        rc = DLP_ERR_ARG; /* this rank's message is recorded already */
    else if (rc == DLP_OK && !out)
        rc = DLP_FAIL(DLP_ERR_NOMEM, func, "%llu bytes on the master", (unsigned long long)total);
    else if (rc == DLP_OK && !all_ok)
        rc = DLP_FAIL(DLP_ERR_ARG, func, "another rank failed (see its message)");
    if (rc == DLP_OK && lens64[0])
        memcpy(out, buf, (size_t)lens64[0]);
    /* node 0's members send to the master directly; other nodes through
     * their leader, one part per rank in rank order */
    for (int w = 1; rc == DLP_OK && w < size; w++) {
        int peer = rt->node_of_rank[w] == 0 ? w : rt->node_leader[rt->node_of_rank[w]];
        rc = dlp__recv_bytes(out + off[w], (size_t)lens64[w], peer, DLP__TAG_GATHER, rt->comm,
                             func);
    }
    free(off);
    if (rc != DLP_OK) {
        free(out);
        return rc;
    }
    for (int w = 0; w < size; w++)
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
    /* members of this node: world ranks in node-rank order (calloc: every
     * entry defined even if the node tables disagreed) */
    int *member = calloc((size_t)rt->node_size, sizeof *member);
    int all_ok = 0;
    int rc = all_agree(ok && stage && member, &all_ok);
    if (rc == DLP_OK && !ok)
        rc = DLP_ERR_ARG; /* this rank's message is recorded already */
    else if (rc == DLP_OK && (!stage || !member))
        rc = DLP_FAIL(DLP_ERR_NOMEM, func, "%llu bytes on a node leader",
                      (unsigned long long)staged);
    else if (rc == DLP_OK && !all_ok)
        rc = DLP_FAIL(DLP_ERR_ARG, func, "another rank failed (see its message)");
    for (int w = 0, m = 0; rc == DLP_OK && w < rt->size && m < rt->node_size; w++)
        if (rt->node_of_rank[w] == rt->node)
            member[m++] = w;
    size_t pos = 0;
    for (int m = 1; rc == DLP_OK && m < rt->node_size; m++) {
        rc = dlp__recv_bytes(stage + pos, (size_t)node_lens[m], member[m], DLP__TAG_GATHER,
                             rt->comm, func);
        pos += (size_t)node_lens[m];
    }
    if (rc == DLP_OK)
        rc = dlp__send_bytes(buf, len, 0, DLP__TAG_GATHER, rt->comm, func);
    pos = 0;
    for (int m = 1; rc == DLP_OK && m < rt->node_size; m++) {
        rc = dlp__send_bytes(stage + pos, (size_t)node_lens[m], 0, DLP__TAG_GATHER, rt->comm,
                             func);
        pos += (size_t)node_lens[m];
    }
    free(member);
    free(stage);
    return rc;
}

/* The length tables live in the runtime's scratch buffer: the master's
 * [size] and a node leader's [node_size] (<= size) after it. Nothing to
 * allocate before the first collective, so no rank can drop out of it. */
_Static_assert(2 * sizeof(uint64_t) <= DLP__SCRATCH_PER_RANK, "scratch too small");

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
    uint64_t len64 = len;
    uint64_t *lens64 = (uint64_t *)rt->scratch;
    uint64_t *node_lens = lens64 + rt->size;
    DLP_MPI_CALL(MPI_Gather(&len64, 1, MPI_UINT64_T, lens64, 1, MPI_UINT64_T, 0, rt->comm));
    DLP_MPI_CALL(
        MPI_Gather(&len64, 1, MPI_UINT64_T, node_lens, 1, MPI_UINT64_T, 0, rt->node_comm));
    int rc;
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
            rc = dlp__send_bytes(buf, len, dlp__rt.node_leader[rt->node], DLP__TAG_GATHER,
                                 rt->comm, func);
    }
    return rc;
}
