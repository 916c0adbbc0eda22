# Tests of the installed package, included by tests/CMakeLists.txt:
#
#   include(${CMAKE_CURRENT_SOURCE_DIR}/install/install_tests.cmake OPTIONAL)
#
#   install.cmake_package  cmake --install into a temporary prefix; check that
#                          libdlp_mpi.so exports only dlp_* symbols; build
#                          tests/install (find_package(dlp_mpi), shared and
#                          static); run both as 1 rank without a launcher
#                          and with mpiexec -n 2
#   install.pkg_config     the same prefix layout, the consumer compiled with
#                          mpicc $(pkg-config --cflags --libs dlp_mpi); same runs
#
# They need the library built (ctest does not build); label: install.
# Each test has its own prefix under <build>/tests/install/, so they may run
# concurrently.

set(DLP_INSTALL_TEST_TIMEOUT 120 CACHE STRING
    "MPIEXEC_TIMEOUT of each consumer run in the install tests")

if(NOT PKG_CONFIG_EXECUTABLE)
  find_package(PkgConfig QUIET)
endif()

set(_dlp_itest_args
  -DBUILD_DIR=${dlp_mpi_BINARY_DIR}
  -DCONFIG=$<CONFIG>
  -DCONSUMER_DIR=${CMAKE_CURRENT_LIST_DIR}
  -DC_COMPILER=${CMAKE_C_COMPILER}
  -DGENERATOR=${CMAKE_GENERATOR}
  -DLIBDIR=${CMAKE_INSTALL_LIBDIR}
  -DMPI_C_COMPILER=${MPI_C_COMPILER}
  -DMPIEXEC=${MPIEXEC_EXECUTABLE}
  -DMPIEXEC_NUMPROC_FLAG=${MPIEXEC_NUMPROC_FLAG}
  -DNM=${CMAKE_NM}
  -DPKG_CONFIG=${PKG_CONFIG_EXECUTABLE}
  -DSANITIZE_FLAGS=${DLP_SANITIZE_FLAGS}
  -DTIMEOUT=${DLP_INSTALL_TEST_TIMEOUT}
  -DVERSION=${dlp_mpi_VERSION})

foreach(_mode cmake_package pkg_config)
  add_test(NAME install.${_mode}
    COMMAND ${CMAKE_COMMAND} -DMODE=${_mode}
            -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install/${_mode}
            ${_dlp_itest_args}
            -P ${CMAKE_CURRENT_LIST_DIR}/run_install_test.cmake)
  # Four launches of up to TIMEOUT s each, plus configure and build.
  math(EXPR _dlp_itest_ctest_timeout "4 * ${DLP_INSTALL_TEST_TIMEOUT} + 180")
  set_tests_properties(install.${_mode} PROPERTIES
    LABELS install
    PROCESSORS 2
    TIMEOUT ${_dlp_itest_ctest_timeout}
    ENVIRONMENT "OMP_NUM_THREADS=2")
endforeach()

if(NOT PKG_CONFIG_EXECUTABLE)
  set_tests_properties(install.pkg_config PROPERTIES DISABLED TRUE)
  message(STATUS "dlp_mpi: pkg-config not found; test install.pkg_config disabled")
endif()
