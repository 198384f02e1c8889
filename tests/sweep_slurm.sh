#!/bin/bash
# A 3-point sweep (tests/configs/tiny_sweep.cfg: rm.size.d_model 16, 24, 32) as a Slurm job array on
# a private single-node cluster (tests/slurm/start-slurm.sh, 2 CPUs so the 2-rank tasks run one
# after another):
# - `overopt sweep CONFIG --slurm` writes sweep.cfg and sweep.sbatch (array 0-2, ntasks 2, time from
#   slurm.*) and submits it; the array finishes within 400 s with every task COMPLETED;
# - every point_<i> has rm.h5, bon.h5 and fits.csv; later points hard-linked the earlier point's
#   gold.h5 (share directories) instead of recomputing it;
# - `--dry-run` writes nothing and prints the job scripts (LAUNCHER from slurm.launcher);
# - the fit and report job is submitted with --dependency=afterok:<array>, starts after the array
#   ended, completes, and its `overopt fit` / `overopt report` of the sweep directory give sweep.csv
#   with 3 rows (axis values, increasing rm_params), the scaling rows of fits.csv and report.md.
# Fails (does not skip) when Slurm is not installed.
# Usage (oo_script_test): sweep_slurm.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
export PATH=$PATH:/usr/sbin
for exe in slurmctld slurmd munged sbatch squeue scontrol mpirun; do
  command -v "$exe" >/dev/null 2>&1 || {
    echo "FAILED: '$exe' not found: install slurm-wlm, munge and openmpi-bin (apt-get install slurm-wlm munge)"; exit 1; }
done

# ---- a private cluster (tests/slurm/private-cluster.sh)
# shellcheck disable=SC1091
source "$src/tests/slurm/private-cluster.sh"
t0=$(date +%s)
private_cluster_start 17901

# ---- a dry run writes nothing ------------------------------------------------------------------------
sweep=$scratch/runs/tiny_sweep
"$overopt" sweep "$src/tests/configs/tiny_sweep.cfg" --slurm --dry-run --set "run.out_dir=$scratch/runs" \
  --set 'slurm.launcher="mpirun --oversubscribe"' >dry.log 2>&1 || { cat dry.log; die "sweep --slurm --dry-run"; }
[ -e "$scratch/runs" ] && die "--dry-run created $(find "$scratch/runs" | head -3 | tr '\n' ' ')"
grep -q "^LAUNCHER=\${OVEROPT_LAUNCHER:-'mpirun --oversubscribe'}" dry.log || die "dry run: no LAUNCHER line from slurm.launcher"
grep -q "dependency=afterok" dry.log || die "dry run does not mention the afterok report job"

# ---- submit ---------------------------------------------------------------------------------------
"$overopt" sweep "$src/tests/configs/tiny_sweep.cfg" --slurm --set "run.out_dir=$scratch/runs" >submit.log 2>&1 ||
  { cat submit.log; echo "FAILED: overopt sweep --slurm"; exit 1; }
cat submit.log
job=$(sed -n 's/^job: \([0-9]*\)$/\1/p' submit.log)
[ -n "$job" ] || { echo "FAILED: no 'job: ID' line from overopt sweep --slurm"; exit 1; }
rjob=$(sed -n 's/^report job: \([0-9]*\)$/\1/p' submit.log)
[ -n "$rjob" ] || { echo "FAILED: no 'report job: ID' line from overopt sweep --slurm"; exit 1; }
scontrol show job "$rjob" | grep -qE "Dependency=afterok:${job}(_\*)?" ||
  die "report job $rjob does not depend on afterok:$job: $(scontrol show job "$rjob" | grep -o 'Dependency=[^ ]*')"
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

# ---- the fit and report job ran after the array (afterok) and produced the sweep report -------------
for ((i = 0; i < 200; i++)); do
  [ -z "$(squeue -h -j "$rjob" -t PD,R,CG,S 2>/dev/null)" ] && break
  sleep 1
done
rinfo=$(scontrol show job "$rjob" 2>&1)
echo "$rinfo" | grep -q 'JobState=COMPLETED' || die "report job $rjob: $(echo "$rinfo" | grep -o 'JobState=[A-Z_]*')"
rstart=$(echo "$rinfo" | sed -n 's/.*StartTime=\([0-9T:-]*\).*/\1/p' | head -1)
aend=$(scontrol show job "$job" | sed -n 's/.*EndTime=\([0-9T:-]*\).*/\1/p' | sort | tail -1)
echo "array ended $aend, report job started $rstart"
[[ -n $rstart && -n $aend && ! $rstart < $aend ]] || die "report job started ($rstart) before the array ended ($aend)"
rlog=$sweep/slurm_report_$rjob.out
grep -q "report job: exited with 0" "$rlog" 2>/dev/null || { tail -20 "$rlog"; die "report job log $rlog lacks 'exited with 0'"; }
grep -A4 "scaling fits" "$rlog"
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
