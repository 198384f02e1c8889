/* gold: building, scoring, saving and loading the gold reward model (gold.h). */
#include "rlhf/gold.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rlhf/rlhf.h"

static const char *const gold_kind_names[] = {"random", "teacher", "checkpoint"};

/* Stream index of the random gold's initialization seed within (run.world_seed, RNG_GOLD); calibration
 * prompts use the same purpose with a = prompt pool index < 2^31, so the two never meet. */
#define GOLD_INIT_STREAM UINT64_MAX

int gold_kind_parse(gold_kind *kind, const char *name) {
  for (int i = 0; i < 3; i++)
    if (strcmp(name, gold_kind_names[i]) == 0) {
      *kind = (gold_kind)i;
      return OO_OK;
    }
  OO_FAIL("unknown gold kind '%s': expected random, teacher or checkpoint", name);
}

const char *gold_kind_name(gold_kind kind) {
  return kind >= GOLD_RANDOM && kind <= GOLD_CHECKPOINT ? gold_kind_names[kind] : "?";
}

/* The model must read a whole sequence [EOT, prompt, response, EOT]. */
static int check_context(const gold_model *g, const oo_config *cfg, const char *what) {
  int need = 1 + cfg->prefs.prompt_len + cfg->prefs.response_len + 1;
  REQUIRE(g->model.d.T >= need,
          "gold %s: n_ctx = %d is shorter than a sequence (1 + prefs.prompt_len %d + prefs.response_len %d + 1"
          " = %d): use a gold model with a longer context or shorter prompts/responses",
          what, g->model.d.T, cfg->prefs.prompt_len, cfg->prefs.response_len, need);
  return OO_OK;
}

int gold_build(gold_model *g, const oo_config *cfg, const char *lm_teacher_path) {
  memset(g, 0, sizeof *g);
  CHECK(gold_kind_parse(&g->kind, cfg->gold.kind));
  g->shift = 0.0;
  g->scale = 1.0;
  const cfg_size *s = &cfg->gold.size;
  switch (g->kind) {
  case GOLD_RANDOM: {
    gpt_dims d = {GPT_VOCAB, cfg->pretrain.n_ctx, s->d_model, s->n_layer, s->n_head};
    CHECK(gpt_create(&g->model, d, GPT_REWARD));
    oo_rng r = oo_rng_make((uint64_t)cfg->run.world_seed, RNG_GOLD, GOLD_INIT_STREAM, 0);
    float std = (float)cfg->gold.init_scale;
    gpt_init_weights(&g->model, oo_rng_u64(&r), std, std);
    break;
  }
  case GOLD_TEACHER: {
    REQUIRE(lm_teacher_path && lm_teacher_path[0], "gold.kind = \"teacher\" needs the teacher LM's path");
    REQUIRE(oo_file_exists(lm_teacher_path),
            "gold.kind = \"teacher\": the teacher LM '%s' does not exist: run `overopt stage pretrain` first "
            "(it trains the teacher of gold.size for gold.teacher_steps steps)",
            lm_teacher_path);
    CHECK(gpt_load(&g->model, lm_teacher_path, GPT_LM));
    const gpt_dims d = g->model.d;
    if (d.C != s->d_model || d.L != s->n_layer || d.NH != s->n_head) {
      gpt_free(&g->model);
      OO_FAIL("gold teacher '%s' is d_model %d n_layer %d n_head %d but gold.size is %d/%d/%d: rerun "
              "`overopt stage pretrain`",
              lm_teacher_path, d.C, d.L, d.NH, s->d_model, s->n_layer, s->n_head);
    }
    g->response_start = 1 + cfg->prefs.prompt_len;
    break;
  }
  case GOLD_CHECKPOINT: {
    const char *path = cfg->gold.checkpoint;
    REQUIRE(path[0], "gold.kind = \"checkpoint\" requires gold.checkpoint, the path of a reward checkpoint");
    REQUIRE(oo_file_exists(path), "gold.checkpoint = '%s' does not exist: give the path of a reward checkpoint",
            path);
    gpt probe;
    memset(&probe, 0, sizeof probe);
    int rc = gpt_load(&probe, path, -1);
    if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
    if (probe.kind != GPT_REWARD) {
      int k = (int)probe.kind;
      gpt_free(&probe);
      OO_FAIL("gold.checkpoint = '%s' is a%s %s checkpoint, but the gold must be a reward model (kind "
              "'reward', a scalar head read at the last token): give a reward checkpoint, or use "
              "gold.kind = \"teacher\" for a language model",
              path, k == GPT_LM ? "n" : "", k == GPT_LM ? "lm" : "value");
    }
    g->model = probe;
    g->model.reward_shift = 0.0f; /* recalibrated by the gold stage */
    g->model.reward_scale = 1.0f;
    break;
  }
  }
  int rc = check_context(g, cfg, gold_kind_name(g->kind));
  if (rc) {
    gold_free(g);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}

void gold_free(gold_model *g) {
  gpt_free(&g->model);
  xfree(&g->sel_tok);
  xfree(&g->sel_len);
  xfree(&g->sel_idx);
  xfree(&g->sel_out);
  memset(g, 0, sizeof *g);
}

int gold_set_calibration(gold_model *g, double shift, double scale) {
  REQUIRE(isfinite(shift) && isfinite(scale) && scale > 0.0,
          "gold calibration: shift %g, scale %g (scale must be finite and > 0: pi_init's responses all got the "
          "same gold score)",
          shift, scale);
  /* Round through volatile floats: GCC 12.2 at -O2 and above vectorizes the pair
   * `a = (double)(float)x; b = (double)(float)y;` into one conversion and drops the rounding
   * (observed on Debian 12's gcc 12.2.0-14), which would make a reloaded gold score differently. */
  volatile float fs = (float)shift, fc = (float)scale;
  g->model.reward_shift = fs;
  g->model.reward_scale = fc;
  REQUIRE(g->model.reward_scale > 0.0f, "gold calibration: scale %g underflows float", scale);
  g->shift = g->model.reward_shift;
  g->scale = g->model.reward_scale;
  return OO_OK;
}

int gold_score(gold_model *g, const int *tokens, const int *lens, int n, int Tmax, float *out) {
  return gold_score_chunked(g, GOLD_CHUNK, tokens, lens, n, Tmax, out);
}

int gold_score_chunked(gold_model *g, int chunk, const int *tokens, const int *lens, int n, int Tmax, float *out) {
  REQUIRE(n >= 0 && Tmax >= 1 && Tmax <= g->model.d.T, "gold_score: n = %d, Tmax = %d (gold n_ctx %d)", n, Tmax,
          g->model.d.T);
  for (int i = 0; i < n; i++)
    REQUIRE(lens[i] >= 1 && lens[i] <= Tmax, "gold_score: sequence %d has length %d outside 1..%d", i, lens[i],
            Tmax);
  if (chunk <= 0) chunk = GOLD_CHUNK;
  if (g->kind == GOLD_TEACHER)
    gpt_mean_logprob(&g->model, tokens, lens, n, Tmax, g->response_start, chunk, out);
  else
    gpt_score_last(&g->model, tokens, lens, n, Tmax, chunk, out);
  calib_apply(out, n, g->shift, g->scale);
  return OO_OK;
}

int gold_save(const gold_model *g, h5_writer *w) {
  gpt m = g->model; /* shallow copy: writes the calibration through the checkpoint attributes */
  m.reward_shift = (float)g->shift;
  m.reward_scale = (float)g->scale;
  CHECK(gpt_write(&m, w, "", 0));
  CHECK(h5_attr_write_str(w, "/", "gold_kind", gold_kind_name(g->kind)));
  CHECK(h5_attr_write_int(w, "/", "response_start", g->response_start));
  return OO_OK;
}

static int load_attrs(gold_model *g, h5_reader *r) {
  const char *path = r->path;
  REQUIRE(h5_attr_has(r, "/", "gold_kind"),
          "gold file '%s': attribute 'gold_kind' is missing (not written by `overopt stage gold`?): rerun "
          "`overopt stage gold`",
          path);
  char kind[32] = "";
  CHECK(h5_attr_read_str(r, "/", "gold_kind", kind, sizeof kind));
  if (gold_kind_parse(&g->kind, kind)) {
    oo_error_clear();
    OO_FAIL("gold file '%s': attribute 'gold_kind' = '%s' is not random, teacher or checkpoint", path, kind);
  }
  gpt_kind want = g->kind == GOLD_TEACHER ? GPT_LM : GPT_REWARD;
  REQUIRE(g->model.kind == want, "gold file '%s': attribute 'gold_kind' = '%s' needs a%s %s model, the file holds "
          "kind %d", path, kind, want == GPT_LM ? "n" : "", want == GPT_LM ? "lm" : "reward", (int)g->model.kind);
  REQUIRE(h5_attr_has(r, "/", "response_start"), "gold file '%s': attribute 'response_start' is missing", path);
  long rs = 0;
  CHECK(h5_attr_read_int(r, "/", "response_start", &rs));
  if (g->kind == GOLD_TEACHER)
    REQUIRE(rs >= 1 && rs < g->model.d.T,
            "gold file '%s': attribute 'response_start' = %ld must be in [1, n_ctx = %d) for a teacher gold", path,
            rs, g->model.d.T);
  else
    REQUIRE(rs == 0, "gold file '%s': attribute 'response_start' = %ld must be 0 for a %s gold", path, rs, kind);
  g->response_start = (int)rs;
  REQUIRE(isfinite(g->model.reward_shift) && isfinite(g->model.reward_scale) && g->model.reward_scale > 0.0f,
          "gold file '%s': attributes 'reward_shift' = %g, 'reward_scale' = %g (need finite values, scale > 0)",
          path, (double)g->model.reward_shift, (double)g->model.reward_scale);
  g->shift = g->model.reward_shift;
  g->scale = g->model.reward_scale;
  return OO_OK;
}

int gold_load(gold_model *g, const char *path) {
  memset(g, 0, sizeof *g);
  REQUIRE(oo_file_exists(path), "gold file '%s' does not exist: run `overopt stage gold` first", path);
  h5_reader r;
  CHECK(h5_open(&r, path));
  int rc = gpt_read(&g->model, &r, "", -1, 0);
  if (!rc) rc = load_attrs(g, &r);
  h5_close(&r);
  if (rc) {
    gold_free(g);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  return OO_OK;
}
