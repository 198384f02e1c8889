#!/usr/bin/env bash
# Replicates share one world: `overopt run` on tests/configs/tiny.cfg (shrunk) under mpirun -n 2.
# 1. run.replicates = 2 on 2 ranks runs the replicates side by side (2 groups of 1 rank): the
#    world's artifacts (lm, gold, bon_samples) are in the run directory only, each rep<i>/ has its
#    own prefs, rm, bon, ppo and fits, its own config.cfg (run.seed + i) and run.log;
#    summary.csv has a row per (method, objective, x) over 2 replicates.
# 2. Raising run.replicates to 3 keeps the world and replicates 0 and 1 (skipped, mtimes kept)
#    and runs replicate 2 only, now on one group of 2 ranks.
# 3. Replicates differ where the replicate seed enters (label flips, members, PPO) and share what
#    the world fixes: every replicate's bon.h5 holds the same gold scores of the same samples.
# 4. A replicate does not depend on where it ran: replicate 1 computed on 1 rank (step 1) and
#    again on 2 ranks in another directory (R = 2 with replicate_groups = 1) has identical
#    prefs datasets, member weights and best-of-n curves (h5diff -d 0 on datasets, CSV bytes).
# Usage (oo_script_test): replicates.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
sets=(--set "run.out_dir=$scratch/runs" --set pretrain.steps=20 --set prefs.n_train=24 --set prefs.n_test=12
  --set rm.k=2 --set rm.epochs=1 --set bon.n_prompts=2 --set bon.n_samples=16 --set ppo.steps=4 --set ppo.batch=4
  --set ppo.minibatch=2 --set ppo.epochs=1 --set ppo.eval_every=2 --set ppo.n_eval_prompts=2
  --set "ppo.objectives=[single, mean, wco]")
dir=runs/tiny
same_data() { # same_data A B DATASET...: each dataset equal to the bit
  local a=$1 b=$2
  shift 2
  for d in "$@"; do h5diff -d 0 "$a" "$b" "$d" "$d" >/dev/null 2>&1 || die "$a and $b differ in $d"; done
}

# ---- 1. two replicates side by side ------------------------------------------------------------
run_sets run1.log --set run.replicates=2
want_line run1.log "^replicates: 2 \(run.seed 7 \.\. 8\) on 2 groups of 1 rank"
for f in lm_d32L1H2.h5 gold.h5 bon_samples.h5 config.cfg summary.csv summary.h5 report/report.md; do
  [ -s $dir/$f ] || die "$dir/$f missing"
done
for i in 0 1; do
  for f in prefs.h5 rm.h5 bon.h5 bon.csv ppo_single.csv ppo_wco.csv fits.csv config.cfg run.log; do
    [ -s $dir/rep$i/$f ] || die "$dir/rep$i/$f missing"
  done
  for f in lm_d32L1H2.h5 gold.h5 bon_samples.h5; do [ -e $dir/rep$i/$f ] && die "world artifact $f in rep$i"; done
  grep -qE "^ *seed = $((7 + i));" $dir/rep$i/config.cfg || die "rep$i/config.cfg does not hold run.seed = $((7 + i))"
done
for f in prefs.h5 rm.h5 bon.h5; do [ -e $dir/$f ] && die "replicate artifact $f in the run directory"; done
want_line $dir/rep1/run.log "Z == rm \(replicate 1\): done"
rows=$(awk -F, 'NR > 1 && $1 == "bon" && $2 == "wco" && $4 == 2' $dir/summary.csv | wc -l)
[ "$rows" -ge 5 ] || die "summary.csv: $rows bon/wco rows over 2 replicates, want one per n"
stat -c "%n %Y" $dir/lm_*.h5 $dir/gold.h5 $dir/bon_samples.h5 $dir/rep0/*.h5 $dir/rep1/*.h5 | sort >m1.txt

# ---- 2. a third replicate ---------------------------------------------------------------------------
run_sets run2.log --set run.replicates=3
want_line run2.log "^replicates: 3 \(run.seed 7 \.\. 9\) on 1 group of 2 ranks"
for st in gold bon_samples; do want_line run2.log "^== $st: up to date"; done
for i in 0 1; do
  for st in prefs rm bon; do want_line run2.log "^== $st \(replicate $i\): up to date"; done
done
want_line run2.log "^== rm \(replicate 2\): done"
stat -c "%n %Y" $dir/lm_*.h5 $dir/gold.h5 $dir/bon_samples.h5 $dir/rep0/*.h5 $dir/rep1/*.h5 | sort >m2.txt
cmp -s m1.txt m2.txt || { diff m1.txt m2.txt; die "the world or replicates 0-1 were rewritten"; }
awk -F, 'NR > 1 && $1 == "bon" && $4 != 3 { bad = 1 } END { exit bad }' $dir/summary.csv ||
  die "summary.csv does not count 3 replicates"

# ---- 3. what differs and what is shared -------------------------------------------------------
h5diff -d 0 $dir/rep0/prefs.h5 $dir/rep1/prefs.h5 /label_train /label_train >/dev/null 2>&1 &&
  h5diff -d 0 $dir/rep0/prefs.h5 $dir/rep1/prefs.h5 /resp /resp >/dev/null 2>&1 &&
  die "replicates 0 and 1 drew the same preference sample"
h5diff -d 0 $dir/rep0/bon.h5 $dir/rep1/bon.h5 /proxy /proxy >/dev/null 2>&1 && die "replicates 0 and 1 have the same members"
for i in 1 2; do same_data $dir/rep0/bon.h5 $dir/rep$i/bon.h5 /gold /prompt_doc; done

# ---- 4. the same replicate on 2 ranks instead of 1 ------------------------------------------------
"$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" --set "run.out_dir=$scratch/again" \
  --set run.replicates=2 --set layout.replicate_groups=1 --until bon >run3.log 2>&1 || { cat run3.log; die "run 3 failed"; }
want_line run3.log "on 1 group of 2 ranks"
b=again/tiny/rep1
same_data $dir/rep1/prefs.h5 $b/prefs.h5 /resp /resp_len /gold /label_train /label_clean
for m in 0 1; do
  for w in qkv_w attproj_w fc_w fcproj_w head_w head_b lnf_w; do same_data $dir/rep1/rm.h5 $b/rm.h5 /member_$m/$w; done
done
cmp -s $dir/rep1/bon.csv $b/bon.csv || die "replicate 1's bon.csv differs between 1 and 2 ranks"

# ---- 5. a group count that does not divide the ranks is refused before any stage runs ---------------
if "$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" --set "run.out_dir=$scratch/bad" \
  --set run.replicates=3 --set layout.replicate_groups=3 >run4.log 2>&1; then
  die "layout.replicate_groups = 3 on 2 ranks was accepted"
fi
grep -q "layout.replicate_groups = 3 does not divide the 2 ranks" run4.log || die "no clear message: $(head -3 run4.log)"
ls bad/tiny/*.h5 >/dev/null 2>&1 && die "stages ran before the bad group count was refused"

[ $fail -eq 0 ] && echo "replicates: ok"
exit $fail
