/*
 * gather.c — dlp_gather: one variable-size buffer per rank, all of them on
 * the master in rank order (the Python `dlp_mpi.gather`).
 *
 * Each rank processes its share of 40 small items with dlp_split_managed and
 * counts them; then every rank describes itself in a line of text of its own
 * length (host, node, items done) and the master prints all lines.
 *
 *     ./gather
 *     mpiexec.mpich -n 4 ./gather
 *     mpiexec.mpich -launcher fork -hosts n1:2,n2:2 -n 4 ./gather   # 2 "nodes"
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <dlp_mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_ITEMS 40

/* Status check: print dlp_last_error() and stop every rank on failure. */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "gather.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
            msg && *msg ? msg : "(no further detail)");
    if (rc == DLP_ERR_INTERRUPTED) { /* SIGTERM/SIGINT: every rank's call returned it */
        dlp_finalize();
        exit(DLP_EXIT_INTERRUPTED); /* 76: not a failure, run again (to resume) */
    }
    int up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}
#define CHECK(call) check((call), #call, __LINE__)

/* The body: 20 ms of "work", then count the item on this rank. */
static int body(long i, void *ctx)
{
    (void)i;
    atomic_long *done = ctx;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 20000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    atomic_fetch_add_explicit(done, 1, memory_order_relaxed);
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));

    atomic_long done = 0;
    CHECK(dlp_split_managed(N_ITEMS, body, &done, NULL)); /* NULL: default options */

    /* This rank's text; its length differs from rank to rank. */
    char host[MPI_MAX_PROCESSOR_NAME] = "?";
    int host_len = 0;
    MPI_Get_processor_name(host, &host_len);
    char text[512];
    int len = snprintf(text, sizeof text, "rank %d on %s (node %d of %d), %d threads: %ld items",
                       CHECK(dlp_rank()), host, CHECK(dlp_node()), CHECK(dlp_nodes()),
                       CHECK(dlp_threads()), atomic_load(&done));
    if (len < 0 || (size_t)len >= sizeof text)
        len = (int)strlen(text);

    /* On the master: all texts back to back, lens[r] bytes from rank r. */
    int size = CHECK(dlp_size());
    size_t *lens = malloc(sizeof *lens * (size_t)size);
    if (!lens) {
        fprintf(stderr, "gather.c: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    void *all = NULL;
    CHECK(dlp_gather(text, (size_t)len, &all, lens));

    if (CHECK(dlp_is_master())) {
        const char *p = all;
        for (int r = 0; r < size; r++) {
            printf("%.*s\n", (int)lens[r], p); /* the texts are not NUL-terminated */
            p += lens[r];
        }
        free(all);
    }
    free(lens);

    CHECK(dlp_finalize());
    return 0;
}
