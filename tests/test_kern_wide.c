/* test_kern_wide: the AVX-512 tiles of kernels_wide.c against the scalar fmaf chain they promise,
 * bit for bit. kern_rows4_wide (attention's products where kern_att_wide() is 1) and kern_rows4
 * (the AVX2 tile it replaces) must both give, for every element, fmaf over k in increasing order
 * from 0, then one multiply by alpha: on every column count (the 32-column tiles, the masked
 * tails of 1-15 and 17-31 columns), every row count 1-4, A read by rows and transposed (the
 * backward's dK and dV read dS and P by columns), k ranges that start past 0, and alpha 1 and
 * not 1. Elements outside the nr x N block must stay untouched (the masked stores). Also
 * kern_rows4_panel_wide, the KV-cache product's 4 x 48 tile, against the same chain. On a CPU
 * without x86-64-v4's AVX-512 the wide tiles cannot run: the test checks kern_rows4 alone and
 * exits 77 (skipped). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "model/kernels.h"
#include "testing.h"

#define SENTINEL 12345.0f

static uint64_t state = 0x9e3779b97f4a7c15u;
/* uniform in [-1, 1) times 2^e, e in -3..3: mixed magnitudes, so the order of the sums shows */
static float draw(void) {
  state = state * 6364136223846793005u + 1442695040888963407u;
  const float u = (float)(state >> 40) / (float)(1 << 24) * 2.0f - 1.0f;
  return ldexpf(u, (int)((state >> 20) % 7) - 3);
}

typedef void rows_fn(float *out, long ldo, const float *A, long ars, long acs, const float *B, long ldb, int nr,
                     int k0, int k1, int N, float alpha);

static void rows4_avx2(float *out, long ldo, const float *A, long ars, long acs, const float *B, long ldb, int nr,
                       int k0, int k1, int N, float alpha) {
  kern_rows4(out, ldo, A, ars, acs, B, ldb, nr, k0, k1, N, alpha);
}

/* fn against the scalar chain on one shape; A is (4, K) by rows or (K, 4) transposed */
static void check_rows(rows_fn *fn, const char *name, int nr, int k0, int k1, int N, int transposed, float alpha) {
  enum { K = 80, NMAX = 72, LDO = NMAX + 5 };
  static float A[4 * K], B[K * NMAX], out[4 * LDO];
  for (int i = 0; i < 4 * K; i++) A[i] = draw();
  for (int i = 0; i < K * NMAX; i++) B[i] = draw();
  for (int i = 0; i < 4 * LDO; i++) out[i] = SENTINEL;
  const long ars = transposed ? 1 : K, acs = transposed ? 4 : 1, ldb = NMAX;
  fn(out, LDO, A, ars, acs, B, ldb, nr, k0, k1, N, alpha);
  int bad = 0, touched = 0;
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < LDO; j++) {
      if (r >= nr || j >= N) {
        touched += out[r * LDO + j] != SENTINEL;
        continue;
      }
      float s = 0.0f;
      for (int k = k0; k < k1; k++) s = fmaf(A[r * ars + k * acs], B[k * ldb + j], s);
      s *= alpha;
      bad += memcmp(&s, &out[r * LDO + j], sizeof s) != 0;
    }
  EXPECT_MSG(bad == 0 && touched == 0,
             "%s nr=%d k=%d..%d N=%d %s alpha=%g: %d elements differ from the fmaf chain, %d outside the block written",
             name, nr, k0, k1, N, transposed ? "A^T" : "A", alpha, bad, touched);
}

static void check_all(rows_fn *fn, const char *name) {
  for (int N = 1; N <= 72; N++)
    for (int nr = 1; nr <= 4; nr++)
      for (int t = 0; t < 2; t++) {
        check_rows(fn, name, nr, 0, 32, N, t, 1.0f);
        check_rows(fn, name, nr, 5, 80, N, t, 0.17677669f);
      }
  check_rows(fn, name, 4, 7, 7, 40, 0, 1.0f); /* an empty k range: zeros times alpha */
}

/* kern_rows4_panel_wide: 4 x KERN_PANEL_WIDE outputs of nr rows times a full panel */
static void check_panel(int nr, int C) {
  enum { W = KERN_PANEL_WIDE, CMAX = 70 };
  static float A[4 * CMAX], P[CMAX * W], out[4 * W];
  for (int i = 0; i < 4 * C; i++) A[i] = draw();
  for (int i = 0; i < C * W; i++) P[i] = draw();
  kern_rows4_panel_wide(out, A, C, P, nr, C);
  int bad = 0;
  for (int r = 0; r < nr; r++)
    for (int j = 0; j < W; j++) {
      float s = 0.0f;
      for (int c = 0; c < C; c++) s = fmaf(A[r * C + c], P[c * W + j], s);
      bad += memcmp(&s, &out[r * W + j], sizeof s) != 0;
    }
  EXPECT_MSG(bad == 0, "kern_rows4_panel_wide nr=%d C=%d: %d elements differ from the fmaf chain", nr, C, bad);
}

int main(void) {
  check_all(rows4_avx2, "kern_rows4");
  if (!oo_cpu_has_avx512()) {
    printf("no x86-64-v4 AVX-512 on this CPU: kern_rows4 checked, the wide tiles skipped\n");
    return test_failures ? 1 : 77;
  }
  check_all(kern_rows4_wide, "kern_rows4_wide");
  for (int nr = 1; nr <= 4; nr++) {
    check_panel(nr, 64);
    check_panel(nr, 7);
  }
  printf("kern_att_wide() = %d in this process\n", kern_att_wide());
  return TEST_SUMMARY();
}
