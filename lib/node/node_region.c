/* The node-shared region of a managed call: where the dispenser and the
 * node cursor live, and their reset before each call. */
#include "node_region.h"

#include "runtime.h"

#define REGION_DISP_BYTES ((sizeof(struct dlp__dispenser) + 63) / 64 * 64)

size_t dlp__node_region_bytes(void)
{
    return REGION_DISP_BYTES + dlp__cursor_bytes(DLP__NODE_CHUNKS);
}

struct dlp__dispenser *dlp__node_dispenser(void)
{
    return (struct dlp__dispenser *)dlp__rt.node_region.base;
}

struct dlp__cursor *dlp__node_cursor(void)
{
    return (struct dlp__cursor *)((char *)dlp__rt.node_region.base + REGION_DISP_BYTES);
}

/* (Nobody uses them any more: the previous call ended with a collective
 * after all its threads had finished.) */
void dlp__node_region_reset(long n, long done_before, int schedule, long chunk,
                            double chunk_time)
{
    if (dlp__rt.node_rank != 0)
        return;
    struct dlp__cursor *c = dlp__node_cursor();
    dlp__cursor_reset(c, DLP__NODE_CHUNKS, 1);
    c->t0 = dlp__now();
    if (n == 0)
        dlp__cursor_close(c);
    if (dlp__rt.node == 0)
        dlp__dispenser_reset(dlp__node_dispenser(), n, done_before, schedule, chunk, chunk_time);
}
