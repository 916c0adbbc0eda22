/* Dense results: one fixed-size slot per item in node-shared memory. */
#ifndef DLP_LIB_RESULTS_H
#define DLP_LIB_RESULTS_H

#include "dlp_mpi.h"

/** Items of a results object. */
long dlp__results_items(const dlp_results *r);

/** Bytes of one item's result. */
size_t dlp__results_elem(const dlp_results *r);

#endif
