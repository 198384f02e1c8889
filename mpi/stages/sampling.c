/* sampling: pi_init sampling scored by the gold, and prompts from the pool (sampling.h). */
#include "sampling.h"

#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "data/corpus.h"

/* ---- prompts ------------------------------------------------------------------------------- */

int sample_prompts(const oo_config *cfg, int use, int **prompts, uint64_t **stream, int *count) {
  *prompts = NULL;
  *stream = NULL;
  *count = 0;
  oo_corpus c;
  CHECK(corpus_load(&c, cfg->corpus.path, cfg->corpus.delimiter, cfg->corpus.min_doc_bytes));
  int rc = corpus_split(&c, cfg->corpus.val_fraction, (uint64_t)cfg->run.world_seed);
  int *pool = NULL, n_pool = 0, first = 0, n = 0;
  if (!rc) rc = corpus_prompt_pool(&c, cfg->prefs.prompt_len, (uint64_t)cfg->run.world_seed, &pool, &n_pool);
  int need[PROMPTS_N_USES];
  corpus_prompt_needs(cfg, need);
  if (!rc) rc = corpus_prompt_range(n_pool, need, use, &first, &n);
  if (!rc) {
    const int Tp = cfg->prefs.prompt_len + 1;
    *prompts = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1) * Tp);
    *stream = xmalloc(sizeof(uint64_t) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
      corpus_prompt(&c, pool[first + i], cfg->prefs.prompt_len, *prompts + (size_t)i * Tp);
      (*stream)[i] = (uint64_t)(first + i);
    }
    *count = n;
  }
  xfree(&pool);
  corpus_free(&c);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* ---- sampling ------------------------------------------------------------------------------ */

int pi_init_sample(const oo_run *run, gpt *policy, gold_model *gold, const sample_spec *spec, const int *prompts,
                   const uint64_t *stream, int n_prompts, int *tokens, int *lens, float *scores) {
  const oo_comms *cm = &run->comms;
  const int response_len = spec->response_len, K = spec->per_prompt;
  const int Tp = spec->prompt_len + 1, Tmax = Tp + response_len + 1, max_new = response_len + 1;
  REQUIRE(K >= 1 && K <= SAMPLE_UNIT_SEQS, "pi_init_sample: %d responses per prompt (1..%d)", K, SAMPLE_UNIT_SEQS);
  REQUIRE(policy->d.T >= Tmax && gold->model.d.T >= Tmax,
          "pi_init_sample: a sequence of %d tokens does not fit pi_init (n_ctx %d) or the gold (n_ctx %d)", Tmax,
          policy->d.T, gold->model.d.T);
  /* Units of whole prompts, the same for every rank count; rank r takes a contiguous block. */
  const int unit = SAMPLE_UNIT_SEQS / K, n_units = (n_prompts + unit - 1) / unit;
  const int u0 = (int)((long)cm->rank * n_units / cm->size), u1 = (int)((long)(cm->rank + 1) * n_units / cm->size);
  const int p0 = u0 * unit < n_prompts ? u0 * unit : n_prompts;
  const int p1 = u1 * unit < n_prompts ? u1 * unit : n_prompts;
  const int n_mine = (p1 - p0) * K, B = unit * K;

  int *loc_tok = xmalloc(sizeof(int) * (size_t)(n_mine > 0 ? n_mine : 1) * Tmax);
  int *loc_len = xmalloc(sizeof(int) * (size_t)(n_mine > 0 ? n_mine : 1));
  float *loc_score = xmalloc(sizeof(float) * (size_t)(n_mine > 0 ? n_mine : 1));
  int *batch_prompt = xmalloc(sizeof(int) * (size_t)B * Tp);
  int *out_tok = xmalloc(sizeof(int) * (size_t)B * max_new);
  int *out_len = xmalloc(sizeof(int) * (size_t)B);
  oo_rng *rng = xmalloc(sizeof(oo_rng) * (size_t)B);
  gpt_kvcache kv;
  memset(&kv, 0, sizeof kv);
  int rc = gpt_kv_create(&kv, policy, B);
  gpt_sample_opts opts = {spec->temperature, spec->top_p, 0, max_new, 1};

  oo_progress prog;
  oo_progress_start(&prog, spec->what, u1 - u0, "seq");
  int stopped = 0;
  for (int u = u0; u < u1 && !rc; u++) { /* no allocation in this loop */
    if (oo_stop_local()) { /* units differ by rank: the ranks agree below, at the end of sampling */
      stopped = 1;
      break;
    }
    int a = u * unit, b = a + unit < n_prompts ? a + unit : n_prompts, nb = (b - a) * K;
    for (int i = a; i < b; i++)
      for (int j = 0; j < K; j++) {
        int row = (i - a) * K + j;
        memcpy(batch_prompt + (size_t)row * Tp, prompts + (size_t)i * Tp, sizeof(int) * (size_t)Tp);
        rng[row] = oo_rng_make(spec->seed, spec->purpose, stream[i], (uint64_t)j);
      }
    rc = gpt_generate(policy, &kv, batch_prompt, Tp, nb, &opts, rng, out_tok, out_len, NULL);
    if (rc) break;
    for (int r = 0; r < nb; r++) {
      const int *gen = out_tok + (size_t)r * max_new;
      int n_resp = out_len[r];
      if (n_resp == max_new && gen[max_new - 1] != GPT_EOT) n_resp = response_len; /* no end-of-text */
      int *seq = loc_tok + ((size_t)(a - p0) * K + r) * Tmax;
      memcpy(seq, batch_prompt + (size_t)r * Tp, sizeof(int) * (size_t)Tp);
      memcpy(seq + Tp, gen, sizeof(int) * (size_t)n_resp);
      for (int t = Tp + n_resp; t < Tmax; t++) seq[t] = -1;
      loc_len[(size_t)(a - p0) * K + r] = Tp + n_resp;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "rank 0's share of %d prompts", n_prompts);
    oo_progress_update(&prog, u - u0 + 1, (double)(b - p0) * K, extra);
  }
  /* One gold chunk per unit: every rank's block starts at a unit boundary, so chunks align. */
  if (!rc && !stopped) rc = gold_score_chunked(gold, B, loc_tok, loc_len, n_mine, Tmax, loc_score);
  gpt_kv_free(&kv);
  xfree(&batch_prompt);
  xfree(&out_tok);
  xfree(&out_len);
  xfree(&rng);

  /* A failure or a stop request on one rank must not leave the others in the gathers. */
  rc = oo_agree(cm->world, rc, "pi_init sampling failed on another rank");
  if (!rc && !oo_stop_requested(cm->world)) {
    int *cnt = NULL, *disp = NULL;
    if (cm->rank == 0) {
      cnt = xmalloc(sizeof(int) * (size_t)cm->size);
      disp = xmalloc(sizeof(int) * (size_t)cm->size);
      for (int q = 0; q < cm->size; q++) {
        int v0 = (int)((long)q * n_units / cm->size) * unit, v1 = (int)((long)(q + 1) * n_units / cm->size) * unit;
        v0 = v0 < n_prompts ? v0 : n_prompts;
        v1 = v1 < n_prompts ? v1 : n_prompts;
        cnt[q] = (v1 - v0) * K;
        disp[q] = v0 * K;
      }
    }
    rc = OO_MPI_RC(MPI_Gatherv(loc_len, n_mine, MPI_INT, lens, cnt, disp, MPI_INT, 0, cm->world));
    if (!rc) rc = OO_MPI_RC(MPI_Gatherv(loc_score, n_mine, MPI_FLOAT, scores, cnt, disp, MPI_FLOAT, 0, cm->world));
    if (!rc && cm->rank == 0)
      for (int q = 0; q < cm->size; q++) {
        cnt[q] *= Tmax;
        disp[q] *= Tmax;
      }
    if (!rc) rc = OO_MPI_RC(MPI_Gatherv(loc_tok, n_mine * Tmax, MPI_INT, tokens, cnt, disp, MPI_INT, 0, cm->world));
    xfree(&cnt);
    xfree(&disp);
  }
  xfree(&loc_tok);
  xfree(&loc_len);
  xfree(&loc_score);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}
