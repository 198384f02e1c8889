#!/usr/bin/env bash
# The quickstart with a teacher gold (gold.kind = teacher: the mean per-token log-likelihood of
# the response under a separately pretrained LM of gold.size), 10 replicates on 2 ranks in one
# group (docs/experiments/teacher-world.md).
#   bash docs/experiments/teacher-world.sh [OUT [SEED]]   (default OUT: runs/teacher-world, SEED 1)
# About 22 minutes on 2 cores (the teacher's 600 pretraining steps, then 10 replicates).
# SEED is run.seed: replicates SEED .. SEED+9 of the same world. teacher-world.md's confirmation
# is a second set, SEED 101, pooled with the first:
#   bash docs/experiments/teacher-world.sh runs/teacher-world-101 101
#   python3 docs/experiments/pool.py runs/teacher-world-20 runs/teacher-world/quickstart \
#     runs/teacher-world-101/quickstart
# Prints the summary's tables (common sqrt(KL) grid), PPO's last evaluations (ppo_final.py) and
# the members' clean test accuracy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$here/runs/teacher-world}"
seed="${2:-1}"
export OPENBLAS_NUM_THREADS=1
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun -n 2 --oversubscribe "$here/build/overopt" run "$here/configs/quickstart.cfg" --quiet \
  --set run.replicates=10 --set layout.replicate_groups=1 --set gold.kind=teacher --set run.seed="$seed" \
  --set run.out_dir="$out"
dir="$out/quickstart"
python3 "$here/docs/experiments/summary_table.py" "$dir"
echo
python3 "$here/docs/experiments/ppo_final.py" "$dir" --from 30
echo
python3 - "$dir" <<'PY'
import csv, glob, statistics, sys
acc = [float(r["test_acc"]) for f in sorted(glob.glob(sys.argv[1] + "/rep*/rm_members.csv"))
       for r in csv.DictReader(open(f)) if r["epoch"] == "2"]
print(f"members' clean test accuracy (epoch 2, {len(acc)} members): min {min(acc):.3f}, "
      f"median {statistics.median(acc):.3f}, max {max(acc):.3f}")
PY
