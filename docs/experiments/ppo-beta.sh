#!/usr/bin/env bash
# Issue 15, item 6e: PPO KL-penalty sweep, beta in {0, 0.01, 0.05, 0.2}, for single, mean, wco, uwo.
#   bash docs/experiments/ppo-beta.sh [run|tables]
# The quickstart with ppo.betas = [0, 0.01, 0.05, 0.2]: one PPO run per objective and beta
# (tags <objective>_beta<b>); each beta is its own summary method (ppo_beta<b>) on its own sqrt(KL)
# grid with its own `single` reference (docs/statistics.md). R replicates.
# Writes docs/experiments/ppo-beta.md and docs/figures/ppo_beta.png (gold vs KL frontier per beta).
source "$(dirname "${BASH_SOURCE[0]}")/issue15-lib.sh"
what=${1:-all}
if [ "$what" != tables ]; then
  [ -e "$out/world/bon_samples.h5" ] || world
  # Reduced from the quickstart's PPO (60 steps of 32 rollouts, 64 evaluation prompts) to fit 48 PPO
  # runs in the session's CPU (2 cores shared by 6 jobs): 40 steps of 16 rollouts, 32 evaluation
  # prompts. rm.laplace = true only so the members of laplace-quality.sh's run are reused (linked;
  # the Laplace posterior does not change them). SMALL=0 runs the quickstart's PPO sizes.
  small=(--set ppo.steps=40 --set ppo.batch=16 --set ppo.minibatch=8 --set ppo.n_eval_prompts=32)
  [ "${SMALL:-1}" = 0 ] && small=()
  link_reps laplace ppo_beta prefs.h5 rm.h5 rm_members.csv
  run_point ppo_beta --set rm.laplace=true --set 'ppo.betas=[0.0, 0.01, 0.05, 0.2]' "${small[@]}" --until summary
fi
if [ "$what" != run ]; then
  python3 "$here/docs/experiments/issue15_tables.py" ppo_beta "$out" > "$here/docs/experiments/ppo-beta.md"
fi
