/* The progress display of a parallel call: the master's helper thread feeds
 * it (items done, busy ranks and nodes, the time) and it writes to stderr.
 * Self-contained: no MPI, no allocation, no clock reads (the caller passes
 * monotonic seconds as `now`, so tests are deterministic).
 *
 * Two forms, chosen at begin:
 *
 * Terminal: one line redrawn in place ("\r" line "\033[K", no newline) at
 * most every interval (default 0.1 s), at most 79 columns so that it never
 * wraps in an 80-column terminal (the bar narrows or goes, then the label is
 * cut with "..."), its numbers padded so that redraws keep them in place.
 * The layout (label, bar, room for the stats) is fixed at the first draw
 * with room for the final stats too, and every line is padded to the same
 * width; the final redraw ends with a newline:
 *
 *   render:  60% [#####.....] 120/200  12.0/s   10s ETA  6.7s ranks 2/2 nodes 1/2
 *   render: 100% [##########] 200/200  12.1/s in 16.50s, 2 ranks, 2 nodes, 7 skipped
 *   render:  60% [######....] 120/200  12.0/s FAILED after 10.00s, 2 ranks, 2 nodes
 *
 * Not a terminal (batch logs, Slurm output): a full line every interval
 * (default 5 s), and one summary line at the end:
 *
 *   render: 120/200 items (60%), 12.0 items/s, elapsed 10s, ETA 6.7s, busy 2/2 ranks, 1/2 nodes
 *   render: 200/200 items (100%) in 16.50s, 12.1 items/s, 2 ranks, 2 nodes, 7 skipped
 *   render: FAILED after 120/200 items (60%) in 10.00s, 12.0 items/s, 2 ranks, 2 nodes
 *
 * Fields: "ranks 2/2" is busy ranks / ranks (the same for nodes); a rank or
 * node count is left out while its total is <= 0, and the final line shows
 * the totals of the last printed update (none when the call ended within
 * the first interval: the gate comes before anything is stored). The
 * percentage is rounded down (100% only when done == n); the rate is done /
 * elapsed over the whole call (a resumed call's own items: done - base); ETA =
 * (n - done) / rate, "?" while no rate is known.
 * Rates: 5.0, 121.2, 1.2k, 3.4M, 5.0G ...; times: 0.4s, 12s, 3m04s, 1h02m,
 * 3d04h; the final elapsed time below 60 s has two decimals (1.65s). The
 * label ("" for NULL) is copied at begin (at most 127 bytes; control
 * characters become '?'); without a label the line starts at the numbers.
 *
 * n <= 0: the display is off (nothing at all is printed, in every mode).
 * Nothing is printed at begin either: the first line comes one interval
 * later, then the final line at end (also for calls shorter than one
 * interval). Every output is one fprintf and one fflush.
 *
 * Threads: one thread at a time per struct (begin, updates, end). */
#ifndef DLP_LIB_PROGRESS_H
#define DLP_LIB_PROGRESS_H

#include <stdio.h>

#define DLP__PROGRESS_LABEL_MAX 128 /* label bytes kept, with the NUL */

/** State of one display; plain struct, lives in the caller's memory. */
struct dlp__progress {
    FILE *out;
    int active;      /* 0: every call is a no-op */
    int tty;         /* 1: one line redrawn in place; 0: plain lines */
    long n;          /* items of the call */
    double start;    /* `now` at begin */
    double interval; /* seconds between outputs */
    double next;     /* earliest time of the next output (+inf when off) */
    int ranks;       /* totals of the last update, for the final line */
    int nodes;
    long base;       /* items done before the call (a journal's): counted as done
                        from the start, not in the rate */
    int bar;         /* terminal layout, fixed at the first draw (-1: not yet): bar
                        cells, */
    size_t lab;      /* label bytes shown, */
    size_t reserve;  /* columns of the stats text, */
    int width;       /* and of the whole line (every line is padded to it) */
    char label[DLP__PROGRESS_LABEL_MAX]; /* sanitized copy */
};

/** Start: mode is DLP_PROGRESS_AUTO / _ON / _OFF (enum dlp_progress,
 *  already resolved from opts and environment; any other value counts as
 *  AUTO). AUTO is on when out is a terminal. interval: seconds between
 *  outputs, <= 0 = default (0.1 s on a terminal, 5 s otherwise). label may
 *  be NULL. out: the stream (stderr; tests pass a tmpfile; NULL = off).
 *  is_tty: -1 = isatty(fileno(out)), 0/1 = forced. now: monotonic seconds.
 *  Returns 1 when the display is active, 0 when off. Never fails. */
int dlp__progress_begin(struct dlp__progress *p, FILE *out, int is_tty, long n,
                        const char *label, int mode, double interval, double now);

/** Called often by one thread: prints when the interval has passed since
 *  the last output, else returns at once (one comparison). done: items
 *  finished (0..n); busy_ranks of ranks and busy_nodes of nodes still work. */
void dlp__progress_update(struct dlp__progress *p, long done, int busy_ranks, int ranks,
                          int busy_nodes, int nodes, double now);

/** A resumed call: base items were done before it (a journal's). They count
 *  as done from the start (the caller's done includes them) but not in the
 *  rate, and the final line names them ("19 from the journal"). After begin. */
void dlp__progress_resume(struct dlp__progress *p, long base);

/** Final output, then the display is off. done is printed exactly as given
 *  (n when the call completed, the exact count when it was stopped); ok = 1:
 *  the call completed, with `skipped` items failed and skipped (on_error =
 *  skip: the line says "7 skipped"); ok = 0: it failed or was stopped, which
 *  the line says ("FAILED after"). */
void dlp__progress_end(struct dlp__progress *p, long done, int ok, long skipped, double now);

#endif
