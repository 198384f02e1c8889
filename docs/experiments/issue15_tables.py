#!/usr/bin/env python3
"""Markdown tables and figures of the issue-15 experiments (docs/experiments/*.sh call it).

Usage: issue15_tables.py EXPERIMENT OUT_DIR [FIG_DIR]
EXPERIMENT: laplace | softmin | warm | diversity | ppo_beta. OUT_DIR holds the runs (runs/issue15);
figures go to FIG_DIR (default docs/figures next to this script). The markdown goes to stdout.

Every number is a mean over replicates with its two-sided 95% Student-t interval; a difference is
paired within a replicate (same run.seed: the same preference sample and label flips, the same
world) and called "unresolved" when its interval contains zero. Values are read from each
replicate's own files (rep<i>/bon.csv, uncertainty.csv, residual_corr.csv, rm_members.csv,
run.log) and, for PPO, from summary.csv (docs/statistics.md). Standard library and gnuplot only.
"""
import csv
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from student_t import t_quantile  # noqa: E402


def ci(vals):
    """(mean, lo, hi, n) over the finite values; lo = hi = nan below 2 values."""
    v = [x for x in vals if x is not None and math.isfinite(x)]
    n = len(v)
    if n == 0:
        return (math.nan, math.nan, math.nan, 0)
    m = sum(v) / n
    if n < 2:
        return (m, math.nan, math.nan, n)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    t = t_quantile(0.975, n - 1)  # exact at any n (a table to 11 values then 1.96 was too narrow beyond)
    h = t * sd / math.sqrt(n)
    return (m, m - h, m + h, n)


def fmt_ci(c, digits=2, verdict=False):
    m, lo, hi, n = c
    if not math.isfinite(m):
        return "–"
    s = f"{m:+.{digits}f}"
    if math.isfinite(lo):
        s += f" [{lo:+.{digits}f}, {hi:+.{digits}f}]"
    if verdict:
        s += " " + verdict_of(c)
    return s


def verdict_of(c):
    m, lo, hi, n = c
    if not math.isfinite(lo):
        return "(unresolved)"
    if lo > 0:
        return "**(> 0)**"
    if hi < 0:
        return "**(< 0)**"
    return "(unresolved)"


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def reps(run):
    out = []
    while os.path.isdir(os.path.join(run, "rep%d" % len(out))):
        out.append(os.path.join(run, "rep%d" % len(out)))
    return out


def complete(run, file="bon.csv"):
    r = reps(run)
    return r if r and all(os.path.exists(os.path.join(d, file)) for d in r) else []


def bon_at(run, n=None):
    """{objective: [gold at n per replicate]} (n = the largest n of rep0 when None), and n."""
    rs = complete(run)
    if not rs:
        return {}, n
    golds = {}
    for d in rs:
        rows = read_csv(os.path.join(d, "bon.csv"))
        nn = n if n is not None else max(int(r["n"]) for r in rows)
        for r in rows:
            if int(r["n"]) == nn:
                golds.setdefault(r["objective"], []).append(float(r["gold"]))
        n = nn
    return golds, n


def paired(golds, a, b):
    return [x - y for x, y in zip(golds.get(a, []), golds.get(b, []))]


def gnuplot(fig, script, size="900,560"):
    """Draws fig (a PNG of size pixels) with the gnuplot commands of script."""
    head = f"set terminal pngcairo noenhanced size {size}\nset output '{fig}'\n"
    try:
        subprocess.run(["gnuplot"], input=head + script, text=True, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"<!-- gnuplot failed: {e} -->")


def dat(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(" ".join("NaN" if (isinstance(x, float) and not math.isfinite(x)) else str(x) for x in r) + "\n")


def missing(run):
    return f"*Not run yet: `{run}` has no complete replicates (see the script).*\n"


# ---- (c) Laplace vs ensemble ----------------------------------------------------------------------

CPU_RM = re.compile(r"rm member (\d+): CPU time over its \d+ ranks?: training ([0-9.]+) s, Laplace posterior ([0-9.]+) s")
CPU_BON = re.compile(r"bon: CPU time over \d+ ranks?: members' scores ([0-9.]+) s, WARM ([0-9.]+) s, "
                     r"Laplace variances ([0-9.]+) s")


def costs(rep):
    """(mean member training, mean Laplace posterior, members' BoN scoring, BoN Laplace variances,
    k) in CPU seconds from one replicate's run.log (the stages' own timing)."""
    train, post, bon = {}, {}, None
    with open(os.path.join(rep, "run.log")) as f:
        for line in f:
            m = CPU_RM.search(line)
            if m:
                train[int(m.group(1))] = float(m.group(2))
                post[int(m.group(1))] = float(m.group(3))
            m = CPU_BON.search(line)
            if m:
                bon = (float(m.group(1)), float(m.group(3)))
    if not train or bon is None:
        return None
    # the log has the members whose first rank is the log's rank 0; k comes from rm_members.csv
    k = len({r["member"] for r in read_csv(os.path.join(rep, "rm_members.csv"))})
    return (sum(train.values()) / len(train), sum(post.values()) / len(post), bon[0], bon[1], k)


def laplace(out, figs):
    run = os.path.join(out, "laplace")
    rs = complete(run, "uncertainty.csv")
    print("# Laplace vs ensemble uncertainty: quality and cost (issue #15, item 6c)\n")
    print("The quickstart (members d64 L2 from scratch, 1,000 pairs, 25% label noise, k = 5) with "
          "`rm.laplace = true`, best-of-n on the world's 32 × 512 samples, "
          f"{len(rs)} replicates. Reproduce: `bash docs/experiments/laplace-quality.sh`.\n")
    if not rs:
        print(missing(run))
        return
    per = {}
    for d in rs:
        for r in read_csv(os.path.join(d, "uncertainty.csv")):
            per.setdefault((r["set"], r["source"]), []).append(float(r["spearman"]))
    sets = []
    for s, _ in per:
        if s not in sets:
            sets.append(s)
    sources = ["ensemble", "laplace", "both", "laplace_member"]
    print("## Spearman(uncertainty, |proxy − gold|)\n")
    print("Mean and 95% interval over replicates; a bold sign where the interval excludes zero. "
          "`ensemble` = between-member variance vs |mean − gold|; `laplace` = mean of the members' "
          "last-layer Laplace variances vs |mean − gold|; `both` = their sum; `laplace_member` = each "
          "member's Laplace variance vs its own |R_m − gold| (pooled). `pi_init` = all 16,384 samples; "
          "`bon_<n>` = per prompt the ⌈512/n⌉ samples with the highest ensemble mean "
          "(docs/uncertainty.md).\n")
    print("| set | " + " | ".join(sources) + " | laplace − ensemble (paired) |")
    print("|---|" + "---|" * (len(sources) + 1))
    plot = []
    for s in sets:
        cells = [fmt_ci(ci(per.get((s, src), [])), 3, True) for src in sources]
        d = [a - b for a, b in zip(per.get((s, "laplace"), []), per.get((s, "ensemble"), []))]
        print(f"| {s} | " + " | ".join(cells) + f" | {fmt_ci(ci(d), 3, True)} |")
        n = 1 if s == "pi_init" else int(s.split("_")[1])
        row = [n]
        for src in sources[:3]:
            m, lo, hi, _ = ci(per.get((s, src), []))
            row += [m, lo, hi]
        plot.append(row)
    print()
    # best-of-n objectives
    golds, n = bon_at(run)
    print(f"## Best-of-n at n = {n}: the Laplace objectives\n")
    print("| objective | gold [95% CI] | objective − single [95% CI] | wins |")
    print("|---|---|---|---|")
    for o in ["single", "mean", "wco", "uwo_0.5", "softmin_1", "laplace_uwo_0.5", "ens_laplace_0.5"]:
        if o not in golds:
            continue
        d = paired(golds, o, "single")
        w = "–" if o == "single" else f"{sum(x > 0 for x in d)}/{len(d)}"
        print(f"| {o} | {fmt_ci(ci(golds[o]))} | {'–' if o == 'single' else fmt_ci(ci(d), 2, True)} | {w} |")
    for a, b in (("laplace_uwo_0.5", "mean"), ("ens_laplace_0.5", "uwo_0.5")):
        if a in golds and b in golds:
            print(f"\n`{a}` − `{b}` (paired): {fmt_ci(ci(paired(golds, a, b)), 2, True)}")
    print()
    # cost
    c = [costs(d) for d in rs]
    c = [x for x in c if x]
    if c:
        k = c[0][4]
        train = [x[0] for x in c]
        post = [x[1] / x[0] for x in c]
        lvar = [x[3] / x[4] / x[0] for x in c]
        score = [x[2] / x[4] / x[0] for x in c]
        ens = [(x[4] - 1) * (1 + x[2] / x[4] / x[0]) for x in c]
        lap = [(x[1] + x[3] / x[4]) / x[0] for x in c]
        both = [e + x[4] * l for e, l, x in zip(ens, lap, c)]
        print("## Cost, relative to training one member\n")
        print("CPU seconds from the stages' own timing (`rm member m: CPU time …`, `bon: CPU time …` in each "
              "replicate's run.log; process CPU time, so the other jobs on the shared machine do not count). "
              f"One member's training (2 epochs over 1,000 pairs, with its per-epoch evaluation): "
              f"{fmt_ci(ci(train), 2)} CPU s. Ratios are per replicate, then averaged. The best-of-n times are "
              "summed over the replicate's ranks and include time spent waiting in collectives (MPI polls), so on "
              "2 ranks they are upper bounds; a replicate on 1 rank has none.\n")
        print("| item | CPU time / one member's training [95% CI] |")
        print("|---|---|")
        print(f"| Laplace posterior of one member's head (features of its pairs, Λ, 33 Cholesky factorizations for α) | {fmt_ci(ci(post), 3)} |")
        print(f"| Laplace variances of one member on the 16,384 best-of-n samples | {fmt_ci(ci(lvar), 3)} |")
        print(f"| one member's scores on the same samples | {fmt_ci(ci(score), 3)} |")
        print(f"| **ensemble variance** (k = {k}: k − 1 more members trained and scored) | {fmt_ci(ci(ens), 2)} |")
        print(f"| **Laplace variance of one model** (posterior + variances) | {fmt_ci(ci(lap), 3)} |")
        print(f"| **both** (ensemble + every member's Laplace) | {fmt_ci(ci(both), 2)} |")
        print()
    fig = os.path.join(figs, "laplace_quality.png")
    dat("/tmp/issue15_laplace.dat", plot)
    gnuplot(fig, f"""set title 'Spearman(uncertainty, |proxy - gold|): mean and 95% interval over {len(rs)} replicates'
set xlabel 'n (1 = all pi_init samples; n = top ceil(512/n) per prompt)'
set ylabel 'Spearman'
set logscale x 2
set key bottom left
set grid
set xzeroaxis lt -1
plot '/tmp/issue15_laplace.dat' u ($1*0.95):2:3:4 w yerrorlines lw 2 t 'ensemble variance', \
     '' u 1:5:6:7 w yerrorlines lw 2 t 'Laplace variance', \
     '' u ($1*1.05):8:9:10 w yerrorlines lw 2 t 'both'
""")
    print(f"![uncertainty quality](../figures/laplace_quality.png)\n")


# ---- (d) soft-minimum tau sweep ---------------------------------------------------------------------

def softmin(out, figs):
    run = os.path.join(out, "softmin")
    golds, n = bon_at(run)
    print("# Soft-minimum τ sweep, from `mean` (τ → ∞) to `wco` (τ → 0) (issue #15, item 6d)\n")
    print("Recomputed without training from the best-of-n scores of the laplace-quality run "
          "(`overopt bon-curves --softmin-tau …` on each replicate, then `overopt summary`; "
          "`bash docs/experiments/softmin-tau.sh`). Quickstart world, members from scratch, 25% label noise.\n")
    if not golds:
        print(missing(run))
        return
    taus = sorted((float(o.split("_", 1)[1]), o) for o in golds if o.startswith("softmin_"))
    R = len(golds["single"])
    print(f"## Best-of-n at n = {n} ({R} replicates)\n")
    print("| objective | τ | gold [95% CI] | objective − single | objective − mean |")
    print("|---|---|---|---|---|")
    rows = [("wco", "0 (limit)")] + [(o, f"{t:g}") for t, o in taus] + [("uwo_0.5", "≈ 1 (λ = 0.5)"), ("mean", "∞ (limit)")]
    plot = []
    for o, t in rows:
        if o not in golds:
            continue
        print(f"| {o} | {t} | {fmt_ci(ci(golds[o]))} | {fmt_ci(ci(paired(golds, o, 'single')), 2, True)} | "
              f"{'–' if o == 'mean' else fmt_ci(ci(paired(golds, o, 'mean')), 2, True)} |")
    for t, o in taus:
        m, lo, hi, _ = ci(paired(golds, o, "single"))
        plot.append([t, m, lo, hi])
    print()
    ref = {o: ci(paired(golds, o, "single"))[0] for o in ("mean", "wco")}
    fig = os.path.join(figs, "softmin_tau.png")
    dat("/tmp/issue15_softmin.dat", plot)
    gnuplot(fig, f"""set title 'Best-of-n at n = {n}: softmin_tau - single (paired), mean and 95% interval over {R} replicates'
set xlabel 'tau (log scale)'
set ylabel 'gold(objective) - gold(single)'
set logscale x
set grid
set key bottom right
set xzeroaxis lt -1
plot '/tmp/issue15_softmin.dat' u 1:2:3:4 w yerrorlines lw 2 t 'softmin_tau', \
     {ref['mean']} w l dt 2 lw 2 t 'mean (tau -> inf)', {ref['wco']} w l dt 3 lw 2 t 'wco (tau -> 0)'
""")
    print("![soft-minimum sweep](../figures/softmin_tau.png)\n")


# ---- (b) WARM across label noise --------------------------------------------------------------------

NOISES = [("0.0", "0%"), ("0.25", "25%"), ("0.4", "40%")]


def warm(out, figs):
    print("# WARM vs prediction ensembles across label noise (issue #15, item 6b)\n")
    print("Members fine-tune the world's pretrained d64 L2 trunk (`rm.init = pretrained`, WARM needs a "
          "shared initialization), k = 5, 1,000 pairs, best-of-n on the world's 32 × 512 samples; one run "
          "per label-noise level (`prefs.noise`), each with its replicates. `warm` = the reward model whose "
          "weights are the members' mean; `mean`/`wco`/`uwo_0.5` average their predictions. "
          "Reproduce: `bash docs/experiments/warm-noise.sh`.\n")
    objs = ["single", "mean", "wco", "uwo_0.5", "warm"]
    plot = []
    any_run = False
    for key, label in NOISES:
        run = os.path.join(out, "warm_noise" + key)
        golds, n = bon_at(run)
        if not golds:
            print(f"## {label} label noise\n\n" + missing(run))
            continue
        any_run = True
        R = len(golds["single"])
        print(f"## {label} label noise: best-of-n at n = {n} ({R} replicates)\n")
        print("| objective | gold [95% CI] | objective − single | warm − objective |")
        print("|---|---|---|---|")
        for o in objs:
            if o not in golds:
                continue
            print(f"| {o} | {fmt_ci(ci(golds[o]))} | {'–' if o == 'single' else fmt_ci(ci(paired(golds, o, 'single')), 2, True)} | "
                  f"{'–' if o == 'warm' else fmt_ci(ci(paired(golds, 'warm', o)), 2, True)} |")
        accs, waccs = [], []
        for d in complete(run):
            accs.append(members_stats(d)[0])
            with open(os.path.join(d, "run.log")) as f:
                m = re.findall(r"rm: WARM \(weight average of \d+ members\): clean test accuracy ([0-9.]+)", f.read())
            waccs.append(float(m[-1]) if m else math.nan)
        print(f"\nClean test accuracy: members (mean of k) {fmt_ci(ci(accs), 3)}, WARM {fmt_ci(ci(waccs), 3)}, "
              f"WARM − members {fmt_ci(ci([w - a for w, a in zip(waccs, accs)]), 3, True)}.\n")
        row = [float(key)]
        for o in ("warm", "mean", "wco"):
            m, lo, hi, _ = ci(paired(golds, o, "single"))
            row += [m, lo, hi]
        plot.append(row)
    if not any_run:
        return
    fig = os.path.join(figs, "warm_noise.png")
    dat("/tmp/issue15_warm.dat", plot)
    gnuplot(fig, f"""set title 'Best-of-n, n = 512: objective - single (paired), mean and 95% interval over replicates'
set xlabel 'label noise (fraction of training labels flipped)'
set ylabel 'gold(objective) - gold(single)'
set grid
set key top left
set xrange [-0.05:0.45]
set xzeroaxis lt -1
plot '/tmp/issue15_warm.dat' u ($1-0.01):2:3:4 w yerrorlines lw 2 t 'warm (weight average)', \
     '' u 1:5:6:7 w yerrorlines lw 2 t 'mean (prediction average)', \
     '' u ($1+0.01):8:9:10 w yerrorlines lw 2 t 'wco'
""")
    print("![WARM across label noise](../figures/warm_noise.png)\n")


# ---- (a) diversity x objective -----------------------------------------------------------------------

DIVERSITY = [("scratch", "laplace", "random trunks (`rm.init = scratch`; the quickstart)"),
             ("finetune", "warm_noise0.25", "one pretrained trunk, seeds and data order differ"),
             ("pretrain", "div_pretrain", "each member its own trunk pretrained from its own seed"),
             ("bootstrap", "div_bootstrap", "one pretrained trunk, bootstrap resample of the pairs"),
             ("pretrain_bootstrap", "div_pretrain_bootstrap", "own trunks and bootstrap resamples")]


def members_stats(rep):
    acc = {}
    for r in read_csv(os.path.join(rep, "rm_members.csv")):
        acc[r["member"]] = float(r["test_acc"])  # the last epoch wins
    res = [float(r["pearson"]) for r in read_csv(os.path.join(rep, "residual_corr.csv"))]
    return sum(acc.values()) / len(acc), sum(res) / len(res)


def diversity(out, figs):
    print("# Ensemble diversity × objective at 25% label noise (issue #15, item 6a)\n")
    print("k = 5 members d64 L2, 1,000 pairs with 25% of the labels flipped, best-of-n on the world's "
          "32 × 512 samples; every point shares the world and, replicate by replicate, the preference "
          "sample (same `run.seed`), so differences between points are paired by replicate too. "
          "Reproduce: `bash docs/experiments/diversity.sh` (the `finetune` point is warm-noise.sh's "
          "25% run, the `scratch` point laplace-quality.sh's run).\n")
    print("| diversity | members | clean test acc | residual corr. | single gold | mean − single | wco − single | uwo − single |")
    print("|---|---|---|---|---|---|---|---|")
    have = {}
    plot = []
    for i, (name, runname, what) in enumerate(DIVERSITY):
        run = os.path.join(out, runname)
        golds, n = bon_at(run)
        if not golds:
            print(f"| {name} | {what} | not run | | | | | |")
            continue
        rs = complete(run)
        ms = [members_stats(d) for d in rs if os.path.exists(os.path.join(d, "residual_corr.csv"))]
        have[name] = golds
        cells = [fmt_ci(ci(paired(golds, o, "single")), 2, True) for o in ("mean", "wco", "uwo_0.5")]
        print(f"| {name} | {what} | {fmt_ci(ci([m[0] for m in ms]), 3)} | {fmt_ci(ci([m[1] for m in ms]), 2)} | "
              f"{fmt_ci(ci(golds['single']))} | " + " | ".join(cells) + " |")
        row = [i]
        for o in ("mean", "wco", "uwo_0.5"):
            m, lo, hi, _ = ci(paired(golds, o, "single"))
            row += [m, lo, hi]
        plot.append(row)
    print("\nCaveat: the members' own trunks are world artifacts (`trunks` stage), shared by the replicates like "
          "Eisenstein et al.'s fixed pretraining seeds; the intervals cover the fine-tuning randomness (preference "
          "sample, label flips, head seeds, data order) given these four extra trunks, not a draw of new trunks.\n")
    print("\n(R = 3 replicates per point; n = 512; residual corr. = mean over member pairs of the Pearson "
          "correlation of z(proxy) − z(gold) on π_init's samples, residual_corr.csv.)\n")
    if "pretrain" in have and "finetune" in have:
        print("**Pretraining seed vs fine-tuning seed** (paired by replicate, n = 512):\n")
        print("| objective | pretrain − finetune [95% CI] |")
        print("|---|---|")
        for o in ("single", "mean", "wco", "uwo_0.5"):
            d = [a - b for a, b in zip(have["pretrain"].get(o, []), have["finetune"].get(o, []))]
            print(f"| {o} gold | {fmt_ci(ci(d), 2, True)} |")
        rc = {p: [members_stats(d) for d in complete(os.path.join(out, r))] for p, r in
              (("pretrain", "div_pretrain"), ("finetune", "warm_noise0.25"))}
        for j, what in ((1, "members' residual correlation"), (0, "members' clean test accuracy")):
            d = [a[j] - b[j] for a, b in zip(rc["pretrain"], rc["finetune"])]
            print(f"| {what} | {fmt_ci(ci(d), 3, True)} |")
        print()
    if not plot:
        return
    fig = os.path.join(figs, "diversity.png")
    dat("/tmp/issue15_div.dat", plot)
    labels = ", ".join(f"'{DIVERSITY[int(r[0])][0]}' {int(r[0])}" for r in plot)
    gnuplot(fig, f"""set title 'Best-of-n, n = 512, 25% label noise: objective - single (paired), 95% interval'
set ylabel 'gold(objective) - gold(single)'
set xtics ({labels})
set xrange [-0.5:{len(DIVERSITY) - 0.5}]
set grid
set key top left
set xzeroaxis lt -1
plot '/tmp/issue15_div.dat' u ($1-0.12):2:3:4 w yerrorbars pt 7 lw 2 t 'mean', \
     '' u 1:5:6:7 w yerrorbars pt 5 lw 2 t 'wco', \
     '' u ($1+0.12):8:9:10 w yerrorbars pt 9 lw 2 t 'uwo_0.5'
""")
    print("![diversity](../figures/diversity.png)\n")


# ---- (e) PPO KL-penalty sweep -------------------------------------------------------------------------

def ppo_beta(out, figs):
    run = os.path.join(out, "ppo_beta")
    print("# PPO KL-penalty sweep, β ∈ {0, 0.01, 0.05, 0.2} (issue #15, item 6e)\n")
    print("The quickstart's world and members (from scratch, 25% label noise), PPO for `single`, `mean`, "
          "`wco`, `uwo` at each β (`ppo.betas`); each β is its own summary method on its own √KL grid with "
          "its own `single` (docs/statistics.md). Reproduce: `bash docs/experiments/ppo-beta.sh`.\n")
    path = os.path.join(run, "summary.csv")
    if not os.path.exists(path):
        print(missing(run))
        return
    rows = read_csv(path)
    methods = []
    for r in rows:
        if r["method"].startswith("ppo") and r["method"] not in methods:
            methods.append(r["method"])
    print("| β | √KL at the grid's end | objective | gold [95% CI] | objective − single [95% CI] | wins |")
    print("|---|---|---|---|---|---|")
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        xmax = max(float(r["x"]) for r in mine)
        for r in mine:
            if float(r["x"]) != xmax:
                continue
            g = (float(r["gold_mean"]), float(r["gold_ci_lo"]), float(r["gold_ci_hi"]), 0)
            d = (float(r["diff_mean"]), float(r["diff_ci_lo"]), float(r["diff_ci_hi"]), 0)
            beta = m.replace("ppo_beta", "") if m != "ppo" else "0"
            print(f"| {beta} | {xmax:.2f} | {r['objective']} | {fmt_ci(g)} | "
                  f"{'–' if r['objective'] == 'single' else fmt_ci(d, 2, True)} | {r['wins']} |")
    print()
    fig = os.path.join(figs, "ppo_beta.png")
    plots = []
    for i, m in enumerate(methods):
        for o in ("single", "mean", "wco", "uwo"):
            pts = [(float(r["x"]), float(r["gold_mean"])) for r in rows if r["method"] == m and r["objective"] == o]
            if pts:
                f = f"/tmp/issue15_ppo_{i}_{o}.dat"
                dat(f, pts)
                plots.append((m, o, f))
    if not plots:
        return
    script = f"""set multiplot layout 2,2 title 'PPO: gold vs sqrt(KL), mean over replicates, per KL penalty beta'
set grid
set key top left
set xlabel 'sqrt(KL) (nats^0.5)'
set ylabel 'gold - gold(pi_init)'
"""
    for m in methods:
        mine = [p for p in plots if p[0] == m]
        script += f"set title '{m}'\nplot " + ", ".join(f"'{f}' u 1:2 w lp lw 2 t '{o}'" for _, o, f in mine) + "\n"
    script += "unset multiplot\n"
    gnuplot(fig, script, "1200,800")
    print("![PPO beta sweep](../figures/ppo_beta.png)\n")


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    what, out = argv[1], argv[2]
    figs = argv[3] if len(argv) > 3 else os.path.join(HERE, "..", "figures")
    fn = {"laplace": laplace, "softmin": softmin, "warm": warm, "diversity": diversity, "ppo_beta": ppo_beta}.get(what)
    if not fn:
        print(f"issue15_tables.py: unknown experiment '{what}'", file=sys.stderr)
        return 2
    fn(out, figs)
    print(f"Measured on an AMD EPYC (Zen 4, 2 cores shared with other jobs; OpenBLAS), overopt branch exp15. "
          f"Regenerate the tables with `python3 docs/experiments/issue15_tables.py {what} runs/issue15`.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
