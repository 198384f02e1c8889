#!/usr/bin/env bash
# install.sh CMAKE BUILD_DIR SOURCE_DIR: `cmake --install BUILD_DIR` into a fresh prefix outside the
# source tree, then runs the installed binary from another directory outside it and checks that
# it finds its configs and Slurm templates under PREFIX/share/overopt (issue #13, item 5).
set -euo pipefail
cmake=$1 build=$2 src=$3
tmp=$(mktemp -d /tmp/overopt-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install: FAILED: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
for f in bin/overopt share/overopt/configs/quickstart.cfg share/overopt/configs/sweep-rm-size.cfg \
         share/overopt/slurm/sweep.sbatch share/overopt/slurm/run.sbatch share/overopt/slurm/README.md \
         share/overopt/python/overopt_reader.py share/doc/overopt/README.md share/doc/overopt/DESIGN.md \
         share/doc/overopt/formats.md; do
  [ -e "$prefix/$f" ] || fail "cmake --install did not install $f"
done
[ -x "$prefix/bin/overopt" ] && [ -x "$prefix/share/overopt/slurm/sweep.sbatch" ] || fail "lost the executable bit"
# The installed template gets a marker, so the dry run shows which template it read.
echo "# install-test-marker" >>"$prefix/share/overopt/slurm/sweep.sbatch"

mkdir -p "$tmp/elsewhere"
cd "$tmp/elsewhere"
case "$PWD" in "$src"*) fail "the scratch directory $PWD lies inside the source tree" ;; esac
unset OVEROPT_SWEEP_TEMPLATE
"$prefix/bin/overopt" --version >"$tmp/version.out" || fail "overopt --version"
grep -q '^overopt ' "$tmp/version.out" || fail "--version printed: $(cat "$tmp/version.out")"
"$prefix/bin/overopt" check "$prefix/share/overopt/configs/quickstart.cfg" >"$tmp/check.out" 2>&1 \
  || { cat "$tmp/check.out"; fail "overopt check of the installed quickstart.cfg"; }
"$prefix/bin/overopt" sweep "$prefix/share/overopt/configs/sweep-rm-size.cfg" --slurm --dry-run \
  >"$tmp/sweep.out" 2>&1 || { cat "$tmp/sweep.out"; fail "overopt sweep --slurm --dry-run"; }
grep -q '^# install-test-marker' "$tmp/sweep.out" || { cat "$tmp/sweep.out"; fail "the dry run did not use the installed template"; }
# Without the installed template it must say where it looked, not fall back to the sources.
rm "$prefix/share/overopt/slurm/sweep.sbatch"
if "$prefix/bin/overopt" sweep "$prefix/share/overopt/configs/sweep-rm-size.cfg" --slurm --dry-run >"$tmp/missing.out" 2>&1; then
  fail "sweep --slurm --dry-run succeeded without a template (found one in the source tree?)"
fi
grep -q "share/overopt" "$tmp/missing.out" || { cat "$tmp/missing.out"; fail "the error does not name share/overopt"; }
echo "install: ok ($prefix: --version, check, sweep --slurm --dry-run with the installed template)"
