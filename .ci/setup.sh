#!/usr/bin/env bash
# overopt set-up: installs the Debian packages that are missing, builds with CMake, then
#   quickstart  runs configs/quickstart.cfg under mpirun on every core and prints the report path
#   test        runs the whole test suite with ctest (and ends with ctest's summary)
#   build       only builds
# Idempotent and quiet when everything is already there. Run from anywhere, as root or with sudo.
set -euo pipefail
mode=${1:-quickstart}
shift || true
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${OVEROPT_BUILD_DIR:-$here/build}

need=(build-essential cmake pkg-config openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
      libconfig-dev libscalapack-openmpi-dev libopenblas-dev gnuplot-nox fortunes)
[ "$mode" = test ] && need+=(slurm-wlm munge python3-numpy python3-h5py)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Open MPI refuses root unless told; these stay inside this script, not the user's shell.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1
cores=$(nproc)
werror=OFF; [ "${CI:-}" = true ] && werror=ON
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DOVEROPT_WERROR=$werror >/dev/null
fi
cmake --build "$build" -j"$cores" >/dev/null 2>"$build/build.err" || { cat "$build/build.err"; exit 1; }

case "$mode" in
  build) echo "built $build/overopt" ;;
  quickstart)
    cd "$here"
    mpirun -n "$cores" --oversubscribe "$build/overopt" run configs/quickstart.cfg "$@" ;;
  test)
    cd "$build"
    ctest --output-on-failure -j2 "$@" ;;
  *) echo "usage: $0 [quickstart|test|build] [extra args]" >&2; exit 2 ;;
esac
