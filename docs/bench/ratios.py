#!/usr/bin/env python3
"""ratios.py: compare the ratios to sgemm of two `overopt bench --out FILE` runs.

Usage: ratios.py REFERENCE.json NEW.json [NEW2.json ...] [--drop FRACTION]

For every shape in both files (matched by d_model, n_layer, n_ctx) it prints the training,
sampling and scoring ratios to sgemm of each run and the relative change, and marks a figure
that fell by more than FRACTION (default 0.06: rounds on one quiet machine moved by up to 5%).
Ratios, not times: each is measured against sgemm on the same shapes in the same run, so a
slower phase of a shared machine moves both sides. A different CPU, BLAS kernel or set of project
kernels (their tiles), or a --quick run against a full one, is named on a warning line (their
ratios are not comparable). Exits 1 if any figure dropped, 2 on bad input, 0 otherwise. The regression of
2026-11-27 (kern_dot out of line, docs/bench README "ninth pass") took C128 scoring from 0.88 to
0.75: run this at a session's start against the reference of the machine's CPU in
docs/bench/results/. Several NEW files (rounds of one build) count each figure at its best
across them, as bench keeps the best of its repetitions: this VM's slow phases last minutes, so
one round can read 10-25% low (the first of 2026-11-27's sixth session did) while two rarely
both do. Standard library only.
"""
import json
import sys

FIGURES = ("train_ratio", "sample_ratio", "score_ratio")
# what makes two runs comparable: the machine, the kernels and the mode (--quick: reps 1, max_new 32)
SAME = ("cpu", "blas_kernel", "project_kernels", "reps", "max_new")


def load(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        print(f"ratios.py: cannot read '{path}': {e} (write one with `overopt bench --out {path}`)", file=sys.stderr)
        sys.exit(2)
    shapes = {}
    for s in d.get("shapes", []):
        missing = [k for k in ("d_model", "n_layer", "n_ctx") + FIGURES if k not in s]
        if missing:
            print(f"ratios.py: '{path}' has a shape without {', '.join(missing)}: written by an "
                  "overopt older than 2026-11-27; rerun `overopt bench --out`", file=sys.stderr)
            sys.exit(2)
        shapes[(s["d_model"], s["n_layer"], s["n_ctx"])] = s
    if not shapes:
        print(f"ratios.py: '{path}' lists no shapes", file=sys.stderr)
        sys.exit(2)
    return d, shapes


def main(argv):
    args = list(argv)
    drop = 0.06
    if "--drop" in args:
        i = args.index("--drop")
        try:
            drop = float(args[i + 1])
        except (IndexError, ValueError):
            print("ratios.py: --drop needs a fraction, e.g. --drop 0.06", file=sys.stderr)
            return 2
        del args[i:i + 2]
    if len(args) < 2 or any(a.startswith("-") for a in args):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    (ref, rs), (new, ns) = load(args[0]), load(args[1])
    for path in args[2:]:  # further rounds: each figure at its best
        more, ms = load(path)
        for key in SAME:
            if more.get(key) != new.get(key):
                print(f"ratios.py: '{path}' and '{args[1]}' differ in {key}: rounds to combine must come "
                      "from one build on one machine", file=sys.stderr)
                return 2
        for k in ns:
            if k in ms:
                for fig in FIGURES:
                    ns[k][fig] = max(ns[k][fig], ms[k][fig])
    for key in SAME:
        if ref.get(key) != new.get(key):
            print(f"warning: {key} differs: '{ref.get(key, 'not recorded')}' (reference) against "
                  f"'{new.get(key, 'not recorded')}'")
    common = [k for k in rs if k in ns]
    if not common:
        print("ratios.py: the two runs share no shape (d_model, n_layer, n_ctx)", file=sys.stderr)
        return 2
    dropped = 0
    print(f"{'shape':<16} {'figure':<7} {'reference':>9} {'new':>7} {'change':>7}")
    for k in common:
        for fig in FIGURES:
            a, b = rs[k][fig], ns[k][fig]
            change = b / a - 1.0 if a > 0 else 0.0
            mark = ""
            if change < -drop:
                mark = f"  DROP (more than {drop:.0%})"
                dropped += 1
            name = f"C{k[0]} L{k[1]} T{k[2]}"
            print(f"{name:<16} {fig[:-6]:<7} {a:9.2f} {b:7.2f} {change:+7.1%}{mark}")
    print(f"{dropped} figure(s) dropped by more than {drop:.0%}")
    return 1 if dropped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
