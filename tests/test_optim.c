/* test_optim: the single-process optimizer step (src/model/gpt.h gpt_optim_lr, gpt_clip_grad_to,
 * gpt_optim_update) against values worked out by hand, on a tiny LM.
 * - Schedule (warm-up 4, total 12, lr 1e-3 -> 1e-4): step 0 lr/4, step 3 lr, step 8 (half way
 *   through the cosine) (lr + lr_min)/2, step 12 and beyond lr_min.
 * - Clip given a norm: with norm 4 and max_norm 1 every gradient is multiplied by exactly 1/4
 *   (a power of two: exact); a norm below max_norm leaves them alone.
 * - AdamW, first step, gradient g after the clip: m = (1 - b1) g, v = (1 - b2) g^2, so
 *   m / (1 - b1) = g and sqrt(v / (1 - b2)) = |g| and p1 = p0 - lr (g / (|g| + eps) + wd p0) with
 *   wd only on matrices and embeddings (wte here), not on LayerNorm (ln1_b).
 * - Second step, gradient h: m2 = b1 m + (1 - b1) h, v2 = b2 v + (1 - b2) h^2, bias corrections
 *   1 - b1^2 and 1 - b2^2, p2 = p1 - lr2 (m2/(1-b1^2) / (sqrt(v2/(1-b2^2)) + eps) + wd p1).
 * Tolerance: float arithmetic of a few operations on each update, 8 ulp of the update's largest
 * term (lr), plus 2^-24 |p|. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/gpt.h"
#include "testing.h"

int main(void) {
  const gpt_optim o = {1e-3f, 1e-4f, 4, 12, 0.1f, 1.0f};
  EXPECT_NEAR(gpt_optim_lr(&o, 0), 1e-3 / 4, 1e-10);
  EXPECT_NEAR(gpt_optim_lr(&o, 3), 1e-3, 1e-10);
  EXPECT_NEAR(gpt_optim_lr(&o, 8), 0.5 * (1e-3 + 1e-4), 1e-10);
  EXPECT(gpt_optim_lr(&o, 12) == 1e-4f && gpt_optim_lr(&o, 99) == 1e-4f);

  gpt m;
  const gpt_dims d = {GPT_VOCAB, 8, 8, 1, 2};
  EXPECT_OK(gpt_create(&m, d, GPT_LM));
  gpt_init_weights(&m, 3, 0.5f, 0.0f);
  gpt_alloc_train(&m);
  oo_rng r = oo_rng_make(11, RNG_TEST, 0, 0);
  for (size_t i = 0; i < m.n_params; i++) m.grads[i] = oo_rng_normal(&r);
  /* clip given a norm */
  float *g0 = xmalloc_floats(m.n_params), *p0 = xmalloc_floats(m.n_params);
  memcpy(g0, m.grads, sizeof(float) * m.n_params);
  gpt_clip_grad_to(&m, 0.5f, 1.0f); /* below max_norm: unchanged */
  EXPECT(!memcmp(g0, m.grads, sizeof(float) * m.n_params));
  gpt_clip_grad_to(&m, 4.0f, 1.0f);
  size_t wrong = 0;
  for (size_t i = 0; i < m.n_params; i++) wrong += m.grads[i] != g0[i] * 0.25f;
  EXPECT_MSG(wrong == 0, "%zu gradients not scaled by exactly 1/4", wrong);

  /* first step: norm 4 -> g = g0 / 4 */
  memcpy(m.grads, g0, sizeof(float) * m.n_params);
  memcpy(p0, m.params, sizeof(float) * m.n_params);
  const float lr1 = gpt_optim_lr(&o, 0), lr2 = gpt_optim_lr(&o, 1);
  gpt_optim_update(&m, &o, lr1, 4.0f);
  EXPECT(m.step == 1);
  const size_t iw = (size_t)(m.p.wte - m.params) + 5, il = (size_t)(m.p.ln1_b - m.params) + 3;
  const size_t idx[2] = {iw, il};
  const double wd[2] = {0.1, 0.0}, b1 = 0.9, b2 = 0.95, eps = 1e-8;
  double worst = 0;
  for (int k = 0; k < 2; k++) {
    const size_t i = idx[k];
    const double g = g0[i] / 4.0, want = p0[i] - lr1 * (g / (fabs(g) + eps) + wd[k] * p0[i]);
    const double tol = 8 * 0x1p-24 * lr1 + 0x1p-24 * fabs(want);
    EXPECT_MSG(fabs(m.params[i] - want) <= tol, "step 1 param %zu: %.9g vs %.9g", i, m.params[i], want);
    worst = fmax(worst, fabs(m.params[i] - want) / tol);
  }
  /* second step: gradient h = g0 * 0.5 with norm 0.5 (no clip) */
  float p1[2] = {m.params[iw], m.params[il]};
  for (size_t i = 0; i < m.n_params; i++) m.grads[i] = g0[i] * 0.5f;
  gpt_optim_update(&m, &o, lr2, 0.5f);
  for (int k = 0; k < 2; k++) {
    const size_t i = idx[k];
    const double g = g0[i] / 4.0, h = g0[i] * 0.5;
    const double m2 = b1 * (1 - b1) * g + (1 - b1) * h, v2 = b2 * (1 - b2) * g * g + (1 - b2) * h * h;
    const double want = p1[k] - lr2 * ((m2 / (1 - b1 * b1)) / (sqrt(v2 / (1 - b2 * b2)) + eps) + wd[k] * p1[k]);
    const double tol = 8 * 0x1p-24 * lr2 + 0x1p-24 * fabs(want);
    EXPECT_MSG(fabs(m.params[i] - want) <= tol, "step 2 param %zu: %.9g vs %.9g", i, m.params[i], want);
    worst = fmax(worst, fabs(m.params[i] - want) / tol);
  }
  printf("gpt_optim_update: largest error %.3g of the tolerance over 2 steps (wte with decay, ln1_b without)\n", worst);
  xfree(&g0);
  xfree(&p0);
  gpt_free(&m);
  return TEST_SUMMARY();
}
