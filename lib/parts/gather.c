/* dlp_gather: variable-size bytes from every rank to the master, in rank
 * order, through the node leaders (rank -> node leader -> master). The
 * master receives every part straight into its final place. */
#define _GNU_SOURCE /* madvise */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "entry.h"
#include "error.h"
#include "runtime.h"
#include "tags.h"
#include "transfer.h"
#include "wait.h"

static const char *const func = "dlp_gather";

/* Every rank learns whether all ranks are fine to go on. */
static int all_agree(int ok, int *all_ok)
{
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallreduce(&ok, all_ok, 1, MPI_INT, MPI_MIN, dlp__rt.comm, &req));
    int mrc = dlp__wait_arrival(&req, func, dlp__rt.collective_timeout);
    return dlp__fail_mpi(func, "waiting for the other ranks", mrc);
}

/* dlp_gather's new buffer (free()able). The first touch of fresh 4 KiB
 * pages costs more than the transfer (256 MiB on this 2-core VM: ~0.2 s of
 * page faults, MPI_Gatherv into a warm buffer ~0.04 s): from HUGE_MIN up it
 * is aligned to 2 MiB and advised as transparent huge pages, one fault per
 * 2 MiB, where the kernel has them (THP "always" or "madvise"). */
#define HUGE_PAGE (2UL << 20)
#define HUGE_MIN (4UL << 20)

static char *fresh_buffer(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= HUGE_MIN) {
        void *p = NULL;
        if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
            return NULL;
        (void)madvise(p, bytes & ~(HUGE_PAGE - 1), MADV_HUGEPAGE); /* a hint only */
        return p;
    }
#endif
    return malloc(bytes ? bytes : 1);
}

/* The master: into `given` (cap bytes), or a new buffer (given NULL). */
static int gather_master(const void *buf, const uint64_t *lens64, char *given, void **all,
                         size_t *lens)
{
    const struct dlp__runtime *rt = &dlp__rt;
    const int size = rt->size; /* (a local: the analyzer would re-read it) */
    uint64_t total = 0;
    size_t *off = malloc(sizeof *off * (size_t)size);
    for (int w = 0; off && w < size; w++) {
        off[w] = (size_t)total;
        total += lens64[w];
    }
    char *out = !off ? NULL : given ? given : fresh_buffer((size_t)total);
    int all_ok = 0;
    int rc = all_agree(out != NULL, &all_ok);
    if (rc == DLP_OK && !out)
        rc = DLP_FAIL(DLP_ERR_NOMEM, func, "%llu bytes on the master", (unsigned long long)total);
    else if (rc == DLP_OK && !all_ok)
        rc = DLP_FAIL(DLP_ERR_ARG, func, "another rank failed (see its message)");
    if (rc == DLP_OK && lens64[0] && buf) /* (buf is NULL only for 0 bytes) */
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
        if (out != given)
            free(out);
        return rc;
    }
    for (int w = 0; w < size; w++)
        lens[w] = (size_t)lens64[w];
    if (all)
        *all = out;
    else if (out != given) /* (not reached: dlp_gather checks all) */
        free(out);
    return DLP_OK;
}

/* A node leader's staging buffer, kept from call to call (fresh pages
 * would cost their faults every time). */
static char *stage_buf;
static size_t stage_cap;

static char *stage_for(size_t bytes)
{
    if (bytes <= stage_cap && stage_buf)
        return stage_buf;
    free(stage_buf);
    stage_cap = 0;
    stage_buf = malloc(bytes ? bytes : 1);
    if (stage_buf)
        stage_cap = bytes;
    return stage_buf;
}

void dlp__gather_release(void)
{
    free(stage_buf);
    stage_buf = NULL;
    stage_cap = 0;
}

static int gather_leader(const void *buf, size_t len, const uint64_t *node_lens)
{
    const struct dlp__runtime *rt = &dlp__rt;
    uint64_t staged = 0;
    for (int m = 1; m < rt->node_size; m++)
        staged += node_lens[m];
    char *stage = stage_for((size_t)staged);
    /* members of this node: world ranks in node-rank order (calloc: every
     * entry defined even if the node tables disagreed) */
    int *member = calloc((size_t)rt->node_size, sizeof *member);
    int all_ok = 0;
    int rc = all_agree(stage && member, &all_ok);
    if (rc == DLP_OK && (!stage || !member))
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
    return rc;
}

/* What every rank says in the entry: its length, and on the master the
 * capacity of dlp_gather_into's buffer, so every rank can check it. */
struct gather_args {
    uint64_t len, cap;
};

/* The length tables live in the runtime's scratch buffer: the master's
 * [size] and a node leader's [node_size] (<= size) after it, filled from
 * the entries. */
_Static_assert(2 * sizeof(uint64_t) <= DLP__SCRATCH_PER_RANK, "scratch too small");

/* The checks of the lengths (lens64 [size]: every rank's) that every rank
 * makes: their sum fits size_t, and dlp_gather_into's cap holds it. */
static int check_lengths(const uint64_t *lens64, uint64_t cap, int into, const char *api)
{
    uint64_t total = 0;
    for (int r = 0; r < dlp__rt.size; r++) {
        if (lens64[r] > SIZE_MAX - total)
            return dlp__fail(DLP_ERR_ARG, api,
                             "the contributions add up to more than SIZE_MAX bytes (rank %d "
                             "passed len = %llu)",
                             r, (unsigned long long)lens64[r]);
        total += lens64[r];
    }
    if (into && total > cap)
        return dlp__fail(DLP_ERR_ARG, api,
                         "the contributions need %llu bytes, out holds cap = %llu on the master",
                         (unsigned long long)total, (unsigned long long)cap);
    return DLP_OK;
}

/* Every rank's length from the entries into lens64 [size], this node's
 * members' into node_lens [node_size]; checks the total against the
 * master's cap (dlp_gather_into) on every rank. */
static int read_lengths(const struct dlp__entry *every, uint64_t *lens64, uint64_t *node_lens,
                        int into, const char *api)
{
    const struct dlp__runtime *rt = &dlp__rt;
    struct gather_args a;
    for (int r = 0, m = 0; r < rt->size; r++) {
        memcpy(&a, every[r].args, sizeof a);
        lens64[r] = a.len;
        if (rt->node_of_rank[r] == rt->node && m < rt->node_size)
            node_lens[m++] = a.len;
    }
    memcpy(&a, every[0].args, sizeof a);
    return check_lengths(lens64, a.cap, into, api);
}

/* A collective of the lengths, waited for as the entry's. */
static int lengths_wait(MPI_Request *req, const char *api)
{
    int mrc = dlp__wait_arrival(req, api, dlp__rt.collective_timeout);
    return dlp__fail_mpi(api, "exchanging the lengths", mrc);
}

/* The lengths when the entry reduces (from 256 ranks on, entry.h): no
 * rank's entry holds them. The master gathers every rank's (8 B per rank,
 * O(ranks) there only), a node leader its node's over the node's
 * communicator, and every rank checks the sum and the master's cap from
 * one allreduce of three words: the lengths' high and low 32 bits summed
 * apart (exact, whatever the ranks) and the cap. A check that fails
 * learns every length (an allgather, on that path only) to name the rank
 * as read_lengths() does. */
static int exchange_lengths(uint64_t len, uint64_t cap, uint64_t *lens64, uint64_t *node_lens,
                            int into, const char *api)
{
    const struct dlp__runtime *rt = &dlp__rt;
    MPI_Request req;
    DLP_MPI_CALL(MPI_Igather(&len, 1, MPI_UINT64_T, lens64, 1, MPI_UINT64_T, 0, rt->comm, &req));
    DLP_CALL(lengths_wait(&req, api));
    DLP_MPI_CALL(MPI_Igather(&len, 1, MPI_UINT64_T, node_lens, 1, MPI_UINT64_T, 0,
                             rt->node_comm, &req));
    DLP_CALL(lengths_wait(&req, api));
    uint64_t mine[3] = {len >> 32, len & 0xffffffffu, cap}, sum[3];
    DLP_MPI_CALL(MPI_Iallreduce(mine, sum, 3, MPI_UINT64_T, MPI_SUM, rt->comm, &req));
    DLP_CALL(lengths_wait(&req, api));
    /* (the high words' sum < 2^32 * ranks: no overflow in either sum) */
    int fits = sum[0] < ((uint64_t)1 << 32) &&
               sum[0] << 32 <= (uint64_t)SIZE_MAX - sum[1] &&
               (!into || (sum[0] << 32) + sum[1] <= sum[2]);
    if (fits)
        return DLP_OK;
    uint64_t *every = malloc((size_t)rt->size * sizeof *every);
    if (!every)
        return DLP_FAIL(DLP_ERR_NOMEM, api, "the lengths of %d ranks", rt->size);
    int rc = DLP_OK;
    if (MPI_Iallgather(&len, 1, MPI_UINT64_T, every, 1, MPI_UINT64_T, rt->comm, &req) !=
        MPI_SUCCESS)
        rc = DLP_FAIL(DLP_ERR_MPI, api, "exchanging the lengths");
    if (rc == DLP_OK)
        rc = lengths_wait(&req, api);
    if (rc == DLP_OK)
        rc = check_lengths(every, sum[2], into, api);
    free(every);
    return rc;
}

/* dlp_gather (all: a new buffer) or dlp_gather_into (into: given, cap). */
static int gather(const void *buf, size_t len, void **all, int into, char *given, size_t cap,
                  size_t *lens)
{
    const char *api = into ? "dlp_gather_into" : func;
    DLP_CALL(dlp__check_idle(api));
    const struct dlp__runtime *rt = &dlp__rt;
    int rc = DLP_OK, master = rt->rank == 0;
    if (!buf && len > 0)
        rc = dlp__fail(DLP_ERR_ARG, api, "buf is NULL but len = %zu", len);
    else if (!into && !all)
        rc = DLP_FAIL(DLP_ERR_ARG, api, "all is NULL");
    else if (into && master && !given)
        rc = DLP_FAIL(DLP_ERR_ARG, api, "out is NULL on the master");
    else if (master && !lens)
        rc = DLP_FAIL(DLP_ERR_ARG, api, "lens is NULL on the master");
    if (all)
        *all = NULL;
    struct gather_args mine = {len, master && into ? cap : 0};
    uint64_t *lens64 = (uint64_t *)rt->scratch;
    uint64_t *node_lens = lens64 + rt->size;
    if (dlp__entry_reduces()) { /* the lengths apart: no rank needs every entry */
        const struct dlp__entry *every;
        DLP_CALL(dlp__enter_uniform(api, NULL, rc, &mine, 0, &every));
        DLP_CALL(rc); /* (dlp__enter_uniform returned it already: for the analyzer) */
        DLP_CALL(exchange_lengths(mine.len, mine.cap, lens64, node_lens, into, api));
    } else {
        const struct dlp__entry *every;
        DLP_CALL(dlp__enter(api, NULL, rc, &mine, sizeof mine, &every));
        DLP_CALL(rc); /* (dlp__enter returned it already: for the analyzer) */
        DLP_CALL(read_lengths(every, lens64, node_lens, into, api));
    }
    if (rt->rank == 0) {
        rc = gather_master(buf, lens64, into ? given : NULL, all, lens);
    } else if (rt->node_rank == 0) {
        rc = gather_leader(buf, len, node_lens);
    } else {
        int all_ok = 0;
        rc = all_agree(1, &all_ok);
        if (rc == DLP_OK && !all_ok)
            rc = DLP_FAIL(DLP_ERR_ARG, func, "another rank failed (see its message)");
        if (rc == DLP_OK)
            rc = dlp__send_bytes(buf, len, dlp__rt.node_leader[rt->node], DLP__TAG_GATHER,
                                 rt->comm, func);
    }
    return rc;
}

int dlp_gather(const void *buf, size_t len, void **all, size_t *lens)
{
    return gather(buf, len, all, 0, NULL, 0, lens);
}

int dlp_gather_into(const void *buf, size_t len, void *out, size_t cap, size_t *lens)
{
    return gather(buf, len, NULL, 1, out, cap, lens);
}
