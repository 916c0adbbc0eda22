#!/usr/bin/env bash
# The Slurm layout's cases, run inside tests/slurm.sh (SLURM_CONF set):
#
#   bash slurm_cases.sh BUILD_DIR WORK_DIR CASE...
#
#   srun       the examples under srun --mpi=pmi2, 2 nodes x 1 task x 2 CPUs
#   mpiexec    the examples under mpiexec.mpich inside salloc -N 2
#   launch     plain srun (MpiDefault=none) of 2 tasks: every task refused by
#              dlp_init with the message (not 2 copies of the job); the team
#              size follows --cpus-per-task 1 and 2
#   requeue    examples/slurm_job.sh (sbatch) of examples/resume, signalled
#              with scancel --signal=TERM while it runs: it ends with
#              status 76, requeues itself and resumes from its journal; every
#              item's output written exactly once
#   timelimit  the same job with --time=1 and no early signal: Slurm's time
#              limit stops it (SIGTERM, KillWait), a second sbatch resumes;
#              every item exactly once (takes 1-2 minutes: Slurm checks time
#              limits about every 30 s)
# The work directory (outputs, journals, logs) must be one every node sees.
set -u
build=$1 work=$2
shift 2
ex=$build/examples
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fails=0
fail() {
    echo "FAIL [$case]: $*"
    fails=$((fails + 1))
}
mkdir -p "$work"
cd "$work" || exit 1

state() { scontrol show job "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
restarts() { scontrol show job "$1" 2> /dev/null | grep -o 'Restarts=[0-9]*' | cut -d= -f2; }
# until job ID is in one of the states (regex), at most S seconds
wait_state() {
    local id=$1 want=$2 secs=$3 k s
    for ((k = 0; k < secs * 5; k++)); do
        s=$(state "$id")
        [[ $s =~ ^($want)$ ]] && return 0
        sleep 0.2
    done
    echo "job $id: state $s after $secs s, expected $want"
    return 1
}
# until DIR holds at least N files named *.txt, at most S seconds
wait_outputs() {
    local dir=$1 n=$2 secs=$3 k
    for ((k = 0; k < secs * 10; k++)); do
        (($(find "$dir" -name '*.txt' 2> /dev/null | wc -l) >= n)) && return 0
        sleep 0.1
    done
    return 1
}
# every item 0..N-1 of DIR written exactly once (each output file holds
# one line per run of its item)
exactly_once() {
    local dir=$1 n=$2 files lines
    files=$(cd "$dir" && ls | grep -c '^[0-9]*\.txt$')
    lines=$(cd "$dir" && ls | grep '^[0-9]*\.txt$' | xargs cat | wc -l)
    ((files == n)) || fail "$((n - files)) of $n items have no output"
    ((lines == files)) || fail "$((lines - files)) extra runs of items"
    echo "  $n items: $files with an output, $((lines - files)) extra runs"
}
# start and end of job ID
times() { scontrol show job "$1" | grep -o -E '(SubmitTime|StartTime|EndTime|RunTime)=[^ ]*' | tr '\n' ' '; }

for case in "$@"; do
    echo "--- case $case"
    t0=$SECONDS
    case $case in
    srun)
        bash "$here/run_examples.sh" "$ex" srun --mpi=pmi2 -N 2 --ntasks-per-node=1 \
            --cpus-per-task=2 || fail "an example failed under srun --mpi=pmi2"
        ;;
    mpiexec)
        salloc -N 2 --ntasks-per-node=1 --cpus-per-task=2 bash "$here/run_examples.sh" "$ex" \
            mpiexec.mpich -n 2 || fail "an example failed under mpiexec in salloc"
        ;;
    launch)
        out=$(srun -N 2 -n 2 "$ex/split_managed" 2>&1)
        status=$?
        printf '%s\n' "$out" | sed 's/^/  | /'
        ((status != 0)) || fail "plain srun of 2 tasks ended with status 0"
        n=$(printf '%s\n' "$out" | grep -c "srun started 2 tasks (SLURM_STEP_NUM_TASKS=2), but MPI sees a job of one rank")
        ((n == 2)) || fail "$n tasks said that they are alone, expected 2"
        printf '%s\n' "$out" | grep -q '^sum: ' && fail "a task ran the job alone"
        for c in 1 2; do
            out=$(env -u OMP_NUM_THREADS srun --mpi=pmi2 -N 1 -n 1 --cpus-per-task=$c \
                "$ex/split_managed" 2>&1)
            printf '%s\n' "$out" | grep -q "^sum: 45 (1 ranks x $c threads)" ||
                fail "--cpus-per-task=$c: not $c threads: $out"
        done
        ;;
    requeue)
        rm -rf requeue && mkdir -p requeue && cd requeue || exit 1
        n=240
        id=$(sbatch --parsable --time=5 --signal=TERM@1 \
            --export=ALL,DLP_APP="$ex/resume",OMP_NUM_THREADS=2 "$here/../examples/slurm_job.sh" \
            "$n" 50) || fail "sbatch failed"
        echo "  job $id"
        wait_state "$id" RUNNING 30 || fail "job $id did not start"
        wait_outputs dlp-resume-out 20 30 || fail "no output after 30 s"
        scancel --signal=TERM "$id" || fail "scancel --signal=TERM $id failed"
        # the requeued job waits for its old credential to expire
        # (cred_expire, slurm.sh) before it starts again
        for ((k = 0; k < 150 && $(restarts "$id") == 0; k++)); do sleep 0.2; done
        echo "  requeued: $(scontrol show job "$id" | grep -o -E '(JobState|Reason|StartTime)=[^ ]*' | tr '\n' ' ')"
        wait_state "$id" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 120 || fail "job $id did not end"
        cat dlp-resume-"$id".log | sed 's/^/  | /'
        [[ $(state "$id") == COMPLETED ]] || fail "job $id ended $(state "$id")"
        [[ $(restarts "$id") == 1 ]] || fail "job $id restarted $(restarts "$id") times, expected 1"
        grep -q "interrupted: requeueing" dlp-resume-"$id".log || fail "no requeue in the log"
        grep -q "resumes: .* are done" dlp-resume-"$id".log || fail "the rerun did not resume"
        exactly_once dlp-resume-out "$n"
        cd "$work" || exit 1
        ;;
    timelimit)
        rm -rf timelimit && mkdir -p timelimit/out && cd timelimit || exit 1
        n=4000 # 4000 items of 100 ms on 2 x 2 threads: 100 s of work; the
        # time limit of one minute ends it after 60-90 s (Slurm checks about
        # every 30 s)
        export DLP_JOURNAL=$PWD/out/journal.dlpj
        id=$(sbatch --parsable --time=1 -N 2 --ntasks-per-node=1 --cpus-per-task=2 \
            -o run1.log --wrap "srun --mpi=pmi2 $ex/resume out $n 100") || fail "sbatch failed"
        echo "  job $id (--time=1)"
        wait_state "$id" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 150 || fail "job $id did not end"
        sed 's/^/  | /' run1.log
        echo "  job $id: $(times "$id")"
        [[ $(state "$id") == TIMEOUT ]] || fail "job $id ended $(state "$id"), expected TIMEOUT"
        done1=$(find out -name '*.txt' | wc -l)
        echo "  done before the time limit: $done1 of $n"
        id=$(sbatch --parsable --time=5 -N 2 --ntasks-per-node=1 --cpus-per-task=2 \
            -o run2.log --wrap "srun --mpi=pmi2 $ex/resume out $n 100") || fail "sbatch failed"
        wait_state "$id" "COMPLETED|FAILED|CANCELLED|TIMEOUT" 150 || fail "job $id did not end"
        sed 's/^/  | /' run2.log
        echo "  job $id: $(times "$id")"
        [[ $(state "$id") == COMPLETED ]] || fail "the resumed job $id ended $(state "$id")"
        grep -q "resumes: .* are done" run2.log || fail "the rerun did not resume"
        exactly_once out "$n"
        unset DLP_JOURNAL
        cd "$work" || exit 1
        ;;
    *) fail "unknown case" ;;
    esac
    echo "--- case $case: $((SECONDS - t0)) s"
done
if ((fails)); then
    echo "slurm_cases.sh: $fails failure(s)"
    exit 1
fi
echo "slurm_cases.sh: every case passed"
