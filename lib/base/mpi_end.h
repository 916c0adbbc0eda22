/* How dlp_finalize ends MPI (the counterpart of mpi_start.h). */
#ifndef DLP_LIB_MPI_END_H
#define DLP_LIB_MPI_END_H

/** Remember which sockets the process has before MPI_Init (the launcher's
 *  PMI connection, the program's own): dlp__mpi_finalize never touches
 *  them. Main thread, just before MPI_Init_thread. */
void dlp__mpi_note_sockets(void);

/** MPI_Finalize for a library that started MPI, with a remedy for a hang.
 *
 *  MPICH before 4.2 with UCX (Debian 12: MPICH 4.0.2, UCX 1.13) over TCP:
 *  MPI_Finalize closes every UCX endpoint and drives UCX until each close
 *  is done, then blocks in a PMI barrier without driving UCX any more
 *  (pmodels/mpich#6596, fixed in 4.2 by dropping that barrier). A close
 *  whose connection to a rank of another host is not fully set up yet waits
 *  for that peer's side of the connection to go; a peer already in the
 *  barrier keeps it open, and the job hangs after all its output.
 *
 *  When the ranks are on several nodes, a watchdog thread waits for
 *  MPI_Finalize. If it has not returned after DLP_FINALIZE_TIMEOUT seconds
 *  (default 2; 0: no watchdog), every connected TCP socket that MPI opened (one not there
 *  before MPI_Init, see dlp__mpi_note_sockets) is shut down, once, with a
 *  line on stderr: a peer waiting for this rank's side then finishes its
 *  close and joins the barrier, which lets every rank return. By then
 *  every rank has left its last call (dlp_finalize's entry), so no message
 *  of the program is in flight. Returns MPI_Finalize's code. */
int dlp__mpi_finalize(void);

#endif
