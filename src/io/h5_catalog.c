/* h5_catalog: the units and description of every dataset overopt writes (issue #14: artifacts
 * describe themselves). h5io attaches them as the string attributes `units` and `description`
 * when a dataset is written, so no writer can forget them and one table documents every
 * artifact (docs/formats.md "Units and descriptions"; the test artifact_attrs walks every .h5
 * of a run and fails on a dataset without both).
 *
 * Matching: entries are tried in order and the first match wins. `file` is a glob on the
 * file's base name; `dataset` is a glob on the dataset's path ("curves/mean/gold", no leading
 * '/'). A `dataset` pattern without '/' matches the last path component only, so the model
 * tensors ("wte") match in every checkpoint group ("member_3/wte", "policy/wte").
 * Units: "1" dimensionless; "gold std" = standard deviations of π_init's gold scores (the gold
 * is calibrated to mean 0, std 1 on π_init's responses); "proxy" = a member's calibrated score
 * (π_init mean 0; std 1 when rm.normalize = zscore); nats; s; count; index; token id (0-255
 * bytes, 256 end-of-text, -1 padding).
 */
#define _POSIX_C_SOURCE 200809L
#include "io/h5_catalog.h"

#include <fnmatch.h>
#include <string.h>

#define GOLD "gold std"
#define PROXY "proxy"

static const h5_catalog_entry catalog[] = {
    /* ---- ppo_<tag>.h5 and ppo_<tag>.partial.h5: one row per step (stage_ppo.c) ---- */
    {"ppo_*.h5", "samples/step_*/text", "UTF-8", "decoded evaluation samples, 'prompt|response' with \\n, \\t, \\\\ and \\xHH escapes"},
    {"ppo_*.h5", "samples/step_*/gold", GOLD, "gold score of each evaluation sample"},
    {"ppo_*.h5", "samples/step_*/proxy", PROXY, "proxy objective of each evaluation sample"},
    {"ppo_*.h5", "step", "index", "PPO step (0-based); row s describes the policy that generated step s's rollouts"},
    {"ppo_*.h5", "kl", "nats", "KL(pi || pi_init) per response on the step's rollouts, by ppo.kl_estimator"},
    {"ppo_*.h5", "kl_k1", "nats", "KL estimator k1: sum over tokens of log pi - log pi_init, mean over responses"},
    {"ppo_*.h5", "kl_k2", "nats", "KL estimator k2: sum over tokens of (log-ratio)^2 / 2, mean over responses"},
    {"ppo_*.h5", "kl_k3", "nats", "KL estimator k3: sum over tokens of exp(-r) - 1 + r, mean over responses"},
    {"ppo_*.h5", "proxy", PROXY, "the optimized proxy objective, mean over the step's rollouts"},
    {"ppo_*.h5", "gold", GOLD, "gold score, mean over the step's rollouts"},
    {"ppo_*.h5", "ens_var", PROXY "^2", "variance across members of the proxy scores (population), mean over rollouts"},
    {"ppo_*.h5", "entropy", "nats/token", "policy entropy per response token on the rollouts"},
    {"ppo_*.h5", "clipfrac", "1", "fraction of tokens whose probability ratio was clipped"},
    {"ppo_*.h5", "vf_loss", PROXY "^2", "value-function loss (clipped squared error), mean over minibatches"},
    {"ppo_*.h5", "eval_kl", "nats", "KL on the fixed evaluation prompts (ppo.kl_estimator); NaN on steps without evaluation"},
    {"ppo_*.h5", "eval_proxy", PROXY, "proxy objective on the evaluation prompts; NaN on steps without evaluation"},
    {"ppo_*.h5", "eval_gold", GOLD, "gold score on the evaluation prompts; NaN on steps without evaluation"},
    {"ppo_*.h5", "objective", PROXY, "the per-response reward optimized: proxy objective minus beta times KL, mean"},
    {"ppo_*.h5", "policy_loss", "1", "clipped surrogate policy loss, mean over minibatches"},
    {"ppo_*.h5", "approx_kl", "nats/token", "approximate KL between the policy before and after the update"},
    {"ppo_*.h5", "beta", "1/nats", "KL coefficient used for the step's rewards (adaptive controller or fixed)"},
    {"ppo_*.h5", "lr", "1", "learning rate of the step (AdamW)"},
    {"ppo_*.h5", "resp_len", "tokens", "mean response length of the step's rollouts"},
    {"ppo_*.h5", "eval_kl_k1", "nats", "k1 KL estimator on the evaluation prompts; NaN without evaluation"},
    {"ppo_*.h5", "eval_kl_k2", "nats", "k2 KL estimator on the evaluation prompts; NaN without evaluation"},
    {"ppo_*.h5", "eval_kl_k3", "nats", "k3 KL estimator on the evaluation prompts; NaN without evaluation"},
    {"ppo_*.h5", "t_generate", "s", "wall time sampling the rollouts"},
    {"ppo_*.h5", "t_score", "s", "wall time scoring the rollouts (members, gold, pi_init)"},
    {"ppo_*.h5", "t_update", "s", "wall time of the PPO epochs (forward, backward, AdamW)"},
    {"ppo_*.h5", "t_eval", "s", "wall time of the step's evaluation (0 without one)"},
    {"ppo_*.h5", "t_mpi", "s", "wall time the leader spent in MPI calls"},
    {"ppo_*.h5", "t_step", "s", "wall time of the whole step"},
    {"ppo_*.h5", "member_score", PROXY, "[steps, K] each member's mean calibrated score on the step's rollouts"},

    /* ---- bon_samples.h5: the world's best-of-n samples (stage_bon.c) ---- */
    {"bon_samples.h5", "tokens", "token id", "[P_eval*N, Tmax] sequences [256, prompt, response, 256?], -1 padded"},
    {"bon_samples.h5", "lens", "tokens", "length of each sequence in tokens"},
    {"bon_samples.h5", "gold", GOLD, "[P_eval*N] calibrated gold score of each sample (row p*N+s: sample s of prompt p)"},
    {"bon_samples.h5", "prompt_doc", "index", "corpus document of each evaluation prompt"},

    /* ---- bon.h5 and bon_curves.h5 (stage_bon.c, overopt bon-curves) ---- */
    {"bon*.h5", "curves/member_shift", PROXY, "[K] per-member shift subtracted on pi_init's samples (raw units)"},
    {"bon*.h5", "curves/member_scale", "1", "[K] per-member scale divided by on pi_init's samples (1 unless z-scored)"},
    {"bon*.h5", "curves/*/n", "count", "best-of-n: samples n of the curve point"},
    {"bon*.h5", "curves/*/kl", "nats", "KL_bon(n) = log n - (n-1)/n"},
    {"bon*.h5", "curves/*/proxy", PROXY, "unbiased best-of-n estimate of the objective's value at n (starts at 0)"},
    {"bon*.h5", "curves/*/gold", GOLD, "unbiased best-of-n estimate of the gold score at n, re-centred so n = 1 is 0"},
    {"bon*.h5", "curves/*/gold_se", GOLD, "standard error of gold over the evaluation prompts"},
    {"bon*.h5", "curves/*/member_proxy", PROXY, "[K, G] each member's own best-of-n proxy curve"},
    {"bon*.h5", "curves/*/member_gold", GOLD, "[K, G] the gold of each member's own best-of-n picks"},
    {"bon*.h5", "curves/*/proxy_spread", PROXY, "standard deviation over members of member_proxy"},
    {"bon*.h5", "curves/*/gold_spread", GOLD, "standard deviation over members of member_gold"},
    {"bon*.h5", "proxy", PROXY, "[P_eval, N, K] every member's calibrated score of every sample"},
    {"bon*.h5", "gold", GOLD, "[P_eval, N] calibrated gold score of every sample"},
    {"bon*.h5", "warm", PROXY, "[P_eval, N] WARM (members' weight average) calibrated score of every sample"},
    {"bon*.h5", "laplace_var", PROXY "^2", "[P_eval, N, K] each member's last-layer Laplace predictive variance"},
    {"bon*.h5", "uwo_lambda", "1/" PROXY, "the uwo penalties lambda the curves use"},
    {"bon*.h5", "softmin_tau", PROXY, "the softmin temperatures tau the curves use"},
    {"bon*.h5", "prompt_doc", "index", "corpus document of each evaluation prompt"},

    /* ---- prefs.h5 (src/data/prefs.c) ---- */
    {"prefs.h5", "prompt", "token id", "[N, P] prompt bytes of each pair"},
    {"prefs.h5", "resp", "token id", "[N, 2, R+1] the two responses, -1 padded (may end with 256)"},
    {"prefs.h5", "resp_len", "tokens", "[N, 2] length of each response"},
    {"prefs.h5", "gold", GOLD, "[N, 2] calibrated gold score of each response"},
    {"prefs.h5", "label_clean", "index", "index (0/1) of the response the gold prefers"},
    {"prefs.h5", "label_train", "index", "label after flipping the fraction prefs.noise of training labels"},
    {"prefs.h5", "split", "index", "0 train, 1 test (train pairs first)"},

    /* ---- rm.h5 (stage_rm.c) ---- */
    {"rm.h5", "metrics/member_*", "nats/pair | 1 | 1 | 1",
     "[epochs, 4] per epoch: train_loss (Bradley-Terry), train_acc, test_acc, gold_agree (fractions)"},
    {"rm.h5", "test_scores", "raw reward", "[n_test, 2, K] uncalibrated member scores of both test responses"},
    {"rm.h5", "laplace/member_*/Sigma", "raw reward^2", "[C+1, C+1] posterior covariance of the head weights and bias"},
    {"rm.h5", "laplace/member_*/phi_mean", "1", "[C] reference feature (mean final-LayerNorm output)"},

    /* ---- lm_<size>.partial.h5 (stage_pretrain.c) ---- */
    {"lm_*.h5", "train_log/loss", "nats/byte", "training loss of each step done"},
    {"lm_*.h5", "train_log/lr", "1", "learning rate of each step done"},

    /* ---- fits.h5 (cmd_fit.c) ---- */
    {"fits.h5", "alpha", GOLD "/nats^0.5", "alpha of the fitted form (bon: d(alpha - beta d); rl: d(alpha - beta ln d))"},
    {"fits.h5", "beta", GOLD "/nats^0.5", "beta of the fitted form (bon: per nats^0.5 squared)"},
    {"fits.h5", "r2", "1", "coefficient of determination of the fit"},
    {"fits.h5", "d_star", "nats^0.5", "sqrt(KL) of the fitted peak (bon: alpha/2beta; rl: exp(alpha/beta - 1))"},
    {"fits.h5", "gold_star", GOLD, "fitted peak gold (bon: alpha^2/4beta; rl: beta d_star)"},
    {"fits.h5", "form", "index", "0 = bon form, 1 = rl form"},
    {"fits.h5", "n_used", "count", "curve points the fit used"},

    /* ---- summary.h5 (src/stats/summary.c; definitions in docs/statistics.md) ---- */
    {"summary.h5", "method", "1", "bon, ppo, or ppo_beta<b> (PPO runs whose tag is <objective>_beta<b>)"},
    {"summary.h5", "objective", "1", "the proxy objective (single, mean, wco, uwo_<lambda>, ...)"},
    {"summary.h5", "x", "count | nats^0.5", "bon: samples n; ppo methods: sqrt(KL) grid point (running max of eval_kl)"},
    {"summary.h5", "replicates", "count", "R, the replicates every statistic is taken over"},
    {"summary.h5", "gold_mean", GOLD, "mean over replicates of the gold score (ppo: minus pi_init's)"},
    {"summary.h5", "gold_sd", GOLD, "sample standard deviation over replicates (n-1)"},
    {"summary.h5", "gold_ci_lo", GOLD, "gold_mean - t(0.975,R-1) gold_sd/sqrt(R)"},
    {"summary.h5", "gold_ci_hi", GOLD, "gold_mean + t(0.975,R-1) gold_sd/sqrt(R)"},
    {"summary.h5", "diff_mean", GOLD, "mean of the paired difference gold(objective) - gold(single), same replicate and x"},
    {"summary.h5", "diff_ci_lo", GOLD, "diff_mean - t(0.975,R-1) sd(diff)/sqrt(R)"},
    {"summary.h5", "diff_ci_hi", GOLD, "diff_mean + t(0.975,R-1) sd(diff)/sqrt(R)"},
    {"summary.h5", "wins", "count", "replicates whose paired difference is > 0"},
    {"summary.h5", "gold_replicates", GOLD, "[rows, R] each replicate's gold at the row's x"},
    {"summary.h5", "diff_replicates", GOLD, "[rows, R] each replicate's paired difference"},

    /* ---- model checkpoints, in any file and group (src/model/gpt_io.c, docs/formats.md) ---- */
    {"*", "wte", "1", "[V, C] token embedding, also the tied LM head"},
    {"*", "wpe", "1", "[T, C] position embedding"},
    {"*", "ln1_w", "1", "[L, C] pre-attention LayerNorm gain"},
    {"*", "ln1_b", "1", "[L, C] pre-attention LayerNorm bias"},
    {"*", "qkv_w", "1", "[L, 3C, C] query, key, value projection ([out, in])"},
    {"*", "qkv_b", "1", "[L, 3C] query, key, value bias"},
    {"*", "attproj_w", "1", "[L, C, C] attention output projection ([out, in])"},
    {"*", "attproj_b", "1", "[L, C] attention output bias"},
    {"*", "ln2_w", "1", "[L, C] pre-MLP LayerNorm gain"},
    {"*", "ln2_b", "1", "[L, C] pre-MLP LayerNorm bias"},
    {"*", "fc_w", "1", "[L, 4C, C] MLP up-projection ([out, in])"},
    {"*", "fc_b", "1", "[L, 4C] MLP up-projection bias"},
    {"*", "fcproj_w", "1", "[L, C, 4C] MLP down-projection ([out, in])"},
    {"*", "fcproj_b", "1", "[L, C] MLP down-projection bias"},
    {"*", "lnf_w", "1", "[C] final LayerNorm gain"},
    {"*", "lnf_b", "1", "[C] final LayerNorm bias"},
    {"*", "head_w", "raw reward", "[C] scalar head weights (reward, value, lm_value models)"},
    {"*", "head_b", "raw reward", "[1] scalar head bias"},
    {"*", "optim/adam_m", "1", "[n_params] AdamW first moment, flat in tensor order"},
    {"*", "optim/adam_v", "1", "[n_params] AdamW second moment, flat in tensor order"},
};

/* fnmatch on the whole path, or on the last component for a pattern without '/'. */
static int name_matches(const char *pattern, const char *name) {
  if (name[0] == '/') name++;
  if (!strchr(pattern, '/')) {
    const char *leaf = strrchr(name, '/');
    if (leaf) name = leaf + 1;
  }
  return fnmatch(pattern, name, 0) == 0;
}

const h5_catalog_entry *h5_catalog_find(const char *file_path, const char *dataset) {
  const char *base = strrchr(file_path, '/');
  base = base ? base + 1 : file_path;
  for (size_t i = 0; i < sizeof catalog / sizeof catalog[0]; i++)
    if (fnmatch(catalog[i].file, base, 0) == 0 && name_matches(catalog[i].dataset, dataset)) return &catalog[i];
  return NULL;
}

const h5_catalog_entry *h5_catalog_entries(int *n) {
  *n = (int)(sizeof catalog / sizeof catalog[0]);
  return catalog;
}
