/* Chunk-size policies (see schedule.h). */
#include "schedule.h"

#include <math.h>

#include "dlp_mpi.h"

static long clamp_chunk(double c, const struct dlp__sched_request *q)
{
    long lo = dlp__schedule_min_chunk(q->n);
    if (!(c >= (double)lo)) /* also catches NaN */
        c = (double)lo;
    if (c >= (double)q->remaining)
        return q->remaining;
    return (long)c;
}

long dlp__schedule_chunk(int schedule, long fixed, double chunk_time,
                         const struct dlp__sched_request *q)
{
    if (q->remaining <= 0)
        return 0;
    if (schedule == DLP_SCHEDULE_FIXED)
        return clamp_chunk((double)(fixed > 0 ? fixed : 1), q);
    int nt = q->node_threads > 0 ? q->node_threads : 1;
    int tt = q->total_threads >= nt ? q->total_threads : nt;
    double fac = ceil((double)q->remaining * nt / (2.0 * tt));
    double cap = q->rate > 0 ? ceil(q->rate * chunk_time) : (double)nt;
    return clamp_chunk(fac < cap ? fac : cap, q);
}

double dlp__schedule_chunk_time(double chunk_time, int fixed, int remote_nodes, double service)
{
    if (fixed || remote_nodes <= 0 || !(service > 0))
        return chunk_time;
    double grown = (double)remote_nodes * service / DLP__LOAD_TARGET;
    grown = grown < DLP__CHUNK_TIME_GROWN_MAX ? grown : DLP__CHUNK_TIME_GROWN_MAX;
    return grown > chunk_time ? grown : chunk_time;
}

/* dlp_schedule value -> selfsched kind; both lists are only appended to. */
static const int kind_of[] = {
    [DLP_SCHEDULE_DEFAULT] = DLP__SS_AUTO, [DLP_SCHEDULE_AUTO] = DLP__SS_AUTO,
    [DLP_SCHEDULE_FIXED] = DLP__SS_FIXED,  [DLP_SCHEDULE_STATIC] = DLP__SS_STATIC,
    [DLP_SCHEDULE_GSS] = DLP__SS_GSS,      [DLP_SCHEDULE_TSS] = DLP__SS_TSS,
    [DLP_SCHEDULE_FAC2] = DLP__SS_FAC2,    [DLP_SCHEDULE_WF] = DLP__SS_WF,
    [DLP_SCHEDULE_AWF] = DLP__SS_AWF,
};
#define SCHEDULES ((int)(sizeof kind_of / sizeof kind_of[0]))

struct dlp__ss_spec dlp__schedule_spec(int schedule, long chunk)
{
    int kind = schedule >= 0 && schedule < SCHEDULES ? kind_of[schedule] : DLP__SS_AUTO;
    struct dlp__ss_spec spec = {.kind = kind, .k = 0};
    if (kind == DLP__SS_FIXED || kind == DLP__SS_GSS)
        spec.k = chunk > 0 ? chunk : 1;
    return spec;
}

int dlp__schedule_of_kind(int kind)
{
    for (int s = DLP_SCHEDULE_AUTO; s < SCHEDULES; s++)
        if (kind_of[s] == kind)
            return s;
    return DLP_SCHEDULE_AUTO;
}

long dlp__schedule_low_water(int node_threads, double rate, int prompt, long left,
                             int total_threads)
{
    if (prompt && left <= DLP__END_ITEMS_PER_THREAD * (total_threads > 0 ? total_threads : 1))
        return -1;
    double w = prompt ? floor(rate * DLP__PREFETCH_TIME) : ceil(rate * DLP__PREFETCH_TIME);
    long nt = prompt ? 0 : node_threads > 0 ? node_threads : 1;
    w = w < 1e15 ? w : 1e15;
    return w > (double)nt ? (long)w : nt;
}
