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

/* Rows [v0, v1) of rank q's block, in sequences (units of `unit` prompts, K responses each). */
static void block_rows(int q, int size, int n_units, int unit, int n_prompts, int K, int *v0, int *v1) {
  int a = (int)((long)q * n_units / size) * unit, b = (int)((long)(q + 1) * n_units / size) * unit;
  *v0 = (a < n_prompts ? a : n_prompts) * K;
  *v1 = (b < n_prompts ? b : n_prompts) * K;
}

/* Collective on world: rank 0's `all` split into the ranks' `loc` (scatter), or the reverse. */
static int move(const oo_comms *cm, int scatter, void *loc, int n, void *all, const int *cnt, const int *disp,
                MPI_Datatype type) {
  if (scatter) return OO_MPI_RC(MPI_Scatterv(all, cnt, disp, type, loc, n, type, 0, cm->world));
  return OO_MPI_RC(MPI_Gatherv(loc, n, type, all, cnt, disp, type, 0, cm->world));
}

/* Collective on world: every rank's rows (and, with `done`, its units' flags) to rank 0, in
 * prompt order; or from rank 0 to every rank when `scatter` is set (a resume). */
static int move_rows(const oo_comms *cm, int scatter, int n_units, int unit, int n_prompts, int K, int Tmax,
                     int *loc_tok, int *loc_len, float *loc_score, int *loc_done, int *tokens, int *lens, float *scores,
                     int *done) {
  int *cnt = xmalloc(sizeof(int) * (size_t)cm->size * 4), *disp = cnt + cm->size;
  int *ucnt = cnt + 2 * cm->size, *udisp = cnt + 3 * cm->size;
  for (int q = 0; q < cm->size; q++) {
    int v0, v1;
    block_rows(q, cm->size, n_units, unit, n_prompts, K, &v0, &v1);
    cnt[q] = v1 - v0;
    disp[q] = v0;
    udisp[q] = (int)((long)q * n_units / cm->size);
    ucnt[q] = (int)((long)(q + 1) * n_units / cm->size) - udisp[q];
  }
  const int mine = cnt[cm->rank];
  int rc = move(cm, scatter, loc_len, mine, lens, cnt, disp, MPI_INT);
  if (!rc) rc = move(cm, scatter, loc_score, mine, scores, cnt, disp, MPI_FLOAT);
  if (!rc && loc_done) rc = move(cm, scatter, loc_done, ucnt[cm->rank], done, ucnt, udisp, MPI_INT);
  for (int q = 0; q < cm->size; q++) {
    cnt[q] *= Tmax;
    disp[q] *= Tmax;
  }
  if (!rc) rc = move(cm, scatter, loc_tok, mine * Tmax, tokens, cnt, disp, MPI_INT);
  xfree(&cnt);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}

/* Rank 0: the resume file of a stopped sampling (spec->partial): the rows of every unit and
 * which units are done (rows of the others are 0), under the stage's hash. */
static int write_partial(const oo_run *run, const char *path, int n_units, int n_seq, int Tmax, const int *tokens,
                         const int *lens, const float *scores, const int *done) {
  h5_writer w;
  CHECK(h5_create(&w, path));
  long dt[2] = {n_seq, Tmax}, dn = n_seq, du = n_units;
  int rc = h5_write_i32(&w, "tokens", 2, dt, tokens);
  if (!rc) rc = h5_write_i32(&w, "lens", 1, &dn, lens);
  if (!rc) rc = h5_write_f32(&w, "scores", 1, &dn, scores);
  if (!rc) rc = h5_write_i32(&w, "done", 1, &du, done);
  if (!rc) rc = h5_attr_write_str(&w, "/", "config_hash", run->stage_hash);
  if (rc) {
    h5_discard(&w);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  CHECK(h5_commit(&w));
  return OO_OK;
}

/* Rank 0: 1 if path is a resume file of this stage (its hash) with these shapes, read into the
 * arrays; 0 otherwise, with a warning when a file was there but is not used (#12). */
static int read_partial(const oo_run *run, const char *path, int n_units, int n_seq, int Tmax, int *tokens, int *lens,
                        float *scores, int *done) {
  h5_reader r;
  if (!resume_open(&r, path, run->stage_hash, run->stage, "starting over")) return 0;
  long dt[2] = {n_seq, Tmax}, dn = n_seq, du = n_units;
  const int ok = !(h5_read_i32(&r, "tokens", 2, dt, tokens) || h5_read_i32(&r, "lens", 1, &dn, lens) ||
                   h5_read_f32(&r, "scores", 1, &dn, scores) || h5_read_i32(&r, "done", 1, &du, done));
  if (!ok) {
    LOG_WARN("%s: not resuming from '%s' (starting over): %s", run->stage, path, oo_error_message());
    oo_error_clear();
  }
  h5_close(&r);
  return ok;
}

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
  const int n_rounds = (n_units + cm->size - 1) / cm->size; /* the largest block: every rank polls as often */
  int p0, p1;
  block_rows(cm->rank, cm->size, n_units, unit, n_prompts, K, &p0, &p1);
  p0 /= K;
  p1 /= K;
  const int n_mine = (p1 - p0) * K, B = unit * K;

  int *loc_tok = xcalloc((size_t)(n_mine > 0 ? n_mine : 1) * Tmax, sizeof(int));
  int *loc_len = xcalloc((size_t)(n_mine > 0 ? n_mine : 1), sizeof(int));
  float *loc_score = xcalloc((size_t)(n_mine > 0 ? n_mine : 1), sizeof(float));
  int *loc_done = xcalloc((size_t)(u1 - u0 + 1), sizeof(int)); /* (u1-u0) units done, from a resume or now */
  int *done = cm->rank == 0 ? xcalloc((size_t)n_units + 1, sizeof(int)) : NULL; /* rank 0: (n_units) */
  int *batch_prompt = xmalloc(sizeof(int) * (size_t)B * Tp);
  int *out_tok = xmalloc(sizeof(int) * (size_t)B * max_new);
  int *out_len = xmalloc(sizeof(int) * (size_t)B);
  oo_rng *rng = xmalloc(sizeof(oo_rng) * (size_t)B);
  gpt_kvcache kv;
  memset(&kv, 0, sizeof kv);
  int rc = gpt_kv_create(&kv, policy, B);
  gpt_sample_opts opts = {spec->temperature, spec->top_p, 0, max_new, 1};

  /* A resume: rank 0 reads the file into its output arrays and hands each rank its block. */
  int resumed = cm->rank == 0 && spec->partial &&
                read_partial(run, spec->partial, n_units, n_prompts * K, Tmax, tokens, lens, scores, done);
  CHECK_MPI_DIE(MPI_Bcast(&resumed, 1, MPI_INT, 0, cm->world));
  if (resumed && move_rows(cm, 1, n_units, unit, n_prompts, K, Tmax, loc_tok, loc_len, loc_score, loc_done, tokens,
                           lens, scores, done))
    oo_mpi_die(OO_ERR); /* a failed collective: the ranks cannot agree on anything else */
  if (resumed) {
    if (cm->rank == 0) {
      int n_done = 0;
      for (int u = 0; u < n_units; u++) n_done += done[u] != 0;
      LOG_INFO("%s: resuming with %d of %d units of %d sequences done, from %s", spec->what, n_done, n_units, B,
               spec->partial);
    }
  }

  oo_progress prog;
  oo_progress_start(&prog, spec->what, u1 - u0, "seq");
  int stopped = 0;
  for (int round = 0; round < n_rounds; round++) { /* no allocation in this loop */
    /* Every rank polls once per round, with or without a unit left: a stop lands within a unit. */
    if (oo_stop_requested(cm->world)) {
      stopped = 1;
      break;
    }
    int u = u0 + round;
    if (rc || u >= u1 || loc_done[u - u0]) continue; /* after an error: keep polling, fail below */
    int a = u * unit, b = a + unit < n_prompts ? a + unit : n_prompts, nb = (b - a) * K;
    for (int i = a; i < b; i++)
      for (int j = 0; j < K; j++) {
        int row = (i - a) * K + j;
        memcpy(batch_prompt + (size_t)row * Tp, prompts + (size_t)i * Tp, sizeof(int) * (size_t)Tp);
        rng[row] = oo_rng_make(spec->seed, spec->purpose, stream[i], (uint64_t)j);
      }
    rc = gpt_generate(policy, &kv, batch_prompt, Tp, nb, &opts, rng, out_tok, out_len, NULL);
    if (rc) continue;
    int *seq0 = loc_tok + (size_t)(a - p0) * K * Tmax, *len0 = loc_len + (size_t)(a - p0) * K;
    for (int r = 0; r < nb; r++) {
      const int *gen = out_tok + (size_t)r * max_new;
      int n_resp = out_len[r];
      if (n_resp == max_new && gen[max_new - 1] != GPT_EOT) n_resp = response_len; /* no end-of-text */
      int *seq = seq0 + (size_t)r * Tmax;
      memcpy(seq, batch_prompt + (size_t)r * Tp, sizeof(int) * (size_t)Tp);
      memcpy(seq + Tp, gen, sizeof(int) * (size_t)n_resp);
      for (int t = Tp + n_resp; t < Tmax; t++) seq[t] = -1;
      len0[r] = Tp + n_resp;
    }
    /* one gold chunk per unit: the same chunks for every rank count */
    rc = gold_score_chunked(gold, B, seq0, len0, nb, Tmax, loc_score + (size_t)(a - p0) * K);
    if (rc) continue;
    loc_done[u - u0] = 1;
    char extra[64];
    snprintf(extra, sizeof extra, "rank 0's share of %d prompts", n_prompts);
    oo_progress_update(&prog, u - u0 + 1, (double)(b - p0) * K, extra);
  }
  gpt_kv_free(&kv);
  xfree(&batch_prompt);
  xfree(&out_tok);
  xfree(&out_len);
  xfree(&rng);

  /* A failure on one rank must not leave the others in the gathers; a stop is agreed already (every
   * rank left the loop at the same round). */
  rc = oo_agree(cm->world, rc, "pi_init sampling failed on another rank");
  if (!rc)
    rc = move_rows(cm, 0, n_units, unit, n_prompts, K, Tmax, loc_tok, loc_len, loc_score, stopped ? loc_done : NULL,
                   tokens, lens, scores, done);
  if (!rc && stopped && cm->rank == 0 && spec->partial) { /* the units done, written whole or not at all */
    if (write_partial(run, spec->partial, n_units, n_prompts * K, Tmax, tokens, lens, scores, done))
      LOG_WARN("%s: could not write the resume file: %s", spec->what, oo_error_message());
    else
      LOG_INFO("%s: stopped; %s holds the units done, to resume from", spec->what, spec->partial);
    oo_error_clear();
  }
  xfree(&loc_tok);
  xfree(&loc_len);
  xfree(&loc_score);
  xfree(&loc_done);
  xfree(&done);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  return OO_OK;
}
