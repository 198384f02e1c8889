# bench_ratios: docs/bench/ratios.py against files `overopt bench --out` really writes. One run
# of `overopt bench --quick --config tiny.cfg --out` (its JSON must carry the CPU, the kernel and
# each shape's three ratios), then copies of it with figures scaled by hand: the comparison must
# flag a drop beyond --drop and nothing within it, name a different CPU, tiles or mode, take each
# figure at its best over several rounds (refusing rounds of different modes), and refuse files
# without ratios (an older overopt's).
. "$(dirname "$0")/lib.sh" "$@"
ratios="$src/docs/bench/ratios.py"
"$overopt" bench --quick --config "$cfg" --out ref.json >bench.out 2>&1 || die "bench --out: $(tail -3 bench.out)"
python3 - <<'EOF' || die "the JSON bench wrote lacks what ratios.py reads"
import json
d = json.load(open("ref.json"))
assert d["cpu"] and d["blas_kernel"] and d["project_kernels"] and d["reps"] == 1 and d["max_new"] == 32, d
for s in d["shapes"]:
    for k in ("d_model", "n_layer", "n_ctx", "train_ratio", "sample_ratio", "score_ratio", "kv_gbps",
              "stream_gbps", "sample_roofline"):
        assert s.get(k, 0) > 0, (k, s)
EOF
# variant NAME FIGURE FACTOR [KEY VALUE]: ref.json with FIGURE of the first shape times FACTOR
variant() {
  python3 - "$@" <<'EOF'
import json, sys
name, fig, factor = sys.argv[1], sys.argv[2], float(sys.argv[3])
d = json.load(open("ref.json"))
d["shapes"][0][fig] *= factor
if len(sys.argv) > 5:
    d[sys.argv[4]] = sys.argv[5]
json.dump(d, open(name, "w"))
EOF
}
python3 "$ratios" ref.json ref.json >same.out; rc=$?
[ $rc = 0 ] || die "the same file twice: exit $rc, want 0: $(cat same.out)"
want_line same.out "^0 figure\(s\) dropped"
variant drop.json score_ratio 0.85
python3 "$ratios" ref.json drop.json >drop.out; rc=$?
[ $rc = 1 ] || die "scoring 15% lower: exit $rc, want 1: $(cat drop.out)"
want_line drop.out "score .*-15\.0%  DROP \(more than 6%\)"
[ "$(grep -c DROP drop.out)" = 1 ] || die "only the scoring figure dropped: $(cat drop.out)"
variant small.json train_ratio 0.97
python3 "$ratios" ref.json small.json >small.out || die "training 3% lower is within the default 6%: $(cat small.out)"
python3 "$ratios" ref.json small.json --drop 0.02 >small2.out && die "training 3% lower with --drop 0.02 should be flagged"
want_line small2.out "train .*-3\.0%  DROP"
variant cpu.json train_ratio 1.0 cpu "Another CPU"
python3 "$ratios" ref.json cpu.json >cpu.out || die "another CPU with equal ratios: $(cat cpu.out)"
want_line cpu.out "^warning: cpu differs: .* against 'Another CPU'"
variant tiles.json train_ratio 1.0 project_kernels "x86-64-v3, tiles: panel 24, attention 16 columns (edited)"
python3 "$ratios" ref.json tiles.json >tiles.out || die "other tiles with equal ratios: $(cat tiles.out)"
want_line tiles.out \
  "^warning: project_kernels differs: .* against 'x86-64-v3, tiles: panel 24, attention 16 columns \\(edited\\)'"
# several rounds of one build: each figure at its best; rounds of another mode are refused
variant low.json sample_ratio 0.8
python3 "$ratios" ref.json low.json >low.out; rc=$?
[ $rc = 1 ] || die "one round with sampling 20% lower: exit $rc, want 1: $(cat low.out)"
python3 "$ratios" ref.json low.json ref.json >best.out ||
  die "a low round and an equal one: the best is no drop: $(cat best.out)"
want_line best.out "^0 figure\(s\) dropped"
variant full.json sample_ratio 1.0 max_new 0
python3 "$ratios" ref.json ref.json full.json >mode.out 2>&1; rc=$?
[ $rc = 2 ] || die "combining a --quick round with a full one: exit $rc, want 2: $(cat mode.out)"
want_line mode.out "differ in max_new"
python3 "$ratios" ref.json full.json >modew.out || die "a full round against a --quick reference: $(cat modew.out)"
want_line modew.out "^warning: max_new differs"
python3 - <<'EOF'
import json
d = json.load(open("ref.json"))
for s in d["shapes"]:
    del s["score_ratio"]
json.dump(d, open("old.json", "w"))
EOF
python3 "$ratios" ref.json old.json >old.out 2>&1; rc=$?
[ $rc = 2 ] || die "a file without ratios: exit $rc, want 2"
want_line old.out "without score_ratio: written by an overopt older"
python3 "$ratios" ref.json missing.json >miss.out 2>&1; rc=$?
[ $rc = 2 ] || die "a missing file: exit $rc, want 2"
want_line miss.out "cannot read 'missing.json'"
exit $fail
