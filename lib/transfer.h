/* Moving item ranges between two ranks' equally laid-out buffers, in
 * messages of bounded size (so totals above 2 GiB need no large counts). */
#ifndef DLP_LIB_TRANSFER_H
#define DLP_LIB_TRANSFER_H

#include <mpi.h>
#include <stddef.h>

/** Items first, first+stride, ... (count of them). */
struct dlp__segment {
    long first, count, stride;
};

/** Bytes per message at most. */
#define DLP__MESSAGE_BYTES (256L << 20)

/** Bytes of staging memory that dlp__transfer_segments needs for these
 *  segments (0: none); the same on both sides. */
size_t dlp__transfer_stage_bytes(size_t elem, const struct dlp__segment *segs, long nsegs);

/** Send (send = 1) or receive the items of segs, each elem bytes at
 *  base + item * elem, to/from peer with tag. Both sides pass the same
 *  segments in the same order, and stage: dlp__transfer_stage_bytes() of
 *  them (allocated by the caller before the two sides agree to go on, so
 *  that nothing can fail here but MPI).
 *
 *  Contiguous runs of at least 64 KiB travel as messages of their own,
 *  straight from and into place (no copy but MPI's); everything else
 *  (strided items, short segments) is packed into messages of 256 KiB to
 *  4 MiB, several in flight, so that the sender packs the next while the
 *  receiver unpacks the last. */
int dlp__transfer_segments(int send, char *base, size_t elem, const struct dlp__segment *segs,
                           long nsegs, char *stage, int peer, int tag, MPI_Comm comm,
                           const char *func);

/** Send len contiguous bytes in messages of bounded size (at least one
 *  message, of 0 bytes when len is 0); the peer receives them with
 *  dlp__recv_bytes and the same len. */
int dlp__send_bytes(const void *buf, size_t len, int peer, int tag, MPI_Comm comm,
                    const char *func);

/** Receive len contiguous bytes sent with dlp__send_bytes. */
int dlp__recv_bytes(void *buf, size_t len, int peer, int tag, MPI_Comm comm, const char *func);

#endif
