#!/usr/bin/env bash
# ppo stage end to end on tests/configs/tiny.cfg (d32 L1 H2, n_ctx 48, prompts 12 bytes, responses
# <= 16 bytes) with rm.k = 3 and ppo.epochs = 2, under mpirun -n 2 (rank 0 and 1 both rollout and RM ranks):
# 1. `overopt run --until rm`, then `overopt stage ppo` with ppo.steps 6, batch 8, minibatch 4,
#    epochs 2, eval_every 3: ppo_<obj>.h5 (datasets kl, gold, ... with 6 rows, member_score (6,3),
#    samples/step_0 .. step_5 with sample_0), ppo_<obj>.csv (the report header, 6 rows, eval_* set
#    on steps 0, 3, 5 only) and ppo_<obj>_policy.h5 for every objective; a rerun skips every run.
#    With ppo.kl_mode = adaptive the beta of each row follows ppo_kl_adaptive from the previous row.
# 2. KL penalty: ppo.lr 1e-3 for 12 steps, objective mean, ppo.kl_estimator k3 (so the kl column
#    is k3: non-negative per token and of lower variance than k1, whose sign noise is as large as
#    the KL here). With beta = 10 every row has |kl| < 0.05 nats per response token (0.05 * mean response length, about 0.85 nats): a
#    per-token drift of 0.05 nats would cost beta * 0.05 * 17 = 8.5 in reward, far more than the
#    objective's whole spread, so a working penalty keeps the KL well inside (AdamW moves the
#    weights by about lr per step whatever the penalty, so the KL is not 0: about 0.1 nats here).
#    The control run with beta = 0 and the same lr must go beyond that bound (the mean kl of its
#    last 3 rows), so the check can fail.
# 3. RL works when the reward is right: ppo.reward = gold, beta 0, lr 1e-3, 40 steps: the mean gold
#    of the last 3 rows exceeds that of the first 3 rows.
# 4. Stop and resume: a 120-step run gets SIGUSR1 (sent to mpirun's children, the ranks) after a
#    few steps: exit code 3 and ppo_mean.partial.h5 exist, no ppo_mean.h5; the rerun resumes and
#    completes, and its CSV equals, byte for byte, that of an uninterrupted run of the same config
#    on a copy of the upstream artifacts (resume is bit-identical).
# Usage (oo_script_test): ppo_stage.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
base=(--set rm.k=3 --set ppo.epochs=2 --set "run.out_dir=$scratch")
small=(--set ppo.steps=6 --set ppo.batch=8 --set ppo.minibatch=4 --set ppo.eval_every=3)
t_start=$(date +%s)
mpi2() { "$mpirun" --oversubscribe -n 2 "$overopt" "$@"; }

dims() { # dims FILE DATASET -> "( 6, 3 )"
  h5dump -H -d "$2" "$1" 2>/dev/null | sed -n 's/.*DATASPACE  SIMPLE { \(( [0-9, ]* )\).*/\1/p' | head -1
}
col() { # col CSV NAME -> the column's values, one per line
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } c { print $c }' "$1"
}

# ---- 1. the pipeline and every objective ------------------------------------------------------
mpi2 run "$cfg" "${base[@]}" --until rm >upstream.log 2>&1 || { cat upstream.log; die "pipeline to rm failed"; exit 1; }
run=$scratch/tiny
mpi2 stage ppo "$cfg" "${base[@]}" "${small[@]}" >ppo.log 2>&1 || { cat ppo.log; die "ppo stage failed"; }
header="step,kl,kl_k1,kl_k2,kl_k3,proxy,gold,ens_var,entropy,clipfrac,vf_loss,eval_kl,eval_proxy,eval_gold"
for o in single mean wco uwo; do
  h5=$run/ppo_$o.h5 csv=$run/ppo_$o.csv
  [ -f "$h5" ] || { die "$h5 missing"; continue; }
  [ -f "$run/ppo_${o}_policy.h5" ] || die "ppo_${o}_policy.h5 missing"
  for d in kl kl_k1 kl_k2 kl_k3 proxy gold ens_var entropy clipfrac vf_loss eval_kl eval_proxy eval_gold policy_loss \
    t_generate t_score t_update t_mpi; do
    [ "$(dims "$h5" "/$d")" = "( 6 )" ] || die "$h5: /$d is '$(dims "$h5" "/$d")', want ( 6 )"
  done
  [ "$(dims "$h5" /member_score)" = "( 6, 3 )" ] || die "$h5: /member_score is '$(dims "$h5" /member_score)'"
  h5dump -a /samples/step_3/sample_0 "$h5" >/dev/null 2>&1 || die "$h5: samples/step_3/sample_0 missing"
  [ -f "$csv" ] || { die "$csv missing"; continue; }
  [ "$(head -1 "$csv")" = "$header" ] || die "$csv header is '$(head -1 "$csv")'"
  [ "$(($(wc -l <"$csv") - 1))" -eq 6 ] || die "$csv has $(($(wc -l <"$csv") - 1)) rows, want 6"
  evals=$(col "$csv" eval_gold | awk '$1 != "nan" { printf "%d ", NR - 1 }')
  [ "$evals" = "0 3 5 " ] || die "$csv: eval rows are '$evals', want '0 3 5 '"
  k1=$(col "$csv" kl_k1 | head -1)
  [ "$k1" = "0" ] || die "$csv: step 0 kl_k1 = $k1, want 0 (the policy starts as pi_init)"
done
# `overopt run` skips every PPO run whose file is up to date (`overopt stage ppo` always reruns).
mpi2 run "$cfg" "${base[@]}" "${small[@]}" --until ppo >ppo_again.log 2>&1 || die "ppo rerun failed"
[ "$(grep -c 'ppo .*up to date, skipped' ppo_again.log)" -eq 4 ] || { cat ppo_again.log; die "the rerun did not skip all 4 runs"; }

# adaptive KL: beta[s+1] = beta[s] * (1 + clip((kl[s] - target) / target, -0.2, 0.2) * 1 / horizon)
cp -r "$run" "$scratch/adaptive"
rm -f "$scratch"/adaptive/ppo_*
mpi2 stage ppo "$cfg" "${base[@]}" "${small[@]}" --set run.name=adaptive --set ppo.objectives=[mean] \
  --set ppo.kl_mode=adaptive --set ppo.kl_target=0.01 --set ppo.kl_horizon=2 --set 'ppo.betas=[0.1]' \
  >adaptive.log 2>&1 || { cat adaptive.log; die "adaptive ppo failed"; }
h5dump -d /beta -y -w 0 -o beta.txt "$scratch/adaptive/ppo_mean.h5" >/dev/null 2>&1 || die "adaptive: no /beta"
tr ',' '\n' <beta.txt | awk 'NF { print $1 }' >beta_col.txt
col "$scratch/adaptive/ppo_mean.csv" kl | paste beta_col.txt - >beta_kl.txt
awk 'NR == 1 && $1 != 0.1 { bad = "beta[0] = " $1 }
     NR > 1 { e = (pk - 0.01) / 0.01; e = e > 0.2 ? 0.2 : e < -0.2 ? -0.2 : e; want = pb * (1 + e / 2);
              if ((want - $1) ^ 2 > (1e-6 * want) ^ 2) bad = bad " step " NR - 1 ": beta " $1 " want " want }
     { pb = $1; pk = $2 } END { if (bad != "") { print bad; exit 1 } }' beta_kl.txt ||
  die "adaptive KL controller: $(cat beta_kl.txt | tr '\n' ' ')"

# ---- 2. beta = 10 keeps the KL near 0; beta = 0 does not --------------------------------------
kl_run() { # kl_run NAME BETA
  mpi2 stage ppo "$cfg" "${base[@]}" --set "run.name=$1" --set ppo.objectives=[mean] --set "ppo.betas=[$2]" \
    --set ppo.kl_estimator=k3 --set ppo.steps=12 --set ppo.lr=1e-3 --set ppo.lr_final=1e-3 --set ppo.eval_every=6 >"$1.log" 2>&1 ||
    { cat "$1.log"; die "$1: ppo failed"; }
}
cp -r "$run" "$scratch/beta10"
cp -r "$run" "$scratch/beta0"
rm -f "$scratch"/beta*/ppo_*
kl_run beta10 10.0
kl_run beta0 0.0
len=$(col "$scratch/beta10/ppo_mean.csv" step | wc -l)
[ "$len" -eq 12 ] || die "beta10: $len rows, want 12"
h5dump -d /resp_len -y -w 0 -o resp_len.txt "$scratch/beta10/ppo_mean.h5" >/dev/null 2>&1 || die "beta10: no /resp_len"
bound=$(tr ',' '\n' <resp_len.txt | awk 'NF { s += $1; n++ } END { printf "%.4f", n ? 0.05 * s / n : 0 }')
worst=$(col "$scratch/beta10/ppo_mean.csv" kl | awk '{ a = $1 < 0 ? -$1 : $1; if (a > m) m = a } END { printf "%.4f", m }')
control=$(col "$scratch/beta0/ppo_mean.csv" kl | tail -3 | awk '{ s += $1 } END { printf "%.4f", s / 3 }')
echo "KL bound 0.05 nats/token = $bound nats; beta 10: max |kl| $worst; beta 0: last-3 k3 $control"
awk -v w="$worst" -v b="$bound" 'BEGIN { exit !(b > 0.3 && w < b) }' || die "beta = 10: max |kl| = $worst >= $bound"
awk -v c="$control" -v b="$bound" 'BEGIN { exit !(c > b) }' || die "beta = 0 control: KL $control within $bound: the check cannot fail"

# ---- 3. optimizing the gold raises the gold ---------------------------------------------------
cp -r "$run" "$scratch/goldrl"
rm -f "$scratch"/goldrl/ppo_*
mpi2 stage ppo "$cfg" "${base[@]}" --set run.name=goldrl --set ppo.objectives=[mean] --set ppo.reward=gold \
  --set 'ppo.betas=[0.0]' --set ppo.steps=40 --set ppo.lr=1e-3 --set ppo.lr_final=1e-3 --set ppo.eval_every=10 \
  >goldrl.log 2>&1 || { cat goldrl.log; die "gold-reward ppo failed"; }
first=$(col "$scratch/goldrl/ppo_mean.csv" gold | head -3 | awk '{ s += $1 } END { printf "%.4f", s / 3 }')
last=$(col "$scratch/goldrl/ppo_mean.csv" gold | tail -3 | awk '{ s += $1 } END { printf "%.4f", s / 3 }')
echo "ppo.reward = gold: gold mean of the first 3 rows $first, of the last 3 rows $last"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b > a) }' || die "optimizing the gold did not raise it ($first -> $last)"

# ---- 4. stop with SIGUSR1, resume, compare with an uninterrupted run --------------------------
long=(--set ppo.objectives=[mean] --set ppo.steps=120 --set ppo.eval_every=50)
cp -r "$run" "$scratch/stopped"
cp -r "$run" "$scratch/straight"
rm -f "$scratch"/stopped/ppo_* "$scratch"/straight/ppo_*
"$mpirun" --oversubscribe -n 2 "$overopt" stage ppo "$cfg" "${base[@]}" --set run.name=stopped "${long[@]}" \
  >stop.log 2>&1 &
mp=$!
part=$scratch/stopped/ppo_mean.csv.part
for _ in $(seq 1 600); do # up to 60 s for the first steps
  [ -f "$part" ] && [ "$(wc -l <"$part")" -ge 6 ] && break
  kill -0 $mp 2>/dev/null || break
  sleep 0.1
done
kids=$(pgrep -P $mp)
[ -n "$kids" ] && kill -USR1 $kids
wait $mp
rc=$?
[ $rc -eq 3 ] || { cat stop.log; die "stopped run exited $rc, want 3"; }
[ -f "$scratch/stopped/ppo_mean.partial.h5" ] || die "ppo_mean.partial.h5 missing after the stop"
[ -f "$scratch/stopped/ppo_mean.h5" ] && die "ppo_mean.h5 written by a stopped run"
# ppo.value = head (the default): the value head is saved with the policy, and there is no value model
h5dump -a /policy/kind "$scratch/stopped/ppo_mean.partial.h5" 2>/dev/null | grep -q '"lm_value"' ||
  die "partial: /policy is not of kind lm_value (the value head must be saved with the policy)"
h5dump -g /value -H "$scratch/stopped/ppo_mean.partial.h5" >/dev/null 2>&1 && die "partial: a /value model with ppo.value = head"
stopped_at=$(sed -n 's/.*stopped at step \([0-9]*\).*/\1/p' stop.log | head -1)
echo "stopped at step ${stopped_at:-?} of 120"
mpi2 stage ppo "$cfg" "${base[@]}" --set run.name=stopped "${long[@]}" >resume.log 2>&1 ||
  { cat resume.log; die "resumed run failed"; }
grep -q "resuming at step" resume.log || die "the rerun did not resume from the partial file"
[ -f "$scratch/stopped/ppo_mean.partial.h5" ] && die "partial file left after completion"
mpi2 stage ppo "$cfg" "${base[@]}" --set run.name=straight "${long[@]}" >straight.log 2>&1 ||
  { cat straight.log; die "uninterrupted run failed"; }
[ "$(($(wc -l <"$scratch/stopped/ppo_mean.csv") - 1))" -eq 120 ] || die "resumed CSV does not have 120 rows"
cmp -s "$scratch/stopped/ppo_mean.csv" "$scratch/straight/ppo_mean.csv" ||
  die "resumed run differs from the uninterrupted one: $(diff "$scratch/stopped/ppo_mean.csv" "$scratch/straight/ppo_mean.csv" | head -4)"
grep "per step" straight.log | sed 's/^/timing: /'
h5dump -a /kind "$scratch/straight/ppo_mean_policy.h5" 2>/dev/null | grep -q '"lm"' ||
  die "ppo_mean_policy.h5 is not an lm checkpoint (the value head must not leak into the policy artifact)"

echo "ppo_stage: $(($(date +%s) - t_start)) s"
[ $fail -eq 0 ] && echo "ppo_stage: all checks passed"
exit $fail
