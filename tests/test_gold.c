/* test_gold: the gold reward model and the scorers under it.
 * - gpt_score_last equals the scalar head read by hand from gpt_forward of each sequence alone
 *   (to float rounding: it takes the KV-cache path, whose attention sums in another order), for
 *   mixed lengths, chunks that do not divide n, -1 padding, and chunks whose sequences share a
 *   prompt (fed once) or a whole sequence;
 * - gpt_mean_logprob equals a direct log-softmax computation in double;
 * - a random gold is deterministic in the seed, depends on the whole text (an early byte changes
 *   the score), and applies its calibration (raw - shift) / scale;
 * - gold.h5 round-trips bit-identically; bad files and kinds fail naming the file and attribute;
 * - a teacher gold scores the mean log-likelihood of the response.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "io/config.h"
#include "model/gpt.h"
#include "rlhf/gold.h"
#include "testing.h"

enum { N = 7, PROMPT_LEN = 12, RESPONSE_LEN = 16, TMAX = PROMPT_LEN + RESPONSE_LEN + 2 };

static void tiny_config(oo_config *cfg) {
  cfg_defaults(cfg);
  cfg->run.world_seed = 11;
  cfg->pretrain.n_ctx = 48;
  cfg->gold.size = (cfg_size){32, 2, 2};
  cfg->gold.init_scale = 0.5;
  cfg->prefs.prompt_len = PROMPT_LEN;
  cfg->prefs.response_len = RESPONSE_LEN;
  snprintf(cfg->gold.kind, sizeof cfg->gold.kind, "random");
}

/* N sequences [EOT, PROMPT_LEN prompt bytes, response of varying length], padded with -1. */
static void make_batch(int *tok, int *lens) {
  oo_rng r = oo_rng_make(5, RNG_TEST, 0, 0);
  for (int i = 0; i < N; i++) {
    lens[i] = 1 + PROMPT_LEN + 1 + (int)oo_rng_below(&r, RESPONSE_LEN + 1); /* 1..RESPONSE_LEN+1 response tokens */
    for (int t = 0; t < TMAX; t++) tok[i * TMAX + t] = t < lens[i] ? (int)oo_rng_below(&r, 256) : -1;
    tok[i * TMAX] = GPT_EOT;
    if (i % 3 == 0) tok[i * TMAX + lens[i] - 1] = GPT_EOT; /* some end with end-of-text */
  }
}

static int nonzero_error(void) {
  int bad = oo_error_message()[0] != '\0';
  oo_error_clear();
  return bad;
}

static void test_score_last_by_hand(void) {
  oo_config cfg;
  tiny_config(&cfg);
  gold_model g;
  EXPECT_OK(gold_build(&g, &cfg, NULL));
  int tok[N * TMAX], lens[N];
  make_batch(tok, lens);
  float raw[N], by_hand[N];
  gpt_score_last(&g.model, tok, lens, N, TMAX, 3, raw);
  gpt m2; /* a fresh copy, so nothing is shared with the chunked run */
  EXPECT_OK(gpt_create(&m2, g.model.d, GPT_REWARD));
  memcpy(m2.params, g.model.params, sizeof(float) * m2.n_params);
  double worst = 0;
  for (int i = 0; i < N; i++) {
    int seq[TMAX];
    memcpy(seq, tok + i * TMAX, sizeof(int) * (size_t)lens[i]);
    gpt_forward(&m2, seq, 1, lens[i]);
    by_hand[i] = gpt_scalar_out(&m2)[lens[i] - 1];
    double e = fabs((double)raw[i] - by_hand[i]);
    worst = e > worst ? e : worst;
    /* chunked batch vs one sequence: other sgemm shapes, other summation orders */
    EXPECT_NEAR(raw[i], by_hand[i], tol_gpt_forward(g.model.d.C, g.model.d.L, TMAX, fabs(by_hand[i])));
  }
  printf("gpt_score_last vs forward by hand: largest difference %.3g over %d sequences\n", worst, N);
  /* The chunk size does not change results beyond rounding. */
  float one[N];
  gpt_score_last(&g.model, tok, lens, N, TMAX, 1, one);
  for (int i = 0; i < N; i++) EXPECT_NEAR(one[i], by_hand[i], 1e-5 * (1 + fabs(by_hand[i])));
  /* A shared prompt (every sequence gets sequence 0's first 1 + PROMPT_LEN tokens; sequence 5 is sequence
   * 0 whole, so the shared prefix stops one short of the shortest length) goes through once. */
  for (int i = 1; i < N; i++) memcpy(tok + i * TMAX, tok, sizeof(int) * (1 + PROMPT_LEN));
  lens[5] = lens[0];
  memcpy(tok + 5 * TMAX, tok, sizeof(int) * TMAX);
  float shared[N];
  gpt_score_last(&g.model, tok, lens, N, TMAX, 4, shared);
  worst = 0;
  for (int i = 0; i < N; i++) {
    gpt_forward(&m2, tok + i * TMAX, 1, lens[i]);
    const float want = gpt_scalar_out(&m2)[lens[i] - 1];
    worst = fmax(worst, fabs((double)shared[i] - want));
    EXPECT_NEAR(shared[i], want, 1e-5 * (1 + fabs(want)));
  }
  printf("gpt_score_last with a shared prompt vs forward by hand: largest difference %.3g\n", worst);
  gpt_free(&m2);
  gold_free(&g);
}

static void test_mean_logprob_direct(void) {
  gpt lm;
  gpt_dims d = {GPT_VOCAB, 48, 32, 1, 2};
  EXPECT_OK(gpt_create(&lm, d, GPT_LM));
  gpt_init_weights(&lm, 99, 0.3f, 0.0f); /* large weights: far from uniform predictions */
  int tok[N * TMAX], lens[N];
  make_batch(tok, lens);
  const int start = 1 + PROMPT_LEN;
  float got[N];
  gpt_mean_logprob(&lm, tok, lens, N, TMAX, start, 4, got);
  double worst = 0, spread = 0;
  for (int i = 0; i < N; i++) {
    int seq[TMAX];
    memcpy(seq, tok + i * TMAX, sizeof(int) * (size_t)lens[i]);
    gpt_forward(&lm, seq, 1, lens[i]);
    const float *z = gpt_logits(&lm);
    double sum = 0;
    for (int t = start; t < lens[i]; t++) {
      const float *row = z + (size_t)(t - 1) * GPT_VOCAB;
      double se = 0;
      for (int v = 0; v < GPT_VOCAB; v++) se += exp((double)row[v]);
      sum += (double)row[seq[t]] - log(se);
    }
    double want = sum / (lens[i] - start);
    double e = fabs(got[i] - want);
    worst = e > worst ? e : worst;
    spread += fabs(want - log(1.0 / GPT_VOCAB));
    EXPECT_NEAR(got[i], want, tol_gpt_forward(d.C, d.L, TMAX, fabs(want)));
  }
  printf("gpt_mean_logprob vs direct: largest difference %.3g; mean |logp - log(1/V)| %.3f\n", worst, spread / N);
  EXPECT(spread / N > 0.05); /* the test model is not trivially uniform */
  /* len <= start scores 0 */
  int short_len = start;
  float z0 = 1;
  gpt_mean_logprob(&lm, tok, &short_len, 1, TMAX, start, 4, &z0);
  EXPECT(z0 == 0.0f);
  gpt_free(&lm);
}

static void test_random_gold(void) {
  oo_config cfg;
  tiny_config(&cfg);
  gold_model a, b;
  EXPECT_OK(gold_build(&a, &cfg, NULL));
  EXPECT_OK(gold_build(&b, &cfg, NULL));
  EXPECT(a.kind == GOLD_RANDOM && a.model.kind == GPT_REWARD && a.shift == 0.0 && a.scale == 1.0);
  int tok[N * TMAX], lens[N];
  make_batch(tok, lens);
  float sa[N], sb[N], again[N];
  EXPECT_OK(gold_score(&a, tok, lens, N, TMAX, sa));
  EXPECT_OK(gold_score(&b, tok, lens, N, TMAX, sb));
  EXPECT_OK(gold_score(&a, tok, lens, N, TMAX, again));
  EXPECT(memcmp(sa, sb, sizeof sa) == 0);    /* same seed, same model */
  EXPECT(memcmp(sa, again, sizeof sa) == 0); /* no hidden state */
  int distinct = 0;
  for (int i = 1; i < N; i++) distinct += sa[i] != sa[0];
  EXPECT(distinct == N - 1);

  /* Depends on the whole text: change the first prompt byte of each sequence. */
  int tok2[N * TMAX];
  memcpy(tok2, tok, sizeof tok);
  for (int i = 0; i < N; i++) tok2[i * TMAX + 1] = (tok[i * TMAX + 1] + 1) % 256;
  float s2[N];
  EXPECT_OK(gold_score(&a, tok2, lens, N, TMAX, s2));
  double min_change = 1e30;
  for (int i = 0; i < N; i++) {
    double c = fabs((double)s2[i] - sa[i]);
    min_change = c < min_change ? c : min_change;
    EXPECT_MSG(s2[i] != sa[i], "sequence %d: changing byte 1 left the score at %g", i, (double)sa[i]);
  }
  printf("random gold: smallest score change from editing byte 1: %.3g\n", min_change);

  /* Another world seed is another function. */
  cfg.run.world_seed = 12;
  gold_model c;
  EXPECT_OK(gold_build(&c, &cfg, NULL));
  float sc[N];
  EXPECT_OK(gold_score(&c, tok, lens, N, TMAX, sc));
  EXPECT(memcmp(sa, sc, sizeof sa) != 0);
  gold_free(&c);

  /* Calibration: (raw - shift) / scale with float-rounded shift and scale. */
  const double shift = 0.3, scale = 1.7;
  EXPECT_OK(gold_set_calibration(&a, shift, scale));
  EXPECT_MSG(a.shift == (double)(float)shift && a.scale == (double)(float)scale, "shift %.17g scale %.17g", a.shift, a.scale);
  float cal[N];
  EXPECT_OK(gold_score(&a, tok, lens, N, TMAX, cal));
  for (int i = 0; i < N; i++) EXPECT_NEAR(cal[i], ((double)sa[i] - a.shift) / a.scale, 1e-6);
  EXPECT(gold_set_calibration(&a, 0.0, 0.0) != OO_OK && nonzero_error());
  EXPECT(gold_set_calibration(&a, NAN, 1.0) != OO_OK && nonzero_error());

  /* gold.h5 round trip: bit-identical calibrated scores. */
  char path[256];
  snprintf(path, sizeof path, "test_gold_%d.h5", (int)getpid());
  h5_writer w;
  EXPECT_OK(h5_create(&w, path));
  EXPECT_OK(gold_save(&a, &w));
  EXPECT_OK(h5_commit(&w));
  gold_model l;
  EXPECT_OK(gold_load(&l, path));
  EXPECT(l.kind == GOLD_RANDOM && l.shift == a.shift && l.scale == a.scale && l.response_start == 0);
  float sl[N];
  EXPECT_OK(gold_score(&l, tok, lens, N, TMAX, sl));
  EXPECT(memcmp(sl, cal, sizeof sl) == 0);
  gold_free(&l);
  unlink(path);

  /* A plain checkpoint without gold attributes is refused, naming the attribute. */
  EXPECT_OK(gpt_save(&a.model, path, NULL, 0));
  EXPECT(gold_load(&l, path) != OO_OK);
  EXPECT_MSG(strstr(oo_error_message(), "gold_kind") && strstr(oo_error_message(), path), "message: %s",
             oo_error_message());
  oo_error_clear();
  /* gold.kind = checkpoint accepts the reward checkpoint, and refuses an LM. */
  snprintf(cfg.gold.kind, sizeof cfg.gold.kind, "checkpoint");
  snprintf(cfg.gold.checkpoint, sizeof cfg.gold.checkpoint, "%s", path);
  gold_model k;
  EXPECT_OK(gold_build(&k, &cfg, NULL));
  float sk[N];
  EXPECT_OK(gold_score(&k, tok, lens, N, TMAX, sk));
  EXPECT(memcmp(sk, sa, sizeof sk) == 0); /* raw: the checkpoint's own calibration is ignored */
  gold_free(&k);
  gpt lm;
  gpt_dims dl = {GPT_VOCAB, 48, 32, 1, 2};
  EXPECT_OK(gpt_create(&lm, dl, GPT_LM));
  gpt_init_weights(&lm, 3, 0.3f, 0.0f);
  EXPECT_OK(gpt_save(&lm, path, NULL, 0));
  EXPECT(gold_build(&k, &cfg, NULL) != OO_OK);
  EXPECT_MSG(strstr(oo_error_message(), "reward") && strstr(oo_error_message(), path), "message: %s",
             oo_error_message());
  oo_error_clear();

  /* Teacher: mean log-likelihood of the response (positions 1+PROMPT_LEN ..), calibrated. */
  snprintf(cfg.gold.kind, sizeof cfg.gold.kind, "teacher");
  cfg.gold.size = (cfg_size){32, 1, 2};
  gold_model t;
  EXPECT_OK(gold_build(&t, &cfg, path));
  EXPECT(t.kind == GOLD_TEACHER && t.response_start == 1 + PROMPT_LEN);
  float st[N], want[N];
  EXPECT_OK(gold_set_calibration(&t, -4.0, 0.5));
  EXPECT_OK(gold_score(&t, tok, lens, N, TMAX, st));
  gpt_mean_logprob(&lm, tok, lens, N, TMAX, 1 + PROMPT_LEN, 5, want);
  for (int i = 0; i < N; i++) EXPECT_NEAR(st[i], ((double)want[i] + 4.0) / 0.5, 1e-4);
  EXPECT_OK(h5_create(&w, path));
  EXPECT_OK(gold_save(&t, &w));
  EXPECT_OK(h5_commit(&w));
  EXPECT_OK(gold_load(&l, path));
  float stl[N];
  EXPECT(l.kind == GOLD_TEACHER && l.response_start == 1 + PROMPT_LEN);
  EXPECT_OK(gold_score(&l, tok, lens, N, TMAX, stl));
  EXPECT(memcmp(stl, st, sizeof stl) == 0);
  gold_free(&l);
  gold_free(&t);
  /* A teacher of another size than gold.size is refused. */
  cfg.gold.size = (cfg_size){64, 1, 2};
  EXPECT(gold_build(&t, &cfg, path) != OO_OK && nonzero_error());
  unlink(path);
  /* A missing teacher names the fix. */
  EXPECT(gold_build(&t, &cfg, "no_such_teacher.h5") != OO_OK);
  EXPECT_MSG(strstr(oo_error_message(), "overopt stage pretrain"), "message: %s", oo_error_message());
  oo_error_clear();
  /* A context too short for a sequence is refused. */
  snprintf(cfg.gold.kind, sizeof cfg.gold.kind, "random");
  cfg.gold.size = (cfg_size){32, 1, 2};
  cfg.pretrain.n_ctx = TMAX - 1;
  EXPECT(gold_build(&t, &cfg, NULL) != OO_OK);
  EXPECT_MSG(strstr(oo_error_message(), "n_ctx"), "message: %s", oo_error_message());
  oo_error_clear();
  gpt_free(&lm);
  gold_free(&a);
  gold_free(&b);
}

int main(void) {
  long live = oo_mem_live_blocks();
  test_score_last_by_hand();
  test_mean_logprob_direct();
  test_random_gold();
  EXPECT_MSG(oo_mem_live_blocks() == live, "%ld blocks leaked", oo_mem_live_blocks() - live);
  return TEST_SUMMARY();
}
