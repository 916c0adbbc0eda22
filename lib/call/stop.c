/* Stopping a parallel call: an item's failure or a misuse stops handing
 * out work on this rank's node and (through the master, or under round
 * robin by stop messages to every rank) everywhere. */
#include "stop.h"

#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "doorbell.h"
#include "runtime.h"
#include "wait.h"

void dlp__stop_look(struct dlp_loop *L)
{
    double now = dlp__now_coarse();
    if (now < atomic_load_explicit(&L->next_probe, memory_order_relaxed) ||
        atomic_exchange(&L->probing, 1))
        return;
    int flag = 0;
    if (MPI_Iprobe(MPI_ANY_SOURCE, DLP__TAG_STOP, dlp__rt.comm, &flag, MPI_STATUS_IGNORE) ==
            MPI_SUCCESS &&
        flag)
        atomic_store(&L->cursor->stop, 1);
    atomic_store_explicit(&L->next_probe, now + DLP__STOP_PROBE, memory_order_relaxed);
    atomic_store(&L->probing, 0);
}

/* Round robin: tell every other rank that this one stopped (once). The
 * requests are allocated here, by the one thread that stops the rank, so
 * a call where no rank stops allocates and waits for none. */
static void send_stops(struct dlp_loop *L)
{
    if (!L->stop_messages || atomic_exchange(&L->stopping, 1))
        return;
    MPI_Request *sent = malloc((size_t)dlp__rt.size * sizeof *sent);
    if (!sent)
        dlp__helper_abort(L->func, "out of memory for the stop messages to the other ranks",
                          MPI_SUCCESS);
    for (int r = 0; r < dlp__rt.size; r++)
        sent[r] = MPI_REQUEST_NULL;
    L->stop_sent = sent;
    for (int r = 0; r < dlp__rt.size; r++)
        if (r != dlp__rt.rank)
            DLP__HELPER_CHECK(L->func, MPI_Isend(&L->stop_word, 1, MPI_UNSIGNED_LONG, r,
                                                 DLP__TAG_STOP, dlp__rt.comm, &L->stop_sent[r]));
}

void dlp__stop_settle(struct dlp_loop *L, const long *sent, int stride)
{
    if (!L->stop_messages)
        return;
    for (int r = 0; r < dlp__rt.size; r++) {
        if (L->stop_sent)
            DLP__HELPER_CHECK(L->func, dlp__wait(&L->stop_sent[r]));
        if (r == dlp__rt.rank || !sent[(size_t)stride * (size_t)r])
            continue;
        unsigned long word;
        MPI_Request req;
        DLP__HELPER_CHECK(L->func, MPI_Irecv(&word, 1, MPI_UNSIGNED_LONG, r, DLP__TAG_STOP,
                                             dlp__rt.comm, &req));
        DLP__HELPER_CHECK(L->func, dlp__wait(&req));
        if (word != L->seq)
            dlp__helper_abort(L->func, "a stop message of another call", MPI_SUCCESS);
    }
}

void dlp__loop_item_failure(struct dlp_loop *L, long item, int thread, int code, int value,
                            const char *msg)
{
    dlp__failures_add(&L->failures, item, thread, code, value, msg);
    if (!L->failures.keep_all) /* skip: go on */
        dlp__loop_stop(L);
}

void dlp__loop_failure(struct dlp_loop *L, long item, int thread, int code, const char *fmt,
                       ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dlp__loop_item_failure(L, item, thread, code, 0, msg);
}

void dlp__loop_misuse(struct dlp_loop *L, int code, const char *fmt, ...)
{
    if (atomic_exchange(&L->misuse_claimed, 1))
        return; /* the first is reported */
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(L->misuse_msg, sizeof L->misuse_msg, "%s (on rank %d, thread %d, host %s)", what,
             dlp__rt.rank, omp_get_thread_num(), dlp__rt.host);
    L->misuse = code; /* read by the main thread after the team is joined */
    dlp__loop_stop(L);
}

void dlp__loop_stop(struct dlp_loop *L)
{
    atomic_store(&L->cursor->stop, 1);
    dlp__doorbell_ring(&L->cursor->bell);
    dlp__gate_open(&L->cursor->gate, &L->cursor->sleepers);
    if (L->disp)
        dlp__dispenser_stop(L->disp);
    send_stops(L);
}
