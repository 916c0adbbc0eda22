/* DLP_TRACE and DLP_STATS (see trace.h). */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fatal.h"
#include "runtime.h"
#include "wait.h"

/* Fields of a span on the wire (doubles): thread, t0, t1, first, items. */
#define WIRE 5
/* Fields of a thread's sums on the wire: thread, busy, items, spans. */
#define SUMS 4
/* Each rank's fixed record: its kept spans, its end, its threads with
 * spans, its dropped spans, its agent's four figures (trace.h). */
#define SAY 8

int dlp__trace_agent_lines(void)
{
    /* test hook (internal, tests/CMakeLists.txt stats_agents.*):
     * DLP__TEST_AGENT_LINES=K, nodes up to which the agents print */
    const char *hook = getenv("DLP__TEST_AGENT_LINES");
    long k = hook && *hook ? strtol(hook, NULL, 10) : DLP__TRACE_AGENT_LINES;
    return k < 0 ? 0 : k > INT_MAX ? INT_MAX : (int)k;
}

int dlp__trace_start(struct dlp__trace *T, int items_too, int keep, long max_spans,
                     const char *func)
{
    memset(T, 0, sizeof *T);
    T->items_too = items_too;
    T->keep = keep;
    /* this rank's share of the cap, rounded up */
    long size = dlp__rt.size > 0 ? dlp__rt.size : 1;
    T->max_spans = max_spans / size + (max_spans % size != 0);
    T->t0 = dlp__now();
    T->slot = calloc(DLP__TRACE_SLOTS, sizeof *T->slot);
    if (!T->slot)
        return dlp__fail(DLP_ERR_NOMEM, func, "trace recorders");
    return DLP_OK;
}

struct dlp__trace_thread *dlp__trace_claim(struct dlp__trace *T, int thread)
{
    int k = atomic_fetch_add(&T->used, 1);
    if (k >= DLP__TRACE_SLOTS) {
        if (k == DLP__TRACE_SLOTS)
            fprintf(stderr, "dlp_mpi: more than %d threads on rank %d: the others are not "
                            "traced\n",
                    DLP__TRACE_SLOTS, dlp__rt.rank);
        return NULL;
    }
    T->slot[k].thread = thread;
    T->slot[k].chunk = -1;
    return &T->slot[k];
}

/* A trace keeps the closed span t->cur while the rank's share lasts. */
static void keep_span(struct dlp__trace *T, struct dlp__trace_thread *t)
{
    if (atomic_load_explicit(&T->kept, memory_order_relaxed) >= T->max_spans ||
        atomic_fetch_add_explicit(&T->kept, 1, memory_order_relaxed) >= T->max_spans) {
        t->dropped++;
        return;
    }
    if (t->len == t->cap) {
        long cap = t->cap ? 2 * t->cap : 64;
        void *p = realloc(t->span, (size_t)cap * sizeof *t->span);
        if (!p) {
            t->dropped++;
            return;
        }
        t->span = p;
        t->cap = cap;
    }
    t->span[t->len++] = t->cur;
}

static void close_span(struct dlp__trace *T, struct dlp__trace_thread *t, double now)
{
    if (t->chunk >= 0) {
        t->cur.t1 = now - T->t0;
        t->busy += t->cur.t1 - t->cur.t0;
        t->items += t->cur.items;
        t->spans++;
        if (T->keep)
            keep_span(T, t);
    }
    t->chunk = -1;
}

void dlp__trace_item(struct dlp__trace *T, struct dlp__trace_thread *t, int chunk, long item,
                     long count)
{
    if (t->chunk != chunk || T->items_too) {
        double now = dlp__now();
        close_span(T, t, now);
        t->cur = (struct dlp__span){now - T->t0, now - T->t0, item, 0};
        t->chunk = chunk;
    }
    t->cur.items += count;
}

void dlp__trace_leave(struct dlp__trace *T, struct dlp__trace_thread *t)
{
    close_span(T, t, dlp__now());
}

/* ------------------------------------------------------------ the master -- */

/* Events of every call so far (the file is rewritten after each call). */
static char *json;
static size_t json_len, json_cap;
static double json_origin = -1; /* the master's start of the first traced call */
static int json_ranks;          /* ranks named so far */

static int json_room(size_t more)
{
    if (json_len + more < json_cap)
        return 1;
    size_t cap = json_cap ? json_cap : 1 << 16;
    while (json_len + more >= cap)
        cap *= 2;
    char *p = realloc(json, cap);
    if (!p)
        return 0;
    json = p;
    json_cap = cap;
    return 1;
}

static void json_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void json_add(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !json_room((size_t)n + 3))
        return;
    if (json_len)
        json[json_len++] = ',';
    va_start(ap, fmt);
    vsnprintf(json + json_len, json_cap - json_len, fmt, ap);
    va_end(ap);
    json_len += (size_t)n;
}

/* The trace goes to a new file next to path (O_EXCL, never through a
 * symbolic link, mode 0644 less the umask), which then replaces path by a
 * rename: a link planted at path is replaced, not followed, and a reader
 * never sees half a trace. */
static void write_trace(const char *path)
{
    size_t len = strlen(path) + 48;
    char *tmp = malloc(len);
    int fd = -1, e = ENOMEM;
    for (unsigned k = 0; tmp && fd < 0 && k < 16; k++) {
        snprintf(tmp, len, "%s.tmp.%ld.%u", path, (long)getpid(), k);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        e = errno;
        if (fd < 0 && e != EEXIST)
            break;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL;
    if (fd >= 0 && !f) {
        e = errno;
        close(fd);
    }
    if (ok) {
        ok = fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f) >= 0 &&
             (json_len == 0 || fwrite(json, 1, json_len, f) == json_len) && fputs("\n]}\n", f) >= 0;
        e = errno;
        if (fclose(f) != 0 && ok) {
            ok = 0;
            e = errno;
        }
        if (ok && rename(tmp, path) != 0) {
            ok = 0;
            e = errno;
        }
        if (!ok)
            unlink(tmp);
    }
    if (!ok)
        fprintf(stderr, "dlp_mpi: cannot write the trace %s (DLP_TRACE): %s\n", path,
                DLP__ERRNO_TEXT(e));
    free(tmp);
}

/* One rank's spans (wire format) as events; offset: the call's start on
 * the master's timeline, in seconds. */
static void trace_events(const struct dlp__trace_call *L, int rank, const double *w, long spans,
                         double offset)
{
    for (; json_ranks <= rank; json_ranks++)
        json_add("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"args\":{\"name\":\"rank "
                 "%d\"}}\n",
                 json_ranks, json_ranks);
    for (long k = 0; k < spans; k++, w += WIRE)
        json_add("{\"name\":\"%s\",\"cat\":\"call %lu\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,"
                 "\"pid\":%d,\"tid\":%d,\"args\":{\"first\":%.0f,\"items\":%.0f}}\n",
                 w[4] > 1 ? "chunk" : "item", L->seq, 1e6 * (offset + w[1]),
                 1e6 * (w[2] - w[1]), rank, (int)w[0], w[3], w[4]);
}

/* Per thread of all ranks: busy seconds, items, spans, idle seconds. */
struct thread_sum {
    int rank, thread;
    double busy, idle;
    long items, spans;
};

static void print_stats(const struct dlp__trace_call *L, const struct thread_sum *t, long n,
                        double wall)
{
    fprintf(stderr,
            "dlp_mpi: stats of %s (call #%lu, n = %ld, %.3f s on the master, %d ranks, %d "
            "nodes):\n",
            L->func, L->seq, L->n, wall, dlp__rt.size, dlp__rt.nodes);
    if (n <= 64) {
        fprintf(stderr, "  %5s %6s %12s %8s %10s %10s\n", "rank", "thread", "items", "chunks",
                "busy_s", "idle_s");
        for (long k = 0; k < n; k++)
            fprintf(stderr, "  %5d %6d %12ld %8ld %10.4f %10.4f\n", t[k].rank, t[k].thread,
                    t[k].items, t[k].spans, t[k].busy, t[k].idle);
    }
    const char *what[3] = {"busy s", "items", "idle s"};
    for (int m = 0; m < 3; m++) {
        double lo = 0, hi = 0, sum = 0;
        long at_lo = 0, at_hi = 0;
        for (long k = 0; k < n; k++) {
            double v = m == 0 ? t[k].busy : m == 1 ? (double)t[k].items : t[k].idle;
            sum += v;
            if (k == 0 || v < lo) {
                lo = v;
                at_lo = k;
            }
            if (k == 0 || v > hi) {
                hi = v;
                at_hi = k;
            }
        }
        double mean = n > 0 ? sum / (double)n : 0;
        fprintf(stderr,
                "  %-6s per thread: min %.4g (rank %d thread %d), avg %.4g, max %.4g (rank %d "
                "thread %d)%s",
                what[m], lo, t[at_lo].rank, t[at_lo].thread, mean, hi, t[at_hi].rank,
                t[at_hi].thread, m == 2 ? "\n" : "");
        if (m < 2)
            fprintf(stderr, "; imbalance max/mean %.3f\n", mean > 0 ? hi / mean : 1.0);
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Figure f of the node agents' figures (SAY records, agent at 4), over the
 * nodes r in who[0..k): min, median, max, the nodes of the min and max. */
struct spread {
    double lo, mid, hi;
    int at_lo, at_hi;
};

static const double *agent_of(const double *all, int r)
{
    return all + (size_t)r * SAY + 4;
}

static void spread_of(const double *all, int *who, int k, int f, struct spread *out)
{
    double *v = malloc((size_t)k * sizeof *v);
    *out = (struct spread){0, 0, 0, who[0], who[0]};
    for (int j = 0; j < k; j++) {
        double x = agent_of(all, who[j])[f];
        if (v)
            v[j] = x;
        if (j == 0 || x < out->lo) {
            out->lo = x;
            out->at_lo = who[j];
        }
        if (j == 0 || x > out->hi) {
            out->hi = x;
            out->at_hi = who[j];
        }
    }
    if (v) {
        qsort(v, (size_t)k, sizeof *v, by_value);
        out->mid = v[(k - 1) / 2];
    }
    free(v);
}

/* Above DLP__TRACE_AGENT_LINES nodes: the agents' figures in one line. */
static void print_agents(const struct dlp__trace_call *L, const double *all)
{
    int S = dlp__rt.size, k = 0;
    int *who = malloc((size_t)S * sizeof *who);
    for (int r = 1; who && r < S; r++)
        if (agent_of(all, r)[0] > 0)
            who[k++] = r;
    if (k > 0) {
        static const char *const name[4] = {"chunk requests", "reply latency median ms",
                                            "p99 ms", "max ms"};
        fprintf(stderr, "dlp_mpi: the %d node agents of call #%lu (over nodes: min (node), "
                        "median, max (node)):",
                k, L->seq);
        for (int f = 0; f < 4; f++) {
            struct spread sp;
            spread_of(all, who, k, f, &sp);
            fprintf(stderr, "%s %s %.*f (node %d), %.*f, %.*f (node %d)", f ? ";" : "", name[f],
                    f ? 3 : 0, sp.lo, dlp__rt.node_of_rank[sp.at_lo], f ? 3 : 0, sp.mid, f ? 3 : 0,
                    sp.hi, dlp__rt.node_of_rank[sp.at_hi]);
        }
        fputc('\n', stderr);
    }
    free(who);
}

/* Master: every rank's record (all: SAY per rank), threads' sums (sums:
 * SUMS per thread, by rank) and kept spans (w: WIRE per span, by rank)
 * arrived. */
static void master_report(const struct dlp__trace *T, const struct dlp__trace_call *L,
                          const double *all, const double *sums, const double *w,
                          const char *path, int stats)
{
    int S = dlp__rt.size;
    if (json_origin < 0)
        json_origin = T->t0;
    double offset = T->t0 - json_origin, wall = dlp__now() - T->t0;
    long threads = 0, dropped = 0;
    struct thread_sum *sum = NULL;
    if (stats) {
        for (int r = 0; r < S; r++)
            threads += (long)all[(size_t)r * SAY + 2];
        sum = calloc((size_t)(threads > 0 ? threads : 1), sizeof *sum);
        if (!sum)
            fprintf(stderr, "dlp_mpi: out of memory for the stats of %s\n", L->func);
    }
    const double *at = w, *th = sums;
    for (long r = 0, x = 0; r < S; r++) {
        const double *say = all + (size_t)r * SAY;
        long spans = (long)say[0], nthreads = (long)say[2];
        dropped += (long)say[3];
        if (path) {
            trace_events(L, (int)r, at, spans, offset);
            at += WIRE * spans;
        }
        /* idle: the call's time on the master until every rank had reached
         * its end (this report), not the rank's own end: a rank whose items
         * ran out waits for the others, and that is idle time too */
        double span = wall > say[1] ? wall : say[1];
        for (long j = 0; sum && j < nthreads; j++, x++, th += SUMS)
            sum[x] = (struct thread_sum){(int)r, (int)th[0], th[1],
                                         span > th[1] ? span - th[1] : 0, (long)th[2],
                                         (long)th[3]};
    }
    if (path && dropped > 0) {
        json_add("{\"name\":\"dlp_mpi: %ld spans dropped (DLP_TRACE_MAX_SPANS)\",\"ph\":\"i\","
                 "\"s\":\"g\",\"ts\":%.3f,\"pid\":0,\"tid\":0,\"cat\":\"call %lu\","
                 "\"args\":{\"dropped\":%ld}}\n",
                 dropped, 1e6 * offset, L->seq, dropped);
        fprintf(stderr,
                "dlp_mpi: the trace of call #%lu (%s) drops %ld spans: more than "
                "DLP_TRACE_MAX_SPANS over the ranks (each rank keeps its share)\n",
                L->seq, L->func, dropped);
    }
    if (path)
        write_trace(path);
    if (sum)
        print_stats(L, sum, threads, wall);
    if (stats && dlp__rt.nodes > dlp__trace_agent_lines())
        print_agents(L, all);
    free(sum);
}

/* This rank's threads' sums (SUMS each, only threads with spans), or with
 * spans set its kept spans (WIRE each), in the wire format; *n of them.
 * Out of memory: NULL, *n = 0 (the rank takes part with nothing). */
static double *pack(const struct dlp__trace *T, int used, int spans, long *n)
{
    *n = 0;
    for (int k = 0; k < used; k++)
        *n += spans ? T->slot[k].len : T->slot[k].spans > 0;
    int width = spans ? WIRE : SUMS;
    double *o = malloc((size_t)(*n > 0 ? *n : 1) * (size_t)width * sizeof *o);
    if (!o) {
        *n = 0;
        return NULL;
    }
    double *e = o;
    for (int k = 0; k < used; k++) {
        const struct dlp__trace_thread *t = &T->slot[k];
        for (long j = 0; spans && j < t->len; j++, e += WIRE) {
            const struct dlp__span *s = &t->span[j];
            e[0] = t->thread;
            e[1] = s->t0;
            e[2] = s->t1;
            e[3] = (double)s->first;
            e[4] = (double)s->items;
        }
        if (!spans && t->spans > 0) {
            e[0] = t->thread;
            e[1] = t->busy;
            e[2] = (double)t->items;
            e[3] = (double)t->spans;
            e += SUMS;
        }
    }
    return o;
}

/* Every rank's n values of width doubles (mine) to the master, which has
 * every rank's count in field f of the records (all; NULL on the other
 * ranks) and returns them in rank order (the other ranks: NULL). */
static double *gather_to_master(const double *mine, long n, int width, const double *all, int f)
{
    int S = dlp__rt.size, master = all != NULL;
    int *cnt = NULL, *displ = NULL;
    double *in = NULL;
    if (master) {
        long total = 0;
        for (int r = 0; r < S; r++)
            total += (long)all[(size_t)r * SAY + f];
        cnt = calloc((size_t)S, sizeof *cnt);
        displ = calloc((size_t)S, sizeof *displ);
        in = total <= INT_MAX / width
                 ? malloc((size_t)(total > 0 ? total : 1) * (size_t)width * sizeof *in)
                 : NULL;
        if (!cnt || !displ || !in)
            dlp__helper_abort("trace", "out of memory (or over 2^31 values) for the trace",
                              MPI_SUCCESS);
        for (int r = 0, x = 0; r < S; r++) {
            cnt[r] = (int)((long)all[(size_t)r * SAY + f] * width);
            displ[r] = x;
            x += cnt[r];
        }
    }
    MPI_Request req;
    DLP__HELPER_CHECK("trace", MPI_Igatherv(mine, (int)(n * width), MPI_DOUBLE, in, cnt, displ,
                                            MPI_DOUBLE, 0, dlp__rt.comm, &req));
    DLP__HELPER_CHECK("trace", dlp__wait(&req));
    free(cnt);
    free(displ);
    return in;
}

void dlp__trace_finish(struct dlp__trace *T, const struct dlp__trace_call *L, const char *path,
                       int stats)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int master = rt->rank == 0;
    int used = atomic_load(&T->used);
    used = used < DLP__TRACE_SLOTS ? used : DLP__TRACE_SLOTS;
    long nsums = 0, nspans = 0, dropped = 0, kept = 0;
    for (int k = 0; k < used; k++) {
        dropped += T->slot[k].dropped;
        kept += T->slot[k].len;
    }
    double *sums = stats ? pack(T, used, 0, &nsums) : NULL;
    double *spans = T->keep ? pack(T, used, 1, &nspans) : NULL;
    if (T->keep && !spans) /* out of memory: none sent */
        dropped += kept;
    double say[SAY] = {(double)nspans, T->t_end - T->t0, (double)nsums, (double)dropped,
                       L->agent[0], L->agent[1], L->agent[2], L->agent[3]};
    double *all = master ? malloc((size_t)rt->size * SAY * sizeof *all) : NULL;
    if (master && !all)
        dlp__helper_abort("trace", "out of memory for the trace", MPI_SUCCESS);
    MPI_Request req;
    DLP__HELPER_CHECK("trace", MPI_Igather(say, SAY, MPI_DOUBLE, all, SAY, MPI_DOUBLE, 0,
                                           rt->comm, &req));
    DLP__HELPER_CHECK("trace", dlp__wait(&req));
    double *in_sums = stats ? gather_to_master(sums, nsums, SUMS, all, 2) : NULL;
    double *in_spans = T->keep ? gather_to_master(spans, nspans, WIRE, all, 0) : NULL;
    if (master)
        master_report(T, L, all, in_sums, in_spans, T->keep ? path : NULL, stats);
    free(sums);
    free(spans);
    free(all);
    free(in_sums);
    free(in_spans);
    for (int k = 0; k < used; k++)
        free(T->slot[k].span);
    free(T->slot);
    T->slot = NULL;
}
