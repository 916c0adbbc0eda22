/* Liveness of the nodes: a node whose network link is cut, or whose host
 * or process is frozen, sends nothing any more, and the ranks that wait for
 * it would wait for ever (until the launcher's or the batch system's time
 * limit). A thread on rank 0 and on each other node's leader sends a
 * heartbeat (one byte) every tick over the node doorbell's TCP connection
 * (netbell.h) and reads what came; every byte counts, ring or heartbeat.
 * Rank 0 watches every node that has a doorbell; each leader watches rank
 * 0. A peer not heard of for DLP_LIVENESS_TIMEOUT seconds (rank 0's value
 * decides) is lost: the watcher names it, with its host and how long it
 * was silent, and aborts the job with DLP_EXIT_NODE_LOST. The items' work
 * plays no part: a node busy with items of hours still beats, and so do
 * ranks that wait at the end of a call.
 *
 * Cost: the thread wakes once per tick (a quarter of the timeout, at most
 * DLP__LIVENESS_TICK_MAX); rank 0 sends and reads one byte per watched
 * node per tick, a leader one. Nodes without a doorbell
 * (DLP_NODE_DOORBELL=off, or its connection failed) are not watched; nor
 * are the ranks of a node besides its leader (a frozen host or a cut link
 * silences the leader too). */
#ifndef DLP_LIB_LIVENESS_H
#define DLP_LIB_LIVENESS_H

/** Longest tick of the liveness thread, seconds. */
#define DLP__LIVENESS_TICK_MAX 15.0

/** Start the liveness thread where there are connections to watch
 *  (dlp_init, after dlp__netbell_open). When it cannot be started, a line
 *  on stderr says so and nothing is watched. Main thread. */
void dlp__liveness_start(void);

/** Stop it (dlp_finalize, before dlp__netbell_close). Main thread. */
void dlp__liveness_stop(void);

#endif
