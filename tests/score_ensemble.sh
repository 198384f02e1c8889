#!/usr/bin/env bash
# `overopt score` on an ensemble file: `overopt run` on tests/configs/tiny.cfg with rm.k=4 up to the
# rm stage (-n 2), then score a text file with rm.h5. Checks:
# - the header is index, member_0..member_3, mean, wco, uwo_0.5 (uwo_0.1 with --uwo-lambda 0.1) and
#   there is one row per input line, numbered from 0;
# - on every row mean is the average of the member columns, wco their minimum and uwo
#   mean - lambda * (population variance over members) (awk, from the printed members);
# - the members are different models (columns not all equal);
# - errors name the file and the cause: a text file as --model; a member group missing (root
#   attribute k = 4 but no member_3); k not matching the members (an extra member_4); a member
#   without its head_w dataset; a member of the wrong kind; a single reward checkpoint (gold.h5)
#   without head_w; --uwo-lambda given for a single checkpoint; a negative --uwo-lambda.
#   The damaged files are made by renaming names inside a copy of rm.h5 (same length, so the HDF5
#   structure stays valid; the files use superblock 0 without checksums) and with h5copy.
# Usage (oo_script_test): score_ensemble.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
t0=$(date +%s)

mpirun --oversubscribe -n 2 "$overopt" run "$cfg" --set run.out_dir=r --set rm.k=4 --until rm -q ||
  { echo "FAILED: overopt run --until rm"; exit 1; }
rm=r/tiny/rm.h5 gold=r/tiny/gold.h5
[ -f $rm ] && [ -f $gold ] || { echo "FAILED: no $rm or $gold"; exit 1; }

printf 'The cat sat on the mat.\nQ: What is it?\n\nA: \tnothing at all\nHello, world\n' >lines.txt
n_lines=5

# check_rows FILE LAMBDA: header, row count and the objectives of every row.
check_rows() {
  awk -F'\t' -v K=4 -v lambda=$2 -v want=$n_lines '
    NR == 1 {
      h = "index"; for (k = 0; k < K; k++) h = h "\tmember_" k; h = h "\tmean\twco\tuwo_" lambda
      if ($0 != h) { print "header: " $0 "\nwanted: " h; bad = 1 }
      next }
    { rows++
      if (NF != K + 4 || $1 != rows - 1) { printf "row %d: %d fields, line %s\n", rows, NF, $1; bad = 1; next }
      s = 0; mn = $2
      for (k = 0; k < K; k++) { x = $(k + 2); s += x; if (x < mn) mn = x; if (x != $2) differ = 1 }
      mean = s / K; v = 0
      for (k = 0; k < K; k++) v += ($(k + 2) - mean) ^ 2
      uwo = mean - lambda * v / K
      tol = 1e-7 * (1 + (mean < 0 ? -mean : mean))
      d1 = $(K + 2) - mean; d2 = $(K + 4) - uwo
      if (d1 > tol || -d1 > tol) { printf "row %d: mean %s, average of members %.9g\n", rows, $(K + 2), mean; bad = 1 }
      if ($(K + 3) != mn) { printf "row %d: wco %s, min of members %s\n", rows, $(K + 3), mn; bad = 1 }
      if (d2 > tol || -d2 > tol) { printf "row %d: uwo %s, expected %.9g\n", rows, $(K + 4), uwo; bad = 1 } }
    END { printf "%s: %d rows, mean/wco/uwo_%s consistent: %s, members differ: %s\n", FILENAME, rows, lambda,
                 bad ? "no" : "yes", differ ? "yes" : "no"
          exit !(rows == want && !bad && differ) }' "$1"
}
"$overopt" score --model $rm --text lines.txt >score.tsv || die "score ensemble"
cat score.tsv
check_rows score.tsv 0.5 || die "score.tsv"
"$overopt" score --model $rm --text lines.txt --uwo-lambda 0.1 >score01.tsv || die "score --uwo-lambda 0.1"
check_rows score01.tsv 0.1 || die "score01.tsv"
# The member columns do not depend on lambda.
[ "$(cut -f1-5 score.tsv | tail -n +2)" = "$(cut -f1-5 score01.tsv | tail -n +2)" ] || die "member columns change with lambda"

# expect_error WHAT PATTERN ARGS...: the command fails (exit 1) with PATTERN (grep -F) on stderr.
expect_error() { # a runtime error exits 1, a bad command line 2 (EXPECT_RC)
  local what=$1 pat=$2 err rc
  shift 2
  err=$("$overopt" score "$@" 2>&1 >/dev/null)
  rc=$?
  echo "$what: exit $rc: $(echo "$err" | head -1)"
  [ $rc = "${EXPECT_RC:-1}" ] || die "$what: exit code $rc, expected ${EXPECT_RC:-1}"
  echo "$err" | grep -qF -- "$pat" || die "$what: message lacks: $pat"
}
# rename FROM TO SRC DST: copy SRC to DST replacing every occurrence of the byte string FROM by TO
# (same length; TO may contain \0) where it is not followed by '_' ('reward' leaves 'reward_shift').
rename() {
  python3 -c '
import re, sys
a, b, src, dst = sys.argv[1:]
a, b = a.encode(), b.encode().decode("unicode_escape").encode("latin1")
assert len(a) == len(b)
out, n = re.subn(re.escape(a) + b"(?!_)", b, open(src, "rb").read())
assert n > 0, "no %r in %s" % (a, src)
open(dst, "wb").write(out)' "$@"
}

expect_error "text file as --model" "file 'lines.txt' is not an HDF5 file" --model lines.txt --text lines.txt

rename member_3 member_9 $rm missing.h5 || die "fixture missing.h5"
h5ls missing.h5 | grep -q member_9 || die "fixture missing.h5 is not readable as HDF5"
expect_error "member missing" "missing.h5: member 3 (group 'member_3') is missing" --model missing.h5 --text lines.txt

cp $rm extra.h5 && h5copy -i $rm -o extra.h5 -s /member_0 -d /member_4 || die "fixture extra.h5"
expect_error "k mismatch" "extra.h5: root attribute k = 4 but the file also holds group 'member_4'" \
  --model extra.h5 --text lines.txt

rename head_w head_x $rm nohead.h5 || die "fixture nohead.h5"
expect_error "member without head_w" "checkpoint 'nohead.h5' group 'member_0': dataset 'head_w' is missing" \
  --model nohead.h5 --text lines.txt

rename reward 'value\0' $rm kind.h5 || die "fixture kind.h5"
expect_error "member of the wrong kind" "'kind.h5' group 'member_0': expected a reward checkpoint, got kind 'value'" --model kind.h5 --text lines.txt

rename head_w head_x $gold gold_nohead.h5 || die "fixture gold_nohead.h5"
expect_error "reward checkpoint without head_w" "checkpoint 'gold_nohead.h5': dataset 'head_w' is missing" \
  --model gold_nohead.h5 --text lines.txt

expect_error "--uwo-lambda on a single checkpoint" "--uwo-lambda applies to an ensemble file" \
  --model $gold --text lines.txt --uwo-lambda 0.5
EXPECT_RC=2 expect_error "negative --uwo-lambda" "--uwo-lambda expects a number in [0" --model $rm --text lines.txt --uwo-lambda -1

echo "elapsed $(($(date +%s) - t0)) s"
exit $fail
