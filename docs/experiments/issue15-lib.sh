# Shared steps of the issue-15 experiment scripts (sourced, not run):
#   world      runs the quickstart's world once into $out/world (pi_init, the pretrained proxy-size
#              trunk, gold, best-of-n samples; --until bon_samples), so every experiment shares it
#   link_world DIR   hard-links the world's artifacts into DIR; overopt reuses a linked artifact only
#              when its recorded config hash matches, so a point that changes the world recomputes it
#   run_point NAME [--set ...] [--until STAGE]   one replicated run of configs/quickstart.cfg in $out/NAME,
#              then `overopt summary`
# Environment: OUT (default runs/issue15), R (replicates, default 3), NP (ranks, default nproc; NP = R
# runs the replicates side by side, one rank each), OVEROPT (the binary), NICE (default 5),
# WATCHDOG (run.watchdog_s, default 3600).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$here/runs/issue15}
R=${R:-3}
overopt=${OVEROPT:-$here/build/overopt}
np=${NP:-$(nproc)}
nice_n=${NICE:-5}
# a rank that waits for another in a collective for longer than this is taken as lost; on a
# machine shared by several jobs a member's training can take minutes of wall time
watchdog=${WATCHDOG:-3600}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1

oo_mpirun() { nice -n "$nice_n" mpirun --oversubscribe -n "$np" "$overopt" "$@"; }

# rm.init = pretrained here only so the pretrain stage also trains the proxy-size trunk that the
# pretrained-trunk points need; gold and bon_samples do not depend on rm.*.
world() {
  mkdir -p "$out"
  oo_mpirun run "$here/configs/quickstart.cfg" -q --set "run.out_dir=$out" --set run.name=world \
    --set run.replicates=1 --set rm.init=pretrained --until bon_samples
}

link_world() {
  local dir=$1 f
  mkdir -p "$dir"
  for f in "$out/world"/lm_*.h5 "$out/world"/lm_*_train.csv "$out/world/gold.h5" "$out/world/bon_samples.h5"; do
    [ -e "$f" ] && [ ! -e "$dir/$(basename "$f")" ] && ln "$f" "$dir/"
  done
  return 0
}

run_point() {
  local name=$1
  shift
  link_world "$out/$name"
  echo "== $name: $*"
  oo_mpirun run "$here/configs/quickstart.cfg" -q --set "run.out_dir=$out" --set "run.name=$name" \
    --set "run.replicates=$R" --set "run.watchdog_s=$watchdog" "$@"
  "$overopt" summary "$out/$name" --replicates "$R" -q
}

# link_reps SRC DST FILE...: hard-links each replicate's FILEs of run SRC into run DST (a run whose
# config gives them the same hash reuses them, e.g. the preference sample of the same prefs.*)
link_reps() {
  local src=$out/$1 dst=$out/$2 i f
  shift 2
  for ((i = 0; i < R; i++)); do
    mkdir -p "$dst/rep$i"
    for f in "$@"; do
      [ -e "$src/rep$i/$f" ] && [ ! -e "$dst/rep$i/$f" ] && ln "$src/rep$i/$f" "$dst/rep$i/"
    done
  done
  return 0
}
