/* A small allgather over point-to-point messages (see exchange.h).
 *
 * Bruck's algorithm: rank r keeps the blocks it holds rotated, block i
 * being rank (r + i)'s. At the step of distance d it sends the first
 * min(d, size - d) blocks to rank r - d and receives as many from rank
 * r + d, after the d blocks it holds; after ceil(log2 size) steps it holds
 * every block and puts them in rank order. A step's receive and send touch
 * disjoint bytes, and each step has its own tag. */
#include "exchange.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Steps of one exchange at most (a tag each): ranks fit in an int. */
#define MAX_STEPS 32

static void release(struct dlp__exchange *x)
{
    if (x->rot && x->rot != x->inline_rot)
        free(x->rot);
    x->rot = NULL;
}

/* Blocks rank order <- rotated order. */
static void finish(struct dlp__exchange *x)
{
    for (int i = 0; i < x->size; i++) {
        int owner = (int)(((long)x->rank + i) % x->size);
        memcpy(x->out + (size_t)owner * x->bytes, x->rot + (size_t)i * x->bytes, x->bytes);
    }
    release(x);
}

/* Blocks the step of distance x->dist sends and receives. */
static int step_blocks(const struct dlp__exchange *x)
{
    return x->dist < x->size - x->dist ? x->dist : x->size - x->dist;
}

/* Post the step of distance x->dist. */
static int post_step(struct dlp__exchange *x)
{
    int count = step_blocks(x);
    int from = (int)(((long)x->rank + x->dist) % x->size);
    int to = (int)(((long)x->rank - x->dist + x->size) % x->size);
    int len = (int)((size_t)count * x->bytes); /* (checked at the start) */
    int rc = MPI_Irecv(x->rot + (size_t)x->dist * x->bytes, len, MPI_BYTE, from, x->tag + x->step,
                       x->comm, &x->req[0]);
    if (rc == MPI_SUCCESS)
        rc = MPI_Isend(x->rot, len, MPI_BYTE, to, x->tag + x->step, x->comm, &x->req[1]);
    return rc;
}

int dlp__exchange_start(struct dlp__exchange *x, const void *mine, void *out, size_t bytes,
                        MPI_Comm comm, int rank, int size, int tag)
{
    x->rot = NULL;
    if (size < 1 || rank < 0 || rank >= size || bytes == 0 ||
        bytes > (size_t)INT32_MAX / (size_t)size)
        return MPI_ERR_COUNT; /* (every message's length is an int) */
    x->comm = comm;
    x->rank = rank;
    x->size = size;
    x->tag = tag;
    x->bytes = bytes;
    x->out = out;
    size_t total = (size_t)size * bytes;
    x->rot = total <= sizeof x->inline_rot ? x->inline_rot : malloc(total);
    if (!x->rot)
        return MPI_ERR_NO_MEM;
    memcpy(x->rot, mine, bytes);
    x->have = 1;
    x->dist = 1;
    x->step = 0;
    x->req[0] = x->req[1] = MPI_REQUEST_NULL;
    if (size == 1)
        return MPI_SUCCESS;
    int rc = post_step(x);
    if (rc != MPI_SUCCESS)
        release(x);
    return rc;
}

int dlp__exchange_test(void *op, int *done)
{
    struct dlp__exchange *x = op;
    *done = 0;
    while (x->have < x->size) {
        int received = 0, sent = 0; /* (a completed request is null, tested as done) */
        int rc = MPI_Test(&x->req[0], &received, MPI_STATUS_IGNORE);
        if (rc == MPI_SUCCESS)
            rc = MPI_Test(&x->req[1], &sent, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            release(x);
            return rc;
        }
        if (!received || !sent)
            return MPI_SUCCESS;
        x->have += step_blocks(x);
        if (x->have >= x->size)
            break;
        x->dist *= 2; /* (< size: have == dist before each step) */
        if (++x->step >= MAX_STEPS) {
            release(x);
            return MPI_ERR_INTERN;
        }
        rc = post_step(x);
        if (rc != MPI_SUCCESS) {
            release(x);
            return rc;
        }
    }
    finish(x);
    *done = 1;
    return MPI_SUCCESS;
}
