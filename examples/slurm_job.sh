#!/bin/bash
# A Slurm batch job that resumes itself: examples/resume on every node,
# requeued whenever it is interrupted, until every item is done.
#
#   sbatch examples/slurm_job.sh [N [MS]]       # (from the build directory)
#
# How it works: 120 s before the time limit Slurm sends SIGTERM to the
# job's tasks (--signal=TERM@120; `scancel --signal=TERM JOBID` does the
# same at any time). The ranks finish their running items, the call returns
# DLP_ERR_INTERRUPTED, and the program ends with status 76
# (DLP_EXIT_INTERRUPTED). The script then requeues the job: it starts again
# (SLURM_RESTART_COUNT = 1, 2, ...) and the journal lets it run only the
# items not done yet. Any other non-zero status is a failure: not requeued.
# (Not SIGTERM to srun: srun ends the step at once, killing the ranks.)
#
# The journal and the outputs must be on storage every node sees (the
# submit directory here); the time limit must leave the running items time
# to finish (DLP_GRACE, default 20 s, and the signal's lead time).
#SBATCH --job-name=dlp-resume
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=2
#SBATCH --time=01:00:00
#SBATCH --signal=TERM@120
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=dlp-resume-%j.log
set -u
app=${DLP_APP:-./examples/resume}
out=${DLP_OUT:-$PWD/dlp-resume-out}
export DLP_JOURNAL=${DLP_JOURNAL:-$out/journal.dlpj}
mkdir -p "$out"

echo "$(date +%T) job $SLURM_JOB_ID, run ${SLURM_RESTART_COUNT:-0}: starting"
# (--mpi=pmi2: Debian's MPICH speaks PMI-2; plain srun would start N
# unconnected copies, which dlp_init refuses)
srun --mpi=pmi2 "$app" "$out" "$@"
status=$?
case $status in
0) echo "$(date +%T) done" ;;
76)
    echo "$(date +%T) interrupted: requeueing job $SLURM_JOB_ID to resume from $DLP_JOURNAL"
    scontrol requeue "$SLURM_JOB_ID"
    ;;
*) echo "$(date +%T) failed with status $status: not requeued" ;;
esac
exit "$status"
