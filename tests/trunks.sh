#!/usr/bin/env bash
# rm.diversity pretrain (issue #15 item 1): each member fine-tunes its own pretrained trunk.
# tests/configs/tiny.cfg shrunk, 2 members, rm.diversity = [finetune, pretrain, bootstrap]:
# 1. On 2 ranks (one member each) the trunks stage writes lm_<size>_trunk1.h5 for member 1 while
#    member 0 keeps the base LM lm_<size>.h5 (trained by the pretrain stage); the two trunks differ.
# 2. A 1-rank run in another directory gives trunk 1 equal to the bit (h5diff -d 0 on every
#    parameter): its data is keyed by (seed, step, row), and its ranks are the member's own.
# 3. The members start from their own trunks: the rm stage's member 1 differs from a run with
#    rm.diversity = [finetune, bootstrap] in its trunk, while member 0 is the same.
# 4. A rerun reports "== trunks: up to date" and skips every stage; rm.k = 3 adds trunk 2 only
#    (trunk 1 is kept, its mtime unchanged).
# 5. The config refuses "pretrain" without rm.init = pretrained, and together with rm.warm.
# Usage (oo_script_test): trunks.sh OVEROPT SOURCE_DIR SCRATCH_DIR
set -u
overopt=$1 src=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$scratch" || exit 1
mpirun=${MPIEXEC:-mpirun}
cfg=$src/tests/configs/tiny.cfg
sets=(--set "run.out_dir=$scratch/runs" --set pretrain.steps=12 --set prefs.n_train=24 --set prefs.n_test=12
  --set rm.k=2 --set rm.epochs=1 --set "rm.diversity=[finetune, pretrain, bootstrap]")
fail=0
die() { echo "FAILED: $*"; fail=1; }
run() { # run NP LOG [more args]
  local np=$1 log=$2
  shift 2
  "$mpirun" --oversubscribe -n "$np" "$overopt" run "$cfg" "${sets[@]}" "$@" >"$log" 2>&1 ||
    { cat "$log"; die "overopt run -n $np $* exited non-zero ($log)"; }
}
want_line() { grep -qE "$2" "$1" || die "$1 lacks a line matching '$2'"; }
params() { h5ls -r "$1" | awk '$2 == "Dataset" { print $1 }' | grep -v '^/train_log' ; }
same_params() { # same_params A B: every parameter dataset of A equal to the bit in B
  local n=0 d
  for d in $(params "$1"); do
    n=$((n + 1))
    h5diff -d 0 "$1" "$2" "$d" "$d" >/dev/null 2>&1 || { die "$1 and $2 differ in $d"; return; }
  done
  [ "$n" -gt 3 ] || die "$1: only $n datasets found"
}
differ() { # differ A B DATASET: the dataset differs
  h5diff -d 0 "$1" "$2" "$3" "$3" >/dev/null 2>&1 && die "$1 and $2 are equal in $3 (want different trunks)"
}

# ---- 1. two members on two ranks ---------------------------------------------------------------
d2=runs/two
run 2 two.log --set run.name=two --until rm
base=$d2/lm_d32L1H2.h5 t1=$d2/lm_d32L1H2_trunk1.h5
[ -s "$base" ] && [ -s "$t1" ] || die "missing $base or $t1"
[ -e $d2/lm_d32L1H2_trunk0.h5 ] && die "member 0 has a trunk file of its own (it keeps the base LM)"
want_line $d2/run.log "trunks: pretraining 1 member trunk of rm.size on the members' ranks"
[ -s "$t1" ] && differ "$base" "$t1" /qkv_w

# ---- 2. the same trunk on one rank -------------------------------------------------------------
run 1 one.log --set run.name=one --until trunks
[ -s runs/one/lm_d32L1H2_trunk1.h5 ] && same_params "$t1" runs/one/lm_d32L1H2_trunk1.h5

# ---- 3. members start from their own trunks ----------------------------------------------------
run 2 shared.log --set run.name=shared --set "rm.diversity=[finetune, bootstrap]" --until rm
grep -q "== trunks" runs/shared/run.log && want_line runs/shared/run.log "trunks: rm.diversity has no \"pretrain\""
[ -e runs/shared/lm_d32L1H2_trunk1.h5 ] && die "a trunk was pretrained without rm.diversity pretrain"
h5diff -d 0 $d2/rm.h5 runs/shared/rm.h5 /member_0/qkv_w /member_0/qkv_w >/dev/null 2>&1 ||
  die "member 0 differs between own and shared trunks (it starts from the base LM in both)"
differ $d2/rm.h5 runs/shared/rm.h5 /member_1/qkv_w

# ---- 4. rerun: up to date; a third member adds one trunk ---------------------------------------
m1=$(stat -c %Y "$t1")
sleep 1
run 2 rerun.log --set run.name=two --until rm
want_line $d2/run.log "== trunks: up to date"
want_line $d2/run.log "== rm: up to date"
run 2 k3.log --set run.name=two --set rm.k=3 --until trunks
want_line $d2/run.log "trunks: lm_d32L1H2_trunk1.h5 is up to date, skipped"
want_line $d2/run.log "trunks: pretraining 1 member trunk"
[ -s $d2/lm_d32L1H2_trunk2.h5 ] || die "rm.k = 3 did not add trunk 2"
[ "$(stat -c %Y "$t1")" = "$m1" ] || die "trunk 1 was rewritten when rm.k grew"
[ -s $d2/lm_d32L1H2_trunk2.h5 ] && differ "$t1" $d2/lm_d32L1H2_trunk2.h5 /qkv_w

# ---- 5. refusals -------------------------------------------------------------------------------
"$overopt" check "$cfg" "${sets[@]}" --set rm.init=scratch >bad1.log 2>&1 && die "pretrain diversity with rm.init = scratch accepted"
want_line bad1.log "rm.init = \"pretrained\", or drop \"pretrain\" from rm.diversity"
"$overopt" check "$cfg" "${sets[@]}" --set rm.warm=true >bad2.log 2>&1 && die "pretrain diversity with rm.warm accepted"
want_line bad2.log "'rm.diversity'.* has \"pretrain\""

[ $fail = 0 ] && echo "trunks: all checks passed"
exit $fail
