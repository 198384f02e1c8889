#!/usr/bin/env bash
# `overopt fit` on fake run and sweep directories whose curves are generated (awk) from the functional
# forms with known coefficients:
# - run dir: bon.csv (single, mean, member_0; d(a - b d) at KL = log n - (n-1)/n, n = 1..64) and
#   ppo_single.csv (eval rows from d(a - b ln d), train rows from another curve that must be ignored, one
#   negative eval KL that is clamped to 0 and dropped), ppo_y.csv (no eval values: kl/gold rows);
#   under mpirun -n 1 and -n 3: fits.csv has the exact header, recovers every alpha and beta to 1e-6
#   with r2 = 1, and the two rank counts agree to 1e-9; fits.h5 exists.
# - malformed CSVs (a short row, a non-number) fail with a message naming the file and line.
# - sweep dir (point_0..2 with config.cfg from `overopt check tiny_sweep.cfg`, rm.size.d_model 16,
#   24, 32): sweep.csv has 3 rows whose rm_params equal V C + T C + L (12 C^2 + 13 C) + 3 C + 1, and
#   the scaling rows of fits.csv recover coefficient = a + b log10(rm_params) to 1e-6.
# Usage (oo_script_test): fit_cmd.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"

# bon_rows OBJECTIVE ALPHA BETA: bon.csv rows with gold = d (a - b d), d = sqrt(log n - (n-1)/n).
bon_rows() {
  awk -v o="$1" -v a="$2" -v b="$3" 'BEGIN { for (n = 1; n <= 64; n *= 2) { kl = log(n) - (n - 1) / n; d = sqrt(kl)
    printf "%s,%d,%.17g,%.17g,%.17g,0.01\n", o, n, kl, 0.5 * d, d * (a - b * d) } }'
}
# ppo_rows EVAL(0|1) ALPHA BETA [OFFSET]: ppo csv rows; with EVAL=1 every 4th step has eval_* from
# OFFSET + d (a - b ln d) and the train columns follow another curve (a 0.3, b 0.9) that must not be
# fitted. The step-0 evaluation (pi_init) is the origin of eval curves, so OFFSET must not matter.
ppo_rows() {
  awk -v ev="$1" -v a="$2" -v b="$3" -v off="${4:-0}" 'BEGIN {
    for (s = 0; s <= 24; s++) {
      kl = 0.05 * s; d = sqrt(kl); ta = ev ? 0.3 : a; tb = ev ? 0.9 : b
      g = d > 0 ? d * (ta - tb * log(d)) : 0
      ekl = "nan"; eg = "nan"
      if (ev && s % 4 == 0) { ekl = 0.07 * s; if (s == 4) ekl = -0.002; e = sqrt(ekl > 0 ? ekl : 0)
        eg = off + (e > 0 ? e * (a - b * log(e)) : 0); ekl = sprintf("%.17g", ekl); eg = sprintf("%.17g", eg) }
      printf "%d,%.17g,%.17g,0,0,0.1,%.17g,0.01,2.5,0.05,0.3,%s,0.2,%s\n", s, kl, kl, g, ekl, eg } }'
}
PPO_HEADER=step,kl,kl_k1,kl_k2,kl_k3,proxy,gold,ens_var,entropy,clipfrac,vf_loss,eval_kl,eval_proxy,eval_gold
make_run() { # make_run DIR A_SINGLE B_SINGLE A_RL B_RL
  mkdir -p "$1"
  { echo "objective,n,kl,proxy,gold,gold_se"; bon_rows single "$2" "$3"; bon_rows mean 0.9 0.2
    bon_rows member_0 1.1 0.5; } >"$1/bon.csv"
  { echo "$PPO_HEADER"; ppo_rows 1 "$4" "$5"; } >"$1/ppo_single.csv"
}

# expect FITS SOURCE CURVE FORM ALPHA BETA: the row exists and matches to 1e-6, r2 = 1 to 1e-9.
expect() {
  awk -F, -v s="$2" -v c="$3" -v f="$4" -v a="$5" -v b="$6" '
    function abs(x) { return x < 0 ? -x : x }
    $1 == s && $2 == c && $3 == f { n++; if (abs($4 - a) > 1e-6 || abs($5 - b) > 1e-6 || abs($6 - 1) > 1e-9) {
      printf "%s %s %s: alpha %s beta %s r2 %s, want %s %s 1\n", s, c, f, $4, $5, $6, a, b; bad = 1 } }
    END { if (n != 1) printf "%s %s %s: %d rows, want 1\n", s, c, f, n; exit bad || n != 1 }' "$1" ||
    die "$1: $2 $3 $4"
}

# ---- eval gold relative to pi_init's (step 0): an offset changes nothing ---------------------
mkdir -p offset
{ echo "$PPO_HEADER"; ppo_rows 1 1.2 0.35 0.7; } >offset/ppo_shifted.csv
"$mpirun" --oversubscribe -n 1 "$overopt" fit offset >fit_off.log 2>&1 || { cat fit_off.log; die "fit on offset exited non-zero"; }
expect offset/fits.csv ppo shifted rl 1.2 0.35

# ---- a run directory under 1 and 3 ranks ------------------------------------------------------
make_run run 1.3 0.4 1.2 0.35
{ echo "$PPO_HEADER"; ppo_rows 0 0.8 0.25; } >run/ppo_y.csv
cp -r run run3
"$mpirun" --oversubscribe -n 1 "$overopt" fit run >fit1.log 2>&1 || { cat fit1.log; die "fit -n 1 exited non-zero"; }
"$mpirun" --oversubscribe -n 3 "$overopt" fit run3 >fit3.log 2>&1 || { cat fit3.log; die "fit -n 3 exited non-zero"; }
cat fit3.log
for d in run run3; do
  [ "$(head -1 $d/fits.csv)" = "source,curve,form,alpha,beta,r2,d_star,gold_star" ] ||
    die "$d/fits.csv header: $(head -1 $d/fits.csv)"
  [ "$(wc -l <$d/fits.csv)" -eq 6 ] || die "$d/fits.csv has $(wc -l <$d/fits.csv) lines, want 6"
  [ -s $d/fits.h5 ] || die "$d/fits.h5 missing"
  expect $d/fits.csv bon single bon 1.3 0.4
  expect $d/fits.csv bon mean bon 0.9 0.2
  expect $d/fits.csv bon member_0 bon 1.1 0.5
  expect $d/fits.csv ppo single rl 1.2 0.35
  expect $d/fits.csv ppo y rl 0.8 0.25
done
# BoN peak: d* = a / 2b, gold* = a^2 / 4b.
awk -F, '$1 == "bon" && $2 == "single" { if ($7 - 1.3 / 0.8 > 1e-6 || 1.3 / 0.8 - $7 > 1e-6 || $8 - 1.69 / 1.6 > 1e-6 || 1.69 / 1.6 - $8 > 1e-6) exit 1 }' \
  run/fits.csv || die "bon single peak d*/gold* wrong: $(grep '^bon,single' run/fits.csv)"
paste -d, <(tail -n +2 run/fits.csv) <(tail -n +2 run3/fits.csv) | awk -F, '
  function abs(x) { return x < 0 ? -x : x }
  { for (j = 4; j <= 8; j++) if (abs($j - $(j + 8)) > 1e-9 * (1 + abs($j))) { print "differs: " $0; bad = 1 }
    if ($1 != $9 || $2 != $10) { print "row order differs: " $0; bad = 1 } }
  END { exit bad }' || die "fits differ between -n 1 and -n 3"
grep -q "ppo *single *rl" fit1.log || die "fit did not print its table"

# ---- malformed input -------------------------------------------------------------------------
mkdir -p bad1 bad2
cp run/bon.csv bad1/ && echo "mean,128,0.3" >>bad1/bon.csv
cp run/bon.csv bad2/ && { echo "$PPO_HEADER"; ppo_rows 0 0.8 0.25 | sed '3s/^2,[^,]*,/2,abc,/'; } >bad2/ppo_z.csv
for b in bad1/bon.csv bad2/ppo_z.csv; do
  d=${b%%/*}
  if "$mpirun" --oversubscribe -n 2 "$overopt" fit $d >$d.log 2>&1; then die "fit $d succeeded on a malformed $b"; fi
  grep -q "$b" $d.log && grep -q "error" $d.log || { cat $d.log; die "fit $d: the error does not name $b"; }
  echo "malformed $b: $(grep -m1 error $d.log)"
done
[ ! -e bad1/fits.csv ] || die "bad1/fits.csv written despite the error"

# ---- a sweep directory: scaling fits --------------------------------------------------------------
i=0
for C in 16 24 32; do
  p=sweep/point_$i
  P=$(awk -v C=$C 'BEGIN { printf "%d", 257 * C + 48 * C + (12 * C * C + 13 * C) + 3 * C + 1 }')
  x=$(awk -v P=$P 'BEGIN { printf "%.17g", log(P) / log(10) }')
  ab=$(awk -v x=$x 'BEGIN { printf "%.17g", 0.2 + 0.3 * x }'); bb=$(awk -v x=$x 'BEGIN { printf "%.17g", 0.9 - 0.1 * x }')
  ar=$(awk -v x=$x 'BEGIN { printf "%.17g", 0.5 + 0.2 * x }'); br=$(awk -v x=$x 'BEGIN { printf "%.17g", 0.6 - 0.05 * x }')
  make_run $p "$ab" "$bb" "$ar" "$br"
  "$overopt" check "$src/tests/configs/tiny_sweep.cfg" --set rm.size.d_model=$C --set run.name=point_$i >$p/config.cfg ||
    die "overopt check for point $i"
  echo "$i,$C,$P" >>want_params.txt
  i=$((i + 1))
done
"$mpirun" --oversubscribe -n 2 "$overopt" fit sweep >sweep.log 2>&1 || { cat sweep.log; die "fit sweep exited non-zero"; }
cat sweep.log | grep -A5 scaling
cat sweep/sweep.csv
[ "$(head -1 sweep/sweep.csv | cut -d, -f1-7)" = "point,rm.size.d_model,alpha_bon,beta_bon,alpha_rl,beta_rl,rm_params" ] ||
  die "sweep.csv header: $(head -1 sweep/sweep.csv)"
[ "$(tail -n +2 sweep/sweep.csv | cut -d, -f1,2,7)" = "$(cat want_params.txt)" ] ||
  die "sweep.csv point,d_model,rm_params: $(tail -n +2 sweep/sweep.csv | cut -d, -f1,2,7 | tr '\n' ' ') want $(tr '\n' ' ' <want_params.txt)"
expect sweep/fits.csv scaling alpha_bon bon 0.2 0.3
expect sweep/fits.csv scaling beta_bon bon 0.9 -0.1
expect sweep/fits.csv scaling alpha_rl rl 0.5 0.2
expect sweep/fits.csv scaling beta_rl rl 0.6 -0.05
[ "$(grep -c '^point_[0-2],single,' sweep/fits.csv)" -eq 6 ] || die "sweep/fits.csv lacks the points' single rows"
for i in 0 1 2; do [ -s sweep/point_$i/fits.csv ] || die "sweep/point_$i/fits.csv missing"; done

exit $fail
