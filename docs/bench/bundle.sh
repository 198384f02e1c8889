#!/usr/bin/env bash
# bundle.sh: pack overopt with the Debian libraries it loads, to run `overopt bench` (or a 1-rank
# run) on a machine that has none of them and cannot install them (seen: a GPU node's image,
# Ubuntu, no network). Made for measuring on another CPU; not an install.
#
# Usage: docs/bench/bundle.sh OUT.tar.xz [BINARY...]     (default binary: build/overopt)
# There: tar -C /tmp -xJf OUT.tar.xz && /tmp/overopt-bundle/run overopt bench --out -
#        /tmp/overopt-bundle/run NAME ARGS...   runs the bundled binary NAME (its file name here),
#                                               tests/NAME a unit test of the first binary's build,
#                                               mpirun the launcher
#        docs/bench/remote.sh /tmp/overopt-bundle   bench, PyTorch and a hashed quickstart at once
# The bundle holds each binary, every shared library they and Open MPI's plugins load except
# glibc's own (libc, libm, libresolv, libpthread, libdl, librt: the other machine's glibc must be
# 2.36 or newer, Debian 12's), Open MPI's plugins and help texts, and `run`, which sets
# LD_LIBRARY_PATH and points Open MPI there (OPAL_PKGLIBDIR, OPAL_PKGDATADIR, OPAL_SYSCONFDIR).
# MPI runs as an isolated singleton (one process, no daemon), or under the bundled launcher on
# that machine alone (`run mpirun -n 2 BUNDLE/bin/overopt ...`). The fortunes corpus rides along
# (corpus/). OpenBLAS picks its kernel there, from that CPU. Written after docs/bench/README.md's
# "eighth pass" (an Intel Xeon, 2026-11-27), whose runs used a hand-made bundle like it.
set -euo pipefail
[[ $# -ge 1 && $1 != -* ]] || { sed -n '2,18p' "$0"; exit 2; }
out=$1; shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
(($#)) || set -- "$root/build/overopt"
plugins=/usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3
[[ -d $plugins ]] || { echo "bundle.sh: no Open MPI plugins at $plugins (Debian 12's openmpi-bin)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
b=$tmp/overopt-bundle; mkdir -p "$b/bin" "$b/lib" "$b/etc" "$b/share"
for bin in "$@"; do [[ -x $bin ]] || { echo "bundle.sh: $bin is not an executable" >&2; exit 2; }; cp "$bin" "$b/bin/"; done
cp -r "$plugins" "$b/openmpi3"; cp -r /usr/share/openmpi "$b/share/"; : > "$b/etc/openmpi-mca-params.conf"
# the quickstart's corpus, for remote.sh's reduced quickstart (the same files, so the same world)
[[ -d /usr/share/games/fortunes ]] && cp -a /usr/share/games/fortunes "$b/corpus"
# the unit tests of the build beside the first binary, for remote.sh (those that read the source
# tree find it through the path they were built with, recorded in SOURCE_DIR)
tests=$(dirname "$1")/tests
if [[ -x $tests/test_core ]]; then
  mkdir -p "$b/tests" && cp "$tests"/test_* "$b/tests/" && echo "$root" > "$b/SOURCE_DIR"
fi
# the launcher (Open MPI's orterun and orted, PMIx's plugins), for runs on several ranks there
pmix=/usr/lib/x86_64-linux-gnu/pmix2
mkdir -p "$b/mpi" && cp /usr/bin/orterun /usr/bin/orted "$b/mpi/" && cp -r "$pmix/lib/pmix" "$b/pmix"
for f in "$@" "$plugins"/*.so "$b"/mpi/* "$pmix"/lib/libpmix.so.2 "$b"/pmix/*.so; do ldd "$f"; done |
  awk '/=> \//{print $3}' | sort -u |
  grep -v -E '/(libc|libm|libresolv|libpthread|libdl|librt)\.so' | xargs cp -L -t "$b/lib/"
cp -L "$pmix"/lib/libpmix.so.2 "$b/lib/"
cat > "$b/run" <<'RUN'
#!/bin/sh
# run NAME ARGS...: the bundled binary NAME (or tests/NAME) with the bundled libraries and Open MPI,
# as one isolated MPI process; run mpirun ARGS...: the bundled launcher, on this machine only
# (`run mpirun -n 2 "$here/bin/overopt" ...`; its processes inherit this environment)
here=$(cd "$(dirname "$0")" && pwd)
name=$1; shift
export LD_LIBRARY_PATH="$here/lib" OPAL_PKGLIBDIR="$here/openmpi3" OPAL_PKGDATADIR="$here/share/openmpi" \
  OPAL_SYSCONFDIR="$here/etc" OPAL_BINDIR="$here/mpi" PMIX_MCA_mca_base_component_path="$here/pmix" \
  OMPI_MCA_mca_base_component_show_load_errors=0
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
case $name in
mpirun) export OMPI_MCA_plm=isolated; exec "$here/mpi/orterun" --oversubscribe "$@" ;; # no ssh: local processes
*/*) export OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_pmix=isolated; exec "$here/$name" "$@" ;;
*) export OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_pmix=isolated; exec "$here/bin/$name" "$@" ;;
esac
RUN
chmod +x "$b/run"
tar -C "$tmp" -cJf "$out" overopt-bundle
echo "bundle.sh: $out ($(du -h "$out" | cut -f1)): $(ls "$b/bin" | tr '\n' ' ')+ $(ls "$b/lib" | wc -l) libraries," \
  "$(ls "$b/tests" 2>/dev/null | wc -l) unit tests"
