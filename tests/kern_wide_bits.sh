#!/usr/bin/env bash
# kern_wide_bits: the AVX-512 tiles change no bit of a run. The tiny world runs twice on 2 ranks,
# with the tiles this CPU picks (attention's 4 x 32, kernels.h kern_att_wide; the KV-cache
# panel's 4 x 48, kern_panel_width) and with both forced back to their AVX2 forms
# (OVEROPT_KERN_ATT=16, OVEROPT_KERN_PANEL=24): every dataset of every HDF5 file must be equal
# (docs/bench/h5hash.py, wall times left out). test_kern_wide checks the tiles element by element;
# this checks that the whole program, training included, is wired to them. Skipped (77) on a CPU
# without x86-64-v4's AVX-512, where both runs would run the same code (after checking that
# --version names the AVX2 tiles); the expectation comes from /proc/cpuinfo's flags,
# independently of machine.c.
# Usage (oo_script_test): kern_wide_bits.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
wide=1
for f in avx512f avx512cd avx512bw avx512dq avx512vl; do [[ $flags == *" $f "* ]] || wide=0; done
# --version names the tiles in use (so do bench and provenance.txt, through kern_describe)
if ((wide)); then want="panel 48, attention 32 columns"; else want="panel 24, attention 16 columns"; fi
"$overopt" --version >v.out 2>&1 || die "--version failed: $(cat v.out)"
want_line v.out "project kernels .*, tiles: $want\$"
OVEROPT_KERN_ATT=16 OVEROPT_KERN_PANEL=24 "$overopt" --version >v24.out 2>&1 || die "--version failed: $(cat v24.out)"
want_line v24.out "project kernels .*, tiles: panel 24, attention 16 columns\$"
if ((!wide)); then
  echo "no x86-64-v4 AVX-512 on this CPU: the AVX-512 tiles never run here"
  [ "$fail" = 0 ] && exit 77
  exit 1
fi
run_one() { # run_one DIR [VAR=VALUE...]: the tiny world, every stage, under the variables
  local dir=$1
  shift
  env "$@" "$mpirun" --oversubscribe -n 2 "$overopt" --quiet run "$cfg" --set run.out_dir="$scratch/$dir" \
    >"$dir.log" 2>&1 || die "overopt run ($dir, $*) failed: $(tail -20 "$dir.log")"
}
run_one wide
run_one avx2 OVEROPT_KERN_ATT=16 OVEROPT_KERN_PANEL=24
py=/usr/bin/python3
"$py" "$src/docs/bench/h5hash.py" wide/tiny >wide.hashes 2>wide.err || die "h5hash.py wide: $(cat wide.err)"
"$py" "$src/docs/bench/h5hash.py" avx2/tiny >avx2.hashes 2>avx2.err || die "h5hash.py avx2: $(cat avx2.err)"
n=$(wc -l <wide.hashes)
[ "$n" -ge 50 ] || die "only $n datasets hashed: did the run write its files?"
"$py" "$src/docs/bench/h5hash.py" --compare wide.hashes avx2.hashes >cmp.out 2>&1 ||
  die "the AVX-512 tiles changed the run's bits: $(cat cmp.out)"
[ "$fail" = 0 ] && echo "$n datasets bitwise equal with the AVX-512 tiles and with their AVX2 forms"
exit "$fail"
