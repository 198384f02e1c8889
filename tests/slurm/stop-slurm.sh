#!/bin/bash
# stop-slurm.sh [--clean]: stops the private cluster started by start-slurm.sh.
#
# Cancels every job (waits up to 15 s for them to leave), then SIGTERMs slurmd, slurmctld and
# munged by their PID files at once, waits up to 10 s, and SIGKILLs what is left. Only the
# processes named in $SLURM_TEST_DIR's PID files are signalled. Stray slurmstepd processes are
# reported, not killed. --clean also removes $SLURM_TEST_DIR. Safe to run when nothing runs.
set -u

B=${SLURM_TEST_DIR:-/tmp/overopt-slurm}
CLEAN=0
for a in "$@"; do
  case $a in
    --clean) CLEAN=1 ;;
    *) echo "usage: stop-slurm.sh [--clean]   (directory from SLURM_TEST_DIR, default /tmp/overopt-slurm)" >&2; exit 2 ;;
  esac
done
export PATH=$PATH:/usr/sbin
export SLURM_CONF=$B/etc/slurm.conf

pid_of() { [[ -s $1 ]] && cat "$1"; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

CTLD=$(pid_of "$B/run/slurmctld.pid")
if alive "$CTLD" && [[ -f $SLURM_CONF ]]; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [[ -n ${jobs// /} ]]; then
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for ((i = 0; i < 150; i++)); do
      [[ -z $(squeue -h -t PD,R,CG,S 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
fi

declare -A PIDS=()
for f in "$B/run/slurmd.pid" "$B/run/slurmctld.pid" "$B/munge/munged.pid"; do
  p=$(pid_of "$f")
  if alive "$p"; then
    kill -TERM "$p" 2>/dev/null
    PIDS[$f]=$p
  fi
done
for ((i = 0; i < 100 && ${#PIDS[@]} > 0; i++)); do
  for f in "${!PIDS[@]}"; do alive "${PIDS[$f]}" || unset "PIDS[$f]"; done
  ((${#PIDS[@]} > 0)) && sleep 0.1
done
for f in "${!PIDS[@]}"; do
  echo "stop-slurm: $(basename "$f" .pid) (pid ${PIDS[$f]}) ignored SIGTERM for 10 s: SIGKILL" >&2
  kill -KILL "${PIDS[$f]}" 2>/dev/null
done
rm -f "$B/run/slurmd.pid" "$B/run/slurmctld.pid" "$B/munge/munged.pid"

stray=$(pgrep -a slurmstepd 2>/dev/null || true)
[[ -n $stray ]] && echo "stop-slurm: slurmstepd still running (not killed; may belong to another cluster): $stray" >&2

if [[ $CLEAN == 1 ]]; then
  case $B in
    / | "" | /tmp | /tmp/) echo "stop-slurm: refusing to remove '$B'" >&2; exit 1 ;;
  esac
  rm -rf "$B"
fi
if [[ $CLEAN == 1 ]]; then echo "slurm stopped ($B removed)"; else echo "slurm stopped ($B)"; fi
exit 0
