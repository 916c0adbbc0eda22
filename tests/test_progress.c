/* Unit test of the progress display (lib/parts/progress.c), without MPI: synthetic
 * (done, now) sequences into a tmpfile, and the exact text that came out.
 * Every failed check prints the expected and the actual text (escaped:
 * tests/test_check.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_check.h"

#include "dlp_mpi.h" /* enum dlp_progress */
#include "progress.h"

/* ------------------------------------------------------------- capture -- */

static FILE *out;                /* the stream of the current case */
static char text[1 << 16];       /* everything written to it so far */

static void start(const char *name)
{
    check_case("%s", name);
    if (out)
        fclose(out);
    out = tmpfile();
    if (!out) {
        perror("tmpfile");
        exit(1);
    }
}

/* Everything written to `out` so far (the stream stays positioned at its end). */
static const char *captured(void)
{
    long end = ftell(out);
    rewind(out);
    size_t k = fread(text, 1, sizeof text - 1, out);
    text[k] = '\0';
    fseek(out, end, SEEK_SET);
    return text;
}

static long count_char(const char *s, char c)
{
    long k = 0;
    for (; *s; s++)
        k += *s == c;
    return k;
}

/* The longest (widest = 1) or shortest (0) line drawn on a terminal:
 * segments between "\r", without the "\033[K" and newline that follow. */
static size_t tty_line_width(const char *s, int widest)
{
    size_t best = widest ? 0 : (size_t)-1;
    while ((s = strchr(s, '\r')) != NULL) {
        s++;
        const char *e = strstr(s, "\033[K");
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (widest ? len > best : len < best)
            best = len;
    }
    return best == (size_t)-1 ? 0 : best;
}
#define widest_tty_line(s) tty_line_width((s), 1)
#define narrowest_tty_line(s) tty_line_width((s), 0)

/* --------------------------------------------------------------- cases -- */

/* Plain lines come only when the interval (default 5 s) has passed since the
 * last output; the documented example lines of progress.h, exactly. */
static void plain_interval(void)
{
    struct dlp__progress p;
    start("plain: interval and example lines");
    CHECK_EQ(dlp__progress_begin(&p, out, 0, 200, "render", DLP_PROGRESS_ON, 0, 0.0), 1);
    dlp__progress_update(&p, 1, 2, 2, 2, 2, 0.5);
    dlp__progress_update(&p, 10, 2, 2, 2, 2, 4.999);
    CHECK_STR(captured(), "");
    dlp__progress_update(&p, 60, 2, 2, 2, 2, 5.0);
    const char *l1 = "render: 60/200 items (30%), 12.0 items/s, elapsed 5.0s, ETA 12s, "
                     "busy 2/2 ranks, 2/2 nodes\n";
    CHECK_STR(captured(), l1);
    dlp__progress_update(&p, 70, 2, 2, 2, 2, 6.0);
    dlp__progress_update(&p, 110, 2, 2, 2, 2, 9.999);
    CHECK_STR(captured(), l1);
    dlp__progress_update(&p, 120, 2, 2, 1, 2, 10.0);
    const char *l2 = "render: 120/200 items (60%), 12.0 items/s, elapsed 10s, ETA 6.7s, "
                     "busy 2/2 ranks, 1/2 nodes\n";
    char both[512];
    snprintf(both, sizeof both, "%s%s", l1, l2);
    CHECK_STR(captured(), both);
    /* the next line is due 5 s after the last one (at 15), not before */
    dlp__progress_update(&p, 170, 2, 2, 2, 2, 14.99);
    CHECK_STR(captured(), both);
    dlp__progress_end(&p, 200, 1, 0, 16.5);
    char all[768];
    snprintf(all, sizeof all, "%s%s", both,
             "render: 200/200 items (100%) in 16.50s, 12.1 items/s, 2 ranks, 2 nodes\n");
    CHECK_STR(captured(), all);

    start("plain: failed example line");
    dlp__progress_begin(&p, out, 0, 200, "render", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_update(&p, 120, 2, 2, 2, 2, 5.0);
    dlp__progress_end(&p, 120, 0, 0, 10.0);
    CHECK_STR(captured(), "render: 120/200 items (60%), 24.0 items/s, elapsed 5.0s, ETA 3.3s, "
                          "busy 2/2 ranks, 2/2 nodes\n"
                          "render: FAILED after 120/200 items (60%) in 10.00s, 12.0 items/s, "
                          "2 ranks, 2 nodes\n");
}

/* n = 100, 50 done after 10 s: 5.0 items/s, ETA 10s; no label, no rank
 * counts (totals 0 are left out), a custom interval. */
static void simple_case(void)
{
    struct dlp__progress p;
    start("plain: 50 of 100 after 10 s");
    CHECK_EQ(dlp__progress_begin(&p, out, 0, 100, NULL, DLP_PROGRESS_ON, 10.0, 0.0), 1);
    dlp__progress_update(&p, 40, 0, 0, 0, 0, 9.0);
    CHECK_STR(captured(), "");
    dlp__progress_update(&p, 50, 0, 0, 0, 0, 10.0);
    CHECK_STR(captured(), "50/100 items (50%), 5.0 items/s, elapsed 10s, ETA 10s\n");
    dlp__progress_end(&p, 100, 1, 0, 20.0);
    CHECK_STR(captured(), "50/100 items (50%), 5.0 items/s, elapsed 10s, ETA 10s\n"
                          "100/100 items (100%) in 20.00s, 5.0 items/s\n");

    start("plain: only ranks, only nodes");
    dlp__progress_begin(&p, out, 0, 100, "x", DLP_PROGRESS_ON, 1.0, 0.0);
    dlp__progress_update(&p, 50, 3, 4, 0, 0, 10.0);
    dlp__progress_update(&p, 60, 0, 0, 1, 1, 12.0);
    dlp__progress_end(&p, 100, 1, 0, 20.0);
    CHECK_STR(captured(), "x: 50/100 items (50%), 5.0 items/s, elapsed 10s, ETA 10s, busy 3/4 ranks\n"
                          "x: 60/100 items (60%), 5.0 items/s, elapsed 12s, ETA 8.0s, busy 1/1 nodes\n"
                          "x: 100/100 items (100%) in 20.00s, 5.0 items/s, 1 node\n");
}

/* Terminal: "\r" line "\033[K", no newline until the end; the documented
 * example lines, exactly. */
static void tty_lines(void)
{
    struct dlp__progress p;
    start("tty: redraw in place and example lines");
    CHECK_EQ(dlp__progress_begin(&p, out, 1, 200, "render", DLP_PROGRESS_ON, 0, 0.0), 1);
    dlp__progress_update(&p, 1, 2, 2, 2, 2, 0.05); /* default interval 0.1 s */
    CHECK_STR(captured(), "");
    dlp__progress_update(&p, 120, 2, 2, 1, 2, 10.0);
    const char *l1 =
        "\rrender:  60% [#######.....] 120/200  12.0/s   10s ETA  6.7s ranks 2/2 nodes 1/2\033[K";
    CHECK_STR(captured(), l1);
    dlp__progress_update(&p, 121, 2, 2, 1, 2, 10.05);
    CHECK_STR(captured(), l1);
    dlp__progress_update(&p, 122, 2, 2, 1, 2, 10.15);
    CHECK_EQ(count_char(captured(), '\r'), 2);
    CHECK_EQ(count_char(captured(), '\n'), 0);
    dlp__progress_end(&p, 200, 1, 0, 16.5);
    const char *s = captured();
    const char *last = strrchr(s, '\r');
    CHECK_STR(last ? last : "(no \\r)",
              "\rrender: 100% [############] 200/200  12.1/s in 16.50s, 2 ranks, 2 nodes"
              "        \033[K\n"); /* as wide as the running line, the same bar */
    CHECK_EQ(count_char(s, '\n'), 1);
    CHECK_EQ((long)(strchr(s, '\n') - s), (long)strlen(s) - 1);

    start("tty: failed example line");
    dlp__progress_begin(&p, out, 1, 200, "render", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 120, 0, 0, 10.0);
    CHECK_STR(captured(),
              "\rrender:  60% [############........] 120/200  12.0/s FAILED after 10.00s\033[K\n");
    start("tty: failed example line with ranks");
    dlp__progress_begin(&p, out, 1, 200, "render", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_update(&p, 100, 2, 2, 2, 2, 5.0);
    dlp__progress_end(&p, 120, 0, 0, 10.0);
    s = strrchr(captured(), '\r');
    CHECK_STR(s ? s : "(no \\r)",
              "\rrender:  60% [######....] 120/200  12.0/s FAILED after 10.00s, 2 ranks, "
              "2 nodes\033[K\n"); /* the bar narrows, the line keeps its width */

    start("tty: custom interval, no label");
    dlp__progress_begin(&p, out, 1, 10, NULL, DLP_PROGRESS_AUTO, 2.0, 100.0);
    dlp__progress_update(&p, 1, 1, 1, 1, 1, 101.9);
    CHECK_STR(captured(), "");
    dlp__progress_update(&p, 5, 1, 1, 1, 1, 102.0);
    CHECK_STR(captured(),
              "\r 50% [##########..........]  5/10   2.5/s  2.0s ETA  2.0s ranks 1/1 nodes 1/1\033[K");
}

/* Within 79 columns whatever the label and the numbers. */
static void tty_width(void)
{
    struct dlp__progress p;
    char label[200];
    memset(label, 'L', sizeof label - 1);
    label[sizeof label - 1] = '\0';

    /* the bar goes first, then the label is cut */
    start("tty: long label, full line: no bar, label cut");
    dlp__progress_begin(&p, out, 1, 200, label, DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_update(&p, 120, 2, 2, 2, 2, 10.0);
    const char *s = captured();
    CHECK_EQ(widest_tty_line(s), 79);
    CHECK_HAS(s, "\rLLLLLLLLLLLLLLLLLL...:  60% 120/200");
    CHECK_HAS_NOT(s, "% [");

    start("tty: long label, short line: the label is cut down to give a bar");
    dlp__progress_begin(&p, out, 1, 200, label, DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_update(&p, 120, 0, 0, 0, 0, 10.0);
    s = captured();
    CHECK_EQ(widest_tty_line(s), 79);
    CHECK_HAS(s, "\rLLLLLLLLLLLLLLLLLLLLLLLLLLL...:  60% [####....] 120/200");

    start("tty: a 10-byte label keeps the narrowest bar");
    dlp__progress_begin(&p, out, 1, 200, "mandelbrot", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_update(&p, 120, 2, 2, 2, 2, 10.0);
    CHECK_STR(captured(), "\rmandelbrot:  60% [####....] 120/200  12.0/s   10s ETA  6.7s "
                          "ranks 2/2 nodes 2/2\033[K");

    static const long ns[] = {1, 7, 100, 123456789, 10000000000L, 999999999999999999L};
    const char *names[] = {NULL, "a", "render", label};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (size_t j = 0; j < sizeof names / sizeof names[0]; j++) {
            start("tty: width over n and labels");
            dlp__progress_begin(&p, out, 1, ns[i], names[j], DLP_PROGRESS_ON, 0, 0.0);
            dlp__progress_update(&p, ns[i] / 3, 4095, 4096, 1023, 1024, 0.5);
            dlp__progress_update(&p, ns[i] / 2, 4095, 4096, 1023, 1024, 12345.0);
            dlp__progress_end(&p, ns[i], 0, 0, 1e7);
            s = captured();
            if (widest_tty_line(s) > 79) {
                fprintf(stderr, "n = %ld, label %s:\n", ns[i], names[j] ? names[j] : "NULL");
                CHECK_EQ(widest_tty_line(s), 79);
                check_escaped(s);
            }
            CHECK_EQ(count_char(s, '\r'), 3);
            CHECK_EQ(count_char(s, '\n'), 1);
        }
    }
}

/* The final count is done exactly as given; percent rounds down. */
static void final_count(void)
{
    struct dlp__progress p;
    start("final: done as given");
    dlp__progress_begin(&p, out, 0, 100, "job", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 97, 1, 0, 2.0);
    CHECK_STR(captured(), "job: 97/100 items (97%) in 2.00s, 48.5 items/s\n");

    start("final: 999 of 1000 is 99%");
    dlp__progress_begin(&p, out, 0, 1000, "job", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 999, 1, 0, 1.0);
    CHECK_STR(captured(), "job: 999/1000 items (99%) in 1.00s, 999.0 items/s\n");

    start("final: large n, one short");
    dlp__progress_begin(&p, out, 1, 9000000000000000001L, "job", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 9000000000000000000L, 1, 0, 1.0);
    CHECK_HAS(captured(), " 99% ");
    CHECK_HAS(captured(), "9000000000000000000/9000000000000000001");

    start("final: tty done as given");
    dlp__progress_begin(&p, out, 1, 100, "job", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 97, 1, 0, 2.0);
    CHECK_STR(captured(), "\rjob:  97% [###################.]  97/100  48.5/s in 2.00s \033[K\n");
}

/* Rates: one decimal, then k, M, G ... */
static void rates(void)
{
    static const struct {
        long done;
        double seconds;
        const char *rate;
    } cases[] = {
        {5, 1.0, "5.0"},          {1212, 10.0, "121.2"},     {99994, 100.0, "999.9"},
        {99996, 100.0, "1.0k"},   {1234, 1.0, "1.2k"},       {999940, 1.0, "999.9k"},
        {3400000, 1.0, "3.4M"},   {5000000000L, 1.0, "5.0G"}, {7200000000000L, 1.0, "7.2T"},
        {0, 1.0, "0.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dlp__progress p;
        char want[64];
        start("rates");
        dlp__progress_begin(&p, out, 0, 8000000000000L, NULL, DLP_PROGRESS_ON, 0, 0.0);
        dlp__progress_end(&p, cases[i].done, 1, 0, cases[i].seconds);
        snprintf(want, sizeof want, ", %s items/s\n", cases[i].rate);
        CHECK_HAS(captured(), want);
        start("rates: tty");
        dlp__progress_begin(&p, out, 1, 8000000000000L, NULL, DLP_PROGRESS_ON, 0, 0.0);
        dlp__progress_end(&p, cases[i].done, 1, 0, cases[i].seconds);
        snprintf(want, sizeof want, " %5s/s ", cases[i].rate);
        CHECK_HAS(captured(), want);
    }
    struct dlp__progress p;
    start("rates: unknown at time 0");
    dlp__progress_begin(&p, out, 0, 10, NULL, DLP_PROGRESS_ON, 0, 3.0);
    dlp__progress_end(&p, 10, 1, 0, 3.0);
    CHECK_STR(captured(), "10/10 items (100%) in 0.00s, ? items/s\n");
}

/* Times: 0.4s, 12s, 3m04s, 1h02m, 4d04h; ETA "?" without a rate. */
static void times(void)
{
    static const struct {
        double seconds;
        const char *elapsed;
        const char *total;
    } cases[] = {
        {0.4, "0.4s", "0.40s"},       {9.94, "9.9s", "9.94s"},       {9.96, "10s", "9.96s"},
        {12.0, "12s", "12.00s"},      {59.6, "1m00s", "59.60s"},     {184.0, "3m04s", "3m04s"},
        {3720.0, "1h02m", "1h02m"},   {360000.0, "4d04h", "4d04h"},  {3599.4, "59m59s", "59m59s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dlp__progress p;
        char want[64];
        start("times");
        dlp__progress_begin(&p, out, 0, 1000000000, NULL, DLP_PROGRESS_ON, 0.1, 0.0);
        dlp__progress_update(&p, 1, 1, 1, 1, 1, cases[i].seconds);
        snprintf(want, sizeof want, ", elapsed %s, ", cases[i].elapsed);
        CHECK_HAS(captured(), want);
        dlp__progress_end(&p, 1, 1, 0, cases[i].seconds);
        snprintf(want, sizeof want, " in %s, ", cases[i].total);
        CHECK_HAS(captured(), want);
    }
    struct dlp__progress p;
    start("times: ETA");
    dlp__progress_begin(&p, out, 0, 100, NULL, DLP_PROGRESS_ON, 1.0, 0.0);
    dlp__progress_update(&p, 0, 1, 1, 1, 1, 5.0);  /* no rate yet */
    dlp__progress_update(&p, 1, 1, 1, 1, 1, 184.0); /* 99 * 184 s = 5h03m36s */
    dlp__progress_update(&p, 100, 1, 1, 1, 1, 200.0);
    CHECK_STR(captured(), "0/100 items (0%), 0.0 items/s, elapsed 5.0s, ETA ?, busy 1/1 ranks, 1/1 nodes\n"
                          "1/100 items (1%), 0.0 items/s, elapsed 3m04s, ETA 5h03m, busy 1/1 ranks, 1/1 nodes\n"
                          "100/100 items (100%), 0.5 items/s, elapsed 3m20s, ETA 0.0s, busy 1/1 ranks, 1/1 nodes\n");
}

/* When nothing at all is printed, and which mode is active. */
static void modes(void)
{
    struct dlp__progress p;
    start("modes: OFF");
    CHECK_EQ(dlp__progress_begin(&p, out, 1, 100, "x", DLP_PROGRESS_OFF, 0, 0.0), 0);
    dlp__progress_update(&p, 50, 1, 1, 1, 1, 100.0);
    dlp__progress_end(&p, 100, 1, 0, 200.0);
    CHECK_STR(captured(), "");

    start("modes: AUTO, not a terminal (forced)");
    CHECK_EQ(dlp__progress_begin(&p, out, 0, 100, "x", DLP_PROGRESS_AUTO, 0, 0.0), 0);
    dlp__progress_update(&p, 50, 1, 1, 1, 1, 100.0);
    dlp__progress_end(&p, 100, 0, 0, 200.0);
    CHECK_STR(captured(), "");

    start("modes: AUTO, not a terminal (detected: a tmpfile)");
    CHECK_EQ(dlp__progress_begin(&p, out, -1, 100, "x", DLP_PROGRESS_AUTO, 0, 0.0), 0);
    dlp__progress_end(&p, 100, 1, 0, 200.0);
    CHECK_STR(captured(), "");

    start("modes: AUTO on a terminal (forced)");
    CHECK_EQ(dlp__progress_begin(&p, out, 1, 100, "x", DLP_PROGRESS_AUTO, 0, 0.0), 1);
    dlp__progress_end(&p, 100, 1, 0, 1.0);
    CHECK_HAS(captured(), "\rx: 100% [");

    start("modes: ON, detected plain");
    CHECK_EQ(dlp__progress_begin(&p, out, -1, 100, "x", DLP_PROGRESS_ON, 0, 0.0), 1);
    dlp__progress_end(&p, 100, 1, 0, 1.0);
    CHECK_STR(captured(), "x: 100/100 items (100%) in 1.00s, 100.0 items/s\n");

    start("modes: n = 0 and n < 0 print nothing");
    CHECK_EQ(dlp__progress_begin(&p, out, 0, 0, "x", DLP_PROGRESS_ON, 0, 0.0), 0);
    dlp__progress_update(&p, 0, 1, 1, 1, 1, 100.0);
    dlp__progress_end(&p, 0, 1, 0, 200.0);
    CHECK_EQ(dlp__progress_begin(&p, out, 1, -5, "x", DLP_PROGRESS_ON, 0, 0.0), 0);
    dlp__progress_end(&p, 0, 0, 0, 200.0);
    CHECK_STR(captured(), "");

    start("modes: NULL stream");
    CHECK_EQ(dlp__progress_begin(&p, NULL, 0, 10, "x", DLP_PROGRESS_ON, 0, 0.0), 0);
    dlp__progress_update(&p, 5, 1, 1, 1, 1, 100.0);
    dlp__progress_end(&p, 10, 1, 0, 200.0);

    start("modes: nothing after end, NaN time");
    dlp__progress_begin(&p, out, 0, 10, "x", DLP_PROGRESS_ON, 1.0, 0.0);
    dlp__progress_update(&p, 5, 1, 1, 1, 1, NAN);
    CHECK_STR(captured(), "");
    dlp__progress_end(&p, 10, 1, 0, 2.0);
    dlp__progress_update(&p, 10, 1, 1, 1, 1, 100.0);
    dlp__progress_end(&p, 10, 1, 0, 200.0);
    CHECK_STR(captured(), "x: 10/10 items (100%) in 2.00s, 5.0 items/s\n");
}

/* Labels are copied, control characters become '?', long ones are cut at
 * 127 bytes, never inside a UTF-8 character. */
static void labels(void)
{
    struct dlp__progress p;
    start("labels: control characters");
    char label[] = "a\nb\tc\033d";
    dlp__progress_begin(&p, out, 0, 1, label, DLP_PROGRESS_ON, 0, 0.0);
    label[0] = 'Z'; /* the display keeps its own copy */
    dlp__progress_end(&p, 1, 1, 0, 1.0);
    CHECK_STR(captured(), "a?b?c?d: 1/1 items (100%) in 1.00s, 1.0 items/s\n");

    start("labels: cut at 127 bytes");
    char longl[301];
    memset(longl, 'x', 300);
    longl[300] = '\0';
    dlp__progress_begin(&p, out, 0, 1, longl, DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 1, 1, 0, 1.0);
    CHECK_EQ((long)(strchr(captured(), ':') - text), 127);

    start("labels: cut at a UTF-8 boundary");
    char utf[301] = "";
    for (int i = 0; i < 100; i++)
        strcat(utf, "\xc3\xa9"); /* e acute, 2 bytes */
    dlp__progress_begin(&p, out, 0, 1, utf, DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 1, 1, 0, 1.0);
    CHECK_EQ((long)(strchr(captured(), ':') - text), 126);

    start("labels: tty cut at a UTF-8 boundary with ...");
    dlp__progress_begin(&p, out, 1, 200, utf, DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_update(&p, 120, 0, 0, 0, 0, 10.0); /* 30 bytes of label: cut at 27 -> 26 */
    const char *s = captured();
    CHECK_EQ(widest_tty_line(s), 79);
    const char *dots = strstr(s, "...:");
    CHECK_EQ(dots != NULL, 1);
    if (dots)
        CHECK_EQ((unsigned char)dots[-1], 0xa9); /* a whole character before "..." */
}


/* The line keeps its width from the first redraw to the final line, also
 * when the final text is longer (failed, skipped: the bar narrows). */
static void tty_stable_width(void)
{
    struct dlp__progress p;
    static const long ns[] = {7, 200, 99999};
    const char *labels[] = {NULL, "render", "a-rather-long-label-for-a-progress-line"};
    for (int end = 0; end < 3; end++)
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
            for (size_t j = 0; j < sizeof labels / sizeof labels[0]; j++) {
                start("tty: the same width from the first line to the final one");
                dlp__progress_begin(&p, out, 1, ns[i], labels[j], DLP_PROGRESS_ON, 0, 0.0);
                dlp__progress_update(&p, ns[i] / 3, 2, 2, 1, 2, 0.5);
                dlp__progress_update(&p, ns[i] / 2, 2, 2, 1, 2, 75.0);
                if (end == 0)
                    dlp__progress_end(&p, ns[i], 1, 0, 100.0);
                else if (end == 1)
                    dlp__progress_end(&p, ns[i], 1, ns[i] / 2, 100.0); /* skipped */
                else
                    dlp__progress_end(&p, ns[i] / 2, 0, 0, 100.0); /* failed */
                const char *s = captured();
                if (widest_tty_line(s) != narrowest_tty_line(s)) {
                    fprintf(stderr, "n = %ld, label %s, end %d:\n", ns[i],
                            labels[j] ? labels[j] : "NULL", end);
                    CHECK_EQ(widest_tty_line(s), narrowest_tty_line(s));
                    check_escaped(s);
                }
                CHECK_EQ(widest_tty_line(s) <= 79, 1);
            }
}

/* A completed call with skipped items ends as completed: n/n, 100%, the
 * skipped count; never "FAILED". */
static void skipped_final(void)
{
    struct dlp__progress p;
    start("final: skipped items, plain");
    dlp__progress_begin(&p, out, 0, 200, "render", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_end(&p, 200, 1, 7, 16.5);
    CHECK_STR(captured(), "render: 200/200 items (100%) in 16.50s, 12.1 items/s, 7 skipped\n");

    start("final: skipped items, tty");
    dlp__progress_begin(&p, out, 1, 200, "render", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_update(&p, 120, 2, 2, 1, 2, 10.0);
    dlp__progress_end(&p, 200, 1, 7, 16.5);
    const char *s = strrchr(captured(), '\r');
    CHECK_STR(s ? s : "(no \\r)", "\rrender: 100% [#########] 200/200  12.1/s in 16.50s, 2 ranks, "
                                   "2 nodes, 7 skipped\033[K\n");
    CHECK_HAS_NOT(captured(), "FAILED");
}

/* A resumed call: the journal's items count as done from the start, the
 * rate is of the call's own items, and it ends at n/n, 100%. */
static void resumed(void)
{
    struct dlp__progress p;
    start("resume: plain");
    dlp__progress_begin(&p, out, 0, 100, "job", DLP_PROGRESS_ON, 1.0, 0.0);
    dlp__progress_resume(&p, 19);
    dlp__progress_update(&p, 19 + 40, 1, 1, 1, 1, 4.0); /* 40 own items in 4 s */
    dlp__progress_end(&p, 100, 1, 0, 8.1);
    CHECK_STR(captured(), "job: 59/100 items (59%), 10.0 items/s, elapsed 4.0s, ETA 4.1s, "
                          "busy 1/1 ranks, 1/1 nodes\n"
                          "job: 100/100 items (100%) in 8.10s, 10.0 items/s, 1 rank, 1 node, "
                          "19 from the journal\n");
    start("resume: tty");
    dlp__progress_begin(&p, out, 1, 100, "job", DLP_PROGRESS_ON, 0, 0.0);
    dlp__progress_resume(&p, 19);
    dlp__progress_update(&p, 19 + 40, 1, 1, 1, 1, 4.0);
    dlp__progress_end(&p, 100, 1, 0, 8.1);
    const char *s = captured();
    CHECK_HAS(s, "\rjob:  59%  59/100  10.0/s");
    CHECK_HAS(s, "\rjob: 100% 100/100");
    CHECK_HAS(s, "100/100  10.0/s in 8.10s, 1 rank, 1 node, 19 from the journal");
    CHECK_EQ(widest_tty_line(s), narrowest_tty_line(s));
}

int main(void)
{
    plain_interval();
    simple_case();
    tty_lines();
    tty_width();
    final_count();
    rates();
    times();
    modes();
    labels();
    tty_stable_width();
    skipped_final();
    resumed();
    if (out)
        fclose(out);
    return check_end("test_progress");
}
