/* The node-shared region of a managed call: the dispenser of the master's
 * items (used on the master's node only), then the node cursor. */
#ifndef DLP_LIB_NODE_REGION_H
#define DLP_LIB_NODE_REGION_H

#include <stddef.h>

#include "cursor.h"
#include "dispenser.h"
#include "selfsched.h"

/* Chunk table entries per node (see DLP__MAX_CHUNKS). */
#define DLP__NODE_CHUNKS ((int)DLP__MAX_CHUNKS + 1)

/** Bytes of the node-shared region: the dispenser, then the node cursor. */
size_t dlp__node_region_bytes(void);

/** This node's dispenser (meaningful on the master's node) and cursor. */
struct dlp__dispenser *dlp__node_dispenser(void);
struct dlp__cursor *dlp__node_cursor(void);

/** Before a managed call's handshake, on every rank: the node's leader
 *  resets its cursor, and on the master's node the dispenser, for n items
 *  of which the journal had done_before (schedule, chunk, chunk_time: the
 *  call's resolved options). The handshake's allgather is the barrier
 *  that keeps the node's ranks from taking items before the reset. Not
 *  collective. */
void dlp__node_region_reset(long n, long done_before, int schedule, long chunk,
                            double chunk_time);

#endif
