/* The progress display (see progress.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* isatty, fileno (the test builds this file alone) */
#endif
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dlp_mpi.h"

#define WIDTH 79          /* terminal line: never wraps in 80 columns */
#define BAR_MAX 20        /* bar cells at most */
#define BAR_MIN 8         /* narrower than this: no bar */
#define LABEL_KEEP 12     /* the bar may shorten a label down to this */
#define TTY_INTERVAL 0.1  /* default seconds between redraws on a terminal */
#define PLAIN_INTERVAL 5. /* default seconds between plain lines */
#define LINE 512          /* output buffer; labels are < 128 bytes */

/* Items per second: 5.0, 121.2, 1.2k, 3.4M ... ("?" when unknown). */
static void fmt_rate(char *buf, size_t size, double r)
{
    static const char units[] = "kMGTPE";
    if (!(r >= 0) || isinf(r)) {
        snprintf(buf, size, "?");
        return;
    }
    if (r < 999.95) {
        snprintf(buf, size, "%.1f", r);
        return;
    }
    for (int u = 0; units[u]; u++) {
        r /= 1000;
        if (r < 999.95 || !units[u + 1]) {
            snprintf(buf, size, "%.1f%c", r, units[u]);
            return;
        }
    }
}

/* A duration: 0.4s, 12s, 3m04s, 1h02m, 3d04h ("?" when unknown). */
static void fmt_time(char *buf, size_t size, double t)
{
    if (!(t >= 0) || t > 1e15) {
        snprintf(buf, size, "?");
        return;
    }
    if (t < 9.95) {
        snprintf(buf, size, "%.1fs", t);
        return;
    }
    long long s = (long long)(t + 0.5);
    if (s < 60)
        snprintf(buf, size, "%llds", s);
    else if (s < 3600)
        snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
    else if (s < 100LL * 3600)
        snprintf(buf, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else
        snprintf(buf, size, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

/* The final elapsed time: two decimals below a minute (1.65s). */
static void fmt_total(char *buf, size_t size, double t)
{
    if (t >= 0 && t < 59.995)
        snprintf(buf, size, "%.2fs", t);
    else
        fmt_time(buf, size, t);
}

/* Decimal digits of n > 0: the terminal line pads done to this width so
 * that its fields stay in place from one redraw to the next. */
static int digits(long n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* Percent done, rounded down: 100 only when done == n. */
static long percent(long done, long n)
{
    if (done == n)
        return 100;
    double pc = floor(100.0 * (double)done / (double)n);
    if (done < n && pc > 99)
        pc = 99;
    return pc < -999 ? -999 : pc > 999 ? 999 : (long)pc;
}

/* The numbers shared by every line form. */
struct figures {
    long pct;
    char rate[32], elapsed[32], eta[32], total[32];
};

static void figures(const struct dlp__progress *p, long done, double now, struct figures *f)
{
    double el = now - p->start;
    if (!(el >= 0))
        el = 0;
    long own = done - p->base; /* a resumed call: its own items make the rate */
    double rate = el > 0 && own >= 0 ? (double)own / el : -1;
    double eta = done >= p->n ? 0 : rate > 0 ? (double)(p->n - done) / rate : -1;
    f->pct = percent(done, p->n);
    fmt_rate(f->rate, sizeof f->rate, rate);
    fmt_time(f->elapsed, sizeof f->elapsed, el);
    fmt_time(f->eta, sizeof f->eta, eta);
    fmt_total(f->total, sizeof f->total, el);
}

/* Bytes of s to keep so that at most max bytes remain, not splitting a
 * UTF-8 sequence. */
static size_t cut_utf8(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Append the label cut to at most max bytes ("..." marks a cut). */
static size_t put_label(char *dst, const char *label, size_t max)
{
    /* dst is the middle of the caller's line, which the caller terminates:
     * no '\0' here (bugprone-not-null-terminated-result expects one) */
    size_t len = strlen(label);
    if (len <= max) {
        memcpy(dst, label, len); // NOLINT(bugprone-not-null-terminated-result)
        return len;
    }
    if (max < 4) {
        size_t k = cut_utf8(label, len, max);
        memcpy(dst, label, k);
        return k;
    }
    size_t k = cut_utf8(label, len, max - 3);
    memcpy(dst, label, k);
    memcpy(dst + k, "...", 3); // NOLINT(bugprone-not-null-terminated-result)
    return k + 3;
}

/* ", busy 2/2 ranks, 1/1 nodes" (plain) or " ranks 2/2 nodes 1/1" (tty);
 * parts whose total is <= 0 are left out. */
static void busy_text(char *buf, size_t size, int tty, int br, int r, int bn, int nn)
{
    char rk[48] = "", nd[48] = "";
    if (tty) {
        if (r > 0)
            snprintf(rk, sizeof rk, " ranks %d/%d", br, r);
        if (nn > 0)
            snprintf(nd, sizeof nd, " nodes %d/%d", bn, nn);
        snprintf(buf, size, "%s%s", rk, nd);
        return;
    }
    if (r > 0)
        snprintf(rk, sizeof rk, "%d/%d ranks", br, r);
    if (nn > 0)
        snprintf(nd, sizeof nd, "%d/%d nodes", bn, nn);
    if (rk[0] || nd[0])
        snprintf(buf, size, ", busy %s%s%s", rk, rk[0] && nd[0] ? ", " : "", nd);
    else
        buf[0] = '\0';
}

/* ", 2 ranks, 2 nodes" of the final line (totals of the last update). */
static void totals_text(char *buf, size_t size, int ranks, int nodes)
{
    char rk[32] = "", nd[32] = "";
    if (ranks > 0)
        snprintf(rk, sizeof rk, ", %d rank%s", ranks, ranks == 1 ? "" : "s");
    if (nodes > 0)
        snprintf(nd, sizeof nd, ", %d node%s", nodes, nodes == 1 ? "" : "s");
    snprintf(buf, size, "%s%s", rk, nd);
}

/* The terminal line's layout, fixed at its first draw so that every redraw
 * and the final line keep the bar and the fields in place and the same
 * width: the stats get `reserve` columns (the widest of the running and the
 * final stats), the bar what is left (the bar narrows or goes, then the
 * label is cut with "..."). */
static void tty_layout(struct dlp__progress *p, size_t reserve)
{
    size_t lab = strlen(p->label);
    size_t fixed = 4 + reserve + (lab ? 2 : 0);          /* "100%", ": " */
    long room = (long)WIDTH - (long)fixed - (long)lab - 3; /* " [" "]" */
    long bar = room < BAR_MAX ? room : BAR_MAX;
    if (bar < BAR_MIN) { /* shorten a long label to make room for the bar */
        long cut = (long)lab - (BAR_MIN - bar);
        if (cut >= LABEL_KEEP) {
            lab = (size_t)cut;
            bar = BAR_MIN;
        } else {
            bar = 0; /* no bar, and the label is cut only as far as needed */
            long over = (long)fixed + (long)lab - WIDTH;
            if (over > 0)
                lab = over >= (long)lab ? 0 : lab - (size_t)over;
        }
    }
    p->lab = p->label[0] ? lab : 0;
    p->bar = (int)bar;
    p->reserve = reserve;
    size_t width = (p->lab ? p->lab + 2 : 0) + 4 + (bar > 0 ? (size_t)bar + 3 : 0) + reserve;
    p->width = width < WIDTH ? (int)width : WIDTH;
}

/* The terminal line: [label: ]pct% [bar] stats, padded to the layout's
 * width. A stats text wider than the reserve narrows the bar (never the
 * line); only absurd numbers make the line longer, and then it is cut. */
static void tty_line(const struct dlp__progress *p, char *line, long done, long pct,
                     const char *stats)
{
    size_t len = strlen(stats);
    long bar = p->bar;
    if (len > p->reserve)
        bar -= (long)(len - p->reserve);
    if (bar < BAR_MIN)
        bar = 0;
    char *buf = line; /* LINE bytes; the parts above fit well within */
    size_t k = 0;
    if (p->lab > 0) {
        k += put_label(buf, p->label, p->lab);
        memcpy(buf + k, ": ", 2);
        k += 2;
    }
    k += (size_t)snprintf(buf + k, LINE - k, "%3ld%%", pct);
    if (bar > 0) {
        double frac = p->n > 0 && done > 0 ? (double)done / (double)p->n : 0;
        long fill = frac >= 1 ? bar : (long)(frac * (double)bar);
        buf[k++] = ' ';
        buf[k++] = '[';
        for (long c = 0; c < bar; c++)
            buf[k++] = c < fill ? '#' : '.';
        buf[k++] = ']';
    }
    k += (size_t)snprintf(buf + k, LINE - k, "%s", stats);
    while (k < (size_t)p->width && k < LINE - 1) /* the same width every time */
        buf[k++] = ' ';
    buf[k < WIDTH ? k : WIDTH] = '\0'; /* cut rather than wrap */
}

/* The end of the final line: ", 7 skipped", ", 19 from the journal". */
static void final_notes(char *buf, size_t size, long skipped, long base)
{
    char sk[48] = "", jn[64] = "";
    if (skipped > 0)
        snprintf(sk, sizeof sk, ", %ld skipped", skipped);
    if (base > 0)
        snprintf(jn, sizeof jn, ", %ld from the journal", base);
    snprintf(buf, size, "%s%s", sk, jn);
}

/* The terminal's final stats (ok = 0: the call failed or was stopped). */
static void tty_final_stats(const struct dlp__progress *p, char *buf, size_t size, long done,
                            int ok, const char *rate, const char *total, const char *totals,
                            const char *notes)
{
    snprintf(buf, size, " %*ld/%ld %5s/s %s %s%s%s", digits(p->n), done, p->n, rate,
             ok ? "in" : "FAILED after", total, totals, notes);
}

/* The first terminal draw fixes the layout: room for this running stats
 * text and for the final one of a completed call (a time of 6 columns, the
 * journal's note). A failed call's or a skipped count's longer final text
 * narrows the bar instead. */
static void tty_first(struct dlp__progress *p, size_t stats_len)
{
    if (p->bar >= 0)
        return;
    char totals[80], notes[128], fin[LINE];
    totals_text(totals, sizeof totals, p->ranks, p->nodes);
    final_notes(notes, sizeof notes, 0, p->base);
    tty_final_stats(p, fin, sizeof fin, p->n, 1, "999.9", "59m59s", totals, notes);
    size_t f = strlen(fin);
    tty_layout(p, stats_len > f ? stats_len : f);
}

int dlp__progress_begin(struct dlp__progress *p, FILE *out, int is_tty, long n,
                        const char *label, int mode, double interval, double now)
{
    memset(p, 0, sizeof *p);
    p->next = HUGE_VAL; /* updates of an inactive display stop at the comparison */
    if (!out || n <= 0 || mode == DLP_PROGRESS_OFF)
        return 0;
    int tty = is_tty >= 0 ? is_tty != 0 : isatty(fileno(out)) == 1;
    if (mode != DLP_PROGRESS_ON && !tty)
        return 0; /* AUTO (or anything else): only on a terminal */
    p->out = out;
    p->tty = tty;
    p->n = n;
    p->start = now;
    p->interval = interval > 0 && !isinf(interval) ? interval
                  : tty                             ? TTY_INTERVAL
                                                    : PLAIN_INTERVAL;
    p->next = now + p->interval;
    size_t k = 0;
    for (const char *s = label ? label : ""; *s && k + 1 < sizeof p->label; s++) {
        unsigned char c = (unsigned char)*s;
        p->label[k++] = (char)(c < 0x20 || c == 0x7f ? '?' : c); /* keep the line one line */
    }
    if (label && label[k]) /* cut: do not end mid-character */
        while (k > 0 && ((unsigned char)label[k] & 0xC0) == 0x80)
            k--;
    p->label[k] = '\0';
    p->bar = -1; /* the terminal layout comes with the first draw */
    p->active = 1;
    return 1;
}

void dlp__progress_resume(struct dlp__progress *p, long base)
{
    p->base = base > 0 ? base : 0;
}

void dlp__progress_update(struct dlp__progress *p, long done, int busy_ranks, int ranks,
                          int busy_nodes, int nodes, double now)
{
    if (!(now >= p->next) || !p->active) /* also stops a NaN now */
        return;
    p->next = now + p->interval;
    p->ranks = ranks;
    p->nodes = nodes;
    struct figures f;
    figures(p, done, now, &f);
    char busy[128];
    busy_text(busy, sizeof busy, p->tty, busy_ranks, ranks, busy_nodes, nodes);
    if (p->tty) {
        char stats[LINE], line[LINE];
        snprintf(stats, sizeof stats, " %*ld/%ld %5s/s %5s ETA %5s%s", digits(p->n), done, p->n,
                 f.rate, f.elapsed, f.eta, busy);
        tty_first(p, strlen(stats));
        tty_line(p, line, done, f.pct, stats);
        fprintf(p->out, "\r%s\033[K", line);
    } else {
        fprintf(p->out, "%s%s%ld/%ld items (%ld%%), %s items/s, elapsed %s, ETA %s%s\n",
                p->label, p->label[0] ? ": " : "", done, p->n, f.pct, f.rate, f.elapsed,
                f.eta, busy);
    }
    fflush(p->out);
}

void dlp__progress_end(struct dlp__progress *p, long done, int ok, long skipped, double now)
{
    if (!p->active)
        return;
    struct figures f;
    figures(p, done, now, &f);
    char totals[80], notes[128];
    totals_text(totals, sizeof totals, p->ranks, p->nodes);
    final_notes(notes, sizeof notes, skipped, p->base);
    if (p->tty) {
        char stats[LINE], line[LINE];
        tty_final_stats(p, stats, sizeof stats, done, ok, f.rate, f.total, totals, notes);
        tty_first(p, strlen(stats));
        tty_line(p, line, done, f.pct, stats);
        fprintf(p->out, "\r%s\033[K\n", line);
    } else {
        fprintf(p->out, "%s%s%s%ld/%ld items (%ld%%) in %s, %s items/s%s%s\n", p->label,
                p->label[0] ? ": " : "", ok ? "" : "FAILED after ", done, p->n, f.pct,
                f.total, f.rate, totals, notes);
    }
    fflush(p->out);
    p->active = 0;
    p->next = HUGE_VAL;
}
