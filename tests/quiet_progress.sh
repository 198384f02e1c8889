#!/usr/bin/env bash
# Progress lines come from rank 0 only and say step/total, rate and ETA; --quiet silences them
# on the terminal while the run's log file still records them. A size mismatch between a proxy
# and its pretrained LM is refused naming the file.
. "$(dirname "$0")/lib.sh" "$@"
common=(--set pretrain.steps=6 --set pretrain.eval_every=3 --set rm.size.d_model=16)

mpirun -n 2 "$overopt" stage pretrain "$cfg" --set run.out_dir=loud "${common[@]}" > loud.out 2> loud.err || bad "loud run failed: $(tail -3 loud.err)"
grep -q "pretrain .* 6/6 (100%) .* tok/s ETA 00:00" loud.out || bad "no final progress line with step/total, rate and ETA"
grep -q "^\[rank 1\]" loud.out loud.err && bad "rank 1 printed progress or info lines"
n_final=$(grep -c "6/6 (100%)" loud.out)
[ "$n_final" -eq 2 ] || bad "expected one final progress line per LM (2), got $n_final: duplicated by ranks?"

mpirun -n 2 "$overopt" stage pretrain "$cfg" --set run.out_dir=quiet "${common[@]}" --quiet > quiet.out 2> quiet.err || bad "quiet run failed: $(tail -3 quiet.err)"
[ ! -s quiet.out ] || bad "--quiet printed to stdout: $(head -3 quiet.out)"
log=$(ls quiet/*/run.log 2>/dev/null | head -1)
[ -n "$log" ] && grep -q "6/6 (100%)" "$log" || bad "--quiet run's run.log lacks the progress lines"

# rm.size that does not match the pretrained LM of that name: rename the file to pose as it.
d=$(ls -d loud/*/ | head -1)
cp "$d"lm_d32L1H2.h5 "$d"lm_d16L1H2.h5 || bad "expected lm_d32L1H2.h5 (policy) in $d"
mpirun -n 1 "$overopt" stage gold "$cfg" --set run.out_dir=loud "${common[@]}" > /dev/null 2>&1
mpirun -n 1 "$overopt" stage prefs "$cfg" --set run.out_dir=loud "${common[@]}" > /dev/null 2>&1
timeout 120 mpirun -n 2 "$overopt" stage rm "$cfg" --set run.out_dir=loud "${common[@]}" > rm.out 2> rm.err
rc=$?
[ $rc -ne 0 ] || bad "rm stage accepted an LM of the wrong size"
[ $rc -ne 124 ] || bad "rm stage hung on an LM of the wrong size"
grep -q "rerun the pretrain stage" rm.err rm.out || bad "size mismatch message missing: $(tail -3 rm.err)"
[ $fail = 0 ] && echo "quiet_progress: ALL PASSED"
exit $fail
