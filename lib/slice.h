/* Short time slices for the library's helper threads (slice.c). */
#ifndef DLP_SLICE_H
#define DLP_SLICE_H

/** Ask the kernel to give the calling thread short time slices, so that its
 *  wakeups preempt a computing thread at once (see slice.c). Returns the
 *  slice in microseconds the kernel took, 0 when it did not (an old kernel,
 *  a seccomp filter, DLP_HELPER_SLICE=0). Never fails the caller. */
unsigned dlp__short_slice(void);

#endif
