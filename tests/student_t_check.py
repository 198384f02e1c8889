#!/usr/bin/env python3
"""student_t_check: docs/experiments/student_t.py's quantiles against published table values,
and the t-interval of issue15_tables.ci (which ppo_final.py uses) at 3, 12, 20 and 30 values:
half-width t(0.975, n-1) sd / sqrt(n) with the table's t, not the normal 1.96 it once fell back
to beyond 11 values.
Usage: student_t_check.py SOURCE_DIR
"""
import math
import os
import sys

sys.path.insert(0, os.path.join(sys.argv[1], "docs", "experiments"))
import issue15_tables  # noqa: E402
import student_t  # noqa: E402

fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAILED: " + msg)


T975 = {2: 4.302653, 11: 2.200985, 19: 2.093024, 29: 2.045230}
for df, ref in T975.items():
    got = student_t.t_quantile(0.975, df)
    if abs(got - ref) > 2e-6 * ref:
        fail(f"t(0.975, {df}) = {got:.6f}, table {ref}")
for n in (3, 12, 20, 30):
    v = [math.sin(1.7 * i) + 0.1 * i for i in range(n)]
    m = sum(v) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    h = T975[n - 1] * sd / math.sqrt(n)
    got = issue15_tables.ci(v)
    print(f"n = {n}: mean {got[0]:.6f}, interval [{got[1]:.6f}, {got[2]:.6f}]; by hand [{m - h:.6f}, {m + h:.6f}]")
    if got[3] != n or abs(got[0] - m) > 1e-12 or abs(got[1] - (m - h)) > 1e-5 or abs(got[2] - (m + h)) > 1e-5:
        fail(f"ci of {n} values: {got}, expected ({m}, {m - h}, {m + h}, {n})")
print("student_t_check: %s" % ("ok" if fails == 0 else f"{fails} failure(s)"))
sys.exit(1 if fails else 0)
