/* Options of a parallel call: dlp_opts fields, else DLP_* environment, else
 * defaults. */
#ifndef DLP_LIB_OPTIONS_H
#define DLP_LIB_OPTIONS_H

#include "dlp_mpi.h"

#define DLP__CHUNK_TIME_DEFAULT 0.010 /* s of work per chunk (auto schedule) */
#define DLP__HELPER_SLICE_DEFAULT 100 /* us: the helpers' time slice (slice.c) */
#define DLP__JOURNAL_SYNC_DEFAULT 1.0 /* s between fsyncs of the journal */
#define DLP__GRACE_DEFAULT 20.0 /* s running items get after SIGTERM/SIGINT */
#define DLP__RETRIES_MAX 100
#define DLP__TRACE_MAX_SPANS_DEFAULT 1000000L /* DLP_TRACE_MAX_SPANS */
#define DLP__INFLIGHT_DEFAULT ((size_t)8 << 20) /* map: result bytes in flight per rank */

struct dlp__options {
    int split;         /* enum dlp_split */
    int schedule;      /* enum dlp_schedule, resolved (not DEFAULT) */
    long chunk;        /* FIXED: the chunk size; GSS: the smallest chunk (>= 1) */
    int thread_schedule; /* enum dlp_schedule at the thread level, resolved (AUTO:
                            batched claims, lib/call/take.c) */
    long thread_chunk; /* thread level: FIXED's chunk, GSS's smallest (>= 1) */
    int threads;       /* team size of the callback forms */
    double chunk_time; /* AUTO: target seconds of work per chunk */
    int chunk_time_set; /* DLP_CHUNK_TIME given: the load does not grow it */
    unsigned helper_slice; /* DLP_HELPER_SLICE: us the helper threads ask for, 0 = none */
    dlp_results *results;
    dlp_collector *collector;
    dlp_reduce *reduce;
    int on_all_ranks;   /* 0 or 1 */
    int progress;       /* DLP_PROGRESS_AUTO, _ON or _OFF */
    const char *label;  /* progress label, may be NULL */
    double progress_interval; /* s between progress lines, 0 = the mode's default */
    size_t inflight;    /* map: result bytes a rank may have in flight */
    int on_error;       /* DLP_ON_ERROR_ABORT or _SKIP */
    double time_limit;  /* seconds per item before it is reported, 0 = none */
    int retries;        /* RETRY: runs after the first */
    const char *journal; /* journal path, NULL = none */
    double journal_sync; /* seconds between fsyncs of the journal */
    double grace;       /* seconds running items get after SIGTERM/SIGINT */
    int signals;        /* catch SIGTERM/SIGINT during calls */
    const char *trace;  /* DLP_TRACE's path, NULL when unset or empty */
    int trace_items;    /* DLP_TRACE_ITEMS */
    long trace_max_spans; /* DLP_TRACE_MAX_SPANS: spans per call in the trace */
    int stats;          /* DLP_STATS */
};

/** Fill out from opts (may be NULL) and the environment; DLP_ERR_OPTION with
 *  a message naming the field or variable on bad values. Not collective. */
int dlp__options_resolve(const dlp_opts *opts, struct dlp__options *out, const char *func);

/** DLP_COLLECTIVE_TIMEOUT in seconds (0 = unset). DLP_ERR_OPTION for a
 *  value that is not a number of seconds > 0 (message for func). */
int dlp__collective_timeout(double *seconds, const char *func);

/** dlp__collective_timeout() of this value of it (NULL: unset). */
int dlp__collective_timeout_of(const char *value, double *seconds, const char *func);

/** The value of the environment variable var (a DLP_ knob, OMP_NUM_THREADS
 *  or SLURM_CPUS_PER_TASK) as the last dlp__options_resolve() read it in
 *  its one pass, NULL when unset: the call's view, without a getenv().
 *  Main thread, after dlp__options_resolve(). */
const char *dlp__knob(const char *var);

/** DLP_LIVENESS_TIMEOUT: default, and the range of a value other than 0
 *  (seconds). */
#define DLP__LIVENESS_DEFAULT 60.0
#define DLP__LIVENESS_MIN 0.1
#define DLP__LIVENESS_MAX 1e6

/** DLP_LIVENESS_TIMEOUT into *seconds: 0 (off) or a number of seconds in
 *  DLP__LIVENESS_MIN..DLP__LIVENESS_MAX; unset or empty
 *  leaves *seconds as is. 0, or -1 for a bad value (*seconds untouched). */
int dlp__liveness_timeout(double *seconds);

/** Whether the on/off knob var (DLP_STATS, DLP_TRACE_ITEMS ...) is on: 1,
 *  on, yes or true; anything else is off (dlp__options_resolve() refuses
 *  values that are neither on nor off at the start of every call). */
int dlp__env_flag(const char *var);

/** Team size of the callback forms: DLP_THREADS if set and valid, else
 *  omp_get_max_threads(). */
int dlp__default_threads(void);

#endif
