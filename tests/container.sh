#!/bin/bash
# container: builds the Containerfile with podman and runs `overopt --version`, `overopt check` on
# the shipped quickstart config, `overopt plan` and a 2-rank `mpirun overopt run` of the tiny test
# world (every stage, through the report) inside it.
# Where the base image (docker.io/library/debian:12-slim) cannot be pulled (no registry access), it
# is made with debootstrap from deb.debian.org (apt's mirror) and imported under that name, once.
# Where podman's defaults cannot start a container (crun refuses hybrid cgroup v1/v2 hosts; an
# rlimit above what the sandbox allows), the runc runtime with the host's own rlimits is tried; the
# options that work are printed. Skips (exit 77, reported as skipped by ctest) with the reason where
# podman is missing or no container can start, or no base image can be had.
# Usage (oo_script_test): container.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
base=docker.io/library/debian:12-slim
tag=localhost/overopt-test:latest
command -v podman >/dev/null 2>&1 || { echo "SKIPPED: podman is not installed (apt-get install podman)"; exit 77; }
podman info >/dev/null 2>&1 || { echo "SKIPPED: podman does not work here: $(podman info 2>&1 | tail -1)"; exit 77; }

# ---- the base image ----------------------------------------------------------------------------
if ! podman image exists "$base" && ! podman pull -q "$base" >"$scratch/pull.log" 2>&1; then
  echo "cannot pull $base ($(tail -1 "$scratch/pull.log")); making it with debootstrap"
  command -v debootstrap >/dev/null 2>&1 ||
    { echo "SKIPPED: no registry access and no debootstrap (apt-get install debootstrap)"; exit 77; }
  rm -rf "$scratch/rootfs"
  debootstrap --variant=minbase bookworm "$scratch/rootfs" http://deb.debian.org/debian >"$scratch/debootstrap.log" 2>&1 ||
    { tail -3 "$scratch/debootstrap.log"; echo "SKIPPED: debootstrap of bookworm failed (no access to deb.debian.org?)"; exit 77; }
  rm -rf "$scratch"/rootfs/var/cache/apt/archives/*.deb
  tar -C "$scratch/rootfs" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$base" >/dev/null ||
    { echo "FAILED: podman import of the debootstrapped base"; exit 1; }
  rm -rf "$scratch/rootfs"
fi

# ---- options under which a container starts ----------------------------------------------------
nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
# (capped: runc refused an nproc of 65536 in a sandbox whose hard limit is 96365)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
# each candidate: global options | options of run and build
candidates=("|" "--runtime runc|--ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc")
found=0
for c in "${candidates[@]}"; do
  gopts=${c%%|*} copts=${c#*|}
  # shellcheck disable=SC2086 # the options are lists of words
  if podman $gopts run $copts --rm "$base" true >"$scratch/probe.log" 2>&1; then found=1; break; fi
  echo "podman ${gopts:-(defaults)} run ${copts}: $(tail -1 "$scratch/probe.log")"
done
[ $found -eq 1 ] || { echo "SKIPPED: no container starts here (above)"; exit 77; }
echo "podman options: ${gopts:-(defaults)} run/build ${copts:-(defaults)}"
# pod SUBCOMMAND ARGS...: podman with the options found
# shellcheck disable=SC2086
pod() { local sub=$1; shift; podman $gopts "$sub" $copts "$@"; }

# ---- build and run -------------------------------------------------------------------------------
t0=$(date +%s)
old=$(podman image inspect -f '{{.Id}}' "$tag" 2>/dev/null)
if ! pod build -q --network host -t "$tag" -f "$src/Containerfile" "$src" >"$scratch/build.log" 2>&1; then
  tail -20 "$scratch/build.log"; echo "FAILED: podman build"; exit 1
fi
echo "podman build: $(($(date +%s) - t0)) s"
# the previous test image, now untagged, is not left behind (its layers stay as the build cache)
[ -n "$old" ] && [ "$old" != "$(podman image inspect -f '{{.Id}}' "$tag")" ] && podman rmi "$old" >/dev/null 2>&1
fail=0
pod run --rm "$tag" --version | grep -q '^overopt ' || { echo "FAILED: overopt --version in the container"; fail=1; }
pod run --rm "$tag" check /opt/overopt/configs/quickstart.cfg >/dev/null || { echo "FAILED: check in the container"; fail=1; }
pod run --rm "$tag" plan /opt/overopt/configs/paper-scale.cfg -n 64 | grep -q '| ppo |' || { echo "FAILED: plan in the container"; fail=1; }
# the whole pipeline on the tiny test world, 2 ranks, inside the container (corpus: fortunes)
pod run --rm --entrypoint mpirun "$tag" --oversubscribe -n 2 overopt run /opt/overopt/src/tests/configs/tiny.cfg \
  --set run.out_dir=/tmp/runs >"$scratch/run.txt" 2>&1 || { tail -20 "$scratch/run.txt"; echo "FAILED: mpirun overopt run in the container"; fail=1; }
grep -q '^report: .*/tmp/runs/tiny/report/report.md' "$scratch/run.txt" || { echo "FAILED: the run in the container made no report"; fail=1; }
[ $fail -eq 0 ] && echo "container: all checks passed"
exit $fail
