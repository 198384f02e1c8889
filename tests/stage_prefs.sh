#!/usr/bin/env bash
# pretrain -> gold -> prefs on tests/configs/tiny.cfg. pi_init is pretrained once (-n 1) and copied
# into three run directories (pretraining sums gradients in rank order, so its weights depend on
# the rank count); gold and prefs then run under mpirun -n 1, 2 and 3. Checks:
# - gold.h5 calibration and every prefs.h5 dataset are bit-identical for 1, 2 and 3 ranks;
# - exact noise: noise_realised == round(0.25 * 40) / 40, and exactly that many train labels differ
#   from label_clean, no test label does;
# - label_clean is the index of the higher gold score (ties 0), split is 40 zeros then 20 ones;
# - bernoulli noise: noise_realised == flipped train labels / 40;
# - prefs_load (through `overopt stage rm`) rejects a prefs.h5 made for another response_len,
#   naming the dataset and both shapes.
# Usage (oo_script_test): stage_prefs.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
mpi() { mpirun --oversubscribe -n "$@"; }

# values DATASET FILE: the dataset's values one per line (floats with 9 significant digits).
values() {
  h5dump -y -w 0 -m '%.9g' -d "$1" "$2" | sed -n '/DATA {/,/^ *}/p' | grep -v 'DATA {\|}' | tr ',' '\n' |
    awk 'NF { print $1 }'
}
attr() { h5dump -a "$1" "$2" | awk '/\(0\):/ { print $2 }'; }

t0=$(date +%s)
mpi 1 "$overopt" stage pretrain "$cfg" --set run.out_dir=r1 || die "pretrain"
for n in 2 3; do
  mkdir -p r$n/tiny
  cp r1/tiny/lm_*.h5 r$n/tiny/ || die "copy pi_init"
done
for n in 1 2 3; do
  mpi $n "$overopt" stage gold "$cfg" --set run.out_dir=r$n || die "gold -n $n"
  mpi $n "$overopt" stage prefs "$cfg" --set run.out_dir=r$n || die "prefs -n $n"
done
a=r1/tiny/prefs.h5
[ -f $a ] || { echo "FAILED: no $a"; exit 1; }

for n in 2 3; do
  for d in prompt resp resp_len gold label_clean label_train split; do
    h5diff -d 0 $a r$n/tiny/prefs.h5 /$d /$d >/dev/null || die "prefs.h5 /$d differs between -n 1 and -n $n"
  done
  for at in reward_shift reward_scale; do
    [ "$(attr $at r1/tiny/gold.h5)" = "$(attr $at r$n/tiny/gold.h5)" ] || die "gold.h5 $at differs for -n $n"
  done
  h5diff -d 0 r1/tiny/gold.h5 r$n/tiny/gold.h5 /head_w /head_w >/dev/null || die "gold head differs for -n $n"
done

# Noise, labels and split.
realised=$(attr noise_realised $a)
want=$(awk 'BEGIN { printf "%d", int(0.25 * 40 + 0.5) }')
awk -v r="$realised" -v w="$want" 'BEGIN { exit !(r == w / 40) }' || die "noise_realised = $realised, expected $want/40"
paste <(values /label_clean $a) <(values /label_train $a) <(values /split $a) <(values /gold $a | paste - -) >labels.txt
awk -v want="$want" '
  { n++; clean = $1; train = $2; sp = $3; g0 = $4; g1 = $5
    if (clean != (g1 > g0 ? 1 : 0)) { printf "pair %d: label_clean %d but gold %s %s\n", n - 1, clean, g0, g1; bad = 1 }
    if (sp != (n <= 40 ? 0 : 1)) { printf "pair %d: split %d\n", n - 1, sp; bad = 1 }
    if (sp == 0 && clean != train) flipped++
    if (sp == 1 && clean != train) test_flipped++ }
  END { printf "%d pairs, %d train labels flipped (want %d), %d test labels flipped\n", n, flipped, want, test_flipped
        exit !(n == 60 && flipped == want && test_flipped == 0 && !bad) }' labels.txt || die "labels"

# Bernoulli noise (reuses r1's gold): realised = flipped / n_train.
mpi 1 "$overopt" stage prefs "$cfg" --set run.out_dir=r1 --set prefs.noise_mode=bernoulli --set prefs.noise=0.4 ||
  die "prefs bernoulli"
realised=$(attr noise_realised $a)
flipped=$(paste <(values /label_clean $a) <(values /label_train $a) | head -40 | awk '$1 != $2' | wc -l)
echo "bernoulli 0.4: $flipped of 40 flipped, noise_realised $realised"
awk -v r="$realised" -v f="$flipped" 'BEGIN { exit !(r == f / 40) }' || die "bernoulli noise_realised $realised != $flipped/40"
[ "$(attr noise_mode $a)" = '"bernoulli"' ] || die "noise_mode attribute: $(attr noise_mode $a)"

# prefs_load against another config names the dataset and both shapes.
err=$(mpi 1 "$overopt" stage rm "$cfg" --set run.out_dir=r2 --set prefs.response_len=20 2>&1)
echo "$err" | tail -2
echo "$err" | grep -q "dataset 'resp' has shape \[60, 2, 17\], expected \[60, 2, 21\] for prefs.response_len = 20" ||
  die "prefs_load shape message"

echo "elapsed $(($(date +%s) - t0)) s"
exit $fail
