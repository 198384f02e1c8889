#!/usr/bin/env bash
# Issue 15, item 6b: WARM (weight averaging) vs prediction ensembles across label noise 0 / 0.25 / 0.4.
#   bash docs/experiments/warm-noise.sh [run|tables]
# WARM needs members that share an initialization, so every point fine-tunes the world's pretrained
# proxy-size trunk (rm.init = pretrained, rm.warm = true); best-of-n only, R replicates each.
# Writes docs/experiments/warm-noise.md and docs/figures/warm_noise.png.
source "$(dirname "${BASH_SOURCE[0]}")/issue15-lib.sh"
what=${1:-all}
if [ "$what" != tables ]; then
  [ -e "$out/world/bon_samples.h5" ] || world
  for noise in ${NOISES:-0.0 0.25 0.4}; do
    [ "$noise" = 0.25 ] && link_reps laplace "warm_noise$noise" prefs.h5
    run_point "warm_noise$noise" --set rm.init=pretrained --set rm.warm=true --set "prefs.noise=$noise" --until bon
  done
fi
if [ "$what" != run ]; then
  python3 "$here/docs/experiments/issue15_tables.py" warm "$out" > "$here/docs/experiments/warm-noise.md"
fi
