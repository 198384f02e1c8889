/* kernels: the GPT layers as forward/backward pairs on flat float buffers (llm.c style).
 *
 * Every matrix product goes through cblas_sgemm (OpenBLAS); the elementwise parts are plain
 * loops written so that GCC vectorizes them at -O3 without -ffast-math: reductions use
 * KERN_LANES independent partial sums and exp is a branch-free polynomial (kern_expf).
 * Results are therefore deterministic for a given build, independent of thread count.
 *
 * Conventions: N = B*T rows, C channels, OC output channels, NH heads, hs = C/NH.
 * Backward functions ACCUMULATE into parameter gradients (dw, db, dwte, ...). Input
 * gradients: layernorm and encoder accumulate (they feed the residual stream); linear,
 * gelu and attention OVERWRITE theirs (always a scratch buffer in the model).
 * No function here allocates.
 */
#ifndef OO_MODEL_KERNELS_H
#define OO_MODEL_KERNELS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define KERN_LANES 16 /* partial sums per reduction: one AVX-512 or two AVX2 registers */

/* KERN_HOT marks a function whose loops carry the run time (the kernels here and their callers
 * in gpt*.c). In the portable build (OVEROPT_TARGET_CLONES, set by CMake) GCC compiles it twice,
 * for baseline x86-64 and for x86-64-v3 (AVX2 + FMA: every AMD and Intel server CPU since 2013),
 * and the loader picks one per CPU (ifunc). There is deliberately no AVX-512 clone: AMD and
 * Intel CPUs would then run different code (issue #10). Both clones round alike, so the choice
 * never changes a result: contraction is off (-ffp-contract=off), a multiply-add is fused only
 * where the source says fmaf (exact in both: an instruction in one, libm in the other), and
 * every reduction's order is fixed by KERN_LANES or an explicit tree, not by the vector width.
 * Helpers called inside a KERN_HOT function are KERN_INLINE so each clone inlines its own
 * copy. With OVEROPT_NATIVE the whole build targets the build machine and this is empty. */
#if defined(OVEROPT_TARGET_CLONES)
#define KERN_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERN_HOT
#endif

/* KERN_INLINE marks a helper that KERN_HOT code calls: always inlined, never left to GCC's
 * heuristics. A copy left out of line is compiled once, for the baseline target: the x86-64-v3
 * clone then calls scalar code with a libm fmaf per lane (930a8d8 made the v8f helpers
 * always_inline, kern_dot grew past GCC's inlining limit and went out of line: C128 scoring lost
 * 13%, training 4%), and where vectors are passed it gets garbage back (see v8f below).
 * tests/kern_inline.sh checks that no such helper is left as a function in the binary. */
#define KERN_INLINE static inline __attribute__((always_inline))

/* exp(x) for float, relative error < 2.4e-7 on [-87, 88] (2.31e-7 at most, measured against exp
 * in double over every float in the range; tests/test_kern_expf.c checks a dense subset; the
 * bound said 2e-7 until #13's test measured it); clamps outside, propagates NaN.
 * Branch-free so loops calling it vectorize. Cody-Waite reduction x = n ln2 + r,
 * |r| <= ln2/2, degree-6 Taylor polynomial (truncation error < 1.2e-7 relative, the rest is
 * float rounding in the polynomial and the scaling). */
KERN_INLINE float kern_expf(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float t = x * 1.44269504088896341f + shifter;
  float n = t - shifter;
  float r = fmaf(n, -0.693145751953125f, x); /* ln2 split in a high part exact in float */
  r = fmaf(n, -1.428606765330187045e-06f, r); /* and the low remainder */
  float p = 1.0f / 720.0f;
  p = fmaf(p, r, 1.0f / 120.0f);
  p = fmaf(p, r, 1.0f / 24.0f);
  p = fmaf(p, r, 1.0f / 6.0f);
  p = fmaf(p, r, 0.5f);
  p = fmaf(p, r, 1.0f);
  p = fmaf(p, r, 1.0f);
  int32_t ni = (int32_t)n;
  uint32_t bits = (uint32_t)(ni + 127) << 23; /* unsigned: a NaN x (ni garbage) still propagates as NaN
                                               * through p, without a signed-shift UB (#12) */
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* n rounded up to a multiple of 8: the padded length of attention panels and key tiles */
KERN_INLINE int kern_pad8(int n) { return (n + 7) / 8 * 8; }

/* ---- 8-float vectors ------------------------------------------------------------------------
 * GCC vector extensions: one AVX register in the x86-64-v3 clone, two SSE registers in the
 * baseline one. Every multiply-add is an explicit per-lane fmaf (v8_fma), so both clones give
 * the same bits. Every v8f helper is always_inline, so no vector crosses a call: a helper left
 * out of line (GCC -O1 did so with v8_fma in the sanitizer build) is compiled for the baseline
 * target, and a clone passing it AVX vectors in registers gets garbage back (it broke GELU's
 * training forward there). */
#if defined(__GNUC__) && !defined(__clang__)
/* The v8f helpers are always inlined: no vector crosses a call, so GCC's note that an AVX
 * vector return changes the ABI of the baseline (non-AVX) clone does not apply. GCC emits it
 * when the translation unit is finished, so the pragma covers the rest of it (no pop). */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v8f __attribute__((vector_size(32)));

KERN_INLINE v8f v8_load(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v); /* unaligned load */
  return v;
}

KERN_INLINE void v8_store(float *p, v8f v) { memcpy(p, &v, sizeof v); }

/* a * b + c rounded once per lane, spelled out rather than left to contraction so that the
 * baseline clone (libm fmaf) and the x86-64-v3 clone (one vfmadd) give the same bits. */
KERN_INLINE v8f v8_fma(v8f a, v8f b, v8f c) {
  v8f r;
  for (int l = 0; l < 8; l++) r[l] = fmaf(a[l], b[l], c[l]);
  return r;
}
KERN_INLINE v8f v8_splat(float x) { return (v8f){x, x, x, x, x, x, x, x}; }

typedef int v8i __attribute__((vector_size(32)));
/* m ? a : b per lane, m from a vector comparison (all bits set or clear) */
KERN_INLINE v8f v8_sel(v8i m, v8f a, v8f b) { return (v8f)((m & (v8i)a) | (~m & (v8i)b)); }

/* kern_expf on n (1 or 4, a constant after inlining) vectors of 8 lanes in lockstep: each step for
 * all n before the next, so their dependency chains overlap (one vector at a time, GELU ran 12-25%
 * slower stand-alone). The same operations in the same order per lane, so the same bits
 * (tests/test_kern_expf.c compares them); written on vectors because GCC's vectorization of the
 * scalar form turned each clamp into three blends of constant-folded ends. */
KERN_INLINE void v8_expf_n(v8f *y, const v8f *xin, int n) {
  const v8f lo = v8_splat(-87.0f), hi = v8_splat(88.0f), shifter = v8_splat(12582912.0f);
  v8f x[4], e[4], r[4], p[4];
  for (int k = 0; k < n; k++) x[k] = v8_sel(xin[k] < lo, lo, xin[k]); /* a NaN lane stays NaN */
  for (int k = 0; k < n; k++) x[k] = v8_sel(x[k] > hi, hi, x[k]);
  for (int k = 0; k < n; k++) e[k] = (x[k] * v8_splat(1.44269504088896341f) + shifter) - shifter;
  for (int k = 0; k < n; k++) r[k] = v8_fma(e[k], v8_splat(-0.693145751953125f), x[k]);
  for (int k = 0; k < n; k++) r[k] = v8_fma(e[k], v8_splat(-1.428606765330187045e-06f), r[k]);
  for (int k = 0; k < n; k++) p[k] = v8_fma(v8_splat(1.0f / 720.0f), r[k], v8_splat(1.0f / 120.0f));
  for (int k = 0; k < n; k++) p[k] = v8_fma(p[k], r[k], v8_splat(1.0f / 24.0f));
  for (int k = 0; k < n; k++) p[k] = v8_fma(p[k], r[k], v8_splat(1.0f / 6.0f));
  for (int k = 0; k < n; k++) p[k] = v8_fma(p[k], r[k], v8_splat(0.5f));
  for (int k = 0; k < n; k++) p[k] = v8_fma(p[k], r[k], v8_splat(1.0f));
  for (int k = 0; k < n; k++) p[k] = v8_fma(p[k], r[k], v8_splat(1.0f));
  typedef unsigned v8u __attribute__((vector_size(32)));
  for (int k = 0; k < n; k++) y[k] = p[k] * (v8f)(((v8u)__builtin_convertvector(e[k], v8i) + 127u) << 23);
}
/* always inlined: a vector must not cross a call between the clones' targets (see above) */
KERN_INLINE v8f v8_expf(v8f x) {
  v8f y;
  v8_expf_n(&y, &x, 1);
  return y;
}
KERN_INLINE void v8_expf4(v8f y[4], const v8f x[4]) { v8_expf_n(y, x, 4); }

/* Up to 4 rows of a small matrix product, the building block of causal attention:
 *   out[r*ldo + j] = alpha * sum_{k=k0}^{k1-1} A[r*ars + k*acs] * B[k*ldb + j],  r < nr, j < N.
 * A is read through strides, so the same block serves A, A^T and a row of a (T,T) matrix; B's
 * rows are contiguous. Each element is one fmaf chain in increasing k, then one multiply by
 * alpha, whatever the vector width, the block or the CPU (OpenBLAS's order is its own and
 * depends on the kernel it picked). Registers: 4 rows x 16 columns of accumulators, the B row
 * segment loaded once per k and each A entry broadcast once per k. Always inlined: a copy
 * outside the KERN_HOT caller would be compiled for the baseline target (libm fmaf per lane). */
KERN_INLINE void kern_rows4(float *out, long ldo, const float *A, long ars, long acs, const float *B, long ldb,
                            int nr, int k0, int k1, int N, float alpha) {
  const float *a0 = A, *a1 = A + (nr > 1 ? ars : 0), *a2 = A + (nr > 2 ? 2 * ars : 0),
              *a3 = A + (nr > 3 ? 3 * ars : 0); /* missing rows repeat row 0 and are not stored */
  const v8f va = v8_splat(alpha);
  int j = 0;
  for (; j + 16 <= N; j += 16) {
    v8f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    for (int k = k0; k < k1; k++) {
      const float *b = B + (long)k * ldb + j;
      const v8f b0 = v8_load(b), b1 = v8_load(b + 8);
      const long ak = (long)k * acs;
      v8f x = v8_splat(a0[ak]);
      c00 = v8_fma(x, b0, c00), c01 = v8_fma(x, b1, c01);
      x = v8_splat(a1[ak]);
      c10 = v8_fma(x, b0, c10), c11 = v8_fma(x, b1, c11);
      x = v8_splat(a2[ak]);
      c20 = v8_fma(x, b0, c20), c21 = v8_fma(x, b1, c21);
      x = v8_splat(a3[ak]);
      c30 = v8_fma(x, b0, c30), c31 = v8_fma(x, b1, c31);
    }
    float *o = out + j;
    v8_store(o, c00 * va), v8_store(o + 8, c01 * va);
    if (nr > 1) v8_store(o + ldo, c10 * va), v8_store(o + ldo + 8, c11 * va);
    if (nr > 2) v8_store(o + 2 * ldo, c20 * va), v8_store(o + 2 * ldo + 8, c21 * va);
    if (nr > 3) v8_store(o + 3 * ldo, c30 * va), v8_store(o + 3 * ldo + 8, c31 * va);
  }
  for (; j + 8 <= N; j += 8) {
    v8f c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
    for (int k = k0; k < k1; k++) {
      const v8f b0 = v8_load(B + (long)k * ldb + j);
      const long ak = (long)k * acs;
      c0 = v8_fma(v8_splat(a0[ak]), b0, c0), c1 = v8_fma(v8_splat(a1[ak]), b0, c1);
      c2 = v8_fma(v8_splat(a2[ak]), b0, c2), c3 = v8_fma(v8_splat(a3[ak]), b0, c3);
    }
    float *o = out + j;
    v8_store(o, c0 * va);
    if (nr > 1) v8_store(o + ldo, c1 * va);
    if (nr > 2) v8_store(o + 2 * ldo, c2 * va);
    if (nr > 3) v8_store(o + 3 * ldo, c3 * va);
  }
  for (; j < N; j++)
    for (int r = 0; r < nr; r++) {
      float s = 0.0f;
      for (int k = k0; k < k1; k++) s = fmaf(A[r * ars + (long)k * acs], B[(long)k * ldb + j], s);
      out[r * ldo + j] = s * alpha;
    }
}

/* Sum and maximum of x[0..n) with KERN_LANES partial results (vectorizes without fast-math).
 * Inline, so that each KERN_HOT caller vectorizes them for its own target. */
KERN_INLINE float kern_sum(const float *x, int n) {
  float acc[KERN_LANES] = {0};
  int i = 0;
  for (; i + KERN_LANES <= n; i += KERN_LANES)
    for (int j = 0; j < KERN_LANES; j++) acc[j] += x[i + j];
  float s = 0.0f;
  for (; i < n; i++) s += x[i];
  for (int j = 0; j < KERN_LANES; j++) s += acc[j];
  return s;
}

KERN_INLINE float kern_max(const float *x, int n) {
  float acc[KERN_LANES];
  float m = -INFINITY;
  for (int j = 0; j < KERN_LANES; j++) acc[j] = -INFINITY;
  int i = 0;
  for (; i + KERN_LANES <= n; i += KERN_LANES)
    for (int j = 0; j < KERN_LANES; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < KERN_LANES; j++) m = acc[j] > m ? acc[j] : m;
  return m;
}

/* x[i] = kern_expf(x[i] - mx) in place, returning their sum: the same bits as the exp loop
 * followed by kern_sum (the same KERN_LANES partial sums in the same order), one pass fewer. */
KERN_INLINE float kern_exp_sum(float *x, float mx, int n) {
  float acc[KERN_LANES] = {0};
  int i = 0;
  for (; i + KERN_LANES <= n; i += KERN_LANES)
    for (int j = 0; j < KERN_LANES; j++) {
      x[i + j] = kern_expf(x[i + j] - mx);
      acc[j] += x[i + j];
    }
  float s = 0.0f;
  for (; i < n; i++) {
    x[i] = kern_expf(x[i] - mx);
    s += x[i];
  }
  for (int j = 0; j < KERN_LANES; j++) s += acc[j];
  return s;
}

/* sum_i x[i] * y[i] */
KERN_INLINE float kern_dot(const float *x, const float *y, int n) {
  _Static_assert(KERN_LANES == 16, "kern_dot keeps its 16 partial sums in two 8-float vectors");
  v8f a0 = {0}, a1 = {0}; /* partial sums 0-7 and 8-15, as vectors: GCC's SLP left the lane loop
                           * scalar inside the attention backward; the order is the same */
  int i = 0;
  for (; i + KERN_LANES <= n; i += KERN_LANES) {
    a0 = v8_fma(v8_load(x + i), v8_load(y + i), a0);
    a1 = v8_fma(v8_load(x + i + 8), v8_load(y + i + 8), a1);
  }
  float s = 0.0f;
  for (; i < n; i++) s = fmaf(x[i], y[i], s);
  for (int j = 0; j < 8; j++) s += a0[j];
  for (int j = 0; j < 8; j++) s += a1[j];
  return s;
}

/* out = LayerNorm(inp) * w + b per row (eps 1e-5); saves mean and 1/std for backward. */
void kern_layernorm_forward(float *out,       // (N,C)
                            float *mean,      // (N)
                            float *rstd,      // (N)
                            const float *inp, // (N,C)
                            const float *w,   // (C)
                            const float *b,   // (C)
                            int N, int C);
/* Accumulates into dinp, dw, db. */
void kern_layernorm_backward(float *dinp,        // (N,C) accumulated
                             float *dw,          // (C) accumulated
                             float *db,          // (C) accumulated
                             const float *dout,  // (N,C)
                             const float *inp,   // (N,C)
                             const float *w,     // (C)
                             const float *mean,  // (N)
                             const float *rstd,  // (N)
                             int N, int C);

/* out = inp W^T + bias + resid; bias and resid may be NULL. out must not alias inp; it may
 * alias resid. */
void kern_linear_forward(float *out,         // (N,OC)
                         const float *inp,   // (N,C)
                         const float *w,     // (OC,C)
                         const float *bias,  // (OC) or NULL
                         const float *resid, // (N,OC) or NULL
                         int N, int C, int OC);
/* The same product with W packed once by kern_pack_weights, for the KV-cache path (gpt_sample.c),
 * where M is the batch (tens of rows) and OpenBLAS repacked every weight on every call (17% of
 * a C256 sampling run). Packed: panels of KERN_PANEL output columns, each (C, KERN_PANEL) with a
 * weight row's C entries down one column; kern_packed_size(OC, C) floats. A panel is 4 rows x
 * 24 columns of accumulators in 12 AVX2 registers (4 x 16 left too few chains in flight to hide
 * the FMA latency: 10% slower on the decode shapes), or 4 x 48 in 12 AVX-512 registers where
 * kern_panel_width says so. Each element is one
 * fmaf chain over c in increasing order (kern_rows4), then + (resid + bias) as
 * kern_linear_forward adds them, so a row's result depends on neither N nor the CPU nor the BLAS
 * kernel. out may alias resid, not inp. */
#define KERN_PANEL 24
#define KERN_PANEL_WIDE 48
/* The panel width kern_pack_weights and kern_linear_packed use, chosen once per process:
 * KERN_PANEL_WIDE (a 4 x 48 tile in 12 AVX-512 registers) on CPUs with x86-64-v4's AVX-512,
 * KERN_PANEL elsewhere or when the environment sets OVEROPT_KERN_PANEL=24 (for A/B timing and
 * tests). Both give the same bits: each element is the same fmaf chain. On Zen 4 the wide tile
 * sampled 9-15% faster (docs/bench/README.md, "eighth pass"). */
int kern_panel_width(void);
/* out (4 x KERN_PANEL_WIDE, row stride KERN_PANEL_WIDE) = rows nr of A (stride lda) times a full
 * wide panel P, each element the fmaf chain of kern_rows4; missing rows repeat row 0. AVX-512:
 * call only where kern_panel_width() is KERN_PANEL_WIDE. In kernels_wide.c, the one file of
 * code compiled for x86-64-v4. */
void kern_rows4_panel_wide(float *out, const float *A, long lda, const float *P, int nr, int C);
/* kern_rows4 in 4 x 32 tiles of AVX-512 registers (the column tail through masks): the same
 * arguments and, each element being the same fmaf chain, the same bits. Call only where
 * kern_att_wide() is 1. In kernels_wide.c. */
void kern_rows4_wide(float *out, long ldo, const float *A, long ars, long acs, const float *B, long ldb, int nr,
                     int k0, int k1, int N, float alpha);
/* 1 where attention's products (training, scoring) run kern_rows4_wide: CPUs with x86-64-v4's
 * AVX-512, unless the environment sets OVEROPT_KERN_ATT=16 (kern_rows4's AVX2 tile of 16
 * columns, for A/B timing and tests). Chosen once per process; both give the same bits. */
int kern_att_wide(void);
/* The project kernels this process runs, for reports (--version, bench, provenance.txt): the
 * KERN_HOT clone (core/machine.h oo_kernel_target) and the widths of the tiles chosen above, e.g.
 * "x86-64-v3, tiles: panel 48, attention 32 columns" (the AVX-512 ones) or "... panel 24,
 * attention 16 columns" (AVX2). Figures from different tiles are not comparable digit by digit. */
const char *kern_describe(void);
size_t kern_packed_size(int OC, int C);
void kern_pack_weights(float *P,       // kern_packed_size(OC, C)
                       const float *w, // (OC,C)
                       int OC, int C);
void kern_linear_packed(float *out,         // (N,OC)
                        const float *inp,   // (N,C)
                        const float *P,     // packed (OC,C)
                        const float *bias,  // (OC) or NULL
                        const float *resid, // (N,OC) or NULL
                        int N, int C, int OC);
/* dinp = dout W (overwritten; skipped if dinp is NULL); dw += dout^T inp; db += column sums
 * of dout (skipped if db is NULL). */
void kern_linear_backward(float *dinp,       // (N,C) overwritten, or NULL
                          float *dw,         // (OC,C) accumulated
                          float *db,         // (OC) accumulated, or NULL
                          const float *dout, // (N,OC)
                          const float *inp,  // (N,C)
                          const float *w,    // (OC,C)
                          int N, int C, int OC);

/* out[n] = inp[n,:] . w + b[0]: a scalar head, one fixed-order dot product per row (kern_dot),
 * so a row's value does not depend on how many rows are computed with it (an sgemm with N = 1
 * takes another OpenBLAS path for some M). */
void kern_scalar_head(float *out,       // (N)
                      const float *inp, // (N,C)
                      const float *w,   // (C)
                      const float *b,   // (1)
                      int N, int C);

/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void kern_gelu_forward(float *out,       // (n)
                       const float *inp, // (n)
                       long n);
/* The training forward: out as kern_gelu_forward (the same bits) and deriv = gelu'(inp), which
 * is all backward needs of the input, so backward recomputes no tanh. deriv may alias inp. */
void kern_gelu_forward_train(float *out,       // (n)
                             float *deriv,     // (n) gelu'(inp)
                             const float *inp, // (n)
                             long n);
/* dinp = dout * deriv (deriv from kern_gelu_forward_train), overwritten; dinp may alias dout. */
void kern_gelu_backward(float *dinp,        // (n)
                        const float *deriv, // (n) gelu'(inp) saved by the training forward
                        const float *dout,  // (n)
                        long n);

/* Causal multi-head self-attention on the fused qkv rows (q | k | v, head h at columns
 * h*hs..(h+1)*hs of each). Per (b,h): S = Q K^T / sqrt(hs) on and below the diagonal,
 * P = softmax(S) row-wise, out = P V. Q, K and V are read in place with leading dimension 3C.
 * The products are kern_rows4 blocks of KERN_ATT_ROWS query rows (not sgemm: with hs = 32 or
 * 64 OpenBLAS spends more time packing than multiplying; here each element's sum has one fixed
 * order on every CPU). att keeps P for backward: row i holds P[i, 0..i] and zeros up to the end
 * of its block's columns (i rounded up past its block, to a multiple of 8, at most T); entries
 * right of that are not written. att NULL (inference): P is not kept, its rows live in the scratch.
 * scratch: kern_attention_scratch (forward), (T,T) more (backward). */
#define KERN_ATT_ROWS 4 /* query rows per block: kern_rows4's */
/* Floats of attention scratch: one head's K^T (or V^T) panel, three (T, hs) panels of its rows
 * made contiguous (V forward; K, Q and dO backward) and, for inference, the P rows of one block;
 * backward's dP/dS (T,T) comes on top. */
static inline size_t kern_attention_scratch(int T, int C, int NH) {
  const size_t hs = (size_t)(C / NH);
  return hs * (size_t)kern_pad8(T) + 3 * (size_t)T * hs + (size_t)KERN_ATT_ROWS * (size_t)T;
}
void kern_attention_forward(float *out,       // (B,T,C)
                            float *att,       // (B,NH,T,T) or NULL
                            float *scratch,   // (kern_attention_scratch)
                            const float *qkv, // (B,T,3C)
                            int B, int T, int C, int NH);
/* dqkv overwritten. scratch holds dP and dS of one (b,h), then V^T and the K, Q and dO panels. */
void kern_attention_backward(float *dqkv,       // (B,T,3C) overwritten
                             float *scratch,    // (T*T + kern_attention_scratch)
                             const float *dout, // (B,T,C)
                             const float *qkv,  // (B,T,3C)
                             const float *att,  // (B,NH,T,T) from forward
                             int B, int T, int C, int NH);

/* out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:] */
void kern_encoder_forward(float *out,        // (B,T,C)
                          const int *tokens, // (B,T)
                          const float *wte,  // (V,C)
                          const float *wpe,  // (T,C)
                          int B, int T, int C);
/* Accumulates dout into the rows of dwte and dwpe that forward read. */
void kern_encoder_backward(float *dwte,       // (V,C) accumulated
                           float *dwpe,       // (T,C) accumulated
                           const float *dout, // (B,T,C)
                           const int *tokens, // (B,T)
                           int B, int T, int C);

/* Row-wise log-sum-exp of logits; writes softmax probabilities to probs if not NULL.
 * Returns log(sum exp(x)). */
float kern_logsumexp_row(const float *x, // (V)
                         float *probs,   // (V) or NULL
                         int V);

#endif
