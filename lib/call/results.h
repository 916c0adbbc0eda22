/* Dense results: one fixed-size slot per item in node-shared memory. */
#ifndef DLP_LIB_RESULTS_H
#define DLP_LIB_RESULTS_H

#include "dlp_mpi.h"

/** Items of a results object. */
long dlp__results_items(const dlp_results *r);

/** Bytes of one item's result. */
size_t dlp__results_elem(const dlp_results *r);

/** opts.on_all_ranks: the master's complete array to every node's shared
 *  segment (master -> each remote leader; the node's ranks share it).
 *  Collective, after the results moved. DLP_OK or DLP_ERR_MPI. */
int dlp__results_share(dlp_results *r, const char *func);

#endif
