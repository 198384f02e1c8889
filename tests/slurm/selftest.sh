#!/bin/bash
# selftest.sh OVEROPT [SOURCE_DIR] [SCRATCH_DIR]: end-to-end check of Slurm + Open MPI here.
#
# Starts a private cluster (start-slurm.sh), submits
#   1. a batch job with 2 tasks that runs `mpirun -n 2 --oversubscribe OVEROPT --version`,
#   2. a 3-task job array,
# polls squeue until both have left the queue, checks their outputs and that `scontrol show job`
# reports JobState=COMPLETED for every job and array task, then stops the cluster.
# (The argument order is what oo_script_test passes: binary, source dir, scratch dir.)
# SELFTEST_MPI_CMD replaces "OVEROPT --version" as the MPI command.
#
# Unless SLURM_TEST_DIR is set, the cluster lives in its own /tmp directory on free ports, so
# the test does not disturb a cluster someone started with start-slurm.sh; a cluster that was
# already running in $SLURM_TEST_DIR is left running.
# Exit status 0 = every check passed. A missing Slurm is a failure, not a skip.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 1 || -n ${SELFTEST_MPI_CMD:-} ]] || {
  echo "usage: selftest.sh OVEROPT [SOURCE_DIR] [SCRATCH_DIR]" >&2; exit 2; }
MPI_CMD=${SELFTEST_MPI_CMD:-"$1 --version"}
export PATH=$PATH:/usr/sbin

FAILS=0
pass() { echo "PASS: $*"; }
failc() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

for exe in slurmctld slurmd munged sbatch mpirun; do
  if ! command -v "$exe" >/dev/null 2>&1; then
    echo "FAIL: '$exe' not found. The Slurm tests need a local Slurm and Open MPI: install the Debian" \
      "packages slurm-wlm and munge (apt-get install slurm-wlm munge; openmpi-bin for mpirun)."
    exit 1
  fi
done

SCRATCH=${3:-$(mktemp -d /tmp/overopt-selftest.XXXXXX)}

# ---- a private cluster ------------------------------------------------------------------------
listening() { awk -v h="$(printf ':%04X$' "$1")" '$2 ~ h && $4 == "0A" {f = 1} END {exit !f}' \
  /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
if [[ -z ${SLURM_TEST_DIR:-} ]]; then
  export SLURM_TEST_DIR=/tmp/overopt-slurm-selftest.$$
  if [[ -z ${SLURM_CTLD_PORT:-} ]]; then
    for ((p = 16837 + ($$ % 50) * 2; p < 17837; p += 2)); do
      listening $p || listening $((p + 1)) || break
    done
    export SLURM_CTLD_PORT=$p SLURM_D_PORT=$((p + 1))
  fi
fi
B=$SLURM_TEST_DIR
WAS_RUNNING=0
[[ -s $B/run/slurmctld.pid ]] && kill -0 "$(cat "$B/run/slurmctld.pid")" 2>/dev/null && WAS_RUNNING=1
cleanup() {
  if [[ $WAS_RUNNING == 0 ]]; then bash "$HERE/stop-slurm.sh" --clean >/dev/null; fi
}
trap cleanup EXIT
T0=$(date +%s)
bash "$HERE/start-slurm.sh" || { echo "FAIL: start-slurm.sh"; exit 1; }
# shellcheck disable=SC1091
source "$B/env.sh"

mkdir -p "$SCRATCH" && cd "$SCRATCH" || { echo "FAIL: cannot use scratch dir $SCRATCH"; exit 1; }
rm -f mpi_*.out arr_*.out

# What the MPI command prints when run once without mpirun (each rank prints at least this).
REF=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 $MPI_CMD 2>&1 | head -n 1)

cat >mpi_job.sh <<EOF
#!/bin/bash
#SBATCH -J oo-selftest-mpi
#SBATCH -o mpi_%j.out
#SBATCH -n 2
#SBATCH -t 00:05:00
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "job \$SLURM_JOB_ID ntasks=\$SLURM_NTASKS"
mpirun -n 2 --oversubscribe $MPI_CMD
echo "mpirun rc=\$?"
EOF
cat >arr_job.sh <<'EOF'
#!/bin/bash
#SBATCH -J oo-selftest-arr
#SBATCH -o arr_%A_%a.out
#SBATCH --array=0-2
#SBATCH -t 00:02:00
echo "array job $SLURM_ARRAY_JOB_ID task $SLURM_ARRAY_TASK_ID"
EOF

J1=$(sbatch --parsable mpi_job.sh) || { echo "FAIL: sbatch mpi_job.sh"; exit 1; }
J2=$(sbatch --parsable arr_job.sh) || { echo "FAIL: sbatch arr_job.sh"; exit 1; }
echo "submitted mpi job $J1, array job $J2"
for ((i = 0; i < 1200; i++)); do # 120 s
  [[ -z $(squeue -h -j "$J1,$J2" -t PD,R,CG,S 2>/dev/null) ]] && break
  sleep 0.1
done
if [[ -n $(squeue -h -j "$J1,$J2" -t PD,R,CG,S 2>/dev/null) ]]; then
  failc "jobs still queued after 120 s:"; squeue -j "$J1,$J2"
fi

# ---- checks ---------------------------------------------------------------------------------------
out=mpi_$J1.out
if [[ -f $out ]] && grep -q 'mpirun rc=0' "$out" && [[ $(grep -cF -- "$REF" "$out") -ge 1 ]]; then
  pass "sbatch -n 2: mpirun -n 2 $MPI_CMD ($(grep -cF -- "$REF" "$out") lines '$REF')"
else
  failc "mpi job output $SCRATCH/$out lacks 'mpirun rc=0' or '$REF':"; cat "$out" 2>/dev/null
fi
state=$(scontrol show job "$J1" 2>&1 | grep -o 'JobState=[A-Z_]*' | head -n 1)
[[ $state == JobState=COMPLETED ]] && pass "job $J1 $state" || failc "job $J1: '$state', expected JobState=COMPLETED"

for t in 0 1 2; do
  f=arr_${J2}_$t.out
  if grep -qx "array job $J2 task $t" "$f" 2>/dev/null; then :; else
    failc "array task $t: $SCRATCH/$f missing or wrong:"; cat "$f" 2>/dev/null
  fi
done
states=$(scontrol show job "$J2" 2>&1 | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s ' ')
n_done=$(scontrol show job "$J2" 2>&1 | grep -c 'JobState=COMPLETED')
[[ $n_done == 3 ]] && pass "array 0-2: 3 tasks COMPLETED with outputs" ||
  failc "array job $J2: expected 3 tasks JobState=COMPLETED, got:$states"

if ((FAILS > 0)); then
  for f in slurmctld slurmd; do echo "---- tail $B/log/$f.log"; tail -n 20 "$B/log/$f.log"; done
  echo "SELFTEST FAILED ($FAILS failures, $(($(date +%s) - T0)) s)"
  exit 1
fi
echo "ALL PASSED ($(($(date +%s) - T0)) s)"
