#!/bin/bash
# A 3-point sweep (tests/configs/tiny_sweep.cfg: rm.size.d_model 16, 24, 32) as a Slurm job array on
# a private single-node cluster (tests/slurm/start-slurm.sh, 2 CPUs so the 2-rank tasks run one
# after another):
# - `overopt sweep CONFIG --slurm` writes sweep.cfg and sweep.sbatch (array 0-2, ntasks 2, time from
#   slurm.*) and submits it; the array finishes within 400 s with every task COMPLETED;
# - every point_<i> has rm.h5, bon.h5 and fits.csv; later points hard-linked the earlier point's
#   gold.h5 (share directories) instead of recomputing it;
# - `overopt fit` (mpirun -n 2) and `overopt report` on the sweep directory: sweep.csv has 3 rows with
#   the axis values and increasing rm_params, fits.csv has the scaling rows, report.md exists.
# Fails (does not skip) when Slurm is not installed.
# Usage (oo_script_test): sweep_slurm.sh OVEROPT SOURCE_DIR SCRATCH_DIR
set -u
overopt=$1 src=$2 scratch=$3
export PATH=$PATH:/usr/sbin
for exe in slurmctld slurmd munged sbatch squeue scontrol mpirun; do
  command -v "$exe" >/dev/null 2>&1 || {
    echo "FAILED: '$exe' not found: install slurm-wlm, munge and openmpi-bin (apt-get install slurm-wlm munge)"; exit 1; }
done
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$scratch" || exit 1
fail=0
die() { echo "FAILED: $*"; fail=1; }

# ---- a private cluster (tests/slurm/private-cluster.sh)
# shellcheck disable=SC1091
source "$src/tests/slurm/private-cluster.sh"
t0=$(date +%s)
private_cluster_start 17901

# ---- submit ---------------------------------------------------------------------------------------
sweep=$scratch/runs/tiny_sweep
"$overopt" sweep "$src/tests/configs/tiny_sweep.cfg" --slurm --set "run.out_dir=$scratch/runs" >submit.log 2>&1 ||
  { cat submit.log; echo "FAILED: overopt sweep --slurm"; exit 1; }
cat submit.log
job=$(sed -n 's/^job: \([0-9]*\)$/\1/p' submit.log)
[ -n "$job" ] || { echo "FAILED: no 'job: ID' line from overopt sweep --slurm"; exit 1; }
for line in "#SBATCH --array=0-2" "#SBATCH --ntasks=2" "#SBATCH --time=00:10:00" "#SBATCH --chdir=$scratch" \
  "CONFIG=\${1:-$sweep/sweep.cfg}"; do
  grep -qxF -- "$line" "$sweep/sweep.sbatch" || die "sweep.sbatch lacks '$line'"
done
grep -q "^#SBATCH --partition" "$sweep/sweep.sbatch" && die "sweep.sbatch sets a partition though slurm.partition is empty"

# ---- wait for the array ------------------------------------------------------------------------
for ((i = 0; i < 400; i++)); do
  [ -z "$(squeue -h -j "$job" -t PD,R,CG,S 2>/dev/null)" ] && break
  sleep 1
done
if [ -n "$(squeue -h -j "$job" -t PD,R,CG,S 2>/dev/null)" ]; then
  squeue -j "$job"
  die "array $job still queued or running after 400 s"
fi
echo "array $job left the queue after $(($(date +%s) - t0)) s"
n_done=$(scontrol show job "$job" 2>&1 | grep -c 'JobState=COMPLETED')
[ "$n_done" = 3 ] || die "array $job: $n_done of 3 tasks COMPLETED: $(scontrol show job "$job" | grep -o 'JobState=[A-Z_]*' | tr '\n' ' ')"
for t in 0 1 2; do
  out=$sweep/slurm_${job}_$t.out
  grep -q "point $t: overopt exited with 0" "$out" 2>/dev/null || { tail -20 "$out" 2>/dev/null; die "task $t: $out lacks 'exited with 0'"; }
  for f in rm.h5 bon.h5 bon.csv fits.csv config.cfg; do
    [ -s "$sweep/point_$t/$f" ] || die "point_$t/$f missing"
  done
done
for t in 1 2; do
  links=$(stat -c %h "$sweep/point_$t/gold.h5" 2>/dev/null || echo 0)
  [ "$links" -ge 2 ] || die "point_$t/gold.h5 has $links link(s): not reused from another point"
done
links=$(stat -c %h "$sweep/point_0/lm_d32L1H2.h5" 2>/dev/null || echo 0)
[ "$links" -ge 3 ] || die "pi_init point_0/lm_d32L1H2.h5 has $links link(s): points 1 and 2 did not reuse it"
grep -h "reusing" "$sweep"/point_*/run.log

# ---- fit and report of the sweep ------------------------------------------------------------------
mpirun --oversubscribe -n 2 "$overopt" fit "$sweep" >fit.log 2>&1 || { cat fit.log; die "overopt fit $sweep"; }
grep -A4 "scaling fits" fit.log
"$overopt" report "$sweep" >report.log 2>&1 || { cat report.log; die "overopt report $sweep"; }
cat "$sweep/sweep.csv"
[ "$(tail -n +2 "$sweep/sweep.csv" | wc -l)" -eq 3 ] || die "sweep.csv has $(tail -n +2 "$sweep/sweep.csv" | wc -l) rows, want 3"
[ "$(tail -n +2 "$sweep/sweep.csv" | cut -d, -f1,2 | tr '\n' ' ')" = "0,16 1,24 2,32 " ] ||
  die "sweep.csv point,rm.size.d_model columns: $(tail -n +2 "$sweep/sweep.csv" | cut -d, -f1,2 | tr '\n' ' ')"
awk -F, 'NR == 1 { for (j = 1; j <= NF; j++) if ($j == "rm_params") c = j; next }
  { if (!c || !($c > prev)) bad = 1; prev = $c } END { exit bad }' "$sweep/sweep.csv" ||
  die "sweep.csv rm_params missing or not increasing with d_model"
[ "$(grep -c '^scaling,' "$sweep/fits.csv")" -ge 2 ] || die "sweep fits.csv has no scaling rows: $(cat "$sweep/fits.csv")"
[ -s "$sweep/report/report.md" ] || die "no $sweep/report/report.md"

echo "elapsed $(($(date +%s) - t0)) s"
exit $fail
