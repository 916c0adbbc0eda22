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
    # Every UBSan report ends the process with a non-zero status (the test
    # fails), instead of a message the test would pass over.
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  # Runtime options, given to every test (tests/CMakeLists.txt) and by
  # ./dlp.sh check-asan. ASan: leak checking on (LeakSanitizer at exit, with
  # the suppressions of cmake/lsan.supp: MPICH's own init, nothing of ours),
  # use-after-return and init-order checks. LSan: fast_unwind_on_malloc=0 is
  # needed to see the frames of the suppressed stacks (hwloc's dlopen'ed
  # plugins have no frame pointers and are unloaded by exit). UBSan: halt on
  # the first report (with -fno-sanitize-recover the compiled code already
  # does), with a stack trace.
  set(DLP_SANITIZE_ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:halt_on_error=1"
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/cmake/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  message(STATUS "dlp_mpi: sanitizers ${DLP_SANITIZE_FLAGS}")
endif()
