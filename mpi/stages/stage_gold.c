/* stage_gold: builds the gold reward model and calibrates it on pi_init's own responses, so that
 * gold scores of pi_init samples have mean 0 and std 1 (DESIGN.md §1 "Normalization").
 *
 * Invariants:
 * - Calibration prompts are the pool range PROMPTS_GOLD_CALIB; prompt i's response is drawn from
 *   the stream (world_seed, RNG_GOLD, pool index of i, 0) with prefs.temperature and prefs.top_p, at
 *   most prefs.response_len bytes, stopping at end-of-text: the responses the prefs stage would
 *   write, from disjoint prompts.
 * - Generation and scoring are split over every rank in unit-aligned contiguous blocks
 *   (mpi/stages/sampling.h), so shift and scale are bit-identical for any rank count.
 * - gold.h5 (gold.h) is written by rank 0 with run_stamp. A stop request during sampling leaves
 *   gold.partial.h5 (sampling.h), resumed from and removed once gold.h5 is written.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "data/corpus.h"
#include "model/gpt.h"
#include "sampling.h"
#include "rlhf/gold.h"
#include "rlhf/rlhf.h"
#include "run.h"

static int save_gold(const oo_run *run, const gold_model *g, const char *path) {
  h5_writer w;
  CHECK(h5_create(&w, path));
  int rc = gold_save(g, &w);
  if (!rc) rc = run_stamp(run, &w);
  if (rc) {
    h5_discard(&w);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&w));
  return OO_OK;
}

/* Calibrates g on pi_init's responses and writes gold.h5 (collective on world). */
static int calibrate_and_save(oo_run *run, gold_model *g, gpt *policy) {
  const oo_config *cfg = &run->cfg;
  const oo_comms *cm = &run->comms;
  int *prompts = NULL, n = 0;
  uint64_t *stream = NULL;
  CHECK(sample_prompts(cfg, PROMPTS_GOLD_CALIB, &prompts, &stream, &n));
  const int Tmax = cfg->prefs.prompt_len + cfg->prefs.response_len + 2;
  int *tok = NULL, *lens = NULL;
  float *raw = NULL;
  if (cm->rank == 0) {
    tok = xmalloc(sizeof(int) * (size_t)n * Tmax);
    lens = xmalloc(sizeof(int) * (size_t)n);
    raw = xmalloc(sizeof(float) * (size_t)n);
  }
  char partial[4400];
  CHECK(run_world_path(run, "gold.partial.h5", partial, sizeof partial));
  sample_spec spec = {cfg->prefs.prompt_len, cfg->prefs.response_len, 1, (uint64_t)cfg->run.world_seed, RNG_GOLD, (float)cfg->prefs.temperature,
                      (float)cfg->prefs.top_p, "gold calibration", partial};
  int rc = pi_init_sample(run, policy, g, &spec, prompts, stream, n, tok, lens, raw);
  if (!rc && !oo_stopped() && cm->rank == 0) {
    double mean = 0, std = 0, mean_len = 0;
    calib_mean_std(&mean, &std, raw, n);
    for (int i = 0; i < n; i++) mean_len += lens[i] - (cfg->prefs.prompt_len + 1);
    LOG_INFO("gold %s: raw scores of %d pi_init responses (mean length %.1f tokens): mean %.6g, std %.6g",
             g->kind == GOLD_TEACHER ? "teacher (mean log-likelihood per response token)" : cfg->gold.kind, n,
             mean_len / (n > 0 ? n : 1), mean, std);
    rc = gold_set_calibration(g, mean, std);
    if (!rc) {
      char path[4400];
      rc = run_world_path(run, "gold.h5", path, sizeof path);
      if (!rc) rc = save_gold(run, g, path);
      if (!rc) LOG_INFO("gold: calibrated (shift %.6g, scale %.6g) -> %s", g->shift, g->scale, path);
      if (!rc) unlink(partial); /* the sampling's resume file, if it stopped before (sampling.h) */
    }
  }
  xfree(&prompts);
  xfree(&stream);
  xfree(&tok);
  xfree(&lens);
  xfree(&raw);
  /* stopped: gold.partial.h5 holds the responses sampled so far */
  CHECK(oo_agree(cm->world, rc, "rank 0 could not calibrate or write the gold model"));
  return OO_OK;
}

int stage_gold(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  char policy_path[4400], teacher_path[4400];
  CHECK(pretrain_lm_path(run, &cfg->pretrain.policy, policy_path, sizeof policy_path));
  CHECK(pretrain_teacher_path(run, teacher_path, sizeof teacher_path));
  REQUIRE(oo_file_exists(policy_path), "gold: pi_init '%s' does not exist: run `overopt stage pretrain` first",
          policy_path);
  gpt policy;
  CHECK(gpt_load(&policy, policy_path, GPT_LM));
  gold_model g;
  int rc = gold_build(&g, cfg, teacher_path);
  if (rc) {
    gpt_free(&policy);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  char size[32];
  cfg_size_name(&cfg->gold.size, size, sizeof size);
  LOG_INFO("gold: kind %s, %s, %zu parameters, calibrating on %d pi_init responses", cfg->gold.kind,
           g.kind == GOLD_CHECKPOINT ? cfg->gold.checkpoint : size, g.model.n_params, cfg->gold.calib_prompts);
  rc = calibrate_and_save(run, &g, &policy);
  gold_free(&g);
  gpt_free(&policy);
  CHECK(rc);
  return OO_OK;
}
