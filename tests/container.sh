#!/bin/bash
# container: builds the Containerfile with podman and runs `overopt --version`, `overopt check` on
# the shipped quickstart config and `overopt plan` inside it. Skips (exit 77, reported as skipped
# by ctest) with a message where podman is missing or cannot build (no network for the base image).
# Usage (oo_script_test): container.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
command -v podman >/dev/null 2>&1 || { echo "SKIPPED: podman is not installed (apt-get install podman)"; exit 77; }
podman info >/dev/null 2>&1 || { echo "SKIPPED: podman does not work here: $(podman info 2>&1 | tail -1)"; exit 77; }
tag=localhost/overopt-test:latest
if ! podman build -q -t "$tag" -f "$src/Containerfile" "$src" >"$scratch/build.log" 2>&1; then
  if grep -qiE 'pull|resolve|network|dial tcp|temporary failure' "$scratch/build.log"; then
    echo "SKIPPED: podman cannot fetch the base image or packages: $(tail -1 "$scratch/build.log")"; exit 77
  fi
  tail -20 "$scratch/build.log"; echo "FAILED: podman build"; exit 1
fi
podman run --rm "$tag" --version | grep -q '^overopt ' || { echo "FAILED: overopt --version in the container"; fail=1; }
podman run --rm "$tag" check /opt/overopt/configs/quickstart.cfg >/dev/null || { echo "FAILED: check in the container"; fail=1; }
podman run --rm "$tag" plan /opt/overopt/configs/paper-scale.cfg -n 64 | grep -q '| ppo |' || { echo "FAILED: plan in the container"; fail=1; }
[ $fail -eq 0 ] && echo "container: all checks passed"
exit $fail
