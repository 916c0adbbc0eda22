/* The open-file limit (RLIMIT_NOFILE) against what grows with the number
 * of nodes: rank 0 holds one doorbell socket per remote node (netbell.c).
 * Many systems start a job with a soft limit of 1024 and a hard limit far
 * above; a 2000-node job needs more. dlp__fdlimit_room raises the soft
 * limit, only as far as needed and never above the hard one, and says how
 * many descriptors the caller may take; dlp__fdlimit_restore puts the soft
 * limit back (dlp_finalize). */
#ifndef DLP_LIB_FDLIMIT_H
#define DLP_LIB_FDLIMIT_H

/** Descriptors always left to the rest of the process (MPI's own
 *  connections, the user's files, the journal, the trace). */
#define DLP__FDLIMIT_RESERVE 64

struct dlp__fdlimit {
    long open;    /* descriptors open when asked */
    long soft;    /* the soft limit before (as found) */
    long now;     /* the soft limit after (raised or not) */
    long hard;    /* the hard limit (-1: unlimited) */
    int raised;   /* 1 if the soft limit was raised */
    int err;      /* errno of a failed raise, 0 */
};

/** Make room for `want` more descriptors, beyond DLP__FDLIMIT_RESERVE for
 *  the rest of the process: raise the soft limit toward the hard one when
 *  the open ones plus want plus the reserve exceed it. Returns how many of
 *  the `want` fit (0 .. want); *out says what was found and done. Not
 *  thread-safe (dlp_init's main thread). */
long dlp__fdlimit_room(long want, struct dlp__fdlimit *out);

/** Put back the soft limit a dlp__fdlimit_room raised (no-op otherwise);
 *  descriptors already open stay valid. */
void dlp__fdlimit_restore(const struct dlp__fdlimit *lim);

#endif
