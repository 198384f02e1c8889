#!/usr/bin/env python3
"""bonferroni.py: the paired differences objective - single of a run's summary.csv, with
intervals widened for K claims tested together (Bonferroni: each at confidence 1 - 0.05/K).

Usage: bonferroni.py RUN_DIR K [--objectives a,b,...]

For every method (best-of-n, each PPO kind) at its comparison point (the largest n, or the last
point of the common sqrt(KL) grid: the rows summary_table.py prints), each objective's
difference from single: its 95% interval as overopt summary wrote it, and the interval at
1 - 0.05/K, from the same standard error: se = (hi - lo) / (2 t(0.975, R-1)), half-width
t(1 - 0.025/K, R-1) se, R the replicates. --objectives keeps only those objectives. The t
quantiles come from student_t.py; only the Python standard library is used.
"""
import csv
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from student_t import t_quantile  # noqa: E402
from summary_table import comparison_points, num  # noqa: E402  (the same comparison points)


def main(argv):
    args, keep = [], None
    i = 0
    while i < len(argv):
        if argv[i] == "--objectives" and i + 1 < len(argv):
            keep = argv[i + 1].split(",")
            i += 2
            continue
        args.append(argv[i])
        i += 1
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    run_dir = args[0]
    try:
        k = int(args[1])
        if k < 1:
            raise ValueError
    except ValueError:
        print(f"bonferroni.py: K must be a whole number >= 1, got '{args[1]}'", file=sys.stderr)
        return 2
    path = f"{run_dir}/summary.csv"
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print(f"bonferroni.py: {path}: {e.strerror} (run overopt summary {run_dir} first)", file=sys.stderr)
        return 1
    level = 1 - 0.05 / k
    print(f"| method | objective | replicates | difference | 95% CI | {100 * level:.4g}% CI (K = {k}) | verdict at K |")
    print("|---|---|---|---|---|---|---|")
    for method, xmax, at in comparison_points(rows):
        for r in at:
            if r["objective"] == "single":
                continue
            if keep is not None and r["objective"] not in keep:
                continue
            n = int(r["replicates"])
            m, lo, hi = num(r, "diff_mean"), num(r, "diff_ci_lo"), num(r, "diff_ci_hi")
            if n < 2 or any(math.isnan(v) for v in (m, lo, hi)):
                continue
            se = (hi - lo) / (2 * t_quantile(0.975, n - 1))
            h = t_quantile(1 - 0.025 / k, n - 1) * se
            v = "above single" if m - h > 0 else "below single" if m + h < 0 else "unresolved"
            where = f"n = {xmax:g}" if method == "bon" else f"√KL = {xmax:.2f}"
            print(f"| {method} ({where}) | {r['objective']} | {n} | {m:+.2f} | [{lo:+.2f}, {hi:+.2f}] | "
                  f"[{m - h:+.2f}, {m + h:+.2f}] | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
