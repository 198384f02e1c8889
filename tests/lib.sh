# shellcheck shell=bash
# lib.sh: the start every script test shares. A script registered with oo_script_test is called
# as `bash SCRIPT OVEROPT SOURCE_DIR SCRATCH_DIR [more...]` and begins with
#
#   . "$(dirname "$0")/lib.sh" "$@"
#
# which turns on `set -u`, names the first three arguments overopt, src and scratch (paths made
# absolute, so they stay valid after the cd), empties the scratch directory and makes it the
# working directory, and defines
#   mpirun     the MPI launcher ($MPIEXEC, else mpirun);
#   cfg        tests/configs/tiny.cfg, the config most tests shrink further with --set;
#   fail       0 until a check fails; scripts end with `exit $fail` (or their own count);
#   die, bad   print "FAILED: message" and set fail=1 without stopping the script, so one run
#              reports every failed check;
#   run_sets LOG [ARGS...]  `overopt run "$cfg" "${sets[@]}" ARGS` on 2 ranks, output to LOG
#              (the caller defines the array sets); on failure prints LOG and dies;
#   want_line FILE REGEX    dies unless FILE has a line matching the extended REGEX.
# Further arguments ($4 ...) stay with the script.
set -u
case $1 in # a path is made absolute; a bare name is looked up on PATH as before
*/*) overopt=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") ;;
*) overopt=$1 ;;
esac
src=$(cd "$2" && pwd)
scratch=$3
rm -rf "$scratch" && mkdir -p "$scratch" && cd "$scratch" || exit 1
scratch=$(pwd)
mpirun=${MPIEXEC:-mpirun}
cfg=$src/tests/configs/tiny.cfg
fail=0
die() {
  echo "FAILED: $*"
  fail=1
}
bad() { die "$@"; }
run_sets() {
  local log=$1
  shift
  "$mpirun" --oversubscribe -n 2 "$overopt" run "$cfg" "${sets[@]}" "$@" >"$log" 2>&1 ||
    { cat "$log"; die "overopt run $* exited non-zero ($log)"; }
}
want_line() { grep -qE "$2" "$1" || die "$1 lacks a line matching '$2'"; }
