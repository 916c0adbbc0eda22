/* Batch memory of dlp_map_unordered kept from one map call to the next. */
#ifndef DLP_LIB_MAP_CACHE_H
#define DLP_LIB_MAP_CACHE_H

#include <stddef.h>

struct handed;

/* Bytes of batch memory kept between calls at most (the caps of the kept
 * batches), whatever the call's window: its spares are bounded by its
 * window (opts.inflight, default 8 MiB) and a quarter, plus
 * DLP__MAP_SPARE_BYTES (map.h), and this bound keeps a default call's
 * whole spare list. */
#define DLP__MAP_CACHE_BYTES ((size_t)16 << 20)

/** A map call starts: the kept batches become its spares (*spare, a list
 *  through h->next; *bytes: their caps), the cache is empty. Only the
 *  thread that runs map calls (the main thread) calls it. */
void dlp__map_cache_lend(struct handed **spare, size_t *bytes);

/** A map call ends: keeps its spares (a list through h->next) up to
 *  limit bytes (the call's bound on its spares) and DLP__MAP_CACHE_BYTES,
 *  and frees the others. Main thread. */
void dlp__map_cache_keep(struct handed *spare, size_t limit);

/** dlp_finalize (and a failed dlp_init): frees every kept batch. Main
 *  thread. A child of fork() inherits its own copy of the list (no lock
 *  to reset): it may use it or free it. */
void dlp__map_cache_release(void);

#endif
