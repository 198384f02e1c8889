#!/usr/bin/env bash
# Issue 15, item 6a: ensemble diversity type x objective at 25% label noise (best-of-n).
#   bash docs/experiments/diversity.sh [run|tables]
# Points (R replicates each, the quickstart's world and preference samples):
#   finetune            members fine-tune the one pretrained trunk (rm.init = pretrained); this is the
#                       warm-noise.sh point at noise 0.25 (rm.warm only adds WARM; the members are the same)
#   pretrain            member m >= 1 fine-tunes its own trunk pretrained from its own seed
#   bootstrap           the shared trunk, each member on a bootstrap resample of the pairs
#   pretrain_bootstrap  both
#   scratch             members from random trunks (the quickstart; laplace-quality.sh's run)
# Writes docs/experiments/diversity.md and docs/figures/diversity.png.
source "$(dirname "${BASH_SOURCE[0]}")/issue15-lib.sh"
what=${1:-all}
if [ "$what" != tables ]; then
  [ -e "$out/world/bon_samples.h5" ] || world
  for p in "pretrain|[finetune, pretrain]" "pretrain_bootstrap|[finetune, pretrain, bootstrap]" \
    "bootstrap|[finetune, bootstrap]"; do
    [ -n "${ONLY:-}" ] && ! [[ ${p%%|*} =~ ^(${ONLY})$ ]] && continue
    name=div_${p%%|*}
    link_reps laplace "$name" prefs.h5
    run_point "$name" --set rm.init=pretrained --set "rm.diversity=${p#*|}" --until bon
  done
fi
if [ "$what" != run ]; then
  python3 "$here/docs/experiments/issue15_tables.py" diversity "$out" > "$here/docs/experiments/diversity.md"
fi
