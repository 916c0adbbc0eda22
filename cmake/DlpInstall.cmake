# Installation: the public headers, libdlp_mpi.so + libdlp_mpi.a, a CMake
# package (find_package(dlp_mpi) -> dlp_mpi::dlp_mpi, dlp_mpi::dlp_mpi_static)
# and a pkg-config file (dlp_mpi.pc). lib/*.h are never installed.

include(CMakePackageConfigHelpers)

set(DLP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/dlp_mpi" CACHE STRING
    "Where the CMake package files are installed (relative to the prefix)")

install(FILES
  "${PROJECT_SOURCE_DIR}/include/dlp_mpi.h"
  "${PROJECT_SOURCE_DIR}/include/dlp_mpi_version.h"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  COMPONENT dlp_mpi_development)

install(TARGETS dlp_mpi dlp_mpi_static
  EXPORT dlp_mpiTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dlp_mpi_runtime
          NAMELINK_COMPONENT dlp_mpi_development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dlp_mpi_development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT dlp_mpi_runtime)

install(EXPORT dlp_mpiTargets
  NAMESPACE dlp_mpi::
  FILE dlp_mpiTargets.cmake
  DESTINATION "${DLP_INSTALL_CMAKEDIR}"
  COMPONENT dlp_mpi_development)

# While the major version is 0 every minor release may change the API.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_dlp_compat SameMinorVersion)
else()
  set(_dlp_compat SameMajorVersion)
endif()
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/dlp_mpiConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/dlp_mpiConfig.cmake"
  INSTALL_DESTINATION "${DLP_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/dlp_mpiConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY ${_dlp_compat})
install(FILES
  "${PROJECT_BINARY_DIR}/dlp_mpiConfig.cmake"
  "${PROJECT_BINARY_DIR}/dlp_mpiConfigVersion.cmake"
  DESTINATION "${DLP_INSTALL_CMAKEDIR}"
  COMPONENT dlp_mpi_development)

# pkg-config. Written at install time, so that `cmake --install --prefix P`
# gets P (not the configure-time prefix) in the file; see cmake/DlpPkgConfig.cmake.
set(_dlp_pc_libs_private "")
foreach(_lib IN LISTS DLP_SYSTEM_LIBS)
  string(APPEND _dlp_pc_libs_private "-l${_lib} ")
endforeach()
string(APPEND _dlp_pc_libs_private "-pthread")
install(CODE "
  set(DLP_PC_TEMPLATE [[${PROJECT_SOURCE_DIR}/cmake/dlp_mpi.pc.in]])
  set(DLP_PC_BUILD_DIR [[${PROJECT_BINARY_DIR}/pkgconfig]])
  set(DLP_PC_LIBDIR [[${CMAKE_INSTALL_LIBDIR}]])
  set(DLP_PC_INCLUDEDIR [[${CMAKE_INSTALL_INCLUDEDIR}]])
  set(DLP_PC_DESCRIPTION [[${PROJECT_DESCRIPTION}]])
  set(DLP_PC_VERSION [[${PROJECT_VERSION}]])
  set(DLP_PC_REQUIRES [[${DLP_MPI_PKGCONFIG}]])
  set(DLP_PC_OPENMP_FLAGS [[${OpenMP_C_FLAGS}]])
  set(DLP_PC_LIBS_PRIVATE [[${_dlp_pc_libs_private}]])
  set(DLP_PC_SYSTEM_LIBDIRS [[${CMAKE_C_IMPLICIT_LINK_DIRECTORIES}]])
" COMPONENT dlp_mpi_development)
install(SCRIPT "${PROJECT_SOURCE_DIR}/cmake/DlpPkgConfig.cmake"
        COMPONENT dlp_mpi_development)
