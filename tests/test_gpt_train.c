/* test_gpt_train: a tiny LM overfits a repeated sequence; forward is batch-independent,
 * causal, and the same with or without training buffers (inference reuses one layer's
 * activations); scalar heads are batch-independent too. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "model/gpt.h"
#include "testing.h"

static const gpt_dims dims = {GPT_VOCAB, 16, 32, 2, 2};

static float max_abs_diff(const float *a, const float *b, size_t n) {
  float w = 0.0f;
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]);
    w = d > w ? d : w;
  }
  return w;
}

static void test_overfit(void) {
  gpt m;
  EXPECT_OK(gpt_create(&m, dims, GPT_LM));
  gpt_init_weights(&m, 11, 0.02f, 0.0f);
  gpt_alloc_train(&m);
  const char *text = "hello, overopt!"; /* 15 bytes: with EOT first, T = 16 */
  enum { B = 4, T = 16 };
  int tok[B * T], tgt[B * T];
  for (int b = 0; b < B; b++) {
    tok[b * T] = GPT_EOT;
    for (int t = 1; t < T; t++) tok[b * T + t] = (unsigned char)text[t - 1];
    for (int t = 0; t < T - 1; t++) tgt[b * T + t] = tok[b * T + t + 1];
    tgt[b * T + T - 1] = GPT_EOT;
  }
  const int steps = 150;
  const gpt_optim opt = {3e-3f, 3e-4f, 10, steps, 0.0f, 1.0f}; /* the stages' optimizer, on one process */
  float first = 0.0f, loss = 0.0f;
  for (int s = 0; s < steps; s++) {
    gpt_zero_grad(&m);
    gpt_forward(&m, tok, B, T);
    loss = gpt_cross_entropy(gpt_logits(&m), tgt, B * T, GPT_VOCAB, gpt_dlogits_buffer(&m));
    if (s == 0) first = loss;
    gpt_backward(&m, gpt_dlogits_buffer(&m));
    gpt_optim_update(&m, &opt, gpt_optim_lr(&opt, s), gpt_grad_norm(&m));
  }
  printf("overfit: loss %.4f -> %.4f after %d steps (need < 0.1)\n", first, loss, steps);
  EXPECT(first > 5.0f); /* ~ln 257 at init */
  EXPECT(loss < 0.1f);
  gpt_free(&m);
}

static void test_batch_causal(gpt_kind kind) {
  gpt m;
  EXPECT_OK(gpt_create(&m, dims, kind));
  gpt_init_weights(&m, 5, 0.2f, 0.5f);
  enum { T = 16 };
  oo_rng r = oo_rng_make(9, RNG_TEST, (uint64_t)kind, 0);
  int tok[2 * T];
  for (int i = 0; i < 2 * T; i++) tok[i] = i % T == 0 ? GPT_EOT : (int)oo_rng_below(&r, 256);
  const size_t per = kind == GPT_LM ? (size_t)GPT_VOCAB : 1; /* outputs per position */
  static float both[2 * T * GPT_VOCAB], one[2 * T * GPT_VOCAB];
#define OUT(m) ((m).kind == GPT_LM ? gpt_logits(&(m)) : gpt_scalar_out(&(m)))
  gpt_forward(&m, tok, 2, T);
  memcpy(both, OUT(m), sizeof(float) * 2 * T * per);
  for (int b = 0; b < 2; b++) {
    gpt_forward(&m, tok + b * T, 1, T);
    memcpy(one + b * T * per, OUT(m), sizeof(float) * T * per);
  }
  float d = max_abs_diff(both, one, 2 * T * per), scale = 0.0f;
  for (size_t i = 0; i < 2 * T * per; i++) scale = fabsf(one[i]) > scale ? fabsf(one[i]) : scale;
  const double tol = tol_gpt_forward(dims.C, dims.L, T, scale); /* other sgemm shapes: other sums */
  printf("kind %d: batch of 2 vs two of 1: max abs diff %.3g (tolerance %.3g)\n", kind, d, tol);
  EXPECT(d <= tol);

  /* causality: change token 9 of sequence 0; positions < 9 must not move at all */
  const int t0 = 9;
  int tok2[T];
  memcpy(tok2, tok, sizeof tok2);
  tok2[t0] = (tok2[t0] + 37) % 256;
  gpt_forward(&m, tok2, 1, T);
  const float *o = OUT(m);
  EXPECT(memcmp(o, one, sizeof(float) * t0 * per) == 0);
  float later = max_abs_diff(o + t0 * per, one + t0 * per, (T - t0) * per);
  printf("kind %d: causal: earlier outputs identical, later change by %.3g\n", kind, later);
  EXPECT(later > 1e-4f);

  /* training buffers (one activation set per layer) give the same outputs bit for bit */
  gpt_alloc_train(&m);
  gpt_forward(&m, tok, 2, T);
  EXPECT(memcmp(OUT(m), both, sizeof(float) * 2 * T * per) == 0);
  /* a shorter T after a longer one reuses the buffers; sgemm's rounding may differ with the
   * matrix shape, so equal up to float rounding as for the batch check */
  gpt_forward(&m, tok, 1, 5);
  EXPECT(max_abs_diff(OUT(m), one, 5 * per) <= tol);
#undef OUT
  gpt_free(&m);
}

/* An inference forward runs in chunks of sequences (gpt.c forward_chunk_seqs: 256 of T = 16 at
 * C = 32); 300 sequences make a chunk of 256 and one of 44. The training forward runs them in
 * one piece: the outputs agree as a batch and its parts do (other sgemm shapes, other sums). */
static void test_chunked_inference(gpt_kind kind) {
  enum { B = 300, T = 16 };
  gpt inf, trn;
  EXPECT_OK(gpt_create(&inf, dims, kind));
  EXPECT_OK(gpt_create(&trn, dims, kind));
  gpt_init_weights(&inf, 6, 0.2f, 0.5f);
  gpt_init_weights(&trn, 6, 0.2f, 0.5f);
  gpt_alloc_train(&trn);
  int *tok = xmalloc(sizeof(int) * B * T);
  oo_rng r = oo_rng_make(10, RNG_TEST, (uint64_t)kind, 0);
  for (int i = 0; i < B * T; i++) tok[i] = i % T == 0 ? GPT_EOT : (int)oo_rng_below(&r, 256);
  gpt_forward(&inf, tok, B, T);
  gpt_forward(&trn, tok, B, T);
  const size_t n = (size_t)B * T * (kind == GPT_LM ? GPT_VOCAB : 1);
  const float *a = kind == GPT_LM ? gpt_logits(&inf) : gpt_scalar_out(&inf);
  const float *b = kind == GPT_LM ? gpt_logits(&trn) : gpt_scalar_out(&trn);
  float scale = 0.0f;
  for (size_t i = 0; i < n; i++) scale = fabsf(b[i]) > scale ? fabsf(b[i]) : scale;
  const float d = max_abs_diff(a, b, n);
  const double tol = tol_gpt_forward(dims.C, dims.L, T, scale);
  printf("kind %d: chunked inference vs one-piece training forward, %d sequences: max abs diff %.3g "
         "(tolerance %.3g)%s\n", kind, B, d, tol, d == 0.0f ? ", bitwise equal" : "");
  EXPECT(d <= tol);
  EXPECT(max_abs_diff(gpt_final_ln(&inf), gpt_final_ln(&trn), (size_t)B * T * dims.C) <= tol);
  xfree(&tok);
  gpt_free(&inf);
  gpt_free(&trn);
}

/* gpt_alloc_train after an inference forward: the activations are laid out again for training,
 * so backward gives the gradients of a model trained from the start. With one layer both layouts
 * have one activation set, and gpt_reserve once kept the inference one (no backward buffers: a
 * crash in the cross-entropy). */
static void test_train_after_inference(int L) {
  enum { B = 3, T = 16 };
  gpt_dims d = dims;
  d.L = L;
  gpt late, early;
  EXPECT_OK(gpt_create(&late, d, GPT_LM));
  EXPECT_OK(gpt_create(&early, d, GPT_LM));
  gpt_init_weights(&late, 12, 0.02f, 0.0f);
  gpt_init_weights(&early, 12, 0.02f, 0.0f);
  int tok[B * T], tgt[B * T];
  for (int i = 0; i < B * T; i++) tok[i] = i % T == 0 ? GPT_EOT : (i * 37) % 256, tgt[i] = (i * 11) % 256;
  gpt_forward(&late, tok, B, T); /* inference layout */
  gpt_alloc_train(&late);
  gpt_alloc_train(&early);
  gpt *ms[2] = {&late, &early};
  float loss[2];
  for (int k = 0; k < 2; k++) {
    gpt_zero_grad(ms[k]);
    gpt_forward(ms[k], tok, B, T);
    EXPECT_MSG(gpt_dlogits_buffer(ms[k]) != NULL, "L=%d: no gradient buffer after gpt_alloc_train", L);
    if (!gpt_dlogits_buffer(ms[k])) return;
    loss[k] = gpt_cross_entropy(gpt_logits(ms[k]), tgt, B * T, d.V, gpt_dlogits_buffer(ms[k]));
    gpt_backward(ms[k], gpt_dlogits_buffer(ms[k]));
  }
  const float g = max_abs_diff(late.grads, early.grads, late.n_params);
  printf("L=%d: training after an inference forward: loss %.6f vs %.6f, gradients max abs diff %.3g\n", L,
         loss[0], loss[1], g);
  EXPECT(loss[0] == loss[1] && g == 0.0f);
  gpt_free(&late);
  gpt_free(&early);
}

int main(void) {
  test_train_after_inference(1);
  test_train_after_inference(2);
  test_overfit();
  test_chunked_inference(GPT_LM);
  test_chunked_inference(GPT_REWARD);
  test_batch_causal(GPT_LM);
  test_batch_causal(GPT_REWARD);
  test_batch_causal(GPT_VALUE);
  EXPECT(oo_mem_live_blocks() == 0);
  return TEST_SUMMARY();
}
