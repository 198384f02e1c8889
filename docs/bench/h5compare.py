#!/usr/bin/env python3
"""h5compare.py: compare two run directories dataset by dataset, by value.

Usage: h5compare.py RUN_A RUN_B
Every *.h5 under RUN_A is matched with the same path under RUN_B; every dataset is compared
exactly (NaN equal to NaN), except the wall-time datasets t_*, which differ between any two runs.
Prints how many files and datasets are equal and the largest differences. Needs h5py and numpy
(Debian: python3-h5py; run with /usr/bin/python3). Used for docs/bench/README.md's "results
where the math is unchanged"."""
import os
import sys

import h5py
import numpy as np


def h5_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs if f.endswith(".h5"))


def datasets(h):
    names = []
    h.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return [n for n in names if not os.path.basename(n).startswith("t_")]


def equal(u, v):
    u, v = np.asarray(u), np.asarray(v)
    if u.shape != v.shape or u.dtype.kind != v.dtype.kind:
        return False
    return np.array_equal(u, v, equal_nan=u.dtype.kind == "f")


def max_diff(u, v):
    try:
        with np.errstate(invalid="ignore"):  # inf - inf where both are infinite
            d = np.abs(np.asarray(u, dtype=float) - np.asarray(v, dtype=float))
        return float(np.nanmax(d)) if d.size else 0.0
    except (TypeError, ValueError):
        return float("nan")  # strings, or shapes that differ


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = sys.argv[1], sys.argv[2]
    files = h5_files(a)
    files_equal = n_sets = n_equal = 0
    diffs = {}
    for f in files:
        pb = os.path.join(b, f)
        if not os.path.exists(pb):
            print(f"{f}: missing under {b}")
            continue
        same = True
        with h5py.File(os.path.join(a, f)) as x, h5py.File(pb) as y:
            for n in datasets(x):
                n_sets += 1
                if n in y and equal(x[n][()], y[n][()]):
                    n_equal += 1
                else:
                    same = False
                    diffs[f"{f}:{n}"] = max_diff(x[n][()], y[n][()]) if n in y else float("nan")
        files_equal += same
    print(f"{files_equal} of {len(files)} files equal (t_* excepted); datasets equal {n_equal} of {n_sets}")
    for k, d in sorted(diffs.items(), key=lambda kv: -kv[1] if kv[1] == kv[1] else 0.0)[:12]:
        print(f"  {k}: max |diff| {d:.3g}")


if __name__ == "__main__":
    main()
