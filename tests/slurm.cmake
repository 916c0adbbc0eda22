# The Slurm layout (label slurm): tests/slurm.sh starts munged, slurmctld and
# two slurmd (nodes n1 and n2 on this machine, `slurmd -N`) with everything
# in a temporary directory, runs one case of tests/slurm_cases.sh and stops
# them again. Skipped (77) where Slurm cannot run here (not root, Debian's
# slurm-wlm or munge missing). Names <area>.slurm_<case>.
#
# dlp_add_slurm_test(<name> <case> <timeout>)
function(dlp_add_slurm_test name case timeout)
  math(EXPR bound "${timeout} - 20") # slurm.sh stops the case first, then tears down
  add_test(NAME ${name}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm.sh --
                   bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm_cases.sh ${PROJECT_BINARY_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/${name} ${case})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "MPIEXEC_TIMEOUT=120;OMP_WAIT_POLICY=passive;DLP_SLURM_TIMEOUT=${bound}"
    TIMEOUT ${timeout} PROCESSORS 2 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE
    LABELS "mpi;slurm")
endfunction()

if(TARGET resume AND TARGET split_managed) # every case runs examples
  # The examples under srun --mpi=pmi2, and under mpiexec inside salloc.
  dlp_add_slurm_test(examples.slurm_srun srun 300)
  dlp_add_slurm_test(examples.slurm_mpiexec mpiexec 300)
  # Plain srun (MpiDefault=none) refused by every task; --cpus-per-task as
  # the team size.
  dlp_add_slurm_test(launcher.slurm launch 120)
  # examples/slurm_job.sh interrupted by scancel --signal=TERM, requeued and
  # resumed; a job stopped by its time limit (--time=1) and resumed.
  dlp_add_slurm_test(resume.slurm_requeue requeue 240)
  dlp_add_slurm_test(resume.slurm_timelimit timelimit 400)
  # Slurm's one-minute minimum limit and its 30 s checks make this the
  # suite's longest case: label long, which ./dlp.sh test (and so CI) leaves
  # out unless asked (./dlp.sh test -L long).
  set_property(TEST resume.slurm_timelimit APPEND PROPERTY LABELS long)
endif()
