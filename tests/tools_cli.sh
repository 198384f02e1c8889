#!/usr/bin/env bash
# tools_cli: `overopt sample`, `overopt logprob` and `overopt score` on small random checkpoints.
# Usage: tools_cli.sh OVEROPT SOURCE_DIR SCRATCH_DIR TOOLS_CKPT
# Each overopt call pays MPI start-up (~0.5 s), so the checks share calls where they can;
# unit tests (test_gpt_sample, test_gpt_io) cover the rest.
# Checks: TSV format and escaping, determinism and batch independence of sampling, greedy
# decoding, logprob/score equal to an independent C computation (tools_ckpt), and clear errors
# (non-zero exit, message naming the problem) for a wrong kind, a too-long line, a missing file
# and bad flags.
. "$(dirname "$0")/lib.sh" "$@"
CKPT=$4
fails=0
fail() { echo "FAILED: $*"; fails=$((fails + 1)); }

"$CKPT" . || { echo "FAILED: fixture generation"; exit 1; }

# ---- sample ----------------------------------------------------------------------------------
if ! "$overopt" sample --model lm.h5 --prompt 'ab' -n 5 --max-tokens 30 --seed 3 > s5.tsv 2> s5.err; then
  fail "sample exited non-zero: $(cat s5.err)"
fi
[ "$(head -n1 s5.tsv)" = "$(printf 'index\ttext')" ] || fail "sample: header is '$(head -n1 s5.tsv)'"
[ "$(tail -n +2 s5.tsv | wc -l)" -eq 5 ] || fail "sample: expected 5 rows, got $(tail -n +2 s5.tsv | wc -l)"
[ "$(tail -n +2 s5.tsv | cut -f1 | tr '\n' ' ')" = "0 1 2 3 4 " ] || fail "sample: indexes are $(tail -n +2 s5.tsv | cut -f1 | tr '\n' ' ')"
awk -F'\t' 'NF != 2 { bad = 1 } END { exit bad }' s5.tsv || fail "sample: a row does not have exactly 2 fields"
LC_ALL=C grep -q '[^ -~	]' s5.tsv && fail "sample: raw non-printable bytes in the output (must be escaped)"
# a random byte model emits non-printable bytes: they must appear as \xHH
grep -q '\\x[0-9A-F][0-9A-F]' s5.tsv || fail "sample: no \\xHH escapes in 150 random bytes"

"$overopt" sample --model lm.h5 --prompt 'ab' -n 5 --max-tokens 30 --seed 3 > again.tsv 2>&1
cmp -s s5.tsv again.tsv || fail "sample: same seed gave different output"
"$overopt" sample --model lm.h5 --prompt 'ab' -n 3 --max-tokens 30 --seed 3 > s3.tsv 2>&1
[ "$(head -n4 s5.tsv)" = "$(cat s3.tsv)" ] || fail "sample: -n 3 is not the first 3 rows of -n 5 (batch dependence)"
"$overopt" sample --model lm.h5 --prompt 'ab' -n 5 --max-tokens 30 --seed 4 > s5b.tsv 2>&1
cmp -s s5.tsv s5b.tsv && fail "sample: seeds 3 and 4 gave identical output"
"$overopt" sample --model lm.h5 --prompt 'ab' -n 4 --max-tokens 20 --top-k 1 > greedy.tsv 2>&1
[ "$(tail -n +2 greedy.tsv | cut -f2 | sort -u | wc -l)" -eq 1 ] || fail "sample: --top-k 1 rows differ"

# ---- logprob ----------------------------------------------------------------------------------
if ! "$overopt" logprob --model lm.h5 --text text.txt > lp.tsv 2> lp.err; then
  fail "logprob exited non-zero: $(cat lp.err)"
fi
[ "$(head -n1 lp.tsv)" = "$(printf 'index\tlogprob_nats\tbytes')" ] || fail "logprob: header is '$(head -n1 lp.tsv)'"
[ "$(tail -n +2 lp.tsv | cut -f1 | tr '\n' ' ')" = "0 1 2 3 4 " ] || fail "logprob: index column is not 0-based"
"$overopt" logprob --model lm.h5 --text - < text.txt > lp_stdin.tsv 2>&1 || fail "logprob --text - exited non-zero"
cmp -s lp.tsv lp_stdin.tsv || fail "logprob --text - (standard input) differs from --text text.txt"
cut -f2- lp.tsv | paste - expect_logprob.tsv | awk -F'\t' '
  NR == 1 { next }
  { d = $1 - $3; if (d < 0) d = -d; tol = 1e-4 * (1 + ($3 < 0 ? -$3 : $3));
    if (d > tol || $2 != $4) { printf "line %d: got %s (%s tokens), expected %s (%s tokens)\n", NR - 1, $1, $2, $3, $4; bad = 1 } }
  END { if (NR != 6) { print "expected 5 rows, got " NR - 1; bad = 1 }; exit bad }' || fail "logprob differs from the C computation"

# ---- score ------------------------------------------------------------------------------------
if ! "$overopt" score --model rm.h5 --text text.txt > sc.tsv 2> sc.err; then
  fail "score exited non-zero: $(cat sc.err)"
fi
[ "$(head -n1 sc.tsv)" = "$(printf 'index\treward\tbytes')" ] || fail "score: header is '$(head -n1 sc.tsv)'"
"$overopt" score --model=rm.h5 --text=- < text.txt > sc_stdin.tsv 2>&1 || fail "score --text=- exited non-zero"
cmp -s sc.tsv sc_stdin.tsv || fail "score --text=- (standard input) differs from --text text.txt"
cut -f2- sc.tsv | paste - expect_score.tsv | awk -F'\t' '
  NR == 1 { next }
  { d = $1 - $3; if (d < 0) d = -d;
    if (d > 1e-4 * (1 + ($3 < 0 ? -$3 : $3)) || $2 != $4) { printf "line %d: got %s, expected %s\n", NR - 1, $1, $3; bad = 1 } }
  END { if (NR != 6) { print "expected 5 rows, got " NR - 1; bad = 1 }; exit bad }' || fail "score differs from the C computation"

# ---- errors -----------------------------------------------------------------------------------
# expect_error NEEDLE CMD...: CMD must exit non-zero and print NEEDLE
expect_error() {
  local needle=$1
  shift
  if "$@" > err.out 2>&1; then
    fail "'$*' succeeded, expected an error mentioning '$needle'"
  elif ! grep -qF -- "$needle" err.out; then
    fail "'$*': message lacks '$needle': $(head -c 600 err.out)"
  fi
}
expect_error "expected a reward checkpoint, got kind 'lm'" "$overopt" score --model lm.h5 --text text.txt
expect_error "expected an lm checkpoint, got kind 'reward'" "$overopt" logprob --model rm.h5 --text text.txt
expect_error "line 3" "$overopt" logprob --model lm.h5 --text long.txt
expect_error "nope.h5" "$overopt" sample --model nope.h5 --prompt x
expect_error "missing.txt" "$overopt" logprob --model lm.h5 --text missing.txt
expect_error "--temperature" "$overopt" sample --model lm.h5 --prompt x --temprature 2
expect_error "--top-p" "$overopt" sample --model lm.h5 --prompt x --top-p 2

# exit codes (1 runtime, 2 usage) and messages without source locations unless --debug
"$overopt" logprob --model lm.h5 --text missing.txt > err.out 2>&1; rc=$?
[ $rc -eq 1 ] || fail "runtime error: exit code $rc, expected 1"
grep -qE '\.c:[0-9]+|from ' err.out && fail "user error shows a source location or trace: $(cat err.out)"
"$overopt" --debug logprob --model lm.h5 --text missing.txt > err.out 2>&1
grep -qE 'cmd_tools\.c:[0-9]+' err.out || fail "--debug: no source location in $(cat err.out)"
"$overopt" sample --model lm.h5 --prompt x --temprature 2 > err.out 2>&1; rc=$?
[ $rc -eq 2 ] || fail "usage error: exit code $rc, expected 2"
grep -q "did you mean '--temperature'" err.out || fail "unknown option: no suggestion in $(cat err.out)"
"$overopt" sample --model=lm.h5 --prompt=ab --samples=2 --max-tokens=5 > eq.tsv 2>&1 || fail "--opt=value form refused: $(cat eq.tsv)"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "tools_cli: all checks passed"
