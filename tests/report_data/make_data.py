#!/usr/bin/env python3
"""Writes the synthetic report inputs in tests/report_data/{run1,sweep1} (deterministic).

Curves follow Gao et al.'s functional forms plus noise, shaped like the expected phenomena:
single members peak and fall (one member does not), wco/uwo keep gold higher at high KL.
Run from anywhere: python3 tests/report_data/make_data.py
"""
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(12345)
RUN = os.path.join(HERE, "run1")
os.makedirs(RUN, exist_ok=True)


def lstsq2(xs, ys):
    """Least squares y = a*u + b*v for rows (u, v): returns (a, b, r2)."""
    suu = sum(u * u for u, _ in xs)
    svv = sum(v * v for _, v in xs)
    suv = sum(u * v for u, v in xs)
    suy = sum(u * y for (u, _), y in zip(xs, ys))
    svy = sum(v * y for (_, v), y in zip(xs, ys))
    det = suu * svv - suv * suv
    a = (suy * svv - svy * suv) / det
    b = (svy * suu - suy * suv) / det
    mean = sum(ys) / len(ys)
    ss_res = sum((y - a * u - b * v) ** 2 for (u, v), y in zip(xs, ys))
    ss_tot = sum((y - mean) ** 2 for y in ys)
    return a, b, 1 - ss_res / ss_tot


# ---- bon.csv ----------------------------------------------------------------------------------
ns = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
bon_truth = {  # objective: (alpha, beta) of gold(d) = d(alpha - beta d)
    "single": (1.00, 0.36), "mean": (1.05, 0.27), "wco": (0.92, 0.16), "uwo_0.5": (0.97, 0.18),
}
members = [(1.02, 0.38), (0.95, 0.33), (1.08, 0.42), (0.97, 0.35), (0.90, 0.06)]  # last: no fall
bon_rows = []
for obj, (a, b) in list(bon_truth.items()) + [("member_%d" % j, m) for j, m in enumerate(members)]:
    for n in ns:
        kl = math.log(n) - (n - 1) / n
        d = math.sqrt(kl)
        noise = 0.0 if n == 1 else rng.gauss(0, 0.01)
        gold = d * (a - b * d) + noise
        proxy = 1.35 * d - 0.05 * d * d + (0.0 if n == 1 else rng.gauss(0, 0.01))
        if obj == "wco":
            proxy -= 0.6 * d  # the min over members scores lower than the mean
        se = 0.0 if n == 1 else 0.012 + 0.002 * d
        bon_rows.append((obj, n, kl, proxy, gold, se))
with open(os.path.join(RUN, "bon.csv"), "w") as f:
    f.write("objective,n,kl,proxy,gold,gold_se\n")
    for obj, n, kl, proxy, gold, se in bon_rows:
        f.write("%s,%d,%.6f,%.6f,%.6f,%.6f\n" % (obj, n, kl, proxy, gold, se))

# ---- ppo_<tag>.csv ---------------------------------------------------------------------------
ppo_truth = {"single": (1.10, 0.55), "mean_beta0.01": (1.05, 0.40), "wco": (0.95, 0.22)}
ppo_eval = {}
header = ("step,kl,kl_k1,kl_k2,kl_k3,proxy,gold,ens_var,entropy,clipfrac,vf_loss,"
          "eval_kl,eval_proxy,eval_gold\n")
for tag, (a, b) in ppo_truth.items():
    pts = []
    with open(os.path.join(RUN, "ppo_%s.csv" % tag), "w") as f:
        f.write(header)
        for step in range(0, 61):
            kl_true = 0.12 * step * (0.8 if tag == "wco" else 1.0)
            kl = max(0.0, kl_true + rng.gauss(0, 0.05)) if step else 0.0
            d = math.sqrt(kl)
            gold = (d * (a - b * math.log(d)) if d > 0 else 0.0) + rng.gauss(0, 0.04)
            proxy = 1.2 * d + rng.gauss(0, 0.04)
            ens_var = 0.02 + (0.004 if tag == "single" else 0.002) * step + abs(rng.gauss(0, 0.005))
            row = [step, kl, kl, kl * 0.9, kl * 0.95, proxy, gold, ens_var,
                   2.5 - 0.02 * step, 0.05 + rng.random() * 0.05, 0.3 * math.exp(-step / 20)]
            if step % 10 == 0:
                ed = math.sqrt(kl_true)
                eg = ed * (a - b * math.log(ed)) if ed > 0 else 0.0
                eg += rng.gauss(0, 0.01) if step else 0.0
                ep = 1.2 * ed
                row += [kl_true, ep, eg]
                pts.append((ed, eg))
            else:
                row += [float("nan")] * 3
            f.write(",".join("%d" % v if i == 0 else ("NaN" if v != v else "%.6f" % v)
                             for i, v in enumerate(row)) + "\n")
    ppo_eval[tag] = pts

# ---- fits.csv ---------------------------------------------------------------------------------
with open(os.path.join(RUN, "fits.csv"), "w") as f:
    f.write("source,curve,form,alpha,beta,r2,d_star,gold_star\n")
    for obj in bon_truth:
        rows = [r for r in bon_rows if r[0] == obj]
        xs = [(math.sqrt(r[2]), -r[2]) for r in rows]  # gold = a d + b (-d^2)
        a, b, r2 = lstsq2(xs, [r[4] for r in rows])
        f.write("bon,%s,bon,%.6f,%.6f,%.6f,%.6f,%.6f\n" % (obj, a, b, r2, a / (2 * b), a * a / (4 * b)))
    for tag, pts in ppo_eval.items():
        pts = [p for p in pts if p[0] > 0]
        xs = [(d, -d * math.log(d)) for d, _ in pts]
        a, b, r2 = lstsq2(xs, [g for _, g in pts])
        ds = math.exp(a / b - 1)
        f.write("ppo,%s,rl,%.6f,%.6f,%.6f,%.6f,%.6f\n" % (tag, a, b, r2, ds, b * ds))

# ---- rm_members.csv ---------------------------------------------------------------------------
with open(os.path.join(RUN, "rm_members.csv"), "w") as f:
    f.write("member,epoch,train_loss,train_acc,test_acc,gold_agree\n")
    for m in range(5):
        for e in range(1, 6):
            tr = 0.55 + 0.04 * e + rng.gauss(0, 0.005)
            te = 0.60 + 0.1 * (1 - math.exp(-e / 2)) + 0.01 * m - 0.004 * max(0, e - 3) + rng.gauss(0, 0.004)
            f.write("%d,%d,%.5f,%.5f,%.5f,%.5f\n" % (m, e, 0.69 - 0.03 * e, tr, te, te - 0.01))

# ---- winrates.csv, config.cfg -----------------------------------------------------------------
with open(os.path.join(RUN, "winrates.csv"), "w") as f:
    f.write("source,objective,winrate,se\n")
    for src, obj, w in [("bon", "single", 0.61), ("bon", "mean", 0.64), ("bon", "wco", 0.66),
                        ("bon", "uwo_0.5", 0.67), ("ppo", "single", 0.55), ("ppo", "wco", 0.63)]:
        f.write("%s,%s,%.4f,%.4f\n" % (src, obj, w, 0.015))
with open(os.path.join(RUN, "config.cfg"), "w") as f:
    f.write('run = { name = "run1"; seed = 1; };\nrm = { members = 5; label_noise = 0.25; };\n'
            'bon = { n_samples = 2048; objectives = ["single", "mean", "wco", "uwo"]; uwo_lambda = 0.5; };\n')

# ---- sweep1/sweep.csv -------------------------------------------------------------------------
SW = os.path.join(HERE, "sweep1")
os.makedirs(SW, exist_ok=True)
with open(os.path.join(SW, "sweep.csv"), "w") as f:
    f.write("point,rm.size.d_model,rm.size.n_layer,alpha_bon,beta_bon,alpha_rl,beta_rl,rm_params\n")
    for p, (c, l) in enumerate([(32, 2), (64, 2), (64, 4), (128, 4), (256, 4)]):
        params = 12 * l * c * c + 257 * c + 128 * c
        lp = math.log10(params)
        f.write("%d,%d,%d,%.5f,%.5f,%.5f,%.5f,%d\n" % (
            p, c, l, 0.6 + 0.15 * lp + rng.gauss(0, 0.01), 0.9 - 0.1 * lp + rng.gauss(0, 0.01),
            0.7 + 0.12 * lp + rng.gauss(0, 0.01), 0.95 - 0.11 * lp + rng.gauss(0, 0.01), params))
print("wrote", RUN, "and", SW)
