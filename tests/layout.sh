#!/usr/bin/env bash
# overopt layout CONFIG -n P for P = 1, 2, 4, 8 (quickstart: K = 5): exits 0 and places every
# member (K read from the header line);
# bad input (rollout_ranks > P, missing config, bad -n) exits non-zero naming the problem.
# Usage (oo_script_test): layout.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
cfg=$src/configs/quickstart.cfg
if [ ! -f "$cfg" ]; then # quickstart not written yet: a minimal config over the defaults
  cfg=$scratch/layout.cfg
  printf 'rm = { k = 5; };\n' >"$cfg"
fi
for P in 1 2 4 8; do
  out=$("$overopt" layout "$cfg" -n "$P" 2>&1)
  rc=$?
  echo "$out"
  [ $rc -eq 0 ] || { echo "FAILED: -n $P exited $rc"; fail=1; }
  K=$(echo "$out" | sed -n 's/.*(rm\.k = \([0-9]*\),.*/\1/p' | head -1)
  [ -n "$K" ] && [ "$K" -ge 1 ] || { echo "FAILED: -n $P header lacks rm.k"; fail=1; K=1; }
  for m in $(seq 0 $((K - 1))); do
    echo "$out" | grep -Eq " m$m(\(r[0-9]+/[0-9]+\))?( |$)" || { echo "FAILED: -n $P lacks m$m"; fail=1; }
  done
  echo "$out" | grep -q "^$P rank" || { echo "FAILED: -n $P summary line"; fail=1; }
done
expect_error() { # expect_error PATTERN ARGS...: non-zero exit and PATTERN on stderr
  local pat=$1; shift
  local err
  err=$("$overopt" "$@" 2>&1 >/dev/null)
  local rc=$?
  echo "overopt $*: exit $rc: $err"
  [ $rc -ne 0 ] && echo "$err" | grep -q -- "$pat" || { echo "FAILED: overopt $* (want /$pat/)"; fail=1; }
}
expect_error "layout.rollout_ranks = 6" layout "$cfg" -n 4 --set layout.rollout_ranks=6
out=$("$overopt" layout "$cfg" -n 7 --set rm.k=3 --set layout.rm_ranks=5 2>&1) # --set reaches it
echo "$out" | grep -q "m0(r1/2)" && echo "$out" | grep -q "5 RM" || { echo "FAILED: --set"; fail=1; }
expect_error "\-n expects" layout "$cfg" -n zero
expect_error "missing CONFIG" layout -n 2
expect_error "unknown command 'layot'" layot "$cfg"
"$overopt" layout --help | grep -q "usage: overopt layout" || { echo "FAILED: layout --help"; fail=1; }
exit $fail
