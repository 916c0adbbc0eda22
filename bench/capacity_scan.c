/*
 * capacity_scan.c — what one wake-up of the master's dispatcher costs as a
 * function of the number of nodes K, for the parts of it that grow with
 * the nodes (lib/call/dispatcher.c): the forecast of the next request
 * (lib/policy/forecast.c, compiled in: a wake-up answers the requests that came,
 * takes the due looks and sets their next ones; O(log K) per look with its
 * heap, a scan of every node before) and, with
 * node doorbells, the wait on the doorbell sockets. No MPI traffic; one
 * process.
 *
 *     capacity_scan [REPS [csv]]     default 9 repetitions of each size
 *
 * Table 1, sizes K: 10, 100, 1000, 5000, 10000: the forecast over K nodes
 * (per wake-up and per request), and the ppoll over K - 1 doorbell sockets
 * that dlp__netbell_wait_master rebuilt and waited on at every wake-up
 * before it kept an epoll set (K - 1 idle AF_UNIX socket pairs and one that
 * is ready, so ppoll returns at once: the scan, not a sleep); as far as
 * the open-file limit allows, raised to the hard limit here.
 *
 * Table 2, the doorbell wait alone, I idle sockets plus one ready, I = 1,
 * 10, 100, 1000, 5000, 10000 and as many as the open-file limit allows:
 * per wake-up, the ppoll over a table rebuilt every time (the old wait),
 * the epoll set of lib/base/waitset.c (built once, compiled in) with
 * epoll_pwait2, and the same set by its fallback route (a ppoll on the
 * epoll descriptor, then epoll_wait), each finding the ready socket. The
 * variants alternate within each repetition, their order too.
 *
 * Per size and part: the median (min-max) over REPS of the mean time over
 * a batch; the parts alternate within each repetition. CSV rows per
 * repetition.
 */
#define _GNU_SOURCE /* ppoll */
#define BENCH_NAME "capacity_scan"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"
#include "forecast.h"
#include "minheap.h"
#include "waitset.h"

/* Seconds of work per chunk (CHUNK_MS, default 10: AUTO's steady state). */
static double chunk_s = 0.01;

/* Node k answered at now: chunk_s of work at its rate (1,000 to 100,000
 * items/s), asking at its low-water mark of 2 ms (and holding that much
 * when it asks): every node asks every chunk_s. */
static void answer(struct dlp__forecast *f, int k, double now)
{
    double rate = 1e3 * (1 + k % 100);
    dlp__forecast_answered(f, k, now, (long)(rate * chunk_s), rate, (long)(rate * 0.002),
                           (long)(rate * 0.002));
}

/* Mean seconds per dispatcher wake-up of the forecast over K nodes,
 * `calls` of them, with forecasts that hold: node k asks at f.expect[k]
 * (the bench keeps the arrivals in a heap of its own, minheap.c; its cost
 * is in the figure, for the old scan too). A wake-up: the clock moves by
 * the nap, the requests due by then are answered, the nap is asked. */
static double time_forecast(int K, long calls, double *per_request)
{
    struct dlp__forecast f;
    struct dlp__minheap arrive;
    double now = bench_now();
    if (dlp__forecast_init(&f, K, now) != 0 || dlp__minheap_init(&arrive, K) != 0)
        bench_die("capacity_scan: out of memory");
    for (int k = 1; k < K; k++) { /* answered once, asks again within 10 ms */
        answer(&f, k, now);
        dlp__minheap_set(&arrive, k, now + chunk_s * 1e-2 * (k % 100));
    }
    unsigned sink = 0;
    long answered = 0;
    double t0 = bench_now();
    for (long c = 0; c < calls; c++) {
        for (int k; (k = dlp__minheap_top(&arrive)) >= 0 && arrive.key[k] <= now;) {
            answer(&f, k, now);
            dlp__minheap_set(&arrive, k, f.expect[k]);
            answered++;
        }
        unsigned nap = dlp__forecast_nap(&f, now, NULL, DLP__FORECAST_IDLE_MAX_US);
        now += 1e-6 * nap;
        sink += nap;
    }
    double t = bench_now() - t0;
    *per_request = answered > 0 ? t / (double)answered : -1;
    bench_sink += sink;
    dlp__forecast_free(&f);
    dlp__minheap_free(&arrive);
    return t / (double)calls;
}

/* Mean seconds per wake-up of K - 1 doorbells (pollfd table rebuilt, then
 * ppoll, then the ready ones found), `calls` of them; fd[2 * k] the
 * dispatcher's ends. */
static double time_ppoll(const int *fd, int K, long calls, struct pollfd *p)
{
    struct timespec ts = {0, 1000000};
    long found = 0;
    double t0 = bench_now();
    for (long c = 0; c < calls; c++) {
        int n = 0;
        for (int k = 1; k < K; k++)
            p[n++] = (struct pollfd){fd[2 * k], POLLIN, 0};
        ppoll(p, (nfds_t)n, &ts, NULL);
        for (int i = 0; i < n; i++)
            found += p[i].revents != 0;
    }
    double t = (bench_now() - t0) / (double)calls;
    if (found < calls)
        bench_die("capacity_scan: ppoll found no ready socket");
    return t;
}

/* Mean seconds per wake-up of set w (fd[2 * k], k = 1 .. K - 1, in it
 * with tag k), `calls` of them, each finding the ready socket. */
static double time_epoll(struct dlp__waitset *w, long calls)
{
    int tags[DLP__WAITSET_MAX];
    long found = 0;
    double t0 = bench_now();
    for (long c = 0; c < calls; c++) {
        int n = dlp__waitset_wait(w, tags, DLP__WAITSET_MAX, 1000);
        for (int i = 0; i < n; i++)
            found += tags[i] > 0;
    }
    double t = (bench_now() - t0) / (double)calls;
    if (found < calls)
        bench_die("capacity_scan: the epoll set found no ready socket");
    return t;
}

enum { WAIT_PPOLL, WAIT_EPOLL, WAIT_EPOLL_PPOLL, WAITS };
static const char *const wait_name[WAITS] = {"ppoll_rebuilt", "epoll_pwait2",
                                             "epoll_via_ppoll"};

/* Table 2: the doorbell wait at I idle sockets plus one ready, by ppoll
 * and by the epoll set. */
static void wait_table(int reps, long fd_max, FILE *csv)
{
    int idle[] = {1, 10, 100, 1000, 5000, 10000, 0};
    int S = 6;
    long most = fd_max / 2 - 2; /* two descriptors per pair, the sets' own */
    while (S > 0 && idle[S - 1] > most)
        S--;
    if (most > (S > 0 ? idle[S - 1] : 0))
        idle[S++] = (int)(most < 1000000 ? most : 1000000);
    printf("#\n# doorbell wait per wake-up, I idle sockets + 1 ready; us/wake, median (min-max)\n");
    printf("# %-8s %-32s %-32s %-32s\n", "idle", "ppoll, table rebuilt", "epoll_pwait2",
           "epoll, ppoll route");
    for (int s = 0; s < S; s++) {
        int K = idle[s] + 2; /* pairs 1 .. K - 1: I idle, one ready */
        int *fd = malloc(sizeof *fd * 2 * (size_t)K);
        struct pollfd *p = malloc(sizeof *p * (size_t)K);
        struct dlp__waitset w[2] = {DLP__WAITSET_INIT, DLP__WAITSET_INIT};
        if (!fd || !p)
            bench_die("capacity_scan: out of memory");
        for (int i = 0; i < 2; i++)
            if (dlp__waitset_open(&w[i]) != 0)
                bench_die("capacity_scan: epoll_create1");
        w[1].pwait2 = 0; /* the fallback route */
        for (int k = 1; k < K; k++) {
            if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd + 2 * k) != 0)
                bench_die("capacity_scan: socketpair");
            for (int i = 0; i < 2; i++)
                if (dlp__waitset_add(&w[i], fd[2 * k], k) != 0)
                    bench_die("capacity_scan: epoll_ctl");
        }
        if (write(fd[2 * (K / 2) + 1], "r", 1) != 1) /* one ring pending, never read */
            bench_die("capacity_scan: write");
        double v[WAITS][1000];
        long calls = 1000000L / K + 20;
        for (int r = 0; r < reps; r++)
            for (int j = 0; j < WAITS; j++) {
                int m = (r % 2 ? WAITS - 1 - j : j); /* the order alternates too */
                long c = m == WAIT_PPOLL ? calls / 4 + 10 : 4 * calls;
                v[m][r] = 1e6 * (m == WAIT_PPOLL ? time_ppoll(fd, K, c, p)
                                                 : time_epoll(&w[m - 1], c));
            }
        char cell[WAITS][64];
        for (int m = 0; m < WAITS; m++) {
            double med, lo, hi;
            bench_spread(v[m], reps, &med, &lo, &hi);
            snprintf(cell[m], sizeof cell[m], "%.3f (%.3f-%.3f)", med, lo, hi);
            for (int r = 0; csv && r < reps; r++)
                fprintf(csv, "%s,%d,%d,%.4f\n", wait_name[m], idle[s], r, v[m][r]);
        }
        printf("  %-8d %-32s %-32s %-32s\n", idle[s], cell[0], cell[1], cell[2]);
        for (int i = 0; i < 2; i++)
            dlp__waitset_close(&w[i]);
        for (int k = 1; k < K; k++) {
            close(fd[2 * k]);
            close(fd[2 * k + 1]);
        }
        free(fd);
        free(p);
    }
}

int main(int argc, char **argv)
{
    const int reps = (int)bench_arg_long(argc, argv, 1, 9, 1, 1000);
    const char *csv_path = argc > 2 ? argv[2] : "bench_capacity_scan.csv";
    chunk_s = 1e-3 * (double)atol(bench_env("CHUNK_MS", "10"));
    if (!(chunk_s > 0))
        bench_die("capacity_scan: CHUNK_MS must be >= 1");
    const int sizes[] = {10, 100, 1000, 5000, 10000};
    const int S = (int)(sizeof sizes / sizeof sizes[0]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    long fd_max = (long)rl.rlim_cur - 64;
    FILE *csv = fopen(csv_path, "w");
    if (!csv)
        perror(csv_path);
    else
        fprintf(csv, "part,nodes_or_idle,rep,us_per_wake\n"); /* forecast_request: us per request */
    printf("# dlp_mpi capacity_scan: the per-node scans of one dispatcher wake-up; %d reps; "
           "open-file limit %ld; forecast: every node asks every %.0f ms\n",
           reps, (long)rl.rlim_cur, 1e3 * chunk_s);
    printf("# %-8s %-26s %-26s %-26s\n", "nodes", "forecast us/wake", "forecast us/request",
           "doorbell ppoll us/wake");
    for (int s = 0; s < S; s++) {
        int K = sizes[s];
        int bells = 2L * K <= fd_max;
        int *fd = bells ? malloc(sizeof *fd * 2 * (size_t)K) : NULL;
        struct pollfd *p = bells ? malloc(sizeof *p * (size_t)K) : NULL;
        for (int k = 1; bells && k < K; k++)
            if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd + 2 * k) != 0)
                bench_die("capacity_scan: socketpair");
        if (bells && write(fd[2 * (K / 2) + 1], "r", 1) != 1) /* one ring pending */
            bench_die("capacity_scan: write");
        double f[1000], fr[1000], q[1000];
        long calls = 2000000L / K + 10;
        for (int r = 0; r < reps; r++) {
            f[r] = 1e6 * time_forecast(K, calls, &fr[r]);
            fr[r] *= 1e6;
            q[r] = bells ? 1e6 * time_ppoll(fd, K, calls / 4 + 10, p) : -1;
            if (csv)
                fprintf(csv, "forecast,%d,%d,%.4f\nforecast_request,%d,%d,%.4f\n"
                             "doorbell_ppoll,%d,%d,%.4f\n",
                        K, r, f[r], K, r, fr[r], K, r, q[r]);
        }
        double fm, flo, fhi, rm, rlo, rhi, qm = -1, qlo = -1, qhi = -1;
        bench_spread(f, reps, &fm, &flo, &fhi);
        bench_spread(fr, reps, &rm, &rlo, &rhi);
        if (bells)
            bench_spread(q, reps, &qm, &qlo, &qhi);
        char a[64], a2[64], b[64];
        snprintf(a, sizeof a, "%.3f (%.3f-%.3f)", fm, flo, fhi);
        snprintf(a2, sizeof a2, "%.3f (%.3f-%.3f)", rm, rlo, rhi);
        if (bells)
            snprintf(b, sizeof b, "%.2f (%.2f-%.2f)", qm, qlo, qhi);
        else
            snprintf(b, sizeof b, "- (open-file limit)");
        printf("  %-8d %-26s %-26s %-26s\n", K, a, a2, b);
        for (int k = 1; bells && k < K; k++) {
            close(fd[2 * k]);
            close(fd[2 * k + 1]);
        }
        free(fd);
        free(p);
    }
    wait_table(reps, fd_max, csv);
    if (csv)
        fclose(csv);
    return 0;
}
