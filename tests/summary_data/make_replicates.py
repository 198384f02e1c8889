#!/usr/bin/env python3
"""Writes synthetic replicates OUT/rep0 .. rep<R-1> for `overopt summary` (deterministic).

usage: python3 make_replicates.py OUT [R]        (R defaults to 4)

Each replicate holds the per-run CSVs of src/report/report.h: bon.csv (single, mean, wco,
uwo_0.5 and member_<j> rows), ppo_single.csv, ppo_wco.csv, ppo_single_beta0.05.csv,
ppo_wco_beta0.05.csv and fits.csv. The world is made so that the effect is real where it should
be: single peaks and falls, wco keeps gold high (its advantage resolved at R = 4), and mean's
advantage is small beside the replicate spread (unresolved). PPO evaluation KL is not monotone
in the step and each replicate reaches a different largest KL, so the common grid and the
running-maximum interpolation are exercised; the step-0 evaluation gold is not 0, so the
origin subtraction is too. One replicate's PPO fit has a NaN d_star (fits_summary counts only
finite values).
"""
import math
import os
import random
import sys

OUT = sys.argv[1]
R = int(sys.argv[2]) if len(sys.argv) > 2 else 4
NS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
BON = {"single": (1.00, 0.40), "mean": (1.00, 0.38), "wco": (0.90, 0.12), "uwo_0.5": (0.95, 0.16)}
PPO = {"single": (1.10, 0.70), "wco": (0.95, 0.20)}
HEADER = ("step,kl,kl_k1,kl_k2,kl_k3,proxy,gold,ens_var,entropy,clipfrac,vf_loss,"
          "eval_kl,eval_proxy,eval_gold\n")


def fmt(v):
    return "NaN" if v != v else "%.6f" % v


for rep in range(R):
    rng = random.Random(1000 + rep)
    d = os.path.join(OUT, "rep%d" % rep)
    os.makedirs(d, exist_ok=True)
    shift = rng.gauss(0, 0.08)  # replicate effect shared by its objectives (pairing helps)
    fits = []
    with open(os.path.join(d, "bon.csv"), "w") as f:
        f.write("objective,n,kl,proxy,gold,gold_se\n")
        curves = list(BON.items()) + [("member_%d" % j, (1.0, 0.35 + 0.02 * j)) for j in range(3)]
        for obj, (a, b) in curves:
            jitter = rng.gauss(0, 0.10 if obj == "mean" else 0.03)
            for n in NS:
                kl = math.log(n) - (n - 1) / n
                x = math.sqrt(kl)
                gold = x * (a - b * x) + (shift + jitter) * x + (rng.gauss(0, 0.02) if n > 1 else 0.0)
                f.write("%s,%d,%.6f,%.6f,%.6f,%.6f\n" % (obj, n, kl, 1.3 * x, gold, 0.015))
            if not obj.startswith("member_"):
                fits.append(("bon", obj, "bon", a + shift + rng.gauss(0, 0.02), b + rng.gauss(0, 0.01)))
    for beta_tag, scale in (("", 1.0), ("_beta0.05", 0.6)):
        for obj, (a, b) in PPO.items():
            reach = scale * (0.16 + 0.02 * rep + (0.01 if obj == "wco" else 0.0))  # KL per step
            origin = rng.gauss(0.05, 0.02)
            with open(os.path.join(d, "ppo_%s%s.csv" % (obj, beta_tag)), "w") as f:
                f.write(HEADER)
                for step in range(0, 41):
                    kl = reach * step + (rng.gauss(0, 0.05) if step else 0.0)
                    row = [step, kl, kl, kl, kl, 1.2 * math.sqrt(max(kl, 0)), 0.0, 0.02, 2.0, 0.05, 0.1]
                    if step % 4 == 0:
                        # evaluation KL wobbles: a dip of up to 0.35 makes it non-monotone
                        ekl = max(0.0, reach * step - (0.35 if step in (12, 28) else 0.0)
                                  + (rng.gauss(0, 0.03) if step else 0.0))
                        x = math.sqrt(ekl)
                        g = (x * (a - b * math.log(x)) if x > 0 else 0.0) + shift * x
                        g += origin + (rng.gauss(0, 0.02) if step else 0.0)
                        row += [ekl, 1.2 * x, g]
                    else:
                        row += [float("nan")] * 3
                    f.write(",".join("%d" % v if i == 0 else fmt(v) for i, v in enumerate(row)) + "\n")
            fits.append(("ppo", obj + beta_tag, "rl", a + shift + rng.gauss(0, 0.03), b + rng.gauss(0, 0.02)))
    # uncertainty.csv (issue #15): Spearman of each source per set; rep2 has a NaN (a constant
    # uncertainty), which uncertainty_summary.csv leaves out of its count
    with open(os.path.join(d, "uncertainty.csv"), "w") as f:
        f.write("source,set,n,samples,spearman\n")
        for k, src in enumerate(("ensemble", "laplace", "both")):
            for n in (1,) + tuple(NS[1:4]):
                rho = 0.1 * k + 0.3 / n + rng.gauss(0, 0.05)
                if rep == 2 and src == "laplace" and n == 1:
                    rho = float("nan")
                f.write("%s,%s,%d,%d,%s\n" % (src, "pi_init" if n == 1 else "bon_%d" % n, n, 4096 // n, fmt(rho)))
    with open(os.path.join(d, "fits.csv"), "w") as f:
        f.write("source,curve,form,alpha,beta,r2,d_star,gold_star\n")
        for src, curve, form, a, b in fits:
            if form == "bon":
                ds, gs = a / (2 * b), a * a / (4 * b)
            else:
                ds = math.exp(a / b - 1)
                gs = b * ds
            if rep == 1 and curve == "wco":
                ds = gs = float("nan")  # a fit without a peak
            f.write("%s,%s,%s,%.6f,%.6f,%.6f,%s,%s\n" % (src, curve, form, a, b, 0.99,
                                                      "nan" if ds != ds else "%.6f" % ds,
                                                      "nan" if gs != gs else "%.6f" % gs))
print("wrote %d replicates under %s" % (R, OUT))
