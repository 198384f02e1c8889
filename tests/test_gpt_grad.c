/* test_gpt_grad: every GPT layer's backward, and the whole model's (LM, reward and value
 * heads, and the LM with a value head whose loss is the sum of both), against central finite
 * differences; AdamW decay mask, schedule endpoints and
 * gradient clipping.
 *
 * Finite differences: the model is float32, so each check perturbs one float and evaluates a
 * loss accumulated in double from the float outputs. A difference quotient then errs by the
 * float rounding of the loss divided by the step, plus a curvature term. Each probe is held to
 * a bound measured at that probe (fd_probe, below: the loss's rounding noise by ECnoise, the
 * curvature term by Richardson extrapolation, and the analytic gradient's own float32
 * rounding), not to one tolerance for all: the earlier rule (relative error 1e-2 above a floor
 * of 1e-2) passed on this file's draws and failed on 4 of 12 others. A wrong term in a backward
 * (a missing factor, a transposed index, a missing mask) errs by the gradient's own size; the
 * bounds here are 1e-3 to 1e-1 of it, and each check needs most of its probes to be that sharp.
 * `test_gpt_grad SEED` runs every check on other random draws (ctest test_gpt_grad_seeds).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/gpt.h"
#include "model/kernels.h"
#include "testing.h"

#define H 2e-2f /* the quotients' step h (fd_probe also steps 2h and 4h) */

static oo_rng rng;
static void fill_normal(float *x, size_t n, float std, float mean) {
  for (size_t i = 0; i < n; i++) x[i] = mean + std * oo_rng_normal(&rng);
}
static double wsum(const float *w, const float *x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)w[i] * x[i];
  return s;
}

/* root mean square of g[0..n): a tensor's gradient scale */
static double rms(const float *g, size_t n) {
  double ss = 0.0;
  for (size_t j = 0; j < n; j++) ss += (double)g[j] * g[j];
  return sqrt(ss / (double)n);
}

/* Central difference of loss() with respect to x[i], step h. */
typedef double (*loss_fn)(void *ctx);
static double numeric_grad_h(float *x, size_t i, loss_fn loss, void *ctx, float h) {
  float x0 = x[i];
  x[i] = x0 + h;
  double lp = loss(ctx);
  x[i] = x0 - h;
  double lm = loss(ctx);
  x[i] = x0;
  return (lp - lm) / (2.0 * (double)h);
}
/* ---- a probe's error bound, derived at the probe ----------------------------------------------
 * Every check holds each derivative to a bound estimated where it is probed, from two sources:
 * - Rounding: near x0 the float32 loss is a smooth function plus noise of standard deviation s.
 *   s is measured where the quotients evaluate the loss (More and Wild's ECnoise): at NOISE_PTS
 *   points x0 +- h + j h/16 on each side; k-th differences of independent noise have variance
 *   C(2k,k) s^2, so s_k = rms(k-th differences) / sqrt(C(2k,k)), and s is the largest s_k, k =
 *   3..6, of either side (the smooth part left in them, (h/16)^k f^(k), can only raise it). Not
 *   at x0 with a tiny spacing: there a float32 loss is often flat or moves less than between
 *   points h apart (on the keys' bias, whose true gradient is 0, the noise within 1e-5 of x0 was
 *   1/70 of that between x0 - h and x0 + h).
 * - Curvature: Richardson's R(h) = (4 D(h) - D(2h)) / 3 of the central quotients D has error
 *   c h^4 + O(h^6), so R(2h) - R(h) = 15 c h^4: |R(2h) - R(h)| / 15 estimates it.
 * R(h)'s rounding error has standard deviation s/h sqrt(16/18 + 1/72) < s/h. The bound is
 *   K_SIGMA s / h + 2 |R(2h) - R(h)| / 15 + REL max(|g|, rms g),
 * K_SIGMA = 6 (Gaussian rounding noise: one probe in 10^8 beyond it), the curvature estimate
 * doubled for the O(h^6) rest, and REL max(|g|, rms g), REL = 1e-3, for the float32 rounding of
 * the analytic gradient, a sum of terms of the tensor's gradient scale (where the true gradient
 * is 0, as on the keys' bias, it is that rounding alone: 1.5e-8 against an exactly flat loss).
 * A wrong backward (a missing factor, a transposed index, a missing mask) errs by O(|g|) or by
 * the tensor's gradient scale (rms over all its entries), so a probe sees it where the bound is
 * small against max(|g|, rms): each check counts such probes (bound < SENSITIVE max(|g|, rms),
 * or both sides exactly 0: a token row the input never uses) and needs at least half of its
 * probes to be of that kind. (A third of qkv_b, the keys' bias, has a true gradient of 0: a
 * constant added to every key leaves the softmax unchanged.) */
#define NOISE_PTS 9
#define K_SIGMA 6.0
#define REL 1e-3
#define SENSITIVE 0.1
static double noise_at(float *x, size_t i, loss_fn loss, void *ctx, float at, float delta) {
  const float x0 = x[i];
  double f[NOISE_PTS];
  for (int j = 0; j < NOISE_PTS; j++) {
    x[i] = at + (float)(j - NOISE_PTS / 2) * delta;
    f[j] = loss(ctx);
  }
  x[i] = x0;
  double s = 0.0, binom = 1.0; /* C(2k,k) */
  for (int k = 1; k <= 6; k++) {
    for (int j = 0; j < NOISE_PTS - k; j++) f[j] = f[j + 1] - f[j]; /* k-th differences */
    binom = binom * (2 * k) * (2 * k - 1) / ((double)k * k);
    double ms = 0.0;
    for (int j = 0; j < NOISE_PTS - k; j++) ms += f[j] * f[j];
    const double sk = sqrt(ms / (NOISE_PTS - k) / binom);
    if (k >= 3 && sk > s) s = sk;
  }
  return s;
}
static double loss_noise(float *x, size_t i, loss_fn loss, void *ctx, float h) {
  const float x0 = x[i];
  return fmax(noise_at(x, i, loss, ctx, x0 + h, h / 16.0f), noise_at(x, i, loss, ctx, x0 - h, h / 16.0f));
}
typedef struct {
  double numeric; /* R(h) */
  double bound;   /* without the REL term, which check_entry adds */
} fd_estimate;
static fd_estimate fd_probe(float *x, size_t i, loss_fn loss, void *ctx, float h) {
  const double d1 = numeric_grad_h(x, i, loss, ctx, h), d2 = numeric_grad_h(x, i, loss, ctx, 2.0f * h),
               d4 = numeric_grad_h(x, i, loss, ctx, 4.0f * h);
  const double r1 = (4.0 * d1 - d2) / 3.0, r2 = (4.0 * d2 - d4) / 3.0;
  return (fd_estimate){r1, K_SIGMA * loss_noise(x, i, loss, ctx, h) / h + 2.0 * fabs(r2 - r1) / 15.0};
}
/* A derived-bound check: worst |g - R| / bound (<= 1 passes) and the probes that could see a
 * wrong backward. */
typedef struct {
  const char *name;
  double scale;     /* rms of the tensor's analytic gradient */
  double worst;     /* largest |g - R| / bound */
  double worst_rel; /* largest bound / max(|g|, scale) among the sensitive probes */
  int n, sensitive;
} check;
static void check_entry(check *c, double g, fd_estimate e) {
  const double size = fmax(fabs(g), c->scale); /* what a wrong backward errs by, at least */
  const double bound = e.bound + REL * size, r = fabs(g - e.numeric) / bound;
  if (r > c->worst) c->worst = r;
  c->n++;
  if (g == 0.0 && e.numeric == 0.0) /* an input row the loss never reads: any wrong value shows */
    c->sensitive++;
  else if (bound < SENSITIVE * size) {
    c->sensitive++;
    if (bound / size > c->worst_rel) c->worst_rel = bound / size;
  }
  if (r > 1.0)
    fprintf(stderr, "  %s: analytic %.6g numeric %.6g bound %.3g (%.2f of it)\n", c->name, g, e.numeric, bound, r);
}
static void check_done(check *c) {
  printf("%-34s entries %4d  max err/bound %.3f  sensitive %d (bound <= %.3f of the error scale)\n", c->name, c->n,
         c->worst, c->sensitive, c->worst_rel);
  EXPECT_MSG(c->worst <= 1.0, "%s: an entry is %.2f times its error bound", c->name, c->worst);
  EXPECT_MSG(2 * c->sensitive >= c->n,
             "%s: only %d of %d probes can see a wrong gradient (bound < %.1f max(|g|, rms g))", c->name,
             c->sensitive, c->n, SENSITIVE);
}

/* Probes up to k entries of x (all if n <= k) against grad. */
static void probe(check *c, float *x, const float *grad, size_t n, int k, loss_fn loss, void *ctx) {
  for (int j = 0; j < (n <= (size_t)k ? (int)n : k); j++) {
    size_t i = n <= (size_t)k ? (size_t)j : oo_rng_below(&rng, n);
    check_entry(c, grad[i], fd_probe(x, i, loss, ctx, H));
  }
}

/* ---- layernorm ----------------------------------------------------------------------------- */
enum { LN_N = 5, LN_C = 24 };
typedef struct {
  float x[LN_N * LN_C], w[LN_C], b[LN_C], out[LN_N * LN_C], mean[LN_N], rstd[LN_N], wout[LN_N * LN_C];
} ln_ctx;
static double ln_loss(void *p) {
  ln_ctx *c = p;
  kern_layernorm_forward(c->out, c->mean, c->rstd, c->x, c->w, c->b, LN_N, LN_C);
  return wsum(c->wout, c->out, LN_N * LN_C);
}
static void test_layernorm(void) {
  ln_ctx c;
  fill_normal(c.x, LN_N * LN_C, 2.0f, 0.5f);
  fill_normal(c.w, LN_C, 0.5f, 1.0f);
  fill_normal(c.b, LN_C, 0.5f, 0.0f);
  fill_normal(c.wout, LN_N * LN_C, 1.0f, 0.0f);
  float dx[LN_N * LN_C], dw[LN_C], db[LN_C];
  fill_normal(dx, LN_N * LN_C, 1.0f, 0.0f); /* backward accumulates: start from non-zero */
  fill_normal(dw, LN_C, 1.0f, 0.0f);
  fill_normal(db, LN_C, 1.0f, 0.0f);
  float dx0[LN_N * LN_C], dw0[LN_C], db0[LN_C];
  memcpy(dx0, dx, sizeof dx), memcpy(dw0, dw, sizeof dw), memcpy(db0, db, sizeof db);
  ln_loss(&c);
  kern_layernorm_backward(dx, dw, db, c.wout, c.x, c.w, c.mean, c.rstd, LN_N, LN_C);
  for (int i = 0; i < LN_N * LN_C; i++) dx[i] -= dx0[i];
  for (int i = 0; i < LN_C; i++) dw[i] -= dw0[i], db[i] -= db0[i];
  check k1 = {.name = "layernorm dinp", .scale = rms(dx, LN_N * LN_C)},
        k2 = {.name = "layernorm dweight", .scale = rms(dw, LN_C)},
        k3 = {.name = "layernorm dbias", .scale = rms(db, LN_C)};
  probe(&k1, c.x, dx, LN_N * LN_C, 1000, ln_loss, &c);
  probe(&k2, c.w, dw, LN_C, 1000, ln_loss, &c);
  probe(&k3, c.b, db, LN_C, 1000, ln_loss, &c);
  check_done(&k1), check_done(&k2), check_done(&k3);
}

/* ---- linear -------------------------------------------------------------------------------- */
enum { LI_N = 7, LI_C = 20, LI_OC = 18 };
typedef struct {
  float x[LI_N * LI_C], w[LI_OC * LI_C], b[LI_OC], r[LI_N * LI_OC], out[LI_N * LI_OC], wout[LI_N * LI_OC];
} li_ctx;
static double li_loss(void *p) {
  li_ctx *c = p;
  kern_linear_forward(c->out, c->x, c->w, c->b, c->r, LI_N, LI_C, LI_OC);
  return wsum(c->wout, c->out, LI_N * LI_OC);
}
static void test_linear(void) {
  li_ctx c;
  fill_normal(c.x, LI_N * LI_C, 1.0f, 0.0f);
  fill_normal(c.w, LI_OC * LI_C, 0.3f, 0.0f);
  fill_normal(c.b, LI_OC, 0.3f, 0.0f);
  fill_normal(c.r, LI_N * LI_OC, 1.0f, 0.0f);
  fill_normal(c.wout, LI_N * LI_OC, 1.0f, 0.0f);
  /* forward against a double reference: out = x W^T + b + r */
  li_loss(&c);
  double worst = 0.0;
  for (int n = 0; n < LI_N; n++)
    for (int o = 0; o < LI_OC; o++) {
      double s = (double)c.b[o] + c.r[n * LI_OC + o];
      for (int i = 0; i < LI_C; i++) s += (double)c.x[n * LI_C + i] * c.w[o * LI_C + i];
      worst = fmax(worst, fabs(s - c.out[n * LI_OC + o]));
    }
  printf("%-34s max abs diff %.3e\n", "linear forward vs double", worst);
  EXPECT(worst < 1e-5);
  float dx[LI_N * LI_C], dw[LI_OC * LI_C], db[LI_OC];
  memset(dx, 0, sizeof dx), memset(dw, 0, sizeof dw), memset(db, 0, sizeof db);
  kern_linear_backward(dx, dw, db, c.wout, c.x, c.w, LI_N, LI_C, LI_OC);
  check k1 = {.name = "linear dinp", .scale = rms(dx, LI_N * LI_C)},
        k2 = {.name = "linear dweight", .scale = rms(dw, LI_OC * LI_C)},
        k3 = {.name = "linear dbias", .scale = rms(db, LI_OC)};
  probe(&k1, c.x, dx, LI_N * LI_C, 60, li_loss, &c);
  probe(&k2, c.w, dw, LI_OC * LI_C, 60, li_loss, &c);
  probe(&k3, c.b, db, LI_OC, 1000, li_loss, &c);
  check_done(&k1), check_done(&k2), check_done(&k3);
}

/* kern_linear_packed (the KV-cache path's linear layer) is defined element by element: one fmaf
 * chain over the inputs in increasing order, then + (resid + bias). So it must equal that
 * chain computed here one element at a time, bit for bit, whatever N (row blocks of 4 and 64),
 * OC (full panels of 48 columns on AVX-512 CPUs, of 24 elsewhere or under OVEROPT_KERN_PANEL=24,
 * and every partial width) and which of bias and resid are given, including resid aliasing out. */
static void test_linear_packed_case(int N, int C, int OC) {
  float *x = malloc(sizeof(float) * N * C), *w = malloc(sizeof(float) * OC * C), *b = malloc(sizeof(float) * OC);
  float *r = malloc(sizeof(float) * N * OC), *out = malloc(sizeof(float) * N * OC), *want = malloc(sizeof(float) * N * OC);
  float *P = malloc(sizeof(float) * kern_packed_size(OC, C));
  fill_normal(x, (size_t)N * C, 1.0f, 0.0f), fill_normal(w, (size_t)OC * C, 0.3f, 0.0f);
  fill_normal(b, OC, 0.3f, 0.0f), fill_normal(r, (size_t)N * OC, 1.0f, 0.0f);
  kern_pack_weights(P, w, OC, C);
  int bad = 0;
  for (int mode = 0; mode < 5; mode++) { /* bias+resid, resid, bias, neither, bias + resid aliasing out */
    const float *bias = mode == 0 || mode == 2 || mode == 4 ? b : NULL, *resid = mode <= 1 || mode == 4 ? r : NULL;
    for (int n = 0; n < N; n++)
      for (int o = 0; o < OC; o++) {
        float s = 0.0f;
        for (int i = 0; i < C; i++) s = fmaf(x[(size_t)n * C + i], w[(size_t)o * C + i], s);
        const float rv = resid ? resid[(size_t)n * OC + o] : 0.0f, bv = bias ? bias[o] : 0.0f;
        want[(size_t)n * OC + o] = resid && bias ? s + (rv + bv) : resid ? s + rv : bias ? s + bv : s;
      }
    if (mode == 4) {
      memcpy(out, r, sizeof(float) * N * OC);
      kern_linear_packed(out, x, P, bias, out, N, C, OC);
    } else {
      kern_linear_packed(out, x, P, bias, resid, N, C, OC);
    }
    bad += memcmp(out, want, sizeof(float) * N * OC) != 0;
  }
  printf("linear packed N=%d C=%d OC=%d (panels of %d): %s\n", N, C, OC, kern_panel_width(),
         bad ? "DIFFERS from the fmaf chain" : "bitwise the fmaf chain");
  EXPECT_MSG(bad == 0, "kern_linear_packed N=%d C=%d OC=%d differs from one fmaf chain per element in %d of 5 modes",
             N, C, OC, bad);
  free(x), free(w), free(b), free(r), free(out), free(want), free(P);
}

static void test_linear_packed(void) {
  test_linear_packed_case(1, 8, 257);   /* the LM head's width: 10 panels and 17 columns */
  test_linear_packed_case(5, 12, 24);   /* one full panel, a partial row block */
  test_linear_packed_case(67, 40, 50);  /* two row blocks of 64; partial panel of 2 */
  test_linear_packed_case(130, 16, 48); /* three row blocks */
  test_linear_packed_case(3, 7, 9);     /* 8 + 1 columns: kern_rows4's vector and scalar tails */
  /* 4 panels of 24 and 5 columns, or 2 of 48 and 5; on its own draws, so that the checks after
   * it probe what they always did (their finite-difference margins were set on those draws) */
  const oo_rng saved = rng;
  test_linear_packed_case(9, 33, 101);
  rng = saved;
}

/* ---- gelu ---------------------------------------------------------------------------------- */
enum { GE_N = 97 };
typedef struct { float x[GE_N], out[GE_N], wout[GE_N]; } ge_ctx;
static double ge_loss(void *p) {
  ge_ctx *c = p;
  kern_gelu_forward(c->out, c->x, GE_N);
  return wsum(c->wout, c->out, GE_N);
}
static void test_gelu(void) {
  ge_ctx c;
  for (int i = 0; i < GE_N; i++) c.x[i] = -5.0f + 10.0f * (float)i / (GE_N - 1) + 0.01f * oo_rng_normal(&rng);
  fill_normal(c.wout, GE_N, 1.0f, 0.0f);
  ge_loss(&c);
  double worst = 0.0;
  for (int i = 0; i < GE_N; i++) {
    double x = c.x[i];
    double ref = 0.5 * x * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
    worst = fmax(worst, fabs(ref - c.out[i]));
  }
  printf("%-34s max abs diff %.3e\n", "gelu forward vs double tanh", worst);
  EXPECT(worst < 2e-6);
  float dx[GE_N], out2[GE_N], deriv[GE_N];
  kern_gelu_forward_train(out2, deriv, c.x, GE_N);
  EXPECT(memcmp(out2, c.out, sizeof out2) == 0); /* the training forward gives the same bits */
  /* each element alone (the scalar tail) gives the bits it got inside an 8-float vector */
  int same = 1;
  for (int i = 0; i < GE_N; i++) {
    float o1, d1, o2;
    kern_gelu_forward_train(&o1, &d1, c.x + i, 1);
    kern_gelu_forward(&o2, c.x + i, 1);
    same &= memcmp(&o1, out2 + i, sizeof o1) == 0 && memcmp(&d1, deriv + i, sizeof d1) == 0 &&
            memcmp(&o2, c.out + i, sizeof o2) == 0;
  }
  EXPECT_MSG(same, "gelu: an element computed alone differs from the same element in a vector");
  kern_gelu_backward(dx, deriv, c.wout, GE_N);
  check k = {.name = "gelu dinp", .scale = rms(dx, GE_N)};
  probe(&k, c.x, dx, GE_N, 1000, ge_loss, &c);
  check_done(&k);
}

/* ---- attention ----------------------------------------------------------------------------- */
typedef struct {
  int B, T, C, NH;
  float *qkv, *att, *out, *wout, *scratch;
} at_ctx;
static double at_loss(void *p) {
  at_ctx *c = p;
  kern_attention_forward(c->out, c->att, c->scratch, c->qkv, c->B, c->T, c->C, c->NH);
  return wsum(c->wout, c->out, (size_t)c->B * c->T * c->C);
}
/* Head sizes 4, 8, 12 and 32 (kern_rows4's scalar tail, one and two 8-column vectors, the
 * 16-column block) and T not a multiple of the 4-row block or of 8, so partial blocks and
 * columns past T are covered. */
static void test_attention(int B, int T, int C, int NH) {
  at_ctx c = {B, T, C, NH, NULL, NULL, NULL, NULL, NULL};
  const size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
  c.qkv = xmalloc_floats(nq);
  c.att = xmalloc_floats((size_t)B * NH * T * T);
  c.out = xmalloc_floats(no);
  c.wout = xmalloc_floats(no);
  c.scratch = xmalloc_floats(kern_attention_scratch(T, C, NH));
  float *dqkv = xmalloc_floats(nq), *scratch = xmalloc_floats((size_t)T * T + kern_attention_scratch(T, C, NH));
  fill_normal(c.qkv, nq, 1.0f, 0.0f);
  fill_normal(c.wout, no, 1.0f, 0.0f);
  at_loss(&c);
  /* forward against a naive double causal softmax attention */
  const int hs = C / NH;
  double worst = 0.0;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int i = 0; i < T; i++) {
        const float *q = c.qkv + ((size_t)b * T + i) * 3 * C + h * hs;
        double s[512], mx = -1e300, sum = 0.0;
        for (int j = 0; j <= i; j++) {
          const float *k = c.qkv + ((size_t)b * T + j) * 3 * C + C + h * hs;
          double d = 0.0;
          for (int e = 0; e < hs; e++) d += (double)q[e] * k[e];
          s[j] = d / sqrt((double)hs);
          mx = fmax(mx, s[j]);
        }
        for (int j = 0; j <= i; j++) sum += (s[j] = exp(s[j] - mx));
        for (int e = 0; e < hs; e++) {
          double o = 0.0;
          for (int j = 0; j <= i; j++) o += s[j] / sum * c.qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * hs + e];
          worst = fmax(worst, fabs(o - c.out[((size_t)b * T + i) * C + h * hs + e]));
        }
      }
  char name[64];
  snprintf(name, sizeof name, "attention T=%d forward vs double", T);
  printf("%-34s max abs diff %.3e\n", name, worst);
  EXPECT(worst < 1e-5);
  { /* inference (no P kept) gives the same bits */
    float *out2 = xmalloc_floats(no);
    kern_attention_forward(out2, NULL, c.scratch, c.qkv, B, T, C, NH);
    EXPECT(memcmp(out2, c.out, sizeof(float) * no) == 0);
    xfree(&out2);
  }
  kern_attention_backward(dqkv, scratch, c.wout, c.qkv, c.att, B, T, C, NH);
  /* probe q, k and v entries of every row block */
  snprintf(name, sizeof name, "attention T=%d dqkv", T);
  check k = {.name = name, .scale = rms(dqkv, nq)};
  for (int j = 0; j < 90; j++) {
    size_t i = oo_rng_below(&rng, nq);
    check_entry(&k, dqkv[i], fd_probe(c.qkv, i, at_loss, &c, H));
  }
  for (int part = 0; part < 3; part++) { /* the last row's q/k/v and the first row's */
    size_t last = ((size_t)(B - 1) * T + T - 1) * 3 * C + (size_t)part * C;
    size_t first = (size_t)part * C + 1;
    check_entry(&k, dqkv[last], fd_probe(c.qkv, last, at_loss, &c, H));
    check_entry(&k, dqkv[first], fd_probe(c.qkv, first, at_loss, &c, H));
  }
  check_done(&k);
  xfree(&c.qkv), xfree(&c.att), xfree(&c.out), xfree(&c.wout), xfree(&dqkv), xfree(&scratch), xfree(&c.scratch);
}

/* ---- cross-entropy and log-probabilities --------------------------------------------------- */
enum { CE_N = 6, CE_V = GPT_VOCAB };
typedef struct {
  float z[CE_N * CE_V];
  int y[CE_N];
  float a[CE_N], e[CE_N]; /* weights of logp and entropy in the logprob loss */
} ce_ctx;
static double ce_loss_double(void *p) { /* mean CE over counted targets, in double */
  ce_ctx *c = p;
  double s = 0.0;
  int cnt = 0;
  for (int i = 0; i < CE_N; i++) {
    if (c->y[i] < 0) continue;
    const float *z = c->z + i * CE_V;
    double mx = -1e300, se = 0.0;
    for (int j = 0; j < CE_V; j++) mx = fmax(mx, z[j]);
    for (int j = 0; j < CE_V; j++) se += exp(z[j] - mx);
    s += mx + log(se) - z[c->y[i]];
    cnt++;
  }
  return s / cnt;
}
/* sum a_i logp_i + e_i H_i in double (gpt_logprobs' float forward is checked separately; its
 * ~1e-6 rounding would otherwise dominate the difference quotient) */
static double lp_loss(void *p) {
  ce_ctx *c = p;
  double s = 0.0;
  for (int i = 0; i < CE_N; i++) {
    if (c->y[i] < 0) continue;
    const float *z = c->z + i * CE_V;
    double mx = -1e300, se = 0.0, h = 0.0;
    for (int j = 0; j < CE_V; j++) mx = fmax(mx, z[j]);
    for (int j = 0; j < CE_V; j++) se += exp(z[j] - mx);
    const double lse = mx + log(se);
    for (int j = 0; j < CE_V; j++) h -= exp(z[j] - lse) * (z[j] - lse);
    s += c->a[i] * (z[c->y[i]] - lse) + c->e[i] * h;
  }
  return s;
}
static void test_losses(void) {
  static ce_ctx c;
  fill_normal(c.z, CE_N * CE_V, 2.0f, 0.0f);
  for (int i = 0; i < CE_N; i++) c.y[i] = (int)oo_rng_below(&rng, CE_V);
  c.y[2] = -1; /* ignored */
  c.y[4] = GPT_EOT;
  fill_normal(c.a, CE_N, 1.0f, 0.0f);
  fill_normal(c.e, CE_N, 1.0f, 0.0f);
  static float dz[CE_N * CE_V];
  float loss = gpt_cross_entropy(c.z, c.y, CE_N, CE_V, dz);
  printf("%-34s %.7f vs double %.7f\n", "cross-entropy value", loss, ce_loss_double(&c));
  EXPECT_NEAR(loss, ce_loss_double(&c), 2e-6 * fabs(ce_loss_double(&c)));
  EXPECT_NEAR(gpt_cross_entropy(c.z, c.y, CE_N, CE_V, NULL), loss, 1e-6);
  for (int j = 0; j < CE_V; j++) EXPECT(dz[2 * CE_V + j] == 0.0f);
  check k = {.name = "cross-entropy dlogits", .scale = rms(dz, CE_N * CE_V)};
  for (int j = 0; j < 60; j++) {
    size_t i = oo_rng_below(&rng, CE_N * CE_V);
    check_entry(&k, dz[i], fd_probe(c.z, i, ce_loss_double, &c, H));
  }
  for (int i = 0; i < CE_N; i++) /* the target entries, where the gradient is largest */
    if (c.y[i] >= 0)
      check_entry(&k, dz[i * CE_V + c.y[i]], fd_probe(c.z, (size_t)i * CE_V + c.y[i], ce_loss_double, &c, H));
  check_done(&k);

  /* logprob and entropy values against double */
  float lp[CE_N], ent[CE_N];
  gpt_logprobs(c.z, c.y, CE_N, CE_V, lp, ent);
  double worst = 0.0;
  for (int i = 0; i < CE_N; i++) {
    const float *z = c.z + i * CE_V;
    if (c.y[i] < 0) {
      EXPECT(lp[i] == 0.0f && ent[i] == 0.0f);
      continue;
    }
    double mx = -1e300, se = 0.0, h = 0.0;
    for (int j = 0; j < CE_V; j++) mx = fmax(mx, z[j]);
    for (int j = 0; j < CE_V; j++) se += exp(z[j] - mx);
    double lse = mx + log(se);
    for (int j = 0; j < CE_V; j++) h -= exp(z[j] - lse) * (z[j] - lse);
    worst = fmax(worst, fabs(lp[i] - (z[c.y[i]] - lse)));
    worst = fmax(worst, fabs(ent[i] - h));
  }
  printf("%-34s max abs diff %.3e\n", "logprob/entropy vs double", worst);
  EXPECT(worst < 1e-5);
  gpt_logprobs_backward(c.z, c.y, CE_N, CE_V, c.a, c.e, dz);
  check k2 = {.name = "logprob+entropy dlogits", .scale = rms(dz, CE_N * CE_V)};
  for (int j = 0; j < 60; j++) {
    size_t i = oo_rng_below(&rng, CE_N * CE_V);
    check_entry(&k2, dz[i], fd_probe(c.z, i, lp_loss, &c, H));
  }
  for (int i = 0; i < CE_N; i++)
    if (c.y[i] >= 0) check_entry(&k2, dz[i * CE_V + c.y[i]], fd_probe(c.z, (size_t)i * CE_V + c.y[i], lp_loss, &c, H));
  check_done(&k2);
  /* dent NULL means logp only */
  static float dz2[CE_N * CE_V];
  float zero[CE_N] = {0};
  gpt_logprobs_backward(c.z, c.y, CE_N, CE_V, c.a, NULL, dz);
  gpt_logprobs_backward(c.z, c.y, CE_N, CE_V, c.a, zero, dz2);
  EXPECT(memcmp(dz, dz2, sizeof dz2) == 0);
}

/* ---- embedding ----------------------------------------------------------------------------- */
enum { EN_B = 2, EN_T = 5, EN_C = 8 };
typedef struct {
  int tok[EN_B * EN_T];
  float wte[GPT_VOCAB * EN_C], wpe[EN_T * EN_C], out[EN_B * EN_T * EN_C], wout[EN_B * EN_T * EN_C];
} en_ctx;
static double en_loss(void *p) {
  en_ctx *c = p;
  kern_encoder_forward(c->out, c->tok, c->wte, c->wpe, EN_B, EN_T, EN_C);
  return wsum(c->wout, c->out, EN_B * EN_T * EN_C);
}
static void test_encoder(void) {
  static en_ctx c;
  static float dwte[GPT_VOCAB * EN_C], dwpe[EN_T * EN_C];
  int toks[EN_B * EN_T] = {256, 7, 7, 100, 255, 256, 100, 3, 7, 0}; /* repeats accumulate */
  memcpy(c.tok, toks, sizeof toks);
  fill_normal(c.wte, GPT_VOCAB * EN_C, 1.0f, 0.0f);
  fill_normal(c.wpe, EN_T * EN_C, 1.0f, 0.0f);
  fill_normal(c.wout, EN_B * EN_T * EN_C, 1.0f, 0.0f);
  en_loss(&c);
  memset(dwte, 0, sizeof dwte), memset(dwpe, 0, sizeof dwpe);
  kern_encoder_backward(dwte, dwpe, c.wout, c.tok, EN_B, EN_T, EN_C);
  check k1 = {.name = "embedding dwte (used rows)", .scale = rms(dwte, GPT_VOCAB * EN_C)},
        k2 = {.name = "embedding dwpe", .scale = rms(dwpe, EN_T * EN_C)};
  for (int i = 0; i < EN_B * EN_T; i++)
    for (int e = 0; e < EN_C; e += 3) {
      size_t idx = (size_t)c.tok[i] * EN_C + e;
      check_entry(&k1, dwte[idx], fd_probe(c.wte, idx, en_loss, &c, H));
    }
  check_entry(&k1, dwte[50 * EN_C], fd_probe(c.wte, 50 * EN_C, en_loss, &c, H)); /* unused: 0 */
  probe(&k2, c.wpe, dwpe, EN_T * EN_C, 1000, en_loss, &c);
  check_done(&k1), check_done(&k2);
}

/* ---- whole model --------------------------------------------------------------------------- */
enum { MB = 2, MT = 8 };
typedef struct {
  gpt *m;
  int tok[MB * MT];
  int tgt[MB * MT];
  float w[MB * MT]; /* loss weights of the scalar outputs */
} model_ctx;

/* LM: mean cross-entropy; reward/value: weighted sum of the scalar outputs; lm_value: both. */
static double model_loss(void *p) {
  model_ctx *c = p;
  gpt_forward(c->m, c->tok, MB, MT);
  const double scalar = gpt_kind_has_scalar(c->m->kind) ? wsum(c->w, gpt_scalar_out(c->m), MB * MT) : 0.0;
  if (gpt_kind_has_logits(c->m->kind)) {
    const float *z = gpt_logits(c->m);
    double s = 0.0;
    int cnt = 0;
    for (int i = 0; i < MB * MT; i++) {
      if (c->tgt[i] < 0) continue;
      const float *r = z + (size_t)i * GPT_VOCAB;
      double mx = -1e300, se = 0.0;
      for (int j = 0; j < GPT_VOCAB; j++) mx = fmax(mx, r[j]);
      for (int j = 0; j < GPT_VOCAB; j++) se += exp(r[j] - mx);
      s += mx + log(se) - r[c->tgt[i]];
      cnt++;
    }
    return s / cnt + scalar;
  }
  return scalar;
}

static void test_model(gpt_kind kind) {
  static const char *kind_name[] = {"lm", "reward", "value", "lm_value"};
  gpt m;
  gpt_dims d = {GPT_VOCAB, MT, 16, 2, 2};
  EXPECT_OK(gpt_create(&m, d, kind));
  gpt_init_weights(&m, 7, 0.2f, 0.3f);
  for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.1f * oo_rng_normal(&rng); /* LN/bias != 1/0 */
  gpt_alloc_train(&m);
  model_ctx c = {.m = &m};
  for (int i = 0; i < MB * MT; i++) {
    c.tok[i] = i % MT == 0 ? GPT_EOT : (int)oo_rng_below(&rng, 256);
    c.tgt[i] = (int)oo_rng_below(&rng, GPT_VOCAB);
  }
  c.tgt[3] = -1;
  memset(c.w, 0, sizeof c.w);
  if (kind == GPT_REWARD) { /* reward read at each sequence's last position */
    const int last[MB] = {MT - 1, MT - 3};
    for (int b = 0; b < MB; b++) c.w[b * MT + last[b]] = 1.0f + 0.5f * (float)b;
  } else {
    fill_normal(c.w, MB * MT, 1.0f, 0.0f);
  }
  /* analytic */
  gpt_zero_grad(&m);
  model_loss(&c);
  float *dout = gpt_dlogits_buffer(&m);
  EXPECT(dout != NULL);
  if (kind == GPT_LM_VALUE) { /* one backward through both heads */
    float *dscalar = gpt_dscalar_buffer(&m);
    EXPECT(dscalar != NULL);
    gpt_cross_entropy(gpt_logits(&m), c.tgt, MB * MT, GPT_VOCAB, dout);
    memcpy(dscalar, c.w, sizeof c.w);
    gpt_backward_heads(&m, dout, dscalar);
  } else if (kind == GPT_LM) {
    gpt_cross_entropy(gpt_logits(&m), c.tgt, MB * MT, GPT_VOCAB, dout);
    gpt_backward(&m, dout);
  } else {
    memcpy(dout, c.w, sizeof c.w);
    gpt_backward(&m, dout);
  }
  /* numeric, per tensor (tensors are consecutive in the flat buffers), each probe held to its
   * own derived bound (fd_probe). A plain quotient at h = 1e-2 was off by 1.3e-2 on lm_value's
   * wpe from curvature, and its rounding, which differs between BLAS kernels, grows as h
   * shrinks: Richardson's quotients at 2e-2 remove the h^2 term without that. */
  size_t off = 0;
  for (int t = 0; t < GPT_NUM_TENSORS; t++) {
    size_t n = gpt_tensor_shape(d, kind, t, NULL, NULL);
    if (!n) continue;
    float *p = m.params + off, *g = m.grads + off;
    off += n;
    if (t == 4) EXPECT(p == m.p.qkv_w && g == m.g.qkv_w);
    if (t == 16) EXPECT(p == m.p.head_w && g == m.g.head_w);
    char name[64];
    snprintf(name, sizeof name, "model %s %s", kind_name[kind], gpt_tensor_names[t]);
    check k = {.name = name, .scale = rms(g, n)};
    for (int j = 0; j < 8 && j < (int)n; j++) {
      size_t i = n <= 8 ? (size_t)j : oo_rng_below(&rng, n);
      if (t == 0 && j % 2 == 0) /* token embedding: half the probes on rows the input uses */
        i = (size_t)c.tok[oo_rng_below(&rng, MB * MT)] * d.C + oo_rng_below(&rng, (uint64_t)d.C);
      check_entry(&k, g[i], fd_probe(p, i, model_loss, &c, H));
    }
    check_done(&k);
  }
  gpt_free(&m);
}

/* An lm_value model's logits equal those of its LM view and of an LM with the same trunk; the
 * view has the LM's parameter count. */
static void test_lm_view(void) {
  gpt lv, lm;
  gpt_dims d = {GPT_VOCAB, MT, 16, 2, 2};
  EXPECT_OK(gpt_create(&lv, d, GPT_LM_VALUE));
  EXPECT_OK(gpt_create(&lm, d, GPT_LM));
  gpt_init_weights(&lv, 11, 0.2f, 0.3f);
  EXPECT_OK(gpt_copy_trunk(&lm, &lv));
  gpt view = gpt_lm_view(&lv);
  EXPECT(view.kind == GPT_LM && view.n_params == lm.n_params && view.params == lv.params);
  EXPECT(memcmp(view.params, lm.params, sizeof(float) * lm.n_params) == 0);
  EXPECT(lv.n_params == lm.n_params + (size_t)d.C + 1);
  int tok[MB * MT];
  for (int i = 0; i < MB * MT; i++) tok[i] = i % MT == 0 ? GPT_EOT : (int)oo_rng_below(&rng, 256);
  gpt_forward(&lv, tok, MB, MT);
  gpt_forward(&lm, tok, MB, MT);
  EXPECT(memcmp(gpt_logits(&lv), gpt_logits(&lm), sizeof(float) * MB * MT * GPT_VOCAB) == 0);
  EXPECT(gpt_scalar_out(&lv) != NULL);
  printf("%-34s logits identical to the LM's\n", "lm_value view");
  gpt_free(&lv);
  gpt_free(&lm);
}

/* ---- optimizer ----------------------------------------------------------------------------- */
static void test_optimizer(void) {
  gpt m;
  gpt_dims d = {GPT_VOCAB, 8, 16, 2, 2};
  EXPECT_OK(gpt_create(&m, d, GPT_REWARD));
  gpt_init_weights(&m, 3, 0.2f, 0.3f);
  for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.1f * oo_rng_normal(&rng);
  gpt_alloc_train(&m);
  float *before = xmalloc_floats(m.n_params);
  memcpy(before, m.params, sizeof(float) * m.n_params);

  /* decay mask: with zero gradients only weight decay moves parameters */
  gpt_adamw opt = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.5f};
  gpt_zero_grad(&m);
  gpt_adamw_step(&m, &opt);
  static const int decays[GPT_NUM_TENSORS] = {1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
  size_t off = 0;
  for (int t = 0; t < GPT_NUM_TENSORS; t++) {
    size_t n = gpt_tensor_shape(d, GPT_REWARD, t, NULL, NULL);
    double worst = 0.0;
    for (size_t i = off; i < off + n; i++) {
      double want = decays[t] ? before[i] * (1.0 - 0.1 * 0.5) : before[i];
      worst = fmax(worst, fabs(m.params[i] - want));
    }
    EXPECT_MSG(worst < 1e-6, "tensor %s: decay %s, max deviation %g", gpt_tensor_names[t],
               decays[t] ? "on" : "off", worst);
    off += n;
  }
  printf("%-34s checked on %d tensors (LayerNorm, biases, head_b off)\n", "adamw decay mask", GPT_NUM_TENSORS);

  /* two steps against a double reference (bias correction, moments) */
  memcpy(m.params, before, sizeof(float) * m.n_params);
  memset(m.adam_m, 0, sizeof(float) * m.n_params);
  memset(m.adam_v, 0, sizeof(float) * m.n_params);
  m.step = 0;
  double *rp = malloc(sizeof(double) * m.n_params), *rm = calloc(m.n_params, sizeof(double)),
         *rv = calloc(m.n_params, sizeof(double));
  for (size_t i = 0; i < m.n_params; i++) rp[i] = before[i];
  double worst = 0.0;
  for (int s = 1; s <= 2; s++) {
    for (size_t i = 0; i < m.n_params; i++) m.grads[i] = (i % 7 == 0) ? 0.0f : oo_rng_normal(&rng);
    opt.lr = 0.01f * s;
    gpt_adamw_step(&m, &opt);
    off = 0;
    for (int t = 0; t < GPT_NUM_TENSORS; t++) {
      size_t n = gpt_tensor_shape(d, GPT_REWARD, t, NULL, NULL);
      for (size_t i = off; i < off + n; i++) {
        double g = m.grads[i];
        rm[i] = 0.9 * rm[i] + 0.1 * g;
        rv[i] = 0.95 * rv[i] + 0.05 * g * g;
        double mh = rm[i] / (1 - pow(0.9, s)), vh = rv[i] / (1 - pow(0.95, s));
        rp[i] -= opt.lr * (mh / (sqrt(vh) + 1e-8) + (decays[t] ? 0.5 : 0.0) * rp[i]);
        worst = fmax(worst, fabs(rp[i] - m.params[i]));
      }
      off += n;
    }
  }
  printf("%-34s max abs diff %.3e after 2 steps\n", "adamw vs double reference", worst);
  EXPECT(worst < 1e-5);
  EXPECT(m.step == 2);
  free(rp), free(rm), free(rv);

  /* clipping scales the global norm exactly to max_norm; no-op below it or when off */
  for (size_t i = 0; i < m.n_params; i++) m.grads[i] = oo_rng_normal(&rng);
  double ss = 0.0;
  for (size_t i = 0; i < m.n_params; i++) ss += (double)m.grads[i] * m.grads[i];
  float norm = gpt_grad_norm(&m);
  gpt_clip_grad_to(&m, norm, 1.5f);
  EXPECT_NEAR(norm, sqrt(ss), 1e-5 * sqrt(ss));
  ss = 0.0;
  for (size_t i = 0; i < m.n_params; i++) ss += (double)m.grads[i] * m.grads[i];
  printf("%-34s norm %.6f -> %.7f (max 1.5)\n", "clip", norm, sqrt(ss));
  EXPECT_NEAR(sqrt(ss), 1.5, 1.5e-6);
  memcpy(before, m.grads, sizeof(float) * m.n_params);
  EXPECT_NEAR(gpt_grad_norm(&m), 1.5, 1.5e-6);
  gpt_clip_grad_to(&m, gpt_grad_norm(&m), 100.0f);
  EXPECT(memcmp(before, m.grads, sizeof(float) * m.n_params) == 0);
  gpt_clip_grad_to(&m, gpt_grad_norm(&m), 0.0f);
  EXPECT(memcmp(before, m.grads, sizeof(float) * m.n_params) == 0);
  xfree(&before);
  gpt_free(&m);

  /* schedule endpoints */
  const float hi = 1e-3f, lo = 1e-4f;
  EXPECT_NEAR(gpt_lr_schedule(0, 10, 110, hi, lo), hi / 10, 1e-9);
  EXPECT_NEAR(gpt_lr_schedule(9, 10, 110, hi, lo), hi, 1e-9);
  EXPECT_NEAR(gpt_lr_schedule(10, 10, 110, hi, lo), hi, 1e-9);
  EXPECT_NEAR(gpt_lr_schedule(60, 10, 110, hi, lo), 0.5f * (hi + lo), 1e-9);
  EXPECT_NEAR(gpt_lr_schedule(110, 10, 110, hi, lo), lo, 1e-9);
  EXPECT_NEAR(gpt_lr_schedule(500, 10, 110, hi, lo), lo, 1e-9);
  EXPECT_NEAR(gpt_lr_schedule(0, 0, 100, hi, lo), hi, 1e-9);
  EXPECT(gpt_lr_schedule(30, 10, 110, hi, lo) > gpt_lr_schedule(31, 10, 110, hi, lo));
  printf("%-34s warm-up, peak, midpoint, end checked\n", "lr schedule");

  /* FLOP count: 6*(12 L C^2 + V C) + 6 L C (T+1) */
  gpt_dims bd = {GPT_VOCAB, 256, 256, 6, 8};
  double want = 6.0 * (12.0 * 6 * 256 * 256 + 257.0 * 256) + 6.0 * 6 * 256 * 257;
  EXPECT_NEAR(gpt_train_flops_per_token(bd, 256), want, 1.0);
}

/* argv[1]: the seed of the probes' stream (default 1234), to run the checks on other draws */
int main(int argc, char **argv) {
  rng = oo_rng_make(argc > 1 ? strtoull(argv[1], NULL, 10) : 1234, RNG_TEST, 0, 0);
  test_layernorm();
  test_linear();
  test_linear_packed();
  test_gelu();
  test_attention(2, 8, 16, 2);
  test_attention(1, 70, 8, 2);
  test_attention(1, 37, 24, 2);
  test_attention(2, 21, 64, 2);
  test_losses();
  test_encoder();
  test_model(GPT_LM);
  test_model(GPT_REWARD);
  test_model(GPT_VALUE);
  test_model(GPT_LM_VALUE);
  test_lm_view();
  test_optimizer();
  return TEST_SUMMARY();
}
