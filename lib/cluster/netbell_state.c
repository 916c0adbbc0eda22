/* The node doorbells' connections (see netbell_state.h). */
#include "netbell_state.h"

#include <stdatomic.h>

#include "clock.h"
#include "runtime.h"

struct dlp__netbell dlp__nb = {
    0, NULL, DLP__WAITSET_INIT, -1, -1, 0, NULL, NULL, 0, {0, -1, -1, -1, 0, 0}, 0, 0, 0};

void dlp__netbell_watch_peer(struct dlp__bell_peer *p, int fd)
{
    p->live = fd;
    p->ended = 0;
    p->error = 0;
    atomic_store_explicit(&p->heard, dlp__now(), memory_order_relaxed);
}

int dlp__netbell_peer_count(void)
{
    if (!dlp__nb.peer)
        return 0;
    return dlp__rt.rank == 0 ? dlp__nb.nodes : 1;
}
