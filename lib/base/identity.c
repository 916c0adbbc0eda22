/* Who this process is in the job (see identity.h). */
#include "identity.h"

#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>

static _Atomic int rank_now = -1;
static _Atomic int size_now;
static char host_now[MPI_MAX_PROCESSOR_NAME + 1];

void dlp__identity_set(int rank, int size, const char *host)
{
    if (host)
        snprintf(host_now, sizeof host_now, "%s", host);
    atomic_store(&size_now, size);
    atomic_store(&rank_now, rank);
}

int dlp__identity_rank(void) { return atomic_load(&rank_now); }

int dlp__identity_size(void) { return atomic_load(&size_now); }

const char *dlp__identity_host(void) { return host_now; }
