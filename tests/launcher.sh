#!/usr/bin/env bash
# What dlp_init takes from the launcher (lib/base/launcher.h), without one:
# a job that a launcher started as several tasks but that MPI sees as one
# rank is refused by dlp_init (it would run N copies of the whole job), and
# Slurm's SLURM_CPUS_PER_TASK is the team size when neither OMP_NUM_THREADS
# nor DLP_THREADS is set (examples/split_managed and examples/loop print it).
#
#   bash launcher.sh SPLIT_MANAGED MPIEXEC LOOP
. "$(dirname "$0")/cases.sh" "$@"
loop=$3
unset OMP_NUM_THREADS DLP_THREADS SLURM_CPUS_PER_TASK DLP_LAUNCH_CHECK
unset SLURM_STEP_ID SLURM_STEP_NUM_TASKS PMI_SIZE OMPI_COMM_WORLD_SIZE

# refused ENV... -- PATTERN: the run must fail and print PATTERN
refused() {
    local -a vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    out=$(env "${vars[@]}" "$exe" 2>&1)
    status=$?
    [ "$status" -ne 0 ] || fail "${vars[*]}: status 0, expected a failure of dlp_init"
    printf '%s\n' "$out" | grep -q -F -- "$2" || fail "${vars[*]}: no \"$2\" in: $out"
    printf '%s\n' "$out" | grep -q '^sum: ' && fail "${vars[*]}: the job ran"
}
# runs ENV... -- COMMAND... : must end with status 0 and print "sum: 45"
runs() {
    local -a vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    out=$(env "${vars[@]}" "$@" 2>&1)
    status=$?
    [ "$status" -eq 0 ] || fail "${vars[*]} $*: status $status: $out"
    printf '%s\n' "$out" | grep -q '^sum: 45' || fail "${vars[*]} $*: no result in: $out"
}
# threads ENV... -- EXPECTED COMMAND...: the team size the example prints
threads() {
    local -a vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    local want=$2
    shift 2
    out=$(env "${vars[@]}" "$@" 2>&1)
    got=$(printf '%s\n' "$out" | sed -n 's/^sum: .* x \([0-9]*\) threads)$/\1/p')
    [ "$got" = "$want" ] || fail "${vars[*]} $(basename "$1"): $got threads, expected $want: $out"
}

case=srun_alone
refused SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=2 -- \
    "srun started 2 tasks (SLURM_STEP_NUM_TASKS=2), but MPI sees a job of one rank"
refused SLURM_STEP_ID=3 SLURM_STEP_NUM_TASKS=4 -- "srun --mpi=pmi2"
case=pmi_alone
refused PMI_SIZE=3 -- "the launcher started 3 processes (PMI_SIZE=3)"
case=ompi_alone
refused OMPI_COMM_WORLD_SIZE=2 -- "(OMPI_COMM_WORLD_SIZE=2)"
case=batch_script
runs SLURM_STEP_NUM_TASKS=4 SLURM_NTASKS=4 -- "$exe"
runs SLURM_STEP_ID=batch SLURM_STEP_NUM_TASKS=4 -- "$exe"
case=one_task
runs SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=1 PMI_SIZE=1 -- "$exe"
case=hydra_in_step # hydra's proxies started by srun: the step counts them
runs SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=2 PMI_SIZE=1 -- "$exe"
case=check_off
runs DLP_LAUNCH_CHECK=0 SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=2 -- "$exe"
case=launched
runs SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=2 -- "$mpiexec" -n 2 "$exe"

case=cpus_per_task
threads SLURM_CPUS_PER_TASK=3 -- 3 "$exe"
threads SLURM_CPUS_PER_TASK=3 -- 3 "$loop"
threads SLURM_CPUS_PER_TASK=1 -- 1 "$mpiexec" -n 2 "$exe"
threads SLURM_CPUS_PER_TASK=3 OMP_NUM_THREADS=2 -- 2 "$exe"
threads SLURM_CPUS_PER_TASK=3 OMP_NUM_THREADS=2 -- 2 "$loop"
threads SLURM_CPUS_PER_TASK=3 DLP_THREADS=1 -- 1 "$exe"
threads SLURM_CPUS_PER_TASK=junk OMP_NUM_THREADS=2 -- 2 "$exe"
finish launcher.sh
