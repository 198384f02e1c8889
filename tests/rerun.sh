#!/usr/bin/env bash
# Reruns skip what is up to date: `overopt run` on tests/configs/tiny.cfg (shrunk further) under
# mpirun -n 2, three times:
# 1. from scratch: every stage runs, including fit and report (fits.csv, report/report.md);
# 2. the same command again: pretrain (per LM), gold, prefs, rm, bon, ppo (per run), fit and report
#    all say they are up to date / skipped, and no artifact (*.h5, *.csv, report/*) changes mtime;
# 3. with rm.lr changed: pretrain, gold and prefs are skipped and keep their mtimes; rm, bon, ppo,
#    fit and report run again and rewrite their files.
# Usage (oo_script_test): rerun.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
sets=(--set "run.out_dir=$scratch/runs" --set pretrain.steps=20 --set prefs.n_train=24 --set prefs.n_test=12
  --set rm.k=2 --set rm.epochs=1 --set bon.n_prompts=2 --set bon.n_samples=16 --set ppo.steps=2 --set ppo.batch=4
  --set ppo.minibatch=2 --set ppo.epochs=1 --set ppo.n_eval_prompts=2 --set "ppo.objectives=[mean]")
dir=runs/tiny
mtimes() { (cd $dir && stat -c '%n %y' *.h5 *.csv report/* | sort); }

t0=$(date +%s)
run_sets run1.log
for f in lm_d32L1H2.h5 gold.h5 prefs.h5 rm.h5 bon.h5 bon.csv ppo_mean.h5 ppo_mean.csv fits.csv fits.h5 report/report.md; do
  [ -s $dir/$f ] || die "$dir/$f missing after the first run"
done
want_line run1.log "^report: .*report/report.md"
mtimes >m1.txt

# 2. Nothing to do.
run_sets run2.log
grep -E "^==|skipped" run2.log
for st in gold prefs rm bon; do want_line run2.log "^== $st: up to date .*skipped"; done
n_lm=$(ls $dir/lm_*.h5 | wc -l)
[ "$(grep -cE '^pretrain .* is up to date, skipped' run2.log)" -eq "$n_lm" ] || die "run2: not every LM ($n_lm) skipped"
want_line run2.log "^ppo mean: ppo_mean.h5 is up to date, skipped"
want_line run2.log "^fit: .*up to date.*skipped"
want_line run2.log "^report: .*up to date.*skipped"
if grep -qE "^== (gold|prefs|rm|bon)$|wrote|reusing" run2.log; then die "run2 redid work: $(grep -E '^== (gold|prefs|rm|bon)$|wrote' run2.log)"; fi
mtimes >m2.txt
diff m1.txt m2.txt || die "run2 changed artifacts (mtimes above)"

# 3. An RM key changed: rm and everything after it rerun.
run_sets run3.log --set rm.lr=0.0005
grep -E "^==|skipped" run3.log
for st in gold prefs; do want_line run3.log "^== $st: up to date .*skipped"; done
[ "$(grep -cE '^pretrain .* is up to date, skipped' run3.log)" -eq "$n_lm" ] || die "run3: pretrain not skipped"
for st in rm bon ppo fit report; do
  want_line run3.log "^== $st: done"
done
if grep -qE "^== (rm|bon): up to date|ppo mean: .*skipped|^fit: .*skipped|^report: .*skipped" run3.log; then
  die "run3 skipped a stage downstream of rm"
fi
mtimes >m3.txt
for f in lm_d32L1H2.h5 gold.h5 prefs.h5; do
  [ "$(grep "^$f " m1.txt)" = "$(grep "^$f " m3.txt)" ] || die "run3 rewrote $f"
done
for f in rm.h5 bon.h5 bon.csv ppo_mean.h5 ppo_mean.csv fits.csv report/report.md; do
  [ "$(grep "^$f " m1.txt)" != "$(grep "^$f " m3.txt)" ] || die "run3 did not rewrite $f"
done
# 4. --force redoes every stage, including the ones that skip per file (pretrain, ppo).
run_sets run4.log --set rm.lr=0.0005 --force
if grep -qE "up to date|skipped" run4.log; then die "run4 (--force) skipped: $(grep -E 'up to date|skipped' run4.log | head -3)"; fi
grep -qE "^pretrain .*final train loss" run4.log || die "run4 (--force) did not retrain the LMs"
mtimes >m4.txt
for f in lm_d32L1H2.h5 gold.h5 prefs.h5 ppo_mean.h5; do
  [ "$(grep "^$f " m3.txt)" != "$(grep "^$f " m4.txt)" ] || die "run4 (--force) did not rewrite $f"
done
echo "elapsed $(($(date +%s) - t0)) s"
exit $fail
