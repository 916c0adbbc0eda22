/* The master's dispatcher: a light thread on rank 0 that answers the chunk
 * requests of remote nodes while the master's own team computes. It polls
 * with a short exponential backoff (5..200 us) instead of blocking, because
 * MPICH's blocking calls spin a whole core. It ends when every remote node
 * has been told that nothing is left. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loop.h"
#include "runtime.h"

void dlp__helper_abort(const char *who, const char *what, int mpi_rc)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (mpi_rc != MPI_SUCCESS)
        MPI_Error_string(mpi_rc, text, &len);
    fprintf(stderr, "dlp_mpi: %s on rank %d (host %s): %s %s; aborting the job\n", who,
            dlp__rt.rank, dlp__rt.host, what, text);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 70);
    abort();
}

static void log_chunk(struct dlp__chunk_log *log, long start, long count)
{
    if (log->len == log->cap) {
        long cap = log->cap ? 2 * log->cap : 64;
        void *p = realloc(log->seg, (size_t)cap * sizeof *log->seg);
        if (!p)
            dlp__helper_abort("dispatcher", "out of memory for the chunk log", MPI_SUCCESS);
        log->seg = p;
        log->cap = cap;
    }
    log->seg[log->len][0] = start;
    log->seg[log->len][1] = count;
    log->len++;
}

#define CHECK(call)                                                          \
    do {                                                                     \
        int mrc_ = (call);                                                   \
        if (mrc_ != MPI_SUCCESS)                                             \
            dlp__helper_abort("dispatcher", #call, mrc_);                    \
    } while (0)

void *dlp__dispatcher_main(void *arg)
{
    struct dlp_loop *L = arg;
    MPI_Comm comm = dlp__rt.comm;
    int remaining_nodes = dlp__rt.nodes - 1;
    unsigned backoff = DLP__POLL_MIN_US;
    struct dlp__request rq;
    MPI_Request handle = MPI_REQUEST_NULL;
    long served = 0;
    double t0 = dlp__now();

    while (remaining_nodes > 0) {
        if (handle == MPI_REQUEST_NULL)
            CHECK(MPI_Irecv(&rq, (int)sizeof rq, MPI_BYTE, MPI_ANY_SOURCE, DLP__TAG_REQUEST,
                            comm, &handle));
        int flag = 0;
        MPI_Status st;
        CHECK(MPI_Test(&handle, &flag, &st));
        if (!flag) {
            dlp__sleep_us(backoff);
            backoff = backoff * 2 > DLP__POLL_MAX_US ? DLP__POLL_MAX_US : backoff * 2;
            continue;
        }
        backoff = DLP__POLL_MIN_US;
        if (rq.seq != L->seq || rq.node <= 0 || rq.node >= dlp__rt.nodes) {
            char what[160];
            snprintf(what, sizeof what,
                     "request from rank %d for call %lu node %d during call %lu", st.MPI_SOURCE,
                     rq.seq, rq.node, L->seq);
            dlp__helper_abort("dispatcher", what, MPI_SUCCESS);
        }
        if (rq.stop)
            dlp__dispenser_stop(L->disp);
        struct dlp__reply rep = {.seq = L->seq, .start = 0, .count = 0};
        if (!rq.leave)
            rep.count = dlp__dispenser_next(L->disp, L->threads_of_node[rq.node], L->total_threads,
                                        rq.rate, &rep.start);
        if (rep.count > 0)
            log_chunk(&L->logs[rq.node], rep.start, rep.count);
        else
            remaining_nodes--;
        CHECK(MPI_Send(&rep, (int)sizeof rep, MPI_BYTE, st.MPI_SOURCE, DLP__TAG_REPLY, comm));
        served++;
    }
    const char *stats = getenv("DLP_STATS");
    if (stats && *stats && *stats != '0') {
        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        fprintf(stderr,
                "dlp_mpi: dispatcher served %ld requests of %d remote nodes in %.3f s using "
                "%.3f ms of CPU (%.2f%% of a core)\n",
                served, dlp__rt.nodes - 1, dlp__now() - t0,
                1e3 * ((double)cpu.tv_sec + 1e-9 * (double)cpu.tv_nsec),
                100.0 * ((double)cpu.tv_sec + 1e-9 * (double)cpu.tv_nsec) /
                    (dlp__now() - t0 > 0 ? dlp__now() - t0 : 1));
    }
    return NULL;
}
