/* Moving bytes between ranks in messages of bounded size (so totals above
 * 2 GiB need no large counts): item ranges between two ranks' equally
 * laid-out buffers (dense results), contiguous buffers (gathers, the
 * collector's headers), messages made of pieces (the collector's results)
 * and relays through a node leader. The callers plan what goes where;
 * this module moves it. */
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

/** Complete a request of a bulk transfer: test it without pause, yielding
 *  the core between tests. MPI moves a large message only while it is
 *  called, so the polite waiting of dlp__wait() (sleeps of up to
 *  DLP__WAIT_MAX_US) would cap it at a chunk per sleep. Returns the MPI
 *  status code. Any thread. */
int dlp__transfer_wait(MPI_Request *req);

/** Send (send = 1) or receive len contiguous bytes at buf to/from peer
 *  with tag, in messages of at most DLP__MESSAGE_BYTES, none when len is 0
 *  (the peer passes the same len). Each message waits as
 *  dlp__transfer_wait(). Errors: DLP_ERR_MPI, recorded for func as
 *  "<what> (MPI_Isend to rank <peer>) failed: <MPI's text>". */
int dlp__move_bytes(int send, void *buf, size_t len, int peer, int tag, MPI_Comm comm,
                    const char *what, const char *func);

/** Send len contiguous bytes: dlp__move_bytes(), but at least one message
 *  (of 0 bytes when len is 0); the peer receives them with
 *  dlp__recv_bytes and the same len. */
int dlp__send_bytes(const void *buf, size_t len, int peer, int tag, MPI_Comm comm,
                    const char *func);

/** Receive len contiguous bytes sent with dlp__send_bytes. */
int dlp__recv_bytes(void *buf, size_t len, int peer, int tag, MPI_Comm comm, const char *func);

/** Send or receive one message of k >= 1 pieces: lens[j] bytes at the
 *  address disp[j] (from MPI_Get_address); first is the address of the
 *  first piece (one piece travels without a datatype). The two sides may
 *  cut their memory differently, as long as the total bytes agree (at
 *  most INT_MAX). Waits as dlp__transfer_wait(). Errors: as
 *  dlp__move_bytes(). */
int dlp__move_pieces(int send, int k, const int *lens, const MPI_Aint *disp, void *first,
                     int peer, int tag, MPI_Comm comm, const char *what, const char *func);

/** Forward the total bytes that rank from sends with tag to rank to, message
 *  by message as they come (the same messages, each at most cap bytes),
 *  through stage (2 x cap bytes): the next message arrives while the last
 *  one leaves. Errors: as dlp__move_bytes() ("<what> (relay from rank F to
 *  rank T)"; a message above cap: MPI_ERR_TRUNCATE's text). */
int dlp__relay_bytes(int from, int to, size_t total, unsigned char *stage, size_t cap, int tag,
                     MPI_Comm comm, const char *what, const char *func);

#endif
