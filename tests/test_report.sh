#!/bin/bash
# test_report.sh OVEROPT SOURCE_DIR SCRATCH_DIR: `overopt report` on the synthetic run in
# tests/report_data. Checks the PNGs (exist, PNG magic, not trivially small), that report.md's
# numbers match what awk computes from the CSVs, and that missing / malformed inputs fail with
# messages naming the file and line.
. "$(dirname "$0")/lib.sh" "$@"
DATA=$src/tests/report_data
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
# expect_error NAME DIR PATTERN...: report DIR must fail and stderr must contain every pattern
expect_error() {
  local name=$1 dir=$2
  shift 2
  if "$overopt" report "$dir" >"$scratch/$name.out" 2>"$scratch/$name.err"; then
    fail "$name: overopt report succeeded on bad input"; return
  fi
  for p in "$@"; do
    grep -qF -- "$p" "$scratch/$name.err" || { fail "$name: stderr lacks '$p':"; cat "$scratch/$name.err"; return; }
  done
  ok "$name: $(grep -m1 -i error "$scratch/$name.err")"
}
is_png() { [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; }

# ---- a full run directory ------------------------------------------------------------------------
R=$scratch/run1
cp -r "$DATA/run1" "$R"
if ! "$overopt" report "$R" >"$scratch/run1.out" 2>"$scratch/run1.err"; then
  echo "FAIL: overopt report $R:"; cat "$scratch/run1.out" "$scratch/run1.err"; exit 1
fi
grep -qx "report: $R/report/report.md" "$scratch/run1.out" || fail "last line is not 'report: $R/report/report.md'"
for p in bon_gold bon_proxy ppo_gold ppo_proxy ppo_variance rm_accuracy; do
  f=$R/report/$p.png
  if [[ ! -f $f ]]; then fail "$p.png missing"; continue; fi
  is_png "$f" || fail "$p.png is not a PNG"
  size=$(stat -c %s "$f")
  ((size > 15000)) || fail "$p.png only $size bytes"
  grep -qF "($p.png)" "$R/report/report.md" || fail "report.md does not link $p.png"
done
[[ -e $R/report/sweep_alpha_beta.png ]] && fail "sweep plot made without sweep.csv"
MD=$R/report/report.md

# Numbers computed here from the CSVs, formatted like the report (%.3f, %.4g).
for obj in single mean wco uwo_0.5; do
  want=$(awk -F, -v o="$obj" 'NR > 1 && $1 == o {n++; if (!seen || $5 > pk) {pk = $5; px = sqrt($3); seen = 1}
         lx = sqrt($3); lg = $5; lp = $4}
         END {printf "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f |", o, n, lx, lg, lp, pk, px}' "$DATA/run1/bon.csv")
  grep -qF -- "$want" "$MD" && ok "BoN row $want" || fail "report.md lacks the BoN row '$want'"
done
# PPO: eval points (eval_gold not NaN)
for tag in single mean_beta0.01 wco; do
  want=$(awk -F, -v t="$tag" 'NR > 1 && $14 != "NaN" {n++; if (!seen || $14 > pk) {pk = $14; px = sqrt($12); seen = 1}
         lx = sqrt($12); lg = $14; lp = $13}
         END {printf "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f |", t, n, lx, lg, lp, pk, px}' \
         "$DATA/run1/ppo_$tag.csv")
  grep -qF -- "$want" "$MD" && ok "PPO row $want" || fail "report.md lacks the PPO row '$want'"
done
# Members that peak and fall: last < peak - max(0.05, 2 * max(se at peak, se at last)).
n_over=$(awk -F, 'NR > 1 && $1 ~ /^member_/ {
    m = $1; if (!(m in pk) || $5 > pk[m]) {pk[m] = $5; pse[m] = $6; pi[m] = cnt[m]}
    cnt[m]++; last[m] = $5; lse[m] = $6}
  END {for (m in pk) {se = pse[m] > lse[m] ? pse[m] : lse[m]; th = 2 * se > 0.05 ? 2 * se : 0.05
       if (pi[m] < cnt[m] - 1 && last[m] < pk[m] - th) k++; t++}
       printf "%d of %d", k, t}' "$DATA/run1/bon.csv")
grep -qF "**Overoptimization:** $n_over single members peak and then fall" "$MD" &&
  ok "overoptimization count $n_over" || fail "report.md lacks the count '$n_over'"
[[ $n_over == "4 of 5" ]] || fail "synthetic data should have 4 of 5 overoptimizing members, awk says $n_over"
while IFS=, read -r src curve form a b r2 ds gs; do
  want=$(printf '| %s | %s | %s | %.4g | %.4g | %.3f | %.4g | %.4g |' "$src" "$curve" "$form" "$a" "$b" "$r2" "$ds" "$gs")
  grep -qF -- "$want" "$MD" || fail "report.md lacks the fit row '$want'"
done < <(tail -n +2 "$DATA/run1/fits.csv")
grep -qF '| bon | uwo_0.5 | 0.670 | 0.015 |' "$MD" || fail "report.md lacks the win rate of bon uwo_0.5"
grep -qF '<details><summary>config.cfg</summary>' "$MD" && grep -qF 'label_noise = 0.25' "$MD" ||
  fail "report.md lacks the collapsed config"

# ---- a sweep directory -----------------------------------------------------------------------------
W=$scratch/sweep1
cp -r "$DATA/sweep1" "$W"
if "$overopt" report "$W" >"$scratch/sweep.out" 2>"$scratch/sweep.err"; then
  f=$W/report/sweep_alpha_beta.png
  [[ -f $f ]] && is_png "$f" && (($(stat -c %s "$f") > 15000)) && ok "sweep_alpha_beta.png" ||
    fail "sweep_alpha_beta.png missing or not a PNG"
  grep -qF 'bon_gold.png, bon_proxy.png: skipped (no bon.csv)' "$W/report/report.md" ||
    fail "sweep report.md does not say the BoN plots were skipped"
  grep -qF 'no bon.csv' "$scratch/sweep.err" || fail "no warning naming bon.csv on stderr"
  grep -qF '| 4 | 256 | 4 | 1.58438 |' "$W/report/report.md" || fail "sweep table row missing"
else
  fail "overopt report on the sweep directory:"; cat "$scratch/sweep.err"
fi

# ---- missing and malformed inputs -----------------------------------------------------------------
mkdir -p "$scratch/empty"
expect_error empty_dir "$scratch/empty" "no report inputs in '$scratch/empty'" "bon.csv" "ppo_<tag>.csv"
expect_error no_dir "$scratch/does-not-exist" "run directory '$scratch/does-not-exist' not found"

bad() { # bad NAME FILE: a copy of run1 in $scratch/NAME whose FILE is then edited by the caller
  rm -rf "${scratch:?}/$1"; cp -r "$DATA/run1" "$scratch/$1"; echo "$scratch/$1/$2"
}
f=$(bad short_row bon.csv); sed -i '5s/,[^,]*$//' "$f"
expect_error short_row "$scratch/short_row" "$f:5: 5 fields, but the header (line 1) has 6"
f=$(bad not_number bon.csv); sed -i '7s/^\([^,]*,[^,]*,[^,]*,[^,]*\),[^,]*/\1,abc/' "$f"
expect_error not_number "$scratch/not_number" "$f:7: column 'gold': 'abc' is not a number"
f=$(bad no_column bon.csv); sed -i '1s/,gold_se$/,stderr/' "$f"
expect_error no_column "$scratch/no_column" "$f:1: no column 'gold_se'"
f=$(bad ppo_bad ppo_wco.csv); sed -i '12s/,[^,]*,[^,]*$//' "$f"
expect_error ppo_bad "$scratch/ppo_bad" "$f:12: 12 fields, but the header (line 1) has 14"
f=$(bad fits_bad fits.csv); sed -i '3s/,bon,/,quadratic,/' "$f"
expect_error fits_bad "$scratch/fits_bad" "$f:3: form 'quadratic' is neither 'bon' nor 'rl'"
f=$(bad empty_csv rm_members.csv); : >"$f"
expect_error empty_csv "$scratch/empty_csv" "$f: empty file"
rm -f "$(bad no_bon bon.csv)"
if "$overopt" report "$scratch/no_bon" >"$scratch/no_bon.out" 2>"$scratch/no_bon.err"; then
  grep -qF 'skipped (no bon.csv)' "$scratch/no_bon/report/report.md" && [[ ! -e $scratch/no_bon/report/bon_gold.png ]] &&
    [[ -f $scratch/no_bon/report/ppo_gold.png ]] && ok "missing bon.csv: BoN plots skipped, others made" ||
    fail "missing bon.csv: report.md/plots wrong"
else
  fail "missing bon.csv should skip the BoN plots, not fail:"; cat "$scratch/no_bon.err"
fi
OVEROPT_GNUPLOT=/nonexistent/gnuplot expect_error no_gnuplot "$scratch/run1" "gnuplot-nox"

if ((FAILS)); then echo "$FAILS FAILED"; exit 1; fi
echo "ALL PASSED"
