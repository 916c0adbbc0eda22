/* OpenMP inside an item: how many threads an item's own `#pragma omp
 * parallel` gets. The library's team threads are one level of OpenMP; an
 * item's region is nested in them, and OpenMP gives it threads only when
 * nested levels are active (OMP_MAX_ACTIVE_LEVELS >= 2, or a list in
 * OMP_NUM_THREADS such as 2,4, which libgomp takes as two levels).
 *
 * The rank's cores are what OMP_NUM_THREADS asks for: its first value P
 * (omp_get_max_threads() where the call starts), times its second value I
 * when it is a list. A team of T threads (DLP_THREADS, opts.threads; P by
 * default) gives each item's region min(I, P * I / T) threads with a list,
 * else P / T, at least 1: T times that never exceeds P (or P * I). Without
 * active nested levels the item's region gets 1 thread (OpenMP's rule),
 * also with the default team of P threads. */
#ifndef DLP_LIB_NESTED_H
#define DLP_LIB_NESTED_H

/* What the thread that starts a call's team knows (dlp__nested_plan). */
struct dlp__nested {
    int outer; /* P: omp_get_max_threads() of that thread */
    int list;  /* OMP_NUM_THREADS is a list (a,b...) */
};

/** Record P and the list (omp_num_threads: the value of OMP_NUM_THREADS,
 *  NULL when unset) on the thread that starts the call (main thread). */
void dlp__nested_plan(struct dlp__nested *n, const char *omp_num_threads);

/** In each team thread of a team of `team` threads, before its first
 *  item: set the size of the items' own parallel regions (their
 *  nthreads-var, omp_set_num_threads) as above; nothing when they would
 *  get one thread anyway (no active level left). */
void dlp__nested_enter(const struct dlp__nested *n, int team);

/** 1 when a team of `team` threads may run on the calling thread itself,
 *  without an OpenMP region: a team of one, no list in OMP_NUM_THREADS
 *  (then dlp__nested_enter() would leave the thread's nthreads-var as it
 *  is: P / 1 = P), and the caller is in no parallel region. Its items see
 *  the same thread number (0), team size (1), active level and size of
 *  their own regions as in a region of one thread; only omp_get_level()
 *  is the caller's. It saves the region's start and end, which libgomp
 *  pays in full for a team of one (an allocation and a futex wake). */
int dlp__nested_alone(const struct dlp__nested *n, int team);

#endif
