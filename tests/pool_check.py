#!/usr/bin/env python3
"""pool_check: docs/experiments/pool.py on made-up run directories (no summary):
  - two runs of 3 and 2 replicates (run.seed 1 and 101) pool into rep0..rep4 in the order given,
    each replicate's files the source's, and pooled_from.csv names every source and seed;
  - bad input, each a non-zero exit, a message naming the problem, and no OUT written: configs
    that differ in a key other than run.seed/replicates/out_dir (the key is named), overlapping
    replicate seeds (the seed is named), a missing replicate directory, an existing OUT, a
    replicate with a file that cannot be copied (no OUT and no partial directory left).
Usage: pool_check.py SOURCE_DIR
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

script = os.path.join(sys.argv[1], "docs", "experiments", "pool.py")
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAILED: " + msg)


def make_run(root, name, seed, reps, gold_kind="teacher", made=None):
    d = os.path.join(root, name)
    os.makedirs(d)
    cfg = {"run": {"name": "quickstart", "out_dir": root, "seed": seed, "replicates": reps, "world_seed": 1234},
           "gold": {"kind": gold_kind}}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    for r in range(reps if made is None else made):
        os.makedirs(os.path.join(d, f"rep{r}"))
        with open(os.path.join(d, f"rep{r}", "bon.csv"), "w") as f:
            f.write(f"{name} replicate {r}\n")
    return d


def run(args):
    p = subprocess.run([sys.executable, script] + args + ["--no-summary"], capture_output=True, text=True)
    print(p.stdout + p.stderr, end="")
    return p


with tempfile.TemporaryDirectory() as tmp:
    a = make_run(tmp, "a", 1, 3)
    b = make_run(tmp, "b", 101, 2)
    out = os.path.join(tmp, "pooled")
    p = run([out, a, b])
    if p.returncode != 0:
        fail(f"pooling two good runs exited {p.returncode}")
    expect = [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
    for k, (src, r) in enumerate(expect):
        path = os.path.join(out, f"rep{k}", "bon.csv")
        got = open(path).read() if os.path.isfile(path) else None
        if got != f"{src} replicate {r}\n":
            fail(f"rep{k}: expected {src}'s rep{r}, found {got!r}")
    if os.path.isdir(os.path.join(out, "rep5")):
        fail("a sixth replicate appeared")
    rows = list(csv.DictReader(open(os.path.join(out, "pooled_from.csv"))))
    seeds = [int(row["seed"]) for row in rows]
    if seeds != [1, 2, 3, 101, 102] or [os.path.basename(row["source"]) for row in rows] != ["a"] * 3 + ["b"] * 2:
        fail(f"pooled_from.csv: {rows}")
    if json.load(open(os.path.join(out, "config.json")))["run"]["seed"] != 1:
        fail("OUT/config.json is not the first run's")

    def bad(args, needle, what):
        target = args[0]
        p = run(args)
        if p.returncode == 0:
            fail(f"{what}: exit 0")
        if needle not in p.stderr:
            fail(f"{what}: the message does not name {needle!r}")
        if what != "existing OUT" and os.path.exists(target):
            fail(f"{what}: {target} was written")

    c = make_run(tmp, "c", 201, 2, gold_kind="random")
    bad([os.path.join(tmp, "o1"), a, c], "gold.kind", "a different gold")
    d = make_run(tmp, "d", 3, 2)
    bad([os.path.join(tmp, "o2"), a, d], "seed 3", "overlapping seeds")
    e = make_run(tmp, "e", 301, 3, made=2)
    bad([os.path.join(tmp, "o3"), a, e], "rep2 is missing", "a missing replicate")
    bad([out, a, b], "exists", "existing OUT")
    # a copy that fails midway (the disk filling up, say): pool.py's copy_tree fails on the fourth
    # replicate; no OUT and no partial directory may be left, and the message says so
    sys.path.insert(0, os.path.dirname(script))
    import pool  # noqa: E402
    real, calls = pool.copy_tree, []

    def failing(src, dst):
        calls.append(src)
        if len(calls) == 4:
            raise OSError(28, "No space left on device", dst)
        real(src, dst)

    pool.copy_tree = failing
    o4 = os.path.join(tmp, "o4")
    code = None
    try:
        pool.main([o4, a, b, "--no-summary"])
    except SystemExit as e:
        code = e.code
    if code in (None, 0):
        fail(f"a copy failing midway: exit {code}")
    if os.path.exists(o4) or [n for n in os.listdir(tmp) if n.startswith(".pool-")]:
        fail(f"a copy failing midway left {os.listdir(tmp)}")

print("pool_check: %s" % ("ok" if fails == 0 else f"{fails} failure(s)"))
sys.exit(1 if fails else 0)
