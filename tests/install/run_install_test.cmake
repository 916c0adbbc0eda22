# Driver of one install test (cmake -P, called by CTest; see install_tests.cmake).
#
#   -DMODE=cmake_package|pkg_config  -DWORK_DIR=<scratch dir, wiped>
#   -DBUILD_DIR -DCONFIG -DCONSUMER_DIR -DC_COMPILER -DGENERATOR -DLIBDIR
#   -DMPI_C_COMPILER -DMPIEXEC -DMPIEXEC_NUMPROC_FLAG -DPKG_CONFIG
#   -DNM -DSANITIZE_FLAGS -DTIMEOUT -DVERSION
#
# Each step is printed; the first failure ends the test with its output.

cmake_minimum_required(VERSION 3.16)

function(step what)
  message(STATUS "install test ${MODE}: ${what}")
endfunction()

# run(<description> COMMAND <cmd>... [EXPECT <regex>]): run, fail on a
# non-zero status, optionally require EXPECT in stdout.
function(run what)
  cmake_parse_arguments(R "" "EXPECT" "COMMAND" ${ARGN})
  step("${what}")
  string(REPLACE ";" " " _shown "${R_COMMAND}")
  message(STATUS "  $ ${_shown}")
  math(EXPR _limit "${TIMEOUT} + 60")
  execute_process(COMMAND ${R_COMMAND}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
    TIMEOUT ${_limit})
  if(_out)
    message(STATUS "  stdout: ${_out}")
  endif()
  if(_err)
    message(STATUS "  stderr: ${_err}")
  endif()
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "install test ${MODE}: ${what} failed (status ${_rc})")
  endif()
  if(R_EXPECT AND NOT _out MATCHES "${R_EXPECT}")
    message(FATAL_ERROR "install test ${MODE}: ${what}: output does not match '${R_EXPECT}'")
  endif()
endfunction()

foreach(v MODE WORK_DIR BUILD_DIR CONSUMER_DIR LIBDIR MPIEXEC TIMEOUT VERSION)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT MPIEXEC_NUMPROC_FLAG)
  set(MPIEXEC_NUMPROC_FLAG -n)
endif()

set(ENV{MPIEXEC_TIMEOUT} ${TIMEOUT})   # hydra kills a hung consumer
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# 1. Install the current build.
set(_config_args)
if(CONFIG)
  set(_config_args --config ${CONFIG})
endif()
run("install ${BUILD_DIR} into ${prefix}"
    COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${_config_args})

# The prefix holds the public headers and nothing private.
file(GLOB _headers RELATIVE "${prefix}/include" "${prefix}/include/*")
list(SORT _headers)
if(NOT _headers STREQUAL "dlp_mpi.h;dlp_mpi_version.h")
  message(FATAL_ERROR "install test: ${prefix}/include holds '${_headers}', "
                      "expected exactly dlp_mpi.h;dlp_mpi_version.h")
endif()
foreach(f "${LIBDIR}/libdlp_mpi.a" "${LIBDIR}/libdlp_mpi.so"
          "${LIBDIR}/cmake/dlp_mpi/dlp_mpiConfig.cmake"
          "${LIBDIR}/cmake/dlp_mpi/dlp_mpiConfigVersion.cmake"
          "${LIBDIR}/pkgconfig/dlp_mpi.pc")
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install test: ${prefix}/${f} was not installed")
  endif()
endforeach()

# The shared library exports the public API and nothing else (hidden
# visibility; DLP_EXPORT in dlp_mpi.h): every defined dynamic symbol is dlp_*,
# none is an internal dlp__*.
if(MODE STREQUAL "cmake_package" AND NM)
  step("exported symbols of libdlp_mpi.so")
  execute_process(COMMAND ${NM} -D --defined-only "${prefix}/${LIBDIR}/libdlp_mpi.so"
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _syms ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "install test: nm failed: ${_err}")
  endif()
  string(REGEX MATCHALL "[^\n]+" _lines "${_syms}")
  set(_public)
  set(_bad)
  foreach(_l IN LISTS _lines)
    if(_l MATCHES "^[0-9a-fA-F]* *([A-Za-z]) (.+)$")
      set(_type "${CMAKE_MATCH_1}")
      set(_name "${CMAKE_MATCH_2}")
      if(_type STREQUAL "A")          # version nodes, not symbols
        continue()
      endif()
      if(_name MATCHES "^dlp_" AND NOT _name MATCHES "^dlp__")
        list(APPEND _public ${_name})
      elseif(NOT _name MATCHES "^(_init|_fini|_edata|_end|__bss_start)$")
        list(APPEND _bad ${_name})
      endif()
    endif()
  endforeach()
  list(LENGTH _public _n)
  message(STATUS "  ${_n} public symbols")
  if(_bad)
    message(FATAL_ERROR "install test: libdlp_mpi.so exports non-API symbols: ${_bad}")
  endif()
  if(NOT "dlp_init" IN_LIST _public OR NOT "dlp_version" IN_LIST _public)
    message(FATAL_ERROR "install test: libdlp_mpi.so does not export dlp_init/dlp_version")
  endif()
endif()

# 2. Build the consumer.
set(_programs)
if(MODE STREQUAL "cmake_package")
  set(_cflags)
  if(SANITIZE_FLAGS)
    set(_cflags "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
  endif()
  # No MPI hint here: the package itself must bring the MPI it was built with.
  run("configure the consumer with find_package(dlp_mpi)"
      COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build
              -G ${GENERATOR} -DCMAKE_C_COMPILER=${C_COMPILER}
              -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} ${_cflags}
      EXPECT "consumer: dlp_mpi ${VERSION} from ${prefix}")
  run("build the consumer"
      COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build --config Release)
  foreach(p consumer consumer_static)
    file(GLOB_RECURSE _exe "${WORK_DIR}/build/${p}" "${WORK_DIR}/build/*/${p}")
    if(NOT _exe)
      message(FATAL_ERROR "install test: ${p} not found under ${WORK_DIR}/build")
    endif()
    list(GET _exe 0 _exe)
    list(APPEND _programs "${_exe}")
  endforeach()
elseif(MODE STREQUAL "pkg_config")
  if(NOT PKG_CONFIG OR NOT MPI_C_COMPILER)
    message(FATAL_ERROR "install test: pkg-config and the MPI compiler wrapper are needed")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
  run("pkg-config --modversion dlp_mpi"
      COMMAND ${PKG_CONFIG} --modversion dlp_mpi EXPECT "^${VERSION}")
  step("pkg-config --cflags --libs dlp_mpi")
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs dlp_mpi
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _flags ERROR_VARIABLE _err
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "install test: pkg-config --cflags --libs dlp_mpi: ${_err}")
  endif()
  message(STATUS "  ${_flags}")
  separate_arguments(_flags UNIX_COMMAND "${_flags}")
  separate_arguments(_san UNIX_COMMAND "${SANITIZE_FLAGS}")
  set(_exe "${WORK_DIR}/consumer_pc")
  run("compile the consumer with ${MPI_C_COMPILER} and pkg-config"
      COMMAND ${MPI_C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror ${_san}
              ${CONSUMER_DIR}/consumer.c ${_flags} -o ${_exe})
  list(APPEND _programs "${_exe}")
else()
  message(FATAL_ERROR "run_install_test.cmake: unknown MODE '${MODE}'")
endif()

# 3. Run each program as 1 rank without a launcher, then on 2 ranks.
foreach(_exe IN LISTS _programs)
  get_filename_component(_name "${_exe}" NAME)
  run("${_name}: 1 rank, no launcher"
      COMMAND ${_exe} 200 EXPECT "consumer: OK dlp_mpi ${VERSION}, 200 items on 1 ranks")
  run("${_name}: ${MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 2"
      COMMAND ${MPIEXEC} ${MPIEXEC_NUMPROC_FLAG} 2 ${_exe} 1000
      EXPECT "consumer: OK dlp_mpi ${VERSION}, 1000 items on 2 ranks")
endforeach()
message(STATUS "install test ${MODE}: passed")
