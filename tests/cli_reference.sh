#!/bin/bash
# cli_reference: the README's command reference (between the command-reference markers) is what
# `overopt help --markdown` prints; `overopt CMD --help` exits 0 for every command and lists the
# options of its markdown section; exit codes are 2 for usage errors on collective and
# single-rank commands alike, 1 for runtime errors; messages carry no source location unless --debug;
# the shipped configs/sweep-*.cfg validate with >= 4 points, and every config the docs name exists.
# Usage (oo_script_test): cli_reference.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"

"$overopt" help --markdown >reference.md 2>err.txt || bad "help --markdown failed: $(cat err.txt)"
sed -n '/<!-- command-reference:begin -->/,/<!-- command-reference:end -->/p' "$src/README.md" | sed '1d;$d' >readme.md
diff readme.md reference.md >/dev/null ||
  bad "README.md's command reference is stale: regenerate the block between the command-reference markers with 'overopt help --markdown'"

cmds=$(sed -n 's/^### `overopt \([a-z-]*\)`$/\1/p' reference.md)
[ "$(echo "$cmds" | wc -w)" -ge 13 ] || bad "reference has only $(echo "$cmds" | wc -w) commands"
for c in $cmds; do
  "$overopt" "$c" --help >help.txt 2>&1 || bad "overopt $c --help exited non-zero"
  # every option of the command's markdown table appears in its --help
  awk -v c="$c" '$0 == "### `overopt " c "`" { on = 1; next } /^### / { on = 0 } on && /^\| `/' reference.md |
    sed 's/^| `\([^`]*\)`.*/\1/' | awk '{ print ($1 ~ /,$/) ? $2 : $1 }' | while read -r opt; do
      grep -qF -- "$opt" help.txt || echo "missing $opt"
    done >missing.txt
  [ -s missing.txt ] && bad "overopt $c --help: $(tr '\n' ' ' <missing.txt)"
  "$overopt" help "$c" | cmp -s - help.txt || bad "overopt help $c differs from overopt $c --help"
done

expect_rc() { # WANT CMD...: exit code WANT, no source location in the message
  local want=$1 rc
  shift
  "$overopt" "$@" >out.txt 2>&1
  rc=$?
  [ $rc -eq "$want" ] || bad "overopt $*: exit $rc, want $want: $(head -3 out.txt)"
  grep -qE '[a-z_]+\.c:[0-9]+' out.txt && bad "overopt $*: source location without --debug: $(head -3 out.txt)"
}
expect_rc 2 nosuchcommand
expect_rc 2 run
expect_rc 2 run "$src/configs/quickstart.cfg" --bogus
expect_rc 2 stage
expect_rc 2 sweep
expect_rc 2 fit
expect_rc 2 check --bogus
expect_rc 2 layout
expect_rc 2 report
expect_rc 2 plan "$src/configs/quickstart.cfg" -n 0
expect_rc 2 bon-curves
expect_rc 1 check "$scratch/missing.cfg"
expect_rc 1 report "$scratch/missing-dir"
expect_rc 0 check "$src/configs/quickstart.cfg" --set=rm.k=3
expect_rc 0 bench --quick --out - # no --config: the reference shapes, nothing written
"$overopt" --debug check "$scratch/missing.cfg" >out.txt 2>&1
grep -qE 'config\.c:[0-9]+' out.txt || bad "--debug: no source location: $(cat out.txt)"

# the shipped sweep configs: each validates, has >= 4 points, and --dry-run writes nothing
for want in seeds rm-size pairs label-noise ensemble-size; do
  f=$src/configs/sweep-$want.cfg
  [ -f "$f" ] || { bad "configs/sweep-$want.cfg missing"; continue; }
  "$overopt" sweep "$f" --slurm --dry-run --set "run.out_dir=$scratch/dry" >dry.txt 2>&1 || bad "sweep $f --dry-run: $(tail -2 dry.txt)"
  n=$(sed -n "s/^sweep '.*': \([0-9]*\) points.*/\1/p" dry.txt)
  [ "${n:-0}" -ge 4 ] || bad "configs/sweep-$want.cfg: ${n:-no} points, want >= 4"
done
[ -e "$scratch/dry" ] && bad "sweep --slurm --dry-run wrote $scratch/dry"
# every config file the docs name exists
for f in $(grep -ohE '(tests/)?configs/[a-z0-9_-]+\.cfg' "$src/README.md" "$src/slurm/README.md" "$src/slurm/"*.sbatch | sort -u); do
  [ -f "$src/$f" ] || bad "the docs name $f, which does not exist"
done

[ $fail -eq 0 ] && echo "cli_reference: all checks passed"
exit $fail
