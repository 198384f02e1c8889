#!/usr/bin/env bash
# Issue 15, item 6d: the soft-minimum tau sweep from mean (tau -> inf) to wco (tau -> 0).
#   bash docs/experiments/softmin-tau.sh [run|tables]
# Cheap: no new training. `overopt bon-curves` recomputes every replicate's best-of-n curves from
# the scores stored in bon.h5 of the laplace-quality run (run that first) for each tau below, into
# $OUT/softmin/rep<i>/bon.csv, and `overopt summary` gives the intervals over replicates.
# Writes docs/experiments/softmin-tau.md and docs/figures/softmin_tau.png.
source "$(dirname "${BASH_SOURCE[0]}")/issue15-lib.sh"
what=${1:-all}
taus=${TAUS:-0.01,0.03,0.1,0.25,0.5,1,2,4,10,100}
if [ "$what" != tables ]; then
  src=$out/laplace
  [ -e "$src/rep0/bon.h5" ] || { echo "softmin-tau.sh: run docs/experiments/laplace-quality.sh first ($src/rep0/bon.h5 is missing)" >&2; exit 1; }
  for ((i = 0; i < R; i++)); do
    "$overopt" bon-curves "$src/rep$i" --softmin-tau "$taus" --uwo-lambda 0.5 --out bon_softmin -q
    mkdir -p "$out/softmin/rep$i"
    cp "$src/rep$i/bon_softmin.csv" "$out/softmin/rep$i/bon.csv"
  done
  "$overopt" summary "$out/softmin" --replicates "$R" -q
fi
if [ "$what" != run ]; then
  python3 "$here/docs/experiments/issue15_tables.py" softmin "$out" > "$here/docs/experiments/softmin-tau.md"
fi
