#!/usr/bin/env python3
"""Markdown tables of a replicated run's summary.csv (the README's quickstart tables come from here).

Usage: summary_table.py RUN_DIR [--cpu TEXT] [--readme README.md]
Prints, for best-of-n at the largest n and for each PPO method at the largest common sqrt(KL)
grid point, the gold mean with its 95% t-interval over replicates and the paired difference
objective - single with its interval and wins. With --readme, replaces the text between the
markers <!-- quickstart-table:begin --> and <!-- quickstart-table:end --> in that file.
Only the Python standard library is used.
"""
import csv
import math
import sys


def fmt(x, signed=True):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def num(row, key):
    try:
        return float(row[key])
    except (KeyError, ValueError):
        return float("nan")


def verdict(lo, hi):
    if math.isnan(lo) or math.isnan(hi):
        return ""
    if lo > 0:
        return "above single"
    if hi < 0:
        return "below single"
    return "unresolved"


def comparison_points(rows):
    """(method, x, rows at x) for each method of summary.csv in file order, at its comparison
    point: the largest n for best-of-n, the last common sqrt(KL) grid point for PPO."""
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        xmax = max(num(r, "x") for r in mine)
        yield method, xmax, [r for r in mine if num(r, "x") == xmax]


def tables(run_dir, cpu):
    with open(f"{run_dir}/summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{run_dir}/summary.csv: no rows")
    out = []
    for method, xmax, at in comparison_points(rows):
        reps = at[0]["replicates"]
        what = f"n = {xmax:g}" if method == "bon" else f"√KL = {xmax:.2f}"
        title = "best-of-n" if method == "bon" else method.replace("_", " ")
        out.append(f"| {title}, {what} ({reps} replicates) | gold [95% CI] | objective − single [95% CI] | wins | verdict |")
        out.append("|---|---|---|---|---|")
        for r in at:
            obj = r["objective"]
            g = f"{fmt(num(r, 'gold_mean'))} [{fmt(num(r, 'gold_ci_lo'))}, {fmt(num(r, 'gold_ci_hi'))}]"
            if obj == "single":
                d, w, v = "–", "–", ""
            else:
                lo, hi = num(r, "diff_ci_lo"), num(r, "diff_ci_hi")
                d = f"{fmt(num(r, 'diff_mean'))} [{fmt(lo)}, {fmt(hi)}]"
                w = f"{r['wins']}/{reps}"
                v = verdict(lo, hi)
            out.append(f"| {obj} | {g} | {d} | {w} | {v} |")
        out.append("")
    if cpu:
        out.append(f"Measured on {cpu}; regenerate with `python3 docs/experiments/summary_table.py {run_dir}`.")
        out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2 if len(argv) < 2 else 0
    run_dir, cpu, readme = argv[1], "", None
    i = 2
    while i < len(argv):
        if argv[i] == "--cpu" and i + 1 < len(argv):
            cpu = argv[i + 1]
            i += 2
        elif argv[i] == "--readme" and i + 1 < len(argv):
            readme = argv[i + 1]
            i += 2
        else:
            print(f"summary_table.py: unknown argument '{argv[i]}'", file=sys.stderr)
            return 2
    text = tables(run_dir, cpu)
    if readme:
        begin, end = "<!-- quickstart-table:begin -->\n", "<!-- quickstart-table:end -->"
        s = open(readme).read()
        a, b = s.find(begin), s.find(end)
        if a < 0 or b < a:
            print(f"{readme}: markers {begin.strip()} / {end} not found", file=sys.stderr)
            return 1
        s = s[: a + len(begin)] + text + s[b:]
        tmp = readme + ".tmp"
        with open(tmp, "w") as f:
            f.write(s)
        import os
        os.replace(tmp, readme)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
