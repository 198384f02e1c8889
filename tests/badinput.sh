#!/usr/bin/env bash
# badinput (#12): a generated corpus of bad inputs, each of which overopt must refuse cleanly.
# Usage: badinput.sh OVEROPT SOURCE_DIR SCRATCH_DIR BADH5
#
# It writes >= 60 bad configs (out-of-range, wrapped 64-bit, wrong-typed, unknown and
# cross-key-inconsistent values, broken sweeps and includes, configs beyond the memory limit,
# and configs that `check` accepts but whose corpus or gold checkpoint cannot be used) and
# >= 30 bad HDF5 files (NaN/inf weights, scores and attributes, wrong shapes and types, missing
# datasets and attributes, headers claiming terabytes, truncated, empty and non-HDF5 files),
# made by the C helper badh5 from the artifacts of one good tiny run. Each case runs through
# `check`, `sample`, `score`, `bon-curves` or one stage, and must
#   - exit non-zero (exit 0 counts as "silent"),
#   - within TIME_LIMIT seconds (killed by timeout: "hang"),
#   - without a signal, a sanitizer report or an internal fatal error such as out of memory
#     ("crash"),
#   - with a message naming the key, dataset, attribute or file (else "unclear").
# The counts are printed per class; the test fails unless every case is a clean error.
# Running it with another overopt binary (e.g. an older build) measures that build.
. "$(dirname "$0")/lib.sh" "$@"
BADH5=$4
TIME_LIMIT=${TIME_LIMIT:-60}
mkdir -p cfg h5 log
n_cfg=0 n_h5=0 clean=0 silent=0 crash=0 hang=0 unclear=0
failed_cases=""

# run_case NAME PATTERN CMD...: runs CMD under timeout and classifies the outcome. PATTERN is an
# extended regular expression the output must match (the key, dataset or file named).
run_case() {
  local name=$1 pattern=$2
  shift 2
  local log=log/$name.txt
  timeout -k 5 "$TIME_LIMIT" "$@" > "$log" 2>&1 < /dev/null
  local rc=$?
  local class
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    class=hang
  elif grep -qE 'runtime error:|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|Segmentation fault|core dumped|: fatal: ' "$log" ||
       [ $rc -ge 128 ]; then
    class=crash
  elif [ $rc -eq 0 ]; then
    class=silent
  elif grep -qE -- "$pattern" "$log"; then
    class=clean
  else
    class=unclear
  fi
  case $class in
  clean) clean=$((clean + 1)) ;;
  silent) silent=$((silent + 1)) ;;
  crash) crash=$((crash + 1)) ;;
  hang) hang=$((hang + 1)) ;;
  unclear) unclear=$((unclear + 1)) ;;
  esac
  if [ $class != clean ]; then
    failed_cases="$failed_cases $name"
    echo "NOT CLEAN ($class, exit $rc): $name: $* -- expected /$pattern/; output:"
    head -c 600 "$log" | sed 's/^/    /'
    echo
  fi
}

# ---- bad configs ------------------------------------------------------------------------------
# cfg NAME PATTERN TEXT: writes cfg/NAME.cfg and runs `overopt check` on it.
cfg() {
  printf '%s\n' "$3" > "cfg/$1.cfg"
  n_cfg=$((n_cfg + 1))
  run_case "cfg_$1" "$2" "$overopt" check "cfg/$1.cfg"
}
cfg n_ctx_int64 "'pretrain.n_ctx' = 4294967344 is out of range" 'pretrain = { n_ctx = 4294967344; };'
cfg n_ctx_neg_int64 "'pretrain.n_ctx' = -4294967344" 'pretrain = { n_ctx = -4294967344; };'
cfg n_ctx_beyond_int64 "n_ctx" 'pretrain = { n_ctx = 99999999999999999999999; };'
cfg n_ctx_hex64 "'pretrain.n_ctx'" 'pretrain = { n_ctx = 0x100000030; };'
cfg n_ctx_small "'pretrain.n_ctx'" 'pretrain = { n_ctx = 8; };'
cfg rm_k_zero "'rm.k'" 'rm = { k = 0; };'
cfg rm_k_big "'rm.k'" 'rm = { k = 65; };'
cfg rm_k_float "'rm.k'" 'rm = { k = 2.5; };'
cfg rm_k_string "'rm.k'" 'rm = { k = "five"; };'
cfg rm_k_bool "'rm.k'" 'rm = { k = true; };'
cfg rm_k_list "'rm.k'" 'rm = { k = [1, 2]; };'
cfg rm_k_group "'rm.k'" 'rm = { k = { a = 1; }; };'
cfg rm_batch_zero "'rm.batch'" 'rm = { batch = 0; };'
cfg rm_batch_int64 "'rm.batch'" 'rm = { batch = 4294967312; };'
cfg pretrain_lr_zero "'pretrain.lr'" 'pretrain = { lr = 0.0; };'
cfg pretrain_lr_negative "'pretrain.lr'" 'pretrain = { lr = -1.0; };'
cfg pretrain_lr_string "'pretrain.lr'" 'pretrain = { lr = "fast"; };'
cfg prefs_noise_high "'prefs.noise'" 'prefs = { noise = 0.75; };'
cfg prefs_noise_overflow "'prefs.noise'" 'prefs = { noise = 1e999; };'
cfg prefs_temperature_zero "'prefs.temperature'" 'prefs = { temperature = 0.0; };'
cfg prefs_top_p_high "'prefs.top_p'" 'prefs = { top_p = 1.5; };'
cfg prefs_noise_mode "'prefs.noise_mode'" 'prefs = { noise_mode = "exactly"; };'
cfg prefs_n_train_zero "'prefs.n_train'" 'prefs = { n_train = 0; };'
cfg prefs_response_ctx "'prefs.response_len'.*'pretrain.n_ctx'" 'prefs = { response_len = 100; };'
cfg rm_normalize "'rm.normalize'" 'rm = { normalize = "zscor"; };'
cfg rm_init_int "'rm.init'" 'rm = { init = 3; };'
cfg gold_kind "'gold.kind'" 'gold = { kind = "golden"; };'
cfg gold_checkpoint_missing "'gold.checkpoint'" 'gold = { kind = "checkpoint"; };'
cfg gold_init_scale_zero "'gold.init_scale'" 'gold = { init_scale = 0.0; };'
cfg gold_d_model_big "'gold.size.d_model'" 'gold = { size = { d_model = 4097; }; };'
cfg policy_heads "'pretrain.policy.n_head'" 'pretrain = { policy = { n_head = 3; }; };'
cfg rm_layers_zero "'rm.size.n_layer'" 'rm = { size = { n_layer = 0; }; };'
cfg ppo_objective_bad "'ppo.objectives\[1\]'" 'ppo = { objectives = ["single", "wcoo"]; };'
cfg ppo_objectives_empty "'ppo.objectives'" 'ppo = { objectives = []; };'
cfg ppo_betas_many "'ppo.betas'" 'ppo = { betas = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]; };'
cfg ppo_betas_negative "'ppo.betas\[0\]'" 'ppo = { betas = [-0.1]; };'
cfg ppo_minibatch "'ppo.minibatch'.*'ppo.batch'" 'ppo = { batch = 32; minibatch = 5; };'
cfg ppo_member "'ppo.member'.*'rm.k'" 'rm = { k = 5; };
ppo = { member = 5; };'
cfg ppo_lr_final "'ppo.lr_final'.*'ppo.lr'" 'ppo = { lr = 0.1; lr_final = 0.5; };'
cfg ppo_kl_mode "'ppo.kl_mode'" 'ppo = { kl_mode = "auto"; };'
cfg ppo_kl_estimator "'ppo.kl_estimator'" 'ppo = { kl_estimator = "k4"; };'
cfg ppo_reward "'ppo.reward'" 'ppo = { reward = "both"; };'
cfg ppo_steps_zero "'ppo.steps'" 'ppo = { steps = 0; };'
cfg ppo_epochs_big "'ppo.epochs'" 'ppo = { epochs = 101; };'
cfg ppo_clip_bool "'ppo.clip'" 'ppo = { clip = true; };'
cfg run_name_empty "'run.name'" 'run = { name = ""; };'
cfg run_name_slash "'run.name'" 'run = { name = "a/b"; };'
cfg run_name_dotdot "'run.name'" 'run = { name = ".."; };'
cfg run_name_long "'run.name'" "run = { name = \"$(printf 'x%.0s' $(seq 300))\"; };"
cfg run_out_dir_empty "'run.out_dir'" 'run = { out_dir = ""; };'
cfg run_seed_negative "'run.seed'" 'run = { seed = -1; };'
cfg run_threads_zero "'run.threads'" 'run = { threads = 0; };'
cfg corpus_path_empty "'corpus.path'" 'corpus = { path = ""; };'
cfg corpus_delimiter "'corpus.delimiter'" 'corpus = { delimiter = "comma"; };'
cfg corpus_val_fraction "'corpus.val_fraction'" 'corpus = { val_fraction = 0.6; };'
cfg corpus_min_doc_negative "'corpus.min_doc_bytes'" 'corpus = { min_doc_bytes = -1; };'
cfg bon_n_samples_zero "'bon.n_samples'" 'bon = { n_samples = 0; };'
cfg bon_uwo_lambda_big "'bon.uwo_lambda\[0\]'" 'bon = { uwo_lambda = [101.0]; };'
cfg bon_softmin_tau_zero "'bon.softmin_tau\[0\]'" 'bon = { softmin_tau = [0.0]; };'
cfg rm_warm_scratch "'rm.warm' (.*) = true averages the members' weights, .*'rm.init' (.*) = \"pretrained\"" 'rm = { warm = true; init = "scratch"; };'
cfg ppo_warm_without_rm_warm "'ppo.objectives' (.*) names \"warm\" but 'rm.warm'" 'ppo = { objectives = ["warm"]; };'
cfg ppo_laplace_without_rm_laplace "'ppo.objectives' (.*) names \"ens_laplace\" but 'rm.laplace'" 'ppo = { objectives = ["ens_laplace"]; };'
cfg rm_warm_int "'rm.warm': expected true or false" 'rm = { warm = 1; };'
cfg layout_negative "'layout.rollout_ranks'" 'layout = { rollout_ranks = -1; };'
cfg slurm_time_empty "'slurm.time'" 'slurm = { time = ""; };'
cfg unknown_key "'rm.sizee'" 'rm = { sizee = 3; };'
cfg unknown_group "'model'" 'model = { a = 1; };'
cfg group_as_int "'rm'" 'rm = 5;'
cfg syntax_missing_value "syntax_missing_value.cfg:1: syntax error" 'rm = { k = ; };'
cfg syntax_unterminated "syntax_unterminated.cfg:[0-9]+: syntax error" 'run = { name = "abc; };'
cfg sweep_unknown_key "'rm.size.d_modl'" 'sweep = { axes = ( { key = "rm.size.d_modl"; values = [32]; } ); };'
cfg sweep_value_range "'prefs.noise'" 'sweep = { axes = ( { key = "prefs.noise"; values = [0.1, 0.75]; } ); };'
cfg sweep_bad_point "'rm.size.n_head'.*'rm.size.d_model'" 'sweep = { axes = ( { key = "rm.size.d_model"; values = [32, 30]; } ); };'
cfg sweep_duplicate_axis "'rm.k' is swept by two axes" 'sweep = { axes = ( { key = "rm.k"; values = [1]; }, { key = "rm.k"; values = [2]; } ); };'
cfg sweep_many_values "'sweep.axes\[0\].values'" 'sweep = { axes = ( { key = "rm.k"; values = [1, 2, 3, 4, 5, 6, 7, 8, 9]; } ); };'
cfg sweep_self "'sweep.axes'" 'sweep = { axes = ( { key = "sweep.axes"; values = [1]; } ); };'
cfg sweep_int64_value "'rm.k'" 'sweep = { axes = ( { key = "rm.k"; values = [4294967297]; } ); };'
cfg include_missing "nonexistent_base.cfg" '@include "nonexistent_base.cfg"'
printf 'pretrain = { n_ctx = 4294967344; };\n' > cfg/int64_base.cfg
cfg include_int64 "int64_base.cfg:1: 'n_ctx' = 4294967344" '@include "int64_base.cfg"'
cfg memory_rm_batch "'rm.batch'" 'rm = { batch = 65536; size = { d_model = 4096; n_layer = 64; n_head = 64; }; };
prefs = { n_train = 1000000000; };'
cfg memory_bon "'bon.n_samples'" 'bon = { n_prompts = 1000000; n_samples = 100000; };'
cfg memory_pretrain "'pretrain.batch'" 'pretrain = { batch = 65536; n_ctx = 1024; policy = { d_model = 4096; n_layer = 64; n_head = 64; }; };'

# Configs that `check` accepts but a stage cannot use: the stage must say why.
TINY=$cfg # the good config these cases start from (cfg() above writes bad ones)
stage_cfg() { # stage_cfg NAME PATTERN STAGE --set ...
  local name=$1 pattern=$2 stage=$3
  shift 3
  n_cfg=$((n_cfg + 1))
  run_case "stagecfg_$name" "$pattern" "$overopt" stage "$stage" "$TINY" --set "run.out_dir=$scratch/runs_$name" "$@"
}
: > empty_corpus.txt
printf '%%\nab\n%%\ncd\n' > short_corpus.txt
stage_cfg corpus_missing "/nonexistent/corpus" pretrain --set corpus.path=/nonexistent/corpus
stage_cfg corpus_empty "empty_corpus.txt" pretrain --set "corpus.path=$scratch/empty_corpus.txt"
stage_cfg corpus_too_short "short_corpus.txt|min_doc_bytes" pretrain --set "corpus.path=$scratch/short_corpus.txt"
stage_cfg corpus_min_doc "corpus.min_doc_bytes|min_doc_bytes" pretrain --set corpus.min_doc_bytes=1048576

# ---- a good run, the source of the bad HDF5 files --------------------------------------------
if ! timeout 300 "$overopt" run "$TINY" --set "run.out_dir=$scratch/good" > log/good_run.txt 2>&1; then
  echo "FAILED: the good tiny run failed:"
  tail -20 log/good_run.txt
  exit 1
fi
GOOD=$scratch/good/tiny
LM=$GOOD/lm_d32L1H2.h5

# bad NAME PATTERN SOURCE OP OBJECT [VALUE]: writes h5/NAME.h5 with badh5.
bad() {
  local name=$1 src=$3
  shift 3
  "$BADH5" "$src" "h5/$name.h5" "$@" || { echo "FAILED: badh5 $name"; exit 1; }
}
# sample_case NAME PATTERN SOURCE OP OBJECT [VALUE]: a damaged LM through `overopt sample`.
sample_case() {
  local name=$1 pattern=$2
  bad "$@"
  n_h5=$((n_h5 + 1))
  run_case "sample_$name" "$pattern" "$overopt" sample --model "h5/$name.h5" --prompt "The " -n 2 --max-tokens 8
}
printf 'hello world\nthe quick brown fox\n' > text.txt
# score_case NAME PATTERN SOURCE OP OBJECT [VALUE]: a damaged reward model through `overopt score`.
score_case() {
  local name=$1 pattern=$2
  bad "$@"
  n_h5=$((n_h5 + 1))
  run_case "score_$name" "$pattern" "$overopt" score --model "h5/$name.h5" --text text.txt
}
sample_case lm_nan_wte "dataset 'wte'.*non-finite" "$LM" nan wte
sample_case lm_inf_qkv "dataset 'qkv_w'.*non-finite" "$LM" inf qkv_w
sample_case lm_neginf_lnf "dataset 'lnf_w'.*non-finite" "$LM" neginf lnf_w
sample_case lm_nan_wpe "dataset 'wpe'.*non-finite" "$LM" nan wpe
sample_case lm_missing_wte "'wte' is missing" "$LM" delete wte
sample_case lm_reshape_wpe "'wpe' has shape" "$LM" reshape wpe
sample_case lm_retype_wte "'wte'.*(type|int)" "$LM" retype wte
sample_case lm_string_fc "'fc_w'" "$LM" tostring fc_w
sample_case lm_group_wte "'wte'" "$LM" togroup wte
sample_case lm_huge_wte "'wte'" "$LM" huge wte
sample_case lm_header_d_model_huge "d_model = 65536.*memory limit" "$LM" int /@d_model 65536
sample_case lm_header_200tb "n_layer = 1024, d_model = 65536.*memory limit" h5/lm_header_d_model_huge.h5 int /@n_layer 1024
sample_case lm_header_n_ctx "'wpe' has shape|n_ctx" "$LM" int /@n_ctx 1048576
sample_case lm_header_d_model_negative "d_model" "$LM" int /@d_model -5
sample_case lm_header_vocab "vocab_size" "$LM" int /@vocab_size 300
sample_case lm_header_heads "n_head" "$LM" int /@n_head 5
sample_case lm_header_layer_string "n_layer" "$LM" string /@n_layer four
sample_case lm_format_wrong "format" "$LM" string /@format other-format-v9
sample_case lm_format_missing "'format'" "$LM" delete /@format
sample_case lm_kind_reward "kind" "$LM" string /@kind reward
sample_case lm_kind_unknown "kind 'policy'" "$LM" string /@kind policy
head -c 3000 "$LM" > h5/lm_truncated.h5
n_h5=$((n_h5 + 1))
run_case sample_lm_truncated "lm_truncated.h5" "$overopt" sample --model h5/lm_truncated.h5 --prompt "The " -n 1
head -c $(($(stat -c %s "$LM") - 4096)) "$LM" > h5/lm_truncated_tail.h5
n_h5=$((n_h5 + 1))
run_case sample_lm_truncated_tail "lm_truncated_tail.h5" "$overopt" sample --model h5/lm_truncated_tail.h5 --prompt "The " -n 1
: > h5/lm_empty.h5
n_h5=$((n_h5 + 1))
run_case sample_lm_empty "lm_empty.h5" "$overopt" sample --model h5/lm_empty.h5 --prompt "The " -n 1
printf 'not an hdf5 file\n' > h5/lm_text.h5
n_h5=$((n_h5 + 1))
run_case sample_lm_text "lm_text.h5" "$overopt" sample --model h5/lm_text.h5 --prompt "The " -n 1

# A command-line size beyond what the model's context leaves (once clamped silently).
run_case sample_max_tokens "max-tokens 1000000 does not fit" "$overopt" sample --model "$LM" --prompt "The " --max-tokens 1000000

GOLD=$GOOD/gold.h5
score_case gold_nan_head "dataset 'head_w'.*non-finite" "$GOLD" nan head_w
score_case gold_inf_ln1 "dataset 'ln1_w'.*non-finite" "$GOLD" inf ln1_w
score_case gold_nan_fc "dataset 'fc_w'.*non-finite" "$GOLD" nan fc_w
score_case gold_scale_nan "reward_scale" "$GOLD" double /@reward_scale nan
score_case gold_scale_zero "reward_scale" "$GOLD" double /@reward_scale 0
score_case gold_shift_inf "reward_shift" "$GOLD" double /@reward_shift inf
score_case gold_kind_lm "kind" "$GOLD" string /@kind lm
score_case gold_missing_head_b "'head_b' is missing" "$GOLD" delete head_b
score_case gold_reshape_head_w "'head_w' has shape" "$GOLD" reshape head_w

# Damaged artifacts inside a run directory, through the stage that reads them.
# stage_h5 NAME PATTERN STAGE FILE OP OBJECT [VALUE]: copies the good run, damages FILE in it.
stage_h5() {
  local name=$1 pattern=$2 stage=$3 file=$4
  shift 4
  rm -rf "runs_$name"
  mkdir -p "runs_$name"
  cp -r "$GOOD" "runs_$name/tiny"
  "$BADH5" "$GOOD/$file" "runs_$name/tiny/$file" "$@" || { echo "FAILED: badh5 $name"; exit 1; }
  n_h5=$((n_h5 + 1))
  run_case "stage_$name" "$pattern" "$overopt" stage "$stage" "$TINY" --set "run.out_dir=$scratch/runs_$name"
}
stage_h5 prefs_gold_nan "prefs.h5.*dataset 'gold'.*non-finite" rm prefs.h5 nan gold
stage_h5 prefs_missing_resp "'resp' is missing" rm prefs.h5 delete resp
stage_h5 prefs_n_train_attr "n_train" rm prefs.h5 int /@n_train 7
stage_h5 prefs_label_bad "label" rm prefs.h5 set_i32 label_train 2
stage_h5 prefs_prompt_huge "'prompt'" rm prefs.h5 huge prompt
stage_h5 rm_member_nan "rm.h5.*member_0/qkv_w.*non-finite|member_0.*qkv_w.*non-finite" bon rm.h5 nan member_0/qkv_w
stage_h5 rm_member_missing "member_1" bon rm.h5 delete member_1
stage_h5 pi_init_nan "lm_d32L1H2.h5.*'wte'.*non-finite" prefs lm_d32L1H2.h5 nan wte
stage_h5 gold_nan_prefs "gold.h5.*'qkv_w'.*non-finite" prefs gold.h5 nan qkv_w
stage_h5 rm_trunk_nan "lm_d32L1H2.h5.*non-finite" rm lm_d32L1H2.h5 inf fc_w
stage_h5 ppo_gold_nan "gold.h5.*non-finite" ppo gold.h5 nan head_w

# bon-curves reads bon.h5's stored scores.
bon_case() {
  local name=$1 pattern=$2
  shift 2
  rm -rf "runs_$name"
  cp -r "$GOOD" "runs_$name"
  "$BADH5" "$GOOD/bon.h5" "runs_$name/bon.h5" "$@" || { echo "FAILED: badh5 $name"; exit 1; }
  n_h5=$((n_h5 + 1))
  run_case "boncurves_$name" "$pattern" "$overopt" bon-curves "runs_$name"
}
bon_case bon_proxy_nan "dataset 'proxy'.*non-finite" nan proxy
bon_case bon_gold_inf "dataset 'gold'.*non-finite" inf gold
bon_case bon_proxy_huge "'proxy'" huge proxy

# A gold checkpoint given by path in the config.
cp h5/gold_nan_head.h5 gold_nan.h5 # the same damage as score_gold_nan_head, reached through the config
stage_cfg_gold() {
  rm -rf "runs_gold_ckpt_nan"
  cp -r "$GOOD/.." "runs_gold_ckpt_nan"
  run_case stage_gold_checkpoint_nan "gold_nan.h5.*'head_w'.*non-finite" "$overopt" stage gold "$TINY" \
    --set "run.out_dir=$scratch/runs_gold_ckpt_nan" --set gold.kind=checkpoint --set "gold.checkpoint=$scratch/gold_nan.h5"
}
stage_cfg_gold
rm -rf runs_gold_checkpoint_missing
cp -r "$GOOD/.." runs_gold_checkpoint_missing
stage_cfg gold_checkpoint_missing "/nonexistent/gold.h5" gold --set gold.kind=checkpoint --set gold.checkpoint=/nonexistent/gold.h5

total=$((clean + silent + crash + hang + unclear))
echo "badinput: $n_cfg bad configs, $n_h5 bad HDF5 files: $total cases: $clean clean error, $silent silent (exit 0), $crash crash, $hang hang, $unclear unclear message"
[ -z "$failed_cases" ] || echo "not clean:$failed_cases"
[ "$n_cfg" -ge 60 ] || { echo "FAILED: only $n_cfg bad configs (want >= 60)"; exit 1; }
[ "$n_h5" -ge 30 ] || { echo "FAILED: only $n_h5 bad HDF5 files (want >= 30)"; exit 1; }
[ "$clean" -eq "$total" ] || exit 1
exit 0
