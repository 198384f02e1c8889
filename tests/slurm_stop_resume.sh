#!/bin/bash
# Issue 7: "A stopped job (SIGTERM from scancel or --signal before the time limit) stops at a step
# boundary and can be resubmitted to continue", with the real template slurm/run.sbatch on a private
# single-node cluster (tests/slurm/start-slurm.sh, 2 CPUs):
# 1. job 1 (`sbatch --ntasks 2 slurm/run.sbatch CONFIG`, OVEROPT=the binary under test) pretrains
#    tests/configs/tiny.cfg with pretrain.steps 5000 and eval_every 50; as soon as
#    lm_d32L1H2.partial.h5 appears: `scancel --batch --signal=USR1 JOB` (the template forwards it to
#    mpirun's ranks). The job must leave the queue; its log says "stopped on request" and
#    "overopt exited with 3", JobState=FAILED with ExitCode=1:0 (the template's "stopped, resubmit");
#    the .partial.h5 exists and lm_d32L1H2.h5 does not.
# 2. job 2, the same sbatch command: its log says "resuming at step N" with N > 0, JobState=COMPLETED,
#    lm_d32L1H2.h5 and rm.h5 exist and the .partial.h5 is gone.
# Fails (does not skip) when Slurm is not installed.
# Usage (oo_script_test): slurm_stop_resume.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
export PATH=$PATH:/usr/sbin
for exe in slurmctld slurmd munged sbatch squeue scontrol scancel mpirun; do
  command -v "$exe" >/dev/null 2>&1 || {
    echo "FAILED: '$exe' not found: install slurm-wlm, munge and openmpi-bin (apt-get install slurm-wlm munge)"; exit 1; }
done

# ---- config: tiny.cfg with a long pretraining that checkpoints every 50 steps ------------------
cfg=$scratch/stop.cfg
runs=$scratch/runs
run_dir=$runs/tiny
size=d32L1H2
lm=lm_$size
steps=5000
sed -e "s|out_dir = \"runs\";|out_dir = \"$runs\";|" -e "s/^  steps = 30;/  steps = $steps;/" \
  -e 's/^  eval_every = 0;/  eval_every = 50;/' "$src/tests/configs/tiny.cfg" >"$cfg"
for want in "out_dir = \"$runs\";" "^  steps = $steps;" "^  eval_every = 50;"; do
  grep -q "$want" "$cfg" || { echo "FAILED: could not derive $cfg from tests/configs/tiny.cfg (no '$want')"; exit 1; }
done

# ---- a private cluster (tests/slurm/private-cluster.sh)
# shellcheck disable=SC1091
source "$src/tests/slurm/private-cluster.sh"
t0=$(date +%s)
private_cluster_start 18951

submit() { # log-file -> prints the job id
  OVEROPT=$overopt sbatch --parsable --ntasks 2 --chdir "$scratch" --output "$scratch/$1" \
    "$src/slurm/run.sbatch" "$cfg"
}
wait_gone() { # job seconds -> 0 once the job has left the queue
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    [ -z "$(squeue -h -j "$1" -t PD,R,CG,S 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  return 1
}
field() { scontrol show job "$1" 2>&1 | grep -o "$2=[^ ]*" | head -1; } # job Key -> Key=value

# ---- job 1: stop it at the first checkpoint ----------------------------------------------------
job1=$(submit job1.out) || { echo "FAILED: sbatch job 1: $job1"; exit 1; }
echo "job 1: $job1"
for ((i = 0; i < 240; i++)); do # 120 s
  [ -e "$run_dir/$lm.partial.h5" ] && break
  [ -z "$(squeue -h -j "$job1" -t PD,R,CG,S 2>/dev/null)" ] && break
  sleep 0.5
done
if [ ! -e "$run_dir/$lm.partial.h5" ]; then
  cat job1.out 2>/dev/null
  echo "FAILED: no $run_dir/$lm.partial.h5 within 120 s of submitting job 1 ($(field "$job1" JobState))"
  exit 1
fi
state=$(field "$job1" JobState)
[ "$state" = JobState=RUNNING ] || die "job 1 is $state when its first checkpoint appeared, want RUNNING (pretraining too short?)"
echo "first checkpoint after $(($(date +%s) - t0)) s: scancel --batch --signal=USR1 $job1"
scancel --batch --signal=USR1 "$job1" || die "scancel --batch --signal=USR1 $job1 failed"
wait_gone "$job1" 120 || { squeue -j "$job1"; cat job1.out; echo "FAILED: job 1 still in the queue 120 s after USR1"; exit 1; }
echo "---- job1.out"
cat job1.out
echo "----"
grep -q "USR1 received" job1.out || die "job 1: the template did not log 'USR1 received'"
grep -q "pretrain: stopped on request" job1.out || die "job 1: no '== pretrain: stopped on request' in its log"
grep -q "overopt exited with 3 " job1.out || die "job 1: overopt did not exit with 3 (OO_EXIT_STOPPED)"
grep -q "submit the same command again to resume" job1.out || die "job 1: the template did not say to resubmit"
[ "$(field "$job1" JobState)" = JobState=FAILED ] || die "job 1: $(field "$job1" JobState), want FAILED (stopped early: exit 1)"
[ "$(field "$job1" ExitCode)" = ExitCode=1:0 ] || die "job 1: $(field "$job1" ExitCode), want ExitCode=1:0"
[ -s "$run_dir/$lm.partial.h5" ] || die "job 1: no $lm.partial.h5 after the stop"
[ -e "$run_dir/$lm.h5" ] && die "job 1: $lm.h5 exists although pretraining was stopped"
[ -e "$run_dir/rm.h5" ] && die "job 1: rm.h5 exists although pretraining was stopped"

# ---- job 2: the same command resumes and finishes ------------------------------------------------
job2=$(submit job2.out) || { echo "FAILED: sbatch job 2: $job2"; exit 1; }
echo "job 2: $job2"
wait_gone "$job2" 400 || { squeue -j "$job2"; tail -30 job2.out; echo "FAILED: job 2 still in the queue after 400 s"; exit 1; }
echo "---- job2.out (grep)"
grep -E "run.sbatch|resuming|==" job2.out
echo "----"
step=$(sed -n "s/.*pretrain $size: resuming at step \([0-9]*\) .*/\1/p" job2.out | head -1)
[ -n "$step" ] && [ "$step" -gt 0 ] && [ "$step" -lt "$steps" ] ||
  die "job 2: no 'pretrain $size: resuming at step N' with 0 < N < $steps in its log"
[ "$(field "$job2" JobState)" = JobState=COMPLETED ] || { tail -30 job2.out; die "job 2: $(field "$job2" JobState), want COMPLETED"; }
grep -q "overopt exited with 0 " job2.out || die "job 2: overopt did not exit with 0"
for f in "$lm.h5" rm.h5; do
  [ -s "$run_dir/$f" ] || die "job 2: $run_dir/$f missing"
done
[ -e "$run_dir/$lm.partial.h5" ] && die "job 2: $lm.partial.h5 still there after pretraining finished"

echo "resumed at step ${step:-?}; elapsed $(($(date +%s) - t0)) s"
exit $fail
