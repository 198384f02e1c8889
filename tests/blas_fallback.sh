# blas_fallback: run.blas_kernel = "" runs OpenBLAS's own choice, unless OpenBLAS did not know
# the CPU and fell back to narrower vectors than the CPU has (src/core/machine.h). A preloaded
# openblas_get_corename (fake_corename.c) makes OpenBLAS report its Prescott fallback until
# OPENBLAS_CORETYPE is set; the kernel overopt then switches to is loaded for real. The expected
# kernel is derived here from /proc/cpuinfo's flags, independently of machine.c.
. "$(dirname "$0")/lib.sh" "$@"
# the guard acts only where no kernel is chosen: a kernel pinned in the caller's environment
# (`OPENBLAS_CORETYPE=SkylakeX ctest` failed 4 checks here) is the caller's, not this test's
unset OPENBLAS_CORETYPE OVEROPT_BLAS_KERNEL OVEROPT_BLAS_FALLBACK
cc -shared -fPIC -O1 -o fake.so "$src/tests/fake_corename.c" -ldl || { echo "FAILED: cannot build the preload"; exit 1; }
flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
if has avx512f avx512cd avx512bw avx512dq avx512vl; then
  if has avx512_bf16; then want=Cooperlake; else want=SkylakeX; fi
elif has avx2 fma; then want=Haswell
elif has avx; then want=Sandybridge
else want=Prescott; fi
echo "this CPU's widest OpenBLAS kernel: $want"

# the machine's own choice with the fallback: switched, named by --version, and nothing on
# stderr (tools such as sample and score keep their stderr; a run says it, below)
LD_PRELOAD=$PWD/fake.so "$overopt" --version >v.out 2>v.err || die "--version failed: $(cat v.err)"
if [ "$want" = Prescott ]; then
  want_line v.out "BLAS kernel Prescott, " # nothing wider to run
else
  want_line v.out "BLAS kernel $want \(OpenBLAS chose Prescott\), "
fi
[ -s v.err ] && die "--version printed on stderr: $(cat v.err)"
# a kernel the user chose stays: OPENBLAS_CORETYPE, and OVEROPT_BLAS_KERNEL (commands without a config)
LD_PRELOAD=$PWD/fake.so OPENBLAS_CORETYPE=Prescott "$overopt" --version >u.out 2>&1 || die "OPENBLAS_CORETYPE=Prescott failed"
want_line u.out "BLAS kernel Prescott, "
grep -q "chose" u.out && die "OPENBLAS_CORETYPE=Prescott was overridden: $(cat u.out)"
LD_PRELOAD=$PWD/fake.so OVEROPT_BLAS_KERNEL=Prescott "$overopt" --version >e.out 2>&1 || die "OVEROPT_BLAS_KERNEL failed"
want_line e.out "BLAS kernel Prescott, "
# a stale OVEROPT_BLAS_FALLBACK (inherited, naming the kernel in use: no switch) names nothing
OVEROPT_BLAS_FALLBACK=Prescott OPENBLAS_CORETYPE=Prescott "$overopt" --version >s1.out 2>&1 ||
  die "--version with a stale marker and OPENBLAS_CORETYPE failed"
grep -q "chose" s1.out && die "a stale OVEROPT_BLAS_FALLBACK was reported: $(cat s1.out)"
# under mpirun every rank switches on its own; the run says so once, with its start (stdout, a
# note --quiet silences), and its provenance names both kernels
if [ "$want" != Prescott ]; then
  "$mpirun" --oversubscribe -n 2 -x LD_PRELOAD="$PWD/fake.so" "$overopt" stage pretrain "$cfg" \
    --set run.out_dir="$scratch/runs" >s.out 2>s.err || die "stage pretrain under mpirun failed: $(cat s.out s.err)"
  [ "$(grep -c "OpenBLAS chose its Prescott kernel for this CPU .*; running $want, the widest" s.out)" = 1 ] ||
    die "the run should note the switch once: $(cat s.out)"
  grep -q "chose" s.err && die "the note went to stderr: $(cat s.err)"
  want_line runs/tiny/provenance.txt "BLAS kernel $want \(run.blas_kernel \"\"; OpenBLAS had chosen Prescott\)"
  "$mpirun" --oversubscribe -n 2 -x LD_PRELOAD="$PWD/fake.so" "$overopt" --quiet stage pretrain "$cfg" \
    --set run.out_dir="$scratch/runs_quiet" >q.out 2>&1 || die "--quiet stage pretrain failed: $(cat q.out)"
  grep -q "chose" q.out && die "--quiet kept the note: $(cat q.out)"
  want_line runs_quiet/tiny/provenance.txt "OpenBLAS had chosen Prescott"
fi
exit $fail
