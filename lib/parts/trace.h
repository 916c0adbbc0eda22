/* Where the time of a parallel call goes: DLP_TRACE=file.json writes every
 * thread's chunks (with DLP_TRACE_ITEMS=1 every item) as Chrome-trace
 * events (pid = rank, tid = OpenMP thread; Perfetto and chrome://tracing
 * open it), DLP_STATS=1 prints per rank and thread the busy time, items,
 * chunks and idle time, and the imbalance. The master's settings decide.
 *
 * Every team thread records spans: a run of items it took from one chunk
 * of its cursor (a clock read when it moves to the next chunk, not per
 * item). Each thread sums its spans (busy time, items, spans) as they
 * close; only a trace keeps the spans themselves, at most
 * DLP_TRACE_MAX_SPANS per call over all ranks (each rank keeps its share,
 * max / ranks rounded up; the others are dropped and counted, and the
 * trace and the master's stderr say how many). After the call the master
 * gathers every rank's fixed record and its threads' sums (O(threads) per
 * rank) and, with a trace, the kept spans; prints the summary and
 * rewrites the trace file with the events of every call so far (each
 * rank's times count from its own start of the call: nodes' clocks need
 * not agree).
 *
 * Above DLP__TRACE_AGENT_LINES nodes the node agents' DLP_STATS lines
 * (one per node) give way to one line on the master: min, median and max
 * over the nodes of each figure, naming the nodes of the min and max. */
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
    struct dlp__span cur; /* the open span */
    double busy;   /* the closed spans' sums */
    long items, spans;
    long dropped;  /* spans not kept (over the cap, or out of memory) */
    struct dlp__span *span; /* kept spans (a trace only) */
    long len, cap;
};

/** Nodes up to which every node agent prints its own DLP_STATS line
 *  (above: one aggregated line on the master; the test hook
 *  DLP__TEST_AGENT_LINES=K lowers it). */
#define DLP__TRACE_AGENT_LINES 8

/** The number of nodes up to which the agents print their own lines. */
int dlp__trace_agent_lines(void);

struct dlp__trace {
    int items_too;      /* one span per item */
    int keep;           /* a trace: keep the spans */
    long max_spans;     /* spans this rank keeps at most */
    _Atomic long kept;  /* spans this rank's threads claimed to keep */
    double t0;          /* the rank's start of the call (dlp__now) */
    double t_end;       /* the rank's end of the teams' work */
    _Atomic int used;
    struct dlp__trace_thread *slot; /* [DLP__TRACE_SLOTS] */
};

/** Start recording (per rank, after the handshake); keep: a trace (the
 *  master's DLP_TRACE, the same on every rank), max_spans: this rank's
 *  DLP_TRACE_MAX_SPANS (spans per call over all ranks). DLP_ERR_NOMEM. */
int dlp__trace_start(struct dlp__trace *T, int items_too, int keep, long max_spans,
                     const char *func);

/** The calling thread's recorder, NULL beyond DLP__TRACE_SLOTS. */
struct dlp__trace_thread *dlp__trace_claim(struct dlp__trace *T, int thread);

/** Open a new span at item when the thread moved to another chunk (or
 *  always, with items_too: then one span per item, or per batch of the
 *  range form); count the item and the count - 1 after it (a range form
 *  batch). A span over the cap, or out of memory, is not kept but counted
 *  (the sums count it). */
void dlp__trace_item(struct dlp__trace *T, struct dlp__trace_thread *t, int chunk, long item,
                     long count);

/** The thread leaves the call: close its span. */
void dlp__trace_leave(struct dlp__trace *T, struct dlp__trace_thread *t);

/* The call a trace reports on: its number, public function and items;
 * with DLP_STATS above DLP__TRACE_AGENT_LINES nodes, this rank's node
 * agent's figures (requests, reply latency median, p99, max in ms; 0
 * requests: none). */
struct dlp__trace_call {
    unsigned long seq;
    const char *func;
    long n;
    double agent[4];
};

/** After the teams finished (collective): gather to the master, which
 *  prints the summary (stats) of call L and writes the trace file (path,
 *  or NULL). Frees the recorders. Failures are reported on stderr by the
 *  master and do not change the call's outcome. */
void dlp__trace_finish(struct dlp__trace *T, const struct dlp__trace_call *L, const char *path,
                       int stats);

#endif
