/* kernels_wide: the tiles that run in AVX-512 registers, compiled for x86-64-v4 whatever the
 * build's target and called only on CPUs that have it (kernels.h kern_panel_width,
 * kern_att_wide). The KV-cache product's 4 x 48 tile (kern_rows4_panel_wide): 3 loads and 4
 * broadcasts per 12 FMAs of 16 lanes, where the AVX2 tile (kernels.c rows4_panel) has the same
 * per 12 FMAs of 8. Attention's 4 x 32 tile (kern_rows4_wide): kern_rows4's 4 x 16 at twice the
 * width. Each element is the fmaf chain of kern_rows4 over k in increasing order, so the wide and
 * the AVX2 tiles give the same bits. */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "model/kernels.h"

#define KERN_WIDE __attribute__((target("arch=x86-64-v4,prefer-vector-width=512")))
typedef float v16f __attribute__((vector_size(64)));

KERN_INLINE KERN_WIDE v16f v16_load(const float *p) {
  v16f v;
  memcpy(&v, p, sizeof v); /* unaligned load */
  return v;
}
/* a * b + c rounded once per lane, as v8_fma (kernels.h) */
KERN_INLINE KERN_WIDE v16f v16_fma(v16f a, v16f b, v16f c) {
  v16f r;
  for (int l = 0; l < 16; l++) r[l] = fmaf(a[l], b[l], c[l]);
  return r;
}
KERN_INLINE KERN_WIDE v16f v16_splat(float x) {
  return (v16f){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

KERN_WIDE void kern_rows4_panel_wide(float *out, const float *A, long lda, const float *P, int nr, int C) {
  enum { W = KERN_PANEL_WIDE };
  const float *a0 = A, *a1 = A + (nr > 1 ? lda : 0), *a2 = A + (nr > 2 ? 2 * lda : 0), *a3 = A + (nr > 3 ? 3 * lda : 0);
  v16f c00 = {0}, c01 = {0}, c02 = {0}, c10 = {0}, c11 = {0}, c12 = {0};
  v16f c20 = {0}, c21 = {0}, c22 = {0}, c30 = {0}, c31 = {0}, c32 = {0};
  for (int k = 0; k < C; k++) {
    const float *p = P + (size_t)k * W;
    const v16f b0 = v16_load(p), b1 = v16_load(p + 16), b2 = v16_load(p + 32);
    v16f x = v16_splat(a0[k]);
    c00 = v16_fma(x, b0, c00), c01 = v16_fma(x, b1, c01), c02 = v16_fma(x, b2, c02);
    x = v16_splat(a1[k]);
    c10 = v16_fma(x, b0, c10), c11 = v16_fma(x, b1, c11), c12 = v16_fma(x, b2, c12);
    x = v16_splat(a2[k]);
    c20 = v16_fma(x, b0, c20), c21 = v16_fma(x, b1, c21), c22 = v16_fma(x, b2, c22);
    x = v16_splat(a3[k]);
    c30 = v16_fma(x, b0, c30), c31 = v16_fma(x, b1, c31), c32 = v16_fma(x, b2, c32);
  }
  const v16f c[12] = {c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32};
  memcpy(out, c, sizeof c); /* rows 0..3, W floats each */
}

/* Rows a0..a3 (missing ones repeat row 0) times columns j..j+31 of B, the second 16 masked by m1
 * (lanes outside it read as 0 and are not stored): kern_rows4's 4 x 16 block at twice the width.
 * Loads through masks never fault on the lanes they leave out. */
KERN_INLINE KERN_WIDE void tile4x32(float *out, long ldo, const float *const a[4], long acs, const float *B,
                                    long ldb, int nr, int k0, int k1, __mmask16 m1, v16f va) {
  v16f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
  for (int k = k0; k < k1; k++) {
    const float *b = B + (long)k * ldb;
    const v16f b0 = v16_load(b), b1 = (v16f)_mm512_maskz_loadu_ps(m1, b + 16);
    const long ak = (long)k * acs;
    v16f x = v16_splat(a[0][ak]);
    c00 = v16_fma(x, b0, c00), c01 = v16_fma(x, b1, c01);
    x = v16_splat(a[1][ak]);
    c10 = v16_fma(x, b0, c10), c11 = v16_fma(x, b1, c11);
    x = v16_splat(a[2][ak]);
    c20 = v16_fma(x, b0, c20), c21 = v16_fma(x, b1, c21);
    x = v16_splat(a[3][ak]);
    c30 = v16_fma(x, b0, c30), c31 = v16_fma(x, b1, c31);
  }
  const v16f c[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (int r = 0; r < nr; r++) {
    _mm512_storeu_ps(out + r * ldo, (__m512)(c[r][0] * va));
    _mm512_mask_storeu_ps(out + r * ldo + 16, m1, (__m512)(c[r][1] * va));
  }
}

/* The same for up to 16 columns, masked by m0: 4 chains of FMAs instead of 8. */
KERN_INLINE KERN_WIDE void tile4x16(float *out, long ldo, const float *const a[4], long acs, const float *B,
                                    long ldb, int nr, int k0, int k1, __mmask16 m0, v16f va) {
  v16f c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
  for (int k = k0; k < k1; k++) {
    const v16f b0 = (v16f)_mm512_maskz_loadu_ps(m0, B + (long)k * ldb);
    const long ak = (long)k * acs;
    c0 = v16_fma(v16_splat(a[0][ak]), b0, c0), c1 = v16_fma(v16_splat(a[1][ak]), b0, c1);
    c2 = v16_fma(v16_splat(a[2][ak]), b0, c2), c3 = v16_fma(v16_splat(a[3][ak]), b0, c3);
  }
  const v16f c[4] = {c0, c1, c2, c3};
  for (int r = 0; r < nr; r++) _mm512_mask_storeu_ps(out + r * ldo, m0, (__m512)(c[r] * va));
}

KERN_WIDE void kern_rows4_wide(float *out, long ldo, const float *A, long ars, long acs, const float *B, long ldb,
                               int nr, int k0, int k1, int N, float alpha) {
  const float *const a[4] = {A, A + (nr > 1 ? ars : 0), A + (nr > 2 ? 2 * ars : 0), A + (nr > 3 ? 3 * ars : 0)};
  const v16f va = v16_splat(alpha);
  int j = 0;
  for (; j + 32 <= N; j += 32) tile4x32(out + j, ldo, a, acs, B + j, ldb, nr, k0, k1, 0xffff, va);
  const int rest = N - j;
  if (rest > 16)
    tile4x32(out + j, ldo, a, acs, B + j, ldb, nr, k0, k1, (__mmask16)((1u << (rest - 16)) - 1), va);
  else if (rest > 0)
    tile4x16(out + j, ldo, a, acs, B + j, ldb, nr, k0, k1, (__mmask16)((1u << rest) - 1), va);
}
