/* OpenMP inside an item (see nested.h). */
#include "nested.h"

#include <omp.h>
#include <string.h>

void dlp__nested_plan(struct dlp__nested *n, const char *omp_num_threads)
{
    n->outer = omp_get_max_threads();
    n->list = omp_num_threads && strchr(omp_num_threads, ',') != NULL;
}

void dlp__nested_enter(const struct dlp__nested *n, int team)
{
    if (omp_get_active_level() >= omp_get_max_active_levels())
        return; /* an item's region is inactive: one thread */
    /* this thread's nthreads-var: the list's next value, else inherited P */
    long inner = omp_get_max_threads(), outer = n->outer > 0 ? n->outer : 1;
    long cores = n->list ? outer * inner : outer;
    long share = cores / (team > 0 ? team : 1);
    long size = n->list && inner < share ? inner : share;
    omp_set_num_threads(size > 1 ? (int)size : 1);
}

int dlp__nested_alone(const struct dlp__nested *n, int team)
{
    return team == 1 && !n->list && omp_get_level() == 0;
}
