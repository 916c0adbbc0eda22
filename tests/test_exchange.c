/* The small allgather of the library's agreements (lib/base/exchange.c),
 * alone, on 1 to 7 ranks: every rank's block reaches every rank in rank
 * order, for block sizes from 1 byte to more than the exchange keeps in
 * itself (its allocated scratch), with the own block inside the output
 * (as the end's agreement passes it) or apart, for back-to-back exchanges
 * on two tags (as the entry and the end alternate), and with a rank that
 * comes late. Every failed check prints the case and both values. */
#define _POSIX_C_SOURCE 200809L
#include "test_check.h"

#include <mpi.h>
#include <stdlib.h>
#include <time.h>

#include "exchange.h"
#include "tags.h"

static int rank, size;

static unsigned char value(int owner, int round, size_t k)
{
    return (unsigned char)(owner * 31 + round * 7 + (int)k * 3 + 1);
}

/* One exchange of `bytes` per rank on tag; returns 0 on an MPI error. */
static int exchange(unsigned char *out, size_t bytes, int round, int in_place, int tag)
{
    unsigned char *mine = in_place ? out + (size_t)rank * bytes : malloc(bytes);
    if (!CHECK_MSG(mine != NULL, "no memory for %zu bytes", bytes))
        return 0;
    for (size_t k = 0; k < bytes; k++)
        mine[k] = value(rank, round, k);
    struct dlp__exchange x;
    int rc = dlp__exchange_start(&x, mine, out, bytes, MPI_COMM_WORLD, rank, size, tag);
    int done = 0;
    while (rc == MPI_SUCCESS && !done)
        rc = dlp__exchange_test(&x, &done);
    if (!in_place)
        free(mine);
    return CHECK_EQ(rc, MPI_SUCCESS);
}

static void check_blocks(const unsigned char *out, size_t bytes, int round)
{
    for (int r = 0; r < size; r++)
        for (size_t k = 0; k < bytes; k++)
            if (!CHECK_MSG(out[(size_t)r * bytes + k] == value(r, round, k),
                           "rank %d of %d: byte %zu of rank %d's block is %d, want %d", rank,
                           size, k, r, out[(size_t)r * bytes + k], value(r, round, k)))
                return;
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const size_t sizes[] = {1, 7, 56, 128, 700, 3001};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t bytes = sizes[s];
        unsigned char *out = malloc(bytes * (size_t)size);
        if (!CHECK_MSG(out != NULL, "no memory"))
            break;
        for (int round = 0; round < 24; round++) {
            check_case("%d ranks, %zu bytes, round %d", size, bytes, round);
            if (round == 5 && rank == size - 1) /* the last rank comes late */
                nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
            int tag = round % 2 ? DLP__TAG_OUTCOME : DLP__TAG_ENTRY;
            if (!exchange(out, bytes, round, round % 3 == 0, tag))
                break;
            check_blocks(out, bytes, round);
        }
        free(out);
    }
    check_case("%d ranks, an empty block", size);
    struct dlp__exchange x;
    unsigned char b = 0;
    CHECK_EQ(dlp__exchange_start(&x, &b, &b, 0, MPI_COMM_WORLD, rank, size, DLP__TAG_ENTRY),
             MPI_ERR_COUNT);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return check_end("test_exchange");
}
