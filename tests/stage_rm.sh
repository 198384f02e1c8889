#!/usr/bin/env bash
# The rm stage on tests/configs/tiny.cfg with rm.k=4, rm.epochs=2: pretrain, gold and prefs run
# once (-n 2) and the directory is copied, so every rm run reads the same inputs. Checks:
# - -n 1 and -n 2 both write rm.h5 and rm_members.csv; every member's clean test accuracy
#   (test_acc, each epoch) is a number in (0, 1];
# - placement independence: with k=4 on 2 ranks each member trains alone on one rank, exactly as
#   on 1 rank (same batches, same sgemm shapes), so every member group (datasets and the
#   reward_shift/reward_scale attributes), metrics/ and test_scores are bitwise equal (h5diff -d 0);
# - members differ: member_0 and member_1 have different head_w and wte (different head seeds and
#   data orders);
# - replicas: k=2 on 4 ranks (2 replicas per member, gradients summed over member_comm) against
#   k=2 on 1 rank: parameters agree to 1e-5 absolute and metrics to 1e-6. Why not exact: the two
#   replicas' halves of each batch are summed by an allreduce, a different float summation order
#   from one rank's single pass. Every parameter with a real gradient agrees to ~1e-7; the largest
#   difference is in qkv_b, whose key part has an exactly zero gradient (softmax is invariant to a
#   shift of the scores), so AdamW turns the rounding noise there into steps of up to
#   lr * |g| / (|g| + eps) (seen: 4e-6 after 10 steps at lr 1e-4). 1e-5 leaves a 2.5x margin while
#   a real replica error (wrong rows, wrong scale with clipping) moves parameters by ~lr = 1e-4 a step.
# - prints (does not check) the wall time of `overopt stage rm` for k=4 on 1 and 2 ranks, their
#   ratio, and the stage's pairs/s line.
# Usage (oo_script_test): stage_rm.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
mpi() { mpirun --oversubscribe -n "$@"; }
t0=$(date +%s)

S="--set rm.k=4 --set rm.epochs=2"
for st in pretrain gold prefs; do
  mpi 2 "$overopt" stage $st "$cfg" --set run.out_dir=base $S -q || { echo "FAILED: stage $st"; exit 1; }
done

# rm_run DIR NP SETTINGS...: copies base to DIR and runs the rm stage there; prints the wall time.
rm_run() {
  local dir=$1 np=$2
  shift 2
  rm -rf $dir && cp -r base $dir || return 1
  local a b
  a=$(date +%s.%N)
  mpi $np "$overopt" stage rm "$cfg" --set run.out_dir=$dir "$@" >$dir.log 2>&1 || { cat $dir.log; return 1; }
  b=$(date +%s.%N)
  awk -v a=$a -v b=$b 'BEGIN { printf "%.2f\n", b - a }' >$dir.wall
}
rm_run k4n1 1 $S || die "rm -n 1"
rm_run k4n2 2 $S || die "rm -n 2"
f1=k4n1/tiny/rm.h5 f2=k4n2/tiny/rm.h5
[ -f $f1 ] && [ -f $f2 ] || { echo "FAILED: rm.h5 missing ($f1, $f2)"; exit 1; }

# Clean test accuracy of every member and epoch in (0, 1].
for d in k4n1 k4n2; do
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_acc") c = i; next }
           { rows++; seen[$1] = 1; v = $c
             if (v !~ /^[0-9.]+$/ || v + 0 <= 0 || v + 0 > 1) { printf "member %s epoch %s: test_acc %s\n", $1, $2, v; bad = 1 } }
           END { n = 0; for (m in seen) n++
                 printf "%s: %d rows, %d members, test_acc in (0,1]: %s\n", FILENAME, rows, n, bad ? "no" : "yes"
                 exit !(c && rows == 8 && n == 4 && !bad) }' $d/tiny/rm_members.csv || die "$d/tiny/rm_members.csv"
done

# 1 rank vs 2 ranks: bitwise.
grep -q "on 2 RM rank(s)" k4n2.log || die "-n 2 did not use 2 RM ranks"
same=1
for obj in /member_0 /member_1 /member_2 /member_3 /metrics /test_scores; do
  h5diff -d 0 $f1 $f2 $obj $obj >/dev/null || { h5diff -d 0 $f1 $f2 $obj $obj | head -8; die "$obj differs between -n 1 and -n 2"; same=0; }
done
# test_scores (n_test, 2, k): name the member columns that differ.
values() { h5dump -y -w 0 -m '%.9g' -d "$1" "$2" | sed -n '/DATA {/,/^ *}/p' | grep -v 'DATA {\|}' | tr ',' '\n' | awk 'NF { print $1 }'; }
paste <(values /test_scores $f1) <(values /test_scores $f2) | awk '$1 != $2 { bad[(NR - 1) % 4] = 1 }
  END { for (m = 0; m < 4; m++) if (bad[m]) printf "test_scores column of member %d differs between -n 1 and -n 2\n", m }'
[ $same = 1 ] && echo "k=4: every member, metrics and test_scores bitwise equal for -n 1 and -n 2"

# Members are not copies of each other.
for d in head_w wte; do
  h5diff -d 0 $f1 $f1 /member_0/$d /member_1/$d >/dev/null && die "member_0/$d equals member_1/$d"
done

# Replicas: k=2 on 4 ranks against k=2 on 1 rank.
K2="--set rm.k=2 --set rm.epochs=2"
rm_run k2n1 1 $K2 || die "rm k=2 -n 1"
rm_run k2n4 4 $K2 || die "rm k=2 -n 4"
g1=k2n1/tiny/rm.h5 g4=k2n4/tiny/rm.h5
grep -q "4 RM rank(s)" k2n4.log || die "k=2 -n 4 did not use 4 RM ranks"
for m in 0 1; do
  h5diff -d 1e-5 $g1 $g4 /member_$m /member_$m >/dev/null ||
    { h5diff -d 1e-5 $g1 $g4 /member_$m /member_$m | head -20; die "k=2: member_$m differs by more than 1e-5 (-n 1 vs -n 4)"; }
  h5diff -d 1e-6 $g1 $g4 /metrics/member_$m /metrics/member_$m >/dev/null || die "k=2: metrics of member $m differ (-n 1 vs -n 4)"
done
exact=$(h5diff -d 0 $g1 $g4 /member_0 /member_0 | awk '/differences found/ { n += $1 } END { print n + 0 }')
echo "k=2, -n 4 (2 replicas per member) vs -n 1: within 1e-5; $exact of member_0's values not bitwise equal"

# Bootstrap members: each trains on its own resample of the pairs, drawn from a stream keyed by
# the member, so k=4 on 2 ranks is again bitwise the run on 1 rank, and differs from finetune.
B="--set rm.diversity=[finetune,bootstrap]"
rm_run bsn1 1 $S $B || die "rm bootstrap -n 1"
rm_run bsn2 2 $S $B || die "rm bootstrap -n 2"
for obj in /member_0 /member_3 /metrics; do
  h5diff -d 0 bsn1/tiny/rm.h5 bsn2/tiny/rm.h5 $obj $obj >/dev/null || die "bootstrap: $obj differs between -n 1 and -n 2"
done
h5diff -d 0 bsn1/tiny/rm.h5 $f1 /member_0/head_w /member_0/head_w >/dev/null && die "bootstrap member_0 equals the finetune member"

# Timing (printed, not checked).
w1=$(cat k4n1.wall) w2=$(cat k4n2.wall)
awk -v a=$w1 -v b=$w2 'BEGIN { printf "overopt stage rm, k=4: -n 1 %.2f s, -n 2 %.2f s, ratio %.2f (not checked)\n", a, b, b / a }'
grep -h "pairs/s" k4n1.log k4n2.log | sed 's/^/  /'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "elapsed $(($(date +%s) - t0)) s"
exit $fail
