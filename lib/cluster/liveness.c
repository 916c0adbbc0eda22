/* Liveness of the nodes (see liveness.h). */
#include "liveness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "doorbell.h"
#include "error.h"
#include "netbell.h"
#include "runtime.h"

/* Silent nodes named in rank 0's message; the others are counted. */
#define NAMED_MAX 8

static struct {
    pthread_t thread;
    int running;
    double timeout; /* seconds */
    _Atomic int quit;
    _Atomic int bell;
} lv;

static const char advice[] =
    "a cut network link, or a host or process frozen or stopped; aborting the job "
    "(exit status %d). If the nodes are merely slow to answer (an overloaded network or "
    "machine), set DLP_LIVENESS_TIMEOUT to more seconds (0 switches this check off)\n";

/* ", its connection failed: <why>" for error e, else "". */
static const char *failed(int e, char *buf, size_t cap)
{
    char text[128];
    if (e == 0)
        return "";
    snprintf(buf, cap, ", its connection failed: %s", dlp__errno_text(e, text, sizeof text));
    return buf;
}

/* Rank 0: the nodes silent for longer than the timeout, named; aborts. */
static void master_check(double now)
{
    const struct dlp__runtime *rt = &dlp__rt;
    char list[2048] = "";
    size_t len = 0;
    int silent = 0, watched = 0;
    for (int k = 1; k < rt->nodes; k++) {
        double heard;
        int e;
        if (!dlp__netbell_peer(k, &heard, &e))
            continue;
        watched++;
        if (now - heard <= lv.timeout)
            continue;
        if (silent++ >= NAMED_MAX)
            continue;
        int ranks = 0;
        for (int r = 0; r < rt->size; r++)
            ranks += rt->node_of_rank[r] == k;
        char why[192];
        int w = snprintf(list + len, sizeof list - len,
                         "%snode %d (host %s, leader rank %d, %d rank%s) for %.1f s%s",
                         silent > 1 ? "; " : "", k, dlp__netbell_host(k), rt->node_leader[k],
                         ranks, ranks == 1 ? "" : "s", now - heard,
                         failed(e, why, sizeof why));
        if (w > 0 && (size_t)w < sizeof list - len)
            len += (size_t)w;
    }
    if (silent == 0)
        return;
    char more[64] = "";
    if (silent > NAMED_MAX)
        snprintf(more, sizeof more, " and %d more", silent - NAMED_MAX);
    fprintf(stderr,
            "dlp_mpi: rank 0 (host %s): no sign of life from %s%s: %d of %d watched nodes "
            "silent for longer than DLP_LIVENESS_TIMEOUT=%g s: ",
            rt->host, list, more, silent, watched, lv.timeout);
    fprintf(stderr, advice, DLP_EXIT_NODE_LOST);
    dlp__abort_job(DLP_EXIT_NODE_LOST);
}

/* A leader: the master silent for longer than the timeout; aborts. */
static void leader_check(double now)
{
    double heard;
    int e;
    if (!dlp__netbell_peer(0, &heard, &e) || now - heard <= lv.timeout)
        return;
    char why[192];
    fprintf(stderr,
            "dlp_mpi: rank %d (host %s, leader of node %d): no sign of life from the master "
            "(rank 0, host %s) for %.1f s%s, longer than DLP_LIVENESS_TIMEOUT=%g s: ",
            dlp__rt.rank, dlp__rt.host, dlp__rt.node, dlp__netbell_host(0), now - heard,
            failed(e, why, sizeof why), lv.timeout);
    fprintf(stderr, advice, DLP_EXIT_NODE_LOST);
    dlp__abort_job(DLP_EXIT_NODE_LOST);
}

static void *liveness_main(void *arg)
{
    (void)arg;
    double tick = lv.timeout / 4 < DLP__LIVENESS_TICK_MAX ? lv.timeout / 4
                                                           : DLP__LIVENESS_TICK_MAX;
    unsigned us = (unsigned)(tick * 1e6);
    double last = dlp__now();
    while (!atomic_load(&lv.quit)) {
        dlp__netbell_beat();
        dlp__doorbell_arm(&lv.bell);
        if (atomic_load(&lv.quit))
            dlp__doorbell_disarm(&lv.bell);
        else
            dlp__doorbell_wait(&lv.bell, us);
        if (atomic_load(&lv.quit))
            break;
        dlp__netbell_listen();
        double now = dlp__now();
        /* this process itself did not run for two ticks (stopped, its host
         * suspended, or starved): the others' silence tells nothing yet */
        if (now - last > 2 * tick)
            dlp__netbell_heard_all();
        last = now;
        if (dlp__rt.rank == 0)
            master_check(now);
        else
            leader_check(now);
    }
    return NULL;
}

void dlp__liveness_start(void)
{
    lv.running = 0;
    lv.timeout = dlp__netbell_liveness();
    if (!(lv.timeout > 0))
        return;
    atomic_store(&lv.quit, 0);
    atomic_store(&lv.bell, 0);
    int e = pthread_create(&lv.thread, NULL, liveness_main, NULL);
    if (e != 0) {
        /* a safety net only: dlp_init goes on (it must not fail on one rank) */
        fprintf(stderr,
                "dlp_mpi: rank %d (host %s): cannot start the liveness thread (%s): a lost "
                "node will not be noticed (DLP_LIVENESS_TIMEOUT)\n",
                dlp__rt.rank, dlp__rt.host, DLP__ERRNO_TEXT(e));
        return;
    }
    lv.running = 1;
}

void dlp__liveness_stop(void)
{
    if (!lv.running)
        return;
    atomic_store(&lv.quit, 1);
    dlp__doorbell_ring(&lv.bell);
    pthread_join(lv.thread, NULL);
    lv.running = 0;
}
