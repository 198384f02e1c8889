#!/bin/bash
# summary.sh OVEROPT SOURCE_DIR SCRATCH_DIR: `overopt summary` on synthetic replicates
# (tests/summary_data/make_replicates.py) checked by the independent Python implementation
# (tests/summary_check.py) for R = 4, 2 and 1; the replicate report (plots, verdict tables, checked
# by the same script); and errors that name the replicate directory or file and line.
. "$(dirname "$0")/lib.sh" "$@"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
is_png() { [[ -f $1 && $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] && (($(stat -c %s "$1") > 15000)); }
# expect_error NAME PATTERN... -- ARGS...: overopt ARGS must fail with every pattern on stderr
expect_error() {
  local name=$1 pats=()
  shift
  while [[ $1 != -- ]]; do pats+=("$1"); shift; done
  shift
  if "$overopt" "$@" >"$scratch/$name.out" 2>"$scratch/$name.err"; then fail "$name: overopt $* succeeded"; return; fi
  for p in "${pats[@]}"; do
    grep -qF -- "$p" "$scratch/$name.err" || { fail "$name: stderr lacks '$p':"; cat "$scratch/$name.err"; return; }
  done
  ok "$name: $(head -c 300 "$scratch/$name.err")"
}

D=$scratch/run
python3 "$src/tests/summary_data/make_replicates.py" "$D" 4 || exit 1

# ---- R = 4 (found by counting rep<i>), then 2 and 1 given explicitly -------------------------------
for R in 4 2 1; do
  args=("$D")
  ((R != 4)) && args+=(--replicates "$R")
  if ! "$overopt" summary "${args[@]}" >"$scratch/summary$R.out" 2>"$scratch/summary$R.err"; then
    fail "overopt summary R=$R:"; cat "$scratch/summary$R.err"; continue
  fi
  grep -qx "summary: $D/summary.csv ($R replicates)" "$scratch/summary$R.out" || fail "R=$R: unexpected output $(cat "$scratch/summary$R.out")"
  [[ -f $D/summary.h5 && -f $D/fits_summary.csv && -f $D/uncertainty_summary.csv ]] ||
    fail "R=$R: summary.h5, fits_summary.csv or uncertainty_summary.csv missing"
  ls "$D" | grep -q '\.tmp' && fail "R=$R: temporary files left in $D"
  if ! "$overopt" report "$D" >"$scratch/report$R.out" 2>"$scratch/report$R.err"; then
    fail "overopt report R=$R:"; cat "$scratch/report$R.err"; continue
  fi
  for p in bon_gold bon_diff ppo_gold ppo_diff bon_objectives ppo_objectives; do is_png "$D/report/$p.png" || fail "R=$R: $p.png missing or not a PNG"; done
  # each figure with the CSV of what it draws (issue #14)
  python3 "$src/tests/figure_csv_check.py" "$D/report" bon_gold bon_diff ppo_gold ppo_diff bon_objectives ppo_objectives ||
    fail "R=$R: figure CSVs"
  # the mean gold drawn is summary.csv's gold_mean, row for row (bon, the first objective)
  obj=$(awk -F, 'NR == 2 { print $2 }' "$D/summary.csv")
  drawn=$(awk -F, -v o="$obj" '$1 == o && $3 == "gold" { printf "%.6g\n", $5 }' "$D/report/bon_objectives.csv")
  want=$(awk -F, -v o="$obj" '$1 == "bon" && $2 == o { printf "%.6g\n", $5 }' "$D/summary.csv")
  [ -n "$want" ] && [ "$drawn" = "$want" ] && ok "R=$R: bon_objectives.csv draws summary.csv's gold_mean of $obj" ||
    fail "R=$R: bon_objectives.csv's gold of $obj ($(echo $drawn)) differs from summary.csv's gold_mean ($(echo $want))"
  if python3 "$src/tests/summary_check.py" "$D" "$R" "$D/report/report.md"; then ok "summary_check R=$R"
  else fail "summary_check R=$R"; fi
done
# R = 1: every interval column is NaN
awk -F, 'NR > 1 && ($7 != "nan" || $8 != "nan" || $10 != "nan" || $11 != "nan") {bad++} END {exit bad > 0}' \
  "$D/summary.csv" && ok "R=1: interval columns are nan" || fail "R=1: interval columns not all nan"
grep -qF 'unresolved (one replicate: no interval)' "$D/report/report.md" || fail "R=1: report makes a claim"

# summary.h5 holds the table's columns with units and descriptions
"$overopt" summary "$D" >/dev/null 2>&1 || fail "overopt summary R=4 again"
if command -v h5dump >/dev/null; then
  h5dump -H "$D/summary.h5" >"$scratch/h5.txt" 2>&1 || fail "h5dump summary.h5"
  for c in method objective x replicates gold_mean gold_sd gold_ci_lo gold_ci_hi diff_mean diff_ci_lo diff_ci_hi wins; do
    grep -q "DATASET \"$c\"" "$scratch/h5.txt" || fail "summary.h5 lacks dataset $c"
  done
  [[ $(grep -c 'ATTRIBUTE "units"' "$scratch/h5.txt") -ge 12 ]] || fail "summary.h5: units attributes missing"
  want=$(h5dump -d gold_mean -y -w 0 "$D/summary.h5" | tr -d ' ,\n' | head -c 40)
  [[ -n $want ]] && ok "summary.h5 columns and attributes" || fail "summary.h5 gold_mean empty"
else
  echo "note: h5dump not installed (Debian hdf5-tools); summary.h5 not inspected"
fi

# ---- errors ------------------------------------------------------------------------------------------
bad() { rm -rf "${scratch:?}/$1" && cp -r "$D" "$scratch/$1" && rm -f "$scratch/$1"/summary.* "$scratch/$1"/fits_summary.csv "$scratch/$1"/uncertainty_summary.csv; }
bad missing_rep
expect_error missing_rep "replicate directory '$scratch/missing_rep/rep4' not found" -- summary "$scratch/missing_rep" --replicates 6
bad missing_file; rm "$scratch/missing_file/rep2/ppo_wco.csv"
expect_error missing_file "replicate directory '$scratch/missing_file/rep2' has no ppo_wco.csv" -- summary "$scratch/missing_file"
bad missing_bon; rm "$scratch/missing_bon/rep3/bon.csv"
expect_error missing_bon "replicate directory '$scratch/missing_bon/rep3' has no bon.csv" -- summary "$scratch/missing_bon"
bad short_row; f=$scratch/short_row/rep1/bon.csv; sed -i '5s/,[^,]*$//' "$f"
expect_error short_row "$f:5: 5 fields, but the header (line 1) has 6" -- summary "$scratch/short_row"
bad bad_number; f=$scratch/bad_number/rep2/ppo_single.csv; sed -i '6s/,[^,]*$/,abc/' "$f"
expect_error bad_number "$f:6: column 'eval_gold': 'abc' is not a number" -- summary "$scratch/bad_number"
bad other_n; f=$scratch/other_n/rep1/bon.csv; sed -i '3s/^single,2,/single,3,/' "$f"
expect_error other_n "$f:3: objective 'single' at n = 3 is not in rep0's bon.csv" -- summary "$scratch/other_n"
bad no_eval; f=$scratch/no_eval/rep1/ppo_wco.csv; awk -F, -v OFS=, 'NR > 1 {$12 = "NaN"} 1' "$f" >"$f.new" && mv "$f.new" "$f"
expect_error no_eval "$f: no evaluation rows" -- summary "$scratch/no_eval"
bad missing_unc; rm "$scratch/missing_unc/rep1/uncertainty.csv"
expect_error missing_unc "replicate directory '$scratch/missing_unc/rep1' has no uncertainty.csv" -- summary "$scratch/missing_unc"
bad fits_twice; f=$scratch/fits_twice/rep3/fits.csv; line=$(grep '^bon,wco,' "$f"); echo "$line" >>"$f"
expect_error fits_twice "$f:10: the row of curve 'wco', form 'bon' appears twice" -- summary "$scratch/fits_twice"
# a fit the fit stage left out in one replicate (and one only rep2 has) counts where present
bad fits_missing; sed -i '/^bon,wco,/d' "$scratch/fits_missing/rep3/fits.csv"; echo 'ppo,extra,rl,1,0.5,0.9,2,1' >>"$scratch/fits_missing/rep2/fits.csv"
if "$overopt" summary "$scratch/fits_missing" >/dev/null 2>"$scratch/fits_missing.err" && python3 "$src/tests/summary_check.py" "$scratch/fits_missing" 4 &&
   grep -q '^wco,bon,alpha,3,' "$scratch/fits_missing/fits_summary.csv" && grep -q '^extra,rl,beta,1,0.5,nan,nan,nan' "$scratch/fits_missing/fits_summary.csv"; then
  ok "fits missing in some replicates: counted where present"
else
  fail "fits missing in some replicates:"; cat "$scratch/fits_missing.err"; grep -E '^(wco,bon|extra)' "$scratch/fits_missing/fits_summary.csv"
fi
# a PPO method whose KL estimates never exceed 0 in some replicate has no grid: left out, warned
bad no_kl; f=$scratch/no_kl/rep1/ppo_single_beta0.05.csv
awk -F, -v OFS=, 'NR > 1 && $12 != "NaN" {$12 = "-0.01"} 1' "$f" >"$f.new" && mv "$f.new" "$f"
if "$overopt" summary "$scratch/no_kl" >"$scratch/no_kl.out" 2>"$scratch/no_kl.err"; then
  grep -qF "PPO method 'ppo_beta0.05' left out: $f never has an evaluation KL above 0" "$scratch/no_kl.err" ||
    fail "no_kl: no warning naming $f"
  grep -q '^ppo_beta0.05,' "$scratch/no_kl/summary.csv" && fail "no_kl: ppo_beta0.05 rows written"
  grep -q '^ppo,wco,' "$scratch/no_kl/summary.csv" || fail "no_kl: ppo rows missing"
  python3 "$src/tests/summary_check.py" "$scratch/no_kl" 4 && ok "no_kl: method left out, check passes" || fail "no_kl: summary_check"
  "$overopt" report "$scratch/no_kl" >/dev/null 2>&1 && grep -qF '**Left out:** PPO method(s) ppo_beta0.05' "$scratch/no_kl/report/report.md" ||
    fail "no_kl: report.md does not say ppo_beta0.05 was left out"
else
  fail "no_kl: overopt summary failed:"; cat "$scratch/no_kl.err"
fi
mkdir -p "$scratch/empty"
expect_error no_replicates "no replicate directory '$scratch/empty/rep0'" -- summary "$scratch/empty"
# a summary.csv older than the replicates' files is refused by the report
bad stale; "$overopt" summary "$scratch/stale" >/dev/null 2>&1; rm "$scratch/stale/rep0/ppo_wco_beta0.05.csv" "$scratch/stale/rep"[123]/ppo_wco_beta0.05.csv
expect_error stale "it is stale (run \`overopt summary $scratch/stale\`)" -- report "$scratch/stale"

if ((FAILS)); then echo "$FAILS FAILED"; exit 1; fi
echo "ALL PASSED"
