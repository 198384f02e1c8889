#!/usr/bin/env python3
"""ppo_final_check: docs/experiments/ppo_final.py on a made-up run of 3 replicates, against the
figures computed here by hand (mean, sample sd, t = 4.302653 for 2 degrees of freedom):
  - each objective's last evaluation (step 19) gold and KL median, the paired difference from
    single and its wins, the change from --from 10 and how many fall, the drop from the best;
  - rows without an evaluation (eval_gold nan) are skipped;
  - bad input: a directory without rep<i>, a run without ppo_single.csv, a --from step that was not
    evaluated, each a non-zero exit and a message naming the problem.
Usage: ppo_final_check.py SOURCE_DIR
"""
import math
import os
import subprocess
import sys
import tempfile

src = sys.argv[1]
script = os.path.join(src, "docs", "experiments", "ppo_final.py")
T2 = 4.302653  # t_{0.975, 2}
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAILED: " + msg)


def ci(v):
    n = len(v)
    m = sum(v) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    h = T2 * sd / math.sqrt(n)
    return f"{m:+.2f} [{m - h:+.2f}, {m + h:+.2f}]"


# eval gold at steps 0, 10, 19 per replicate and objective; KL at the last evaluation
gold = {"single": [(0.0, 0.5, 0.2), (0.0, 0.9, 1.1), (0.0, 0.3, -0.4)],
        "mean": [(0.0, 0.8, 0.9), (0.0, 1.0, 1.6), (0.0, 0.2, 0.3)]}
kl_last = {"single": (40.0, 60.0, 50.0), "mean": (30.0, 36.0, 33.0)}
steps = (0, 10, 19)
cols = "step,kl,proxy,gold,eval_kl,eval_gold"

with tempfile.TemporaryDirectory() as tmp:
    run = os.path.join(tmp, "run")
    for r in range(3):
        os.makedirs(os.path.join(run, f"rep{r}"))
        for o, g in gold.items():
            with open(os.path.join(run, f"rep{r}", f"ppo_{o}.csv"), "w") as f:
                f.write(cols + "\n")
                for s in range(20):
                    if s in steps:
                        i = steps.index(s)
                        kl = kl_last[o][r] if s == 19 else 5.0 * s
                        f.write(f"{s},0,0,0,{kl},{g[r][i]}\n")
                    else:
                        f.write(f"{s},0,0,0,nan,nan\n")
    out = subprocess.run([sys.executable, script, run, "--from", "10"], capture_output=True, text=True)
    print(out.stdout + out.stderr)
    if out.returncode != 0:
        fail(f"exit {out.returncode} on a valid run")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.stdout.splitlines() if line.startswith("| ") and not line.startswith("| objective")}
    last = {o: [g[r][2] for r in range(3)] for o, g in gold.items()}
    want = {
        "single": ["19", "50", ci(last["single"]), "–", "–", ci([g[2] - g[1] for g in gold["single"]]) + " (unresolved)",
                   str(sum(g[2] < g[1] for g in gold["single"])) + "/3", ci([max(g) - g[2] for g in gold["single"]])],
        "mean": ["19", "33", ci(last["mean"]), ci([a - b for a, b in zip(last["mean"], last["single"])]),
                 str(sum(a > b for a, b in zip(last["mean"], last["single"]))),
                 ci([g[2] - g[1] for g in gold["mean"]]), str(sum(g[2] < g[1] for g in gold["mean"])) + "/3",
                 ci([max(g) - g[2] for g in gold["mean"]])],
    }
    for o, w in want.items():
        got = rows.get(o)
        if got is None:
            fail(f"no row for {o}")
            continue
        # the difference and change columns carry a verdict after the interval: compare the interval
        for i, (a, b) in enumerate(zip(got, w)):
            if not a.startswith(b.replace(" (unresolved)", "")):
                fail(f"{o}, column {i + 2}: got '{a}', expected '{b}'")
        if len(got) != len(w):
            fail(f"{o}: {len(got)} columns, expected {len(w)}")

    # bad input
    def bad(args, needle, what):
        r = subprocess.run([sys.executable, script] + args, capture_output=True, text=True)
        if r.returncode == 0 or needle not in r.stderr:
            fail(f"{what}: exit {r.returncode}, stderr '{r.stderr.strip()}' (expected non-zero and '{needle}')")

    bad([tmp], "no rep<i> directories", "a directory without replicates")
    bad([run, "--from", "7"], "step 7 was not evaluated", "a --from step without an evaluation")
    os.remove(os.path.join(run, "rep0", "ppo_single.csv"))
    bad([run], "no ppo_single.csv", "a run without the single objective")

print("ppo_final_check: " + ("ok" if not fails else f"{fails} failure(s)"))
sys.exit(1 if fails else 0)
