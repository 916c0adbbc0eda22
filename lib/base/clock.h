/* Clocks and sleeping. */
#ifndef DLP_LIB_CLOCK_H
#define DLP_LIB_CLOCK_H

/** Monotonic wall clock in seconds. */
double dlp__now(void);
/** Monotonic seconds of the timer tick (a few ms resolution, a fraction of
 *  dlp__now()'s cost): for decisions taken per item, like progress. */
double dlp__now_coarse(void);

/** Sleep for the given microseconds (no-op for 0). */
void dlp__sleep_us(unsigned us);

#endif
