#!/usr/bin/env bash
# The search that chose the quickstart's world (issue #10 item 5), rerunnable:
#   bash docs/experiments/world-search.sh [OUT_DIR] [R]
# Each candidate below is configs/quickstart.cfg with a few --set overrides, run with R replicates
# (default 5) on every core up to best-of-n (BONLY=1, the default) or through PPO (BONLY=0). The
# world (pi_init, gold, bon_samples) and the preference samples of the baseline are hard-linked
# into every candidate's directory first; overopt reuses a linked artifact only when its recorded
# config hash matches the candidate's, so a candidate that changes the world recomputes it. Then
# `overopt summary` and summary_table.py print each candidate's verdict table.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$here/runs/world-search}
R=${2:-5}
overopt=${OVEROPT:-$here/build/overopt}
np=${NP:-$(nproc)}
until=bon
[ "${BONLY:-1}" = 0 ] && until=fit
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1

# name | overrides (the first is the baseline whose world the others reuse). The quickstart's
# keys are the defaults, so the candidates spell out what they change from it. Best-of-n phase
# (R = 5, BONLY=1) then PPO phase (R = 3, BONLY=0 ONLY='ppo_.*'), as in world-search.md.
pre="--set rm.init=pretrained --set ppo.steps=100 --set ppo.lr=2e-4 --set ppo.vf_coef=1.0 --set ppo.eval_every=5 --set ppo.n_eval_prompts=32"
candidates=(
  "base|$pre"
  "scratch|"
  "scratch_noise10|--set prefs.noise=0.1"
  "ppo_head_vf01|"
  "ppo_model|--set ppo.value=model --set ppo.vf_coef=1.0"
)
[ -n "${ONLY:-}" ] && candidates=($(printf '%s\n' "${candidates[@]}" | grep -E "^(${ONLY})\|" | tr '\n' ' ' | sed 's/ $//'))

mkdir -p "$out"
base=${candidates[0]%%|*}
for c in "${candidates[@]}"; do
  name=${c%%|*} sets=${c#*|}
  dir=$out/$name
  mkdir -p "$dir"
  if [ "$name" != "$base" ] && [ -d "$out/$base" ]; then
    for f in "$out/$base"/lm_*.h5 "$out/$base/gold.h5" "$out/$base/bon_samples.h5"; do
      [ -e "$f" ] && [ ! -e "$dir/$(basename "$f")" ] && ln "$f" "$dir/"
    done
    for ((i = 0; i < R; i++)); do
      mkdir -p "$dir/rep$i"
      f=$out/$base/rep$i/prefs.h5
      [ -e "$f" ] && [ ! -e "$dir/rep$i/prefs.h5" ] && ln "$f" "$dir/rep$i/"
    done
  fi
  echo "== $name: $sets"
  # shellcheck disable=SC2086
  mpirun --oversubscribe -n "$np" "$overopt" run "$here/configs/quickstart.cfg" -q --set "run.out_dir=$out" \
    --set "run.name=$name" --set "run.replicates=$R" $sets --until $until
  "$overopt" summary "$dir" --replicates "$R" -q
  python3 "$here/docs/experiments/summary_table.py" "$dir"
done
