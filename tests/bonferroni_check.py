#!/usr/bin/env python3
"""bonferroni_check: docs/experiments/bonferroni.py
  - its t quantiles against published table values (df 1, 2, 9, 10, 19, 29);
  - on a made-up summary.csv of 10 replicates, K = 5 (each claim at 99%): the widened interval
    from the 95% one, with t(0.975, 9) = 2.262157 and t(0.995, 9) = 3.249836 from the table;
    rows below the comparison point and single are skipped, --objectives filters;
  - bad input: K = 0 (exit 2), no summary.csv (exit 1, the message names the file).
Usage: bonferroni_check.py SOURCE_DIR
"""
import os
import subprocess
import sys
import tempfile

src = sys.argv[1]
script = os.path.join(src, "docs", "experiments", "bonferroni.py")
sys.path.insert(0, os.path.dirname(script))
import bonferroni  # noqa: E402

fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAILED: " + msg)


table = [(0.975, 1, 12.706205), (0.975, 2, 4.302653), (0.995, 9, 3.249836), (0.975, 9, 2.262157),
         (0.99, 10, 2.763769), (0.975, 19, 2.093024), (0.995, 29, 2.756386)]
for p, df, ref in table:
    got = bonferroni.t_quantile(p, df)
    if abs(got - ref) > 2e-6 * ref:
        fail(f"t({p}, {df}) = {got:.6f}, table {ref}")

cols = "method,x,objective,replicates,gold_mean,gold_ci_lo,gold_ci_hi,diff_mean,diff_ci_lo,diff_ci_hi,wins"
rows = ["ppo,2.0,uwo,10,0,0,0,9.0,8.0,10.0,10",   # below the comparison point: skipped
        "ppo,4.0,single,10,0.1,0,0.2,nan,nan,nan,",
        "ppo,4.0,uwo,10,0.6,0,1,0.5,0.1,0.9,8",
        "ppo,4.0,wco,10,0.6,0,1,1.0,0.6,1.4,9",
        "ppo,4.0,mean,10,0.6,0,1,0.2,-0.1,0.5,6"]
se = lambda lo, hi: (hi - lo) / (2 * 2.262157)  # noqa: E731


def expect_row(out, obj, m, lo, hi, verdict):
    h = 3.249836 * se(lo, hi)
    want = f"| {obj} | 10 | {m:+.2f} | [{lo:+.2f}, {hi:+.2f}] | [{m - h:+.2f}, {m + h:+.2f}] | {verdict} |"
    if want not in out:
        fail(f"{obj}: expected a row ending {want!r}")


with tempfile.TemporaryDirectory() as tmp:
    with open(os.path.join(tmp, "summary.csv"), "w") as f:
        f.write(cols + "\n" + "\n".join(rows) + "\n")
    p = subprocess.run([sys.executable, script, tmp, "5"], capture_output=True, text=True)
    print(p.stdout + p.stderr, end="")
    if p.returncode != 0:
        fail(f"exit {p.returncode} on a good summary")
    expect_row(p.stdout, "uwo", 0.5, 0.1, 0.9, "unresolved")     # 0.5 -+ 0.575
    expect_row(p.stdout, "wco", 1.0, 0.6, 1.4, "above single")   # 1.0 -+ 0.575
    expect_row(p.stdout, "mean", 0.2, -0.1, 0.5, "unresolved")
    if "+9.00" in p.stdout or "| single |" in p.stdout:
        fail("a row below the comparison point, or single, was printed")
    if "99% CI (K = 5)" not in p.stdout:
        fail("the header does not give the level 99% for K = 5")
    p = subprocess.run([sys.executable, script, tmp, "2", "--objectives", "wco"], capture_output=True, text=True)
    if "| wco |" not in p.stdout or "| uwo |" in p.stdout or "| mean |" in p.stdout:
        fail(f"--objectives wco printed: {p.stdout}")
    p = subprocess.run([sys.executable, script, tmp, "0"], capture_output=True, text=True)
    if p.returncode != 2 or "K must be" not in p.stderr:
        fail(f"K = 0: exit {p.returncode}, {p.stderr!r}")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    p = subprocess.run([sys.executable, script, empty, "2"], capture_output=True, text=True)
    if p.returncode != 1 or "summary.csv" not in p.stderr:
        fail(f"no summary.csv: exit {p.returncode}, {p.stderr!r}")

print("bonferroni_check: %s" % ("ok" if fails == 0 else f"{fails} failure(s)"))
sys.exit(1 if fails else 0)
