#!/usr/bin/env python3
"""pool.py: pool the replicates of several runs of one world into one run directory, then
summarize them (overopt summary) and print the tables (summary_table.py).

Usage: pool.py OUT RUN_DIR [RUN_DIR ...] [--overopt PATH] [--no-summary]

Each RUN_DIR is a run directory (config.json, rep0 .. rep<R-1>, R = its run.replicates). The runs
must be the same experiment: their configs may differ only in run.seed, run.replicates and
run.out_dir, and their replicate seeds (run.seed .. run.seed + R - 1) must not overlap, or one
replicate would count twice. OUT must not exist; it receives the first run's config.json,
config.cfg and provenance.json, the replicates renumbered rep0, rep1, ... in the order given
(hard links where the file system allows, else copies), and pooled_from.csv (OUT replicate,
source directory, source replicate, seed). Then `overopt summary OUT` (the binary: --overopt, or
build/overopt of this repository) writes OUT/summary.csv, and summary_table.py prints it.
--no-summary stops after the directory is made.

Used for docs/experiments/teacher-world.md (a second set of 10 replicates, run.seed 101)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FREE_KEYS = {"run.seed", "run.replicates", "run.out_dir"}


def die(msg):
    print(f"pool.py: {msg}", file=sys.stderr)
    sys.exit(1)


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def load_run(path):
    cfg_path = os.path.join(path, "config.json")
    if not os.path.isfile(cfg_path):
        die(f"{path}: no config.json (is it a run directory, i.e. OUT_DIR/NAME?)")
    try:
        with open(cfg_path) as f:
            cfg = flat(json.load(f))
    except (OSError, ValueError) as e:
        die(f"{cfg_path}: unreadable ({e})")
    for key in ("run.seed", "run.replicates"):
        if not isinstance(cfg.get(key), int):
            die(f"{cfg_path}: no integer {key}")
    reps = cfg["run.replicates"]
    for r in range(reps):
        if not os.path.isdir(os.path.join(path, f"rep{r}")):
            die(f"{path}: run.replicates is {reps} but rep{r} is missing (finish the run first: "
                "rerunning its command continues it)")
    return cfg


def copy_tree(src, dst):
    try:
        shutil.copytree(src, dst, copy_function=os.link)
    except OSError:
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.copytree(src, dst)


def fill(out, runs, cfgs):
    """The pooled directory's contents; returns the replicate count."""
    for name in ("config.json", "config.cfg", "provenance.json"):
        if os.path.isfile(os.path.join(runs[0], name)):
            shutil.copy(os.path.join(runs[0], name), os.path.join(out, name))
    k = 0
    with open(os.path.join(out, "pooled_from.csv"), "w") as f:
        f.write("replicate,source,source_replicate,seed\n")
        for r, c in zip(runs, cfgs):
            for i in range(c["run.replicates"]):
                copy_tree(os.path.join(r, f"rep{i}"), os.path.join(out, f"rep{k}"))
                f.write(f"{k},{os.path.abspath(r)},{i},{c['run.seed'] + i}\n")
                k += 1
    return k


def main(argv):
    args, overopt, summary = [], os.path.join(REPO, "build", "overopt"), True
    i = 0
    while i < len(argv):
        if argv[i] == "--overopt" and i + 1 < len(argv):
            overopt = argv[i + 1]
            i += 2
            continue
        if argv[i] == "--no-summary":
            summary = False
        elif argv[i].startswith("-"):
            die(f"unknown option {argv[i]} (usage: pool.py OUT RUN_DIR [RUN_DIR ...] [--overopt PATH] "
                "[--no-summary])")
        else:
            args.append(argv[i])
        i += 1
    if len(args) < 3:
        die("usage: pool.py OUT RUN_DIR [RUN_DIR ...] [--overopt PATH] [--no-summary] (at least two runs)")
    out, runs = args[0], args[1:]
    if os.path.exists(out):
        die(f"{out} exists; pool into a new directory (nothing was written)")
    cfgs = [load_run(r) for r in runs]
    first = cfgs[0]
    for r, c in zip(runs[1:], cfgs[1:]):
        diff = sorted(k for k in set(first) | set(c) if k not in FREE_KEYS and first.get(k) != c.get(k))
        if diff:
            shown = ", ".join(f"{k} ({first.get(k)!r} in {runs[0]}, {c.get(k)!r} in {r})" for k in diff[:5])
            die(f"{r} is not the same experiment as {runs[0]}: {shown}; only run.seed, run.replicates and "
                "run.out_dir may differ")
    seen = {}
    for r, c in zip(runs, cfgs):
        for s in range(c["run.seed"], c["run.seed"] + c["run.replicates"]):
            if s in seen:
                die(f"seed {s} is a replicate of both {seen[s]} and {r}: it would count twice (give the "
                    "second run a run.seed past the first's seeds)")
            seen[s] = r
    # built in a hidden directory beside OUT and renamed at the end: a failure leaves no OUT
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".pool-")
    try:
        k = fill(tmp, runs, cfgs)
        os.rename(tmp, out)
    except (OSError, shutil.Error) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        die(f"copying the replicates into {out} failed ({e}); nothing was written")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"pool.py: {out}: {k} replicates from {len(runs)} runs")
    if not summary:
        return 0
    rc = subprocess.run([overopt, "summary", out, "--quiet"]).returncode
    if rc != 0:
        die(f"overopt summary {out} failed (exit {rc})")
    return subprocess.run([sys.executable, os.path.join(HERE, "summary_table.py"), out]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
