/* The cache of batch memory between map calls. A map call recycles its
 * batches while results flow (dlp__map_recycle) and, without this cache,
 * freed them at its end: malloc then gives the pages back to the system
 * and the next call faults every page of its first batches in again
 * (with tiny items that is a visible part of a call, docs/map.md). The
 * batches kept here (as many as the call's spare list held, up to
 * DLP__MAP_CACHE_BYTES) start the next call's spare list instead. Only
 * the main thread runs map calls and dlp_finalize, so the list needs no
 * lock. */
#include <stdlib.h>

#include "map.h"
#include "map_cache.h"

static struct handed *kept;
static size_t kept_bytes;

void dlp__map_cache_lend(struct handed **spare, size_t *bytes)
{
    *spare = kept;
    *bytes = kept_bytes;
    kept = NULL;
    kept_bytes = 0;
}

void dlp__map_cache_keep(struct handed *spare, size_t limit)
{
    if (limit > DLP__MAP_CACHE_BYTES)
        limit = DLP__MAP_CACHE_BYTES;
    for (struct handed *h = spare, *next; h; h = next) {
        next = h->next;
        if (kept_bytes + h->cap <= limit) {
            h->next = kept;
            kept = h;
            kept_bytes += h->cap;
        } else {
            free(h);
        }
    }
}

void dlp__map_cache_release(void)
{
    struct handed *spare;
    size_t bytes;
    dlp__map_cache_lend(&spare, &bytes);
    dlp__map_cache_keep(spare, 0); /* keeps none: frees them all */
}
