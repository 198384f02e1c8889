#!/usr/bin/env bash
# remote.sh: every #11 measurement on another machine in one go, from a bundle (bundle.sh), for
# a machine lent for minutes: each job on its own core, all at once.
#
# Usage: docs/bench/remote.sh BUNDLE_DIR [OUT_DIR] [--quick] [--full] [--env VAR=VALUE]...
#        (OUT_DIR default: $OUT, else ./remote-out)
# Runs, side by side on separate cores (taskset, cores 2, 4, 6, ... so that two jobs do not share
# a core's SMT siblings; on fewer than 8 CPUs nothing is pinned and the timings mean little):
#   - `overopt bench --out -` with every binary in BUNDLE_DIR/bin  ->  bench-NAME.txt, and with
#     the first binary once more for each --env VAR=VALUE, under that variable (an A/B of a
#     switch such as OVEROPT_KERN_PANEL=24)  ->  bench-NAME-VAR=VALUE.txt
#   - docs/bench/torch_gpt.py, if $PYTHON (default python3) imports torch  ->  torch.txt
#   - the bundle's unit tests (bundle.sh), one after another, under OpenBLAS's own kernel and,
#     where overopt would switch (the fallback guard), under that kernel too  ->  tests.txt;
#     test_allreduce, test_comm and test_abort need several ranks and are left out
#   - the reduced 1-replicate quickstart (docs/reproducibility.md) on one rank with the first
#     binary, with the machine's own kernel and with run.blas_kernel = "Haswell", each hashed by
#     h5hash.py (needs h5py)  ->  default.hashes, haswell.hashes; and on 2 ranks with the
#     bundled mpirun, the machine's own kernel  ->  default-np2.hashes
#   - with --full, the whole quickstart on 2 ranks (two cores): its table (summary_table.py) and
#     best-of-n's generated-and-scored samples per second  ->  quickstart-full.txt
# then prints the bench tables and the CPU, and packs OUT_DIR into OUT_DIR.tar.gz (one file to
# bring back from a machine that returns few). Compare the hashes with the same run made here:
#   bundle/run overopt --quiet run configs/quickstart.cfg <the --set list below> --set run.out_dir=D
#   docs/bench/h5hash.py D/default > default.hashes; h5hash.py --compare default.hashes THEIRS
# --quick: bench and torch_gpt.py's smoke tests (a check that everything runs, no figures).
# Needs bash, taskset (util-linux; without it the jobs are not pinned), tar. Builds nothing.
set -uo pipefail
quick=(); args=(); envs=(); want_env=0; full=0
for a in "$@"; do
  if ((want_env)); then envs+=("$a"); want_env=0
  elif [[ $a == --quick ]]; then quick=(--quick)
  elif [[ $a == --full ]]; then full=1
  elif [[ $a == --env ]]; then want_env=1
  else args+=("$a"); fi
done
[[ ${#args[@]} -ge 1 && -x ${args[0]}/run ]] || { sed -n '2,28p' "$0"; exit 2; }
b=$(cd "${args[0]}" && pwd); out=${args[1]:-${OUT:-$PWD/remote-out}}; mkdir -p "$out"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; root="$(cd "$here/../.." && pwd)"
python=${PYTHON:-python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ncpu=$(nproc); core=0
next_core() { core=$((core + 2)); ((core < ncpu)) || core=$((core % ncpu)); }
pin() { if command -v taskset >/dev/null && ((ncpu >= 8)); then taskset -c "$core" "$@"; else "$@"; fi; }
{ grep -m1 "model name" /proc/cpuinfo; grep -m1 -E "^model\s" /proc/cpuinfo; echo "cpus $ncpu"; } | tee "$out/machine.txt"
bins=$(ls "$b/bin"); first=${bins%%$'\n'*}
"$b/run" "$first" --version 2>&1 | tee -a "$out/machine.txt"
pids=()
for name in $bins; do
  next_core; pin "$b/run" "$name" bench "${quick[@]}" --out - >"$out/bench-$name.txt" 2>&1 & pids+=($!)
done
for e in "${envs[@]}"; do
  next_core; pin env "$e" "$b/run" "$first" bench "${quick[@]}" --out - >"$out/bench-$first-$e.txt" 2>&1 & pids+=($!)
done
if "$python" -c 'import torch' 2>/dev/null; then
  next_core; pin "$python" "$here/torch_gpt.py" "${quick[@]}" >"$out/torch.txt" 2>&1 & pids+=($!)
fi
if [[ -d $b/tests ]]; then
  src=$(cat "$b/SOURCE_DIR")
  [[ -e $src ]] || { mkdir -p "$(dirname "$src")" && ln -s "$root" "$src"; } # tests that read the source tree
  kernels=(""); guard=$("$b/run" "$first" --version 2>/dev/null | sed -n 's/.*BLAS kernel \([A-Za-z0-9]*\) (OpenBLAS chose.*/\1/p')
  [[ -n $guard ]] && kernels+=("$guard")
  next_core
  ( cd "$(mktemp -d)" && for k in "${kernels[@]}"; do
      for t in "$b"/tests/test_*; do
        name=$(basename "$t"); case $name in test_allreduce | test_comm | test_abort) continue ;; esac
        env ${k:+OPENBLAS_CORETYPE=$k} timeout 300 "$b/run" "tests/$name" >"$name.log" 2>&1
        case $? in
        0) echo "pass ${k:-own-kernel} $name: $(tail -1 "$name.log")" ;;
        77) echo "skip ${k:-own-kernel} $name: $(tail -1 "$name.log")" ;; # ctest's SKIP_RETURN_CODE
        *) echo "FAIL ${k:-own-kernel} $name:"; tail -5 "$name.log" ;;
        esac
      done
    done ) >"$out/tests.txt" 2>&1 & pids+=($!)
fi
reduced=(--set pretrain.steps=20 --set prefs.n_train=100 --set prefs.n_test=50 --set bon.n_prompts=4
         --set bon.n_samples=32 --set ppo.steps=3 --set ppo.n_eval_prompts=8 --set gold.calib_prompts=32
         --set rm.epochs=1 --set run.replicates=1 --until fit)
[[ -d $b/corpus ]] && reduced+=(--set "corpus.path=$b/corpus")
runs=$(mktemp -d)
next_core
( for kernel in default Haswell; do
    k=(); [[ $kernel == default ]] || k=(--set "run.blas_kernel=$kernel")
    pin "$b/run" "$first" --quiet run "$root/configs/quickstart.cfg" "${reduced[@]}" "${k[@]}" \
      --set "run.out_dir=$runs" --set "run.name=$kernel" || echo "quickstart ($kernel) failed"
    grep -h "BLAS kernel" "$runs/$kernel/provenance.txt"
    "$python" "$here/h5hash.py" "$runs/$kernel" >"$out/${kernel,,}.hashes" || echo "h5hash ($kernel) failed"
  done
  "$b/run" mpirun -n 2 --bind-to none "$b/bin/$first" --quiet run "$root/configs/quickstart.cfg" "${reduced[@]}" \
    --set "run.out_dir=$runs" --set "run.name=np2" || echo "quickstart (2 ranks) failed"
  "$python" "$here/h5hash.py" "$runs/np2" >"$out/default-np2.hashes" || echo "h5hash (2 ranks) failed"
  ) >"$out/quickstart.txt" 2>&1 & pids+=($!)
if ((full)); then # two cores of their own: the first two not yet used
  next_core; c1=$core; next_core; c2=$core
  ( cd "$runs" && if command -v taskset >/dev/null && ((ncpu >= 8)); then ts=(taskset -c "$c1,$c2"); else ts=(); fi
    "${ts[@]}" "$b/run" mpirun -n 2 --bind-to none "$b/bin/$first" run "$root/configs/quickstart.cfg" \
      --set "corpus.path=$b/corpus" --set "run.out_dir=$runs" --set run.name=full >full.log 2>&1 || echo "full quickstart failed"
    grep -E "^bon sampling" full.log | tail -1
    "$python" "$root/docs/experiments/summary_table.py" "$runs/full" ) >"$out/quickstart-full.txt" 2>&1 & pids+=($!)
fi
wait "${pids[@]}"
rm -rf "$runs"
for f in "$out"/bench-*.txt; do echo "== $(basename "$f" .txt)"; sed -n '/^CPU/p;/^model (C/,$p' "$f"; done
[[ -f $out/torch.txt ]] && { echo "== PyTorch"; cat "$out/torch.txt"; }
[[ -f $out/tests.txt ]] && { echo "== unit tests: $(grep -c '^pass' "$out/tests.txt") passed, $(grep -c '^FAIL' "$out/tests.txt") failed"; grep -A5 '^FAIL' "$out/tests.txt"; }
echo "== quickstart"; grep -v "not fitted" "$out/quickstart.txt"; wc -l "$out"/*.hashes 2>/dev/null
[[ -f $out/quickstart-full.txt ]] && { echo "== full quickstart, 2 ranks"; cat "$out/quickstart-full.txt"; }
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")" && echo "all of it: $out.tar.gz"
