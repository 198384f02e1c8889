#!/usr/bin/env python3
"""PPO's final evaluations over the replicates of a run, per objective (docs/experiments/ppo-steps.md).

Usage: ppo_final.py RUN_DIR [--from STEP]
RUN_DIR is a replicated run (rep0, rep1, ... each with ppo_<objective>.csv). For each objective,
over the replicates, with two-sided 95% Student-t intervals:
  - the gold of the last evaluation and the paired difference objective - single there (the
    objectives stop at different KLs, so this is not the summary's common sqrt(KL) grid);
  - the median KL of the last evaluation;
  - with --from STEP: gold(last) - gold(STEP), paired within each run: a fall means the
    objective lost gold while it kept optimizing;
  - the drop from the best evaluation to the last. The maximum of noisy evaluations is biased
    upward, so this is positive even for a curve that never falls: read it beside --from.
Only the Python standard library is used.
"""
import csv
import glob
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from issue15_tables import ci, fmt_ci  # noqa: E402  (the same t-intervals as the issue-15 tables)


def evaluations(path):
    """{step: (eval_kl, eval_gold)} of the rows that evaluated."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            g = float(row["eval_gold"])
            if math.isfinite(g):
                out[int(row["step"])] = (float(row["eval_kl"]), g)
    return out


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    run_dir, from_step = argv[0], None
    if len(argv) == 3 and argv[1] == "--from":
        from_step = int(argv[2])
    elif len(argv) != 1:
        print("usage: ppo_final.py RUN_DIR [--from STEP]", file=sys.stderr)
        return 2
    reps = sorted(glob.glob(os.path.join(run_dir, "rep[0-9]*")), key=lambda p: int(p.rsplit("rep", 1)[1]))
    if not reps:
        print(f"ppo_final.py: no rep<i> directories in {run_dir} (a replicated run's directory)", file=sys.stderr)
        return 1
    objectives = sorted(
        os.path.basename(p)[4:-4] for p in glob.glob(os.path.join(reps[0], "ppo_*.csv")))
    if "single" not in objectives:
        print(f"ppo_final.py: {reps[0]} has no ppo_single.csv (the reference objective)", file=sys.stderr)
        return 1
    ev = {o: [evaluations(os.path.join(r, f"ppo_{o}.csv")) for r in reps] for o in objectives}
    last = {o: [e[max(e)][1] for e in ev[o]] for o in objectives}
    print(f"PPO, last evaluation ({len(reps)} replicates, {run_dir})\n")
    head = "| objective | last step | KL (median) | gold [95% CI] | objective − single [95% CI] | wins |"
    extra = f" gold(last) − gold({from_step}) | falls |" if from_step is not None else ""
    print(head + extra + " drop from best |")
    print("|---" * (6 + (2 if from_step is not None else 0) + 1) + "|")
    for o in objectives:
        med = statistics.median(e[max(e)][0] for e in ev[o])
        diff = [a - b for a, b in zip(last[o], last["single"])]
        cells = [o, str(max(ev[o][0])), f"{med:.0f}", fmt_ci(ci(last[o])),
                 "–" if o == "single" else fmt_ci(ci(diff), verdict=True),
                 "–" if o == "single" else str(sum(d > 0 for d in diff))]
        if from_step is not None:
            if any(from_step not in e for e in ev[o]):
                print(f"ppo_final.py: step {from_step} was not evaluated in every {o} run", file=sys.stderr)
                return 1
            ch = [e[max(e)][1] - e[from_step][1] for e in ev[o]]
            cells += [fmt_ci(ci(ch), verdict=True), f"{sum(c < 0 for c in ch)}/{len(ch)}"]
        drop = [max(g for _, g in e.values()) - e[max(e)][1] for e in ev[o]]
        cells.append(fmt_ci(ci(drop)))
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
