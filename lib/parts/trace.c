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

int dlp__trace_start(struct dlp__trace *T, int items_too, const char *func)
{
    memset(T, 0, sizeof *T);
    T->items_too = items_too;
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

static void close_span(struct dlp__trace *T, struct dlp__trace_thread *t, double now)
{
    if (t->chunk >= 0 && t->len > 0)
        t->span[t->len - 1].t1 = now - T->t0;
    t->chunk = -1;
}

void dlp__trace_item(struct dlp__trace *T, struct dlp__trace_thread *t, int chunk, long item,
                     long count)
{
    if (t->chunk != chunk || T->items_too) {
        double now = dlp__now();
        close_span(T, t, now);
        if (t->len == t->cap) {
            long cap = t->cap ? 2 * t->cap : 64;
            void *p = realloc(t->span, (size_t)cap * sizeof *t->span);
            if (!p)
                return;
            t->span = p;
            t->cap = cap;
        }
        t->span[t->len++] = (struct dlp__span){now - T->t0, now - T->t0, item, 0};
        t->chunk = chunk;
    }
    t->span[t->len - 1].items += count;
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

/* Master: every rank's spans arrived (w, counts in spans, ends). */
static void master_report(const struct dlp__trace *T, const struct dlp__trace_call *L,
                          const double *w, const long *counts, const double *ends,
                          const char *path, int stats)
{
    int S = dlp__rt.size;
    if (json_origin < 0)
        json_origin = T->t0;
    double offset = T->t0 - json_origin, wall = dlp__now() - T->t0;
    long threads = 0;
    struct thread_sum *sum = NULL;
    if (stats) {
        sum = calloc((size_t)S * DLP__TRACE_SLOTS, sizeof *sum);
        if (!sum)
            fprintf(stderr, "dlp_mpi: out of memory for the stats of %s\n", L->func);
    }
    const double *at = w;
    for (int r = 0; r < S; r++) {
        if (path)
            trace_events(L, r, at, counts[r], offset);
        long first = threads;
        for (long k = 0; sum && k < counts[r]; k++, at += WIRE) {
            long x = first;
            while (x < threads && sum[x].thread != (int)at[0])
                x++;
            if (x == threads)
                sum[threads++] = (struct thread_sum){r, (int)at[0], 0, 0, 0, 0};
            sum[x].busy += at[2] - at[1];
            sum[x].items += (long)at[4];
            sum[x].spans++;
        }
        if (!sum)
            at += WIRE * counts[r];
        /* idle: the call's time on the master until every rank had reached
         * its end (this report), not the rank's own end: a rank whose items
         * ran out waits for the others, and that is idle time too */
        double span = wall > ends[r] ? wall : ends[r];
        for (long x = first; x < threads; x++)
            sum[x].idle = span > sum[x].busy ? span - sum[x].busy : 0;
    }
    if (path)
        write_trace(path);
    if (sum)
        print_stats(L, sum, threads, wall);
    free(sum);
}

void dlp__trace_finish(struct dlp__trace *T, const struct dlp__trace_call *L, const char *path,
                       int stats)
{
    const struct dlp__runtime *rt = &dlp__rt;
    int S = rt->size, master = rt->rank == 0;
    long mine = 0;
    int used = atomic_load(&T->used);
    used = used < DLP__TRACE_SLOTS ? used : DLP__TRACE_SLOTS;
    for (int k = 0; k < used; k++)
        mine += T->slot[k].len;
    double *w = malloc((size_t)(mine > 0 ? mine : 1) * WIRE * sizeof *w);
    if (!w) /* take part with nothing */
        mine = 0;
    for (int k = 0, x = 0; w && k < used; k++)
        for (long j = 0; j < T->slot[k].len; j++, x++) {
            const struct dlp__span *s = &T->slot[k].span[j];
            double *o = w + (size_t)x * WIRE;
            o[0] = T->slot[k].thread;
            o[1] = s->t0;
            o[2] = s->t1;
            o[3] = (double)s->first;
            o[4] = (double)s->items;
        }
    double say[2] = {(double)mine, T->t_end - T->t0};
    double *all = master ? malloc(2 * (size_t)S * sizeof *all) : NULL;
    MPI_Request req;
    DLP__HELPER_CHECK("trace", MPI_Igather(say, 2, MPI_DOUBLE, all, 2, MPI_DOUBLE, 0, rt->comm,
                                           &req));
    DLP__HELPER_CHECK("trace", dlp__wait(&req));
    int *cnt = NULL, *displ = NULL;
    long *counts = NULL;
    double *ends = NULL, *in = NULL;
    if (master) {
        cnt = calloc((size_t)S, sizeof *cnt);
        displ = calloc((size_t)S, sizeof *displ);
        counts = calloc((size_t)S, sizeof *counts);
        ends = calloc((size_t)S, sizeof *ends);
        long total = 0;
        for (int r = 0; all && r < S; r++)
            total += (long)all[2 * (size_t)r];
        in = total * WIRE < INT_MAX ? malloc((size_t)(total > 0 ? total : 1) * WIRE * sizeof *in)
                                    : NULL;
        if (!cnt || !displ || !counts || !ends || !in || !all)
            dlp__helper_abort("trace", "out of memory (or over 2^31 values) for the trace",
                              MPI_SUCCESS);
        for (int r = 0, x = 0; r < S; r++) {
            counts[r] = (long)all[2 * (size_t)r];
            ends[r] = all[2 * (size_t)r + 1];
            cnt[r] = (int)(counts[r] * WIRE);
            displ[r] = x;
            x += cnt[r];
        }
    }
    DLP__HELPER_CHECK("trace", MPI_Igatherv(w, (int)(mine * WIRE), MPI_DOUBLE, in, cnt, displ,
                                            MPI_DOUBLE, 0, rt->comm, &req));
    DLP__HELPER_CHECK("trace", dlp__wait(&req));
    if (master)
        master_report(T, L, in, counts, ends, path, stats);
    free(w);
    free(all);
    free(cnt);
    free(displ);
    free(counts);
    free(ends);
    free(in);
    for (int k = 0; k < used; k++)
        free(T->slot[k].span);
    free(T->slot);
    T->slot = NULL;
}
