#!/usr/bin/env bash
# An error on one rank ends the whole job quickly with that rank's message (DESIGN.md: never a
# hang, never a silent exit). Usage: abort.sh TEST_ABORT_BINARY MPIEXEC NUMPROC_FLAG
set -u
bin=$1 mpiexec=$2 npflag=$3
src=$(dirname "$0")/test_abort.c
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...: run a condition, report, count failures
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fail=1; fi
}
run() { # run LABEL [VAR=value ...]: mpirun -n 4 test_abort fail under timeout 60
  local label=$1; shift
  local t0=$(date +%s.%N)
  env "$@" timeout 60 "$mpiexec" --oversubscribe "$npflag" 4 "$bin" fail \
    >"$scratch/$label.out" 2>"$scratch/$label.err"
  rc=$?
  elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
  echo "--- $label: exit $rc after ${elapsed}s; stderr:"
  head -c 3000 "$scratch/$label.err"
}

# 1. Without an injected failure the same program passes (so the checks below can fail).
run clean
check "clean run exits 0" test "$rc" -eq 0

# 2. A failing REQUIRE two calls deep on rank 1 while ranks 0, 2, 3 sit in collectives.
line=$(grep -n 'injected failure on rank' "$src" | head -1 | cut -d: -f1)
run require OO_TEST_FAIL_RANK=1
check "exits non-zero" test "$rc" -ne 0
check "not killed by timeout" test "$rc" -ne 124
check "ends within 20 s" test "$(echo "$elapsed < 20" | bc)" -eq 1
check "stderr names [rank 1]" grep -q '\[rank 1\]' "$scratch/require.err"
check "stderr has the message at test_abort.c:$line" \
  grep -q "test_abort.c:$line: injected failure on rank 1" "$scratch/require.err"
check "stderr has the CHECK trace" grep -q 'from test_abort.c:' "$scratch/require.err"

# 3. A fatal error (OO_FATAL, as out-of-memory uses) goes through the fatal handler.
line=$(grep -n 'injected fatal error' "$src" | head -1 | cut -d: -f1)
run fatal OO_TEST_FAIL_RANK=1 OO_TEST_FAIL_MODE=fatal
check "fatal: exits non-zero" test "$rc" -ne 0
check "fatal: not killed by timeout" test "$rc" -ne 124
check "fatal: ends within 20 s" test "$(echo "$elapsed < 20" | bc)" -eq 1
check "fatal: stderr has [rank 1] test_abort.c:$line: fatal:" \
  grep -q "\[rank 1\] test_abort.c:$line: fatal: injected fatal error on rank 1" "$scratch/fatal.err"
exit $fail
