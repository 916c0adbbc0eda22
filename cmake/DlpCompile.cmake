# Compile settings for every target of this project (lib, tests, examples,
# bench). Directory-scoped: a parent project that add_subdirectory()s dlp_mpi
# keeps its own flags.
#
#   C11 (strict, no GNU extensions), -Wall -Wextra -Wpedantic,
#   -Werror with DLP_WERROR, -fsanitize=... with DLP_SANITIZE.
#
# Sets DLP_SANITIZE_FLAGS (the -fsanitize flags, "" without sanitizers) for the
# consumer-project tests, which must build with the same runtime, and
# DLP_SANITIZE_ENVIRONMENT (a list of VAR=value for a test's ENVIRONMENT:
# leak suppressions for the MPI stack, UBSan stack traces).

set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)

if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options(-Wall -Wextra -Wpedantic)
  if(DLP_WERROR)
    add_compile_options(-Werror)
  endif()
elseif(DLP_WERROR)
  message(WARNING "dlp_mpi: DLP_WERROR is only implemented for GCC and Clang")
endif()

set(DLP_SANITIZE_FLAGS "")
set(DLP_SANITIZE_ENVIRONMENT "")
if(DLP_SANITIZE)
  list(JOIN DLP_SANITIZE "," _dlp_san)
  set(DLP_SANITIZE_FLAGS "-fsanitize=${_dlp_san}")
  add_compile_options(${DLP_SANITIZE_FLAGS} -fno-omit-frame-pointer)
  add_link_options(${DLP_SANITIZE_FLAGS})
  if(_dlp_san MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  set(DLP_SANITIZE_ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/cmake/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0"
    "UBSAN_OPTIONS=print_stacktrace=1")
  message(STATUS "dlp_mpi: sanitizers ${DLP_SANITIZE_FLAGS}")
endif()
