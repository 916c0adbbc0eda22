/* dlp_mpi version: compile-time macros; dlp_version() gives the run-time one. */
#ifndef DLP_MPI_VERSION_H
#define DLP_MPI_VERSION_H

#define DLP_VERSION_MAJOR 0
#define DLP_VERSION_MINOR 1
#define DLP_VERSION_PATCH 0
/** Single number for comparisons: 0xMMmmpp. */
#define DLP_VERSION ((DLP_VERSION_MAJOR << 16) | (DLP_VERSION_MINOR << 8) | DLP_VERSION_PATCH)
#define DLP_VERSION_STRING "0.1.0"

#endif
