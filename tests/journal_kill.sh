#!/usr/bin/env bash
# The journal across runs of a job, and SIGTERM/SIGINT during a call:
# test_journal --work (tests/test_journal.c) under mpiexec. Every item
# sleeps, then appends "<run> <time>" to DIR/out/<item>; the journal is
# DLP_JOURNAL=DIR/journal.
#
#   bash journal_kill.sh EXE TOP "TRIAL ..." MPIEXEC [LAUNCHER ARGS ...]
#
# Trials (FORM: managed, rr, loop, map, mapnext, range), each in TOP/<k>.<kind>.<form>:
#   kill:FORM:RANK  two calls of 1000 items; kill -9 of rank RANK (0, 1 or
#                   any) at a random point of run 1: the job ends non-zero
#   kill2:FORM      the same, and the rerun killed too (random ranks)
#   killlong:FORM:ITEM  one call of 3000 items of 4 ms but ITEM of 5 s; kill
#                   -9 of rank 0 2-3 s into it: the items the thread of ITEM
#                   finished just before it are long done by then
#   term:FORM       SIGTERM to mpiexec at a random point: DLP_ERR_INTERRUPTED
#                   on every rank (their exit.<rank> files: mpiexec's status
#                   after a signal is not the ranks'), the counts of its
#                   message, a later call refused at once, nothing redone
#   int:FORM        the same with SIGINT
#   wait:FORM:ITEM  SIGTERM while item ITEM takes 2 s (the others take 2 ms):
#                   DLP_ERR_INTERRUPTED as above once it ended, within the
#                   default grace; ITEM is done in run 1
#   grace:FORM:ITEM the same with an item of 8 s and DLP_GRACE=1: the job
#                   ends about 1 s after the signal; ITEM runs again
#                   (round robin puts item i on rank i % 2: ITEM 0 keeps rank
#                   0 busy while rank 1 waits in the call, ITEM 1 the master)
#   nosignals:FORM  SIGTERM with DLP_SIGNALS=0: the ranks die of it
#   othern:FORM     the previous trial's journal with n + 1, and as FORM:
#                   refused, both values in the message, the journal unchanged
# After the interrupted runs, one with items of 0 ms and one thread per rank
# must run exactly the "R to run" of its resume lines, and the next run
# nothing. Every item must have an output, from runs in increasing order:
# an item appears again in a later run only if it finished within the last
# second of the run that was stopped (those are counted and printed; after
# SIGTERM/SIGINT none may be).
# Timings are checked only against generous bounds that catch a hang.
# JOURNAL_SEED=<seed> repeats the random points of an earlier run.
set -u
exe=$1 top=$2 trials=$3
shift 3
launcher=("$@")
seed=${JOURNAL_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "seed $seed (JOURNAL_SEED=$seed repeats these kill and signal points)"
t_all=$EPOCHREALTIME

trial=setup
fail() {
    echo "journal check, trial $trial: $*" >&2
    exit 1
}
# Arithmetic on seconds.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# A random number in [lo, hi) for this trial and KEY: pick KEY LO HI
pick() {
    awk -v s="$seed" -v k="$trial_no$1" -v lo="$2" -v hi="$3" \
        'BEGIN { srand(s + k); printf "%.2f", lo + (hi - lo) * rand() }'
}
func_of() {
    case $1 in
    managed) echo dlp_split_managed ;;
    rr) echo dlp_split_round_robin ;;
    loop | range) echo dlp_loop_begin ;;
    map) echo dlp_map_unordered ;;
    mapnext) echo dlp_map_begin ;;
    *) fail "unknown form $1" ;;
    esac
}
# What run RUN wrote: mpiexec's output, then each rank's (rank.RUN.<rank>:
# hydra may drop what a rank wrote just before the job was aborted).
output() {
    cat "$dir/log.$1" "$dir/rank.$1".* 2> /dev/null
}
show() {
    output "$1" | sed 's/^/    | /'
}

extra_env=()
# Run RUN of the work program (calls of n items) with ARGS in the
# background ($job).
launch() {
    local run=$1
    shift
    rm -f "$dir"/pid.* "$dir"/exit.* "$dir/started" "$dir/rank.$run".*
    env ${extra_env[@]+"${extra_env[@]}"} DLP_JOURNAL="$dir/journal" "${launcher[@]}" "$exe" \
        --work "$dir" --form="$form" --n="$n" --calls="$calls" --run="$run" "$@" \
        > "$dir/log.$run" 2>&1 &
    job=$!
}
# The same in the foreground ($status).
run_fg() {
    launch "$@"
    wait "$job"
    status=$?
}
# Until run RUN has written an output (20 s at most); $ranks then.
wait_started() {
    local k=0 f
    until [[ -e $dir/started ]]; do
        kill -0 "$job" 2> /dev/null || { show "$1"; fail "run $1 ended before an item"; }
        ((++k < 1000)) || fail "run $1 wrote no output in 20 s"
        sleep 0.02
    done
    ranks=0
    for f in "$dir"/pid.*; do
        [[ -e $f ]] && ranks=$((ranks + 1))
    done
}
# Send SIGNAL to PID a random LO..HI s after the first output; wait for
# the job: $status, $took (seconds from the signal to the job's end).
# HOST (default: this one) is where PID lives: another host's process is
# signalled through $JOURNAL_SSH (default: tests/hosts.sh's launcher when it
# runs the test, else ssh), as the launcher reaches that host.
strike() {
    local sig=$1 pid=$2 lo=$3 hi=$4 host=${5:-} at
    local -a remote=()
    if [[ -n $host && $host != "$(hostname)" ]]; then
        read -r -a remote <<< "${JOURNAL_SSH:-${DLP_HOSTS_SSH:-ssh}}"
        remote+=("$host")
    fi
    strikes=$((strikes + 1))
    at=$(pick "$strikes" "$lo" "$hi")
    sleep "$at"
    t_sig=$EPOCHREALTIME
    "${remote[@]}" kill -s "$sig" "$pid" ||
        fail "kill -s $sig $pid ${host:+on $host }failed (the job ended before $at s?)"
    wait "$job"
    status=$?
    took=$(elapsed "$t_sig" "$EPOCHREALTIME")
    echo "  $sig to pid $pid${host:+ on $host} $at s after the first output: the job ended after $took s," \
        "status $status"
    less "$took" 10 || fail "the job ended $took s after $sig: too slow (hang?)"
}
# kill -9 of rank RANK (or any) of run RUN at a random LO..HI s.
kill_rank() {
    local run=$1 who=$2 lo=$3 hi=$4
    wait_started "$run"
    [[ $who == any ]] && who=$(awk -v s="$seed$trial_no$run" -v r="$ranks" \
        'BEGIN { srand(s); print int(r * rand()) }')
    [[ -s $dir/pid.$who ]] || fail "rank $who wrote no pid file"
    echo -n "  run $run, rank $who:"
    local pid host
    read -r pid host < "$dir/pid.$who"
    strike KILL "$pid" "$lo" "$hi" "$host"
    ((status != 0)) || fail "the job ended with status 0 after kill -9 of rank $who"
}
# The ranks' own exit statuses (exit.<rank>; "-" where a rank wrote none).
rank_exits() {
    local r out=""
    for ((r = 0; r < ranks; r++)); do
        if [[ -s $dir/exit.$r ]]; then out+=" $(< "$dir/exit.$r")"; else out+=" -"; fi
    done
    echo "${out# }"
}
# The resume lines of run RUN, summed over its calls: "D R" (done before,
# to run); a call without one has 0 done, n to run.
resume_of() {
    local c line d=0 r=0
    for ((c = 1; c <= calls; c++)); do
        line=$(output "$1" |
            grep -o "call #$c resumes: [0-9]* of [0-9]* items are done, [0-9]* to run")
        if [[ -z $line ]]; then
            r=$((r + n))
            continue
        fi
        [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ items\ are\ done,\ ([0-9]+)\ to\ run ]] ||
            fail "cannot read \"$line\""
        ((BASH_REMATCH[2] == n)) || fail "run $1 resumes call #$c with n = ${BASH_REMATCH[2]}"
        d=$((d + BASH_REMATCH[1])) r=$((r + BASH_REMATCH[3]))
    done
    echo "$d $r"
}
# The outputs after run LAST: items whose last output is of an earlier run
# ($before) or of run LAST ($last); outputs of a run followed by one of a
# later run ($redo) and the oldest of them ($age: seconds before the last
# output of its run); items with outputs out of order or of other runs
# ($bad, the first: $first_bad) or none ($missing, the first: $first_missing).
tally() {
    read -r before last redo bad missing age first_bad first_missing < <(
        awk -v n="$((n * calls))" -v L="$1" '
        { k = split(FILENAME, p, "/"); i = p[k]; c = ++cnt[i]; seq[i] = seq[i] " " $1
          r[i, c] = $1; t[i, c] = $2; if ($2 > end[$1]) end[$1] = $2 }
        END {
            fb = "-"; fm = "-"; age = 0
            for (i in cnt)
                if (i !~ /^[0-9]+$/ || i + 0 >= n) { bad++; fb = i ":" seq[i] }
            for (i = 0; i < n; i++) {
                c = cnt[i ""]
                if (!c) { missing++; if (fm == "-") fm = i; continue }
                ok = 1
                for (j = 1; j <= c; j++)
                    if (r[i "", j] < 1 || r[i "", j] > L || (j > 1 && r[i "", j] <= r[i "", j - 1]))
                        ok = 0
                if (!ok) { bad++; if (fb == "-") fb = i ":" seq[i ""]; continue }
                if (r[i "", c] == L) last++; else before++
                for (j = 1; j < c; j++) {
                    redo++
                    a = end[r[i "", j]] - t[i "", j]
                    if (a > age) age = a
                }
            }
            printf "%d %d %d %d %d %.3f %s %s\n", before, last, redo, bad, missing, age, fb, fm
        }' "$dir"/out/*)
}
# Run RUN to the end after stopped runs (one thread per rank: the journal
# does not depend on the team size), then run RUN + 1, which must do
# nothing; at most MOST outputs redone.
rerun() {
    local run=$1 most=$2 d r
    extra_env=(OMP_NUM_THREADS=1)
    run_fg "$run" --item-ms=0
    extra_env=()
    ((status == 0)) || { show "$run"; fail "run $run ended with status $status"; }
    cat "$dir"/log.* "$dir"/rank.* 2> /dev/null | grep "dropped the last" | sed 's/^/  (/; s/$/)/'
    read -r d r < <(resume_of "$run")
    tally "$run"
    echo "  run $run resumed: $d of $((n * calls)) done, $r to run; items last written by an" \
        "earlier run $before, by run $run $last; $redo redone (finished at most $age s before" \
        "the end of their run); $missing missing, $bad bad"
    ((missing == 0)) || fail "$missing items have no output (the first: $first_missing)"
    ((bad == 0)) || fail "$bad items have outputs out of order (the first, item: runs: $first_bad)"
    ((d + r == n * calls)) || fail "the resume lines say $d done + $r to run, not $((n * calls))"
    ((before == d)) || fail "$before items were last written before run $run, the journal had $d"
    ((last == r)) || fail "run $run ran $last items, its resume lines said $r"
    ((redo <= most)) || fail "$redo items were redone, at most $most expected"
    less "$age" 1.0 || fail "an item finished $age s before the end of its run was redone"
    local after="$before $last $redo"
    run_fg $((run + 1)) --item-ms=0
    ((status == 0)) || { show $((run + 1)); fail "run $((run + 1)) ended with status $status"; }
    read -r d r < <(resume_of $((run + 1)))
    ((d == n * calls && r == 0)) || fail "run $((run + 1)) resumed with $d done, $r to run"
    tally "$run"
    [[ $bad == 0 && "$before $last $redo" == "$after" ]] ||
        fail "run $((run + 1)) ran items ($bad bad outputs, the first $first_bad)"
}

trial_no=0
strikes=0
prev_dir=
for spec in $trials; do
    trial_no=$((trial_no + 1))
    trial=$spec
    IFS=: read -r kind form who <<< "$spec"
    func_of "$form" > /dev/null
    dir=$top/$trial_no.$kind.$form
    rm -rf "$dir"
    mkdir -p "$dir/out" || fail "cannot create $dir"
    extra_env=()
    calls=1
    echo "trial $trial_no: $spec"
    case $kind in
    kill | kill2)
        n=1000 calls=2
        launch 1 --item-ms=4
        if [[ $kind == kill ]]; then
            kill_rank 1 "$who" 0.2 1.4
            rerun 2 2000
        else
            kill_rank 1 any 0.2 0.8
            launch 2 --item-ms=4
            kill_rank 2 any 0.1 0.4
            rerun 3 2000
        fi
        ;;
    killlong)
        n=3000
        launch 1 --item-ms=4 --slow="$who:5000"
        kill_rank 1 0 2.0 3.0
        rerun 2 2000
        ;;
    term | int | wait)
        n=2000 sig=${kind^^} args=(--item-ms=3) lo=0.2 hi=0.9
        if [[ $kind == wait ]]; then # every item done but one, which takes 2 s
            n=400 sig=TERM args=(--item-ms=2 --slow="$who:2000") lo=0.3 hi=0.8
        fi
        launch 1 "${args[@]}"
        wait_started 1
        strike "$sig" "$job" "$lo" "$hi"
        show 1
        exits=$(rank_exits)
        [[ $exits =~ ^(3 )*3$ ]] || fail "rank exit statuses \"$exits\", 3 expected everywhere"
        grep -q "interrupted by SIG$sig (on [0-9]* of $ranks ranks" <(output 1) ||
            fail "no \"interrupted by SIG$sig (on X of $ranks ranks\" in the output"
        msg=$(output 1 | grep -o '[0-9]* of n = [0-9]* items remain.*records the [0-9]* done')
        [[ $msg =~ ^([0-9]+)\ of\ n\ =\ ([0-9]+)\ items\ remain.*records\ the\ ([0-9]+)\ done ]] ||
            fail "no \"M of n = N items remain ... records the D done\" in the output"
        remain=${BASH_REMATCH[1]} msg_n=${BASH_REMATCH[2]} msg_done=${BASH_REMATCH[3]}
        ((msg_n == n && remain + msg_done == n)) ||
            fail "$remain remain + $msg_done done, n = $msg_n (of $n)"
        [[ $kind == wait ]] || ((remain > 0)) || fail "nothing remained after SIG$sig"
        grep -q "a later call returned DLP_ERR_INTERRUPTED" <(output 1) ||
            fail "no refused later call in the output"
        rerun 2 0
        read -r d r < <(resume_of 2)
        ((d == msg_done && r == remain)) ||
            fail "run 2 resumed with $d done, $r to run; run 1 said $msg_done done, $remain remain"
        if [[ $kind == wait ]]; then
            [[ $(< "$dir/out/$who") == "1 "* ]] || fail "item $who did not end in run 1"
        fi
        ;;
    grace)
        n=400
        extra_env=(DLP_GRACE=1)
        launch 1 --item-ms=2 --slow="$who:8000"
        wait_started 1
        strike TERM "$job" 0.2 0.5
        show 1
        less 0.9 "$took" || fail "the job ended $took s after SIGTERM, before the grace of 1 s"
        less "$took" 6 || fail "the job ended $took s after SIGTERM: not aborted after the grace"
        grep -Eq "1 s after SIG[A-Z/]* \(DLP_GRACE.*(aborting|ending) the job" <(output 1) ||
            fail "no \"1 s after SIGTERM (DLP_GRACE ... ending the job\" in the output"
        [[ $(rank_exits) == *[0-9]* ]] && fail "ranks returned from main: $(rank_exits)"
        rerun 2 2000
        [[ $(< "$dir/out/$who") == "2 "* ]] || fail "item $who was not run again by run 2"
        ;;
    nosignals)
        n=2000
        extra_env=(DLP_SIGNALS=0)
        launch 1 --item-ms=3
        wait_started 1
        strike TERM "$job" 0.2 0.9
        show 1
        grep -q "interrupted by" <(output 1) && fail "DLP_SIGNALS=0, but the call was interrupted"
        [[ $(rank_exits) == *[0-9]* ]] && fail "ranks returned from main: $(rank_exits)"
        rerun 2 2000
        ;;
    othern)
        [[ -n $prev_dir && -s $prev_dir/journal ]] || fail "no journal of an earlier trial"
        cp "$prev_dir/journal" "$dir/journal"
        cp "$dir/journal" "$dir/journal.was"
        calls=$prev_calls
        this_form=$form
        for args in "$((n + 1)) $prev_form" "$n $this_form"; do
            read -r new_n form <<< "$args"
            old_n=$n n=$new_n
            run_fg 1 --item-ms=0
            n=$old_n
            show 1
            ((status != 0)) || fail "a rerun with n = $new_n as $form ended with status 0"
            want="recorded call #1 as $(func_of "$prev_form") with n = $n; this call is"
            want+=" $(func_of "$form") with n = $new_n"
            grep -qF "$want" <(output 1) || fail "no \"$want\" in the output"
            cmp -s "$dir/journal" "$dir/journal.was" || fail "the refused run changed the journal"
        done
        ;;
    *)
        fail "unknown trial $spec"
        ;;
    esac
    prev_dir=$dir prev_form=$form prev_calls=$calls
done
echo "all trials passed in $(elapsed "$t_all" "$EPOCHREALTIME") s"
