# Install-time script (install(SCRIPT), run by `cmake --install`): writes
# dlp_mpi.pc for the prefix being installed to. The DLP_PC_* variables are set
# by the install(CODE) block in DlpInstall.cmake just before this runs.
#
# The library directory gets an rpath in Libs unless it is one the compiler
# searches anyway, so `mpicc app.c $(pkg-config --cflags --libs dlp_mpi)`
# produces a program that runs without LD_LIBRARY_PATH.

set(prefix "${CMAKE_INSTALL_PREFIX}")
set(_dlp_full_libdir "${prefix}/${DLP_PC_LIBDIR}")
set(DLP_PC_RPATH "")
get_filename_component(_dlp_real_libdir "${_dlp_full_libdir}" REALPATH)
set(_dlp_system 0)
foreach(_d IN LISTS DLP_PC_SYSTEM_LIBDIRS)
  get_filename_component(_d "${_d}" REALPATH)
  if(_d STREQUAL _dlp_real_libdir)
    set(_dlp_system 1)
  endif()
endforeach()
if(NOT _dlp_system)
  set(DLP_PC_RPATH " -Wl,-rpath,\${libdir}")
endif()

set(DLP_PC_PREFIX "${prefix}")
# One staging file per prefix: installs to two prefixes may run at once.
string(MD5 _dlp_prefix_hash "${prefix}")
set(_dlp_pc_file "${DLP_PC_BUILD_DIR}/${_dlp_prefix_hash}/dlp_mpi.pc")
configure_file("${DLP_PC_TEMPLATE}" "${_dlp_pc_file}" @ONLY)
file(INSTALL DESTINATION "${prefix}/${DLP_PC_LIBDIR}/pkgconfig"
     TYPE FILE FILES "${_dlp_pc_file}")
