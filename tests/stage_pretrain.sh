#!/usr/bin/env bash
# The pretrain stage on tests/configs/tiny.cfg (one LM, d32L1H2), end to end under mpirun. Checks:
# - rank-count independence: with pretrain.steps=20, eval_every=5 under -n 1, 2 and 4, every
#   step's global training loss (lm_<size>_train.csv, written by rank 0) agrees with -n 1 to 1e-4
#   relative (the rows of a step are the same for any rank count; only the order of the gradient
#   sum differs);
# - determinism: two -n 2 runs (20 steps) give checkpoints whose every dataset is bitwise equal
#   (h5diff -d 0 per dataset) and the files are equal as HDF5 (h5diff on the whole file, attributes
#   included); the count of differing bytes (cmp) is printed too (0 since h5io writes no object
#   modification times), not checked;
# - learning: a 400-step -n 2 run ends with a validation loss (root attribute val_loss, nats) below
#   the corpus unigram entropy (the log's bits/byte times ln 2); 20 steps are not enough for that
#   (val 4.0 nats against 3.3), hence the longer run;
# - `overopt sample --model lm --prompt "The " -n 2` prints a header and 2 TSV rows;
# - stop and resume: a 20-step run (batch 128, so a step takes tens of ms) is signalled once the
#   first checkpoint (step 5) has appeared, (a) SIGUSR1 to mpirun, which forwards it to every
#   rank, (b) SIGTERM to one rank only (a child of mpirun); each must exit 3 leaving
#   lm_<size>.partial.h5 and no final checkpoint, and the rerun must log "resuming at step" and
#   end with a checkpoint equal to an uninterrupted run's (every dataset bitwise, and the whole
#   file as HDF5). (SIGTERM to mpirun itself also stops the ranks cleanly, but Open MPI's mpirun
#   then exits 1, not 3.)
# - a teacher gold (gold.kind = teacher at pi_init's size) gets its own LM, lm_teacher_<size>.h5,
#   with gold.teacher_steps steps, and pi_init stays the random-gold run's, bitwise.
# Usage (oo_script_test): stage_pretrain.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
mpi() { mpirun --oversubscribe -n "$@"; }
t0=$(date +%s)

# same_datasets A B: every dataset of A exists in B with bitwise equal values (and B has no others).
same_datasets() {
  local a=$1 b=$2 d bad=0
  local la lb
  la=$(h5ls -r "$a" | awk '$2 == "Dataset" { print $1 }' | sort)
  lb=$(h5ls -r "$b" | awk '$2 == "Dataset" { print $1 }' | sort)
  [ -n "$la" ] || { echo "no datasets in $a"; return 1; }
  [ "$la" = "$lb" ] || { echo "dataset lists differ: $a vs $b"; return 1; }
  for d in $la; do
    h5diff -d 0 "$a" "$b" "$d" "$d" >/dev/null || { echo "dataset $d differs: $a vs $b"; bad=1; }
  done
  return $bad
}
# whole_file A B: the files are equal as HDF5 (datasets and attributes, h5diff -d 0 on the root; the
# runs must use the same out_dir name, which the stored config contains); prints how many bytes
# differ (expected 0: h5io writes no object modification times).
whole_file() {
  h5diff -d 0 "$1" "$2" >/dev/null || { echo "h5diff of the whole files (attributes too) fails: $1 $2"; return 1; }
  echo "$1 and $2: equal as HDF5 files; $(cmp -l "$1" "$2" | wc -l) bytes differ"
}

# ---- rank-count independence of the per-step losses; determinism of two -n 2 runs ------------
# Each run in its own directory with the same out_dir name, so the stored configs are equal too.
S="--set pretrain.steps=20 --set pretrain.eval_every=5"
for x in n1:1 n2:2 n4:4 n2b:2; do
  d=${x%:*} n=${x#*:}
  mkdir -p $d && (cd $d && mpi $n "$overopt" stage pretrain "$cfg" --set run.out_dir=r $S >log 2>&1) ||
    { cat $d/log; die "pretrain -n $n ($d)"; }
done
csv1=$(ls n1/r/tiny/lm_*_train.csv 2>/dev/null)
[ "$(echo "$csv1" | wc -w)" = 1 ] || { echo "FAILED: expected one lm_*_train.csv in n1/r/tiny, got '$csv1'"; exit 1; }
name=$(basename "$csv1" _train.csv) # lm_<size>
for n in 2 4; do
  paste -d, "$csv1" n$n/r/tiny/${name}_train.csv | awk -F, -v n=$n '
    NR == 1 { if ($0 != "step,loss,lr,step,loss,lr") { print "bad header: " $0; bad = 1 }; next }
    { rows++
      if ($1 != rows || $4 != rows) { printf "row %d: steps %s and %s\n", rows, $1, $4; bad = 1 }
      d = $2 - $5; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > max) { max = r; at = $1 } }
    END { printf "-n 1 vs -n %d: %d steps, largest relative loss difference %.3g (step %d)\n", n, rows, max, at
          exit !(rows == 20 && max <= 1e-4 && !bad) }' || die "per-step losses -n 1 vs -n $n"
done
if [ -f n2/r/tiny/$name.h5 ] && [ -f n2b/r/tiny/$name.h5 ]; then
  same_datasets n2/r/tiny/$name.h5 n2b/r/tiny/$name.h5 || die "two -n 2 runs give different checkpoints"
  whole_file n2/r/tiny/$name.h5 n2b/r/tiny/$name.h5 || die "two -n 2 runs give different files"
  cmp -s n2/r/tiny/${name}_train.csv n2b/r/tiny/${name}_train.csv || die "two -n 2 runs give different losses"
else
  die "missing n2/r/tiny/$name.h5 or n2b/r/tiny/$name.h5"
fi

# ---- learning: 400 steps (-n 2), validation loss below the unigram entropy; sampling -----------
L="--set pretrain.steps=400 --set pretrain.eval_every=100"
mpi 2 "$overopt" stage pretrain "$cfg" --set run.out_dir=long $L >long.log 2>&1 || { cat long.log; die "pretrain 400 steps"; }
fa=long/tiny/$name.h5
if [ -f $fa ]; then
  val=$(h5dump -a val_loss $fa | awk '/\(0\):/ { print $2 }')
  bits=$(sed -n 's/.*unigram entropy \([0-9.]*\) bits\/byte.*/\1/p' long.log | head -1)
  awk -v v="$val" -v b="$bits" 'BEGIN { h = b * log(2); printf "400 steps: validation loss %s nats, unigram entropy %s bits = %.4f nats\n", v, b, h
                                        exit !(v != "" && b != "" && v + 0 > 0 && v + 0 < h) }' ||
    die "validation loss not below the unigram entropy"
  out=$("$overopt" sample --model $fa --prompt "The " -n 2 --max-tokens 24)
  echo "$out"
  echo "$out" | awk -F'\t' 'NR == 1 { ok = $0 == "index\ttext"; next } { rows++; if ($1 != rows - 1 || NF != 2) ok = 0 }
                            END { exit !(ok && rows == 2) }' || die "sample: expected a header and 2 TSV rows"
else
  die "missing $fa"
fi

# ---- a teacher gold's LM is its own model, even at pi_init's size ------------------------------
# tiny.cfg's gold has pi_init's size. With gold.kind = teacher the pretrain stage must write the
# teacher to lm_teacher_<size>.h5 (gold.teacher_steps steps, its own seed) and leave pi_init as the
# random-gold run above made it (pretrain.steps steps, the same datasets): until 2026-11-27 the two
# shared lm_<size>.h5, trained for max(pretrain.steps, gold.teacher_steps). The gold stage must then
# score with the teacher.
mkdir -p teach && (cd teach && mpi 2 "$overopt" stage pretrain "$cfg" --set run.out_dir=r $S --set gold.kind=teacher \
  --set gold.teacher_steps=30 >log 2>&1) || { cat teach/log; die "pretrain with a teacher gold"; }
tname=lm_teacher_${name#lm_}
[ -f teach/r/tiny/$tname.h5 ] || die "teacher gold: no $tname.h5 (files: $(ls teach/r/tiny | tr '\n' ' '))"
[ "$(($(wc -l <teach/r/tiny/${tname}_train.csv) - 1))" = 30 ] || die "teacher gold: the teacher did not train gold.teacher_steps = 30 steps"
[ "$(($(wc -l <teach/r/tiny/${name}_train.csv) - 1))" = 20 ] || die "teacher gold: pi_init did not train pretrain.steps = 20 steps"
same_datasets n2/r/tiny/$name.h5 teach/r/tiny/$name.h5 || die "teacher gold: pi_init differs from the random-gold run's"
h5diff -d 0 teach/r/tiny/$name.h5 teach/r/tiny/$tname.h5 /wte /wte >/dev/null 2>&1 &&
  die "teacher gold: the teacher's token embedding equals pi_init's (the same model)"
(cd teach && mpi 2 "$overopt" stage gold "$cfg" --set run.out_dir=r $S --set gold.kind=teacher --set gold.teacher_steps=30 \
  >log_gold 2>&1) || { cat teach/log_gold; die "gold stage with a teacher gold"; }
grep -q "gold: kind teacher" teach/log_gold || { cat teach/log_gold; die "gold stage: no teacher gold"; }
echo "teacher gold: $tname.h5 (30 steps) beside $name.h5 (20 steps, equal to the random-gold run's)"

# ---- stop at a step boundary and resume ---------------------------------------------------------
R="--set pretrain.steps=20 --set pretrain.eval_every=5 --set pretrain.batch=128"
mkdir -p straight && (cd straight && mpi 2 "$overopt" stage pretrain "$cfg" --set run.out_dir=r $R >log 2>&1) ||
  die "uninterrupted pretrain"
# interrupt DIR HOW: starts a run in DIR, waits for the first checkpoint, signals it (HOW = usr1-mpirun |
# term-one-rank), expects exit 3 and the partial file.
interrupt() {
  local dir=$1 how=$2 pid i rc
  mkdir -p $dir
  (cd $dir && exec mpirun --oversubscribe -n 2 "$overopt" stage pretrain "$cfg" --set run.out_dir=r $R >log 2>&1) &
  pid=$!
  for i in $(seq 600); do
    [ -f $dir/r/tiny/$name.partial.h5 ] && break
    sleep 0.02
  done
  case $how in
  usr1-mpirun) kill -USR1 $pid ;;
  term-one-rank) kill -TERM "$(pgrep -P $pid | sed -n 2p)" ;;
  esac
  wait $pid
  rc=$?
  echo "$how: exit code $rc, $(grep -o 'stopped on request.*' $dir/log | head -1)"
  [ $rc = 3 ] || { cat $dir/log; die "$how: exit code $rc, expected 3 (if 0, the run ended before the signal)"; return 1; }
  [ -f $dir/r/tiny/$name.partial.h5 ] || { die "$how: no $name.partial.h5 after the stop"; return 1; }
  [ ! -f $dir/r/tiny/$name.h5 ] || { die "$how: final checkpoint written although stopped"; return 1; }
  (cd $dir && mpi 2 "$overopt" stage pretrain "$cfg" --set run.out_dir=r $R >log2 2>&1) || { cat $dir/log2; die "$how: rerun"; return 1; }
  grep "resuming at step" $dir/log2 || die "$how: the rerun did not resume"
  [ ! -f $dir/r/tiny/$name.partial.h5 ] || die "$how: partial file left after the finished run"
  same_datasets straight/r/tiny/$name.h5 $dir/r/tiny/$name.h5 || die "$how: resumed checkpoint differs from the uninterrupted one"
  whole_file straight/r/tiny/$name.h5 $dir/r/tiny/$name.h5 || die "$how: resumed file differs"
}
interrupt resume_usr1 usr1-mpirun
interrupt resume_term term-one-rank

echo "elapsed $(($(date +%s) - t0)) s"
exit $fail
