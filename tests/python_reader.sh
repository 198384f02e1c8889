#!/bin/bash
# python_reader: python/overopt_reader.py with Debian's python3-numpy and python3-h5py
# (/usr/bin/python3; pandas is used when present, not needed) loads in one call
# - a run: bon (bon.csv), bon_h5 (bon.h5 via h5py, same curves as bon.csv), ppo (one tag per
#   objective), fits, rm_members, metrics (metrics.jsonl), config and provenance;
# - a run with 2 replicates: the same tables with a replicate column holding 0 and 1;
# - a sweep (tests/configs/tiny_sweep.cfg, 3 points): tables with a point column 0..2 and sweep.csv;
# and the README's five-line example runs as printed.
# Usage (oo_script_test): python_reader.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
py=/usr/bin/python3
$py -c 'import numpy, h5py' 2>/dev/null || { echo "FAILED: /usr/bin/python3 lacks numpy or h5py: apt-get install python3-numpy python3-h5py"; exit 1; }
one=(--set 'ppo.objectives=["single", "mean"]')
mpirun --oversubscribe -n 2 "$overopt" run "$cfg" "${one[@]}" --set "run.out_dir=$scratch/one" >one.log 2>&1 || { tail one.log; bad "run"; }
mpirun --oversubscribe -n 2 "$overopt" run "$cfg" "${one[@]}" --set "run.out_dir=$scratch/reps" --set run.replicates=2 \
  --until fit >reps.log 2>&1 || { tail reps.log; bad "run with replicates"; }
mpirun --oversubscribe -n 2 "$overopt" sweep "$src/tests/configs/tiny_sweep.cfg" --set "run.out_dir=$scratch/sw" \
  >sweep.log 2>&1 || { tail sweep.log; bad "sweep"; }

PYTHONPATH=$src/python $py - "$scratch" <<'PY' || fail=1
import sys, numpy as np
import overopt_reader as oo
s = sys.argv[1]
bad = []
def col(t, k): return np.asarray(t[k])
def need(r, names):
    for n in names:
        if n not in r: bad.append("%s: no table %s (has %r)" % (r.kind, n, r.tables()))

r = oo.load(s + "/one/tiny")
need(r, ["bon", "bon_h5", "ppo", "fits", "rm_members", "metrics"])
if r.kind != "run": bad.append("kind %r" % r.kind)
if "bon" in r and "bon_h5" in r:
    b, h = r["bon"], r["bon_h5"]
    m = col(b, "objective") == "mean"; mh = col(h, "objective") == "mean"
    if not np.allclose(col(b, "gold")[m], col(h, "gold")[mh], rtol=1e-5): bad.append("bon.csv and bon.h5 mean curves differ")
if "ppo" in r and sorted(set(col(r["ppo"], "tag"))) != ["mean", "single"]: bad.append("ppo tags %r" % set(col(r["ppo"], "tag")))
if not r.config or r.config["run"]["name"] != "tiny": bad.append("config %r" % r.config)
if not r.provenance or "stages" not in r.provenance: bad.append("provenance")

r = oo.load(s + "/reps/tiny")
need(r, ["bon", "ppo", "rm_members", "metrics"])
if r.kind != "replicates": bad.append("kind %r" % r.kind)
for t in ["bon", "ppo", "rm_members"]:
    if t in r and sorted(set(col(r[t], "replicate"))) != [0.0, 1.0]: bad.append("%s replicates %r" % (t, set(col(r[t], "replicate"))))
if "rm_members" in r and len(col(r["rm_members"], "member")) != 4: bad.append("rm_members rows %d, want 2 members x 2 replicates" % len(col(r["rm_members"], "member")))

r = oo.load(s + "/sw/tiny_sweep")
need(r, ["bon", "fits", "sweep"])
if r.kind != "sweep": bad.append("kind %r" % r.kind)
if "bon" in r and sorted(set(col(r["bon"], "point"))) != [0.0, 1.0, 2.0]: bad.append("sweep points %r" % set(col(r["bon"], "point")))
if "sweep" in r and len(col(r["sweep"], "point")) != 3: bad.append("sweep.csv rows")
print("python_reader: run, replicates and sweep loaded (pandas: %s)" % (oo.pd is not None))
for b in bad: print("FAILED:", b)
sys.exit(1 if bad else 0)
PY

# the README's example, as printed (python block after 'import overopt_reader'), on the run above
sed -n '/^```python$/,/^```$/p' "$src/README.md" | sed '1d;$d' | grep -q overopt_reader || bad "README has no python example with overopt_reader"
sed -n '/^```python$/,/^```$/p' "$src/README.md" | sed '1d;$d' | sed "s|runs/quickstart|$scratch/one/tiny|; s|sys.path.insert(0, \"python\")|sys.path.insert(0, \"$src/python\")|" >example.py
[ "$(wc -l <example.py)" -le 6 ] || bad "README example has $(wc -l <example.py) lines"
$py example.py >example.out 2>&1 || { cat example.out; bad "README example failed"; }
cat example.out

[ $fail -eq 0 ] && echo "python_reader: all checks passed"
exit $fail
