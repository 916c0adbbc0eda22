/* Short time slices for the library's helper threads (slice.c). */
#ifndef DLP_SLICE_H
#define DLP_SLICE_H

/** Ask the kernel to give the calling thread time slices of `us`
 *  microseconds (DLP_HELPER_SLICE, resolved by options.c; 0 = do not ask),
 *  so that its wakeups preempt a computing thread at once (see slice.c).
 *  Returns the slice the kernel took, 0 when it did not (an old kernel, a
 *  seccomp filter, us = 0). Never fails the caller. */
unsigned dlp__short_slice(unsigned us);

#endif
