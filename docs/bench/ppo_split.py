#!/usr/bin/env python3
"""ppo_split.py: mean wall time per PPO step of a run, split by phase.

Usage: ppo_split.py RUN_DIR [RUN_DIR ...]
Reads the t_step, t_generate, t_score, t_update, t_mpi and t_eval datasets of every
ppo_<tag>.h5 under each RUN_DIR (policies and partial files skipped) and prints their means over
all steps in milliseconds. Needs h5py (Debian: python3-h5py; run with /usr/bin/python3)."""
import glob
import os
import sys

import h5py

PHASES = ("t_step", "t_generate", "t_score", "t_update", "t_mpi", "t_eval")

if len(sys.argv) < 2:
    sys.exit(__doc__)
for run in sys.argv[1:]:
    total = dict.fromkeys(PHASES, 0.0)
    steps = 0
    for f in sorted(glob.glob(os.path.join(run, "**", "ppo_*.h5"), recursive=True)):
        if f.endswith("_policy.h5") or ".partial" in f:
            continue
        with h5py.File(f) as h:
            for k in PHASES:
                total[k] += float(h[k][()].sum())
            steps += h["t_step"].shape[0]
    if not steps:
        print(f"{run}: no PPO steps")
        continue
    print(f"{run}: {steps} steps, per step: " + ", ".join(f"{k[2:]} {1e3 * v / steps:.0f} ms" for k, v in total.items()))
