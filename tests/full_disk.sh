#!/usr/bin/env bash
# full_disk (#12): the tiny pipeline run into a small tmpfs, at sizes from "full before the first
# checkpoint" to "just too small for the whole run". For every size, the run must either
# succeed or exit non-zero with a message saying the disk is full, and must leave
#   - no temporary (*.tmp, *.tmp.<pid>) behind,
#   - no empty CSV or text artifact (a 0-byte rm_members.csv once passed as "up to date").
# Mounting a tmpfs needs root (or CAP_SYS_ADMIN): elsewhere the test is skipped (exit 77).
# First, test_atomic_file writes past the end of a 64 kB tmpfs through the atomic writer that
# every CSV and text artifact uses.
# Usage: full_disk.sh OVEROPT SOURCE_DIR SCRATCH_DIR TEST_ATOMIC_FILE
. "$(dirname "$0")/lib.sh" "$@"
TEST_ATOMIC=$4
mkdir -p probe
if ! mount -t tmpfs -o size=64k tmpfs probe 2> probe.err; then
  echo "SKIPPED: cannot mount a tmpfs here ($(cat probe.err)); run as root to test a full disk"
  exit 77
fi
fails=0
fail() { echo "FAILED: $*"; fails=$((fails + 1)); }
"$TEST_ATOMIC" "$scratch/probe" || fail "test_atomic_file on a full tmpfs"
umount probe
n_full=0 n_ok=0
# Coarse sizes cover every stage; the fine steps around the end of rm.h5 hit the small CSV and
# text writes that follow it (rm_members.csv) with the disk full.
for kb in 24 48 96 160 260 $(seq 400 8 424) $(seq 428 4 448) $(seq 456 8 560) 640 900 1100 1250; do
  mnt=$scratch/mnt_$kb
  mkdir -p "$mnt"
  mount -t tmpfs -o size=${kb}k tmpfs "$mnt" || { fail "mount ${kb}k"; continue; }
  timeout 300 "$overopt" run "$cfg" --set "run.out_dir=$mnt" > "log_$kb.txt" 2>&1
  rc=$?
  left=$(find "$mnt" -name '*.tmp' -o -name '*.tmp.*' | tr '\n' ' ')
  empty=$(find "$mnt" -type f -size 0 \( -name '*.csv' -o -name '*.md' -o -name '*.txt' -o -name '*.cfg' \) | tr '\n' ' ')
  if [ $rc -eq 0 ]; then
    n_ok=$((n_ok + 1))
    echo "${kb} kB: the run fits"
  else
    n_full=$((n_full + 1))
    reason=$(grep -m1 -iE 'no space left|disk full|cannot write|cannot create' "log_$kb.txt")
    echo "${kb} kB: exit $rc: ${reason:0:300}"
    [ $rc -lt 128 ] && [ $rc -ne 124 ] || fail "${kb} kB: exit $rc (crash or hang)"
    [ -n "$reason" ] || fail "${kb} kB: exit $rc without saying the disk is full: $(tail -3 "log_$kb.txt")"
  fi
  [ -z "$left" ] || fail "${kb} kB: temporaries left behind: $left"
  [ -z "$empty" ] || fail "${kb} kB: empty artifacts: $empty"
  umount "$mnt"
done
echo "full_disk: $n_full sizes ended in a clean disk-full error, $n_ok runs fit; $fails failure(s)"
[ $n_full -ge 3 ] || fail "only $n_full sizes filled the disk: the sizes no longer bracket the tiny run"
[ $fails -eq 0 ]
