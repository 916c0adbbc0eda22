# Dependencies of dlp_mpi: MPI (C, pinned to MPICH where installed), OpenMP (C),
# Threads, and the system libraries rt (shm_open on old glibc) and m.
#
# Sets, for the rest of the build:
#   MPI::MPI_C, OpenMP::OpenMP_C, Threads::Threads   imported targets
#   MPIEXEC_EXECUTABLE, MPIEXEC_NUMPROC_FLAG, MPIEXEC_PREFLAGS, MPIEXEC_POSTFLAGS
#                                   (from FindMPI; mpiexec.mpich when pinned)
#   DLP_MPI_VENDOR                  MPICH, OpenMPI or unknown
#   DLP_MPI_PKGCONFIG               pkg-config module of that MPI ("mpich") or ""
#   DLP_SYSTEM_LIBS                 extra libraries the static library needs (rt, m)

# Pin MPICH: Debian/Ubuntu may have Open MPI as the default mpicc/mpiexec. The
# user's own -DMPI_C_COMPILER / -DMPIEXEC_EXECUTABLE, or an MPI already found by
# a parent project, win.
if(DLP_PIN_MPICH AND NOT TARGET MPI::MPI_C)
  if(NOT MPI_C_COMPILER AND EXISTS /usr/bin/mpicc.mpich)
    set(MPI_C_COMPILER /usr/bin/mpicc.mpich CACHE FILEPATH "MPI C compiler wrapper (pinned to MPICH)")
  endif()
  if(NOT MPIEXEC_EXECUTABLE AND EXISTS /usr/bin/mpiexec.mpich)
    set(MPIEXEC_EXECUTABLE /usr/bin/mpiexec.mpich CACHE FILEPATH "MPI launcher (pinned to MPICH)")
  endif()
endif()

set(MPI_DETERMINE_LIBRARY_VERSION TRUE)   # fills MPI_C_LIBRARY_VERSION_STRING
find_package(MPI REQUIRED COMPONENTS C)
find_package(OpenMP REQUIRED COMPONENTS C)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

# Which MPI is it? The library version string says it best.
set(_dlp_mpi_desc "${MPI_C_LIBRARY_VERSION_STRING}")
string(REGEX REPLACE "[\r\n].*" "" _dlp_mpi_desc "${_dlp_mpi_desc}")
if(_dlp_mpi_desc MATCHES "MPICH")
  set(DLP_MPI_VENDOR MPICH)
elseif(_dlp_mpi_desc MATCHES "Open MPI")
  set(DLP_MPI_VENDOR OpenMPI)
else()
  # FindMPI learns the string by running a program (singleton MPI_Init),
  # which can fail on a busy machine: then ask mpi.h (compiled, not run).
  include(CheckSymbolExists)
  set(CMAKE_REQUIRED_INCLUDES ${MPI_C_INCLUDE_DIRS})
  set(CMAKE_REQUIRED_QUIET ON)
  check_symbol_exists(MPICH_VERSION mpi.h DLP_MPI_H_IS_MPICH)
  check_symbol_exists(OMPI_MAJOR_VERSION mpi.h DLP_MPI_H_IS_OPENMPI)
  unset(CMAKE_REQUIRED_INCLUDES)
  unset(CMAKE_REQUIRED_QUIET)
  if(DLP_MPI_H_IS_MPICH)
    set(DLP_MPI_VENDOR MPICH)
  elseif(DLP_MPI_H_IS_OPENMPI)
    set(DLP_MPI_VENDOR OpenMPI)
  else()
    set(DLP_MPI_VENDOR unknown)
  endif()
  set(_dlp_mpi_desc "${_dlp_mpi_desc} (vendor from mpi.h: the library version could not be run)")
endif()
message(STATUS "dlp_mpi: MPI ${MPI_C_VERSION} (${DLP_MPI_VENDOR}): ${_dlp_mpi_desc}")
message(STATUS "dlp_mpi: MPI compiler ${MPI_C_COMPILER}, launcher ${MPIEXEC_EXECUTABLE}")
if(DLP_PIN_MPICH AND EXISTS /usr/bin/mpicc.mpich AND NOT DLP_MPI_VENDOR STREQUAL "MPICH")
  message(WARNING "dlp_mpi: MPICH is installed but the MPI found is ${DLP_MPI_VENDOR} "
                  "(${MPI_C_COMPILER}); delete CMakeCache.txt or pass -DMPI_C_COMPILER=/usr/bin/mpicc.mpich")
endif()
if(MPI_C_VERSION VERSION_LESS 3.0)
  message(FATAL_ERROR "dlp_mpi needs MPI-3 or newer (found MPI ${MPI_C_VERSION})")
endif()
message(STATUS "dlp_mpi: OpenMP ${OpenMP_C_VERSION} (${OpenMP_C_FLAGS})")

# The pkg-config module that dlp_mpi.pc requires: the MPI we build against.
set(DLP_MPI_PKGCONFIG "")
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  if(DLP_MPI_VENDOR STREQUAL "MPICH")
    set(_dlp_pc_candidates mpich)
  elseif(DLP_MPI_VENDOR STREQUAL "OpenMPI")
    set(_dlp_pc_candidates ompi-c ompi)
  else()
    set(_dlp_pc_candidates)
  endif()
  foreach(_pc IN LISTS _dlp_pc_candidates)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --exists ${_pc} RESULT_VARIABLE _rc)
    if(_rc EQUAL 0)
      set(DLP_MPI_PKGCONFIG ${_pc})
      break()
    endif()
  endforeach()
endif()
if(NOT DLP_MPI_PKGCONFIG)
  message(STATUS "dlp_mpi: no pkg-config module for ${DLP_MPI_VENDOR}; dlp_mpi.pc will "
                 "not require one (compile with the MPI wrapper, mpicc)")
endif()

# rt: shm_open is in libc since glibc 2.34, in librt before.
include(CheckSymbolExists)
include(CheckLibraryExists)
set(DLP_SYSTEM_LIBS "")
set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
check_symbol_exists(shm_open "sys/mman.h" DLP_HAVE_SHM_OPEN_IN_LIBC)
unset(CMAKE_REQUIRED_DEFINITIONS)
if(NOT DLP_HAVE_SHM_OPEN_IN_LIBC)
  check_library_exists(rt shm_open "" DLP_HAVE_LIBRT)
  if(DLP_HAVE_LIBRT)
    list(APPEND DLP_SYSTEM_LIBS rt)
  endif()
endif()
# m: ceil/floor. Checked with a real call through <math.h>, not with
# check_library_exists, whose probe declares `char sqrt()`: under -Werror in
# CMAKE_C_FLAGS that conflicts with the builtin, the probe fails and -lm was
# silently dropped (the shared library then failed to link).
include(CheckCSourceCompiles)
set(_dlp_math_probe "#include <math.h>
int main(int argc, char **argv) { (void)argv; return (int)ceil((double)argc / 3.0) + (int)floor((double)argc / 5.0); }")
check_c_source_compiles("${_dlp_math_probe}" DLP_MATH_IN_LIBC)
if(NOT DLP_MATH_IN_LIBC)
  set(CMAKE_REQUIRED_LIBRARIES m)
  check_c_source_compiles("${_dlp_math_probe}" DLP_MATH_IN_LIBM)
  unset(CMAKE_REQUIRED_LIBRARIES)
  if(NOT DLP_MATH_IN_LIBM)
    message(FATAL_ERROR "dlp_mpi: cannot link ceil()/floor() from <math.h>, with or without -lm")
  endif()
  list(APPEND DLP_SYSTEM_LIBS m)
endif()
