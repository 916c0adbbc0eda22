# The separate-hosts layout (label hosts): tests/hosts.sh makes two or three
# emulated hosts, each a set of Linux namespaces of its own (network with
# its own address on a private bridge, host name, /etc/hosts, mount with
# private /dev/shm and /tmp, IPC, PID, boot_id), so that MPICH and UCX talk
# TCP between them; hydra starts its proxies there through
# -launcher ssh -launcher-exec tests/hosts_ssh.sh. Test names
# <area>.h<H>x<R>.t<T>: H hosts of R ranks, T threads. Skipped (77) where
# the namespaces cannot be made (not root).
#
# dlp_add_hosts_test(<name> HOSTS <H> RANKS <per host> THREADS <T>
#                    (PROGRAM <area> | COMMAND <cmd>...) [ARGS ...] [TIMEOUT s])
function(dlp_add_hosts_test name)
  cmake_parse_arguments(H "" "HOSTS;RANKS;THREADS;PROGRAM;TIMEOUT" "COMMAND;ARGS" ${ARGN})
  if(NOT H_TIMEOUT)
    set(H_TIMEOUT 120)
  endif()
  set(list)
  foreach(h RANGE 1 ${H_HOSTS})
    list(APPEND list h${h}:${H_RANKS})
  endforeach()
  string(REPLACE ";" "," list "${list}")
  math(EXPR n "${H_HOSTS} * ${H_RANKS}")
  set(launch ${MPIEXEC_EXECUTABLE} {hosts} -hosts ${list} ${MPIEXEC_NUMPROC_FLAG} ${n})
  if(H_PROGRAM)
    set(cmd ${launch} $<TARGET_FILE:test_${H_PROGRAM}> ${H_ARGS})
  else()
    string(REPLACE "@LAUNCH@" "${launch}" cmd "${H_COMMAND}")
  endif()
  math(EXPR ctest_timeout "${H_TIMEOUT} + 30")
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/hosts.sh ${H_HOSTS} -- ${cmd})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "MPIEXEC_TIMEOUT=${H_TIMEOUT};OMP_NUM_THREADS=${H_THREADS};OMP_WAIT_POLICY=passive;DLP_HOSTS_TIMEOUT=${H_TIMEOUT}"
    TIMEOUT ${ctest_timeout} PROCESSORS 2 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE
    LABELS "mpi;hosts")
endfunction()

# The library's areas at two ranks per host (node leaders and agents over
# TCP, the node's other rank through shared memory), one at one rank per
# host with two threads, and three hosts.
dlp_add_hosts_test(split.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 PROGRAM split ARGS --calls=240 --nodes=2)
dlp_add_hosts_test(split.h3x1.t1 HOSTS 3 RANKS 1 THREADS 1 PROGRAM split ARGS --calls=240 --nodes=3)
dlp_add_hosts_test(results.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 PROGRAM results ARGS --cycles=36)
dlp_add_hosts_test(map.h2x1.t2 HOSTS 2 RANKS 1 THREADS 2 PROGRAM map)
dlp_add_hosts_test(collector.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 PROGRAM collector)
dlp_add_hosts_test(failures.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 PROGRAM failures)
dlp_add_hosts_test(journal.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 PROGRAM journal
                   ARGS ${CMAKE_CURRENT_BINARY_DIR}/journal.h2x2.t1)
# kill -9 of a rank on the other host (its pid is one of that host's PID
# namespace: journal_kill.sh signals it there) and SIGTERM to mpiexec.
dlp_add_hosts_test(journal_kill.h2x1.t2 HOSTS 2 RANKS 1 THREADS 2
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/journal_kill.sh $<TARGET_FILE:test_journal>
          ${CMAKE_CURRENT_BINARY_DIR}/journal_kill.h2x1.t2 "kill:managed:1 term:map" @LAUNCH@)
if(TARGET resume AND TARGET split_managed) # the examples are built (DLP examples ON)
  # A resumed managed call runs its undone items on both hosts.
  dlp_add_hosts_test(resume.h2x1.t1 HOSTS 2 RANKS 1 THREADS 1
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/resume.sh ${PROJECT_BINARY_DIR}/examples/resume
            @LAUNCH@)
  # The examples, each once.
  dlp_add_hosts_test(examples.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 TIMEOUT 200
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/run_examples.sh ${PROJECT_BINARY_DIR}/examples
            @LAUNCH@)
  # MPI_Finalize across hosts (lib/base/mpi_end.h): ten jobs in a row must all end
  # (without the remedy, MPICH 4.0.2 + UCX 1.13 hang in about half of them).
  dlp_add_hosts_test(finalize.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 TIMEOUT 100
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/repeat.sh 10 @LAUNCH@
            ${PROJECT_BINARY_DIR}/examples/split_managed)
endif()
# A cut network link (lib/cluster/liveness.h, tests/cutlink.sh): host h2's link cut
# during a call of one-minute items, its interface set down (inside) or its
# veth taken off the bridge (outside: nobody is told); rank 0 names node 1 (host h2) and the job ends with
# DLP_EXIT_NODE_LOST (73) at DLP_LIVENESS_TIMEOUT=3, long before the items
# or the launcher's timeout would end it. With the link intact, items and
# waits longer than the timeout end well (test_liveness --long).
foreach(how down detach)
  dlp_add_hosts_test(cutlink_${how}.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 TIMEOUT 50
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cutlink.sh ${how} h2 $<TARGET_FILE:test_liveness>
            @LAUNCH@)
endforeach()
dlp_add_hosts_test(liveness.h2x2.t1 HOSTS 2 RANKS 2 THREADS 1 PROGRAM liveness ARGS --long=3)
set_property(TEST liveness.h2x2.t1 APPEND PROPERTY ENVIRONMENT DLP_LIVENESS_TIMEOUT=1)
