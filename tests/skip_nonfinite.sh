#!/usr/bin/env bash
# skip_nonfinite (#12 item 3): a training batch whose loss or gradient is non-finite stops the
# stage naming step, stage and rank, or, with run.skip_nonfinite = N, is skipped, counted and
# reported, up to N batches. The NaN is injected with OVEROPT_TEST_NONFINITE (mpi/runtime/
# train_step.h: one gradient entry on the last rank of the model's communicator, before the
# allreduce), so every rank must take the decision from the summed gradient. tiny.cfg, 2 ranks:
# 1. pretrain, NaN at step 3, run.skip_nonfinite = 0: exit 1 naming "pretrain d32L1H2: step 3".
# 2. the same with run.skip_nonfinite = 1: exit 0; lm_d32L1H2_train.csv row 3 reads "3,nan,0",
#    the other rows are finite; lm_d32L1H2.h5 has attribute skipped_batches = 1; run.log warns;
#    metrics.jsonl carries skipped_batches; and the checkpoint differs from an uninjected run's.
# 3. NaN at steps 2 and 5 with run.skip_nonfinite = 1: exit 1 "step 5 ... after the allowed skips".
# 4. rm member 1 (hosted on both ranks with rm_ranks 0) NaN at step 2, skip 1: rm.h5
#    metrics/member_1 has skipped_batches = 1, member_0 has none; ppo mean NaN at step 1 with
#    skip 1 (its first minibatch update): ppo_mean.h5 has skipped_batches = 1, ppo_single.h5 none.
# Usage (oo_script_test): skip_nonfinite.sh OVEROPT SOURCE_DIR SCRATCH_DIR
set -u
overopt=$1 src=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$scratch" || exit 1
cfg=$src/tests/configs/tiny.cfg
fail=0
bad() { echo "FAILED: $*"; fail=1; }
run() { # run DIR STAGE-UNTIL [--set ...]: overopt run into DIR under 2 ranks; output in DIR.out
  local dir=$1 until=$2
  shift 2
  mpirun --oversubscribe -n 2 "$overopt" run "$cfg" --until "$until" --set "run.out_dir=$scratch/$dir" "$@" \
    > "$dir.out" 2>&1 < /dev/null
}
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): //p' | head -1; } # attr FILE /path/attr

# 1. stop at the first non-finite batch (the default)
OVEROPT_TEST_NONFINITE="pretrain d32L1H2:3" run stop pretrain
rc=$?
[ $rc = 1 ] || bad "1: exit $rc, expected 1"
grep -q "pretrain d32L1H2: step 3: the gradient norm is not finite" stop.out || bad "1: no message naming stage and step: $(grep -m2 error stop.out)"
grep -q "on rank [01]" stop.out || bad "1: the message names no rank"

# 2. one batch skipped
OVEROPT_TEST_NONFINITE="pretrain d32L1H2:3" run skip pretrain --set run.skip_nonfinite=1 || bad "2: exit $?: $(grep -m2 error skip.out)"
csv=skip/tiny/lm_d32L1H2_train.csv
[ "$(sed -n 4p "$csv")" = "3,nan,0" ] || bad "2: row of step 3 is '$(sed -n 4p "$csv")', expected 3,nan,0"
[ "$(grep -c nan "$csv")" = 1 ] || bad "2: $(grep -c nan "$csv") rows with nan, expected 1"
[ "$(attr skip/tiny/lm_d32L1H2.h5 /skipped_batches)" = 1 ] || bad "2: lm_d32L1H2.h5 lacks skipped_batches = 1"
grep -q "step 3: the gradient norm is not finite.*batch skipped, 1 of run.skip_nonfinite = 1" skip/tiny/run.log || bad "2: run.log has no skip warning"
grep -q '"skipped_batches": 1' skip/tiny/metrics.jsonl || bad "2: metrics.jsonl has no skipped_batches"
run clean pretrain || bad "2: clean run failed"
[ -z "$(attr clean/tiny/lm_d32L1H2.h5 /skipped_batches)" ] || bad "2: a clean run writes skipped_batches"
h5diff -q clean/tiny/lm_d32L1H2.h5 skip/tiny/lm_d32L1H2.h5 wte > /dev/null && bad "2: skipping a batch changed nothing"

# 3. more than allowed
OVEROPT_TEST_NONFINITE="pretrain d32L1H2:2,5" run over pretrain --set run.skip_nonfinite=1
rc=$?
[ $rc = 1 ] || bad "3: exit $rc, expected 1"
grep -q "step 5: the gradient norm is not finite.*after the allowed skips" over.out || bad "3: no message: $(grep -m2 error over.out)"

# 4. rm and ppo report their skips in their artifacts (the world's stages are reused from 2.)
cp -r skip rmppo
OVEROPT_TEST_NONFINITE="rm member 1:2" run rmppo rm --set run.skip_nonfinite=1 || bad "4: rm exit $?: $(grep -m2 error rmppo.out)"
[ "$(attr rmppo/tiny/rm.h5 /metrics/member_1/skipped_batches)" = 1 ] || bad "4: rm.h5 metrics/member_1 lacks skipped_batches = 1"
[ -z "$(attr rmppo/tiny/rm.h5 /metrics/member_0/skipped_batches)" ] || bad "4: member 0 skipped nothing"
grep -q "rm member 1: 1 batch with a non-finite loss or gradient skipped" rmppo/tiny/run.log || bad "4: run.log lacks the rm count"
OVEROPT_TEST_NONFINITE="ppo mean:1" run rmppo ppo --set run.skip_nonfinite=1 || bad "4: ppo exit $?: $(grep -m2 error rmppo.out)"
[ "$(attr rmppo/tiny/ppo_mean.h5 /skipped_batches)" = 1 ] || bad "4: ppo_mean.h5 lacks skipped_batches = 1"
[ -z "$(attr rmppo/tiny/ppo_single.h5 /skipped_batches)" ] || bad "4: ppo_single skipped nothing"

[ $fail = 0 ] && echo "skip_nonfinite: stop, skip, over-budget, rm and ppo cases passed"
exit $fail
