#!/usr/bin/env bash
# faults: the fault-injection suite (#12, item 7) on tests/configs/tiny.cfg shrunk as rerun.sh
# does, under mpirun -n 2.
# 1. kill -9 of a rank or of mpirun at >= 20 random points, two per stage (the kill lands a random
#    delay after the stage's "== STAGE" line in run.log; the stage it hit is recorded): the job
#    must end within a few seconds (for a killed rank with the watchdog's message naming the rank
#    and the stage), and a rerun must give artifacts equal to an uninterrupted run's (h5diff -d 0
#    on every .h5, CSVs byte-equal) with no temporary or partial file left.
# 2. concurrent runs into one directory: the second gets the lock error naming the holder.
# 3. deleted or damaged sibling tables (ppo_mean.csv, bon.csv, rm_members.csv,
#    lm_<size>_train.csv): remade, equal to the reference.
# 4. the corpus edited after a run: every stage reruns; edited back: equal to the reference.
# 5. gold.h5 edited (its calibration shift): bon_samples and later stages rerun, pretrain and
#    gold do not.
# 6. a NaN in the pretrained LM: a clean error naming the file.
# 7. stop requests in gold, prefs and rm (larger sizes), a random delay into the stage: SIGTERM
#    or SIGINT to `overopt launch` (which runs mpirun), SIGTERM to rank 0 or to rank 1: exit code 3
#    ("stopped on request"), gold and prefs with their resume file; a rerun resumes and gives
#    gold.h5 and prefs.h5 equal to an uninterrupted run's. rm with 3 members on 2 ranks (placed
#    unevenly); then stopped mid-training (WARM and Laplace on): rm.partial.m<m>.h5 files, and a
#    rerun gives rm.h5 and rm_members.csv equal to an uninterrupted run's, also with one of the
#    files truncated (a warning, that member trained from the start). bon_samples (SIGTERM to rank
#    1) and bon (SIGUSR1 to mpirun) with 64 x 256 samples, WARM and Laplace: their resume files, a
#    rerun resumes to the uninterrupted run's bon_samples.h5, bon.h5 and CSVs; a damaged
#    bon.partial.h5 is ignored with a warning. The time from each signal to the job's end is
#    printed. SIGUSR1 to mpirun in ppo:
#    exit 3 and a resume file; that file corrupted: a warning and a fresh start.
# 8. a stalled rank (SIGSTOP) with run.watchdog_s = 2: the job ends naming the operation, the
#    stage and the stopped rank.
# Every case prints "case NAME: CLASS" (ok: recovered | clean: the clean error or stop wanted |
# silent | crash: another error or a message that names nothing | hang | damaged) and
# the counts close the output. The random points come from the seed printed first (FAULTS_SEED
# reproduces a run).
# Usage (oo_script_test): faults.sh OVEROPT SOURCE_DIR SCRATCH_DIR BADH5
. "$(dirname "$0")/lib.sh" "$@"
badh5=$4
seed=${FAULTS_SEED:-$(($(date +%s) % 100000))}
RANDOM=$seed
echo "faults: seed $seed (FAULTS_SEED=$seed reproduces the kill points)"
cp /usr/share/games/fortunes/fortunes corpus.txt || { echo "FAILED: no fortunes file"; exit 1; }
# gold and prefs larger than rerun.sh's (a few hundred ms each) so that kill points land inside them
sets=(--set "run.out_dir=$scratch/work" --set "corpus.path=$scratch/corpus.txt" --set pretrain.steps=20
  --set gold.calib_prompts=200 --set prefs.n_train=150 --set prefs.n_test=12 --set rm.k=2 --set rm.epochs=1 --set bon.n_prompts=2
  --set bon.n_samples=16 --set ppo.steps=2 --set ppo.batch=4 --set ppo.minibatch=2 --set ppo.epochs=1
  --set ppo.n_eval_prompts=2 --set "ppo.objectives=[mean]")
dir=work/tiny
declare -A count
verdict() { # verdict NAME CLASS [WANT]: records the class; a class other than WANT (default ok) fails
  local want=${3:-ok}
  echo "case $1: $2"
  count[$2]=$((${count[$2]:-0} + 1))
  [ "$2" = "$want" ] || bad "case $1: $2, wanted $want"
}
wrap=() # (overopt launch) to run mpirun under `overopt launch`
launch() { # launch LOG [args]: overopt run in the background (under ${wrap[@]}); sets mp and skip
  local log=$1
  shift
  skip=$(cat "$dir/run.log" 2>/dev/null | wc -l)
  "${wrap[@]}" "$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" "$@" >"$log" 2>&1 &
  mp=$!
}
run_ok() { # run_ok LOG [args]: a run that must succeed
  local log=$1
  shift
  timeout 120 "$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" "$@" >"$log" 2>&1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# alive PID...: 0 if one of them runs (a zombie counts as ended)
alive() {
  local p s
  for p in "$@"; do
    s=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)
    [ -n "$s" ] && [ "$s" != Z ] && return 0
  done
  return 1
}
# wait_line FILE REGEX PID: waits until FILE has a line matching REGEX past the first $skip
# lines (those of earlier runs; launch sets skip) (0), or PID ended (1)
skip=0
wait_line() {
  local t=0
  while ! tail -n +$((skip + 1)) "$1" 2>/dev/null | grep -qE "$2"; do
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.01
    t=$((t + 1))
    [ $t -gt 6000 ] && return 1
  done
  return 0
}
# wait_end PID LIMIT_S: waits for PID to end; 1 if it outlived the limit (then kills it)
wait_end() {
  local t=0 lim=$(($2 * 20))
  while kill -0 "$1" 2>/dev/null; do
    sleep 0.05
    t=$((t + 1))
    if [ $t -gt $lim ]; then
      kill -9 "$1" 2>/dev/null
      return 1
    fi
  done
  return 0
}
# same_as_ref LABEL: the run directory equals the reference (h5 contents, CSV bytes), nothing left over
same_as_ref() {
  local f d=0
  for f in $(cd ref && ls *.h5); do
    if [ ! -f "$dir/$f" ]; then echo "  $1: $f missing"; d=1; continue; fi
    # PPO's wall-clock columns (t_*) are the only contents that may differ
    local skip=()
    case $f in ppo_*_policy.h5) ;; ppo_*.h5) for t in t_eval t_generate t_mpi t_score t_step t_update; do skip+=(--exclude-path "/$t"); done ;; esac
    h5diff -d 0 "${skip[@]}" "ref/$f" "$dir/$f" >/dev/null 2>&1 ||
      { echo "  $1: $f differs: $(h5diff -v -d 0 "${skip[@]}" "ref/$f" "$dir/$f" 2>&1 | grep -vE '^$' | head -4 | tr '\n' ' ')"; d=1; }
  done
  for f in $(cd ref && ls *.csv report/*.md); do
    cmp -s "ref/$f" "$dir/$f" || { echo "  $1: $f differs or is missing"; d=1; }
  done
  local extra
  extra=$(cd "$dir" && ls | grep -E '\.tmp\.[0-9]+$|\.partial\.h5$|\.part$')
  [ -z "$extra" ] || { echo "  $1: left over: $extra"; d=1; }
  return $d
}

t0=$(date +%s)
# ---- the reference: one uninterrupted run -------------------------------------------------
run_ok ref.log || { cat ref.log; bad "the reference run failed"; exit 1; }
mkdir -p ref
(cd $dir && cp -r *.h5 *.csv report ../../ref/)
rm -rf work

# ---- 1. kill -9 at random points -------------------------------------------------------------
stages=(pretrain gold bon_samples prefs rm bon ppo fit summary report)
n_points=0 max_rank_end=0 max_mpirun_end=0
for i in $(seq 0 19); do
  st=${stages[$((i % 10))]}
  who=$([ $((i / 10)) -eq 0 ] && echo rank || echo mpirun)
  delay_ms=$((RANDOM % 40))
  rm -rf work
  launch "f$i.log"
  if ! wait_line "$dir/run.log" " == $st( \(|$)" "$mp"; then
    wait "$mp"
    echo "point $i ($who in $st, delay ${delay_ms} ms): the run ended before the stage began"
    continue
  fi
  sleep "$(awk -v d=$delay_ms 'BEGIN { print d / 1000 }')"
  ranks=$(pgrep -P "$mp" | tr '\n' ' ')
  hit=$(grep -E ' == [a-z_]+( \(|$)' "$dir/run.log" | tail -1 | sed 's/.* == //')
  if ! kill -0 "$mp" 2>/dev/null || [ -z "$ranks" ]; then
    wait "$mp"
    echo "point $i ($who in $st, delay ${delay_ms} ms): the run had ended"
    continue
  fi
  n_points=$((n_points + 1))
  victim=$mp
  if [ "$who" = rank ]; then
    set -- $ranks
    victim=$(eval echo "\${$((RANDOM % $# + 1))}")
  fi
  tk=$(now)
  kill -9 "$victim"
  class=ok
  if [ "$who" = rank ]; then
    wait_end "$mp" 30 || class=hang
    took=$(since "$tk")
    wait "$mp" 2>/dev/null
    if [ $class = ok ] && ! grep -qE "^\[rank [0-9]+\] watchdog: rank [0-9]+ \(pid $victim .*during stage [a-z_]+" "f$i.log"; then
      class=silent
    fi
    max_rank_end=$(awk -v a=$max_rank_end -v b=$took 'BEGIN { print (b > a ? b : a) }')
    msg=$(grep -E '^\[rank [0-9]+\] watchdog' "f$i.log" | head -1)
    [[ $msg =~ during\ stage\ ([a-z_]+) ]] && hit=${BASH_REMATCH[1]} # the stage the ranks were in
  else
    t=0
    while alive $ranks && [ $t -lt 600 ]; do sleep 0.05; t=$((t + 1)); done
    took=$(since "$tk")
    alive $ranks && { class=hang; kill -9 $ranks 2>/dev/null; }
    wait "$mp" 2>/dev/null
    max_mpirun_end=$(awk -v a=$max_mpirun_end -v b=$took 'BEGIN { print (b > a ? b : a) }')
    msg="(mpirun gone: ranks ended)"
  fi
  echo "point $i: kill -9 $who (pid $victim) ${delay_ms} ms into $st, hit stage $hit; job ended in ${took} s: $msg"
  if ! run_ok "r$i.log"; then
    tail -5 "r$i.log"
    class=damaged
  elif ! same_as_ref "point $i"; then
    class=damaged
  fi
  verdict "kill_${who}_$i($hit)" $class
done
[ $n_points -ge 20 ] || bad "only $n_points of 20 kill points landed inside a running job"
echo "kill points inside a running job: $n_points; longest end after a killed rank ${max_rank_end} s, after a killed mpirun ${max_mpirun_end} s (ranks)"

# ---- 2. concurrent runs ---------------------------------------------------------------------------
rm -rf work
launch a.log
wait_line "$dir/run.log" " == pretrain" "$mp"
pid_a=$mp
"$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" >b.log 2>&1
rc_b=$?
wait "$pid_a"
rc_a=$?
class=ok
if [ $rc_b -eq 0 ]; then class=silent
elif ! grep -qE "is in use by another overopt run \(host [^,]+, pid [0-9]+" b.log; then class=crash; fi
[ $rc_a -eq 0 ] && same_as_ref concurrent || class=damaged
verdict concurrent_runs $class
[ $class = ok ] || { cat b.log | head -5; }

# ---- 3. sibling tables deleted or damaged ---------------------------------------------------------
rm -f $dir/ppo_mean.csv $dir/lm_*_train.csv
truncate -s 20 $dir/bon.csv
echo "9,9,9,9,9,9" >>$dir/rm_members.csv
class=ok
if ! run_ok s.log; then class=crash
elif [ "$(grep -c 'is made again' s.log)" -lt 4 ]; then class=silent; grep -E 'made again|up to date' s.log
elif ! same_as_ref siblings; then class=damaged; fi
verdict sibling_tables $class

# ---- 4. the corpus edited after a run ------------------------------------------------------------
printf '%%\nA fortune added after the run, long enough to be a document of the corpus.\n' >>corpus.txt
class=ok
if ! run_ok c.log; then class=crash
elif grep -qE "up to date|skipped" c.log; then class=silent; grep -E "up to date|skipped" c.log | head -3; fi
verdict corpus_edited $class
cp /usr/share/games/fortunes/fortunes corpus.txt
class=ok
if ! run_ok c2.log; then class=crash
elif ! same_as_ref corpus_restored; then class=damaged; fi
verdict corpus_restored $class

# ---- 5. gold.h5 edited --------------------------------------------------------------------------
cp $dir/gold.h5 gold_good.h5
"$badh5" gold_good.h5 $dir/gold.h5 double /@reward_shift 0.25 || bad "badh5 failed"
class=ok
if ! run_ok g.log; then class=crash
elif ! grep -qE "^.*== gold: up to date" g.log || grep -qE "== (bon_samples|prefs|rm|bon): up to date" g.log; then
  class=silent
  grep -E "^.*== [a-z_]+" g.log | head -8
fi
verdict gold_edited $class

# ---- 6. a NaN in the pretrained LM ------------------------------------------------------------------
rm -rf work
(mkdir -p $dir && cp -r ref/* $dir/)
lm=$(cd $dir && ls lm_*.h5 | head -1)
"$badh5" ref/$lm $dir/$lm nan wte || bad "badh5 failed"
class=clean
if timeout 120 "$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" >n.log 2>&1; then class=silent
elif ! grep -qE "$lm.*(non-finite|NaN)|(non-finite|NaN).*$lm" n.log; then class=crash; tail -5 n.log; fi
verdict nan_checkpoint $class clean

# ---- 7. stop requests -------------------------------------------------------------------------
# overopt launch returns the launcher's exit code (127: it cannot be started; 2: none given)
class=ok
"$overopt" launch sh -c 'exit 5'
[ $? -eq 5 ] || class=crash
"$overopt" --quiet launch ./no-such-launcher 2>/dev/null
[ $? -eq 127 ] || class=crash
"$overopt" launch >/dev/null 2>&1
[ $? -eq 2 ] || class=crash
"$overopt" launch sh -c 'exit 0' || class=crash
verdict launch_exit_codes $class
# larger gold, prefs and rm stages, so that a signal lands inside them
big=(--set corpus.path=/usr/share/games/fortunes --set pretrain.policy.d_model=128 --set pretrain.policy.n_layer=2
  --set gold.calib_prompts=3000 --set prefs.n_train=1500 --set rm.epochs=40)
rm -rf work
run_ok big_ref.log "${big[@]}" --until prefs || { tail -5 big_ref.log; bad "the larger reference run failed"; }
mkdir -p bigref
cp $dir/gold.h5 $dir/prefs.h5 bigref/
rm -f $dir/gold.h5 $dir/prefs.h5 # the pretrained LMs stay
# signal_at STAGE WHO SIG DELAY_MS: WHO = launcher (the job $mp itself), rank0 or rank1 gets SIG
# DELAY_MS after the stage's line in run.log; sets victim and tk (the time of the signal). 1 if the
# job ended before the stage.
signal_at() {
  local st=$1 who=$2 sig=$3
  wait_line "$dir/run.log" " == $st( \(|$)" "$mp" || return 1
  sleep "$(awk -v d="$4" 'BEGIN { print d / 1000 }')"
  victim=$mp
  if [ "$who" != launcher ]; then
    local p
    for p in $(pgrep -P "$mp"); do # mpirun's children; their environment names their rank
      tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=${who#rank}" && victim=$p
    done
  fi
  tk=$(now)
  kill "-$sig" "$victim"
}
# stop_case NAME STAGE WHO SIG [args]: WHO = launcher (overopt launch), rank0 or rank1 gets SIG a
# random 50-550 ms after the stage's line (30-130 ms with stop_short=1, for a stage that may take
# only half a second on a quiet machine); the job must exit 3 with the stage stopped on request.
stop_case() {
  local name="${3}_${4,,}_$1" st=$2 who=$3 sig=$4
  shift 4
  # gold and prefs start from scratch: resumed from the previous case's units, too little work
  # could remain for the delay and the stage would end before the signal (the stop then lands at
  # the next stage); the last case's resume file is what stop_resume_gold_prefs resumes from
  case $st in gold | prefs) rm -f "$dir/$st.partial.h5" ;; esac
  wrap=()
  [ "$who" = launcher ] && wrap=("$overopt" launch)
  launch "t_$name.log" "${big[@]}" "$@"
  local delay_ms=$((${stop_short:-0} ? 30 + RANDOM % 100 : 50 + RANDOM % 500))
  if ! signal_at "$st" "$who" "$sig" $delay_ms; then
    wait "$mp"
    wrap=()
    verdict "$name" silent clean
    return
  fi
  local class=clean
  wait_end "$mp" 60 || class=hang
  wait "$mp"
  local rc=$? took=$(since "$tk")
  wrap=()
  if [ $class = clean ]; then
    if [ $rc -ne 3 ]; then class=crash; tail -3 "t_$name.log"
    elif ! grep -qE "== $st: stopped on request" "t_$name.log"; then class=silent
    elif [ "$st" != rm ] && [ ! -f "$dir/$st.partial.h5" ]; then class=damaged; echo "  no $st.partial.h5"; fi
  fi
  echo "SIG$sig to $who (pid $victim) ${delay_ms} ms into $st: exit $rc after $took s$(grep -oE 'resuming with [0-9]+ of [0-9]+ (units|samples)' "t_$name.log" | sed 's/^/, /')"
  verdict "$name" $class clean
}
# gold and prefs take 0.4-0.5 s here on a quiet machine since #11's speedups, so a 50-550 ms
# delay could miss them (the stop then landed at the next stage and the cases after it found
# prefs and rm up to date: FAULTS_SEED=46284 on 2026-11-27): the short delay
stop_short=1 stop_case gold gold launcher TERM
stop_short=1 stop_case gold gold rank1 TERM
stop_short=1 stop_case prefs prefs launcher INT
stop_short=1 stop_case prefs prefs rank0 TERM
class=ok
if ! run_ok t_resume.log "${big[@]}" --until prefs; then class=crash; tail -3 t_resume.log
elif ! grep -qE "gold calibration: resuming with" t_resume.log && ! grep -qE "prefs sampling: resuming with" t_resume.log; then
  class=silent
else
  for f in gold.h5 prefs.h5; do
    h5diff -d 0 bigref/$f $dir/$f >/dev/null 2>&1 || { class=damaged; echo "  $f differs from the uninterrupted run's"; }
  done
  extra=$(cd "$dir" && ls | grep -E '\.partial\.h5$')
  [ -z "$extra" ] || { class=damaged; echo "  left over: $extra"; }
fi
verdict stop_resume_gold_prefs $class
# rm: even placement (2 members on 2 ranks), then 3 members on 2 ranks (m0, m2 on rank 0, m1 on rank 1)
stop_case rm rm rank1 TERM
stop_case rm_uneven rm launcher TERM --set rm.k=3
stop_case rm_uneven rm rank1 TERM --set rm.k=3
stop_case rm_uneven rm rank0 TERM --set rm.k=3
# bon_samples and bon with 64 x 256 samples (32 rounds of 512 on 2 ranks), WARM and Laplace on: a stop
# leaves bon_samples.partial.h5 / bon.partial.h5 and a rerun resumes to the uninterrupted run's bits
bonbig=(--set rm.epochs=2 --set rm.warm=true --set rm.laplace=true --set bon.n_prompts=64 --set bon.n_samples=256)
if ! run_ok bon_ref.log "${big[@]}" "${bonbig[@]}" --until bon; then tail -5 bon_ref.log; bad "the larger best-of-n reference run failed"; fi
bon_files=(bon_samples.h5 bon.h5 bon.csv uncertainty.csv residual_corr.csv)
(cd $dir && cp "${bon_files[@]}" ../../bigref/ && rm -f "${bon_files[@]}")
stop_case bon_samples bon_samples rank1 TERM "${bonbig[@]}"
# bon scores 16384 samples in about 0.5 s on quiet cores: the signal comes within 130 ms
stop_short=1 stop_case bon bon mpirun USR1 "${bonbig[@]}" # its run resumes bon_samples first
cp $dir/bon.partial.h5 bon.partial.saved 2>/dev/null
# same_bon LOG: the rerun's best-of-n files equal the uninterrupted run's, no resume file left
same_bon() {
  local f class=ok
  for f in "${bon_files[@]}"; do
    case $f in
      *.h5) h5diff -d 0 bigref/$f $dir/$f >/dev/null 2>&1 || { class=damaged; echo "  $f differs from the uninterrupted run's"; } ;;
      *) cmp -s bigref/$f $dir/$f || { class=damaged; echo "  $f differs from the uninterrupted run's"; } ;;
    esac
  done
  extra=$(cd "$dir" && ls | grep -E '\.partial\.h5$')
  [ -z "$extra" ] || { class=damaged; echo "  left over: $extra"; }
  echo $class
}
class=ok
if ! run_ok t_bon_resume.log "${big[@]}" "${bonbig[@]}" --until bon; then class=crash; tail -3 t_bon_resume.log
elif ! grep -qE "bon: resuming with [0-9]+ of 16384 samples done" t_bon_resume.log; then class=silent
else class=$(same_bon | tee /dev/stderr | tail -1); fi
verdict stop_resume_bon $class
# a damaged bon.partial.h5: a warning naming it, a fresh start, the same files
class=ok
rm -f $dir/bon.h5
if [ ! -f bon.partial.saved ]; then class=silent
else
  cp bon.partial.saved $dir/bon.partial.h5
  truncate -s 2000 $dir/bon.partial.h5
  if ! run_ok t_bon_damaged.log "${big[@]}" "${bonbig[@]}" --until bon; then class=crash; tail -3 t_bon_damaged.log
  elif ! grep -qE "bon: not resuming from '.*bon\.partial\.h5' \(starting over\)" t_bon_damaged.log; then class=silent
  else class=$(same_bon | tee /dev/stderr | tail -1); fi
fi
verdict damaged_partial_bon $class
# rm resumed (#12 item 6): 3 members on 2 ranks (m0, m2 on rank 0) with WARM and Laplace, stopped
# 0.7-2 s into the stage (rm takes 3-5 s on quiet cores: a member mid-epoch, another finished or not started), then
# rerun: rm.partial.m<m>.h5 for the started members, and rm.h5 and rm_members.csv equal to an
# uninterrupted run's. The second stop's file of the member it stopped is truncated: the rerun
# warns, trains that member from the start and still gives the same files.
rmr=("${big[@]}" --set rm.k=3 --set rm.epochs=10 --set rm.warm=true --set rm.laplace=true)
run_ok rm_ref.log "${rmr[@]}" --until rm || { tail -5 rm_ref.log; bad "the uninterrupted rm run failed"; }
cp $dir/rm.h5 $dir/rm_members.csv bigref/
for who in rank1 rank0; do
  name=rm_resume_$who
  rm -f $dir/rm.h5 $dir/rm_members.csv
  launch "t_$name.log" "${rmr[@]}" --until rm
  delay_ms=$((700 + RANDOM % 1300)) # rm takes 3-5 s on quiet cores, 10 s loaded
  class=ok
  signal_at rm $who TERM $delay_ms || class=silent
  wait "$mp"
  rc=$?
  parts=$(cd "$dir" && ls | grep -E '^rm\.partial\.m[0-9]+\.h5$' | tr '\n' ' ')
  echo "SIGTERM to $who ${delay_ms} ms into rm: exit $rc, saved: ${parts:-nothing}"
  if [ $class = ok ] && [ $rc -ne 3 ]; then class=crash; tail -3 "t_$name.log"
  elif [ $class = ok ] && [ -z "$parts" ]; then class=damaged; echo "  no rm.partial.m<m>.h5"; fi
  damaged_part=
  if [ $class = ok ] && [ $who = rank0 ]; then
    damaged_part=${parts%% *}
    truncate -s 2000 "$dir/$damaged_part"
  fi
  if [ $class = ok ]; then
    if ! run_ok "t_${name}_rerun.log" "${rmr[@]}" --until rm; then class=crash; tail -3 "t_${name}_rerun.log"
    elif ! grep -qE "rm member [0-9]+: (resuming at epoch|trained before the stop)" "t_${name}_rerun.log" &&
      [ -z "$damaged_part" ]; then class=silent
    elif [ -n "$damaged_part" ] && ! grep -qE "not resuming from '.*$damaged_part' \(training from the start\)" \
      "t_${name}_rerun.log"; then class=silent; echo "  no warning for the truncated $damaged_part"
    else
      h5diff -d 0 bigref/rm.h5 $dir/rm.h5 >/dev/null 2>&1 || { class=damaged; echo "  rm.h5 differs from the uninterrupted run's"; }
      cmp -s bigref/rm_members.csv $dir/rm_members.csv || { class=damaged; echo "  rm_members.csv differs"; }
      extra=$(cd "$dir" && ls | grep -E '^rm\.partial\.')
      [ -z "$extra" ] || { class=damaged; echo "  left over: $extra"; }
    fi
  fi
  verdict $name $class
done
# SIGUSR1 to mpirun during PPO, then the resume file corrupted
long=(--set ppo.steps=20000) # the tiny PPO runs ~1,500 steps/s: long enough to be caught, bounded if not
rm -rf work
launch u.log "${long[@]}"
wait_line "$dir/run.log" "ppo mean [0-9]+/20000" "$mp"
sleep 0.3
kill -USR1 "$mp"
wait "$mp"
rc=$?
class=clean
[ $rc -eq 3 ] || class=crash
[ -f $dir/ppo_mean.partial.h5 ] || class=damaged
verdict sigusr1_mpirun_ppo $class clean
truncate -s 3000 $dir/ppo_mean.partial.h5
# the rerun warns and starts over; it is stopped again once it trains (20000 steps take minutes on
# a loaded machine)
class=ok
launch u2.log "${long[@]}"
wait_line "$dir/run.log" "ppo mean [0-9]+/20000" "$mp" || class=crash
kill -USR1 "$mp" 2>/dev/null
wait "$mp"
rc=$?
if [ $class = ok ] && [ $rc -ne 3 ]; then class=crash; tail -3 u2.log
elif [ $class = ok ] && ! grep -qE "ignoring .*ppo_mean.partial.h5.*starting over" u2.log; then class=silent; fi
verdict corrupt_resume_file $class

# ---- 8. a stalled rank ----------------------------------------------------------------------------
rm -rf work
launch w.log "${long[@]}" --set run.watchdog_s=2
wait_line "$dir/run.log" "ppo mean [0-9]+/20000" "$mp"
r1=$(pgrep -P "$mp" | tail -1)
tk=$(now)
kill -STOP "$r1"
class=clean
wait_end "$mp" 30 || class=hang
took=$(since "$tk")
kill -CONT "$r1" 2>/dev/null
wait "$mp"
rc=$?
if [ $class = clean ]; then
  if [ $rc -eq 0 ]; then class=silent
  elif ! grep -qE "watchdog: MPI_[A-Za-z]+ has waited [0-9]+ s during stage ppo.*rank 1 \(pid $r1\) is stopped" w.log; then
    class=crash
    grep -E "watchdog|rank" w.log | head -3
  fi
fi
echo "SIGSTOP to rank pid $r1 with run.watchdog_s = 2: job ended after $took s: $(grep -E 'has waited' w.log | head -1)"
verdict stalled_rank $class clean

echo "---- cases: $(for k in "${!count[@]}"; do printf '%s %s, ' "$k" "${count[$k]}"; done)"
echo "elapsed $(($(date +%s) - t0)) s, seed $seed"
exit $fail
