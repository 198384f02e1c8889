# kern_inline: no helper marked KERN_INLINE (src/model) is left as a function in the binary.
# KERN_HOT code is compiled twice (x86-64-v3 and baseline); a helper GCC leaves out of line is
# compiled once, for the baseline, and the fast clone calls it: scalar code with a libm fmaf
# per lane (930a8d8: kern_dot out of line cost C128 scoring 13%), or garbage where a vector is
# passed (the sanitizer build's GELU). The rule is always_inline, so any copy is a bug: a
# helper's name with or without GCC's suffixes (.part.N, .constprop.N, .isra.N, .cold).
. "$(dirname "$0")/lib.sh" "$@"
command -v nm >/dev/null || die "nm (binutils) is missing"
helpers=$(grep -hoE '^KERN_INLINE( KERN_WIDE)? [A-Za-z_][A-Za-z0-9_ ]*[ *]+[A-Za-z_][A-Za-z0-9_]*\(' \
  "$src"/src/model/*.c "$src"/src/model/*.h | sed -E 's/.*[ *]([A-Za-z_][A-Za-z0-9_]*)\($/\1/' | sort -u)
n=$(echo "$helpers" | grep -c .)
[ "$n" -ge 20 ] || die "found only $n KERN_INLINE helpers in $src/src/model: the pattern no longer matches the source"
nm "$overopt" >syms.txt 2>nm.err || die "nm $overopt failed: $(cat nm.err)"
# the symbols must be there to check: a stripped binary would pass anything
if ! grep -qE ' [Tt] kern_attention_forward(\.|$)' syms.txt; then
  die "$overopt has no symbol kern_attention_forward (stripped?): cannot check"
  exit 1
fi
out_of_line=0
for h in $helpers; do
  if grep -E " $h(\.[a-z]+\.?[0-9]*)*$" syms.txt >hit.txt; then
    die "helper $h is a function in $overopt, not inlined into its callers (it must be KERN_INLINE, kernels.h):"
    sed 's/^/  /' hit.txt
    out_of_line=$((out_of_line + 1))
  fi
done
[ $out_of_line -eq 0 ] && echo "ok: $n KERN_INLINE helpers, none left out of line in $overopt"
exit $fail
