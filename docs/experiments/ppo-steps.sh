#!/usr/bin/env bash
# PPO at 60 and 120 steps: does `single` overoptimize, and do the ensembles' differences resolve,
# when the quickstart's PPO runs twice as long? (docs/experiments/ppo-steps.md)
#   bash docs/experiments/ppo-steps.sh [OUT]          (default OUT: runs/ppo-steps)
# 10 replicates of the quickstart on 2 ranks in one group (layout.replicate_groups = 1, the
# layout of the README's 10-replicate figures), first with the quickstart's 60 PPO steps, then a
# copy of that run with ppo.steps = 120, so that only the ppo stage is redone (the world,
# preferences, members and best-of-n are the 60-step run's). About 19 + 29 minutes on 2 cores.
# Prints the summary's tables (common sqrt(KL) grid) and the last evaluations (ppo_final.py).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$here/runs/ppo-steps}"
bin="$here/build/overopt"
export OPENBLAS_NUM_THREADS=1
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() { mpirun -n 2 --oversubscribe "$bin" run "$here/configs/quickstart.cfg" --quiet --set run.replicates=10 \
          --set layout.replicate_groups=1 "$@"; }
run --set run.out_dir="$out/steps60"
mkdir -p "$out/steps120"
[ -e "$out/steps120/quickstart" ] || cp -a "$out/steps60/quickstart" "$out/steps120/"
run --set run.out_dir="$out/steps120" --set ppo.steps=120
for s in 60 120; do
  echo "## ppo.steps = $s"
  python3 "$here/docs/experiments/summary_table.py" "$out/steps$s/quickstart" | sed -n '/^| ppo/,$p'
  echo
  python3 "$here/docs/experiments/ppo_final.py" "$out/steps$s/quickstart" --from $((s / 2))
  echo
done
