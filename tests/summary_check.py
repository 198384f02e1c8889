#!/usr/bin/env python3
"""Independent check of `overopt summary`: recomputes DIR/summary.csv and DIR/fits_summary.csv
from the replicates' raw CSVs (DIR/rep<i>/bon.csv, ppo_<tag>.csv, fits.csv) with the Python
standard library only, and compares with the C output.

usage: python3 summary_check.py DIR R [REPORT_MD]

With REPORT_MD (DIR/report/report.md), also recomputes the report's verdict tables (objective -
single at each method's largest x; single's paired peak - end drop) and checks each row's
numbers (printed %.3f: tolerance 1e-3), wins and verdict text.

Definitions (docs/statistics.md): mean and sample sd (n-1) over replicates; 95% interval
mean +- t(0.975, R-1) sd / sqrt(R) with t from the published table below (not from the C code);
paired difference objective - single within a replicate at the same x, wins = replicates with a
difference > 0 (single: difference 0); PPO rows on SUMMARY_GRID points from 0 to the smallest
over replicates and objectives of the method of the largest sqrt(running max of eval_kl), the
gold (eval_gold minus the first evaluation row's) interpolated linearly between the first two
consecutive evaluation rows whose running-max sqrt(KL) brackets x; a method whose grid would end
at 0 is left out.

Tolerance, from the printed precision: the C program prints %.9g (relative rounding <= 5e-9),
so values agree to 1e-8 * max(1, |value|); interval ends also carry the table's rounding of t to
6 decimals (<= 5e-7), times sd / sqrt(R). Exits non-zero on any mismatch, printing each one and
the largest difference seen.
"""
import bisect
import csv
import math
import os
import statistics
import sys

# Two-sided 95% Student-t quantiles t(0.975, df), as printed in standard tables (6 decimals).
T975 = {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 6: 2.446912,
        7: 2.364624, 8: 2.306004, 9: 2.262157, 10: 2.228139, 11: 2.200985, 12: 2.178813,
        15: 2.131450, 20: 2.085963, 30: 2.042272}
T_ROUND = 5e-7
GRID = 11
REL = 1e-8

failures = 0
worst = 0.0


def fail(msg):
    global failures
    failures += 1
    print("MISMATCH:", msg)


def read_csv(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    header = [h.strip() for h in rows[0]]
    return [dict(zip(header, [c.strip() for c in r])) for r in rows[1:]]


def num(s):
    return float(s)  # "nan"/"NaN" parse as NaN


def interval(values):
    """(n, mean, sd, lo, hi, half_tolerance) of the values."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan, 0.0
    sd = statistics.stdev(values)
    if n - 1 not in T975:
        sys.exit("summary_check: no table entry for df = %d; add it to T975" % (n - 1))
    half = T975[n - 1] * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half, T_ROUND * sd / math.sqrt(n)


def close(what, got, want, extra=0.0):
    global worst
    if math.isnan(want) or math.isnan(got):
        if not (math.isnan(want) and math.isnan(got)):
            fail("%s: C %r, expected %r" % (what, got, want))
        return
    d = abs(got - want)
    worst = max(worst, d)
    if d > REL * max(1.0, abs(want)) + extra:
        fail("%s: C %.10g, expected %.10g (difference %.3g)" % (what, got, want, d))


def ppo_curve(path):
    """Evaluation rows as (running-max sqrt KL list, gold-minus-origin list)."""
    xs, gs, origin, run_max = [], [], None, 0.0
    for r in read_csv(path):
        kl, g = num(r["eval_kl"]), num(r["eval_gold"])
        if not (math.isfinite(kl) and math.isfinite(g)):
            continue
        if origin is None:
            origin = g
        run_max = max(run_max, kl)
        xs.append(math.sqrt(run_max))
        gs.append(g - origin)
    return xs, gs


def at(curve, x):
    xs, gs = curve
    k = bisect.bisect_left(xs, x)  # first index with xs[k] >= x (xs is non-decreasing)
    if k == 0:
        return gs[0]
    if k == len(xs):
        raise ValueError("grid point %r beyond the curve (max %r)" % (x, xs[-1]))
    return gs[k - 1] + (x - xs[k - 1]) / (xs[k] - xs[k - 1]) * (gs[k] - gs[k - 1])


def expected_rows(d, R):
    reps = [os.path.join(d, "rep%d" % i) for i in range(R)]
    rows = []  # (method, objective, x, [gold per replicate])
    if os.path.exists(os.path.join(reps[0], "bon.csv")):
        per_rep = []
        for rd in reps:
            per_rep.append({(r["objective"], int(float(r["n"]))): num(r["gold"])
                            for r in read_csv(os.path.join(rd, "bon.csv"))
                            if not r["objective"].startswith("member_")})
        objectives = []
        for (o, _) in per_rep[0]:
            if o not in objectives:
                objectives.append(o)
        for o in objectives:
            for n in sorted(k[1] for k in per_rep[0] if k[0] == o):
                rows.append(("bon", o, float(n), [p[(o, n)] for p in per_rep]))
    tags = sorted(f[4:-4] for f in os.listdir(reps[0]) if f.startswith("ppo_") and f.endswith(".csv"))
    methods = {}
    for tag in tags:
        i = tag.rfind("_beta")
        method, obj = ("ppo" + tag[i:], tag[:i]) if i > 0 and len(tag) > i + 5 else ("ppo", tag)
        methods.setdefault(method, []).append((obj, [ppo_curve(os.path.join(rd, "ppo_%s.csv" % tag)) for rd in reps]))
    for method, objs in methods.items():
        x_max = min(c[0][-1] for _, curves in objs for c in curves)
        if not x_max > 0:
            continue  # no KL axis: the method is left out (with a warning)
        grid = [x_max * g / (GRID - 1) for g in range(GRID - 1)] + [x_max]
        for obj, curves in objs:
            for x in grid:
                rows.append((method, obj, x, [at(c, x) for c in curves]))
    return rows


def check_summary(d, R):
    want = expected_rows(d, R)
    got = read_csv(os.path.join(d, "summary.csv"))
    if len(got) != len(want):
        fail("summary.csv has %d rows, expected %d" % (len(got), len(want)))
        return
    single = {(m, x): g for m, o, x, g in want if o == "single"}
    for row, (method, obj, x, golds) in zip(got, want):
        where = "summary.csv %s/%s/x=%.6g" % (method, obj, x)
        if (row["method"], row["objective"]) != (method, obj):
            fail("%s: C row is %s/%s" % (where, row["method"], row["objective"]))
            continue
        close(where + " x", num(row["x"]), x)
        if int(row["replicates"]) != R:
            fail("%s: replicates %s, expected %d" % (where, row["replicates"], R))
        _, mean, sd, lo, hi, tol = interval(golds)
        close(where + " gold_mean", num(row["gold_mean"]), mean)
        close(where + " gold_sd", num(row["gold_sd"]), sd)
        close(where + " gold_ci_lo", num(row["gold_ci_lo"]), lo, tol)
        close(where + " gold_ci_hi", num(row["gold_ci_hi"]), hi, tol)
        ref = single.get((method, x))
        diffs = [g - s for g, s in zip(golds, ref)] if ref else [math.nan] * R
        _, dmean, _, dlo, dhi, dtol = interval(diffs)
        close(where + " diff_mean", num(row["diff_mean"]), dmean)
        close(where + " diff_ci_lo", num(row["diff_ci_lo"]), dlo, dtol)
        close(where + " diff_ci_hi", num(row["diff_ci_hi"]), dhi, dtol)
        wins = sum(1 for v in diffs if v > 0)
        if int(row["wins"]) != wins:
            fail("%s: wins %s, expected %d" % (where, row["wins"], wins))
    return len(got)


def check_keyed(d, R, file, out, k0, k1, params):
    """OUT (fits_summary.csv, uncertainty_summary.csv): per (k0, k1) key of any replicate's FILE and
    parameter, mean and interval over the replicates whose value is finite."""
    path = os.path.join(d, out)
    per_rep = [read_csv(os.path.join(d, "rep%d" % i, file)) for i in range(R)]
    keys = []  # every replicate's (k0, k1), in order of first appearance
    for rows in per_rep:
        for r in rows:
            if (r[k0], r[k1]) not in keys:
                keys.append((r[k0], r[k1]))
    got = read_csv(path)
    if len(got) != len(keys) * len(params):
        fail("%s has %d rows, expected %d" % (out, len(got), len(keys) * len(params)))
        return 0
    it = iter(got)
    for curve, form in keys:
        for p in params:
            row = next(it)
            where = "%s %s/%s/%s" % (out, curve, form, p)
            if (row[k0], row[k1], row["parameter"]) != (curve, form, p):
                fail("%s: C row is %s/%s/%s" % (where, row[k0], row[k1], row["parameter"]))
                continue
            vals = [num(r[p]) for rows in per_rep for r in rows if (r[k0], r[k1]) == (curve, form)]
            vals = [v for v in vals if math.isfinite(v)]
            if int(row["replicates"]) != len(vals):
                fail("%s: replicates %s, expected %d" % (where, row["replicates"], len(vals)))
            if not vals:
                continue
            _, mean, sd, lo, hi, tol = interval(vals)
            close(where + " mean", num(row["mean"]), mean)
            close(where + " sd", num(row["sd"]), sd)
            close(where + " ci_lo", num(row["ci_lo"]), lo, tol)
            close(where + " ci_hi", num(row["ci_hi"]), hi, tol)
    return len(got)


def report_row(lines, method, first):
    """Cells of the report.md table row starting '| method | first |'."""
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0] == method and cells[1] == first:
            return cells
    return None


def numbers(text):
    """The numbers of '+0.123 [-0.045, +0.300]' (or '+0.123 [n/a]')."""
    t = text.replace("[", " ").replace("]", " ").replace(",", " ")
    return [float(v) for v in t.split() if v != "n/a"]


def check_verdicts(d, R, md_path):
    lines = open(md_path, encoding="utf-8").read().splitlines()
    want = expected_rows(d, R)
    methods = []
    for m, _, _, _ in want:
        if m not in methods:
            methods.append(m)
    checked = 0
    for m in methods:
        rows = [(o, x, g) for mm, o, x, g in want if mm == m]
        x_end = max(x for _, x, _ in rows)
        single = {x: g for o, x, g in rows if o == "single"}
        over = False
        if single:
            xs = sorted(single)
            means = [math.fsum(single[x]) / R for x in xs]
            x_peak = xs[means.index(max(means))]
            drops = [a - b for a, b in zip(single[x_peak], single[x_end])]
            _, mean, _, lo, hi, _ = interval(drops)
            over = x_peak < x_end and R >= 2 and lo > 0
            verdict = ("unresolved (mean gold peaks at the largest x)" if x_peak >= x_end else
                       "unresolved (one replicate: no interval)" if R < 2 else
                       "single overoptimizes" if lo > 0 else "unresolved")
            cells = report_row(lines, m, "%.3f" % max(means))
            expect = [mean] + ([] if R < 2 else [lo, hi])
            if cells is None:
                fail("report.md: no 'does single overoptimize' row for %s" % m)
            else:
                got = numbers(cells[4])
                if len(got) != len(expect) or any(abs(a - b) > 1e-3 for a, b in zip(got, expect)):
                    fail("report.md %s drop: %s, expected %s" % (m, cells[4], expect))
                wins = sum(1 for v in drops if v > 0)
                if cells[5] != "%d/%d" % (wins, R) or cells[6] != verdict:
                    fail("report.md %s drop: '%s | %s', expected '%d/%d | %s'" % (m, cells[5], cells[6], wins, R, verdict))
                checked += 1
        for o, x, g in rows:
            if x != x_end or o == "single":
                continue
            diffs = [a - b for a, b in zip(g, single[x])] if single else [math.nan] * R
            _, mean, _, lo, hi, _ = interval(diffs)
            if not single:
                verdict = "unresolved (no `single` in %s)" % m
            elif R < 2:
                verdict = "unresolved (one replicate: no interval)"
            elif lo > 0 and over:
                verdict = "`%s` mitigates overoptimization (gold above single)" % o
            elif lo > 0:
                verdict = "`%s` gold above single" % o
            elif hi < 0:
                verdict = "`%s` gold below single" % o
            else:
                verdict = "unresolved"
            cells = report_row(lines, m, o)
            if cells is None:
                fail("report.md: no verdict row for %s/%s" % (m, o))
                continue
            expect = [mean] + ([] if R < 2 else [lo, hi])
            got = numbers(cells[3])
            if not single:
                pass
            elif len(got) != len(expect) or any(abs(a - b) > 1e-3 for a, b in zip(got, expect)):
                fail("report.md %s/%s: %s, expected %s" % (m, o, cells[3], expect))
            wins = sum(1 for v in diffs if v > 0)
            if cells[4] != "%d/%d" % (wins, R) or cells[5] != verdict:
                fail("report.md %s/%s: '%s | %s', expected '%d/%d | %s'" % (m, o, cells[4], cells[5], wins, R, verdict))
            checked += 1
    return checked


def main():
    d, R = sys.argv[1], int(sys.argv[2])
    n = check_summary(d, R) or 0
    m = 0
    if os.path.exists(os.path.join(d, "rep0", "fits.csv")):
        m += check_keyed(d, R, "fits.csv", "fits_summary.csv", "curve", "form", ["alpha", "beta", "d_star", "gold_star"])
    if os.path.exists(os.path.join(d, "rep0", "uncertainty.csv")):
        m += check_keyed(d, R, "uncertainty.csv", "uncertainty_summary.csv", "source", "set", ["spearman"])
    v = check_verdicts(d, R, sys.argv[3]) if len(sys.argv) > 3 else 0
    print("summary_check: %d summary rows, %d fit and uncertainty rows, %d verdict rows, R = %d, largest difference "
          "%.3g, %d mismatches" % (n, m, v, R, worst, failures))
    sys.exit(1 if failures else 0)


main()
