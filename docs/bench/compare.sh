#!/usr/bin/env bash
# compare.sh: overopt vs PyTorch on the two reference shapes, side by side in one invocation.
#
# Usage: docs/bench/compare.sh [OVEROPT_BINARY] [--quick]    (default binary: build/overopt)
# Builds nothing. Runs `overopt bench` and docs/bench/torch_gpt.py alternately, twice each
# (overopt, torch, overopt, torch) so both see the same machine conditions, with one BLAS /
# OpenMP thread, then prints per shape the best of the two runs of each side:
#   training step tokens/s (fwd + bwd + clip + AdamW) and KV-cache sampling tokens/s
#   (batch 64, 1-token prompt, n_ctx-1 new tokens), and overopt / torch ratios (> 1: overopt
#   faster); then overopt's PPO-step and best-of-n-round rows as printed (no PyTorch side).
#   Both sides time thread CPU seconds (CLOCK_THREAD_CPUTIME_ID). The load average (uptime)
#   is printed before every run: the machine is shared.
# PyTorch is not a project dependency: Debian's `apt-get install python3-torch`, run with the
# Debian interpreter (PYTHON, default /usr/bin/python3). Not part of ctest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/build/overopt"
quick=()
for a in "$@"; do
  case "$a" in
    --quick) quick=(--quick) ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) bin="$a" ;;
  esac
done
python="${PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "compare.sh: no overopt binary at $bin (build it, or pass its path)" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null ||
  { echo "compare.sh: $python cannot import torch (apt-get install -y --no-install-recommends python3-torch)" >&2; exit 2; }

cores="$(nproc)" # before the export below: nproc honours OMP_NUM_THREADS
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "compare.sh $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname), $cores cores; binary $bin"
for round in 1 2; do
  echo "== round $round: overopt bench   (load:$(uptime | sed 's/.*load average://'))"
  "$bin" bench "${quick[@]}" | tee "$tmp/overopt.$round"
  echo "== round $round: torch_gpt.py    (load:$(uptime | sed 's/.*load average://'))"
  "$python" "$here/torch_gpt.py" "${quick[@]}" | tee "$tmp/torch.$round"
done
echo "== done                          (load:$(uptime | sed 's/.*load average://'))"
echo

# Parse: overopt rows "C256 L6 NH8 T256 x8 | sgemm ms tok/s GFLOP/s ratio | sgemm64 tok/s ..."
# and torch lines "TORCH shape=C256_L6_NH8_T256_B8 train_tok_s=... / sample_tok_s=...".
awk '
  FNR == 1 { src = FILENAME ~ /\/overopt\.[0-9]$/ ? "o" : "t" }
  src == "o" && /^C[0-9]+ L[0-9]+ NH[0-9]+ T[0-9]+ x[0-9]+ *\|/ {
    split($0, f, "|"); split(f[1], k, " "); key = k[1] " " k[2] " " k[3] " " k[4] " " k[5];
    split(f[2], tr, " "); split(f[3], sa, " ");
    if (tr[3] + 0 > otr[key]) otr[key] = tr[3] + 0;
    if (sa[2] + 0 > osa[key]) osa[key] = sa[2] + 0;
    seen[key] = 1; if (!(key in order)) { order[key] = ++n; keys[n] = key }
  }
  src == "t" && /^TORCH shape=/ {
    split($2, s, "="); split(s[2], k, "_"); key = k[1] " " k[2] " " k[3] " " k[4] " x" substr(k[5], 2);
    for (i = 3; i <= NF; i++) { split($i, kv, "=");
      if (kv[1] == "train_tok_s" && kv[2] + 0 > ttr[key]) ttr[key] = kv[2] + 0;
      if (kv[1] == "sample_tok_s" && kv[2] + 0 > tsa[key]) tsa[key] = kv[2] + 0; }
  }
  END {
    printf "best of 2 runs each, tokens/s (thread CPU time, 1 thread); ratio = overopt / torch\n";
    printf "%-22s | %10s %11s %6s | %12s %12s %6s\n", "shape (C,L,NH,T) xB", "ovo train", "torch train",
           "ratio", "ovo sample64", "torch samp64", "ratio";
    for (i = 1; i <= n; i++) { key = keys[i];
      printf "%-22s | %10.0f %11.0f %6.2f | %12.0f %12.0f %6.2f\n", key, otr[key], ttr[key],
             (ttr[key] > 0 ? otr[key] / ttr[key] : 0), osa[key], tsa[key], (tsa[key] > 0 ? osa[key] / tsa[key] : 0) }
  }' "$tmp"/overopt.1 "$tmp"/overopt.2 "$tmp"/torch.1 "$tmp"/torch.2
# overopt's composite rows (PPO step, best-of-n round; torch_gpt.py has no counterpart): both runs.
echo
echo "overopt PPO step and best-of-n round at the quickstart's sizes (thread CPU time), runs 1 and 2:"
grep -h -E '^(sizes:|PPO step|BoN round)' "$tmp"/overopt.1 "$tmp"/overopt.2 || true
