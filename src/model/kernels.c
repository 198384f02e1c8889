/* kernels: GPT layer forward/backward pairs (see kernels.h for conventions).
 *
 * Performance notes: the products are cblas_sgemm calls; attention reads Q, K and V in place
 * from the fused qkv rows (leading dimension 3C) and writes its output with leading
 * dimension C, so no transposes or copies are made. Causal attention is computed in row
 * blocks of KERN_ATT_BLOCK so that only the blocks on or below the diagonal are multiplied.
 * Loops that reduce use KERN_LANES partial sums so -O3 vectorizes them without -ffast-math.
 * Every public function is KERN_HOT (kernels.h): a baseline and an x86-64-v3 clone.
 */
#include "model/kernels.h"

#include <cblas.h>
#include <math.h>
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

KERN_HOT void kern_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                             const float *w, const float *mean, const float *rstd, int N, int C) {
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
    for (i = 0; i < C; i++) {
      float norm = (x[i] - m) * s;
      float dn = dy[i] * w[i];
      db[i] += dy[i];
      dw[i] = fmaf(dy[i], norm, dw[i]);
      dx[i] += (dn - mean_dn - norm * mean_dnn) * s;
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

/* ---- gelu ---------------------------------------------------------------------------------- */

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

/* tanh(u) = 1 - 2 / (1 + exp(2u)): exact limits +-1, no branch */
static inline float gelu_tanh(float x) {
  float u = GELU_K * fmaf(GELU_A * x * x, x, x);
  return 1.0f - 2.0f / (1.0f + kern_expf(2.0f * u));
}

KERN_HOT void kern_gelu_forward(float *out, const float *inp, long n) {
  for (long i = 0; i < n; i++) {
    float x = inp[i];
    out[i] = 0.5f * x * (1.0f + gelu_tanh(x));
  }
}

KERN_HOT void kern_gelu_backward(float *dinp, const float *inp, const float *dout, long n) {
  for (long i = 0; i < n; i++) {
    float x = inp[i];
    float th = gelu_tanh(x);
    float du = GELU_K * fmaf(3.0f * GELU_A * x, x, 1.0f);
    float d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
    dinp[i] = dout[i] * d;
  }
}

/* ---- attention ----------------------------------------------------------------------------- */

KERN_HOT void kern_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
  const int hs = C / NH, C3 = 3 * C;
  const float scale = 1.0f / sqrtf((float)hs);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      const float *q = qkv + (size_t)b * T * C3 + h * hs;
      const float *k = q + C;
      const float *v = q + 2 * C;
      float *p = att + ((size_t)b * NH + h) * T * T;
      float *o = out + (size_t)b * T * C + h * hs;
      for (int i0 = 0; i0 < T; i0 += KERN_ATT_BLOCK) {
        const int i1 = i0 + KERN_ATT_BLOCK < T ? i0 + KERN_ATT_BLOCK : T, nr = i1 - i0;
        float *pb = p + (size_t)i0 * T;
        /* S[i0:i1, 0:i1] = scale Q[i0:i1] K[0:i1]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, i1, hs, scale, q + (size_t)i0 * C3,
                    C3, k, C3, 0.0f, pb, T);
        for (int i = i0; i < i1; i++) {
          float *row = p + (size_t)i * T;
          const int n = i + 1;
          const float mx = kern_max(row, n);
          const float inv = 1.0f / kern_exp_sum(row, mx, n);
          for (int j = 0; j < n; j++) row[j] *= inv;
          for (int j = n; j < i1; j++) row[j] = 0.0f;
        }
        /* O[i0:i1] = P[i0:i1, 0:i1] V[0:i1] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hs, i1, 1.0f, pb, T, v, C3, 0.0f,
                    o + (size_t)i0 * C, C);
      }
    }
}

KERN_HOT void kern_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                             const float *att, int B, int T, int C, int NH) {
  const int hs = C / NH, C3 = 3 * C;
  const float scale = 1.0f / sqrtf((float)hs);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++) {
      const float *q = qkv + (size_t)b * T * C3 + h * hs;
      const float *k = q + C;
      const float *v = q + 2 * C;
      float *dq = dqkv + (size_t)b * T * C3 + h * hs;
      float *dk = dq + C;
      float *dv = dq + 2 * C;
      const float *p = att + ((size_t)b * NH + h) * T * T;
      const float *dO = dout + (size_t)b * T * C + h * hs;
      float *ds = scratch; /* dP, then dS in place: same block layout as P */
      for (int i0 = 0; i0 < T; i0 += KERN_ATT_BLOCK) {
        const int i1 = i0 + KERN_ATT_BLOCK < T ? i0 + KERN_ATT_BLOCK : T, nr = i1 - i0;
        float *dsb = ds + (size_t)i0 * T;
        /* dP[i0:i1, 0:i1] = dO[i0:i1] V[0:i1]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, i1, hs, 1.0f, dO + (size_t)i0 * C, C,
                    v, C3, 0.0f, dsb, T);
        /* softmax backward: dS = P (dP - sum_j P dP), zero above the diagonal */
        for (int i = i0; i < i1; i++) {
          const float *prow = p + (size_t)i * T;
          float *row = ds + (size_t)i * T;
          const int n = i + 1;
          const float dot = kern_dot(prow, row, n);
          for (int j = 0; j < n; j++) row[j] = prow[j] * (row[j] - dot);
          for (int j = n; j < i1; j++) row[j] = 0.0f;
        }
        /* dQ[i0:i1] = scale dS[i0:i1, 0:i1] K[0:i1] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hs, i1, scale, dsb, T, k, C3, 0.0f,
                    dq + (size_t)i0 * C3, C3);
      }
      /* column blocks: key/value rows c0:c1 receive from query rows c0:T */
      for (int c0 = 0; c0 < T; c0 += KERN_ATT_BLOCK) {
        const int c1 = c0 + KERN_ATT_BLOCK < T ? c0 + KERN_ATT_BLOCK : T, nc = c1 - c0, nq = T - c0;
        /* dK[c0:c1] = scale dS[c0:T, c0:c1]^T Q[c0:T] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nc, hs, nq, scale, ds + (size_t)c0 * T + c0,
                    T, q + (size_t)c0 * C3, C3, 0.0f, dk + (size_t)c0 * C3, C3);
        /* dV[c0:c1] = P[c0:T, c0:c1]^T dO[c0:T] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nc, hs, nq, 1.0f, p + (size_t)c0 * T + c0, T,
                    dO + (size_t)c0 * C, C, 0.0f, dv + (size_t)c0 * C3, C3);
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
