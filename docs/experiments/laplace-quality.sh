#!/usr/bin/env bash
# Issue 15, item 6c: Laplace vs ensemble uncertainty quality, and the cost of each uncertainty source.
#   bash docs/experiments/laplace-quality.sh [run|tables]       (default: both)
# The quickstart (members from scratch, 25% label noise) with rm.laplace = true, R replicates
# (default 3), up to best-of-n. Each replicate's uncertainty.csv (Spearman of each source with
# |proxy - gold|, on pi_init's samples and on the best-of-n top quantiles) goes into summary.csv's
# unc_* rows; the CPU times are the rm and bon stages' own log lines ("CPU time over ...").
# Writes docs/experiments/laplace-quality.md and docs/figures/laplace_quality.png.
source "$(dirname "${BASH_SOURCE[0]}")/issue15-lib.sh"
what=${1:-all}
if [ "$what" != tables ]; then
  [ -e "$out/world/bon_samples.h5" ] || world
  run_point laplace --set rm.laplace=true --until bon
fi
if [ "$what" != run ]; then
  python3 "$here/docs/experiments/issue15_tables.py" laplace "$out" > "$here/docs/experiments/laplace-quality.md"
fi
