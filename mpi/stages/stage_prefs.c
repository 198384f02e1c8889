/* stage_prefs: the preference set. pi_init writes two responses to each prompt, the calibrated
 * gold labels the pair (hard label: the higher gold score wins, ties go to response 0), and a
 * fraction prefs.noise of the TRAIN labels is flipped. Test labels stay clean.
 *
 * Invariants:
 * - Prompts: prefs.n_train from PROMPTS_PREFS_TRAIN, then prefs.n_test from PROMPTS_PREFS_TEST;
 *   response j of the prompt at pool index q draws from (seed, RNG_PREFS, q, j), j = 0, 1.
 * - Sampling and scoring are split over every rank in unit-aligned blocks (mpi/stages/sampling.h), so
 *   prefs.h5 is bit-identical for any rank count.
 * - Noise draws from (seed, RNG_PREFS, 0xF11F, 2): b = 2 is used by no response stream (those use
 *   b = 0, 1), so the noise never shares a stream with a sample whatever the pool size.
 *   exact: the first round(noise * n_train) train pairs of a shuffle are flipped; bernoulli: each
 *   train pair is flipped when its uniform draw (in pair order) is < noise.
 * - prefs.h5 (format in src/data/prefs.h) is written by rank 0 with run_stamp. A stop request
 *   during sampling leaves prefs.partial.h5 (sampling.h), resumed from and removed once prefs.h5
 *   is written.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "data/corpus.h"
#include "data/prefs.h"
#include "model/gpt.h"
#include "sampling.h"
#include "rlhf/gold.h"
#include "run.h"

#define PREFS_NOISE_STREAM 0xF11F

/* Flips train labels in place; returns the number flipped. */
static int apply_noise(int *label_train, // (n_train)
                       int n_train, const oo_config *cfg) {
  oo_rng r = oo_rng_make((uint64_t)cfg->run.seed, RNG_PREFS, PREFS_NOISE_STREAM, 2);
  int flipped = 0;
  if (strcmp(cfg->prefs.noise_mode, "exact") == 0) {
    int k = (int)lround(cfg->prefs.noise * n_train);
    int *idx = xmalloc(sizeof(int) * (size_t)(n_train > 0 ? n_train : 1));
    for (int i = 0; i < n_train; i++) idx[i] = i;
    oo_rng_shuffle(&r, idx, n_train);
    for (int i = 0; i < k; i++) label_train[idx[i]] ^= 1;
    flipped = k;
    xfree(&idx);
  } else {
    for (int i = 0; i < n_train; i++)
      if (oo_rng_uniform_double(&r) < cfg->prefs.noise) {
        label_train[i] ^= 1;
        flipped++;
      }
  }
  return flipped;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Quantile q of sorted x (n >= 1), linear interpolation. */
static double quantile(const float *x, int n, double q) {
  double pos = q * (n - 1);
  int i = (int)floor(pos);
  if (i >= n - 1) return x[n - 1];
  return x[i] + (pos - i) * (x[i + 1] - x[i]);
}

typedef struct {
  int N, n_train, n_test;             /* pairs, splits */
  int prompt_len, response_len, Tmax; /* prompt bytes, response bytes at most, sequence cap */
  int *prompts;                       /* (N,prompt_len+1) [EOT, prompt] */
  int *tok;                           /* (N*2,Tmax) sequences, -1 padded */
  int *lens;                          /* (N*2) */
  float *gold;                        /* (N*2) calibrated gold */
} prefs_out;

static int write_prefs(const oo_run *run, const prefs_out *o, const int *label_clean, const int *label_train,
                       int flipped, const char *path) {
  const oo_config *cfg = &run->cfg;
  const int N = o->N, prompt_len = o->prompt_len, response_len = o->response_len, Tp = prompt_len + 1;
  int *prompt = xmalloc(sizeof(int) * (size_t)N * prompt_len);
  int *resp = xmalloc(sizeof(int) * (size_t)N * 2 * (response_len + 1));
  int *resp_len = xmalloc(sizeof(int) * (size_t)N * 2);
  int *split = xmalloc(sizeof(int) * (size_t)N);
  for (int i = 0; i < N; i++) {
    memcpy(prompt + (size_t)i * prompt_len, o->prompts + (size_t)i * Tp + 1, sizeof(int) * (size_t)prompt_len);
    split[i] = i < o->n_train ? 0 : 1;
    for (int s = 0; s < 2; s++) {
      const int *seq = o->tok + ((size_t)i * 2 + s) * o->Tmax;
      int n = o->lens[i * 2 + s] - Tp;
      resp_len[i * 2 + s] = n;
      for (int t = 0; t <= response_len; t++)
        resp[((size_t)i * 2 + s) * (response_len + 1) + t] = t < n ? seq[Tp + t] : -1;
    }
  }
  /* The file's layout is prefs_write's (src/data/prefs.c); the casts drop const for a view the
   * writer only reads. */
  prefs_data view = {.n = N, .n_train = o->n_train, .n_test = o->n_test, .prompt_len = prompt_len, .response_len = response_len,
                     .prompt = prompt, .resp = resp, .resp_len = resp_len, .gold = o->gold,
                     .label_clean = (int *)label_clean, .label_train = (int *)label_train, .split = split,
                     .noise = cfg->prefs.noise, .noise_realised = (double)flipped / o->n_train};
  snprintf(view.noise_mode, sizeof view.noise_mode, "%s", cfg->prefs.noise_mode);
  h5_writer w;
  int rc = h5_create(&w, path);
  if (!rc) {
    rc = prefs_write(&view, &w);
    if (!rc) rc = run_stamp(run, &w);
    if (rc)
      h5_discard(&w);
    else
      rc = h5_commit(&w);
  }
  xfree(&prompt);
  xfree(&resp);
  xfree(&resp_len);
  xfree(&split);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* Rank 0: labels, noise, statistics and prefs.h5. */
static int label_and_write(const oo_run *run, const prefs_out *o) {
  const int N = o->N;
  int *label_clean = xmalloc(sizeof(int) * (size_t)N);
  int *label_train = xmalloc(sizeof(int) * (size_t)N);
  float *margin = xmalloc(sizeof(float) * (size_t)N);
  int n_small = 0, n_ties = 0, n_second = 0;
  for (int i = 0; i < N; i++) {
    float g0 = o->gold[2 * i], g1 = o->gold[2 * i + 1];
    label_clean[i] = g1 > g0 ? 1 : 0;
    label_train[i] = label_clean[i];
    margin[i] = fabsf(g0 - g1);
    n_small += margin[i] < 0.1f;
    n_ties += g0 == g1;
    n_second += label_clean[i];
  }
  int flipped = apply_noise(label_train, o->n_train, &run->cfg);
  qsort(margin, (size_t)N, sizeof *margin, cmp_float);
  LOG_INFO("prefs: %d train + %d test pairs; label noise %s %.3f: %d of %d train labels flipped (realised %.4f)",
           o->n_train, o->n_test, run->cfg.prefs.noise_mode, run->cfg.prefs.noise, flipped, o->n_train,
           (double)flipped / o->n_train);
  LOG_INFO("prefs: gold margin |gold_0 - gold_1|: 10%% %.4f, 50%% %.4f, 90%% %.4f; %.1f%% of pairs below 0.1; "
           "%d ties; response 1 preferred in %.1f%%",
           quantile(margin, N, 0.1), quantile(margin, N, 0.5), quantile(margin, N, 0.9), 100.0 * n_small / N, n_ties,
           100.0 * n_second / N);
  char path[4400];
  int rc = run_path(run, "prefs.h5", path, sizeof path);
  if (!rc) rc = write_prefs(run, o, label_clean, label_train, flipped, path);
  if (!rc) LOG_INFO("prefs: wrote %s", path);
  xfree(&label_clean);
  xfree(&label_train);
  xfree(&margin);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* Train prompts then test prompts, with their stream ids (collective-free: every rank alike). */
static int all_prompts(const oo_config *cfg, prefs_out *o, uint64_t **stream) {
  int *ptr = NULL, *pte = NULL, ntr = 0, nte = 0;
  uint64_t *str = NULL, *ste = NULL;
  CHECK(sample_prompts(cfg, PROMPTS_PREFS_TRAIN, &ptr, &str, &ntr));
  int rc = sample_prompts(cfg, PROMPTS_PREFS_TEST, &pte, &ste, &nte);
  if (!rc) {
    const int Tp = cfg->prefs.prompt_len + 1;
    o->n_train = ntr;
    o->n_test = nte;
    o->N = ntr + nte;
    o->prompts = xmalloc(sizeof(int) * (size_t)o->N * Tp);
    *stream = xmalloc(sizeof(uint64_t) * (size_t)o->N);
    memcpy(o->prompts, ptr, sizeof(int) * (size_t)ntr * Tp);
    memcpy(o->prompts + (size_t)ntr * Tp, pte, sizeof(int) * (size_t)nte * Tp);
    memcpy(*stream, str, sizeof(uint64_t) * (size_t)ntr);
    memcpy(*stream + ntr, ste, sizeof(uint64_t) * (size_t)nte);
  }
  xfree(&ptr);
  xfree(&pte);
  xfree(&str);
  xfree(&ste);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

int stage_prefs(oo_run *run) {
  const oo_config *cfg = &run->cfg;
  const oo_comms *cm = &run->comms;
  char policy_path[4400], gold_path[4400], partial[4400];
  CHECK(pretrain_lm_path(run, &cfg->pretrain.policy, policy_path, sizeof policy_path));
  CHECK(run_world_path(run, "gold.h5", gold_path, sizeof gold_path));
  CHECK(run_path(run, "prefs.partial.h5", partial, sizeof partial));
  REQUIRE(oo_file_exists(policy_path), "prefs: pi_init '%s' does not exist: run `overopt stage pretrain` first",
          policy_path);
  prefs_out o;
  memset(&o, 0, sizeof o);
  o.prompt_len = cfg->prefs.prompt_len;
  o.response_len = cfg->prefs.response_len;
  o.Tmax = o.prompt_len + o.response_len + 2;
  uint64_t *stream = NULL;
  CHECK(all_prompts(cfg, &o, &stream));
  gpt policy;
  gold_model gold;
  memset(&policy, 0, sizeof policy);
  memset(&gold, 0, sizeof gold);
  int rc = gpt_load(&policy, policy_path, GPT_LM);
  if (!rc) rc = gold_load(&gold, gold_path);
  if (!rc && cm->rank == 0) {
    o.tok = xmalloc(sizeof(int) * (size_t)o.N * 2 * o.Tmax);
    o.lens = xmalloc(sizeof(int) * (size_t)o.N * 2);
    o.gold = xmalloc(sizeof(float) * (size_t)o.N * 2);
  }
  if (!rc) {
    LOG_INFO("prefs: pi_init %s writes 2 responses (temperature %g, top-p %g, at most %d bytes) to %d prompts; "
             "gold %s (%s)",
             policy_path, cfg->prefs.temperature, cfg->prefs.top_p, o.response_len, o.N, gold_kind_name(gold.kind), gold_path);
    sample_spec spec = {o.prompt_len, o.response_len, 2, (uint64_t)cfg->run.seed, RNG_PREFS, (float)cfg->prefs.temperature, (float)cfg->prefs.top_p,
                        "prefs sampling", partial};
    rc = pi_init_sample(run, &policy, &gold, &spec, o.prompts, stream, o.N, o.tok, o.lens, o.gold);
  }
  if (!rc && !oo_stopped() && cm->rank == 0) rc = label_and_write(run, &o);
  if (!rc && !oo_stopped() && cm->rank == 0) unlink(partial); /* the sampling's resume file (sampling.h) */
  rc = oo_agree(cm->world, rc, "rank 0 could not label or write the preference set");
  gpt_free(&policy);
  gold_free(&gold);
  xfree(&o.prompts);
  xfree(&o.tok);
  xfree(&o.lens);
  xfree(&o.gold);
  xfree(&stream);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__); /* stopped: prefs.partial.h5 holds the pairs so far */
  return OO_OK;
}
