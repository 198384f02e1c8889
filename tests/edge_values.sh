#!/usr/bin/env bash
# edge_values (#12): every value `check` accepts must run. The tiny pipeline runs end to end
# (`overopt run`, one rank) with keys at the ends of their accepted ranges and with the
# alternative choices, one setting (or one consistent pair) at a time; each run must exit 0.
# corpus.val_fraction = 0 ("no validation") once ended in an internal fatal error.
# Usage: edge_values.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
fails=0 n=0
while read -r settings; do
  [ -z "$settings" ] && continue
  n=$((n + 1))
  args=()
  for kv in $settings; do args+=(--set "$kv"); done
  # < /dev/null: MPI start-up reads stdin, which here is the list being read
  if "$overopt" check "$cfg" "${args[@]}" > /dev/null 2> check.err < /dev/null; then
    if ! timeout 300 "$overopt" run "$cfg" --set "run.out_dir=$scratch/r$n" "${args[@]}" > "log$n.txt" 2>&1 < /dev/null; then
      echo "FAILED: accepted by check but does not run: $settings"
      grep -v ORTE "log$n.txt" | grep -m3 -iE 'error|fatal' | sed 's/^/    /'
      fails=$((fails + 1))
    fi
  else
    echo "FAILED: check refuses $settings: $(cat check.err)"
    fails=$((fails + 1))
  fi
done <<'LIST'
corpus.val_fraction=0
corpus.val_fraction=0.5
corpus.min_doc_bytes=0
pretrain.steps=0
pretrain.eval_every=1
pretrain.warmup=1000
pretrain.grad_clip=0
prefs.noise=0
prefs.noise=0.5
prefs.noise_mode=bernoulli
prefs.n_train=1
prefs.n_test=1
prefs.prompt_len=1
prefs.response_len=1
prefs.top_p=0.01
rm.k=1
rm.batch=65536
rm.init=scratch
rm.normalize=center
bon.n_samples=1
bon.n_prompts=1
ppo.steps=1
ppo.eval_every=0
ppo.reward_clip=0
ppo.batch=1 ppo.minibatch=1
ppo.kl_mode=adaptive
ppo.reward=gold
ppo.gae_lambda=0
gold.kind=teacher gold.teacher_steps=0
LIST
echo "edge_values: $n settings, $fails failed"
[ $n -eq 29 ] || { echo "FAILED: read $n settings of 29"; exit 1; }
[ $fails -eq 0 ]
