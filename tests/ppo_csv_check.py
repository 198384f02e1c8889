#!/usr/bin/env python3
"""ppo_csv_check.py H5 CSV: ppo_<tag>.csv holds exactly the per-step datasets of ppo_<tag>.h5.

Checks (issue #14): the CSV's columns are, by name, every 1-D dataset at the root of the .h5 with
one row per step but the wall-clock times t_* (which differ between two runs of the same config,
while the CSV must not: its hash is recorded) and member_score (steps, K), the one 2-D table; every
value equals the dataset's bit for bit (the CSV prints %.17g, which round-trips a double; NaN
equals NaN); the evaluation samples are string datasets samples/step_<s>/text with gold and proxy
of the same length, and every evaluation row (finite eval_gold) has them. Exit 1 on a failure."""
import csv
import math
import sys

import h5py
import numpy as np

h5_path, csv_path = sys.argv[1], sys.argv[2]
fail = []
with open(csv_path, newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
with h5py.File(h5_path, "r") as h:
    steps = h["step"].shape[0]
    per_step = [k for k, v in h.items()
                if isinstance(v, h5py.Dataset) and v.ndim == 1 and v.shape[0] == steps and not k.startswith("t_")]
    if sorted(header) != sorted(per_step):
        fail.append(f"columns {sorted(header)} != per-step datasets {sorted(per_step)}")
    if len(body) != steps:
        fail.append(f"{len(body)} CSV rows, {steps} steps in the .h5")
    for i, name in enumerate(header):
        if name not in h:
            continue
        want = h[name][()]
        got = np.array([float(r[i]) for r in body])
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        if got.shape != want.shape or not same.all():
            bad = int(np.argmin(same)) if got.shape == want.shape else -1
            fail.append(f"column {name} differs from the dataset (first at row {bad})")
    eval_rows = [s for s in range(steps) if math.isfinite(h["eval_gold"][s])]
    for s in eval_rows:
        g = f"samples/step_{s}"
        if g not in h:
            fail.append(f"{g} missing (step {s} has an evaluation)")
            continue
        text = h[g + "/text"]
        if text.dtype.kind not in ("S", "O") or h5py.check_string_dtype(text.dtype) is None:
            fail.append(f"{g}/text is not a string dataset ({text.dtype})")
        n = text.shape[0]
        texts = [t.decode() if isinstance(t, bytes) else t for t in text[()]]
        if n < 1 or any("|" not in t for t in texts):
            fail.append(f"{g}/text: {n} samples, want >= 1 'prompt|response' strings")
        for d in ("gold", "proxy"):
            if h[f"{g}/{d}"].shape != (n,):
                fail.append(f"{g}/{d} has shape {h[g + '/' + d].shape}, want ({n},)")
        if len(h[g].attrs):
            fail.append(f"{g} still carries attributes {list(h[g].attrs)}")
for m in fail:
    print(f"FAILED {csv_path}: {m}")
print(f"{csv_path}: {len(header)} columns, {len(body)} rows, {len(eval_rows)} evaluations checked")
sys.exit(1 if fail else 0)
