#!/bin/bash
# provenance_metrics: a tiny run on 2 ranks writes
# - provenance.json with the git commit (or null outside a checkout) and dirty flag, the command
#   line, one host per rank, the MPI/HDF5/libconfig/OpenBLAS/compiler versions, the corpus path and
#   content hash, the seeds and replicates, and a start/end time for every stage that ran;
# - config.json equal to `overopt check --json` of the same config and overrides;
# - metrics.jsonl: one JSON object per line with time, stage and step, from pretrain (loss), rm
#   (loss, acc) and ppo (every column of ppo_<tag>.csv), steps 0.. in order per stage;
# - run.log lines that start with an ISO 8601 UTC timestamp, while the console's do not;
# - `overopt plan` with rates from `overopt bench --out` and a calibration on this run.
# Usage (oo_script_test): provenance_metrics.sh OVEROPT SOURCE_DIR SCRATCH_DIR
. "$(dirname "$0")/lib.sh" "$@"
py=/usr/bin/python3 # Debian's python (json only here)
sets=(--set "run.out_dir=$scratch/runs" --set 'ppo.objectives=["single"]')
mpirun --oversubscribe -n 2 "$overopt" run "$src/tests/configs/tiny.cfg" "${sets[@]}" >run.out 2>&1 ||
  { tail -20 run.out; echo "FAILED: overopt run"; exit 1; }
d=$scratch/runs/tiny
"$overopt" check "$src/tests/configs/tiny.cfg" "${sets[@]}" --json >check.json || bad "check --json"

$py - "$d" check.json <<'PY' || fail=1
import json, sys
d, check = sys.argv[1], sys.argv[2]
bad = []
p = json.load(open(d + "/provenance.json"))
for k in ["overopt_version", "git_commit", "git_dirty", "command_line", "started", "world_size", "hosts",
          "libraries", "corpus", "world_seed", "seed", "replicates", "stages"]:
    if k not in p: bad.append("provenance.json lacks " + k)
if p.get("git_commit") is not None and len(p["git_commit"]) != 40: bad.append("git_commit %r" % p["git_commit"])
if p.get("git_dirty") not in (True, False, None): bad.append("git_dirty %r" % p.get("git_dirty"))
if "run" not in p.get("command_line", []): bad.append("command_line %r" % p.get("command_line"))
if len(p.get("hosts", [])) != 2 or p.get("world_size") != 2: bad.append("hosts %r" % p.get("hosts"))
lib = p.get("libraries", {})
for k in ["mpi", "hdf5", "libconfig", "openblas", "compiler"]:
    if not lib.get(k): bad.append("libraries lacks " + k)
if not lib.get("mpi", "").startswith("Open MPI"): bad.append("mpi %r" % lib.get("mpi"))
c = p.get("corpus", {})
if not c.get("path") or len(c.get("fnv1a64") or "") != 16 or not c.get("bytes"): bad.append("corpus %r" % c)
if (p.get("world_seed"), p.get("seed"), p.get("replicates")) != (7, 7, 1): bad.append("seeds %r" % [p.get("world_seed"), p.get("seed")])
names = [s["stage"] for s in p.get("stages", [])]
for st in ["pretrain", "gold", "bon_samples", "prefs", "rm", "bon", "ppo", "fit", "report"]:
    if st not in names: bad.append("stages lack " + st)
for s in p.get("stages", []):
    if not (s["start"] <= s["end"] and s["status"] == "done"): bad.append("stage %r" % s)
cfg = json.load(open(d + "/config.json"))
if cfg != json.load(open(check)): bad.append("config.json differs from overopt check --json")
if cfg["run"]["world_seed"] != 7 or cfg["ppo"]["objectives"] != ["single"] or cfg["rm"]["size"]["d_model"] != 32:
    bad.append("config.json values %r" % cfg["run"])
rows = [json.loads(l) for l in open(d + "/metrics.jsonl")]
by = {}
for r in rows:
    for k in ["time", "unix", "stage", "step"]:
        if k not in r: bad.append("metrics row lacks %s: %r" % (k, r)); break
    by.setdefault(r["stage"], []).append(r)
pre = [s for s in by if s.startswith("pretrain")]
rm = [s for s in by if s.startswith("rm")]
ppo = [s for s in by if s.startswith("ppo")]
if not (pre and rm and ppo): bad.append("stages in metrics.jsonl: %r" % sorted(by))
for s, rs in by.items():
    if [r["step"] for r in rs] != list(range(len(rs))): bad.append("%s: steps %r" % (s, [r["step"] for r in rs]))
if pre and not all("loss" in r for r in by[pre[0]]): bad.append("pretrain rows lack loss")
if rm and not all("loss" in r and "acc" in r for r in by[rm[0]]): bad.append("rm rows lack loss/acc")
if ppo:
    csv = open(d + "/ppo_single.csv").readline().strip().split(",")
    missing = [k for k in csv if k != "step" and k not in by[ppo[0]][0]]
    if missing: bad.append("ppo rows lack csv columns %r" % missing)
    if len(by[ppo[0]]) != 2: bad.append("ppo rows %d, want 2 (ppo.steps)" % len(by[ppo[0]]))
print("provenance: %d stages, %d hosts; metrics: %d rows in %d streams" % (len(names), len(p.get("hosts", [])), len(rows), len(by)))
for b in bad: print("FAILED:", b)
sys.exit(1 if bad else 0)
PY

grep -vqE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z ' "$d/run.log" && bad "run.log has lines without a timestamp: $(grep -vE '^[0-9]{4}-' "$d/run.log" | head -2)"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' run.out && bad "console lines carry timestamps"
grep -q "^== pretrain" run.out || bad "console lacks '== pretrain'"

# a rerun appends (stages up to date: nothing new in metrics, provenance rewritten)
n1=$(wc -l <"$d/metrics.jsonl")
mpirun --oversubscribe -n 2 "$overopt" run "$src/tests/configs/tiny.cfg" "${sets[@]}" >rerun.out 2>&1 || bad "rerun"
[ "$(wc -l <"$d/metrics.jsonl")" -eq "$n1" ] || bad "an up-to-date rerun added metrics rows"
grep -q '"status": "up to date"' "$d/provenance.json" || bad "rerun's provenance.json lacks 'up to date' stages"

# overopt plan: every stage, from bench rates and a calibration on this run (--calibrate)
"$overopt" bench --quick --config "$src/tests/configs/tiny.cfg" --out "$scratch/bench.json" >bench.out 2>&1 || bad "bench --out: $(tail -2 bench.out)"
"$overopt" plan "$src/tests/configs/tiny.cfg" -n 2 --bench "$scratch/bench.json" --calibrate "$d" >plan.out 2>&1 || bad "plan --calibrate: $(tail -2 plan.out)"
for st in pretrain gold bon_samples prefs rm bon ppo total; do grep -q "^| $st |" plan.out || bad "plan lacks the $st row"; done
$py -c 'import json, sys; c = json.load(open(sys.argv[1])); assert all(c[k] > 0 for k in ["pretrain", "rm", "ppo"]), c' \
  "$scratch/bench.json.calib.json" || bad "calibration file"
"$overopt" plan "$src/configs/paper-scale.cfg" -n 64 --bench "$scratch/bench.json" >paper.out 2>&1 || bad "plan paper-scale"
grep -q "stage efficiencies from" paper.out || bad "plan did not use the calibration"

[ $fail -eq 0 ] && echo "provenance_metrics: all checks passed"
exit $fail
