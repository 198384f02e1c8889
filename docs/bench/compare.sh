#!/usr/bin/env bash
# compare.sh: overopt vs PyTorch on the two reference shapes, side by side in one invocation.
#
# Usage: docs/bench/compare.sh [OVEROPT_BINARY] [--quick]    (default binary: build/overopt)
# Builds nothing. Runs `overopt bench` and docs/bench/torch_gpt.py alternately, twice each
# (overopt, torch, overopt, torch) so both see the same machine conditions, with one BLAS /
# OpenMP thread, then prints per shape the best of the two runs of each side:
#   training step tokens/s (fwd + bwd + clip + AdamW) and KV-cache sampling tokens/s
#   (batch 64, 1-token prompt, n_ctx-1 new tokens), reward scoring sequences/s, one PPO step and
#   one best-of-n round at the quickstart's sizes, and overopt / torch ratios (> 1: overopt
#   faster) for each.
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

# Parse: overopt rows "C256 L6 NH8 T256 x8 | sgemm ms tok/s GFLOP/s ratio | sgemm64 tok/s ... | sgemmF seq/s ..."
# and its composite rows "PPO step | ... | value head  X ms (...)", "BoN round | ... | X ms, Y samples/s";
# torch lines "TORCH shape=C256_L6_NH8_T256_B8 train_tok_s=... / sample_tok_s=... / score_seq_s=..."
# and "TORCH rlhf=ppo_step ppo_ms=..." / "TORCH rlhf=bon_round ... samples_s=...". Best = highest rate,
# lowest time, of the two runs of each side.
awk '
  function kv(line, name,   i, a, b) { n2 = split(line, a, " ");
    for (i = 1; i <= n2; i++) { split(a[i], b, "="); if (b[1] == name) return b[2] + 0 } return 0 }
  function lo(cur, x) { return (x > 0 && (cur == 0 || x < cur)) ? x : cur }
  FNR == 1 { src = FILENAME ~ /\/overopt\.[0-9]$/ ? "o" : "t" }
  src == "o" && /^C[0-9]+ L[0-9]+ NH[0-9]+ T[0-9]+ x[0-9]+ *\|/ {
    split($0, f, "|"); split(f[1], k, " "); key = k[1] " " k[2] " " k[3] " " k[4] " " k[5];
    split(f[2], tr, " "); split(f[3], sa, " "); split(f[4], sc, " ");
    if (tr[3] + 0 > otr[key]) otr[key] = tr[3] + 0;
    if (sa[2] + 0 > osa[key]) osa[key] = sa[2] + 0;
    if (sc[2] + 0 > osc[key]) osc[key] = sc[2] + 0;
    if (!(key in order)) { order[key] = ++n; keys[n] = key }
  }
  src == "o" && /^PPO step .*value head/ { split($0, f, "|"); split(f[3], a, " "); oppo = lo(oppo, a[3] + 0) }
  src == "o" && /^BoN round/ { split($0, f, "|"); split(f[3], a, " "); if (a[3] + 0 > obon) obon = a[3] + 0 }
  src == "t" && /^TORCH shape=/ {
    split($2, s, "="); split(s[2], k, "_"); key = k[1] " " k[2] " " k[3] " " k[4] " x" substr(k[5], 2);
    if (kv($0, "train_tok_s") > ttr[key]) ttr[key] = kv($0, "train_tok_s");
    if (kv($0, "sample_tok_s") > tsa[key]) tsa[key] = kv($0, "sample_tok_s");
    if (kv($0, "score_seq_s") > tsc[key]) tsc[key] = kv($0, "score_seq_s");
  }
  src == "t" && /^TORCH rlhf=ppo_step/ { tppo = lo(tppo, kv($0, "ppo_ms")) }
  src == "t" && /^TORCH rlhf=bon_round/ { if (kv($0, "samples_s") > tbon) tbon = kv($0, "samples_s") }
  function r(a, b) { return b > 0 ? a / b : 0 }
  END {
    printf "best of 2 runs each (thread CPU time, 1 thread); ratio = overopt / torch (> 1: overopt faster)\n";
    printf "%-22s | %9s %9s %5s | %9s %9s %5s | %8s %8s %5s\n", "shape (C,L,NH,T) xB", "ovo train",
           "pt train", "ratio", "ovo samp", "pt samp", "ratio", "ovo scr", "pt scr", "ratio";
    printf "%-22s | %-25s | %-25s | %-23s\n", "", "training tokens/s", "sampling tok/s (batch 64)",
           "scoring sequences/s";
    for (i = 1; i <= n; i++) { key = keys[i];
      printf "%-22s | %9.0f %9.0f %5.2f | %9.0f %9.0f %5.2f | %8.1f %8.1f %5.2f\n", key, otr[key], ttr[key],
             r(otr[key], ttr[key]), osa[key], tsa[key], r(osa[key], tsa[key]), osc[key], tsc[key], r(osc[key], tsc[key]) }
    printf "PPO step (quickstart sizes, value head) | overopt %7.1f ms | torch %7.1f ms | ratio %5.2f\n",
           oppo, tppo, r(tppo, oppo);
    printf "BoN round (256 samples, 5 members+gold) | overopt %5.0f /s   | torch %5.0f /s   | ratio %5.2f\n",
           obon, tbon, r(obon, tbon);
  }' "$tmp"/overopt.1 "$tmp"/overopt.2 "$tmp"/torch.1 "$tmp"/torch.2
echo
echo "overopt sampling's memory traffic and roofline, PPO step and best-of-n round as printed, runs 1 and 2:"
grep -h -E '^(C[0-9]+ L[0-9]+ NH[0-9]+ T[0-9]+ x[0-9]+ sampling:|sizes:|PPO step|BoN round)' "$tmp"/overopt.1 \
  "$tmp"/overopt.2 || true
