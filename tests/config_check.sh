#!/bin/bash
# config_check: `overopt check` end to end. Usage: config_check.sh OVEROPT SRC_DIR SCRATCH_DIR.
. "$(dirname "$0")/lib.sh" "$@"

# a shipped config is valid and its resolved form is a fixed point of check
"$overopt" check "$src/configs/quickstart.cfg" > resolved.cfg 2> err.txt || bad "quickstart rejected: $(cat err.txt)"
"$overopt" check resolved.cfg > resolved2.cfg 2> err.txt || bad "resolved config rejected: $(cat err.txt)"
diff <(tail -n +2 resolved.cfg) <(tail -n +2 resolved2.cfg) > /dev/null || bad "resolved config does not reload to itself"
"$overopt" check "$src/configs/paper-scale.cfg" > /dev/null 2> err.txt || bad "paper-scale rejected: $(cat err.txt)"
# the memory estimate counts the KV caches: best-of-n's policy cache of 256 slots is ~100 MB here
grep -q "^//   bon .*1 x policy KV cache, 256 slots" resolved.cfg || bad "the estimate lacks best-of-n's KV cache: $(grep '^//   bon' resolved.cfg)"

# --set applies, and a bad value is rejected with the key and the range
"$overopt" check "$src/configs/quickstart.cfg" --set rm.k=3 --set 'ppo.betas=[0.01,0.1]' > set.cfg 2> err.txt \
  || bad "--set rejected: $(cat err.txt)"
grep -q '^  k = 3;$' set.cfg || bad "--set rm.k=3 not in the output"
grep -q '^  betas = \[0.01, 0.1\];$' set.cfg || bad "--set ppo.betas not in the output"
if "$overopt" check "$src/configs/quickstart.cfg" --set rm.k=99 > /dev/null 2> err.txt; then bad "rm.k=99 accepted"; fi
grep -q "'rm.k' = 99 is out of range: accepted 1 .. 64" err.txt || bad "rm.k=99 message: $(cat err.txt)"
if "$overopt" check "$src/configs/quickstart.cfg" --set rm.normalise=zscore > /dev/null 2> err.txt; then bad "misspelt key accepted"; fi
grep -q "unknown key 'rm.normalise' (did you mean 'rm.normalize'?)" err.txt || bad "misspelt key message: $(cat err.txt)"
# overrides are validated together: a --set can break a cross-key rule
if "$overopt" check "$src/configs/quickstart.cfg" --set prefs.response_len=100 > /dev/null 2> err.txt; then bad "too long response accepted"; fi
nctx_line=$(grep -n '^ *n_ctx *=' "$src/configs/quickstart.cfg" | cut -d: -f1)
grep -q "'prefs.response_len' (--set) + 2 = 134 exceeds 'pretrain.n_ctx' (.*quickstart.cfg:$nctx_line) = 96" err.txt || bad "n_ctx message: $(cat err.txt)"

# run.blas_kernel: a name OpenBLAS does not know is rejected naming the key; a known one is
# pinned before OpenBLAS loads (the program re-executes itself and fails if the kernel in use
# differs), and the config wins over OVEROPT_BLAS_KERNEL. Prescott runs on every x86-64 CPU
# and is never a modern CPU's own choice, so a success here means the pin took effect.
if "$overopt" check "$src/configs/quickstart.cfg" --set run.blas_kernel=Zenn > /dev/null 2> err.txt; then bad "blas_kernel Zenn accepted"; fi
grep -q "'run.blas_kernel' = \"Zenn\" is not an OpenBLAS kernel" err.txt || bad "blas_kernel message: $(cat err.txt)"
OVEROPT_BLAS_KERNEL=Bogus "$overopt" check "$src/configs/quickstart.cfg" --set run.blas_kernel=Prescott > pinned.cfg 2> err.txt \
  || bad "run.blas_kernel=Prescott failed: $(cat err.txt)"
grep -q '^  blas_kernel = "Prescott";$' pinned.cfg || bad "--set run.blas_kernel not in the output"
OVEROPT_BLAS_KERNEL=Prescott "$overopt" --version > version.txt 2> err.txt || bad "--version failed: $(cat err.txt)"
grep -q "BLAS kernel Prescott," version.txt || bad "OVEROPT_BLAS_KERNEL=Prescott not in effect: $(cat version.txt)"
if OVEROPT_BLAS_KERNEL=Bogus "$overopt" --version > /dev/null 2> err.txt; then bad "OVEROPT_BLAS_KERNEL=Bogus accepted"; fi
grep -q 'OVEROPT_BLAS_KERNEL = "Bogus" is not an OpenBLAS kernel' err.txt || bad "OVEROPT_BLAS_KERNEL message: $(cat err.txt)"
printf '@include "%s"\nsweep = { axes = ( { key = "run.blas_kernel"; values = ["Haswell", "Zen"]; } ); };\n' \
  "$src/tests/configs/tiny.cfg" > kernel_sweep.cfg
if "$overopt" check kernel_sweep.cfg > /dev/null 2> err.txt; then bad "run.blas_kernel accepted as a sweep axis"; fi
grep -q "'run.blas_kernel' cannot be a sweep axis" err.txt || bad "blas_kernel sweep message: $(cat err.txt)"

# a bad file names file and line
if "$overopt" check "$src/tests/config_bad/unknown_key.cfg" > /dev/null 2> err.txt; then bad "bad file accepted"; fi
grep -q "tests/config_bad/unknown_key.cfg:4: unknown key 'rm.sizee' (did you mean 'rm.size'?)" err.txt \
  || bad "bad file message: $(cat err.txt)"
if "$overopt" check > /dev/null 2>&1; then bad "check without CONFIG succeeded"; fi

# the committed reference is current
"$overopt" check --reference > reference.md 2> err.txt || bad "--reference failed: $(cat err.txt)"
[ "$(wc -l < reference.md)" -gt 80 ] || bad "reference too short"
sed -n '/<!-- config-reference:begin -->/,/<!-- config-reference:end -->/p' "$src/README.md" | sed '1d;$d' > readme_reference.md
diff readme_reference.md reference.md > /dev/null \
  || bad "README.md's config reference is stale: regenerate the block between the config-reference markers with 'overopt check --reference'"

[ $fail = 0 ] && echo "config_check: all passed"
exit $fail
