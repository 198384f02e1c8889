/* kernels: GPT layer forward/backward pairs (see kernels.h for conventions).
 *
 * Performance notes: the linear layers are cblas_sgemm calls; attention reads Q, K and V in
 * place from the fused qkv rows (leading dimension 3C), copies one head's K or V transposed
 * into a small panel, and multiplies in blocks of KERN_ATT_ROWS rows with kern_rows4, so only
 * the columns on or below the diagonal (rounded up to 8) are computed.
 * Loops that reduce use KERN_LANES partial sums so -O3 vectorizes them without -ffast-math.
 * Every public function is KERN_HOT (kernels.h): a baseline and an x86-64-v3 clone.
 */
#include "model/kernels.h"

#include "core/machine.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- layernorm ----------------------------------------------------------------------------- */

KERN_HOT void kern_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                            const float *b, int N, int C) {
  const float eps = 1e-5f;
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t)n * C;
    float *o = out + (size_t)n * C;
    float m = kern_sum(x, C) / (float)C;
    for (int i = 0; i < C; i++) o[i] = x[i] - m; /* centred row, reused below */
    float var = kern_dot(o, o, C) / (float)C;
    float s = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < C; i++) o[i] = fmaf(o[i] * s, w[i], b[i]);
    mean[n] = m;
    rstd[n] = s;
  }
}

/* Every buffer is distinct (kernels.h): without restrict GCC left the last loop scalar. */
KERN_HOT void kern_layernorm_backward(float *restrict dinp, float *restrict dw, float *restrict db,
                                      const float *restrict dout, const float *restrict inp, const float *restrict w,
                                      const float *mean, const float *rstd, int N, int C) {
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t)n * C;
    const float *dy = dout + (size_t)n * C;
    float *dx = dinp + (size_t)n * C;
    const float m = mean[n], s = rstd[n];
    /* sums over the row of dnorm = dy*w and dnorm*norm, with norm = (x - m) * s */
    float a1[KERN_LANES] = {0}, a2[KERN_LANES] = {0};
    int i = 0;
    for (; i + KERN_LANES <= C; i += KERN_LANES)
      for (int j = 0; j < KERN_LANES; j++) {
        float dn = dy[i + j] * w[i + j];
        a1[j] += dn;
        a2[j] = fmaf(dn, (x[i + j] - m) * s, a2[j]);
      }
    float sum_dn = 0.0f, sum_dnn = 0.0f;
    for (; i < C; i++) {
      float dn = dy[i] * w[i];
      sum_dn += dn;
      sum_dnn = fmaf(dn, (x[i] - m) * s, sum_dnn);
    }
    for (int j = 0; j < KERN_LANES; j++) {
      sum_dn += a1[j];
      sum_dnn += a2[j];
    }
    const float mean_dn = sum_dn / (float)C, mean_dnn = sum_dnn / (float)C;
    for (int c = 0; c < C; c++) {
      float norm = (x[c] - m) * s;
      float dn = dy[c] * w[c];
      db[c] += dy[c];
      dw[c] = fmaf(dy[c], norm, dw[c]);
      dx[c] += (dn - mean_dn - norm * mean_dnn) * s;
    }
  }
}

/* ---- linear -------------------------------------------------------------------------------- */

KERN_HOT void kern_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                         const float *resid, int N, int C, int OC) {
  float beta = 0.0f;
  if (bias || resid) {
    /* prefill with bias + residual and let sgemm accumulate (beta 1): one pass, no temp */
    for (int n = 0; n < N; n++) {
      float *o = out + (size_t)n * OC;
      const float *r = resid ? resid + (size_t)n * OC : NULL;
      if (bias && r)
        for (int o_ = 0; o_ < OC; o_++) o[o_] = r[o_] + bias[o_];
      else if (bias)
        memcpy(o, bias, sizeof(float) * (size_t)OC);
      else if (r != o)
        memcpy(o, r, sizeof(float) * (size_t)OC);
    }
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, beta, out, OC);
}

/* 1 where an AVX-512 tile may run: the CPU has x86-64-v4's AVX-512 and the environment variable
 * var does not name the AVX2 tile's width (for A/B timing and tests) */
static int wide_tiles(const char *var, const char *narrow) {
  const char *env = getenv(var);
  return oo_cpu_has_avx512() && !(env && !strcmp(env, narrow));
}

int kern_panel_width(void) {
  static int width;
  if (!width) width = wide_tiles("OVEROPT_KERN_PANEL", "24") ? KERN_PANEL_WIDE : KERN_PANEL;
  return width;
}

int kern_att_wide(void) {
  static int wide = -1;
  if (wide < 0) wide = wide_tiles("OVEROPT_KERN_ATT", "16");
  return wide;
}

const char *kern_describe(void) {
  static char text[96];
  if (!text[0])
    snprintf(text, sizeof text, "%s, tiles: panel %d, attention %d columns", oo_kernel_target(), kern_panel_width(),
             kern_att_wide() ? 32 : 16);
  return text;
}

size_t kern_packed_size(int OC, int C) {
  const int W = kern_panel_width();
  return (size_t)((OC + W - 1) / W) * W * (size_t)C;
}

void kern_pack_weights(float *P, const float *w, int OC, int C) {
  const int W = kern_panel_width(), padded = (OC + W - 1) / W * W;
  for (int o = 0; o < padded; o++) { /* the last panel's unused columns (never read) get zeros */
    float *col = P + (size_t)(o / W) * W * C + o % W;
    if (o < OC)
      for (int c = 0; c < C; c++) col[(size_t)c * W] = w[(size_t)o * C + c];
    else
      for (int c = 0; c < C; c++) col[(size_t)c * W] = 0.0f;
  }
}

/* out[r*ldo + j] = sum_c A[r*lda + c] * P[c*KERN_PANEL + j] for r < nr, j < KERN_PANEL: a full
 * panel, each element the fmaf chain kern_rows4 computes (so partial panels, which go through
 * kern_rows4, round alike). Missing rows repeat row 0 and are not stored. */
KERN_INLINE void rows4_panel(float *out, long ldo, const float *A, long lda, const float *P, int nr, int C) {
  const float *a0 = A, *a1 = A + (nr > 1 ? lda : 0), *a2 = A + (nr > 2 ? 2 * lda : 0), *a3 = A + (nr > 3 ? 3 * lda : 0);
  v8f c00 = {0}, c01 = {0}, c02 = {0}, c10 = {0}, c11 = {0}, c12 = {0};
  v8f c20 = {0}, c21 = {0}, c22 = {0}, c30 = {0}, c31 = {0}, c32 = {0};
  for (int k = 0; k < C; k++) {
    const float *p = P + (size_t)k * KERN_PANEL;
    const v8f b0 = v8_load(p), b1 = v8_load(p + 8), b2 = v8_load(p + 16);
    v8f x = v8_splat(a0[k]);
    c00 = v8_fma(x, b0, c00), c01 = v8_fma(x, b1, c01), c02 = v8_fma(x, b2, c02);
    x = v8_splat(a1[k]);
    c10 = v8_fma(x, b0, c10), c11 = v8_fma(x, b1, c11), c12 = v8_fma(x, b2, c12);
    x = v8_splat(a2[k]);
    c20 = v8_fma(x, b0, c20), c21 = v8_fma(x, b1, c21), c22 = v8_fma(x, b2, c22);
    x = v8_splat(a3[k]);
    c30 = v8_fma(x, b0, c30), c31 = v8_fma(x, b1, c31), c32 = v8_fma(x, b2, c32);
  }
  v8_store(out, c00), v8_store(out + 8, c01), v8_store(out + 16, c02);
  if (nr > 1) v8_store(out + ldo, c10), v8_store(out + ldo + 8, c11), v8_store(out + ldo + 16, c12);
  if (nr > 2) v8_store(out + 2 * ldo, c20), v8_store(out + 2 * ldo + 8, c21), v8_store(out + 2 * ldo + 16, c22);
  if (nr > 3) v8_store(out + 3 * ldo, c30), v8_store(out + 3 * ldo + 8, c31), v8_store(out + 3 * ldo + 16, c32);
}

#define KERN_PACK_ROWS 64 /* rows per block: a panel is reused from L1 by the block's 16 four-row blocks, and
                           * the block's inputs (64 x C floats) stay in L2 across the panels */

/* acc (4 x W) + (resid + bias) into out's rows i.., columns j..j+nc: kern_linear_forward's order */
KERN_INLINE void packed_epilogue(float *out, const float *acc, int W, const float *resid, const float *b, int i, int j,
                                 int nr, int nc, int OC) {
  for (int r = 0; r < nr; r++) {
    float *o = out + (size_t)(i + r) * OC + j;
    const float *a = acc + r * W, *rr = resid ? resid + (size_t)(i + r) * OC + j : NULL;
    if (rr && b)
      for (int c = 0; c < nc; c++) o[c] = a[c] + (rr[c] + b[c]);
    else if (rr)
      for (int c = 0; c < nc; c++) o[c] = a[c] + rr[c];
    else if (b)
      for (int c = 0; c < nc; c++) o[c] = a[c] + b[c];
    else
      for (int c = 0; c < nc; c++) o[c] = a[c];
  }
}

KERN_HOT void kern_linear_packed(float *out, const float *inp, const float *P, const float *bias,
                                 const float *resid, int N, int C, int OC) {
  const int W = kern_panel_width();
  float acc[4 * KERN_PANEL_WIDE];
  for (int i0 = 0; i0 < N; i0 += KERN_PACK_ROWS) {
    const int i1 = N - i0 < KERN_PACK_ROWS ? N : i0 + KERN_PACK_ROWS;
    for (int j = 0; j < OC; j += W) {
      const int nc = OC - j < W ? OC - j : W;
      const float *Pj = P + (size_t)j * C, *b = bias ? bias + j : NULL;
      for (int i = i0; i < i1; i += 4) {
        const int nr = i1 - i < 4 ? i1 - i : 4;
        if (nc < W)
          kern_rows4(acc, W, inp + (size_t)i * C, C, 1, Pj, W, nr, 0, C, nc, 1.0f);
        else if (W == KERN_PANEL)
          rows4_panel(acc, KERN_PANEL, inp + (size_t)i * C, C, Pj, nr, C);
        else
          kern_rows4_panel_wide(acc, inp + (size_t)i * C, C, Pj, nr, C);
        packed_epilogue(out, acc, W, resid, b, i, j, nr, nc, OC);
      }
    }
  }
}

KERN_HOT void kern_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, int N, int C, int OC) {
  if (dinp)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, 0.0f,
                dinp, C);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
  if (db)
    for (int n = 0; n < N; n++) {
      const float *dy = dout + (size_t)n * OC;
      for (int o = 0; o < OC; o++) db[o] += dy[o];
    }
}

KERN_HOT void kern_scalar_head(float *out, const float *inp, const float *w, const float *b, int N, int C) {
  for (int n = 0; n < N; n++) out[n] = kern_dot(inp + (size_t)n * C, w, C) + b[0];
}

/* ---- gelu ---------------------------------------------------------------------------------- */

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

/* tanh(u) = 1 - 2 / (1 + exp(2u)): exact limits +-1, no branch */
KERN_INLINE float gelu_tanh(float x) {
  float u = GELU_K * fmaf(GELU_A * x * x, x, x);
  return 1.0f - 2.0f / (1.0f + kern_expf(2.0f * u));
}

/* d/dx of 0.5 x (1 + tanh(u)), given th = tanh(u) */
KERN_INLINE float gelu_deriv(float x, float th) {
  float du = GELU_K * fmaf(3.0f * GELU_A * x, x, 1.0f);
  return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
}

/* out = GELU(inp) and, unless deriv is NULL (a constant in each caller, so the branch folds),
 * deriv = gelu'(inp). 32 floats per step: tanh's exp on 4 vectors in lockstep (v8_expf4), the
 * same operations per lane as gelu_tanh and gelu_deriv, which the scalar tail uses (the
 * scalar loop's vectorized form spent ~4 cycles an element on blends of kern_expf's clamps).
 * Each step loads its inputs before it stores, so deriv (or out) may alias inp. */
KERN_INLINE void gelu_forward(float *out, float *deriv, const float *inp, long n) {
  const v8f half = v8_splat(0.5f), one = v8_splat(1.0f), two = v8_splat(2.0f);
  long i = 0;
  for (; i + 32 <= n; i += 32) {
    v8f x[4], u[4], th[4];
    for (int k = 0; k < 4; k++) x[k] = v8_load(inp + i + 8 * k);
    for (int k = 0; k < 4; k++) u[k] = two * (v8_splat(GELU_K) * v8_fma(v8_splat(GELU_A) * x[k] * x[k], x[k], x[k]));
    v8_expf4(th, u);
    for (int k = 0; k < 4; k++) th[k] = one - two / (one + th[k]);
    for (int k = 0; k < 4; k++) {
      v8_store(out + i + 8 * k, half * x[k] * (one + th[k]));
      if (deriv) {
        const v8f du = v8_splat(GELU_K) * v8_fma(v8_splat(3.0f * GELU_A) * x[k], x[k], one);
        v8_store(deriv + i + 8 * k, half * (one + th[k]) + half * x[k] * (one - th[k] * th[k]) * du);
      }
    }
  }
  for (; i < n; i++) {
    const float x = inp[i], th = gelu_tanh(x);
    out[i] = 0.5f * x * (1.0f + th);
    if (deriv) deriv[i] = gelu_deriv(x, th);
  }
}

KERN_HOT void kern_gelu_forward(float *out, const float *inp, long n) { gelu_forward(out, NULL, inp, n); }

KERN_HOT void kern_gelu_forward_train(float *out, float *deriv, const float *inp, long n) {
  gelu_forward(out, deriv, inp, n);
}

KERN_HOT void kern_gelu_backward(float *dinp, const float *deriv, const float *dout, long n) {
  for (long i = 0; i < n; i++) dinp[i] = dout[i] * deriv[i];
}

/* ---- attention ----------------------------------------------------------------------------- */

/* The 8 x 8 block of X at row stride ld, transposed into P at row stride ldp: P[e*ldp + j] =
 * X[j*ld + e]. Three rounds of two-vector shuffles (pairs of rows, then of pairs, then the
 * 128-bit halves): 24 shuffles for 64 floats where gathering each output vector took 8
 * scalar loads and inserts. */
KERN_INLINE void transpose8(float *P, long ldp, const float *X, long ld) {
  v8f r[8], t[8], u[8];
  for (int j = 0; j < 8; j++) r[j] = v8_load(X + j * ld);
  for (int j = 0; j < 8; j += 2) {
    t[j] = __builtin_shuffle(r[j], r[j + 1], (v8i){0, 8, 1, 9, 4, 12, 5, 13});
    t[j + 1] = __builtin_shuffle(r[j], r[j + 1], (v8i){2, 10, 3, 11, 6, 14, 7, 15});
  }
  for (int j = 0; j < 8; j += 4)
    for (int h = 0; h < 2; h++) {
      u[j + 2 * h] = __builtin_shuffle(t[j + h], t[j + h + 2], (v8i){0, 1, 8, 9, 4, 5, 12, 13});
      u[j + 2 * h + 1] = __builtin_shuffle(t[j + h], t[j + h + 2], (v8i){2, 3, 10, 11, 6, 7, 14, 15});
    }
  /* u[e] (e < 4) holds column e of rows 0-3 then column e+4 of rows 0-3; u[4+e] rows 4-7 */
  for (int e = 0; e < 4; e++) {
    v8_store(P + e * ldp, __builtin_shuffle(u[e], u[4 + e], (v8i){0, 1, 2, 3, 8, 9, 10, 11}));
    v8_store(P + (e + 4) * ldp, __builtin_shuffle(u[e], u[4 + e], (v8i){4, 5, 6, 7, 12, 13, 14, 15}));
  }
}

/* panel[e*Tp + j] = X[j*ld + e] for e < hs, j < T; zero for T <= j < Tp (Tp = T rounded up to 8) */
KERN_INLINE void transpose_head(float *panel, const float *X, long ld, int T, int hs) {
  const int Tp = kern_pad8(T), T8 = T & ~7, hs8 = hs & ~7;
  for (int j0 = 0; j0 < T8; j0 += 8)
    for (int e0 = 0; e0 < hs8; e0 += 8) transpose8(panel + (size_t)e0 * Tp + j0, Tp, X + (size_t)j0 * ld + e0, ld);
  for (int e = 0; e < hs; e++)
    for (int j = e < hs8 ? T8 : 0; j < Tp; j++) panel[(size_t)e * Tp + j] = j < T ? X[(size_t)j * ld + e] : 0.0f;
}

/* panel[j*hs + e] = X[j*ld + e]: one head's rows made contiguous. Read in place at ld = 3C, the
 * rows of a head fall into a few L1 sets (ld*4 bytes is a multiple of 512 at C = 128 and 256),
 * so the products that stream them as B evicted their own rows: 85 -> 95 GFLOP/s at C = 128 for
 * P V in a stand-alone test, 77 -> 95 at C = 256. */
KERN_INLINE void copy_head(float *panel, const float *X, long ld, int T, int hs) {
  const int hs8 = hs & ~7; /* inline vector copies: a memcpy call per 32-float row cost more than the copy */
  for (int j = 0; j < T; j++) {
    const float *x = X + (size_t)j * ld;
    float *p = panel + (size_t)j * hs;
    for (int e = 0; e < hs8; e += 8) v8_store(p + e, v8_load(x + e));
    for (int e = hs8; e < hs; e++) p[e] = x[e];
  }
}

/* Columns a causal block of rows i0..i0+nr-1 computes: 0..i0+nr-1, rounded up to 8, at most T. */
KERN_INLINE int block_cols(int i0, int nr, int T) {
  const int n = kern_pad8(i0 + nr);
  return n < T ? n : T;
}

/* Softmax of the nr <= 4 rows of a block in place: row r (of n0 + r entries) at rows + r*ld, zeros
 * from its end to ncol. The loops run over all ncol entries (a multiple of 8 unless it is T) as
 * 8-float vectors with 8 partial results, the entries past the diagonal masked, and no scalar
 * tail for any n (kern_max/kern_sum's 16 lanes left up to 15 scalar iterations on rows of ~64);
 * the block's rows go through each loop together, so their dependency chains (the running
 * maximum and sum, the 8-lane reductions) overlap: one row at a time took ~200 cycles a row.
 * Per lane the same operations as a scalar loop: maximum by comparison (a NaN entry loses),
 * kern_expf (v8_expf), sum in order j = l, l+8, ... */
KERN_INLINE void softmax_causal_rows(float *rows, long ld, int nr, int n0, int ncol) {
  const int n8 = ncol & ~7;
  const v8i iota = {0, 1, 2, 3, 4, 5, 6, 7};
  const v8f zero = v8_splat(0.0f);
  float *row[KERN_ATT_ROWS];
  v8f m8[KERN_ATT_ROWS], s8[KERN_ATT_ROWS], vmx[KERN_ATT_ROWS];
  float mx[KERN_ATT_ROWS], sum[KERN_ATT_ROWS];
  for (int r = 0; r < nr; r++) {
    row[r] = rows + r * ld;
    for (int j = n0 + r; j < ncol; j++) row[r][j] = -INFINITY;
    m8[r] = v8_splat(-INFINITY);
    s8[r] = zero;
  }
  for (int j = 0; j < n8; j += 8)
    for (int r = 0; r < nr; r++) {
      const v8f x = v8_load(row[r] + j);
      m8[r] = v8_sel(x > m8[r], x, m8[r]);
    }
  for (int r = 0; r < nr; r++) {
    mx[r] = row[r][0];
    for (int l = 0; l < 8; l++) mx[r] = m8[r][l] > mx[r] ? m8[r][l] : mx[r];
    for (int j = n8; j < ncol; j++) mx[r] = row[r][j] > mx[r] ? row[r][j] : mx[r];
    vmx[r] = v8_splat(mx[r]);
  }
  for (int j = 0; j < n8; j += 8)
    for (int r = 0; r < nr; r++) {
      const v8f e = v8_sel(iota + j < n0 + r, v8_expf(v8_load(row[r] + j) - vmx[r]), zero);
      v8_store(row[r] + j, e);
      s8[r] += e;
    }
  for (int r = 0; r < nr; r++) {
    sum[r] = 0.0f;
    for (int j = n8; j < ncol; j++) {
      row[r][j] = j < n0 + r ? kern_expf(row[r][j] - mx[r]) : 0.0f;
      sum[r] += row[r][j];
    }
    for (int l = 0; l < 8; l++) sum[r] += s8[r][l];
    vmx[r] = v8_splat(1.0f / sum[r]); /* now the scale */
  }
  for (int j = 0; j < n8; j += 8)
    for (int r = 0; r < nr; r++) v8_store(row[r] + j, v8_load(row[r] + j) * vmx[r]);
  for (int r = 0; r < nr; r++)
    for (int j = n8; j < ncol; j++) row[r][j] *= vmx[r][0];
}

/* Prefetch rows j0..j1-1 (hs floats each, row stride ld) of the next head into L2 (prefetcht1),
 * for reading or (write) for writing. A head's rows are 2 lines out of every 3C or C floats, which
 * the hardware prefetchers do not fetch ahead: with the activations out of cache (as in a training
 * step) the head loops waited on them, 1.9 ms instead of 1.2 for a C = 128 layer's forward. Each
 * block of query rows prefetches its rows of the next head, so the next head is in L2 when it
 * starts. Prefetches never fault; X is NULL after the last head. */
KERN_INLINE void prefetch_rows(const float *X, long ld, int j0, int j1, int hs, int write) {
  if (!X) return;
  for (int j = j0; j < j1; j++)
    for (int e = 0; e < hs; e += 16) {
      if (write)
        __builtin_prefetch(X + (size_t)j * ld + e, 1, 2);
      else
        __builtin_prefetch(X + (size_t)j * ld + e, 0, 2);
    }
}

/* Offset from head (b, h)'s first element in a (B, T, ld) buffer to the next head's: head h+1 of
 * row b, or head 0 of row b+1 after the last head (the caller passes NULL after the last (b, h)). */
KERN_INLINE size_t next_head(int h, int NH, int hs, int T, long ld) {
  return h + 1 < NH ? (size_t)hs : (size_t)T * (size_t)ld - (size_t)(NH - 1) * hs;
}

/* kern_rows4 or, where kern_att_wide() says so, its AVX-512 twin: the same bits */
KERN_INLINE void att_rows4(int wide, float *out, long ldo, const float *A, long ars, long acs, const float *B,
                           long ldb, int nr, int k0, int k1, int N, float alpha) {
  if (wide)
    kern_rows4_wide(out, ldo, A, ars, acs, B, ldb, nr, k0, k1, N, alpha);
  else
    kern_rows4(out, ldo, A, ars, acs, B, ldb, nr, k0, k1, N, alpha);
}

KERN_HOT void kern_attention_forward(float *out, float *att, float *scratch, const float *qkv, int B, int T, int C,
                                     int NH) {
  const int hs = C / NH, C3 = 3 * C, Tp = kern_pad8(T);
  const float scale = 1.0f / sqrtf((float)hs);
  const int wide = kern_att_wide();
  float *kt = scratch;                  /* (hs, Tp) this head's keys, transposed */
  float *vp = kt + (size_t)hs * Tp;     /* (T, hs) its values, contiguous */
  float *prows = vp + (size_t)T * hs;   /* (KERN_ATT_ROWS, T) P rows of one block (inference) */
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      const float *q = qkv + (size_t)b * T * C3 + h * hs;
      float *o = out + (size_t)b * T * C + h * hs;
      const int last = b == B - 1 && h == NH - 1;
      const float *qn = last ? NULL : q + next_head(h, NH, hs, T, C3);
      float *on = last ? NULL : o + next_head(h, NH, hs, T, C);
      transpose_head(kt, q + C, C3, T, hs);
      copy_head(vp, q + 2 * C, C3, T, hs);
      for (int i0 = 0; i0 < T; i0 += KERN_ATT_ROWS) {
        const int nr = T - i0 < KERN_ATT_ROWS ? T - i0 : KERN_ATT_ROWS, ncol = block_cols(i0, nr, T);
        for (int part = 0; part < 3; part++) prefetch_rows(qn ? qn + part * C : NULL, C3, i0, i0 + nr, hs, 0);
        prefetch_rows(on, C, i0, i0 + nr, hs, 1);
        /* P's rows i0..i0+nr-1: kept in att for backward, or in the scratch (inference) */
        float *pb = att ? att + (((size_t)b * NH + h) * T + i0) * T : prows;
        /* S[i0:i0+nr, 0:ncol] = scale Q K^T, then each row's softmax over 0..i and zeros after */
        att_rows4(wide, pb, T, q + (size_t)i0 * C3, C3, 1, kt, Tp, nr, 0, hs, ncol, scale);
        softmax_causal_rows(pb, T, nr, i0 + 1, ncol);
        /* O[i0:i0+nr] = P[i0:i0+nr, 0:i0+nr] V[0:i0+nr] */
        att_rows4(wide, o + (size_t)i0 * C, C, pb, T, 1, vp, hs, nr, 0, i0 + nr, hs, 1.0f);
      }
    }
}

KERN_HOT void kern_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                                      const float *att, int B, int T, int C, int NH) {
  const int hs = C / NH, C3 = 3 * C, Tp = kern_pad8(T);
  const float scale = 1.0f / sqrtf((float)hs);
  const int wide = kern_att_wide();
  float *ds = scratch;                     /* (T,T) dP, then dS in place: P's layout */
  float *vt = ds + (size_t)T * T;          /* (hs, Tp) this head's values, transposed */
  float *kp = vt + (size_t)hs * Tp;        /* (T, hs) its keys, queries and output gradient, */
  float *qp = kp + (size_t)T * hs;         /* each contiguous */
  float *dop = qp + (size_t)T * hs;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      const float *q = qkv + (size_t)b * T * C3 + h * hs;
      float *dq = dqkv + (size_t)b * T * C3 + h * hs;
      float *dk = dq + C;
      float *dv = dq + 2 * C;
      const float *p = att + ((size_t)b * NH + h) * T * T;
      const float *dO = dout + (size_t)b * T * C + h * hs;
      const int last = b == B - 1 && h == NH - 1;
      const float *qn = last ? NULL : q + next_head(h, NH, hs, T, C3);
      float *dqn = last ? NULL : dq + next_head(h, NH, hs, T, C3);
      const float *dOn = last ? NULL : dO + next_head(h, NH, hs, T, C);
      transpose_head(vt, q + 2 * C, C3, T, hs);
      copy_head(kp, q + C, C3, T, hs);
      copy_head(qp, q, C3, T, hs);
      copy_head(dop, dO, C, T, hs);
      for (int i0 = 0; i0 < T; i0 += KERN_ATT_ROWS) {
        const int nr = T - i0 < KERN_ATT_ROWS ? T - i0 : KERN_ATT_ROWS, ncol = block_cols(i0, nr, T);
        for (int part = 0; part < 3; part++) {
          prefetch_rows(qn ? qn + part * C : NULL, C3, i0, i0 + nr, hs, 0);
          prefetch_rows(dqn ? dqn + part * C : NULL, C3, i0, i0 + nr, hs, 1);
        }
        prefetch_rows(dOn, C, i0, i0 + nr, hs, 0);
        /* dP[i0:i0+nr, 0:ncol] = dO V^T */
        att_rows4(wide, ds + (size_t)i0 * T, T, dop + (size_t)i0 * hs, hs, 1, vt, Tp, nr, 0, hs, ncol, 1.0f);
        /* softmax backward: dS = P (dP - sum_j P dP) on and below the diagonal, zeros after */
        for (int i = i0; i < i0 + nr; i++) {
          const float *prow = p + (size_t)i * T; /* zero from i+1 to ncol: so is dS */
          float *row = ds + (size_t)i * T;
          const float dot = kern_dot(prow, row, ncol);
          for (int j = 0; j < ncol; j++) row[j] = prow[j] * (row[j] - dot);
        }
        /* dQ[i0:i0+nr] = scale dS[i0:i0+nr, 0:i0+nr] K[0:i0+nr] */
        att_rows4(wide, dq + (size_t)i0 * C3, C3, ds + (size_t)i0 * T, T, 1, kp, hs, nr, 0, i0 + nr, hs, scale);
      }
      /* key/value rows c0..c0+nr-1 receive from query rows c0..T-1 (dS and P are zero above the
       * diagonal inside the block) */
      for (int c0 = 0; c0 < T; c0 += KERN_ATT_ROWS) {
        const int nr = T - c0 < KERN_ATT_ROWS ? T - c0 : KERN_ATT_ROWS;
        /* dK[c0:c0+nr] = scale dS[c0:T, c0:c0+nr]^T Q[c0:T] */
        att_rows4(wide, dk + (size_t)c0 * C3, C3, ds + c0, 1, T, qp, hs, nr, c0, T, hs, scale);
        /* dV[c0:c0+nr] = P[c0:T, c0:c0+nr]^T dO[c0:T] */
        att_rows4(wide, dv + (size_t)c0 * C3, C3, p + c0, 1, T, dop, hs, nr, c0, T, hs, 1.0f);
      }
    }
}

/* ---- embeddings ---------------------------------------------------------------------------- */

KERN_HOT void kern_encoder_forward(float *out, const int *tokens, const float *wte, const float *wpe, int B,
                          int T, int C) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      float *o = out + ((size_t)b * T + t) * C;
      const float *e = wte + (size_t)tokens[b * T + t] * C;
      const float *pe = wpe + (size_t)t * C;
      for (int i = 0; i < C; i++) o[i] = e[i] + pe[i];
    }
}

KERN_HOT void kern_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tokens, int B,
                           int T, int C) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      const float *d = dout + ((size_t)b * T + t) * C;
      float *de = dwte + (size_t)tokens[b * T + t] * C;
      float *dp = dwpe + (size_t)t * C;
      for (int i = 0; i < C; i++) {
        de[i] += d[i];
        dp[i] += d[i];
      }
    }
}

/* ---- softmax rows -------------------------------------------------------------------------- */

KERN_HOT float kern_logsumexp_row(const float *x, float *probs, int V) {
  const float mx = kern_max(x, V);
  float sum = 0.0f;
  if (probs) {
    for (int j = 0; j < V; j++) probs[j] = kern_expf(x[j] - mx);
    sum = kern_sum(probs, V);
    const float inv = 1.0f / sum;
    for (int j = 0; j < V; j++) probs[j] *= inv;
  } else {
    float tmp[256]; /* exps of one chunk, so the exp loop vectorizes without a caller buffer */
    for (int j0 = 0; j0 < V; j0 += 256) {
      const int n = V - j0 < 256 ? V - j0 : 256;
      for (int j = 0; j < n; j++) tmp[j] = kern_expf(x[j0 + j] - mx);
      sum += kern_sum(tmp, n);
    }
  }
  return mx + logf(sum);
}
