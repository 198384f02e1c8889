#!/usr/bin/env bash
# kv_blas_free: the KV-cache path (gpt_generate's tokens and log-probabilities, gpt_score_last's
# scores) uses no BLAS since its linear layers became kern_linear_packed, so given the weights
# it computes the same bits under any OpenBLAS kernel. test_gpt_sample --dump writes those bits
# and, as the control, the full forward's logits (sgemm), under Haswell (FMA) and Sandybridge
# (no FMA), which both run on every x86-64-v3 CPU: the path's files must be identical and the
# control's must differ (else the two kernels would not tell anything apart here).
# Usage: kv_blas_free.sh OVEROPT SOURCE_DIR SCRATCH_DIR TEST_GPT_SAMPLE
. "$(dirname "$0")/lib.sh" "$@"
tgs=$4
for k in Haswell Sandybridge; do
  OPENBLAS_CORETYPE=$k "$tgs" --dump "$k" > "$k.log" 2>&1 || die "test_gpt_sample --dump under $k: $(cat "$k.log")"
done
[ -s Haswell.kv ] && [ -s Haswell.fwd ] || die "no dump files written"
cmp -s Haswell.fwd Sandybridge.fwd &&
  bad "control: the full forward's logits are bitwise equal under Haswell and Sandybridge, so the kernels cannot be told apart"
cmp Haswell.kv Sandybridge.kv ||
  bad "the KV-cache path's tokens, log-probabilities or scores depend on the OpenBLAS kernel (Haswell vs Sandybridge)"
# the panels of 24 columns forced (OVEROPT_KERN_PANEL=24) give the bits of the default's (48 on
# AVX-512 CPUs, else 24 too)
OPENBLAS_CORETYPE=Haswell OVEROPT_KERN_PANEL=24 "$tgs" --dump narrow > narrow.log 2>&1 || die "test_gpt_sample --dump, panels of 24: $(cat narrow.log)"
cmp Haswell.kv narrow.kv || bad "the KV-cache path's bits depend on the panel width (24 vs 48 columns)"
[ "$fail" = 0 ] && echo "KV-cache path bitwise equal under Haswell and Sandybridge and with panels of 24; the full forward differs (control)"
exit "$fail"
