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

# name | overrides (the first is the baseline whose world the others reuse)
candidates=(
  "base|"
  "scratch|--set rm.init=scratch"
  "scratch_noise10|--set rm.init=scratch --set prefs.noise=0.1"
  "bootstrap|--set rm.diversity=[finetune,bootstrap]"
  "scratch_bootstrap|--set rm.init=scratch --set rm.diversity=[finetune,bootstrap]"
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
