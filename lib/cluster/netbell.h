/* Doorbells across nodes (netbell.c): one TCP connection between the
 * master and each remote node's leader, over which a node agent rings the
 * master's dispatcher after it sent a chunk request, and the dispatcher
 * rings the agent after it sent the reply. A ring is one byte and only a
 * hint: the request and the reply themselves stay MPI messages, and both
 * sides keep polling, rarely, as a safety net. So the helpers sleep in the
 * kernel until a message is due, instead of waking every few hundred
 * microseconds to poll MPI (whose blocking calls spin a core): one wake-up
 * per message, each of which costs the computing threads beside them.
 *
 * Set up by dlp_init when there are several nodes and DLP_NODE_DOORBELL
 * (rank 0's value decides) is not "off"; rank 0 listens on the addresses
 * of its interfaces, or on those of DLP_NODE_DOORBELL_HOST (rank 0's value,
 * resolved there) when set, and sends them to the leaders, which need no
 * name lookup. Anything that fails (no address, a firewall, a refused
 * connection) leaves that node without a doorbell:
 * it is served by polling as before. With "tcp" such a failure is reported
 * on stderr; with "auto" (default) it is silent, and DLP_STATS tells. */
#ifndef DLP_LIB_NETBELL_H
#define DLP_LIB_NETBELL_H

#include <mpi.h>

#include "wait.h"

/** Longest sleep of a helper that has a doorbell, microseconds: a safety
 *  net only (a ring is never lost on a live connection). */
#define DLP__NETBELL_SAFETY_US 20000u
/** After a ring, the MPI message it announces may trail it a little (or
 *  the ring is a late one, of a message already taken): the helper looks
 *  again after QUICK_MIN microseconds, doubling up to QUICK_MAX, then
 *  sleeps until the next ring again. */
#define DLP__NETBELL_QUICK_MIN_US 10u
#define DLP__NETBELL_QUICK_MAX_US 1000u

/** The next look of such a quick phase, microseconds, doubling *quick; 0
 *  once the phase is over (or none runs: *quick == 0). */
static inline unsigned dlp__netbell_quick(unsigned *quick)
{
    unsigned us = *quick;
    *quick = us && 2 * us <= DLP__NETBELL_QUICK_MAX_US ? 2 * us : 0;
    return us;
}

/** Set up the doorbells (netbell_setup.c). Called by every rank in
 *  dlp_init, after the node level is known; only rank 0 and the other
 *  nodes' leaders take part (point-to-point messages on dlp__rt.comm).
 *  DLP_OK, or an MPI error. */
int dlp__netbell_open(void);

/** Close every doorbell (dlp_finalize, or a failed dlp_init). */
void dlp__netbell_close(void);

/** Master: does node k have a doorbell? */
int dlp__netbell_has(int k);
/** Master: how many remote nodes have one. */
int dlp__netbell_count(void);
/** Node leader: does this node have one? */
int dlp__netbell_agent_has(void);

/** Ring node k's agent (master), the master (agent), or the master's own
 *  dispatcher (its main thread, through an eventfd). Never blocks; a broken
 *  connection is closed, and that side falls back to polling. */
void dlp__netbell_ring_node(int k);
void dlp__netbell_ring_master(void);
void dlp__netbell_ring_local(void);
/** Master: ring every node's leader (the end of a call, see
 *  dlp__wait_end); main thread, once the dispatcher is joined. */
void dlp__netbell_ring_nodes(void);

/** Master's dispatcher: sleep until the local bell or the doorbell of a
 *  node with active[k] != 0 (active NULL: any node) rings, or timeout_us
 *  passes. Returns the rings
 *  read from those nodes (the local bell counts none). What the other
 *  nodes send meanwhile is read (it tells they live) but neither counted
 *  nor the end of the sleep. Costs O(connections ready), not O(nodes)
 *  (an epoll set). Should the set fail, that is said once on stderr and
 *  every node is served by polling from then on. */
long dlp__netbell_wait_master(const char *active, unsigned timeout_us);
/** Node agent: sleep until the master rings or timeout_us passes. Returns
 *  the rings read. */
long dlp__netbell_wait_agent(unsigned timeout_us);

/** dlp__wait_bell() for the collective at the end of a parallel call (op,
 *  tested by test: an MPI request, or an exchange, exchange.h): a node
 *  leader with a node doorbell sleeps on it, and the master rings every
 *  doorbell once it has posted that collective (dlp__netbell_ring_nodes),
 *  so a leader whose items ran out long before does not sleep through the
 *  end by up to DLP__WAIT_MAX_US; the other way round, after a managed
 *  call a leader rings the master once it has posted it
 *  (dlp__netbell_ring_at_end), and the master (with node doorbells)
 *  sleeps on them. A ring starts the spinning over, for the few exchanges
 *  of the collective left. Main thread, once the call's helper threads
 *  are done with it (they read the doorbells during the call). */
int dlp__wait_end(dlp__test_fn *test, void *op);
/** A node leader's next dlp__wait_end() rings the master once it has
 *  posted the collective (a managed call, whose master waits for the
 *  nodes' last requests; in a round-robin call the ranks come to the end
 *  together, and the ring would only cost). Main thread. */
void dlp__netbell_ring_at_end(void);

/* For the liveness thread (liveness.h). Each connection's bytes, rings or
 * heartbeats, tell that its peer lives, whoever reads them. */

/** The liveness timeout rank 0 set (DLP_LIVENESS_TIMEOUT), seconds, when
 *  this rank has connections to watch (rank 0: any node's; a leader: the
 *  master's); else 0. */
double dlp__netbell_liveness(void);
/** Send a heartbeat over every connection watched. Never blocks. */
void dlp__netbell_beat(void);
/** Read what has come over the connections watched, without waiting (a
 *  leader leaves it to its agent while that sleeps on the bell; rings
 *  taken from under rank 0's dispatcher are passed on to it). */
void dlp__netbell_listen(void);
/** Count every watched peer as heard now (the watcher itself was
 *  frozen, so its silence tells nothing). */
void dlp__netbell_heard_all(void);
/** Peer k (rank 0: node k; a leader: 0, the master): 1 and when it was
 *  last heard of (dlp__now()) and the errno that broke its connection (0
 *  none) while it is watched; 0 when it is not (no connection, or the
 *  other side closed it in its dlp_finalize). Liveness thread. */
int dlp__netbell_peer(int k, double *heard, int *error);
/** Peer k's host (rank 0: node k's leader's MPI processor name; a leader:
 *  the master's), "?" unknown. */
const char *dlp__netbell_host(int k);

#endif
