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
grep -qE ' [Tt] kern_attention_forward(\.|$)' syms.txt || die "$overopt has no symbol kern_attention_forward (stripped?): cannot check"
fail=0
for h in $helpers; do
  if grep -E " $h(\.[a-z]+\.?[0-9]*)*$" syms.txt >hit.txt; then
    echo "FAILED: helper $h is a function in $overopt, not inlined into its callers:"
    sed 's/^/  /' hit.txt
    fail=1
  fi
done
if [ $fail -eq 0 ]; then
  echo "ok: $n KERN_INLINE helpers, none left out of line in $overopt"
else
  die "make each of them KERN_INLINE-inlinable again (src/model/kernels.h) so every clone inlines its own copy"
fi
exit $fail
