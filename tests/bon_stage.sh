#!/usr/bin/env bash
# bon stage end to end on tests/configs/tiny.cfg with rm.k = 3, bon.n_prompts = 4, bon.n_samples = 64:
# - `overopt run --until bon` under mpirun -n 1 and -n 2: bon.h5 has proxy [4,64,3], gold [4,64],
#   prompt_doc [4], the curves; bon.csv has the exact header, every objective (single, mean, wco,
#   uwo_0.5, softmin_1) and member_0..2 with 7 grid points (n = 1..64) each; at n = 1 every gold is 0 (the
#   curves are centred on these pi_init samples).
# - rank-count independence of the bon stage alone: `overopt stage bon` under -n 2 on a copy of the
#   -n 1 run's upstream artifacts gives the same proxy and gold scores as -n 1, to the bit
#   (h5diff -d 0): tokens are identical by construction, member scores too while each member has
#   one replica, gold scores because its rows go to RM ranks in blocks that are whole forward
#   chunks (layout.h). The upstream stages are compared nowhere
#   here (a data-parallel gradient sum may differ in the last bits across rank counts).
# - `overopt bon-curves RUN --uwo-lambda 0.5 --uwo-lambda 2` writes bon_curves.h5/.csv and leaves
#   bon.h5 alone; with `--out bon` it adds uwo_2 to bon.csv and bon.h5 and leaves the raw scores
#   bitwise identical (h5diff -d 0 on /proxy and /gold); `--softmin-tau 0.25,4` adds softmin_0.25 and
#   softmin_4 (stored in /softmin_tau, so a later bon-curves without the option keeps them); bad
#   input fails with exit code 2.
# - uncertainty.csv: the header and one ensemble row per set (pi_init, bon_2 .. bon_64);
#   residual_corr.csv: the header and one row per member pair.
# - WARM and Laplace (rm.warm = true, rm.laplace = true with ScaLAPACK forced, -n 2): rm.h5 group
#   laplace/member_<m> with Sigma [33,33] and phi_mean [32]; bon.h5 laplace_var [4,64,3]; curves
#   laplace_uwo_0.5 and ens_laplace_0.5; uncertainty.csv with 4 sources x 7 sets; PPO runs 2 steps
#   of each new objective (softmin, warm, laplace_uwo, ens_laplace); rm.h5 group warm whose head_w is the members' mean (to float
#   rounding: |warm - mean| <= 2^-24 |mean| + K 2^-53 max|p|, plus h5dump's 9 printed digits),
#   bon.h5 dataset warm [4,64] and a warm curve in bon.csv that bon-curves keeps.
# Usage (oo_script_test): bon_stage.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
sets=(--set rm.k=3 --set bon.n_prompts=4 --set bon.n_samples=64 --set "run.out_dir=$scratch")

dims() { # dims FILE DATASET -> "( 4, 64, 3 )"
  h5dump -H -d "$2" "$1" 2>/dev/null | sed -n 's/.*DATASPACE  SIMPLE { \(( [0-9, ]* )\).*/\1/p' | head -1
}

check_run() { # check_run DIR
  local d=$1
  [ -f "$d/bon.h5" ] || { die "$d/bon.h5 missing"; return; }
  [ "$(dims "$d/bon.h5" /proxy)" = "( 4, 64, 3 )" ] || die "$d: /proxy is $(dims "$d/bon.h5" /proxy), want ( 4, 64, 3 )"
  [ "$(dims "$d/bon.h5" /gold)" = "( 4, 64 )" ] || die "$d: /gold is $(dims "$d/bon.h5" /gold), want ( 4, 64 )"
  [ "$(dims "$d/bon.h5" /prompt_doc)" = "( 4 )" ] || die "$d: /prompt_doc is $(dims "$d/bon.h5" /prompt_doc)"
  [ "$(dims "$d/bon.h5" /curves/single/member_gold)" = "( 3, 7 )" ] || die "$d: /curves/single/member_gold shape"
  for o in single mean wco uwo_0.5 softmin_1; do
    [ "$(dims "$d/bon.h5" "/curves/$o/gold")" = "( 7 )" ] || die "$d: /curves/$o/gold missing or not 7 points"
  done
  h5dump -a /config_hash "$d/bon.h5" >/dev/null 2>&1 || die "$d: bon.h5 lacks the config_hash attribute"
  [ "$(head -1 "$d/bon.csv")" = "objective,n,kl,proxy,gold,gold_se" ] || die "$d: bon.csv header: $(head -1 "$d/bon.csv")"
  for o in single mean wco uwo_0.5 softmin_1 member_0 member_1 member_2; do
    local rows
    rows=$(grep -c "^$o,"  "$d/bon.csv")
    [ "$rows" -eq 7 ] || die "$d: bon.csv has $rows rows for $o, want 7"
  done
  [ "$(wc -l <"$d/bon.csv")" -eq $((1 + 8 * 7)) ] || die "$d: bon.csv has $(wc -l <"$d/bon.csv") lines, want 57"
  [ "$(head -1 "$d/uncertainty.csv")" = "source,set,n,samples,spearman" ] || die "$d: uncertainty.csv header"
  [ "$(grep -c '^ensemble,' "$d/uncertainty.csv")" -eq 7 ] || die "$d: uncertainty.csv lacks the 7 ensemble rows"
  [ "$(head -1 "$d/residual_corr.csv")" = "member_a,member_b,pearson" ] && [ "$(wc -l <"$d/residual_corr.csv")" -eq 4 ] ||
    die "$d: residual_corr.csv is not a header and 3 member pairs"
  # Curves start at gold 0 (centred on the samples); single and mean at proxy 0.
  awk -F, 'NR > 1 && $2 == 1 { if ($5 + 0 > 1e-5 || $5 + 0 < -1e-5) { print "gold at n=1 of " $1 " is " $5; bad = 1 } }
           NR > 1 && $2 == 1 && ($1 == "single" || $1 == "mean") { if ($4 + 0 > 1e-5 || $4 + 0 < -1e-5) { print "proxy at n=1 of " $1 " is " $4; bad = 1 } }
           END { exit bad }' "$d/bon.csv" || die "$d: curves do not start at 0"
  # KL column is log n - (n-1)/n.
  awk -F, 'NR > 1 { k = log($2) - ($2 - 1) / $2; if ($3 - k > 1e-5 || k - $3 > 1e-5) { print "kl " $0; bad = 1 } } END { exit bad }' \
    "$d/bon.csv" || die "$d: kl column"
}

t0=$(date +%s)
for np in 1 2; do
  "$mpirun" --oversubscribe -n $np "$overopt" run "$cfg" "${sets[@]}" --set run.name=np$np --until bon \
    >"np$np.log" 2>&1 || { cat "np$np.log"; die "overopt run -n $np exited non-zero"; }
  grep -E "^.*bon" "np$np.log" | grep -E "samples/s|gold .* at n=1|members peak" || die "-n $np: no bon summary lines"
  check_run "np$np"
done

# The bon stage alone on -n 2 from the -n 1 run's artifacts.
cp -r np1 np1b
"$mpirun" --oversubscribe -n 2 "$overopt" stage bon "$cfg" "${sets[@]}" --set run.name=np1b >np1b.log 2>&1 ||
  { cat np1b.log; die "overopt stage bon -n 2 exited non-zero"; }
check_run np1b
# Bitwise: every sequence is scored in a forward chunk of the same rows whatever the rank count
# (members: one replica each here; gold: contiguous blocks of LAYOUT_GOLD_BLOCK = GOLD_CHUNK).
for ds in /proxy /gold /prompt_doc; do
  h5diff -d 0 np1/bon.h5 np1b/bon.h5 $ds $ds || die "$ds differs between -n 1 and -n 2"
done

# bon-curves: more lambdas, same raw scores, into a new file (bon.h5 untouched) unless --out bon.
cp np1/bon.h5 before.h5
"$overopt" bon-curves np1 --uwo-lambda 0.5 --uwo-lambda=2 >curves.log 2>&1 || { cat curves.log; die "bon-curves exited non-zero"; }
cat curves.log
grep -q "^wrote .*np1/bon_curves.h5" curves.log || die "bon-curves did not say what it wrote"
h5diff before.h5 np1/bon.h5 >/dev/null || die "bon-curves without --out bon changed bon.h5"
[ "$(grep -c '^uwo_2,' np1/bon_curves.csv)" -eq 7 ] || die "bon-curves did not add uwo_2 to bon_curves.csv"
"$overopt" bon-curves np1 --uwo-lambda 0.5,2 --out bon >curves.log 2>&1 || { cat curves.log; die "bon-curves --out bon exited non-zero"; }
grep -q "^rewrote (--out bon)" curves.log || die "bon-curves --out bon did not say it rewrote bon.h5"
[ "$(grep -c '^uwo_2,' np1/bon.csv)" -eq 7 ] || die "bon-curves did not add uwo_2 to bon.csv"
[ "$(grep -c '^uwo_0.5,' np1/bon.csv)" -eq 7 ] || die "bon-curves lost uwo_0.5"
[ "$(dims np1/bon.h5 /curves/uwo_2/gold)" = "( 7 )" ] || die "bon-curves did not add /curves/uwo_2"
h5diff -d 0 before.h5 np1/bon.h5 /proxy /proxy || die "bon-curves changed /proxy"
h5diff -d 0 before.h5 np1/bon.h5 /gold /gold || die "bon-curves changed /gold"
h5diff before.h5 np1/bon.h5 /curves/mean/gold /curves/mean/gold || die "bon-curves changed the mean curve"
h5dump -a /config_hash np1/bon.h5 >/dev/null 2>&1 || die "bon-curves dropped the config_hash attribute"
[ "$(h5dump -a /config_hash before.h5 | grep '(0)')" = "$(h5dump -a /config_hash np1/bon.h5 | grep '(0)')" ] ||
  die "bon-curves changed config_hash"
# The rewritten file keeps the run current: a rerun skips bon.
"$overopt" run "$cfg" "${sets[@]}" --set run.name=np1 --until bon >rerun.log 2>&1 || die "rerun exited non-zero"
grep -q "bon: up to date" rerun.log || die "rerun did not skip the bon stage after bon-curves"
# zscore changes wco's curve but not the raw scores.
"$overopt" bon-curves np1 --normalize zscore --out bon >/dev/null 2>&1 || die "bon-curves --normalize zscore exited non-zero"
h5diff -d 0 before.h5 np1/bon.h5 /proxy /proxy >/dev/null || die "--normalize zscore changed /proxy"
# softmin temperatures: new curves, stored for the next bon-curves.
"$overopt" bon-curves np1 --softmin-tau 0.25,4 --out bon >curves.log 2>&1 || { cat curves.log; die "bon-curves --softmin-tau exited non-zero"; }
for o in softmin_0.25 softmin_4; do
  [ "$(grep -c "^$o," np1/bon.csv)" -eq 7 ] || die "bon-curves --softmin-tau did not add $o to bon.csv"
done
"$overopt" bon-curves np1 >/dev/null 2>&1 || die "bon-curves after --softmin-tau exited non-zero"
[ "$(grep -c '^softmin_4,' np1/bon_curves.csv)" -eq 7 ] || die "bon-curves did not keep the stored softmin_tau"

# WARM: the members' weight average as a reward model of its own.
"$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" --set run.name=warm --set rm.warm=true --set rm.laplace=true \
  --set rm.laplace_scalapack_min=8 --until bon \
  >warm.log 2>&1 || { cat warm.log; die "overopt run rm.warm=true exited non-zero"; }
grep "WARM" warm.log || die "rm.warm: no WARM line in the log"
vals() { # vals FILE DATASET: one value a line, 9 significant digits
  h5dump -y -w 0 -m %.9g -d "$2" "$1" | sed -n '/DATA {/,/}/p' | sed '1d;$d' | tr ',' '\n' | tr -d ' ' | grep -v '^$'
}
paste <(vals warm/rm.h5 /warm/head_w) <(vals warm/rm.h5 /member_0/head_w) <(vals warm/rm.h5 /member_1/head_w) \
  <(vals warm/rm.h5 /member_2/head_w) | awk '{ m = ($2 + $3 + $4) / 3; mx = 0; for (i = 2; i <= 4; i++) mx = ($i > mx ? $i : (-$i > mx ? -$i : mx))
    d = $1 - m; if (d < 0) d = -d; a = m < 0 ? -m : m
    if (d > 5.97e-8 * a + 3 * 1.12e-16 * mx + 1e-8 * (a + mx)) { print "warm " $1 ", members mean " m; bad = 1 } n++ }
    END { printf "warm head_w: %d values checked against the members mean\n", n; exit bad || n == 0 }' ||
  die "rm.h5 /warm/head_w is not the members' mean"
[ "$(dims warm/bon.h5 /warm)" = "( 4, 64 )" ] || die "bon.h5 /warm is $(dims warm/bon.h5 /warm), want ( 4, 64 )"
[ "$(grep -c '^warm,' warm/bon.csv)" -eq 7 ] || die "bon.csv lacks the warm curve"
[ "$(dims warm/rm.h5 /laplace/member_2/Sigma)" = "( 33, 33 )" ] || die "rm.h5 lacks laplace/member_2/Sigma [33,33]"
[ "$(dims warm/rm.h5 /laplace/member_0/phi_mean)" = "( 32 )" ] || die "rm.h5 lacks laplace/member_0/phi_mean [32]"
grep -q "Laplace posterior of the head (D = 33, ScaLAPACK" warm.log || die "rm.laplace: no ScaLAPACK posterior in the log"
[ "$(dims warm/bon.h5 /laplace_var)" = "( 4, 64, 3 )" ] || die "bon.h5 /laplace_var is $(dims warm/bon.h5 /laplace_var)"
for o in laplace_uwo_0.5 ens_laplace_0.5; do
  [ "$(grep -c "^$o," warm/bon.csv)" -eq 7 ] || die "bon.csv lacks the $o curve"
done
[ "$(wc -l <warm/uncertainty.csv)" -eq $((1 + 4 * 7)) ] || die "uncertainty.csv has $(wc -l <warm/uncertainty.csv) lines, want 29"
"$overopt" bon-curves warm >/dev/null 2>&1 || die "bon-curves on a WARM run exited non-zero"
[ "$(grep -c '^ens_laplace_0.5,' warm/bon_curves.csv)" -eq 7 ] || die "bon-curves dropped the ens_laplace curve"
# The new PPO objectives run (2 steps each) on the same artifacts.
"$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" --set run.name=warm --set rm.warm=true --set rm.laplace=true \
  --set rm.laplace_scalapack_min=8 --set 'ppo.objectives=[softmin,warm,laplace_uwo,ens_laplace]' --set ppo.steps=2 \
  --set ppo.eval_every=0 --until ppo >ppo.log 2>&1 || { cat ppo.log; die "ppo with the new objectives exited non-zero"; }
for o in softmin warm laplace_uwo ens_laplace; do
  [ -f "warm/ppo_$o.h5" ] || die "ppo objective $o: warm/ppo_$o.h5 missing"
done
[ "$(grep -c '^warm,' warm/bon_curves.csv)" -eq 7 ] || die "bon-curves dropped the warm curve"

# Bad input.
"$overopt" bon-curves "$scratch/nowhere" >bad.log 2>&1 && die "bon-curves on a missing run succeeded"
grep -q "does not exist" bad.log || { cat bad.log; die "missing run: message does not say what is missing"; }
"$overopt" bon-curves np1 --uwo-lambda x >bad.log 2>&1; [ $? -eq 2 ] || die "bon-curves --uwo-lambda x: exit code not 2"
"$overopt" bon-curves np1 --normalize foo >bad.log 2>&1; [ $? -eq 2 ] || die "bon-curves --normalize foo: exit code not 2"
"$overopt" bon-curves np1 --softmin-tau 0 >bad.log 2>&1; [ $? -eq 2 ] || die "bon-curves --softmin-tau 0: exit code not 2"

echo "bon_stage: $(($(date +%s) - t0)) s"
[ $fail -eq 0 ] && echo "bon_stage: all checks passed"
exit $fail
