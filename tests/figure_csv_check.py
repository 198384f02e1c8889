#!/usr/bin/env python3
"""figure_csv_check.py REPORT_DIR [FIGURE ...]: every figure of a report has a CSV of what it draws.

Checks (issue #14): each FIGURE (a basename; every .png in REPORT_DIR when none are named) exists as
.png and .csv; every .png has its .csv; each CSV's header is panel,series,role,x,y,y_lo,y_hi and every
x, y, y_lo, y_hi parses as a number (nan allowed); a fitted form (role fit) stays within its data's
largest x (the gold/proxy/mean rows of its panel) and its dotted continuation (role fit_extension)
within 1.5x of it; curves against sqrt(KL) (roles gold, proxy in *_objectives) never run backwards
in x; every smoothed series (role ema) has its raw values (role raw), point for point. Exit 1 on
a failure, naming the file."""
import csv
import math
import os
import sys

HEADER = ["panel", "series", "role", "x", "y", "y_lo", "y_hi"]
DATA_ROLES = {"gold", "proxy", "gold_band", "mean", "mean_band"}
d = sys.argv[1]
names = sys.argv[2:] or sorted(f[:-4] for f in os.listdir(d) if f.endswith(".png"))
fail = []
for f in os.listdir(d):
    if f.endswith(".png") and not os.path.exists(os.path.join(d, f[:-4] + ".csv")):
        fail.append(f"{f} has no {f[:-4]}.csv")
n_fit = 0
for name in names:
    png, path = os.path.join(d, name + ".png"), os.path.join(d, name + ".csv")
    if not os.path.exists(png) or not os.path.exists(path):
        fail.append(f"{name}: .png or .csv missing")
        continue
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or rows[0] != HEADER:
        fail.append(f"{name}.csv: header {rows[:1]}, want {HEADER}")
        continue
    if len(rows) < 2:
        fail.append(f"{name}.csv: no rows")
    pts = []
    for i, r in enumerate(rows[1:], 2):
        try:
            pts.append((r[0], r[1], r[2], *map(float, r[3:7])))
        except (ValueError, IndexError):
            fail.append(f"{name}.csv:{i}: not 7 fields with numbers: {r}")
    data_xmax, series = {}, {}
    for p, s, role, x, y, lo, hi in pts:
        if role in DATA_ROLES and math.isfinite(x):
            data_xmax[p] = max(data_xmax.get(p, 0.0), x)
        series.setdefault((p, s, role), []).append((x, y))
    for (p, s, role), xy in series.items():
        xs = [x for x, _ in xy]
        if role in ("fit", "fit_extension"):
            n_fit += 1
            limit = data_xmax.get(p, 0.0) * (1.5 if role == "fit_extension" else 1.0)
            if max(xs) > limit * (1 + 1e-9):
                fail.append(f"{name}.csv: {role} of '{s}' in panel '{p}' reaches x = {max(xs):.6g}, "
                            f"beyond {limit:.6g} ({'1.5x ' if role == 'fit_extension' else ''}the data's largest x)")
        if name.endswith("_objectives") and role in ("gold", "proxy") and any(b < a for a, b in zip(xs, xs[1:])):
            fail.append(f"{name}.csv: {role} of '{s}' in panel '{p}' runs backwards in x")
        if role == "ema":
            raw = series.get((p, s, "raw"))
            if not raw or [x for x, _ in raw] != xs:
                fail.append(f"{name}.csv: ema of '{s}' without the same points as raw")
for m in fail:
    print("FAILED:", m)
print(f"figure_csv_check: {len(names)} figures in {d}, {n_fit} fitted curves within their data")
sys.exit(1 if fail else 0)
