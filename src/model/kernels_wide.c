/* kernels_wide: the KV-cache product's 4 x 48 tile in AVX-512 registers (kernels.h
 * kern_panel_width, kern_rows4_panel_wide). Compiled for x86-64-v4 whatever the build's target
 * and called only on CPUs that have it. 3 loads and 4 broadcasts per 12 FMAs of 16 lanes, where
 * the AVX2 tile (kernels.c rows4_panel) has the same per 12 FMAs of 8. Each element is the fmaf
 * chain of kern_rows4 over c in increasing order, so both tiles give the same bits. */
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
