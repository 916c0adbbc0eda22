/*
 * gather.c — what bringing results to the master costs: dense results
 * (opts.results) and dlp_gather, against a raw MPI_Gatherv of the same
 * bytes, measured in the same run (the target: dlp >= 0.8 x the speed of
 * MPI_Gatherv).
 *
 * Sizes S: bytes per rank (GATHER_SIZES, suffix K/M/G, multiples of 8;
 * default "64K 1M 16M 128M"); every kind moves S x ranks bytes in all
 * (bytes_total), as 8-byte words: n = S x ranks / 8.
 *
 *   gatherv          baseline: MPI_Gatherv of S bytes per rank (MPI_BYTE,
 *                    each rank's bytes contiguous, in rank order) to rank 0,
 *                    on a duplicate of MPI_COMM_WORLD, after an MPI_Barrier
 *                    (MPI_Gatherv_c when S x ranks > INT_MAX); the root
 *                    copies its own part from its send buffer
 *   gatherv_inplace  the same with MPI_IN_PLACE on the root: its part is
 *                    already where it belongs, as the master's own dense
 *                    results are
 *   gatherv_fresh    gatherv into a receive buffer malloc'd for the call
 *                    (timed: the malloc, the call, the first touch of the
 *                    pages in it; not the free): what a raw MPI program pays
 *                    for what dlp_gather returns, a new buffer
 *   gatherv_strided  MPI_Gatherv of each rank's S bytes (MPI_UINT64_T) straight
 *                    to its round-robin items' places r, r + ranks, ... of
 *                    the root's n-word array (MPI_IN_PLACE: the root's own
 *                    items are there): the root's receive type is a vector
 *                    of S / 8 words at a stride of ranks words, resized to
 *                    one word, displacement r for rank r. The raw MPI way to
 *                    the same result as gatherv_interleave, MPI's datatype
 *                    engine doing the interleave
 *   gatherv_interleave  gatherv_inplace into a staging buffer, then the root
 *                    copies every other rank's words to their items' places
 *                    r, r + ranks, ... of an n-word array holding its own
 *                    items already: the raw MPI program that ends with what
 *                    dense round robin results end with (items in order)
 *   gather           dlp_gather(buf, S, &all, lens): S bytes per rank into a
 *                    buffer the call allocates (the time includes that
 *                    malloc and the first touch of its pages, not the free);
 *                    against gatherv, whose receive buffer is allocated
 *                    once, and against gatherv_fresh (the fair one)
 *   gather_into      dlp_gather_into(buf, S, out, cap, lens): the same into
 *                    the master's buffer, reused from call to call (the
 *                    baseline's receive buffer); against gatherv
 *   dense_rr         dlp_split_round_robin over n items with opts.results
 *                    (dlp_results of n x 8 bytes; each body writes its item's
 *                    8 bytes) minus the same call without opts.results,
 *                    where the bodies write into a rank-private array of
 *                    n x 8 bytes instead: the time the results add to the
 *                    call; against gatherv_inplace
 *   dense_managed    the same with dlp_split_managed
 *   dense_*_tail     the same calls, timed from the end of the last rank's
 *                    items to the master's return (with minus without
 *                    results): the part of the call that moves the results,
 *                    without the noise of computing n items (only when all
 *                    ranks run on one host: the ranks' clocks are compared)
 *
 * The dense calls use the loop form (dlp_loop_begin / dlp_loop_next in the
 * bench's own parallel region / dlp_loop_end), which runs the callback
 * forms' machinery and lets each rank note when its items are done.
 *
 * What is fair:
 * - Round robin gives each rank exactly n / ranks = S / 8 items, the bytes
 *   the baseline gathers per rank. But its items are strided (rank r has
 *   r, r + ranks, ...): the master must put another node's results
 *   8 bytes at a time between its own, where MPI_Gatherv lands each rank's
 *   bytes contiguously (gatherv_interleave does that work too, and
 *   gatherv_strided has MPI do it; all three ratios are printed).
 *   dense_managed moves contiguous
 *   chunks, the baseline's kind of data movement; how many items the other
 *   nodes compute varies from run to run (the median share is printed).
 * - Within a node the dense results are written in place, in node-shared
 *   memory: nothing moves (1x2, 2x1). There dense_* is what writing the
 *   shared array costs over a private one (at 2x1 round robin's two ranks
 *   write interleaved slots of one array, sharing cache lines) plus the
 *   call's collective for the results; it can be within the noise of the
 *   call, even negative (ratio "inf" when <= 0).
 * - Both arrays are touched in the warm-up: no page faults in dense_*.
 *
 * Timing: each call runs after a barrier, on the master's clock from after
 * the barrier to the call's return (the data is then on the master). A
 * sample is the mean over K calls of each kind, K = max(1, 8 MiB / S), so
 * small sizes are not timed call by call; the kinds alternate call by call,
 * in reverse order on odd samples (with and without results swap). After an
 * untimed warm-up call of each kind, R samples (default 7) per size; the
 * table gives median, min and max over them; dense_* are the differences
 * with minus without results of the same sample. GB/s = bytes_total /
 * median; ratio = baseline median / median (> 1: faster than MPI_Gatherv).
 *
 * Checks, every call: word w of a kind's data holds its item's value, a
 * function of the item and a salt that changes with every call. The master
 * checks every word of every gathered buffer (dense: slot i holds item i;
 * gatherv, gatherv_inplace, gather: rank r's S bytes hold its round-robin
 * items r, r + ranks, ... in order; dlp_gather's lens[r] = S). A mismatch is
 * reported on stderr at once (first wrong word, the rank it came from,
 * expected and found, how many are wrong), marks the table, and the program
 * exits with status 1.
 *
 *     gather [R [csv]]    R default 7, csv bench_gather.csv
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#define BENCH_NAME "gather"

#include <limits.h>
#include <math.h>

#include "bench_util.h"

#define WORD 8                        /* bytes of one item's result */
#define SAMPLE_BYTES (8L << 20)       /* a sample moves at least this per rank */
#define MAX_SIZES 32
#define DEFAULT_SIZES "64K 1M 16M 128M"

/* ------------------------------------------------------------- values -- */

/* Item i's 8 bytes in the call with salt s: distinct for distinct i (an odd
 * multiplier), different in every call. */
static inline uint64_t item_value(long i, uint64_t salt)
{
    return (uint64_t)i * 0x9E3779B97F4A7C15ull ^ salt;
}

struct dense {
    unsigned char *base; /* slot 0 of the results or of the private array */
    uint64_t salt;
};

static int dense_body(long i, void *ctx)
{
    const struct dense *d = ctx;
    uint64_t v = item_value(i, d->salt);
    memcpy(d->base + (size_t)i * WORD, &v, WORD);
    return 0;
}

/* Rank r's round-robin items r, r + ranks, ... (m of them) into buf. */
static void fill_rank(unsigned char *buf, long m, int rank, int ranks, uint64_t salt)
{
    for (long k = 0; k < m; k++) {
        uint64_t v = item_value(rank + k * ranks, salt);
        memcpy(buf + (size_t)k * WORD, &v, WORD);
    }
}

#define MISMATCH_REPORTS 10 /* mismatch messages at most; the rest are only counted */
static long mismatches;

/* Master: 0 if the n words of buf hold their items; dense (per_rank 0):
 * word w is item w; per rank (m words each, rank order): word r*m + k is
 * item r + k*ranks. Else reports the first mismatch on stderr (with the rank
 * the word came from when that is known: per_rank or round robin), returns 1. */
static int check_words(const unsigned char *buf, long n, long m, int ranks, int per_rank,
                       int rank_known, uint64_t salt, const char *kind, size_t bytes)
{
    long wrong = 0, first = -1;
    for (long w = 0; w < n; w++) {
        long item = per_rank ? w % m * ranks + w / m : w;
        uint64_t v;
        memcpy(&v, buf + (size_t)w * WORD, WORD);
        if (v != item_value(item, salt) && wrong++ == 0)
            first = w;
    }
    if (!wrong)
        return 0;
    if (++mismatches > MISMATCH_REPORTS) {
        if (mismatches == MISMATCH_REPORTS + 1)
            fprintf(stderr, "gather: more mismatches; the rest are not shown\n");
        return 1;
    }
    long item = per_rank ? first % m * ranks + first / m : first;
    uint64_t v;
    memcpy(&v, buf + (size_t)first * WORD, WORD);
    char from[48] = "";
    if (rank_known)
        snprintf(from, sizeof from, ", from rank %ld", item % ranks);
    fprintf(stderr,
            "gather: MISMATCH in %s, %zu bytes per rank: %ld of %ld words wrong; first: "
            "word %ld (item %ld%s) holds 0x%016llx, expected 0x%016llx\n",
            kind, bytes, wrong, n, first, item, from, (unsigned long long)v,
            (unsigned long long)item_value(item, salt));
    return 1;
}

/* --------------------------------------------------------------- MPI -- */

static void mpi_check(int rc, const char *what)
{
    if (rc == MPI_SUCCESS)
        return;
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, s, &len);
    fprintf(stderr, "gather: %s: %s\n", what, s);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* --------------------------------------------------------------- sizes -- */

/* "64K" -> 65536 (suffix K, M, G: powers of 1024); -1 if not a positive
 * multiple of WORD up to 64 GiB. */
static long parse_size(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    int shift = 0;
    if (end && (*end == 'K' || *end == 'k'))
        shift = 10;
    else if (end && (*end == 'M' || *end == 'm'))
        shift = 20;
    else if (end && (*end == 'G' || *end == 'g'))
        shift = 30;
    if (end == s || (shift ? end[1] != '\0' : *end != '\0') || v <= 0 || v > (64L << 30) >> shift)
        return -1;
    v <<= shift;
    return v % WORD == 0 ? v : -1;
}

/* bytes as "64K", "1M", "3G" when a whole number of them, else "12345". */
static const char *size_name(long bytes, char *buf, size_t cap)
{
    static const char unit[] = "GMK";
    for (int u = 0; u < 3; u++) {
        long scale = 1L << (10 * (3 - u));
        if (bytes % scale == 0) {
            snprintf(buf, cap, "%ld%c", bytes / scale, unit[u]);
            return buf;
        }
    }
    snprintf(buf, cap, "%ld", bytes);
    return buf;
}

/* ----------------------------------------------------- one size's state -- */

enum { OP_RR_OFF, OP_RR_ON, OP_MANAGED_OFF, OP_MANAGED_ON, OP_GATHERV, OP_INPLACE, OP_FRESH,
       OP_INTERLEAVE, OP_STRIDED, OP_GATHER, OP_GATHER_INTO, N_OPS };

struct setup {
    MPI_Comm comm; /* duplicate of MPI_COMM_WORLD: the baseline's */
    int master, rank, ranks, nodes, remote_leader;
    long bytes;          /* S, per rank */
    long m, n;           /* words per rank, in all */
    dlp_results *res;
    unsigned char *shared;  /* dlp_results_at(res, 0) */
    unsigned char *priv;    /* n words, this rank's */
    unsigned char *send;    /* m words */
    unsigned char *recv;    /* master: n words */
    unsigned char *inter;   /* master: n words, gatherv_interleave's array */
    int one_host;           /* every rank on this host: the tails are measured */
    size_t *lens;           /* master: dlp_gather's */
    int large;              /* n words > INT_MAX bytes: MPI_Gatherv_c */
    int *counts, *displs;
    MPI_Count *ccounts;
    MPI_Aint *cdispls;
    MPI_Datatype strided;       /* master: gatherv_strided's receive type */
    int *scounts, *sdispls;     /* master: its counts (1) and displacements (r) */
};

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        bench_die("gather: malloc");
    return p;
}

static void setup_init(struct setup *s, MPI_Comm comm, const struct bench_config *c, long bytes)
{
    memset(s, 0, sizeof *s);
    s->comm = comm;
    s->master = c->master;
    s->rank = CHECK(dlp_rank());
    s->ranks = c->ranks;
    s->nodes = c->nodes;
    s->remote_leader = CHECK(dlp_node()) > 0 && CHECK(dlp_node_rank()) == 0;
    s->bytes = bytes;
    s->m = bytes / WORD;
    s->n = s->m * c->ranks;
    size_t total = (size_t)s->n * WORD;
    CHECK(dlp_results_create(&s->res, s->n, WORD));
    s->shared = dlp_results_at(s->res, 0);
    if (dlp_results_at(s->res, s->n - 1) != s->shared + total - WORD) {
        fprintf(stderr, "gather: dense slots are not contiguous from dlp_results_at(r, 0)\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    s->priv = xmalloc(total);
    memset(s->priv, 0, total);
    s->send = xmalloc((size_t)bytes);
    memset(s->send, 0, (size_t)bytes);
    s->large = total > (size_t)INT_MAX;
    char host[MPI_MAX_PROCESSOR_NAME] = "", first[MPI_MAX_PROCESSOR_NAME] = "";
    int hlen = 0, same = 0, all_same = 0;
    MPI_Get_processor_name(host, &hlen);
    memcpy(first, host, sizeof first);
    mpi_check(MPI_Bcast(first, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, comm), "MPI_Bcast");
    same = strcmp(first, host) == 0;
    mpi_check(MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
    s->one_host = all_same;
    if (s->master) {
        s->recv = xmalloc(total);
        memset(s->recv, 0, total);
        s->inter = xmalloc(total);
        memset(s->inter, 0, total);
        s->lens = xmalloc(sizeof *s->lens * (size_t)s->ranks);
        s->counts = xmalloc(sizeof *s->counts * (size_t)s->ranks);
        s->displs = xmalloc(sizeof *s->displs * (size_t)s->ranks);
        s->ccounts = xmalloc(sizeof *s->ccounts * (size_t)s->ranks);
        s->cdispls = xmalloc(sizeof *s->cdispls * (size_t)s->ranks);
        s->scounts = xmalloc(sizeof *s->scounts * (size_t)s->ranks);
        s->sdispls = xmalloc(sizeof *s->sdispls * (size_t)s->ranks);
        for (int r = 0; r < s->ranks; r++) {
            s->ccounts[r] = bytes;
            s->cdispls[r] = (MPI_Aint)r * bytes;
            s->counts[r] = s->large ? 0 : (int)bytes;
            s->displs[r] = s->large ? 0 : (int)(r * bytes);
            s->scounts[r] = 1;
            s->sdispls[r] = r;
        }
        if (s->m > INT_MAX)
            bench_die("gather: more than INT_MAX words per rank");
        MPI_Datatype vec;
        mpi_check(MPI_Type_vector((int)s->m, 1, s->ranks, MPI_UINT64_T, &vec), "MPI_Type_vector");
        mpi_check(MPI_Type_create_resized(vec, 0, WORD, &s->strided), "MPI_Type_create_resized");
        mpi_check(MPI_Type_commit(&s->strided), "MPI_Type_commit");
        mpi_check(MPI_Type_free(&vec), "MPI_Type_free");
    }
}

static void setup_free(struct setup *s)
{
    CHECK(dlp_results_destroy(&s->res));
    free(s->priv);
    free(s->send);
    free(s->recv);
    free(s->inter);
    free(s->lens);
    free(s->counts);
    free(s->displs);
    free(s->ccounts);
    free(s->cdispls);
    free(s->scounts);
    free(s->sdispls);
    if (s->master)
        mpi_check(MPI_Type_free(&s->strided), "MPI_Type_free");
}

/* MPI_Gatherv of each rank's S bytes from send into the master's recv. */
static void gatherv(const struct setup *s, int inplace, unsigned char *recv)
{
    const void *sb = s->master && inplace ? MPI_IN_PLACE : s->send;
    int rc = s->large ? MPI_Gatherv_c(sb, (MPI_Count)s->bytes, MPI_BYTE, recv, s->ccounts,
                                      s->cdispls, MPI_BYTE, 0, s->comm)
                      : MPI_Gatherv(sb, (int)s->bytes, MPI_BYTE, recv, s->counts, s->displs,
                                    MPI_BYTE, 0, s->comm);
    mpi_check(rc, "MPI_Gatherv");
}

/* gatherv_strided: each rank's words straight to its items' places in the
 * master's inter (its own are there). */
static void gatherv_strided(const struct setup *s)
{
    const void *sb = s->master ? MPI_IN_PLACE : s->send;
    mpi_check(MPI_Gatherv(sb, (int)s->m, MPI_UINT64_T, s->inter, s->scounts, s->sdispls,
                          s->strided, 0, s->comm),
              "MPI_Gatherv (strided)");
}

/* gatherv_interleave's second step: the other ranks' words from recv to
 * their items' places in inter (the master's own are there). */
static void interleave(const struct setup *s)
{
    for (int r = 1; r < s->ranks; r++) {
        const uint64_t *from = (const uint64_t *)(s->recv + (size_t)r * (size_t)s->bytes);
        uint64_t *to = (uint64_t *)s->inter + r;
        for (long k = 0; k < s->m; k++)
            to[(size_t)k * (size_t)s->ranks] = from[k];
    }
}

/* A dense call in the loop form; *done gets this rank's clock when its
 * items are done (before dlp_loop_end, which moves the results). */
static void dense_loop(const struct setup *s, const dlp_opts *opts, struct dense *d,
                       double *done)
{
    dlp_loop *loop;
    CHECK(dlp_loop_begin(&loop, s->n, opts));
#pragma omp parallel
    {
        long i;
        while (dlp_loop_next(loop, &i))
            dense_body(i, d);
    }
    *done = bench_now();
    CHECK(dlp_loop_end(&loop));
}

static const char *const op_name[N_OPS] = {
    "dense_rr (without results)", "dense_rr", "dense_managed (without results)",
    "dense_managed", "gatherv", "gatherv_inplace", "gatherv_fresh", "gatherv_interleave",
    "gatherv_strided", "gather", "gather_into"};

/* Items the other nodes computed in the last dense call with results
 * (salt): their leaders count the slots of their node's array that hold
 * this call's values. Collective; the master gets the sum. */
static long remote_items(const struct setup *s, uint64_t salt)
{
    long mine = 0, sum = 0;
    for (long i = 0; s->remote_leader && i < s->n; i++) {
        uint64_t v;
        memcpy(&v, s->shared + (size_t)i * WORD, WORD);
        mine += v == item_value(i, salt);
    }
    mpi_check(MPI_Reduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, 0, s->comm), "MPI_Reduce");
    return sum;
}

/* One call of op (collective), checked on the master; its time on the
 * master's clock. *bad is set on a mismatch; *remote gets the other nodes'
 * items after a managed call with results (with several nodes); *tail, for
 * a dense call on one host, the time from the last rank's end of items to
 * the master's return (NAN otherwise). */
static double run_op(const struct setup *s, int op, uint64_t salt, int *bad, long *remote,
                     double *tail)
{
    struct dense d = {s->priv, salt};
    dlp_opts opts = DLP_OPTS_INIT;
    opts.progress = DLP_PROGRESS_OFF;
    if (op == OP_RR_ON || op == OP_MANAGED_ON) {
        d.base = s->shared;
        opts.results = s->res;
    }
    if (op == OP_INPLACE && s->master)
        fill_rank(s->recv, s->m, s->rank, s->ranks, salt);
    else if ((op == OP_INTERLEAVE || op == OP_STRIDED) && s->master)
        for (long k = 0; k < s->m; k++) { /* the master's own items, in place */
            uint64_t v = item_value(k * s->ranks, salt);
            memcpy(s->inter + (size_t)k * (size_t)s->ranks * WORD, &v, WORD);
        }
    else if (op >= OP_GATHERV)
        fill_rank(s->send, s->m, s->rank, s->ranks, salt);
    void *all = NULL;
    unsigned char *fresh = NULL;
    double done = 0;
    opts.split = op <= OP_RR_ON ? DLP_SPLIT_ROUND_ROBIN : DLP_SPLIT_MANAGED;

    mpi_check(MPI_Barrier(s->comm), "MPI_Barrier");
    double t0 = bench_now();
    switch (op) {
    case OP_RR_OFF:
    case OP_RR_ON:
    case OP_MANAGED_OFF:
    case OP_MANAGED_ON: dense_loop(s, &opts, &d, &done); break;
    case OP_GATHERV: gatherv(s, 0, s->recv); break;
    case OP_INPLACE: gatherv(s, 1, s->recv); break;
    case OP_FRESH:
        if (s->master)
            fresh = xmalloc((size_t)s->n * WORD);
        gatherv(s, 0, fresh);
        break;
    case OP_INTERLEAVE:
        gatherv(s, 1, s->recv);
        if (s->master)
            interleave(s);
        break;
    case OP_STRIDED: gatherv_strided(s); break;
    case OP_GATHER: CHECK(dlp_gather(s->send, (size_t)s->bytes, &all, s->lens)); break;
    default:
        CHECK(dlp_gather_into(s->send, (size_t)s->bytes, s->recv,
                              s->master ? (size_t)s->n * WORD : 0, s->lens));
        break;
    }
    double t1 = bench_now(), dt = t1 - t0;
    *tail = NAN;
    if (op <= OP_MANAGED_ON) { /* (not timed) */
        double last = 0;
        mpi_check(MPI_Allreduce(&done, &last, 1, MPI_DOUBLE, MPI_MAX, s->comm), "MPI_Allreduce");
        if (s->one_host)
            *tail = t1 - last;
    }

    if (s->master) {
        const unsigned char *got = op == OP_GATHER    ? all
                                   : op == OP_FRESH   ? fresh
                                   : op >= OP_GATHERV ? s->recv
                                                      : NULL;
        if (op == OP_INTERLEAVE || op == OP_STRIDED)
            got = s->inter;
        if (op == OP_RR_ON || op == OP_MANAGED_ON)
            got = dlp_results_data(s->res);
        for (int r = 0; op >= OP_GATHER && got && r < s->ranks; r++)
            if (s->lens[r] != (size_t)s->bytes) { /* then the words are not read */
                if (++mismatches <= MISMATCH_REPORTS)
                    fprintf(stderr, "gather: MISMATCH: dlp_gather lens[%d] = %zu, expected %ld\n",
                            r, s->lens[r], s->bytes);
                *bad = 1;
                got = NULL;
            }
        int per_rank = op >= OP_GATHERV && op != OP_INTERLEAVE && op != OP_STRIDED;
        if (got && check_words(got, s->n, s->m, s->ranks, per_rank, op != OP_MANAGED_ON, salt,
                               op_name[op], (size_t)s->bytes))
            *bad = 1;
    }
    free(all);
    free(fresh);
    if (op == OP_MANAGED_ON && s->nodes > 1)
        *remote = remote_items(s, salt);
    return dt;
}

/* ------------------------------------------------------------- results -- */

/* Series: what is measured (dense_*: with minus without results). */
enum { S_GATHERV, S_INPLACE, S_FRESH, S_INTERLEAVE, S_STRIDED, S_GATHER, S_GATHER_INTO,
       S_DENSE_RR, S_DENSE_MANAGED, S_RR_TAIL, S_MANAGED_TAIL, N_SERIES };
static const char *const series_name[N_SERIES] = {
    "gatherv", "gatherv_inplace", "gatherv_fresh", "gatherv_interleave", "gatherv_strided",
    "gather", "gather_into", "dense_rr", "dense_managed", "dense_rr_tail", "dense_managed_tail"};

/* The table's lines: a series against a baseline series (-1: none). */
static const struct {
    int series, vs;
} line[] = {
    {S_GATHERV, -1},          {S_INPLACE, -1},          {S_FRESH, -1},
    {S_INTERLEAVE, -1},       {S_STRIDED, -1},          {S_GATHER, S_GATHERV},
    {S_GATHER, S_FRESH},      {S_GATHER_INTO, S_GATHERV}, {S_DENSE_RR, S_INPLACE},
    {S_DENSE_RR, S_INTERLEAVE}, {S_DENSE_RR, S_STRIDED}, {S_DENSE_MANAGED, S_INPLACE},
    {S_RR_TAIL, S_INPLACE},   {S_RR_TAIL, S_INTERLEAVE}, {S_RR_TAIL, S_STRIDED},
    {S_MANAGED_TAIL, S_INPLACE}};
#define N_LINES ((int)(sizeof line / sizeof line[0]))

struct row {
    double med, lo, hi;
    double with_med, without_med; /* dense_*: the calls' medians */
};

struct size_result {
    long bytes, calls;
    double remote_share; /* dense_managed: median share of the other nodes' items */
    struct row row[N_SERIES];
};

/* Median, min and max of v into r. */
static void row_of(struct row *r, const double *v, int reps)
{
    bench_spread(v, reps, &r->med, &r->lo, &r->hi);
}

/* Row k from the differences on - off, sample by sample. */
static void diff_row(struct row *row, const double *on, const double *off, int reps)
{
    double *d = xmalloc(sizeof *d * (size_t)reps);
    for (int r = 0; r < reps; r++)
        d[r] = on[r] - off[r];
    struct row tmp;
    row_of(row, d, reps);
    row_of(&tmp, on, reps);
    row->with_med = tmp.med;
    row_of(&tmp, off, reps);
    row->without_med = tmp.med;
    free(d);
}

/* One size: warm-up, then reps samples; the master's statistics into out. */
static void measure(const struct setup *s, int reps, uint64_t *salt, int *bad,
                    struct size_result *out)
{
    long calls = SAMPLE_BYTES / s->bytes > 1 ? SAMPLE_BYTES / s->bytes : 1;
    double *t = xmalloc(sizeof *t * (size_t)(N_OPS * reps));
    double *tl = xmalloc(sizeof *tl * (size_t)(N_OPS * reps)); /* tails */
    double *share = xmalloc(sizeof *share * (size_t)reps);
    long remote = 0;
    double tail;
    for (int op = 0; op < N_OPS; op++) /* warm-up: touches every array */
        run_op(s, op, ++*salt, bad, &remote, &tail);
    for (int r = 0; r < reps; r++) {
        double acc[N_OPS] = {0}, acc_tail[N_OPS] = {0};
        long remote_sum = 0;
        for (long j = 0; j < calls; j++) {
            for (int q = 0; q < N_OPS; q++) {
                int op = r % 2 ? N_OPS - 1 - q : q;
                acc[op] += run_op(s, op, ++*salt, bad, &remote, &tail);
                acc_tail[op] += tail;
                if (op == OP_MANAGED_ON)
                    remote_sum += remote;
            }
        }
        for (int op = 0; op < N_OPS; op++) {
            t[op * reps + r] = acc[op] / (double)calls;
            tl[op * reps + r] = acc_tail[op] / (double)calls;
        }
        share[r] = (double)remote_sum / ((double)calls * (double)s->n);
    }
    if (s->master) {
        out->bytes = s->bytes;
        out->calls = calls;
        double dummy;
        bench_spread(share, reps, &out->remote_share, &dummy, &dummy);
        static const int plain[][2] = {
            {S_GATHERV, OP_GATHERV},       {S_INPLACE, OP_INPLACE}, {S_FRESH, OP_FRESH},
            {S_INTERLEAVE, OP_INTERLEAVE}, {S_STRIDED, OP_STRIDED}, {S_GATHER, OP_GATHER},
            {S_GATHER_INTO, OP_GATHER_INTO}};
        for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++)
            row_of(&out->row[plain[k][0]], t + plain[k][1] * reps, reps);
        diff_row(&out->row[S_DENSE_RR], t + OP_RR_ON * reps, t + OP_RR_OFF * reps, reps);
        diff_row(&out->row[S_DENSE_MANAGED], t + OP_MANAGED_ON * reps, t + OP_MANAGED_OFF * reps,
                 reps);
        diff_row(&out->row[S_RR_TAIL], tl + OP_RR_ON * reps, tl + OP_RR_OFF * reps, reps);
        diff_row(&out->row[S_MANAGED_TAIL], tl + OP_MANAGED_ON * reps,
                 tl + OP_MANAGED_OFF * reps, reps);
    }
    free(share);
    free(tl);
    free(t);
}

/* "%.3g" of x into buf, "inf" when x <= 0 is a rate or ratio over a time
 * that was not positive, "-" when there is none (NAN). */
static const char *fmt_ratio(double num, double den, char *buf, size_t cap)
{
    if (num != num)
        snprintf(buf, cap, "-");
    else if (!(den > 0))
        snprintf(buf, cap, "inf");
    else
        snprintf(buf, cap, "%.3g", num / den);
    return buf;
}

static void report(const struct bench_config *c, const struct size_result *res, int nsizes,
                   int reps, int bad, const char *csv_path)
{
    char sizes[40 + 8 * MAX_SIZES] = ", sizes/rank", nm[32];
    for (int z = 0; z < nsizes; z++) {
        size_t len = strlen(sizes);
        snprintf(sizes + len, sizeof sizes - len, " %s", size_name(res[z].bytes, nm, sizeof nm));
    }
    long n_max = 0;
    for (int z = 0; z < nsizes; z++)
        if (res[z].bytes / WORD * c->ranks > n_max)
            n_max = res[z].bytes / WORD * c->ranks;
    FILE *csv = bench_csv_open(csv_path, "bytes_per_rank,bytes_total,calls_per_sample,"
                                         "median_s,min_s,max_s,gb_per_s,baseline,"
                                         "baseline_median_s,ratio,with_results_median_s,"
                                         "without_results_median_s,remote_share");

    printf("# dlp_mpi gather: dense results (opts.results) and dlp_gather vs MPI_Gatherv of "
           "the same bytes\n");
    bench_print_config(c, n_max, sizes, reps, "");
    printf("# N: 8-byte items of the largest dense call (S x ranks / 8); a sample is the mean "
           "of max(1, 8 MiB / S) calls:");
    for (int z = 0; z < nsizes; z++)
        printf(" %s %ld%s", size_name(res[z].bytes, nm, sizeof nm), res[z].calls,
               z + 1 < nsizes ? "," : "\n");
    printf("# dense_*: call with results minus without, sample by sample; dense_*_tail: the "
           "same for the time from the last rank's end of items to the master's return%s; "
           "ratio = baseline median / median (target >= 0.8)\n",
           res[0].row[S_RR_TAIL].med == res[0].row[S_RR_TAIL].med
               ? ""
               : " (not measured: the ranks run on several hosts)");
    printf("# gatherv_fresh: into a buffer malloc'd for the call (what dlp_gather returns); "
           "gatherv_interleave: then the other ranks' words to their round-robin items' places "
           "(what dense round robin results end with); gatherv_strided: MPI_Gatherv straight "
           "to those places (the root's receive type a vector at a stride of ranks words)\n");
    if (c->nodes == 1)
        printf("# one node: dense results are written in place in node-shared memory, nothing "
               "moves; dense_* is what the shared writes and the results' collective cost, "
               "often within the noise%s\n",
               c->ranks == 1 ? "; gatherv_inplace on one rank is a no-op" : "");
    printf("# times in s, master's clock; ");
    bench_print_load(c);
    printf("# %-16s %12s %11s %11s %11s %8s  %-18s %11s %7s\n", "kind", "bytes_total",
           "median_s", "min_s", "max_s", "GB/s", "baseline", "base_med_s", "ratio");
    for (int z = 0; z < nsizes; z++) {
        long total = res[z].bytes * c->ranks;
        for (int k = 0; k < N_LINES; k++) {
            int sr = line[k].series, vs = line[k].vs;
            const struct row *w = &res[z].row[sr];
            double base = vs >= 0 ? res[z].row[vs].med : NAN;
            char gbs[16], ratio[16], base_s[24] = "-", med[16] = "-", lo[16] = "-", hi[16] = "-";
            if (w->med == w->med) { /* (NAN: a tail not measured) */
                snprintf(med, sizeof med, "%.6f", w->med);
                snprintf(lo, sizeof lo, "%.6f", w->lo);
                snprintf(hi, sizeof hi, "%.6f", w->hi);
            }
            fmt_ratio(w->med == w->med ? (double)total / 1e9 : NAN, w->med, gbs, sizeof gbs);
            fmt_ratio(w->med == w->med ? base : NAN, w->med, ratio, sizeof ratio);
            if (vs >= 0)
                snprintf(base_s, sizeof base_s, "%.6f", base);
            printf("  %-18s %12ld %11s %11s %11s %8s  %-18s %11s %7s\n", series_name[sr], total,
                   med, lo, hi, gbs, vs >= 0 ? series_name[vs] : "-", base_s, ratio);
            if (csv) {
                bench_csv_row(csv, c, series_name[sr], res[z].bytes / WORD * c->ranks, reps);
                fprintf(csv, ",%ld,%ld,%ld,%.9f,%.9f,%.9f,%s,%s,", res[z].bytes, total,
                        res[z].calls, w->med, w->lo, w->hi, gbs, vs >= 0 ? series_name[vs] : "");
                if (vs >= 0)
                    fprintf(csv, "%.9f,%s", base, ratio);
                else
                    fputc(',', csv);
                if (sr >= S_DENSE_RR)
                    fprintf(csv, ",%.9f,%.9f,%.4f\n", w->with_med, w->without_med,
                            sr == S_DENSE_RR || sr == S_RR_TAIL
                                ? (double)(c->nodes - 1) / c->nodes
                                : res[z].remote_share);
                else
                    fprintf(csv, ",,,\n");
            }
        }
    }
    for (int z = 0; z < nsizes; z++) {
        const struct row *rr = &res[z].row[S_DENSE_RR], *mg = &res[z].row[S_DENSE_MANAGED];
        printf("# %s/rank dense calls, median s: round robin %.6f with results, %.6f without; "
               "managed %.6f with, %.6f without",
               size_name(res[z].bytes, nm, sizeof nm), rr->with_med, rr->without_med,
               mg->with_med, mg->without_med);
        if (c->nodes > 1)
            printf("; other nodes computed %.1f%% of the items (managed, median), %.1f%% "
                   "(round robin)", 100 * res[z].remote_share,
                   100.0 * (c->nodes - 1) / c->nodes);
        printf("\n");
    }
    if (bad)
        printf("# WARNING: gathered bytes were wrong in %ld calls (see stderr)\n", mismatches);
    bench_csv_close(csv, csv_path);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    const int reps = (int)bench_arg_long(argc, argv, 1, 7, 1, 1000);
    const char *csv_path = argc > 2 ? argv[2] : "bench_gather.csv";
    struct bench_config c;
    bench_config_init(&c);

    long sizes[MAX_SIZES];
    int nsizes = 0;
    char list[512];
    snprintf(list, sizeof list, "%s", bench_env("GATHER_SIZES", DEFAULT_SIZES));
    for (char *save = NULL, *tok = strtok_r(list, " ,", &save); tok;
         tok = strtok_r(NULL, " ,", &save)) {
        long v = parse_size(tok);
        if (v < 0 || nsizes == MAX_SIZES) {
            if (c.master)
                fprintf(stderr, "gather: GATHER_SIZES: \"%s\" is not a positive multiple of 8 "
                                "bytes up to 64G (suffix K, M, G), or more than %d sizes\n",
                        tok, MAX_SIZES);
            return bench_finish(1);
        }
        sizes[nsizes++] = v;
    }
    if (nsizes == 0)
        return bench_finish(1);

    MPI_Comm comm;
    mpi_check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
    struct size_result res[MAX_SIZES];
    memset(res, 0, sizeof res);
    uint64_t salt = 0x5DEECE66Dull;
    int bad = 0;
    for (int z = 0; z < nsizes; z++) {
        struct setup s;
        setup_init(&s, comm, &c, sizes[z]);
        measure(&s, reps, &salt, &bad, &res[z]);
        setup_free(&s);
    }
    if (c.master)
        report(&c, res, nsizes, reps, bad, csv_path);
    MPI_Comm_free(&comm);
    return bench_finish(bad);
}
