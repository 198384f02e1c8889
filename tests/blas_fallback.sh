# blas_fallback: run.blas_kernel = "" runs OpenBLAS's own choice, unless OpenBLAS did not know
# the CPU and fell back to narrower vectors than the CPU has (src/core/machine.h). A preloaded
# openblas_get_corename (fake_corename.c) makes OpenBLAS report its Prescott fallback until
# OPENBLAS_CORETYPE is set; the kernel overopt then switches to is loaded for real. The expected
# kernel is derived here from /proc/cpuinfo's flags, independently of machine.c.
. "$(dirname "$0")/lib.sh" "$@"
cc -shared -fPIC -O1 -o fake.so "$src/tests/fake_corename.c" -ldl || { echo "FAILED: cannot build the preload"; exit 1; }
flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
if has avx512f avx512cd avx512bw avx512dq avx512vl; then
  if has avx512_bf16; then want=Cooperlake; else want=SkylakeX; fi
elif has avx2 fma; then want=Haswell
elif has avx; then want=Sandybridge
else want=Prescott; fi
echo "this CPU's widest OpenBLAS kernel: $want"

# the machine's own choice with the fallback: switched, a warning on stderr, recorded in --version
LD_PRELOAD=$PWD/fake.so "$overopt" --version >v.out 2>v.err || die "--version failed: $(cat v.err)"
if [ "$want" = Prescott ]; then
  want_line v.out "BLAS kernel Prescott, " # nothing wider to run
else
  want_line v.out "BLAS kernel $want \(OpenBLAS chose Prescott\), "
  [ "$(grep -c "OpenBLAS chose its Prescott kernel for this CPU .*; running $want, the widest" v.err)" = 1 ] ||
    die "no single note of the switch on stderr: $(cat v.err)"
fi
# a warning: --quiet keeps it, and stdout (`overopt check CONFIG > file`) stays clean
LD_PRELOAD=$PWD/fake.so "$overopt" --quiet --version >q.out 2>q.err || die "--quiet --version failed"
cmp -s v.out q.out || die "--quiet changed the output: $(cat q.out)"
cmp -s v.err q.err || die "--quiet changed the warning: $(cat q.err)"
grep -q "chose its" v.out && die "the note went to stdout: $(cat v.out)"
# a kernel the user chose stays: OPENBLAS_CORETYPE, and OVEROPT_BLAS_KERNEL (commands without a config)
LD_PRELOAD=$PWD/fake.so OPENBLAS_CORETYPE=Prescott "$overopt" --version >u.out 2>&1 || die "OPENBLAS_CORETYPE=Prescott failed"
want_line u.out "BLAS kernel Prescott, "
grep -q "chose" u.out && die "OPENBLAS_CORETYPE=Prescott was overridden: $(cat u.out)"
LD_PRELOAD=$PWD/fake.so OVEROPT_BLAS_KERNEL=Prescott "$overopt" --version >e.out 2>&1 || die "OVEROPT_BLAS_KERNEL failed"
want_line e.out "BLAS kernel Prescott, "
# a stale OVEROPT_BLAS_FALLBACK (inherited; this process did not switch) names nothing
OVEROPT_BLAS_FALLBACK=Prescott "$overopt" --version >s1.out 2>&1 || die "--version with a stale marker failed"
OVEROPT_BLAS_FALLBACK=Prescott OPENBLAS_CORETYPE=Prescott "$overopt" --version >>s1.out 2>&1 ||
  die "--version with a stale marker and OPENBLAS_CORETYPE failed"
grep -q "chose" s1.out && die "a stale OVEROPT_BLAS_FALLBACK was reported: $(cat s1.out)"
# under mpirun every rank switches on its own, rank 0 alone says so, and the run's provenance
# names both kernels
if [ "$want" != Prescott ]; then
  "$mpirun" --oversubscribe -n 2 -x LD_PRELOAD="$PWD/fake.so" "$overopt" stage pretrain "$cfg" \
    --set run.out_dir="$scratch/runs" >s.out 2>s.err || die "stage pretrain under mpirun failed: $(cat s.out s.err)"
  [ "$(grep -c "OpenBLAS chose its Prescott kernel" s.err)" = 1 ] || die "rank 0 alone should note the switch: $(cat s.err)"
  want_line runs/tiny/provenance.txt "BLAS kernel $want \(run.blas_kernel \"\"; OpenBLAS had chosen Prescott\)"
fi
exit $fail
