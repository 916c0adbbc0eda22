/* Where the time of a parallel call goes: DLP_TRACE=file.json writes every
 * thread's chunks (with DLP_TRACE_ITEMS=1 every item) as Chrome-trace
 * events (pid = rank, tid = OpenMP thread; Perfetto and chrome://tracing
 * open it), DLP_STATS=1 prints per rank and thread the busy time, items,
 * chunks and idle time, and the imbalance. The master's settings decide.
 *
 * Every team thread records spans: a run of items it took from one chunk
 * of its cursor (a clock read when it moves to the next chunk, not per
 * item). After the call the master gathers every rank's spans, prints the
 * summary and rewrites the trace file with the events of every call so far
 * (each rank's times count from its own start of the call: nodes' clocks
 * need not agree). */
#ifndef DLP_LIB_TRACE_H
#define DLP_LIB_TRACE_H

#include <stdatomic.h>

/** Threads per rank that record (others are not traced; a note says so). */
#define DLP__TRACE_SLOTS 1024

struct dlp__span {
    double t0, t1; /* seconds since the rank's start of the call */
    long first;    /* first item */
    long items;
};

struct dlp__trace_thread {
    int thread;    /* OpenMP thread number */
    int chunk;     /* cursor chunk of the open span, -1: none open */
    struct dlp__span *span;
    long len, cap;
};

struct dlp__trace {
    int items_too;      /* one span per item */
    double t0;          /* the rank's start of the call (dlp__now) */
    double t_end;       /* the rank's end of the teams' work */
    _Atomic int used;
    struct dlp__trace_thread *slot; /* [DLP__TRACE_SLOTS] */
};

/** Start recording (per rank, after the handshake). DLP_ERR_NOMEM. */
int dlp__trace_start(struct dlp__trace *T, int items_too, const char *func);

/** The calling thread's recorder, NULL beyond DLP__TRACE_SLOTS. */
struct dlp__trace_thread *dlp__trace_claim(struct dlp__trace *T, int thread);

/** Open a new span at item when the thread moved to another chunk (or
 *  always, with items_too: then one span per item, or per batch of the
 *  range form); count the item and the count - 1 after it (a range form
 *  batch). Out of memory: the items are not traced (a span's count stays
 *  right for the ones that are). */
void dlp__trace_item(struct dlp__trace *T, struct dlp__trace_thread *t, int chunk, long item,
                     long count);

/** The thread leaves the call: close its span. */
void dlp__trace_leave(struct dlp__trace *T, struct dlp__trace_thread *t);

/* The call a trace reports on: its number, public function and items. */
struct dlp__trace_call {
    unsigned long seq;
    const char *func;
    long n;
};

/** After the teams finished (collective): gather to the master, which
 *  prints the summary (stats) of call L and writes the trace file (path,
 *  or NULL). Frees the recorders. Failures are reported on stderr by the
 *  master and do not change the call's outcome. */
void dlp__trace_finish(struct dlp__trace *T, const struct dlp__trace_call *L, const char *path,
                       int stats);

#endif
