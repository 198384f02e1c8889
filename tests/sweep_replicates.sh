#!/usr/bin/env bash
# Sweeps with replicates (issue #10): every sweep point runs run.replicates replicates and writes
# its own summary.csv, for a sweep over the world seed (tests/configs/tiny_seeds.cfg: 2 worlds)
# and one over the proxy width (tests/configs/tiny_sweep.cfg: 3 RM sizes sharing one world).
# Checks per point: rep0/ and rep1/ exist, summary.csv has best-of-n rows over 2 replicates, and
# points of different worlds have different best-of-n samples while the RM-size points share
# theirs (the world's bon_samples.h5 is reused, not recomputed).
# Usage (oo_script_test): sweep_replicates.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
sets=(--set run.replicates=2 --set "run.out_dir=$scratch/runs" --set ppo.steps=2 -q)

sweep() { # sweep NAME
  "$mpirun" --oversubscribe -n 2 "$overopt" sweep "$src/tests/configs/$1.cfg" "${sets[@]}" >"$1.log" 2>&1 ||
    { tail -20 "$1.log"; die "sweep $1 failed"; }
}
check_points() { # check_points NAME N
  local name=$1 n=$2
  for ((i = 0; i < n; i++)); do
    d=runs/$name/point_$i
    for f in bon_samples.h5 summary.csv rep0/bon.csv rep1/bon.csv rep1/ppo_single.csv; do
      [ -s "$d/$f" ] || die "$d/$f missing"
    done
    rows=$(awk -F, 'NR > 1 && $1 == "bon" && $4 == 2' "$d/summary.csv" 2>/dev/null | wc -l)
    [ "$rows" -ge 4 ] || die "$d/summary.csv: $rows best-of-n rows over 2 replicates"
  done
}

sweep tiny_seeds
check_points tiny_seeds 2
h5diff -d 0 runs/tiny_seeds/point_0/bon_samples.h5 runs/tiny_seeds/point_1/bon_samples.h5 /gold /gold >/dev/null 2>&1 &&
  die "two world seeds gave the same best-of-n samples"

sweep tiny_sweep
check_points tiny_sweep 3
grep -q "reusing .*point_0/bon_samples.h5" tiny_sweep.log ||
  grep -rq "reusing .*bon_samples.h5" runs/tiny_sweep/point_1/run.log || die "the RM-size points did not share the world's samples"
for i in 1 2; do
  h5diff -d 0 runs/tiny_sweep/point_0/bon_samples.h5 runs/tiny_sweep/point_$i/bon_samples.h5 /tokens /tokens >/dev/null 2>&1 ||
    die "point_$i's best-of-n samples differ from point_0's (one world)"
done

[ $fail -eq 0 ] && echo "sweep_replicates: ok"
exit $fail
